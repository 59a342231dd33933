/*
 * freestanding.h - tiny runtime shared by the no-libc guest programs
 * (hello, loop, trap, tiny_sum).
 *
 * Provides the __start entry point and raw MIPS o32 Linux syscalls:
 *   $v0 = syscall number, $a0..$a3 = arguments,
 *   result in $v0, $a3 != 0 means $v0 holds a positive errno.
 * Only integer instructions are used (build with -msoft-float).
 * RISC-V builds take _start and sys3 from freestanding_riscv.h instead.
 */
#ifndef FLEXEMU_FREESTANDING_H
#define FLEXEMU_FREESTANDING_H

#if defined(__riscv)
#include "freestanding_riscv.h"
#else

#define SYS_exit       4001
#define SYS_write      4004
#define SYS_exit_group 4246

/*
 * Entry: align $sp to 16 bytes, set $gp (small-data base), reserve the o32
 * 16-byte argument save area, call main(), then exit(main's return value)
 * with the plain exit syscall (4001). A program that defines
 * FLEXEMU_MAIN_ARGS before including this gets main(argc, argv), read from
 * the initial stack; the others' entry code is unchanged.
 */
#ifdef FLEXEMU_MAIN_ARGS
#define FLEXEMU_LOAD_MAIN_ARGS "    lw     $a0, 0($sp)\n    addiu  $a1, $sp, 4\n"
int main(int argc, char **argv);
#else
#define FLEXEMU_LOAD_MAIN_ARGS ""
int main(void);
#endif

__asm__(
    "    .text\n"
    "    .globl __start\n"
    "    .ent   __start\n"
    "__start:\n"
    FLEXEMU_LOAD_MAIN_ARGS
    "    li     $t0, -16\n"
    "    and    $sp, $sp, $t0\n"
    "    lui    $gp, %hi(_gp)\n"
    "    addiu  $gp, $gp, %lo(_gp)\n"
    "    addiu  $sp, $sp, -16\n"
    "    jal    main\n"
    "    move   $a0, $v0\n"
    "    li     $v0, 4001\n"
    "    syscall\n"
    "    .end   __start\n");

static inline long sys3(long n, long a, long b, long c)
{
    register long v0 __asm__("$2") = n;
    register long a0 __asm__("$4") = a;
    register long a1 __asm__("$5") = b;
    register long a2 __asm__("$6") = c;
    register long a3 __asm__("$7");
    __asm__ volatile("syscall"
                     : "+r"(v0), "=r"(a3)
                     : "r"(a0), "r"(a1), "r"(a2)
                     : "$1", "$3", "$8", "$9", "$10", "$11", "$12", "$13",
                       "$14", "$15", "$24", "$25", "hi", "lo", "memory");
    return a3 ? -v0 : v0;
}

#endif /* __riscv */

#ifdef FLEXEMU_WRITE_ALL
/*
 * write(2) may return a short count (flexEmu writes at most one 32-byte memory
 * leaf per step), so keep writing the rest, as libc does. Every RISC-V program
 * and the MIPS programs that define FLEXEMU_WRITE_ALL use this; the older MIPS
 * programs keep the single call below (their recorded traces depend on it).
 */
static inline long sys_write(int fd, const void *buf, unsigned long len)
{
    const char *p = (const char *)buf;
    unsigned long done = 0;
    while (done < len) {
        long n = sys3(SYS_write, fd, (long)(p + done), (long)(len - done));
        if (n <= 0)
            return done ? (long)done : n;
        done += (unsigned long)n;
    }
    return (long)done;
}
#else
static inline long sys_write(int fd, const void *buf, unsigned long len)
{
    return sys3(SYS_write, fd, (long)buf, (long)len);
}
#endif

static inline __attribute__((noreturn)) void sys_exit_group(int code)
{
    sys3(SYS_exit_group, code, 0, 0);
    __builtin_unreachable();
}

static inline unsigned long fs_strlen(const char *s)
{
    unsigned long n = 0;
    while (s[n])
        n++;
    return n;
}

static inline void put_str(const char *s)
{
    sys_write(1, s, fs_strlen(s));
}

/* Write "0x" + 8 hex digits of v, then a newline. */
static inline void put_hex(unsigned int v)
{
    char buf[11];
    buf[0] = '0';
    buf[1] = 'x';
    for (int i = 0; i < 8; i++) {
        unsigned int nib = (v >> (28 - 4 * i)) & 0xf;
        buf[2 + i] = (char)(nib < 10 ? '0' + nib : 'a' + nib - 10);
    }
    buf[10] = '\n';
    sys_write(1, buf, sizeof buf);
}

#endif
