"""The Solidity verifier on py-evm against the reference stepper, one instruction at a time.

Why: an honest party wins a dispute only if the on-chain step of the one
disputed instruction yields exactly the post-state the reference (the
executable spec) yields; any difference is a consensus bug. Every example here
builds a pre-state, lets the reference take the step over full memory (which
gives the witness, the leaf proofs and the expected post-state hash), and
requires `stepFrom` on the deployed MipsVerifier to return that same hash.

- `test_random_step`: hypothesis draws an instruction from the families shared
  with the unicorn differential test (tests/instruction_strategies.py) plus
  FPU data moves, CACHE, syscalls, odd register-jump targets, accesses in kseg2
  and in the instruction's own leaf; random registers, HI/LO, FPU registers,
  LL reservation, a random data page; a pc that is mostly plain but sometimes
  a kseg0/kseg1 alias (fetch through kseg0), nullified (bit 0), misaligned or
  in kseg2; sometimes a delay-slot context (next_pc != pc + 4) and sometimes a
  terminal state. Besides the hash, the EVM must consume exactly the proof the
  reference produced: one leaf proof less is ProofTruncated, one more is
  ProofOversized.
- The sweeps make coverage certain where chance would not: every major opcode
  and every function code of SPECIAL, REGIMM, SPECIAL2, SPECIAL3 and COP1;
  every load and store at byte offsets 0..7 in kuseg, kseg0, kseg1 and kseg2;
  every branch and jump taken, not taken and in a delay slot.

FLEXEMU_VERIFIER_EXAMPLES=N sets the number of random examples (default 160);
the `slow` variant runs 4000.
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from instruction_strategies import (
    A0,
    NON_BRANCH,
    RA,
    T0,
    T1,
    T2,
    V0,
    branches,
    i_type,
    imm16,
    insn,
    memory_access,
    pick,
    r_type,
    random_words,
    reg,
    regimm,
    register_jump,
    special3,
    values,
)
from step_cases import (
    CODE,
    DATA,
    KSEG0,
    KSEG1,
    KSEG2,
    StepCase,
    Verifier,
    assert_evm_agrees,
    assert_exact_proof,
    deploy_verifier,
    prove,
    python_outcome,
)

from flexemu.isa.mips.bits import MASK32, sext16, u32
from flexemu.isa.mips.state import NO_RESERVATION, State, Status
from flexemu.merkle import PAGE_BYTES

EXAMPLES = int(os.environ.get("FLEXEMU_VERIFIER_EXAMPLES") or 160)
SLOW_EXAMPLES = 4000

LOADS = (0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x30)  # LB LH LWL LW LBU LHU LWR LL
STORES = (0x28, 0x29, 0x2A, 0x2B, 0x2E, 0x38)  # SB SH SWL SW SWR SC
FPU_MEMORY = (0x31, 0x35, 0x39, 0x3D)  # LWC1 LDC1 SWC1 SDC1
ACCESSES = LOADS + STORES + FPU_MEMORY
SYSCALL_NUMBERS = (4001, 4003, 4004, 4020, 4045, 4090, 4091, 4125, 4210, 4218, 4222, 4246,
                   4252, 4283)


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return deploy_verifier()


# ---------------------------------------------------------------- strategies


def cop1(fmt: int, rt: int, fs: int, low: int = 0) -> int:
    return (0x11 << 26) | (fmt << 21) | (rt << 16) | (fs << 11) | (low & 0x7FF)


fpu_moves = insn("fpu-move", st.builds(
    cop1,
    st.sampled_from([0x00, 0x02, 0x04, 0x06]) | st.integers(0, 31),  # MFC1 CFC1 MTC1 CTC1
    reg, st.sampled_from([31]) | reg, st.integers(0, 0x7FF) | st.just(0),
))
fpu_memory = memory_access("fpu-memory", list(FPU_MEMORY))
cache = insn("misc", st.builds(lambda rs, rt, imm: i_type(0x2F, rs, rt, imm), reg, reg, imm16))


@st.composite
def pinned_access(draw: st.DrawFn, label: str, addresses: st.SearchStrategy[int]) -> tuple:
    """Any load or store whose effective address is drawn from `addresses`."""
    op, rs, rt = draw(st.sampled_from(ACCESSES)), draw(st.integers(1, 31)), draw(reg)
    imm = draw(st.integers(-8, 8) | imm16) & 0xFFFF
    address = draw(addresses)
    return label, i_type(op, rs, rt, imm), ((rs, u32(address - sext16(imm))),)


kernel_access = pinned_access(
    "kseg2-access",
    st.sampled_from([KSEG2, KSEG2 + 1, KSEG2 + 4, 0xDFFF_FFF8, 0xFFFF_FFFC, 0xFFFF_FFFF])
    | st.integers(KSEG2, MASK32),
)
own_leaf_access = pinned_access(  # the access reuses (or sits next to) the fetch's leaf proof
    "own-leaf-access",
    st.integers(CODE - 8, CODE + 40) | st.integers(KSEG0 + CODE - 8, KSEG0 + CODE + 40),
)


@st.composite
def odd_jump(draw: st.DrawFn) -> tuple:
    rs = draw(st.integers(1, 31))
    word = r_type(0x08, rs) if draw(st.booleans()) else r_type(0x09, rs, rd=draw(reg))
    target = draw(st.integers(0, MASK32 >> 1)) * 2 + 1
    return "jump-register", word, ((rs, target),)


@st.composite
def syscalls(draw: st.DrawFn) -> tuple:
    number = draw(st.sampled_from(SYSCALL_NUMBERS) | st.integers(3990, 4300) | values)
    buffer = draw(
        st.integers(DATA, DATA + PAGE_BYTES - 1)
        | st.integers(KSEG0 + DATA, KSEG0 + DATA + 64)
        | st.integers(KSEG2, MASK32)
        | values
    )
    fd = draw(st.sampled_from([0, 1, 2]) | values)
    count = draw(st.sampled_from([0, 1, 4, 31, 32, 33, 4096, MASK32]) | values)
    code = draw(st.integers(0, 0xFFFFF))
    return "syscall", r_type(0x0C) | (code << 6), ((V0, number), (4, fd), (5, buffer), (6, count))


verifier_instruction = pick(
    *NON_BRANCH, branches, branches, register_jump(), random_words, random_words,
    fpu_moves, fpu_memory, cache, kernel_access, own_leaf_access, odd_jump(), syscalls(),
)

# Where the step fetches from: mostly the plain address, but kseg0/kseg1 aliases of it,
# a nullified slot (bit 0), a misaligned or a kseg2 pc, and an arbitrary one.
UNUSUAL_PCS = st.one_of(
    st.sampled_from([KSEG0 + CODE, KSEG1 + CODE]),
    st.sampled_from([CODE + 1, CODE + 2, CODE + 3, KSEG0 + CODE + 1]),
    st.sampled_from([KSEG2, KSEG2 + CODE, 0xFFFF_FFFC]),
    st.integers(0, MASK32 >> 2).map(lambda k: k * 4),
)


@st.composite
def step_cases(draw: st.DrawFn) -> tuple[str, StepCase]:
    label, word, pins = draw(verifier_instruction)
    regs = dict(enumerate(draw(st.lists(values, min_size=31, max_size=31)), start=1))
    regs.update((number, value) for number, value in pins if number)
    pc = draw(UNUSUAL_PCS) if draw(st.integers(0, 4)) == 0 else CODE
    next_pc = u32((pc & ~3) + 4)
    if draw(st.integers(0, 7)) == 0:  # the delay slot of a taken branch (or any next_pc)
        next_pc = draw(st.integers(0, MASK32) | st.sampled_from([CODE + 0x40, pc]))
    data = random.Random(draw(st.integers(0, MASK32))).randbytes(PAGE_BYTES)
    fields: dict[str, object] = {
        "hi": draw(values), "lo": draw(values), "tls": draw(values),
        "fcsr": draw(values), "fpr": draw(st.lists(values, min_size=32, max_size=32)),
        "brk": draw(values), "mmap_next": draw(values), "step": draw(st.integers(0, 2**63)),
        "output_hash": draw(st.binary(min_size=32, max_size=32)),
    }
    if label in ("load", "store", "fpu-memory", "own-leaf-access") and draw(st.booleans()):
        address = u32(regs.get((word >> 21) & 31, 0) + sext16(word)) if (word >> 21) & 31 else 0
        physical = address & 0x1FFF_FFFF if KSEG0 <= address < KSEG2 else address
        offset = (physical - DATA) & ~3
        current = int.from_bytes(data[offset : offset + 4], "big") if offset < PAGE_BYTES else 0
        fields["ll_addr"], fields["ll_value"] = address, draw(st.just(current) | values)
    elif draw(st.integers(0, 3)) == 0:
        fields["ll_addr"], fields["ll_value"] = draw(values), draw(values)
    else:
        fields["ll_addr"], fields["ll_value"] = NO_RESERVATION, 0
    stdin = draw(st.binary(max_size=80))
    fields["input_pos"] = draw(st.integers(0, len(stdin) + 2))
    fields["exit_code"] = draw(st.just(0) | st.integers(0, 255))  # running: any left-over
    if draw(st.integers(0, 24)) == 0:  # a terminal state: a fixed point with an empty proof
        fields["status"] = draw(st.sampled_from([Status.EXITED, Status.PANICKED]))
    words = [word, draw(st.integers(0, MASK32))]
    case = StepCase(words, pc, next_pc, regs, {DATA: data}, stdin, fields)
    return label, case


# ---------------------------------------------------------------- the property


def check_random_step(verifier: Verifier, drawn: tuple[str, StepCase]) -> None:
    label, case = drawn
    proven = prove(case)
    post = proven.post
    outcome = ("panic " + str(post.exit_code)) if post.status == Status.PANICKED else "ok"
    event(f"{label}: {outcome}, {proven.leaf_count} leaf(s) proven")
    assert_evm_agrees(verifier, proven, (label, case))
    assert_exact_proof(verifier, proven)


SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@settings(max_examples=EXAMPLES, **SETTINGS)
@given(drawn=step_cases())
def test_random_step(verifier: Verifier, drawn: tuple[str, StepCase]) -> None:
    check_random_step(verifier, drawn)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, **SETTINGS)
@given(drawn=step_cases())
def test_random_step_many(verifier: Verifier, drawn: tuple[str, StepCase]) -> None:
    check_random_step(verifier, drawn)


# ---------------------------------------------------------------- every encoding

# Registers every sweep starts from: distinct values so that a wrong operand shows.
SWEEP_REGS = {
    1: 0x0000_0001, 2: 0x0000_0FA3, 3: 0xFFFF_FFFF, A0: DATA + 0x40, 5: DATA + 0x23,
    6: 0x0000_0021, 7: 0x8000_0000, T0: 0x8765_4321, T1: 0x0000_0009, T2: 0x7FFF_FFFF,
    16: 0x1234_5678, 29: 0x7FFE_FF00, RA: CODE + 0x100,
}
SWEEP_DATA = random.Random("flexemu verifier sweep").randbytes(PAGE_BYTES)
SWEEP_FIELDS = {
    "hi": 0x1357_9BDF, "lo": 0x2468_ACE0, "tls": 0x7765_4321, "fcsr": 0x0000_0F83,
    "fpr": [0x3F80_0000 + 0x111 * i for i in range(32)], "brk": 0x0050_0000,
    "mmap_next": 0x4000_0000, "ll_addr": DATA + 0x50, "ll_value": 0,
}


def sweep_case(word: int, regs: dict[int, int] | None = None,
               fields: dict[str, object] | None = None, pc: int = CODE,
               next_pc: int | None = None) -> StepCase:
    """`word` at pc over the sweep's registers, fields and data page, with changes."""
    return StepCase([word, 0], pc, next_pc, {**SWEEP_REGS, **(regs or {})}, {DATA: SWEEP_DATA},
                    fields={**SWEEP_FIELDS, **(fields or {})})


