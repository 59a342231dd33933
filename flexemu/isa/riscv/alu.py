"""Integer computation: LUI, AUIPC, OP-IMM, OP and (RV64) their 32-bit *W forms.

Each operation is a pure function of two unsigned XLEN-bit operands; the
immediate forms pass the sign-extended immediate wrapped to XLEN as `b`.
"""

from __future__ import annotations

from collections.abc import Callable

from flexemu.isa.riscv.bits import MASK32, sext, sext32, signed, unsigned
from flexemu.isa.riscv.decode import Instruction
from flexemu.isa.riscv.io import LeafIO
from flexemu.isa.riscv.registers import write_x
from flexemu.isa.riscv.state import RiscvState

Operation = Callable[[int, int, int], int]  # (a, b, xlen) -> unsigned result


def add(a: int, b: int, xlen: int) -> int:
    return unsigned(a + b, xlen)


def sub(a: int, b: int, xlen: int) -> int:
    return unsigned(a - b, xlen)


def sll(a: int, b: int, xlen: int) -> int:
    return unsigned(a << (b & (xlen - 1)), xlen)


def srl(a: int, b: int, xlen: int) -> int:
    return a >> (b & (xlen - 1))


def sra(a: int, b: int, xlen: int) -> int:
    return unsigned(signed(a, xlen) >> (b & (xlen - 1)), xlen)


def slt(a: int, b: int, xlen: int) -> int:
    return int(signed(a, xlen) < signed(b, xlen))


def sltu(a: int, b: int, xlen: int) -> int:
    return int(a < b)


def xor(a: int, b: int, xlen: int) -> int:
    return a ^ b


def or_(a: int, b: int, xlen: int) -> int:
    return a | b


def and_(a: int, b: int, xlen: int) -> int:
    return a & b


def addw(a: int, b: int, xlen: int) -> int:
    return sext32(a + b, xlen)


def subw(a: int, b: int, xlen: int) -> int:
    return sext32(a - b, xlen)


def sllw(a: int, b: int, xlen: int) -> int:
    return sext32(a << (b & 31), xlen)


def srlw(a: int, b: int, xlen: int) -> int:
    return sext32((a & MASK32) >> (b & 31), xlen)


def sraw(a: int, b: int, xlen: int) -> int:
    return sext32(sext(a, 32) >> (b & 31), xlen)


REGISTER_OPERATIONS: dict[str, Operation] = {
    "add": add, "sub": sub, "sll": sll, "slt": slt, "sltu": sltu, "xor": xor,
    "srl": srl, "sra": sra, "or": or_, "and": and_,
    "addw": addw, "subw": subw, "sllw": sllw, "srlw": srlw, "sraw": sraw,
}  # fmt: skip

IMMEDIATE_OPERATIONS: dict[str, Operation] = {
    "addi": add, "slti": slt, "sltiu": sltu, "xori": xor, "ori": or_, "andi": and_,
    "slli": sll, "srli": srl, "srai": sra,
    "addiw": addw, "slliw": sllw, "srliw": srlw, "sraiw": sraw,
}  # fmt: skip


def op(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> None:
    a, b = state.x[ins.rs1], state.x[ins.rs2]
    write_x(state, ins.rd, REGISTER_OPERATIONS[ins.name](a, b, state.xlen))


def op_imm(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> None:
    a, b = state.x[ins.rs1], unsigned(ins.imm, state.xlen)
    write_x(state, ins.rd, IMMEDIATE_OPERATIONS[ins.name](a, b, state.xlen))


def lui(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> None:
    write_x(state, ins.rd, ins.imm)


def auipc(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> None:
    write_x(state, ins.rd, state.pc + ins.imm)
