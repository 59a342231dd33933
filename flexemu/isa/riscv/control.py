"""Jumps and branches. Targets need only be even (IALIGN = 16 with C), which every
encoding guarantees, so no jump faults; a target beyond 2^32 panics at its fetch.
"""

from __future__ import annotations

from collections.abc import Callable

from flexemu.isa.riscv.bits import signed, unsigned
from flexemu.isa.riscv.decode import Instruction
from flexemu.isa.riscv.io import LeafIO
from flexemu.isa.riscv.registers import write_x
from flexemu.isa.riscv.state import RiscvState

CONDITIONS: dict[str, Callable[[int, int, int], bool]] = {
    "beq": lambda a, b, xlen: a == b,
    "bne": lambda a, b, xlen: a != b,
    "blt": lambda a, b, xlen: signed(a, xlen) < signed(b, xlen),
    "bge": lambda a, b, xlen: signed(a, xlen) >= signed(b, xlen),
    "bltu": lambda a, b, xlen: a < b,
    "bgeu": lambda a, b, xlen: a >= b,
}


def jal(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> int:
    target = unsigned(state.pc + ins.imm, state.xlen)
    write_x(state, ins.rd, state.pc + length)
    return target


def jalr(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> int:
    # The target is computed before the link is written: rd may equal rs1.
    target = unsigned(state.x[ins.rs1] + ins.imm, state.xlen) & ~1
    write_x(state, ins.rd, state.pc + length)
    return target


def branch(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> int | None:
    if CONDITIONS[ins.name](state.x[ins.rs1], state.x[ins.rs2], state.xlen):
        return unsigned(state.pc + ins.imm, state.xlen)
    return None