def _encodings() -> list[tuple[str, int]]:
    r_low = (T1 << 11) | (3 << 6)  # rd = t1, sa = 3
    words = [(f"op {op:#04x}", (op << 26) | (A0 << 21) | (T0 << 16) | 0x0010) for op in range(64)]
    words += [(f"special {f:#04x}", (A0 << 21) | (T0 << 16) | r_low | f) for f in range(64)]
    words += [(f"regimm {rt:#04x}", regimm(rt, T0, 4)) for rt in range(32)]
    words += [(f"special2 {f:#04x}", (0x1C << 26) | (A0 << 21) | (T0 << 16) | r_low | f)
              for f in range(64)]
    words += [(f"special3 {f:#04x}", special3(f, A0, T0, T1, 3)) for f in range(64)]
    words += [(f"cop1 fmt {fmt:#04x}", cop1(fmt, T0, 31, 0x3C)) for fmt in range(32)]
    words += [
        ("cfc1 fs=5", cop1(0x02, T0, 5)), ("ctc1 fs=5", cop1(0x06, T0, 5)),
        ("mfc1 f7", cop1(0x00, T0, 7)), ("mtc1 f7", cop1(0x04, T0, 7)),
        ("wsbh", special3(0x20, 0, T0, T2, 0x02)), ("seb", special3(0x20, 0, T0, T2, 0x10)),
        ("seh", special3(0x20, 0, T0, T2, 0x18)),
        ("bshfl sa=0x12", special3(0x20, 0, T0, T2, 0x12)),
        ("rdhwr $29", special3(0x3B, 0, T0, 29)), ("rdhwr $2", special3(0x3B, 0, T0, 2)),
        ("ext lsb+msbd=31", special3(0x00, A0, T0, 27, 4)),
        ("ext lsb+msbd=32", special3(0x00, A0, T0, 28, 4)),
        ("ext 32 bits", special3(0x00, T0, T2, 31, 0)),
        ("ins msb=lsb", special3(0x04, T0, T2, 9, 9)),
        ("ins msb<lsb", special3(0x04, T0, T2, 8, 9)),
        ("ins 32 bits", special3(0x04, T0, T2, 31, 0)),
        ("rotr 0", r_type(0x02, 1, T0, T2, 0)), ("rotr 31", r_type(0x02, 1, T0, T2, 31)),
        ("srl rs=2", r_type(0x02, 2, T0, T2, 5)),  # bit 21 clear: SRL whatever rs says
        ("rotrv by 0x21", r_type(0x06, 6, T0, T2, 1)), ("srlv sa=2", r_type(0x06, 6, T0, T2, 2)),
        ("write $0", r_type(0x21, T0, T1, 0)), ("lui $0", i_type(0x0F, 0, 0, 0x1234)),
        ("lw into $0", i_type(0x23, A0, 0, 0x10)),
    ]
    return words


