/*
 * freestanding_riscv.h - the RISC-V half of freestanding.h (RV64 and RV32).
 *
 * Provides the _start entry point and raw Linux syscalls in the RISC-V
 * convention: a7 = syscall number (asm-generic numbering), a0..a5 =
 * arguments, result in a0, an error returned as -errno in a0.
 * Only integer instructions are used (build with an ISA string without F/D).
 */
#ifndef FLEXEMU_FREESTANDING_RISCV_H
#define FLEXEMU_FREESTANDING_RISCV_H

#define SYS_write      64
#define SYS_exit       93
#define SYS_exit_group 94

/*
 * Entry: set gp (the small-data base; norelax, or the linker would turn the
 * lla into `mv gp, gp`), align sp to 16 bytes, call main, then exit(main's
 * return value) with the plain exit syscall (93). A program that defines
 * FLEXEMU_MAIN_ARGS before including this gets main(argc, argv), read from
 * the initial stack; the others' entry code is unchanged.
 */
#ifdef FLEXEMU_MAIN_ARGS
#if __riscv_xlen == 64
#define FLEXEMU_LOAD_MAIN_ARGS "    ld     a0, 0(sp)\n    addi   a1, sp, 8\n"
#else
#define FLEXEMU_LOAD_MAIN_ARGS "    lw     a0, 0(sp)\n    addi   a1, sp, 4\n"
#endif
int main(int argc, char **argv);
#else
#define FLEXEMU_LOAD_MAIN_ARGS ""
int main(void);
#endif

__asm__(
    "    .text\n"
    "    .globl _start\n"
    "    .type  _start, @function\n"
    "_start:\n"
    "    .option push\n"
    "    .option norelax\n"
    "    lla    gp, __global_pointer$\n"
    "    .option pop\n"
    FLEXEMU_LOAD_MAIN_ARGS
    "    andi   sp, sp, -16\n"
    "    call   main\n"
    "    li     a7, 93\n"
    "    ecall\n"
    "    .size  _start, . - _start\n");

static inline long sys3(long n, long a, long b, long c)
{
    register long a7 __asm__("a7") = n;
    register long a0 __asm__("a0") = a;
    register long a1 __asm__("a1") = b;
    register long a2 __asm__("a2") = c;
    __asm__ volatile("ecall"
                     : "+r"(a0)
                     : "r"(a7), "r"(a1), "r"(a2)
                     : "memory");
    return a0;
}

/* write(2) may return a short count: RISC-V programs always keep writing the rest
   (freestanding.h's FLEXEMU_WRITE_ALL). */
#define FLEXEMU_WRITE_ALL

#endif
