/*
 * smc.c - a freestanding guest whose code rewrites itself (linked with -N:
 * one read+write+execute segment, so qemu-mips runs it too).
 *
 * Why: unicorn caches translated blocks; the reference (and the verifier)
 * fetch every instruction from memory. Each case below changes code that
 * has already run or is about to run in the same block, and its effect
 * reaches the printed checksum, so a stale translation anywhere shows.
 *  1. a store rewrites the instruction two words ahead, in the same block;
 *  2. read() from stdin writes new code over a function that already ran;
 *  3. a store overwrites itself with a `j`, then a syscall follows;
 *  4. code copied to a page never executed (nor mapped) before, then called
 *     with a jalr whose delay slot touches another fresh page.
 */
#include "hostile.h"

#define SYS_read 4003

static inline long sys_read(int fd, void *buf, unsigned long len)
{
    return sys3(SYS_read, fd, (long)buf, (long)len);
}

/* Two pages of bss: the second page is where case 4 copies its code. */
static unsigned fresh_code[2048] __attribute__((aligned(4096)));

/* Returns 1 until stdin's 4 bytes ("$\x02**" = addiu $v0, $zero, 0x2a2a) replace its first word. */
unsigned patched(void);
__asm__(
    "    .text\n"
    "    .globl patched\n"
    "    .ent   patched\n"
    "patched:\n"
    "    .set push\n"
    "    .set noreorder\n"
    "    addiu  $2, $0, 1\n"
    "    jr     $31\n"
    "    nop\n"
    "    .set pop\n"
    "    .end   patched\n");

static unsigned same_block(unsigned n)
{
    unsigned acc = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned word = 0x24420000u | (i * 77u & 0x7fffu); /* addiu $v0, $v0, i * 77 */
        unsigned got;
        __asm__ volatile(
            "    .set push\n"
            "    .set noreorder\n"
            "    move   $2, $0\n"
            "    la     $8, 1f\n"
            "    sw     %[w], 0($8)\n"
            "    nop\n"
            "1:  addiu  $2, $2, 0x7777\n" /* rewritten by the sw two words back */
            "    move   %[got], $2\n"
            "    .set pop\n"
            : [got] "=r"(got)
            : [w] "r"(word)
            : "$2", "$8", "memory");
        acc = acc * 31u + got;
    }
    return acc;
}

static unsigned self_overwrite(void)
{
    unsigned passes = 0;
    static const char nothing[1];
    __asm__ volatile(
        "    .set push\n"
        "    .set noreorder\n"
        "    la     $8, 1f\n"
        "    la     $9, 2f\n"
        "    srl    $9, $9, 2\n"
        "    lui    $11, 0x03ff\n"
        "    ori    $11, $11, 0xffff\n"
        "    and    $9, $9, $11\n"
        "    lui    $10, 0x0800\n"
        "    or     $9, $9, $10\n"  /* $9 = j 2f */
        "1:  sw     $9, 0($8)\n"    /* overwrites itself: the second pass jumps */
        "    nop\n"
        "    li     $2, 4004\n"     /* write(1, nothing, 0) */
        "    li     $4, 1\n"
        "    move   $5, %[nothing]\n"
        "    move   $6, $0\n"
        "    syscall\n"
        "    addiu  %[passes], %[passes], 1\n"
        "    b      1b\n"
        "    nop\n"
        "2:\n"
        "    .set pop\n"
        : [passes] "+r"(passes)
        : [nothing] "r"(nothing)
        : "$2", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "memory");
    return passes;
}

static unsigned fresh_page_call(unsigned x, unsigned *fresh_data)
{
    unsigned *code = &fresh_code[1024];
    unsigned result;
    code[0] = 0x24820000u | 0x321u; /* addiu $v0, $a0, 0x321 */
    code[1] = 0x03e00008u;          /* jr $ra */
    code[2] = 0x00021040u;          /* sll $v0, $v0, 1 (its delay slot) */
    __asm__ volatile(
        "    .set push\n"
        "    .set noreorder\n"
        "    move   $4, %[x]\n"
        "    jalr   %[code]\n"
        "    sw     %[x], 0(%[data])\n" /* delay slot: the first touch of a page */
        "    move   %[result], $2\n"
        "    .set pop\n"
        : [result] "=r"(result)
        : [x] "r"(x), [code] "r"(code), [data] "r"(fresh_data)
        : "$2", "$4", "$31", "memory");
    return result + *fresh_data;
}

int main(void)
{
    unsigned local = 0;
    /* Stack pages far below the frame: mapped by qemu, untouched until now. */
    unsigned *fresh = (unsigned *)((((unsigned)&local) & ~0xfffu) - 0x40000u);
    unsigned sum = same_block(40);
    unsigned before = patched();
    long got = sys_read(0, (void *)patched, 4);
    unsigned after = patched();
    sum = (sum << 7 | sum >> 25) ^ before ^ (after << 8) ^ (unsigned)got;
    sum = (sum << 7 | sum >> 25) ^ self_overwrite();
    sum = (sum << 7 | sum >> 25) ^ fresh_page_call(0x1000, fresh);
    say("smc ");
    say_hex(sum);
    say(after == 0x2a2a ? "patched\n" : "stale\n");
    return 0;
}
