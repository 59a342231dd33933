/*
 * spin.c - loop.c's CPU-bound mixing loop with its iteration count taken from
 * argv[1] (decimal; default 600000, the count loop.c is built with), so one
 * shipped ELF per ISA serves both the tests' 30M+-step trace and a ~300M-step
 * benchmark run (benchmarks/startup.py: 5000000 iterations on MIPS,
 * 4320000 on RV64).
 *
 * loop.c is included as it is, with ITERS bound to a variable and its main
 * renamed, so that loop's own ELFs (and the traces recorded from them) stay
 * byte-identical and the mixing loop exists once.
 */
#define FLEXEMU_MAIN_ARGS
#define FLEXEMU_WRITE_ALL /* its output may cross a 32-byte leaf: write it all */
#include "freestanding.h"

static unsigned int spin_iterations = 600000u;

#define ITERS spin_iterations
#define main loop_main
#include "loop.c"
#undef main

/* The decimal number at the start of `text` (0 when it starts with no digit). */
static unsigned int parse_count(const char *text)
{
    unsigned int value = 0;
    while (*text >= '0' && *text <= '9')
        value = value * 10u + (unsigned int)(*text++ - '0');
    return value;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        spin_iterations = parse_count(argv[1]);
    return loop_main();
}
