"""The A extension on a single hart: LR/SC with the reservation in the witness, and AMOs.

An atomic access must be aligned to its width (else MISALIGNED_ATOMIC), so it
touches exactly one leaf. lr.{w,d} loads and reserves (address, width). sc
succeeds iff the reservation is for the same address and width: it stores and
writes 0 to rd; otherwise it touches no memory and writes 1. Every sc, failed or
not, clears the reservation. AMOs do not touch the reservation; aq/rl are
ignored (one hart, no reordering).
"""

from __future__ import annotations

from collections.abc import Callable

from flexemu.isa.riscv import io as access
from flexemu.isa.riscv.bits import sext, unsigned
from flexemu.isa.riscv.decode import Instruction
from flexemu.isa.riscv.io import LeafIO
from flexemu.isa.riscv.loadstore import checked
from flexemu.isa.riscv.panic import Panic, StepPanic
from flexemu.isa.riscv.registers import write_x
from flexemu.isa.riscv.state import NO_RESERVATION, RiscvState

# (loaded, operand, width in bits) -> value to store; operands are unsigned width-bit values.
AMO_OPERATIONS: dict[str, Callable[[int, int, int], int]] = {
    "amoswap": lambda old, src, bits: src,
    "amoadd": lambda old, src, bits: old + src,
    "amoxor": lambda old, src, bits: old ^ src,
    "amoand": lambda old, src, bits: old & src,
    "amoor": lambda old, src, bits: old | src,
    "amomin": lambda old, src, bits: old if sext(old, bits) <= sext(src, bits) else src,
    "amomax": lambda old, src, bits: old if sext(old, bits) >= sext(src, bits) else src,
    "amominu": lambda old, src, bits: min(old, src),
    "amomaxu": lambda old, src, bits: max(old, src),
}


def _width(ins: Instruction) -> int:
    return 4 if ins.name.endswith(".w") else 8


def _address(state: RiscvState, ins: Instruction, width: int) -> int:
    addr = state.x[ins.rs1]
    if addr % width:
        raise StepPanic(Panic.MISALIGNED_ATOMIC)
    return checked(addr, width)


def lr(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> None:
    width = _width(ins)
    addr = _address(state, ins, width)
    value = access.load(io, addr, width)
    state.reservation, state.reservation_addr = width, addr
    write_x(state, ins.rd, sext(value, 8 * width))


def sc(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> None:
    width = _width(ins)
    addr = _address(state, ins, width)
    success = state.reservation == width and state.reservation_addr == addr
    if success:
        access.store(io, addr, width, state.x[ins.rs2])
    state.reservation, state.reservation_addr = NO_RESERVATION, 0
    write_x(state, ins.rd, 0 if success else 1)


def amo(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> None:
    width = _width(ins)
    bits = 8 * width
    addr = _address(state, ins, width)
    old = access.load(io, addr, width)
    src = unsigned(state.x[ins.rs2], bits)
    access.store(io, addr, width, AMO_OPERATIONS[ins.name[:-2]](old, src, bits))
    write_x(state, ins.rd, sext(old, bits))
