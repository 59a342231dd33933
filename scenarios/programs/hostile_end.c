/*
 * hostile_end.c - a freestanding guest that ends in a way unicorn would run
 * differently from the reference, chosen by the first byte of stdin.
 *
 *   a / 1  call a function through its kseg0 / kseg1 alias (it writes and
 *          returns): the reference runs it through physical memory;
 *   k      jr to 0xc0000000 (kseg2): KERNEL_ADDRESS panic at the fetch;
 *   m      jr to a misaligned address: ADDRESS_ERROR panic at the fetch;
 *   o      jr to an odd address (MIPS16 on unicorn's 24Kc): panic at the jr;
 *   x      jalx (MIPS16): reserved;
 *   c      mfc0 $t0, Status (COP0, unicorn runs in kernel mode): reserved;
 *   h      rdhwr $t0, $2 (the cycle counter): reserved;
 *   p      SPECIAL function 5 (QEMU's PMON call): reserved;
 *   b      BSHFL with sa = 0x12 and rd = $0 (a NOP to QEMU): reserved;
 *   n      a NULL function pointer call: flexEmu's memory at 0 reads as NOPs;
 *   else   exit 0.
 * qemu-mips kills the process (SIGILL, SIGSEGV, SIGBUS) in most of them, so
 * build.sh records one case ("c").
 */
#include "hostile.h"

#define SYS_read 4003

typedef unsigned (*fn_t)(unsigned);

static unsigned aliased(unsigned x)
{
    say("running through an alias\n");
    return x * 3 + 1;
}

static void jump_to(unsigned target)
{
    __asm__ volatile(
        "    .set push\n"
        "    .set noreorder\n"
        "    jr     %[t]\n"
        "    addiu  $2, $0, 0x55\n"
        "    .set pop\n"
        :
        : [t] "r"(target)
        : "$2", "memory");
}

int main(void)
{
    char c = 0;
    sys3(SYS_read, 0, (long)&c, 1);
    say("case ");
    write_all(&c, 1);
    say("\n");
    switch (c) {
    case 'a':
    case '1': {
        unsigned segment = c == 'a' ? 0x80000000u : 0xa0000000u;
        fn_t via_alias = (fn_t)((unsigned)&aliased | segment);
        say_hex(via_alias(14));
        return 0;
    }
    case 'k':
        jump_to(0xc0000000u);
        break;
    case 'm':
        jump_to((unsigned)&aliased + 2);
        break;
    case 'o':
        jump_to((unsigned)&aliased + 1);
        break;
    case 'x':
        __asm__ volatile(".set push\n.set noreorder\n.word 0x74000000 | (((0x400000 + 0x200) >> 2) & 0x3ffffff)\nnop\n.set pop\n");
        break;
    case 'c':
        __asm__ volatile(".word 0x40086000\n" ::: "$8"); /* mfc0 $t0, $12 */
        break;
    case 'h':
        __asm__ volatile(".word 0x7c08103b\n" ::: "$8"); /* rdhwr $t0, $2 */
        break;
    case 'p':
        __asm__ volatile(".word 0x00000105\n" ::: "$2"); /* SPECIAL funct 5 */
        break;
    case 'b':
        __asm__ volatile(".word 0x7c0804a0\n" ::: "$8"); /* BSHFL sa=0x12, rd=$0 */
        break;
    case 'n': {
        fn_t volatile null_fn = 0;
        say_hex(null_fn(1));
        break;
    }
    default:
        break;
    }
    say("still here\n");
    return 0;
}