ENCODINGS = _encodings()


@pytest.mark.parametrize("word", [w for _, w in ENCODINGS], ids=[n for n, _ in ENCODINGS])
def test_every_encoding(verifier: Verifier, word: int) -> None:
    proven = prove(sweep_case(word))
    assert_evm_agrees(verifier, proven, f"{word:#010x}")


INT_MIN = 0x8000_0000
ARITHMETIC_EDGES = [
    ("div by 0", r_type(0x1A, T0, T1), {T0: 1234, T1: 0}),
    ("div INT_MIN/-1", r_type(0x1A, T0, T1), {T0: INT_MIN, T1: MASK32}),
    ("div -7/2", r_type(0x1A, T0, T1), {T0: u32(-7), T1: 2}),
    ("div 7/-2", r_type(0x1A, T0, T1), {T0: 7, T1: u32(-2)}),
    ("div -7/-2", r_type(0x1A, T0, T1), {T0: u32(-7), T1: u32(-2)}),
    ("div INT_MIN/1", r_type(0x1A, T0, T1), {T0: INT_MIN, T1: 1}),
    ("div INT_MIN/INT_MIN", r_type(0x1A, T0, T1), {T0: INT_MIN, T1: INT_MIN}),
    ("divu by 0", r_type(0x1B, T0, T1), {T0: 1234, T1: 0}),
    ("divu INT_MIN/-1", r_type(0x1B, T0, T1), {T0: INT_MIN, T1: MASK32}),
    ("mult -1*-1", r_type(0x18, T0, T1), {T0: MASK32, T1: MASK32}),
    ("mult INT_MIN^2", r_type(0x18, T0, T1), {T0: INT_MIN, T1: INT_MIN}),
    ("multu max^2", r_type(0x19, T0, T1), {T0: MASK32, T1: MASK32}),
    ("madd wraps", (0x1C << 26) | r_type(0x00, T0, T1), {T0: INT_MIN, T1: INT_MIN}),
    ("msub wraps", (0x1C << 26) | r_type(0x04, T0, T1), {T0: MASK32, T1: 1}),
    ("msubu wraps", (0x1C << 26) | r_type(0x05, T0, T1), {T0: MASK32, T1: MASK32}),
    ("maddu wraps", (0x1C << 26) | r_type(0x01, T0, T1), {T0: MASK32, T1: MASK32}),
    ("mul INT_MIN*-1", (0x1C << 26) | r_type(0x02, T0, T1, T2), {T0: INT_MIN, T1: MASK32}),
    ("clz 0", (0x1C << 26) | r_type(0x20, T0, T2, T2), {T0: 0}),
    ("clo -1", (0x1C << 26) | r_type(0x21, T0, T2, T2), {T0: MASK32}),
    ("add overflow", r_type(0x20, T0, T1, T2), {T0: 0x7FFF_FFFF, T1: 1}),
    ("add -1 + INT_MIN", r_type(0x20, T0, T1, T2), {T0: MASK32, T1: INT_MIN}),
    ("sub overflow", r_type(0x22, T0, T1, T2), {T0: INT_MIN, T1: 1}),
    ("sub INT_MIN - INT_MIN", r_type(0x22, T0, T1, T2), {T0: INT_MIN, T1: INT_MIN}),
    ("addi overflow", i_type(0x08, T0, T2, 0x7FFF), {T0: 0x7FFF_FFFF}),
    ("addi -1 underflow", i_type(0x08, T0, T2, 0xFFFF), {T0: INT_MIN}),
    ("sltiu -1", i_type(0x0B, T0, T2, 0xFFFF), {T0: 0xFFFF_FFFE}),
    ("slti -1", i_type(0x0A, T0, T2, 0xFFFF), {T0: INT_MIN}),
    ("sra 31", r_type(0x03, 0, T0, T2, 31), {T0: INT_MIN}),
    ("srav by 63", r_type(0x07, T1, T0, T2), {T0: INT_MIN, T1: 63}),
    ("sllv by 32", r_type(0x04, T1, T0, T2), {T0: 1, T1: 32}),
    ("tge -1 >= 1", r_type(0x30, T0, T1), {T0: MASK32, T1: 1}),
    ("tgeu -1 >= 1", r_type(0x31, T0, T1), {T0: MASK32, T1: 1}),
    ("tlt", r_type(0x32, T0, T1), {T0: MASK32, T1: 1}),
    ("tltu", r_type(0x33, T0, T1), {T0: MASK32, T1: 1}),
    ("teq", r_type(0x34, T0, T1) | (7 << 6), {T0: 0, T1: 0}),
    ("tne", r_type(0x36, T0, T1), {T0: 0, T1: 0}),
    ("tgei -1 >= -1", regimm(0x08, T0, 0xFFFF), {T0: MASK32}),
    ("tgeiu big", regimm(0x09, T0, 0x8000), {T0: 0xFFFF_8000}),
    ("tltiu big", regimm(0x0B, T0, 0x8000), {T0: 0xFFFF_7FFF}),
    ("tlti", regimm(0x0A, T0, 0), {T0: INT_MIN}),
    ("teqi -1", regimm(0x0C, T0, 0xFFFF), {T0: MASK32}),
    ("tnei", regimm(0x0E, T0, 5), {T0: 5}),
    ("break", r_type(0x0D) | (0xFFFFF << 6), {}),
]


