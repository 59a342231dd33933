/*
 * slots.c - a freestanding guest for the delay-slot corners where unicorn
 * and the reference could part ways. Each case's effect reaches the printed
 * checksum.
 *  1. a branch-likely not taken whose nullified slot holds a jump, followed
 *     by the first touch of a page, and by a syscall;
 *  2. jalr $t9, $t9 and bltzal $ra (the link register is also the target or
 *     the condition; both read it before linking) with a slot that touches a
 *     fresh page; bltzal $ra taken and not taken;
 *  3. constant branches QEMU folds: bne $0,$0 (its slot runs), bnel $t1,$t1
 *     and bgtzl $0 (their slots are nullified), bltz $0;
 *  4. a branch in the last word of a page, its slot on the next page;
 *  5. a branch whose slot is a trap instruction that does not fire.
 */
#include "hostile.h"

unsigned callee_t9(void);
__asm__(
    "    .text\n"
    "    .globl callee_t9\n"
    "    .ent   callee_t9\n"
    "callee_t9:\n"
    "    .set push\n"
    "    .set noreorder\n"
    "    addiu  $2, $0, 5\n"
    "    jr     $25\n" /* $t9 holds the return address after jalr $t9, $t9 */
    "    nop\n"
    "    .set pop\n"
    "    .end   callee_t9\n");

static unsigned nullified_jumps(unsigned *fresh)
{
    unsigned acc = 0;
    static const char nothing[1];
    __asm__ volatile(
        "    .set push\n"
        "    .set noreorder\n"
        "    li     $9, 1\n"
        "    beql   $0, $9, 8f\n"       /* not taken: the slot is nullified */
        "    j      8f\n"
        "    lw     $10, 0(%[fresh])\n" /* the first touch of a page */
        "    addu   %[acc], %[acc], $10\n"
        "    addiu  %[acc], %[acc], 3\n"
        "    bnel   $9, $0, 1f\n"       /* taken: the slot runs */
        "    addiu  %[acc], %[acc], 5\n"
        "    addiu  %[acc], %[acc], 1000\n"
        "1:  beql   $9, $0, 8f\n"       /* not taken, nullified jump, then a syscall */
        "    j      8f\n"
        "    li     $2, 4004\n"
        "    li     $4, 1\n"
        "    move   $5, %[nothing]\n"
        "    move   $6, $0\n"
        "    syscall\n"
        "    addu   %[acc], %[acc], $2\n"
        "    addiu  %[acc], %[acc], 7\n"
        "    b      9f\n"
        "    nop\n"
        "8:  addiu  %[acc], %[acc], 0x4000\n" /* reached only if a nullified jump ran */
        "9:\n"
        "    .set pop\n"
        : [acc] "+r"(acc)
        : [fresh] "r"(fresh), [nothing] "r"(nothing)
        : "$2", "$4", "$5", "$6", "$7", "$9", "$10", "memory");
    return acc;
}

static unsigned link_aliases(unsigned *fresh)
{
    unsigned acc = 0;
    __asm__ volatile(
        "    .set push\n"
        "    .set noreorder\n"
        "    la     $25, callee_t9\n"
        "    .word  0x0320c809\n"          /* jalr $t9, $t9 */
        "    sw     %[acc], 0x1000(%[fresh])\n" /* slot: a fresh page */
        "    addu   %[acc], %[acc], $2\n"
        "    li     $31, -1\n"
        "    .word  0x07f00000 | ((1f - . - 4) >> 2 & 0xffff)\n" /* bltzal $ra, 1f: taken ($ra < 0 before the link) */
        "    sw     %[acc], 0x2000(%[fresh])\n" /* slot: another fresh page */
        "    b      2f\n"
        "    nop\n"
        "1:  addiu  %[acc], %[acc], 11\n"
        "    jr     $31\n"
        "    nop\n"
        "2:  li     $31, 1\n"
        "    .word  0x07f00000 | ((3f - . - 4) >> 2 & 0xffff)\n" /* bltzal $ra, 3f: not taken, $ra linked */
        "    sw     %[acc], 0x3000(%[fresh])\n"
        "    addiu  %[acc], %[acc], 13\n"
        "    b      4f\n"
        "    nop\n"
        "3:  addiu  %[acc], %[acc], 0x4000\n"
        "4:  lw     $10, 0x2000(%[fresh])\n"
        "    addu   %[acc], %[acc], $10\n"
        "    .set pop\n"
        : [acc] "+r"(acc)
        : [fresh] "r"(fresh)
        : "$2", "$10", "$25", "$31", "memory");
    return acc;
}

static unsigned constant_branches(void)
{
    unsigned acc = 0;
    __asm__ volatile(
        "    .set push\n"
        "    .set noreorder\n"
        "    .set noat\n"
        "    li     $9, 77\n"
        "    bne    $0, $0, 8f\n"   /* never taken: its slot runs */
        "    addiu  %[acc], %[acc], 1\n"
        "    bnel   $9, $9, 8f\n"   /* never taken, likely: its slot is nullified */
        "    addiu  %[acc], %[acc], 2\n"
        "    bgtzl  $0, 8f\n"
        "    addiu  %[acc], %[acc], 4\n"
        "    bltz   $0, 8f\n"
        "    addiu  %[acc], %[acc], 8\n"
        "    beq    $9, $9, 1f\n"   /* always taken */
        "    addiu  %[acc], %[acc], 16\n"
        "8:  addiu  %[acc], %[acc], 0x4000\n"
        "1:\n"
        "    .set pop\n"
        : [acc] "+r"(acc)
        :
        : "$9");
    return acc;
}

static unsigned page_end_branch(void)
{
    unsigned acc = 0;
    __asm__ volatile(
        "    .set push\n"
        "    .set noreorder\n"
        "    li     $9, 1\n"
        "    b      0f\n"
        "    nop\n"
        "    .balign 4096\n"
        "0:  .fill  1022, 4, 0\n"
        "    addiu  %[acc], %[acc], 64\n"
        "    bne    $9, $0, 1f\n"   /* the last word of its page */
        "    addiu  %[acc], %[acc], 128\n" /* the first word of the next page */
        "    addiu  %[acc], %[acc], 0x4000\n"
        "1:  bne    $9, $0, 2f\n"
        "    teq    $9, $0\n"       /* a trap in a delay slot that does not fire */
        "    addiu  %[acc], %[acc], 0x4000\n"
        "2:  addiu  %[acc], %[acc], 256\n"
        "    .set pop\n"
        : [acc] "+r"(acc)
        :
        : "$9");
    return acc;
}

int main(void)
{
    unsigned local = 0;
    /* Stack pages far below the frame: mapped by qemu, untouched until now. */
    unsigned *fresh = (unsigned *)((((unsigned)&local) & ~0xfffu) - 0x80000u);
    unsigned sum = nullified_jumps(fresh);
    sum = (sum << 7 | sum >> 25) ^ link_aliases(fresh);
    sum = (sum << 7 | sum >> 25) ^ constant_branches();
    sum = (sum << 7 | sum >> 25) ^ page_end_branch();
    say("slots ");
    say_hex(sum);
    return 0;
}
