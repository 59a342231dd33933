"""The F/D instructions static glibc executes, as pure data moves over raw bits.

f registers hold 64 raw bits. A 32-bit value written to one is NaN-boxed (upper
32 bits all ones), as the F spec requires for FLEN = 64. No arithmetic happens
here: FP computation panics (FLOATING_POINT), so rounding and NaN rules never
enter the state transition.
"""

from __future__ import annotations

from flexemu.isa.riscv import io as access
from flexemu.isa.riscv.bits import MASK32, sext32
from flexemu.isa.riscv.decode import Instruction
from flexemu.isa.riscv.io import LeafIO
from flexemu.isa.riscv.loadstore import effective
from flexemu.isa.riscv.registers import write_x
from flexemu.isa.riscv.state import RiscvState

NAN_BOX = 0xFFFFFFFF00000000
FP_WIDTHS = {"flw": 4, "fld": 8, "fsw": 4, "fsd": 8}


def nan_box(value: int) -> int:
    return NAN_BOX | (value & MASK32)


def fp_load(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> None:
    width = FP_WIDTHS[ins.name]
    value = access.load(io, effective(state, ins, width), width)
    state.f[ins.rd] = nan_box(value) if width == 4 else value


def fp_store(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> None:
    width = FP_WIDTHS[ins.name]
    access.store(io, effective(state, ins, width), width, state.f[ins.rs2])


def fmv(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> None:
    if ins.name == "fmv.x.w":
        write_x(state, ins.rd, sext32(state.f[ins.rs1], state.xlen))
    elif ins.name == "fmv.w.x":
        state.f[ins.rd] = nan_box(state.x[ins.rs1])
    elif ins.name == "fmv.x.d":
        write_x(state, ins.rd, state.f[ins.rs1])
    else:  # fmv.d.x
        state.f[ins.rd] = state.x[ins.rs1]
