"""Virtual to physical addresses, as the emulated CPU (running in kernel mode) sees them.

The fast engine runs unicorn's MIPS CPU in its reset state, where the user
segment is identity-mapped and kseg0/kseg1 are unmapped windows onto the low
512 MiB. The reference mirrors exactly that, so both agree even for programs
that touch those windows; kseg2/kseg3 need a TLB, which flexEmu does not have.
"""

from flexemu.isa.mips.state import Panic
from flexemu.stepping import StepPanic

__all__ = ["StepPanic", "aligned", "translate"]


def translate(vaddr: int) -> int:
    """Physical address of `vaddr`, or a KERNEL_ADDRESS panic for kseg2/kseg3."""
    if vaddr < 0x80000000:
        return vaddr
    if vaddr < 0xC0000000:
        return vaddr & 0x1FFFFFFF
    raise StepPanic(Panic.KERNEL_ADDRESS)


def aligned(vaddr: int, size: int) -> int:
    """Translate an access of `size` bytes, panicking if it is misaligned."""
    if vaddr & (size - 1):
        raise StepPanic(Panic.ADDRESS_ERROR)
    return translate(vaddr)
