"""A table-driven disassembler for exactly the instruction set of docs/spec.md 6.3.

It exists so that people can read what a step does: the simulator names the
disputed step's instruction, and test vectors are grouped by instruction class.
It never decides semantics. The tables mirror the decoding of
`flexemu.isa.mips.step`, and every encoding that step rejects from its fields alone
(everything outside 6.3, bad EXT/INS fields, RDHWR other than $29, CFC1/CTC1
other than FCSR, LDC1/SDC1 with an odd register) is class "reserved". The tests
check that equivalence against the stepper.

Output style: o32 register names, operands separated by ", ", no pseudo-
instructions except "nop" for the all-zero word. Branch and jump targets are
absolute 0x-addresses. Arithmetic immediates and offsets are signed decimal.
Logical immediates are hex, and shift amounts and field positions are decimal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flexemu.isa.mips.bits import s32, sext16, u32
from flexemu.isa.mips.step import _rd, _rs, _rt, _sa  # the spec's field extractors

REGISTERS = (
    "zero", "at", "v0", "v1", "a0", "a1", "a2", "a3",
    "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7",
    "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7",
    "t8", "t9", "k0", "k1", "gp", "sp", "fp", "ra",
)  # fmt: skip

#: Every instruction class `instruction_class` can return, in a stable order.
CLASSES = (
    "alu", "alu-imm", "shift", "muldiv", "branch", "branch-likely", "jump",
    "load", "store", "load-unaligned", "store-unaligned", "ll-sc", "trap",
    "syscall", "special2", "special3", "fpu-move", "fpu-memory", "hint", "reserved",
)  # fmt: skip



# ---------------------------------------------------------------- fields


def _reg(number: int) -> str:
    return REGISTERS[number]


def _simm(word: int) -> int:
    return s32(sext16(word))


def _branch_target(word: int, pc: int) -> str:
    return f"{u32(pc + 4 + (sext16(word) << 2)):#x}"


def _memory(word: int) -> str:
    return f"{_simm(word)}({_reg(_rs(word))})"


# ---------------------------------------------------------------- operand formats
#
# Each format turns (word, pc) into the operand text; the tables below name one per
# instruction, so adding an instruction is one table row.

Format = Callable[[int, int], str]

OPERANDS: dict[str, Format] = {
    "": lambda w, pc: "",
    "rd, rs, rt": lambda w, pc: f"{_reg(_rd(w))}, {_reg(_rs(w))}, {_reg(_rt(w))}",
    "rd, rt, sa": lambda w, pc: f"{_reg(_rd(w))}, {_reg(_rt(w))}, {_sa(w)}",
    "rd, rt, rs": lambda w, pc: f"{_reg(_rd(w))}, {_reg(_rt(w))}, {_reg(_rs(w))}",
    "rd, rt": lambda w, pc: f"{_reg(_rd(w))}, {_reg(_rt(w))}",
    "rd, rs": lambda w, pc: f"{_reg(_rd(w))}, {_reg(_rs(w))}",
    "rs, rt": lambda w, pc: f"{_reg(_rs(w))}, {_reg(_rt(w))}",
    "rs": lambda w, pc: _reg(_rs(w)),
    "rd": lambda w, pc: _reg(_rd(w)),
    "jalr": lambda w, pc: (
        _reg(_rs(w)) if _rd(w) == 31 else f"{_reg(_rd(w))}, {_reg(_rs(w))}"
    ),
    "rs, rt, code": lambda w, pc: f"{_reg(_rs(w))}, {_reg(_rt(w))}"
    + (f", {(w >> 6) & 0x3FF}" if (w >> 6) & 0x3FF else ""),
    "break": lambda w, pc: ", ".join(
        str(code) for code in ((w >> 16) & 0x3FF, (w >> 6) & 0x3FF) if code
    ),
    "syscall": lambda w, pc: str((w >> 6) & 0xFFFFF) if (w >> 6) & 0xFFFFF else "",
    "stype": lambda w, pc: str(_sa(w)) if _sa(w) else "",
    "rt, rs, simm": lambda w, pc: f"{_reg(_rt(w))}, {_reg(_rs(w))}, {_simm(w)}",
    "rt, rs, uimm": lambda w, pc: f"{_reg(_rt(w))}, {_reg(_rs(w))}, {w & 0xFFFF:#x}",
    "rt, uimm": lambda w, pc: f"{_reg(_rt(w))}, {w & 0xFFFF:#x}",
    "rs, simm": lambda w, pc: f"{_reg(_rs(w))}, {_simm(w)}",
    "rs, uimm": lambda w, pc: f"{_reg(_rs(w))}, {w & 0xFFFF:#x}",
    "rs, rt, target": lambda w, pc: f"{_reg(_rs(w))}, {_reg(_rt(w))}, {_branch_target(w, pc)}",
    "rs, target": lambda w, pc: f"{_reg(_rs(w))}, {_branch_target(w, pc)}",
    "index": lambda w, pc: f"{(u32(pc + 4) & 0xF0000000) | ((w & 0x03FFFFFF) << 2):#x}",
    "rt, offset(base)": lambda w, pc: f"{_reg(_rt(w))}, {_memory(w)}",
    "ft, offset(base)": lambda w, pc: f"$f{_rt(w)}, {_memory(w)}",
    "hint, offset(base)": lambda w, pc: f"{_rt(w)}, {_memory(w)}",
    "offset(base)": lambda w, pc: _memory(w),
    "rt, fs": lambda w, pc: f"{_reg(_rt(w))}, $f{_rd(w)}",
    "rt, fcsr": lambda w, pc: f"{_reg(_rt(w))}, $31",
    "rt, $29": lambda w, pc: f"{_reg(_rt(w))}, $29",
    "ext": lambda w, pc: f"{_reg(_rt(w))}, {_reg(_rs(w))}, {_sa(w)}, {_rd(w) + 1}",
    "ins": lambda w, pc: f"{_reg(_rt(w))}, {_reg(_rs(w))}, {_sa(w)}, {_rd(w) - _sa(w) + 1}",
}


@dataclass(frozen=True)
class Form:
    """One table row: the mnemonic, how its operands print, and its class."""

    mnemonic: str
    operands: str
    cls: str


RESERVED = Form(".word", "", "reserved")
NOP = Form("nop", "", "shift")

_SPECIAL: dict[int, Form] = {
    0x00: Form("sll", "rd, rt, sa", "shift"),
    0x02: Form("srl", "rd, rt, sa", "shift"),  # ROTR when bit 21 is set: see _decode
    0x03: Form("sra", "rd, rt, sa", "shift"),
    0x04: Form("sllv", "rd, rt, rs", "shift"),
    0x06: Form("srlv", "rd, rt, rs", "shift"),  # ROTRV when bit 6 is set
    0x07: Form("srav", "rd, rt, rs", "shift"),
    0x08: Form("jr", "rs", "jump"),
    0x09: Form("jalr", "jalr", "jump"),
    0x0A: Form("movz", "rd, rs, rt", "alu"),
    0x0B: Form("movn", "rd, rs, rt", "alu"),
    0x0C: Form("syscall", "syscall", "syscall"),
    0x0D: Form("break", "break", "trap"),
    0x0F: Form("sync", "stype", "hint"),
    0x10: Form("mfhi", "rd", "muldiv"),
    0x11: Form("mthi", "rs", "muldiv"),
    0x12: Form("mflo", "rd", "muldiv"),
    0x13: Form("mtlo", "rs", "muldiv"),
    0x18: Form("mult", "rs, rt", "muldiv"),
    0x19: Form("multu", "rs, rt", "muldiv"),
    0x1A: Form("div", "rs, rt", "muldiv"),
    0x1B: Form("divu", "rs, rt", "muldiv"),
    0x20: Form("add", "rd, rs, rt", "alu"),
    0x21: Form("addu", "rd, rs, rt", "alu"),
    0x22: Form("sub", "rd, rs, rt", "alu"),
    0x23: Form("subu", "rd, rs, rt", "alu"),
    0x24: Form("and", "rd, rs, rt", "alu"),
    0x25: Form("or", "rd, rs, rt", "alu"),
    0x26: Form("xor", "rd, rs, rt", "alu"),
    0x27: Form("nor", "rd, rs, rt", "alu"),
    0x2A: Form("slt", "rd, rs, rt", "alu"),
    0x2B: Form("sltu", "rd, rs, rt", "alu"),
    0x30: Form("tge", "rs, rt, code", "trap"),
    0x31: Form("tgeu", "rs, rt, code", "trap"),
    0x32: Form("tlt", "rs, rt, code", "trap"),
    0x33: Form("tltu", "rs, rt, code", "trap"),
    0x34: Form("teq", "rs, rt, code", "trap"),
    0x36: Form("tne", "rs, rt, code", "trap"),
}

_REGIMM: dict[int, Form] = {
    0x00: Form("bltz", "rs, target", "branch"),
    0x01: Form("bgez", "rs, target", "branch"),
    0x02: Form("bltzl", "rs, target", "branch-likely"),
    0x03: Form("bgezl", "rs, target", "branch-likely"),
    0x08: Form("tgei", "rs, simm", "trap"),
    0x09: Form("tgeiu", "rs, simm", "trap"),
    0x0A: Form("tlti", "rs, simm", "trap"),
    0x0B: Form("tltiu", "rs, simm", "trap"),
    0x0C: Form("teqi", "rs, simm", "trap"),
    0x0E: Form("tnei", "rs, simm", "trap"),
    0x10: Form("bltzal", "rs, target", "branch"),
    0x11: Form("bgezal", "rs, target", "branch"),
    0x12: Form("bltzall", "rs, target", "branch-likely"),
    0x13: Form("bgezall", "rs, target", "branch-likely"),
    0x1F: Form("synci", "offset(base)", "hint"),
}

_SPECIAL2: dict[int, Form] = {
    0x00: Form("madd", "rs, rt", "special2"),
    0x01: Form("maddu", "rs, rt", "special2"),
    0x02: Form("mul", "rd, rs, rt", "special2"),
    0x04: Form("msub", "rs, rt", "special2"),
    0x05: Form("msubu", "rs, rt", "special2"),
    0x20: Form("clz", "rd, rs", "special2"),
    0x21: Form("clo", "rd, rs", "special2"),
}

_BSHFL: dict[int, Form] = {
    0x02: Form("wsbh", "rd, rt", "special3"),
    0x10: Form("seb", "rd, rt", "special3"),
    0x18: Form("seh", "rd, rt", "special3"),
}

_COP1: dict[int, Form] = {
    0x00: Form("mfc1", "rt, fs", "fpu-move"),
    0x02: Form("cfc1", "rt, fcsr", "fpu-move"),  # fs = 31 only: see _decode
    0x04: Form("mtc1", "rt, fs", "fpu-move"),
    0x06: Form("ctc1", "rt, fcsr", "fpu-move"),
}

_OPCODES: dict[int, Form] = {
    0x02: Form("j", "index", "jump"),
    0x03: Form("jal", "index", "jump"),
    0x04: Form("beq", "rs, rt, target", "branch"),
    0x05: Form("bne", "rs, rt, target", "branch"),
    0x06: Form("blez", "rs, target", "branch"),
    0x07: Form("bgtz", "rs, target", "branch"),
    0x08: Form("addi", "rt, rs, simm", "alu-imm"),
    0x09: Form("addiu", "rt, rs, simm", "alu-imm"),
    0x0A: Form("slti", "rt, rs, simm", "alu-imm"),
    0x0B: Form("sltiu", "rt, rs, simm", "alu-imm"),
    0x0C: Form("andi", "rt, rs, uimm", "alu-imm"),
    0x0D: Form("ori", "rt, rs, uimm", "alu-imm"),
    0x0E: Form("xori", "rt, rs, uimm", "alu-imm"),
    0x0F: Form("lui", "rt, uimm", "alu-imm"),
    0x14: Form("beql", "rs, rt, target", "branch-likely"),
    0x15: Form("bnel", "rs, rt, target", "branch-likely"),
    0x16: Form("blezl", "rs, target", "branch-likely"),
    0x17: Form("bgtzl", "rs, target", "branch-likely"),
    0x20: Form("lb", "rt, offset(base)", "load"),
    0x21: Form("lh", "rt, offset(base)", "load"),
    0x22: Form("lwl", "rt, offset(base)", "load-unaligned"),
    0x23: Form("lw", "rt, offset(base)", "load"),
    0x24: Form("lbu", "rt, offset(base)", "load"),
    0x25: Form("lhu", "rt, offset(base)", "load"),
    0x26: Form("lwr", "rt, offset(base)", "load-unaligned"),
    0x28: Form("sb", "rt, offset(base)", "store"),
    0x29: Form("sh", "rt, offset(base)", "store"),
    0x2A: Form("swl", "rt, offset(base)", "store-unaligned"),
    0x2B: Form("sw", "rt, offset(base)", "store"),
    0x2E: Form("swr", "rt, offset(base)", "store-unaligned"),
    0x2F: Form("cache", "hint, offset(base)", "hint"),
    0x30: Form("ll", "rt, offset(base)", "ll-sc"),
    0x31: Form("lwc1", "ft, offset(base)", "fpu-memory"),
    0x33: Form("pref", "hint, offset(base)", "hint"),
    0x35: Form("ldc1", "ft, offset(base)", "fpu-memory"),
    0x38: Form("sc", "rt, offset(base)", "ll-sc"),
    0x39: Form("swc1", "ft, offset(base)", "fpu-memory"),
    0x3D: Form("sdc1", "ft, offset(base)", "fpu-memory"),
}


def _decode_special3(word: int) -> Form:
    funct, rd, sa = word & 63, _rd(word), _sa(word)
    if funct == 0x00:  # EXT: sa = lsb, rd = msbd
        return Form("ext", "ext", "special3") if sa + rd <= 31 else RESERVED
    if funct == 0x04:  # INS: sa = lsb, rd = msb
        return Form("ins", "ins", "special3") if rd >= sa else RESERVED
    if funct == 0x20:
        return _BSHFL.get(sa, RESERVED)
    if funct == 0x3B and rd == 29:
        return Form("rdhwr", "rt, $29", "special3")
    return RESERVED


def _decode(word: int) -> Form:
    """The table row of `word`; RESERVED for what the stepper rejects from fields alone."""
    word = u32(word)
    op = word >> 26
    if op == 0x00:
        if word == 0:
            return NOP
        funct = word & 63
        if funct == 0x02 and _rs(word) & 1:
            return Form("rotr", "rd, rt, sa", "shift")
        if funct == 0x06 and _sa(word) & 1:
            return Form("rotrv", "rd, rt, rs", "shift")
        return _SPECIAL.get(funct, RESERVED)
    if op == 0x01:
        return _REGIMM.get(_rt(word), RESERVED)
    if op == 0x11:
        form = _COP1.get(_rs(word), RESERVED)
        if form.operands == "rt, fcsr" and _rd(word) != 31:
            return RESERVED
        return form
    if op == 0x1C:
        return _SPECIAL2.get(word & 63, RESERVED)
    if op == 0x1F:
        return _decode_special3(word)
    form = _OPCODES.get(op, RESERVED)
    if op in (0x35, 0x3D) and _rt(word) & 1:  # LDC1/SDC1 need an even register pair
        return RESERVED
    return form


def mnemonic(word: int) -> str:
    """The instruction's name ("addiu", "rotr", "nop"); ".word" for a reserved encoding."""
    return _decode(word).mnemonic


def instruction_class(word: int) -> str:
    """One of `CLASSES`: the group a verifier handles the instruction in."""
    return _decode(word).cls


def disassemble(word: int, pc: int = 0) -> str:
    """One line of assembly for `word` fetched at `pc` (which places branch targets)."""
    form = _decode(word)
    if form is RESERVED:
        return f".word {u32(word):#010x}"
    operands = OPERANDS[form.operands](u32(word), u32(pc))
    return f"{form.mnemonic} {operands}" if operands else form.mnemonic
