"""MIPS32 instruction encoders and hypothesis strategies for random single steps.

Why a module of its own: two differential tests draw the same instructions, the
unicorn-vs-reference test (tests/test_differential_random.py) and the
EVM-vs-reference test (tests/test_verifier_random.py); one set of strategies
means both explore the same encodings and edge values.

Each family draws an `Insn`: a label, the instruction word and register pins
(register, value) that steer it (e.g. a load's base register into the data
page at DATA, or at a misaligned or kseg0/kseg1 alias of it).
"""

from __future__ import annotations

from hypothesis import strategies as st

from flexemu.isa.mips.bits import MASK32, sext16, u32
from flexemu.isa.mips.decode import is_delay_branch
from flexemu.isa.mips.step import _rs  # the spec's field extractor
from flexemu.merkle import PAGE_BYTES

CODE = 0x0040_0000
DATA = 0x1000_0000
KSEG2 = 0xC000_0000

ZERO, AT, V0, V1, A0, A1, A2, A3 = 0, 1, 2, 3, 4, 5, 6, 7
T0, T1, T2, T3, S0, S1, T9, RA = 8, 9, 10, 11, 16, 17, 25, 31

# ---------------------------------------------------------------- encoders


def r_type(funct: int, rs: int = 0, rt: int = 0, rd: int = 0, sa: int = 0) -> int:
    return (rs << 21) | (rt << 16) | (rd << 11) | (sa << 6) | funct


def i_type(op: int, rs: int, rt: int, imm: int) -> int:
    return (op << 26) | (rs << 21) | (rt << 16) | (imm & 0xFFFF)


def special2(funct: int, rs: int = 0, rt: int = 0, rd: int = 0) -> int:
    return (0x1C << 26) | r_type(funct, rs, rt, rd)


def special3(funct: int, rs: int = 0, rt: int = 0, rd: int = 0, sa: int = 0) -> int:
    return (0x1F << 26) | r_type(funct, rs, rt, rd, sa)


def regimm(code: int, rs: int, imm: int) -> int:
    return i_type(0x01, rs, code, imm)


def j_type(op: int, target: int) -> int:
    return (op << 26) | ((target >> 2) & 0x03FF_FFFF)


def effective_address(word: int, regs: list[int]) -> int:
    return u32(regs[_rs(word)] + sext16(word))


# ---------------------------------------------------------------- strategies

EDGES = (
    0, 1, 2, 3, 4, 31, 32, 33, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000,
    0x7FFF_FFFF, 0x8000_0000, 0x8000_0001, 0xFFFF_FFFE, 0xFFFF_FFFF,
)
values = st.one_of(
    st.sampled_from(EDGES),
    st.integers(0, 64),
    st.integers(0, MASK32),
    st.integers(DATA, DATA + PAGE_BYTES - 1),
)
reg = st.integers(0, 31)
small_reg = st.integers(0, 31) | st.sampled_from([T0, T1, A0])  # more aliasing
sa5 = st.integers(0, 31)
imm16 = st.integers(0, 0xFFFF)

Insn = tuple[str, int, tuple[tuple[int, int], ...]]  # label, word, (register, value) pins


def insn(label: str, words: st.SearchStrategy[int]) -> st.SearchStrategy[Insn]:
    return words.map(lambda w: (label, w, ()))


shifts = insn("shift", st.one_of(
    st.builds(lambda f, rt, rd, sa: r_type(f, 0, rt, rd, sa), st.sampled_from([0x00, 0x03]),
              reg, reg, sa5),
    st.builds(lambda rot, rt, rd, sa: r_type(0x02, rot, rt, rd, sa), st.integers(0, 1),
              reg, reg, sa5),  # SRL / ROTR
    st.builds(lambda f, rs, rt, rd: r_type(f, rs, rt, rd), st.sampled_from([0x04, 0x07]),
              reg, reg, reg),
    st.builds(lambda rot, rs, rt, rd: r_type(0x06, rs, rt, rd, rot), st.integers(0, 1),
              reg, reg, reg),  # SRLV / ROTRV
))
alu = insn("alu", st.builds(
    lambda f, rs, rt, rd: r_type(f, rs, rt, rd),
    st.sampled_from([0x0A, 0x0B, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B]),
    small_reg, small_reg, reg,
))
hilo = insn("hilo", st.one_of(
    st.builds(lambda f, rs, rt: r_type(f, rs, rt), st.sampled_from([0x18, 0x19, 0x1A, 0x1B]),
              small_reg, small_reg),
    st.builds(lambda f, rd: r_type(f, rd=rd), st.sampled_from([0x10, 0x12]), reg),
    st.builds(lambda f, rs: r_type(f, rs), st.sampled_from([0x11, 0x13]), reg),
))
mul2 = insn("special2", st.one_of(
    st.builds(lambda f, rs, rt: special2(f, rs, rt), st.sampled_from([0x00, 0x01, 0x04, 0x05]),
              small_reg, small_reg),
    st.builds(lambda rs, rt, rd: special2(0x02, rs, rt, rd), small_reg, small_reg, reg),
    st.builds(lambda f, rs, rd: special2(f, rs, rd, rd), st.sampled_from([0x20, 0x21]),
              reg, reg),  # CLZ/CLO: rt = rd
))


@st.composite
def bitfield(draw: st.DrawFn) -> int:
    rs, rt = draw(reg), draw(reg)
    lsb = draw(sa5)
    if draw(st.booleans()):  # EXT: size - 1 in rd, mostly valid
        msbd = draw(st.integers(0, 31 - lsb) if draw(st.integers(0, 9)) else sa5)
        return special3(0x00, rs, rt, msbd, lsb)
    msb = draw(st.integers(lsb, 31) if draw(st.integers(0, 9)) else sa5)  # INS
    return special3(0x04, rs, rt, msb, lsb)