@pytest.mark.parametrize(("word", "regs"), [(w, r) for _, w, r in ARITHMETIC_EDGES],
                         ids=[n for n, _, _ in ARITHMETIC_EDGES])
def test_arithmetic_edge(verifier: Verifier, word: int, regs: dict[int, int]) -> None:
    assert_evm_agrees(verifier, prove(sweep_case(word, regs)), f"{word:#010x}")


# ---------------------------------------------------------------- every access at every offset

SEGMENTS = {"kuseg": 0, "kseg0": KSEG0, "kseg1": KSEG1}


def _access_cases() -> list[tuple[str, int, int, int, bool]]:
    """(id, op, address, rt, LL reservation at the address) for every access and offset."""
    cases = []
    for op in ACCESSES:
        for reserved in (False, True) if op in (0x30, 0x38) else (False,):
            tag = f"op{op:#04x}{'-ll' if reserved else ''}"
            for segment, base in SEGMENTS.items():
                for offset in range(8) if segment == "kuseg" else (0, 3, 6):
                    address = base + DATA + 0x38 + offset
                    cases.append((f"{tag}-{segment}+{offset}", op, address, T0, reserved))
            cases.append((f"{tag}-kseg2", op, KSEG2 + DATA, T0, reserved))
            cases.append((f"{tag}-kseg2+3", op, 0xFFFF_FFFF - 4, T0, reserved))
            cases.append((f"{tag}-leaf-end", op, DATA + 0x1C, T0, reserved))
    for op in (0x35, 0x3D):  # LDC1/SDC1 with an odd register
        cases.append((f"op{op:#04x}-odd-ft", op, DATA + 0x40, T1, False))
    return cases


