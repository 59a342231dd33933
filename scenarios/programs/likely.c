/*
 * likely.c - a short freestanding guest for the branch-likely instructions.
 *
 * gcc does not emit branch-likely for mips32r2 by default, so the shipped
 * glibc programs never run one. This guest runs every form (BEQL BNEL BLEZL
 * BGTZL BLTZL BGEZL BLTZALL BGEZALL), taken and not taken, with delay slots
 * whose effects show: a taken branch-likely runs its delay slot, a not-taken
 * one nullifies it (a step of its own in flexEmu, docs/spec.md 6.1), so the
 * printed checksum differs if any implementation gets either case wrong.
 * One delay slot is a store, so a nullified slot must also leave memory alone.
 */
#include "freestanding.h"

volatile int xs[8] = {0, 1, -1, 5, 0, 7, -4, 3};
volatile int ys[8] = {0, 1, 2, -3, -1, 7, -4, 0};
unsigned stored[8];

static unsigned likely_ops(int x, int y, unsigned *slot)
{
    unsigned acc = 0;
    __asm__ volatile(
        "    .set push\n"
        "    .set noreorder\n"
        "    beql    %[x], %[y], 1f\n"
        "    addiu   %[acc], %[acc], 1\n"      /* runs only when taken */
        "    addiu   %[acc], %[acc], 2\n"      /* the fall-through path */
        "1:  bnel    %[x], %[y], 2f\n"
        "    addiu   %[acc], %[acc], 4\n"
        "    addiu   %[acc], %[acc], 8\n"
        "2:  blezl   %[x], 3f\n"
        "    addiu   %[acc], %[acc], 16\n"
        "    addiu   %[acc], %[acc], 32\n"
        "3:  bgtzl   %[x], 4f\n"
        "    addiu   %[acc], %[acc], 64\n"
        "    addiu   %[acc], %[acc], 128\n"
        "4:  bltzl   %[y], 5f\n"
        "    addiu   %[acc], %[acc], 256\n"
        "    addiu   %[acc], %[acc], 512\n"
        "5:  bgezl   %[y], 6f\n"
        "    sw      %[acc], 0(%[slot])\n"     /* a store in a delay slot */
        "    addiu   %[acc], %[acc], 1024\n"
        "6:  bltzall %[x], 7f\n"
        "    addiu   %[acc], %[acc], 2048\n"
        "    b       8f\n"
        "    nop\n"
        "7:  addiu   %[acc], %[acc], 4096\n"
        "8:  bgezall %[y], 9f\n"
        "    addiu   %[acc], %[acc], 8192\n"
        "    b       10f\n"
        "    nop\n"
        "9:  addu    %[acc], %[acc], $31\n"    /* the link register: pc + 8 */
        "10:\n"
        "    .set pop\n"
        : [acc] "+r"(acc)
        : [x] "r"(x), [y] "r"(y), [slot] "r"(slot)
        : "$31", "memory");
    return acc;
}

int main(void)
{
    unsigned sum = 0;
    for (int i = 0; i < 8; i++) {
        stored[i] = 0xdead0000u + (unsigned)i;
        unsigned acc = likely_ops(xs[i], ys[i], &stored[i]);
        sum = (sum << 5 | sum >> 27) ^ acc ^ stored[i];
    }
    put_str("likely ");
    put_hex(sum);
    return 0;
}