bits3 = insn("special3", st.one_of(
    bitfield(),
    st.builds(lambda sa, rt, rd: special3(0x20, 0, rt, rd, sa),
              st.sampled_from([0x02, 0x10, 0x18]), reg, reg),  # WSBH SEB SEH
    st.builds(lambda rt: special3(0x3B, 0, rt, 29), reg),  # RDHWR $29
))
immediates = insn("immediate", st.builds(
    lambda op, rs, rt, imm: i_type(op, rs, rt, imm),
    st.integers(0x08, 0x0F), small_reg, reg,
    imm16 | st.sampled_from([0, 1, 0x7FFF, 0x8000, 0xFFFF]),
))
traps = insn("trap", st.one_of(
    st.builds(lambda f, rs, rt, code: r_type(f, rs, rt) | (code << 6),
              st.sampled_from([0x30, 0x31, 0x32, 0x33, 0x34, 0x36]), small_reg, small_reg,
              st.integers(0, 0x3FF)),
    st.builds(lambda code, rs, imm: regimm(code, rs, imm),
              st.sampled_from([0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0E]), reg,
              imm16 | st.sampled_from([0, 1, 0xFFFF, 0x8000])),
))
misc = insn("misc", st.one_of(
    st.just(0),  # NOP
    st.builds(lambda sa: r_type(0x0F, sa=sa), sa5),  # SYNC
    st.builds(lambda code: r_type(0x0D) | (code << 6), st.integers(0, 0xFFFFF)),  # BREAK
    st.builds(lambda rs, rt, imm: i_type(0x33, rs, rt, imm), reg, reg, imm16),  # PREF
    st.builds(lambda rs, imm: regimm(0x1F, rs, imm), reg, imm16),  # SYNCI
))


@st.composite
def memory_access(draw: st.DrawFn, label: str, ops: list[int]) -> Insn:
    """A load or store whose base register (pinned) mostly puts it in the data page."""
    op, rs, rt = draw(st.sampled_from(ops)), draw(reg), draw(reg)
    imm = draw(st.integers(-64, 64) | imm16) & 0xFFFF
    word = i_type(op, rs, rt, imm)
    if rs == 0 or draw(st.integers(0, 9)) == 0:
        return label, word, ()
    offset = draw(st.integers(0, PAGE_BYTES // 4 - 1)) * 4
    if draw(st.integers(0, 3)) == 0:
        offset += draw(st.integers(1, 3))  # misaligned (and LWL/LWR/SWL/SWR offsets)
    segment = draw(st.sampled_from([0, 0, 0, 0, 0x8000_0000, 0xA000_0000]))  # kseg0/1 aliases
    return label, word, ((rs, u32(segment + DATA + offset - sext16(imm))),)


loads = memory_access("load", [0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x30])
stores = memory_access("store", [0x28, 0x29, 0x2A, 0x2B, 0x2E, 0x38])
branch_offset = st.integers(-8, 16) | imm16
branches = insn("branch", st.one_of(
    st.builds(lambda op, rs, rt, imm: i_type(op, rs, rt, imm),
              st.sampled_from([0x04, 0x05, 0x14, 0x15]), small_reg, small_reg, branch_offset),
    st.builds(lambda op, rs, imm: i_type(op, rs, 0, imm),
              st.sampled_from([0x06, 0x07, 0x16, 0x17]), small_reg, branch_offset),
    st.builds(lambda code, rs, imm: regimm(code, rs, imm),
              st.sampled_from([0x00, 0x01, 0x02, 0x03, 0x10, 0x11, 0x12, 0x13]), reg,
              branch_offset),
    st.builds(lambda op, target: j_type(op, target), st.sampled_from([0x02, 0x03]),
              st.integers(0, 0x0FFF_FFFF) | st.integers(CODE, CODE + 64)),
))


@st.composite
def register_jump(draw: st.DrawFn) -> Insn:
    rs = draw(st.integers(1, 31))
    if draw(st.booleans()):
        word = r_type(0x08, rs)  # JR
    else:
        word = r_type(0x09, rs, rd=draw(st.sampled_from([RA, T9, 0]) | reg))  # JALR
    target = draw(st.one_of(
        st.integers(CODE // 4, CODE // 4 + 32).map(lambda k: k * 4),
        st.integers(0, 0x3FFF_FFFF).map(lambda k: k * 4),  # any aligned, kseg included
        st.sampled_from([0x0040_0002, 0x8040_0000, KSEG2, 0xFFFF_FFFC]),
    ))
    return "jump-register", word, ((rs, target),)


random_words = insn("random", st.integers(0, MASK32))


def pick(*families: st.SearchStrategy[Insn]) -> st.SearchStrategy[Insn]:
    """One of `families`, each equally likely (a repeated family counts twice)."""
    return st.sampled_from(families).flatmap(lambda family: family)


NON_BRANCH = (shifts, alu, hilo, mul2, bits3, immediates, traps, misc, loads, stores)
random_non_branch = insn("random", st.integers(0, MASK32).filter(lambda w: not is_delay_branch(w)))
non_branch = pick(*NON_BRANCH, loads, stores, random_non_branch)
instruction = pick(
    *NON_BRANCH, loads, stores, branches, branches, branches, register_jump(), random_words,
    random_words,
)
