"""What every instruction group shares: the handler signature and register writes."""

from __future__ import annotations

from collections.abc import Callable

from flexemu.isa.riscv.bits import unsigned
from flexemu.isa.riscv.decode import Instruction
from flexemu.isa.riscv.io import LeafIO
from flexemu.isa.riscv.state import RiscvState

# A handler executes one decoded instruction of `length` bytes (2 or 4) and returns
# the next pc, or None to fall through to pc + length.
Handler = Callable[[RiscvState, LeafIO, Instruction, int], int | None]


def write_x(state: RiscvState, rd: int, value: int) -> None:
    """Set integer register rd (wrapped to XLEN); writes to x0 are discarded."""
    if rd:
        state.x[rd] = unsigned(value, state.xlen)