@pytest.mark.parametrize(("reservation", "address"), [
    (KSEG0 + DATA + 0x40, DATA + 0x40),  # the reservation is virtual: an alias does not match
    (DATA + 0x40, KSEG1 + DATA + 0x40),
    (KSEG0 + DATA + 0x40, KSEG0 + DATA + 0x40),
    (KSEG2 + 0x40, KSEG2 + 0x40),  # matches, then the access panics
])
def test_store_conditional_aliases(verifier: Verifier, reservation: int, address: int) -> None:
    fields = {"ll_addr": reservation, "ll_value": _word_at(address & 0x1FFF_FFFF)}
    case = sweep_case(i_type(0x38, 5, T0, 0), {5: address}, fields)
    assert_evm_agrees(verifier, prove(case), (hex(reservation), hex(address)))


ACCESS_CASES = _access_cases()


@pytest.mark.parametrize(("op", "address", "rt", "reserved"), [c[1:] for c in ACCESS_CASES],
                         ids=[c[0] for c in ACCESS_CASES])
def test_every_access_offset(verifier: Verifier, op: int, address: int, rt: int,
                             reserved: bool) -> None:
    word = i_type(op, 5, rt, 0xFFFC)  # base a1, offset -4
    regs = {5: address + 4}
    fields = {"ll_addr": address, "ll_value": _word_at(address)} if reserved else {}
    assert_evm_agrees(verifier, prove(sweep_case(word, regs, fields=fields)), hex(word))


