/*
 * trap.c - a guest that dies on a MIPS trap instruction.
 *
 * Exercises: freestanding write(1, ...) followed by `teq $0, $0`, a
 * conditional trap whose condition ($zero == $zero) always holds. Linux
 * delivers SIGTRAP (qemu-mips: "uncaught target signal 5"), so the process
 * never exits normally. The exit_group below is only a fallback for an
 * emulator that wrongly treats teq as a no-op.
 */
#include "freestanding.h"

int main(void)
{
    put_str("about to trap\n");
#if defined(__riscv)
    __asm__ volatile("ebreak"); /* SIGTRAP as well; flexEmu panics */
#else
    __asm__ volatile("teq $0, $0");
#endif
    sys_exit_group(99); /* not reached */
}
