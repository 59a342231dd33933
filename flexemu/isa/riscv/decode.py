"""The one table of 32-bit RISC-V encodings, shared by the step and the disassembler.

An entry names an instruction, the bits that identify it (`word & mask ==
match`), the format its operands are read in, and the XLENs it exists on.
Compressed instructions are first expanded to one of these words
(`compressed.py`). A word no entry matches is illegal; the FP arithmetic
opcodes are recognised separately so that they panic with their own code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from flexemu.isa.riscv.bits import bit, field, sext


class Format(Enum):
    R = "R"  # rd, rs1, rs2
    I = "I"  # noqa: E741  rd, rs1, imm (12-bit signed)
    S = "S"  # rs1, rs2, imm
    B = "B"  # rs1, rs2, imm (branch offset)
    U = "U"  # rd, imm (upper 20 bits, sign-extended from bit 31)
    J = "J"  # rd, imm (jump offset)
    SHIFT = "SHIFT"  # rd, rs1, imm = shamt
    CSR = "CSR"  # rd, rs1 (register, or the 5-bit immediate of the *I forms), csr
    AMO = "AMO"  # rd, rs1, rs2 (aq/rl are ignored)
    FMV = "FMV"  # rd, rs1 (rd or rs1 is an FP register)
    NONE = "NONE"  # fence, fence.i, ecall, ebreak


BOTH = (32, 64)
RV64 = (64,)
RV32 = (32,)


@dataclass(frozen=True)
class Encoding:
    name: str
    mask: int
    match: int
    format: Format
    xlens: tuple[int, ...] = BOTH


@dataclass(frozen=True)
class Instruction:
    """A decoded instruction: operand fields as plain integers (`imm` signed)."""

    name: str
    format: Format
    rd: int = 0
    rs1: int = 0
    rs2: int = 0
    imm: int = 0
    csr: int = 0


# Masks by what identifies an encoding.
OPCODE = 0x0000007F
F3 = 0x0000707F  # opcode + funct3
F7 = 0xFE00707F  # opcode + funct3 + funct7
F6 = 0xFC00707F  # opcode + funct3 + funct6 (RV64 shifts)
F5 = 0xF800707F  # opcode + funct3 + funct5 (AMOs: aq/rl free)
LR = 0xF9F0707F  # lr: rs2 must be 0
EXACT = 0xFFFFFFFF
FMV = 0xFFF0707F  # funct7 + rs2 = 0 + funct3 + opcode


def _r(funct7: int, funct3: int, opcode: int) -> int:
    return (funct7 << 25) | (funct3 << 12) | opcode


def _amo(name: str, funct5: int) -> list[Encoding]:
    return [
        Encoding(f"{name}.w", F5, _r(funct5 << 2, 2, 0x2F), Format.AMO),
        Encoding(f"{name}.d", F5, _r(funct5 << 2, 3, 0x2F), Format.AMO, RV64),
    ]


ENCODINGS: tuple[Encoding, ...] = (
    # RV32I / RV64I
    Encoding("lui", OPCODE, 0x37, Format.U),
    Encoding("auipc", OPCODE, 0x17, Format.U),
    Encoding("jal", OPCODE, 0x6F, Format.J),
    Encoding("jalr", F3, _r(0, 0, 0x67), Format.I),
    Encoding("beq", F3, _r(0, 0, 0x63), Format.B),
    Encoding("bne", F3, _r(0, 1, 0x63), Format.B),
    Encoding("blt", F3, _r(0, 4, 0x63), Format.B),
    Encoding("bge", F3, _r(0, 5, 0x63), Format.B),
    Encoding("bltu", F3, _r(0, 6, 0x63), Format.B),
    Encoding("bgeu", F3, _r(0, 7, 0x63), Format.B),
    Encoding("lb", F3, _r(0, 0, 0x03), Format.I),
    Encoding("lh", F3, _r(0, 1, 0x03), Format.I),
    Encoding("lw", F3, _r(0, 2, 0x03), Format.I),
    Encoding("ld", F3, _r(0, 3, 0x03), Format.I, RV64),
    Encoding("lbu", F3, _r(0, 4, 0x03), Format.I),
    Encoding("lhu", F3, _r(0, 5, 0x03), Format.I),
    Encoding("lwu", F3, _r(0, 6, 0x03), Format.I, RV64),
    Encoding("sb", F3, _r(0, 0, 0x23), Format.S),
    Encoding("sh", F3, _r(0, 1, 0x23), Format.S),
    Encoding("sw", F3, _r(0, 2, 0x23), Format.S),
    Encoding("sd", F3, _r(0, 3, 0x23), Format.S, RV64),
    Encoding("addi", F3, _r(0, 0, 0x13), Format.I),
    Encoding("slti", F3, _r(0, 2, 0x13), Format.I),
    Encoding("sltiu", F3, _r(0, 3, 0x13), Format.I),
    Encoding("xori", F3, _r(0, 4, 0x13), Format.I),
    Encoding("ori", F3, _r(0, 6, 0x13), Format.I),
    Encoding("andi", F3, _r(0, 7, 0x13), Format.I),
    Encoding("slli", F7, _r(0x00, 1, 0x13), Format.SHIFT, RV32),
    Encoding("srli", F7, _r(0x00, 5, 0x13), Format.SHIFT, RV32),
    Encoding("srai", F7, _r(0x20, 5, 0x13), Format.SHIFT, RV32),
    Encoding("slli", F6, _r(0x00, 1, 0x13), Format.SHIFT, RV64),
    Encoding("srli", F6, _r(0x00, 5, 0x13), Format.SHIFT, RV64),
    Encoding("srai", F6, _r(0x20, 5, 0x13), Format.SHIFT, RV64),
    Encoding("add", F7, _r(0x00, 0, 0x33), Format.R),
    Encoding("sub", F7, _r(0x20, 0, 0x33), Format.R),
    Encoding("sll", F7, _r(0x00, 1, 0x33), Format.R),
    Encoding("slt", F7, _r(0x00, 2, 0x33), Format.R),
    Encoding("sltu", F7, _r(0x00, 3, 0x33), Format.R),
    Encoding("xor", F7, _r(0x00, 4, 0x33), Format.R),
    Encoding("srl", F7, _r(0x00, 5, 0x33), Format.R),
    Encoding("sra", F7, _r(0x20, 5, 0x33), Format.R),
    Encoding("or", F7, _r(0x00, 6, 0x33), Format.R),
    Encoding("and", F7, _r(0x00, 7, 0x33), Format.R),
    Encoding("addiw", F3, _r(0, 0, 0x1B), Format.I, RV64),
    Encoding("slliw", F7, _r(0x00, 1, 0x1B), Format.SHIFT, RV64),
    Encoding("srliw", F7, _r(0x00, 5, 0x1B), Format.SHIFT, RV64),
    Encoding("sraiw", F7, _r(0x20, 5, 0x1B), Format.SHIFT, RV64),
    Encoding("addw", F7, _r(0x00, 0, 0x3B), Format.R, RV64),
    Encoding("subw", F7, _r(0x20, 0, 0x3B), Format.R, RV64),
    Encoding("sllw", F7, _r(0x00, 1, 0x3B), Format.R, RV64),
    Encoding("srlw", F7, _r(0x00, 5, 0x3B), Format.R, RV64),
    Encoding("sraw", F7, _r(0x20, 5, 0x3B), Format.R, RV64),
    Encoding("fence", F3, _r(0, 0, 0x0F), Format.NONE),
    Encoding("fence.i", F3, _r(0, 1, 0x0F), Format.NONE),
    Encoding("ecall", EXACT, 0x00000073, Format.NONE),
    Encoding("ebreak", EXACT, 0x00100073, Format.NONE),
    # Zicsr
    Encoding("csrrw", F3, _r(0, 1, 0x73), Format.CSR),
    Encoding("csrrs", F3, _r(0, 2, 0x73), Format.CSR),
    Encoding("csrrc", F3, _r(0, 3, 0x73), Format.CSR),
    Encoding("csrrwi", F3, _r(0, 5, 0x73), Format.CSR),
    Encoding("csrrsi", F3, _r(0, 6, 0x73), Format.CSR),
    Encoding("csrrci", F3, _r(0, 7, 0x73), Format.CSR),
    # M
    Encoding("mul", F7, _r(0x01, 0, 0x33), Format.R),
    Encoding("mulh", F7, _r(0x01, 1, 0x33), Format.R),
    Encoding("mulhsu", F7, _r(0x01, 2, 0x33), Format.R),
    Encoding("mulhu", F7, _r(0x01, 3, 0x33), Format.R),
    Encoding("div", F7, _r(0x01, 4, 0x33), Format.R),
    Encoding("divu", F7, _r(0x01, 5, 0x33), Format.R),
    Encoding("rem", F7, _r(0x01, 6, 0x33), Format.R),
    Encoding("remu", F7, _r(0x01, 7, 0x33), Format.R),
    Encoding("mulw", F7, _r(0x01, 0, 0x3B), Format.R, RV64),
    Encoding("divw", F7, _r(0x01, 4, 0x3B), Format.R, RV64),
    Encoding("divuw", F7, _r(0x01, 5, 0x3B), Format.R, RV64),
    Encoding("remw", F7, _r(0x01, 6, 0x3B), Format.R, RV64),
    Encoding("remuw", F7, _r(0x01, 7, 0x3B), Format.R, RV64),
    # A
    Encoding("lr.w", LR, _r(0x02 << 2, 2, 0x2F), Format.AMO),
    Encoding("lr.d", LR, _r(0x02 << 2, 3, 0x2F), Format.AMO, RV64),
    *_amo("sc", 0x03),
    *_amo("amoswap", 0x01),
    *_amo("amoadd", 0x00),
    *_amo("amoxor", 0x04),
    *_amo("amoand", 0x0C),
    *_amo("amoor", 0x08),
    *_amo("amomin", 0x10),
    *_amo("amomax", 0x14),
    *_amo("amominu", 0x18),
    *_amo("amomaxu", 0x1C),
    # F/D data movement only
    Encoding("flw", F3, _r(0, 2, 0x07), Format.I),
    Encoding("fld", F3, _r(0, 3, 0x07), Format.I),
    Encoding("fsw", F3, _r(0, 2, 0x27), Format.S),
    Encoding("fsd", F3, _r(0, 3, 0x27), Format.S),
    Encoding("fmv.x.w", FMV, _r(0x70, 0, 0x53), Format.FMV),
    Encoding("fmv.w.x", FMV, _r(0x78, 0, 0x53), Format.FMV),
    Encoding("fmv.x.d", FMV, _r(0x71, 0, 0x53), Format.FMV, RV64),
    Encoding("fmv.d.x", FMV, _r(0x79, 0, 0x53), Format.FMV, RV64),
)

# The FP computation opcodes: OP-FP and the four fused multiply-adds.
FP_OPCODES = frozenset({0x53, 0x43, 0x47, 0x4B, 0x4F})


def _table(xlen: int) -> dict[int, tuple[Encoding, ...]]:
    by_opcode: dict[int, list[Encoding]] = {}
    for encoding in ENCODINGS:
        if xlen in encoding.xlens:
            by_opcode.setdefault(encoding.match & OPCODE, []).append(encoding)
    return {opcode: tuple(entries) for opcode, entries in by_opcode.items()}


TABLES = {32: _table(32), 64: _table(64)}


def immediate(word: int, fmt: Format) -> int:
    """The signed immediate of `word` in format `fmt` (0 for formats without one)."""
    if fmt is Format.I:
        return sext(word >> 20, 12)
    if fmt is Format.S:
        return sext((field(word, 31, 25) << 5) | field(word, 11, 7), 12)
    if fmt is Format.B:
        value = (
            (bit(word, 31) << 12)
            | (bit(word, 7) << 11)
            | (field(word, 30, 25) << 5)
            | (field(word, 11, 8) << 1)
        )
        return sext(value, 13)
    if fmt is Format.U:
        return sext(word & 0xFFFFF000, 32)
    if fmt is Format.J:
        value = (
            (bit(word, 31) << 20)
            | (field(word, 19, 12) << 12)
            | (bit(word, 20) << 11)
            | (field(word, 30, 21) << 1)
        )
        return sext(value, 21)
    if fmt is Format.SHIFT:
        return field(word, 25, 20)
    return 0


def decode(word: int, xlen: int) -> Instruction | None:
    """The instruction `word` encodes on RV`xlen`, or None if no entry matches."""
    for encoding in TABLES[xlen].get(word & OPCODE, ()):
        if word & encoding.mask == encoding.match:
            return Instruction(
                name=encoding.name,
                format=encoding.format,
                rd=field(word, 11, 7),
                rs1=field(word, 19, 15),
                rs2=field(word, 24, 20),
                imm=immediate(word, encoding.format),
                csr=word >> 20,
            )
    return None


def is_fp_computation(word: int) -> bool:
    """Whether an undecodable word is on an FP computation opcode (a FLOATING_POINT panic)."""
    return word & OPCODE in FP_OPCODES
