"""Integer loads and stores, of every width at any address (misaligned ones execute;
an access crossing a leaf boundary touches both leaves in ascending order)."""

from __future__ import annotations

from flexemu.isa.riscv import io as access
from flexemu.isa.riscv.bits import sext, unsigned
from flexemu.isa.riscv.decode import Instruction
from flexemu.isa.riscv.io import LeafIO
from flexemu.isa.riscv.panic import Panic, StepPanic
from flexemu.isa.riscv.registers import write_x
from flexemu.isa.riscv.state import RiscvState

# name: (width in bytes, sign-extend)
LOADS: dict[str, tuple[int, bool]] = {
    "lb": (1, True), "lh": (2, True), "lw": (4, True), "ld": (8, True),
    "lbu": (1, False), "lhu": (2, False), "lwu": (4, False),
}  # fmt: skip
STORES: dict[str, int] = {"sb": 1, "sh": 2, "sw": 4, "sd": 8}


def checked(addr: int, width: int) -> int:
    """`addr` if all `width` bytes lie in the 32-bit physical space, else a panic."""
    if not access.fits(addr, width):
        raise StepPanic(Panic.ADDRESS_OUT_OF_RANGE)
    return addr


def effective(state: RiscvState, ins: Instruction, width: int) -> int:
    """x[rs1] + imm wrapped to XLEN, checked to fit the physical space."""
    return checked(unsigned(state.x[ins.rs1] + ins.imm, state.xlen), width)


def load(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> None:
    width, signed = LOADS[ins.name]
    value = access.load(io, effective(state, ins, width), width)
    write_x(state, ins.rd, sext(value, 8 * width) if signed else value)


def store(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> None:
    width = STORES[ins.name]
    access.store(io, effective(state, ins, width), width, state.x[ins.rs2])
