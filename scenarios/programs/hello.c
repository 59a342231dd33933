/*
 * hello.c - the smallest flexEmu guest.
 *
 * Exercises: a freestanding (no libc) static ELF with its own __start
 * (see freestanding.h), one raw write(1, "hello, flexemu\n", 15) syscall
 * (4004) and exit(0) (4001, issued by __start when main returns).
 * About 20 instructions.
 */
#include "freestanding.h"

int main(void)
{
    static const char msg[] = "hello, flexemu\n";
    sys_write(1, msg, sizeof msg - 1);
    return 0;
}