def _word_at(address: int) -> int:
    offset = ((address & 0x1FFF_FFFF) - DATA) & ~3
    return int.from_bytes(SWEEP_DATA[offset : offset + 4], "big")


# ---------------------------------------------------------------- control flow

BRANCHES = {
    "beq": i_type(0x04, T0, T1, 8), "bne": i_type(0x05, T0, T1, 8),
    "blez": i_type(0x06, T0, 0, 8), "bgtz": i_type(0x07, T0, 0, 0xFFF0),
    "beql": i_type(0x14, T0, T1, 8), "bnel": i_type(0x15, T0, T1, 8),
    "blezl": i_type(0x16, T0, 0, 8), "bgtzl": i_type(0x17, T0, 0, 0x8000),
    "bltz": regimm(0x00, T0, 8), "bgez": regimm(0x01, T0, 8),
    "bltzl": regimm(0x02, T0, 8), "bgezl": regimm(0x03, T0, 8),
    "bltzal": regimm(0x10, T0, 8), "bgezal": regimm(0x11, T0, 8),
    "bltzall": regimm(0x12, T0, 8), "bgezall": regimm(0x13, T0, 8),
    "bgezal ra": regimm(0x11, RA, 8),
    "j": (0x02 << 26) | 0x03FF_FFFF, "jal": (0x03 << 26) | 0x10_0040,
    "jr": r_type(0x08, T0), "jalr": r_type(0x09, T0, rd=RA), "jalr rd=rs": r_type(0x09, T0, rd=T0),
    "jalr rd=0": r_type(0x09, T0, rd=0),
}
# T0 = T1 = 8: beq taken; negative: bltz taken; zero: blez/bgez taken; odd for JR.
OPERANDS = {
    "positive": {T0: CODE + 0x80, T1: CODE + 0x80},
    "negative": {T0: 0x8040_0080, T1: 5},
    "zero": {T0: 0, T1: 0},
    "odd": {T0: CODE + 0x81, T1: 1},
    "kseg2": {T0: KSEG2 + 0x40, T1: KSEG2 + 0x40},
}
CONTEXTS: dict[str, dict[str, int]] = {
    "plain": {},
    "delay-slot": {"next_pc": CODE + 0x200},
}
# Where the target and link arithmetic wraps or changes region: with one set of operands.
PLACES: dict[str, dict[str, int]] = {
    "kseg0": {"pc": KSEG0 + CODE},
    "top-of-kuseg": {"pc": 0x7FFF_FFFC},  # pc + 4 and pc + 8 cross into kseg0
    "region-end": {"pc": 0x8FFF_FFFC},  # J takes its region from pc + 4
    "address-0": {"pc": 0},  # a backward branch wraps below 0
}
BRANCH_CASES = [
    *((b, o, c, CONTEXTS[c]) for b in BRANCHES for o in OPERANDS for c in CONTEXTS),
    *((b, "positive", c, PLACES[c]) for b in BRANCHES for c in PLACES),
]


