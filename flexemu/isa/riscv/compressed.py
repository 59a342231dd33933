"""The C extension: every 16-bit form expanded to the 32-bit instruction it stands for.

A compressed instruction is one step that behaves exactly as its expansion,
except that the next pc (and the link of c.jal/c.jalr) is pc + 2. Reserved
encodings (c.addi4spn with a zero immediate, c.lwsp/c.ldsp to x0, c.jr x0,
c.addi16sp/c.lui with a zero immediate, c.addiw to x0, RV32 shifts with
shamt[5] set, an all-zero halfword, ...) expand to nothing and are illegal.
Hints (c.nop with an immediate, c.li/c.lui/c.mv/c.add/c.slli to x0, shifts by
0 on RV64) expand to their base instruction, which then has no effect or, for
shifts by 0, leaves the register as it is.
"""

from __future__ import annotations

from flexemu.isa.riscv.bits import bit, field, sext

SP = 2
RA = 1

# Encoders of the 32-bit formats (also used by tests to build instructions).


def i_type(opcode: int, funct3: int, rd: int, rs1: int, imm: int) -> int:
    return ((imm & 0xFFF) << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode


def r_type(opcode: int, funct3: int, funct7: int, rd: int, rs1: int, rs2: int) -> int:
    return (funct7 << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode


def s_type(opcode: int, funct3: int, rs1: int, rs2: int, imm: int) -> int:
    return (
        (field(imm, 11, 5) << 25)
        | (rs2 << 20)
        | (rs1 << 15)
        | (funct3 << 12)
        | (field(imm, 4, 0) << 7)
        | opcode
    )


def b_type(funct3: int, rs1: int, rs2: int, imm: int) -> int:
    return (
        (bit(imm, 12) << 31)
        | (field(imm, 10, 5) << 25)
        | (rs2 << 20)
        | (rs1 << 15)
        | (funct3 << 12)
        | (field(imm, 4, 1) << 8)
        | (bit(imm, 11) << 7)
        | 0x63
    )


def j_type(rd: int, imm: int) -> int:
    return (
        (bit(imm, 20) << 31)
        | (field(imm, 10, 1) << 21)
        | (bit(imm, 11) << 20)
        | (field(imm, 19, 12) << 12)
        | (rd << 7)
        | 0x6F
    )


def u_type(opcode: int, rd: int, imm: int) -> int:
    return (imm & 0xFFFFF000) | (rd << 7) | opcode


# Opcodes of the expansions.
LOAD, LOAD_FP, STORE, STORE_FP = 0x03, 0x07, 0x23, 0x27
OP_IMM, OP_IMM_32, OP, OP_32, LUI, JALR = 0x13, 0x1B, 0x33, 0x3B, 0x37, 0x67


def _prime(half: int, low: int) -> int:
    """A 3-bit register field rd'/rs1'/rs2' names x8..x15."""
    return 8 + field(half, low + 2, low)


def _imm6(half: int) -> int:
    """imm[5] = bit 12, imm[4:0] = bits 6:2, signed (c.addi, c.li, c.andi, c.addiw)."""
    return sext((bit(half, 12) << 5) | field(half, 6, 2), 6)


def _shamt(half: int) -> int:
    return (bit(half, 12) << 5) | field(half, 6, 2)


def _cl_word(half: int) -> int:
    """uimm[5:3] = bits 12:10, uimm[2] = bit 6, uimm[6] = bit 5 (c.lw, c.sw, c.flw, c.fsw)."""
    return (field(half, 12, 10) << 3) | (bit(half, 6) << 2) | (bit(half, 5) << 6)


def _cl_double(half: int) -> int:
    """uimm[5:3] = bits 12:10, uimm[7:6] = bits 6:5 (c.ld, c.sd, c.fld, c.fsd)."""
    return (field(half, 12, 10) << 3) | (field(half, 6, 5) << 6)


def _lwsp(half: int) -> int:
    """uimm[5] = bit 12, uimm[4:2] = bits 6:4, uimm[7:6] = bits 3:2."""
    return (bit(half, 12) << 5) | (field(half, 6, 4) << 2) | (field(half, 3, 2) << 6)


def _ldsp(half: int) -> int:
    """uimm[5] = bit 12, uimm[4:3] = bits 6:5, uimm[8:6] = bits 4:2."""
    return (bit(half, 12) << 5) | (field(half, 6, 5) << 3) | (field(half, 4, 2) << 6)


def _swsp(half: int) -> int:
    """uimm[5:2] = bits 12:9, uimm[7:6] = bits 8:7."""
    return (field(half, 12, 9) << 2) | (field(half, 8, 7) << 6)


def _sdsp(half: int) -> int:
    """uimm[5:3] = bits 12:10, uimm[8:6] = bits 9:7."""
    return (field(half, 12, 10) << 3) | (field(half, 9, 7) << 6)


def _cj(half: int) -> int:
    """The c.j / c.jal offset: imm[11|4|9:8|10|6|7|3:1|5] in bits 12:2."""
    value = (
        (bit(half, 12) << 11)
        | (bit(half, 11) << 4)
        | (field(half, 10, 9) << 8)
        | (bit(half, 8) << 10)
        | (bit(half, 7) << 6)
        | (bit(half, 6) << 7)
        | (field(half, 5, 3) << 1)
        | (bit(half, 2) << 5)
    )
    return sext(value, 12)


def _cb(half: int) -> int:
    """The c.beqz / c.bnez offset: imm[8|4:3] in bits 12:10, imm[7:6|2:1|5] in bits 6:2."""
    value = (
        (bit(half, 12) << 8)
        | (field(half, 11, 10) << 3)
        | (field(half, 6, 5) << 6)
        | (field(half, 4, 3) << 1)
        | (bit(half, 2) << 5)
    )
    return sext(value, 9)


def expand(half: int, xlen: int) -> tuple[str, int] | None:
    """(compressed mnemonic, the 32-bit expansion) of a 16-bit instruction, None if reserved."""
    quadrant = half & 3
    funct3 = field(half, 15, 13)
    if quadrant == 0:
        return _quadrant0(half, funct3, xlen)
    if quadrant == 1:
        return _quadrant1(half, funct3, xlen)
    return _quadrant2(half, funct3, xlen)


def _quadrant0(half: int, funct3: int, xlen: int) -> tuple[str, int] | None:
    rd, rs1 = _prime(half, 2), _prime(half, 7)
    if funct3 == 0:
        nzuimm = (
            (field(half, 12, 11) << 4)
            | (field(half, 10, 7) << 6)
            | (bit(half, 6) << 2)
            | (bit(half, 5) << 3)
        )
        if nzuimm == 0:
            return None
        return "c.addi4spn", i_type(OP_IMM, 0, rd, SP, nzuimm)
    forms = {
        1: ("c.fld", LOAD_FP, 3, _cl_double),
        2: ("c.lw", LOAD, 2, _cl_word),
        3: ("c.flw", LOAD_FP, 2, _cl_word) if xlen == 32 else ("c.ld", LOAD, 3, _cl_double),
        5: ("c.fsd", STORE_FP, 3, _cl_double),
        6: ("c.sw", STORE, 2, _cl_word),
        7: ("c.fsw", STORE_FP, 2, _cl_word) if xlen == 32 else ("c.sd", STORE, 3, _cl_double),
    }
    if funct3 not in forms:
        return None
    name, opcode, width, offset = forms[funct3]
    if opcode in (LOAD, LOAD_FP):
        return name, i_type(opcode, width, rd, rs1, offset(half))
    return name, s_type(opcode, width, rs1, rd, offset(half))


def _quadrant1(half: int, funct3: int, xlen: int) -> tuple[str, int] | None:
    rd = field(half, 11, 7)
    if funct3 == 0:
        return ("c.nop" if rd == 0 else "c.addi"), i_type(OP_IMM, 0, rd, rd, _imm6(half))
    if funct3 == 1:
        if xlen == 32:
            return "c.jal", j_type(RA, _cj(half))
        if rd == 0:
            return None
        return "c.addiw", i_type(OP_IMM_32, 0, rd, rd, _imm6(half))
    if funct3 == 2:
        return "c.li", i_type(OP_IMM, 0, rd, 0, _imm6(half))
    if funct3 == 3:
        if rd == SP:
            nzimm = sext(
                (bit(half, 12) << 9)
                | (bit(half, 6) << 4)
                | (bit(half, 5) << 6)
                | (field(half, 4, 3) << 7)
                | (bit(half, 2) << 5),
                10,
            )
            if nzimm == 0:
                return None
            return "c.addi16sp", i_type(OP_IMM, 0, SP, SP, nzimm)
        if _imm6(half) == 0:
            return None
        return "c.lui", u_type(LUI, rd, _imm6(half) << 12)
    if funct3 == 4:
        return _misc_alu(half, xlen)
    if funct3 == 5:
        return "c.j", j_type(0, _cj(half))
    rs1 = _prime(half, 7)
    return ("c.beqz" if funct3 == 6 else "c.bnez"), b_type(funct3 - 6, rs1, 0, _cb(half))


def _misc_alu(half: int, xlen: int) -> tuple[str, int] | None:
    rd = _prime(half, 7)
    kind = field(half, 11, 10)
    if kind in (0, 1):
        shamt = _shamt(half)
        if xlen == 32 and shamt >= 32:
            return None
        funct6 = 0x10 if kind == 1 else 0  # srai sets bit 30
        word = i_type(OP_IMM, 5, rd, rd, (funct6 << 6) | shamt)
        return ("c.srai" if kind == 1 else "c.srli"), word
    if kind == 2:
        return "c.andi", i_type(OP_IMM, 7, rd, rd, _imm6(half))
    rs2 = _prime(half, 2)
    op = field(half, 6, 5)
    if not bit(half, 12):
        name, funct3, funct7 = (
            ("c.sub", 0, 0x20),
            ("c.xor", 4, 0),
            ("c.or", 6, 0),
            ("c.and", 7, 0),
        )[op]
        return name, r_type(OP, funct3, funct7, rd, rd, rs2)
    if xlen == 32 or op >= 2:
        return None
    name, funct7 = (("c.subw", 0x20), ("c.addw", 0))[op]
    return name, r_type(OP_32, 0, funct7, rd, rd, rs2)


def _quadrant2(half: int, funct3: int, xlen: int) -> tuple[str, int] | None:
    rd = field(half, 11, 7)
    rs2 = field(half, 6, 2)
    if funct3 == 0:
        shamt = _shamt(half)
        if xlen == 32 and shamt >= 32:
            return None
        return "c.slli", i_type(OP_IMM, 1, rd, rd, shamt)
    if funct3 == 1:
        return "c.fldsp", i_type(LOAD_FP, 3, rd, SP, _ldsp(half))
    if funct3 == 2:
        return None if rd == 0 else ("c.lwsp", i_type(LOAD, 2, rd, SP, _lwsp(half)))
    if funct3 == 3:
        if xlen == 32:
            return "c.flwsp", i_type(LOAD_FP, 2, rd, SP, _lwsp(half))
        return None if rd == 0 else ("c.ldsp", i_type(LOAD, 3, rd, SP, _ldsp(half)))
    if funct3 == 4:
        return _jump_move_add(half, rd, rs2)
    if funct3 == 5:
        return "c.fsdsp", s_type(STORE_FP, 3, SP, rs2, _sdsp(half))
    if funct3 == 6:
        return "c.swsp", s_type(STORE, 2, SP, rs2, _swsp(half))
    if xlen == 32:
        return "c.fswsp", s_type(STORE_FP, 2, SP, rs2, _swsp(half))
    return "c.sdsp", s_type(STORE, 3, SP, rs2, _sdsp(half))


def _jump_move_add(half: int, rd: int, rs2: int) -> tuple[str, int] | None:
    if not bit(half, 12):
        if rs2 == 0:
            return None if rd == 0 else ("c.jr", i_type(JALR, 0, 0, rd, 0))
        return "c.mv", r_type(OP, 0, 0, rd, 0, rs2)
    if rs2 == 0:
        if rd == 0:
            return "c.ebreak", 0x00100073
        return "c.jalr", i_type(JALR, 0, RA, rd, 0)
    return "c.add", r_type(OP, 0, 0, rd, rd, rs2)