@pytest.mark.parametrize(("branch", "operands", "where"),
                         [(b, o, w) for b, o, _, w in BRANCH_CASES],
                         ids=[f"{b}-{o}-{c}" for b, o, c, _ in BRANCH_CASES])
def test_branch(verifier: Verifier, branch: str, operands: str, where: dict[str, int]) -> None:
    case = sweep_case(BRANCHES[branch], OPERANDS[operands], **where)
    assert_evm_agrees(verifier, prove(case), (branch, operands, where))


@pytest.mark.parametrize(
    ("pc", "next_pc"),
    [(CODE + 1, CODE + 4), (CODE + 5, CODE + 8), (CODE + 3, KSEG2), (0xFFFF_FFFD, 0xFFFF_FFFC),
     (CODE + 2, CODE + 6), (KSEG2, KSEG2 + 4), (0xFFFF_FFFC, 0), (KSEG1 + CODE, KSEG1 + CODE + 4)],
)
def test_nullified_misaligned_and_kernel_pc(verifier: Verifier, pc: int, next_pc: int) -> None:
    case = sweep_case(i_type(0x09, T0, T2, 1), pc=pc, next_pc=next_pc)
    assert_evm_agrees(verifier, prove(case), (hex(pc), hex(next_pc)))


@pytest.mark.parametrize("status", [Status.EXITED, Status.PANICKED])
@pytest.mark.parametrize("exit_code", [0, 1, 255])
def test_terminal_state_is_a_fixed_point(verifier: Verifier, status: int, exit_code: int) -> None:
    proven = prove(sweep_case(i_type(0x09, T0, T2, 1),
                              fields={"status": status, "exit_code": exit_code}))
    assert proven.post_hash == proven.pre_hash and proven.proof == b""
    assert_evm_agrees(verifier, proven, (status, exit_code))


def test_step_counter_at_its_limit(verifier: Verifier) -> None:
    """The 8-byte step counter wraps modulo 2^64 (spec section 6), in both verifiers.

    Unreachable by a real program, but the witness is valid, so the off-chain and the
    on-chain replay have to agree on it like on any other input.
    """
    proven = prove(sweep_case(i_type(0x09, T0, T2, 1), fields={"step": 2**64 - 2}))
    assert_evm_agrees(verifier, proven, "step 2^64 - 2")
    limit = prove(sweep_case(i_type(0x09, T0, T2, 1), fields={"step": 2**64 - 1}))
    assert State.from_witness(limit.witness).step == 2**64 - 1
    assert python_outcome(limit.witness, limit.proof) == limit.post_hash
    assert_evm_agrees(verifier, limit, "step 2^64 - 1")
