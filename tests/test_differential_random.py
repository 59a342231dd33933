"""Unicorn (through the fast engine) against the reference stepper, instruction by instruction.

Why: the fast engine is only sound if every instruction unicorn executes has
exactly the effect the reference `step` (the spec the verifier mirrors) gives
it; where unicorn raises an exception the engine hands the step to the
reference, so agreement must hold there too, but then unicorn proved nothing.

- The property test draws one instruction (mostly valid encodings of the
  integer ISA, some fully random words; the strategies are shared with the EVM
  test in tests/instruction_strategies.py) at 0x400000, a random non-branch
  instruction after it (the delay slot if the first is a branch), random
  registers biased to edge values with load/store bases pointing into a
  random data page at 0x10000000, random HI/LO and sometimes an LL
  reservation at the effective address. Unicorn runs the first instruction
  (and its delay slot) through `FastEngine._run_chunk(1)`; the reference runs
  as many steps; all state fields and memory must be equal. Then both go two
  steps further (`FastEngine.advance`), which mixes unicorn and reference
  steps.
- `test_unicorn_executes_common_instructions` checks that unicorn itself ran
  common instructions (no reference fallback), so the property is not
  vacuously comparing the reference with itself.
- The edge cases pin the outcomes the spec fixes (division, overflow,
  alignment, kernel addresses, traps, branch-likely, LL/SC).
- `UNICORN_DIFFERS` are the encodings and control flows unicorn runs
  differently from the reference (COP0, PMON, DSP/BSHFL NOPs, RDHWR, JALX,
  MIPS16 through odd targets, constant branches QEMU folds, fetch faults
  after jumps, address 0, kseg0 aliases, the link register as condition).
  Each was once a strict xfail; the engine's code guard (docs/spec.md, "The
  fast engine") makes every one agree, and the property draws them all:
  nothing is skipped.

Set FLEXEMU_DIFF_EXAMPLES=N to run the property with N examples (default 3000,
about 15 s); `--hypothesis-show-statistics` shows how often unicorn ran the
first instruction itself and how often it handed it to the reference.
"""

from __future__ import annotations

import os
import random

import pytest
from conftest import memory_diff, state_diff
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from instruction_strategies import (
    A0,
    A1,
    AT,
    CODE,
    DATA,
    KSEG2,
    RA,
    S0,
    T0,
    T1,
    T2,
    T3,
    V0,
    V1,
    effective_address,
    i_type,
    instruction,
    j_type,
    non_branch,
    r_type,
    regimm,
    special2,
    special3,
    values,
)

from flexemu.isa.mips.bits import MASK32
from flexemu.isa.mips.decode import RUN, word_flag
from flexemu.isa.mips.engine import FastEngine
from flexemu.isa.mips.state import NO_RESERVATION, Panic, State, Status
from flexemu.isa.mips.step import _rt  # the spec's field extractors
from flexemu.memory import Memory
from flexemu.merkle import PAGE_BYTES
from flexemu.reference import ReferenceMachine

LL_NONE = (NO_RESERVATION, 0)
ZERO_PAGE = bytes(PAGE_BYTES)
EXAMPLES = int(os.environ.get("FLEXEMU_DIFF_EXAMPLES") or 3000)


# ---------------------------------------------------------------- running both


class Case:
    """Words at CODE, CODE+4, ... (NOPs after), registers, HI/LO, the data page, LL.

    The data page is `data` if given, else random bytes from `seed` (which keeps
    hypothesis' reports of failing examples short).
    """

    def __init__(
        self,
        words: list[int],
        regs: list[int] | None = None,
        hi: int = 0,
        lo: int = 0,
        seed: int | None = None,
        ll: tuple[int, int] = (NO_RESERVATION, 0),
        data: bytes = ZERO_PAGE,
        tls: int = 0,
    ) -> None:
        self.words = words
        self.regs = regs if regs is not None else [0] * 32
        self.hi, self.lo, self.seed, self.ll, self.tls = hi, lo, seed, ll, tls
        self.data = data if seed is None else random.Random(seed).randbytes(PAGE_BYTES)

    def __repr__(self) -> str:
        regs = ", ".join(f"${i}={v:#x}" for i, v in enumerate(self.regs) if v)
        return (
            f"Case(words=[{', '.join(f'{w:#010x}' for w in self.words)}], regs[{regs}], "
            f"hi={self.hi:#x}, lo={self.lo:#x}, ll=({self.ll[0]:#x}, {self.ll[1]:#x}), "
            f"tls={self.tls:#x}, seed={self.seed})"
        )

    def state(self) -> State:
        regs = list(self.regs)
        regs[0] = 0
        return State(
            pc=CODE, next_pc=CODE + 4, regs=regs, hi=self.hi, lo=self.lo,
            ll_addr=self.ll[0], ll_value=self.ll[1], tls=self.tls,
        )

    def memory(self) -> Memory:
        memory = Memory()
        memory.write_bytes(CODE, b"".join(w.to_bytes(4, "big") for w in self.words))
        memory.write_bytes(DATA, self.data)
        return memory


class Pair:
    """The engine and the reference machine from the same case.

    `fallbacks` lists the engine step at which each reference step was taken
    inside the engine (a fault handed to the reference, or `advance` stepping).
    """

    def __init__(self, case: Case) -> None:
        state, memory = case.state(), case.memory()
        inputs = Memory()
        self.engine = FastEngine(state, {n: bytes(p) for n, p in memory.pages.items()}, inputs)
        self.reference = ReferenceMachine(state.copy(), memory, inputs)
        self.fallbacks: list[int] = []
        real = self.engine.reference_step

        def spy() -> None:
            self.fallbacks.append(self.engine.state.step)
            real()

        self.engine.reference_step = spy  # type: ignore[method-assign]

    def unicorn(self, limit: int) -> None:
        """Let unicorn run `limit` instructions (plus a delay slot), then catch up."""
        self.engine._run_chunk(limit)
        self.catch_up()

    def advance(self, target: int) -> None:
        self.engine.advance(target)
        self.catch_up()

    def catch_up(self) -> None:
        """Step the reference to the engine's step count (a miscount shows as a `step` diff)."""
        reference = self.reference
        reference.run(max(0, self.engine.state.step - reference.state.step))

    def assert_agree(self) -> None:
        assert_agree(self.engine.state, self.engine.pages(), self.reference)


def assert_agree(state: State, pages: dict[int, bytes], reference: ReferenceMachine) -> None:
    """Every State field but mem_root equal, and memory equal (absent pages are zero)."""
    problems = state_diff(state, reference.state) + memory_diff(pages, reference.memory.pages)
    assert not problems, "engine and reference disagree:\n  " + "\n  ".join(problems)
    ours = {n: bytes(p) for n, p in pages.items() if bytes(p) != ZERO_PAGE}
    assert Memory(ours).root() == reference.memory.root()


# ---------------------------------------------------------------- the cases


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, Case]:
    label, word, pins = draw(instruction)
    _, slot, slot_pins = draw(non_branch)
    regs = [0, *draw(st.lists(values, min_size=31, max_size=31))]
    for number, value in slot_pins + pins:  # the first instruction's pins win
        if number:
            regs[number] = value
    seed = draw(st.integers(0, MASK32))
    data = random.Random(seed).randbytes(PAGE_BYTES)
    ll = (NO_RESERVATION, 0)
    if label in ("load", "store") and draw(st.booleans()):
        addr = effective_address(word, regs)
        physical = addr & 0x1FFF_FFFF if 0x8000_0000 <= addr < KSEG2 else addr
        offset = (physical - DATA) & ~3
        current = int.from_bytes(data[offset:offset + 4], "big") if 0 <= offset < PAGE_BYTES else 0
        ll = (addr, draw(st.just(current) | values))
    hi, lo, tls = draw(values), draw(values), draw(values)
    return label, Case([word, slot], regs, hi, lo, seed, ll, tls=tls)


# ---------------------------------------------------------------- the property


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(cases())
def test_unicorn_step_matches_reference(drawn: tuple[str, Case]) -> None:
    label, case = drawn
    word, slot = case.words
    pair = Pair(case)
    pair.unicorn(1)
    first_fell_back = 0 in pair.fallbacks
    event(f"{label}: {'reference fallback' if first_fell_back else 'unicorn'}")
    pair.assert_agree()
    if first_fell_back and label != "random" and word_flag(word, CODE, slot) == RUN:
        # Unicorn hands a (canonically encoded) integer instruction the guard lets it run
        # to the reference only where the spec panics: else the engine is slow for nothing.
        probe = ReferenceMachine(case.state(), case.memory(), Memory())
        probe.step()
        assert probe.state.status == Status.PANICKED, f"unicorn refused {word:#010x}"

    # Two more steps through `advance`: unicorn for the first, the reference for the last.
    state = pair.engine.state
    if state.status == Status.RUNNING:
        pair.advance(state.step + 2)
        pair.assert_agree()


# ---------------------------------------------------------------- unicorn really runs them

LL_TARGET = DATA + 0x100
COMMON: dict[str, tuple[list[int], dict[int, int]]] = {
    "addu": ([r_type(0x21, T0, T1, T2)], {T0: 0xFFFF_FFFF, T1: 2}),
    "subu": ([r_type(0x23, T0, T1, T2)], {T0: 1, T1: 2}),
    "add": ([r_type(0x20, T0, T1, T2)], {T0: 5, T1: 0xFFFF_FFFE}),
    "addi": ([i_type(0x08, T0, T2, -3)], {T0: 5}),
    "addiu": ([i_type(0x09, T0, T2, 0x8000)], {T0: 5}),
    "and/or/xor/nor": ([r_type(f, T0, T1, T2) for f in (0x24, 0x25, 0x26, 0x27)],
                       {T0: 0xF0F0_1234, T1: 0x0FF0_FFFF}),
    "slt/sltu": ([r_type(0x2A, T0, T1, T2), r_type(0x2B, T0, T1, T3)],
                 {T0: 0xFFFF_FFFF, T1: 1}),
    "slti/sltiu": ([i_type(0x0A, T0, T2, -1), i_type(0x0B, T0, T3, -1)], {T0: 0x8000_0000}),
    "andi/ori/xori/lui": ([i_type(op, T0, T2, 0x8765) for op in (0x0C, 0x0D, 0x0E, 0x0F)],
                          {T0: 0x1234_5678}),
    "sll/srl/sra/rotr": ([r_type(0x00, 0, T0, T2, 4), r_type(0x02, 0, T0, T2, 7),
                          r_type(0x03, 0, T0, T2, 31), r_type(0x02, 1, T0, T2, 9)],
                         {T0: 0x8123_4567}),
    "sllv/srlv/srav/rotrv": ([r_type(0x04, T1, T0, T2), r_type(0x06, T1, T0, T2),
                              r_type(0x07, T1, T0, T2), r_type(0x06, T1, T0, T2, 1)],
                             {T0: 0x8123_4567, T1: 0x25}),
    "movn/movz": ([r_type(0x0B, T0, T1, T2), r_type(0x0A, T0, T1, T3)], {T0: 7, T1: 1}),
    "mult/multu/mfhi/mflo": ([r_type(0x18, T0, T1), r_type(0x10, rd=T2), r_type(0x12, rd=T3),
                              r_type(0x19, T0, T1)], {T0: 0x8000_0000, T1: 0xFFFF_FFFF}),
    "div/divu": ([r_type(0x1A, T0, T1), r_type(0x1B, T0, T1)], {T0: 0xFFFF_FFF9, T1: 2}),
    "div by zero": ([r_type(0x1A, T0, 0)], {T0: 1234}),
    "mthi/mtlo": ([r_type(0x11, T0), r_type(0x13, T1)], {T0: 3, T1: 4}),
    "mul/madd/maddu/msub/msubu": ([special2(0x02, T0, T1, T2), special2(0x00, T0, T1),
                                   special2(0x01, T0, T1), special2(0x04, T0, T1),
                                   special2(0x05, T0, T1)], {T0: 0x8000_0001, T1: 0x7FFF_FFFF}),
    "clz/clo": ([special2(0x20, T0, T2, T2), special2(0x21, T0, T3, T3)], {T0: 0xFF00_0000}),
    "ext/ins": ([special3(0x00, T0, T2, 7, 4), special3(0x04, T0, T2, 19, 12)],
                {T0: 0x1234_5678}),
    "wsbh/seb/seh": ([special3(0x20, 0, T0, T2, 0x02), special3(0x20, 0, T0, T2, 0x10),
                      special3(0x20, 0, T0, T3, 0x18)], {T0: 0x1234_8586}),
    "rdhwr $29": ([special3(0x3B, 0, T2, 29)], {}),  # tls: see the Case below
    "lw/lh/lhu/lb/lbu": ([i_type(op, A0, T0 + i, 2 * i) for i, op in
                          enumerate((0x23, 0x21, 0x25, 0x20, 0x24))], {A0: DATA + 0x40}),
    "lwl/lwr": ([i_type(0x22, A0, T0, 1), i_type(0x26, A0, T0, 4)], {A0: DATA + 0x40,
                                                                    T0: 0x1122_3344}),
    "sw/sh/sb": ([i_type(0x2B, A0, T0, 0), i_type(0x29, A0, T0, 6), i_type(0x28, A0, T0, 9)],
                 {A0: DATA + 0x80, T0: 0xA1B2_C3D4}),
    "swl/swr": ([i_type(0x2A, A0, T0, 1), i_type(0x2E, A0, T0, 6)],
                {A0: DATA + 0x80, T0: 0xA1B2_C3D4}),
    "lw kseg0": ([i_type(0x23, A0, T0, 0)], {A0: 0x8000_0000 + DATA + 0x40}),
    "ll/sc": ([i_type(0x30, A0, T0, 0), i_type(0x09, T0, T1, 1), i_type(0x38, A0, T1, 0)],
              {A0: LL_TARGET}),
    "sc without ll": ([i_type(0x38, A0, T1, 0)], {A0: LL_TARGET, T1: 9}),
    "beq taken": ([i_type(0x04, T0, T0, 3), i_type(0x09, 0, T1, 1)], {}),
    "bne not taken": ([i_type(0x05, T0, T1, 3), i_type(0x09, 0, T1, 1)], {T0: 1, T1: 1}),
    "beql taken": ([i_type(0x14, T0, T1, 3), i_type(0x09, 0, T1, 1)], {}),
    "bnel not taken": ([i_type(0x15, T0, T1, 3), i_type(0x09, 0, T1, 1)], {}),
    "blez/bgtz": ([i_type(0x06, T0, 0, 3), 0], {T0: 0x8000_0000}),
    "bgezal": ([regimm(0x11, T0, 3), i_type(0x09, 0, T1, 1)], {T0: 5}),
    "bltzal": ([regimm(0x10, T0, 3), i_type(0x09, 0, T1, 1)], {T0: 5}),
    "j": ([j_type(0x02, CODE + 0x40), i_type(0x09, 0, T1, 1)], {}),
    "jal": ([j_type(0x03, CODE + 0x40), i_type(0x09, 0, T1, 1)], {}),
    "jr": ([r_type(0x08, T0), i_type(0x09, 0, T1, 1)], {T0: CODE + 0x100}),
    "jalr": ([r_type(0x09, T0, rd=RA), i_type(0x09, 0, T1, 1)], {T0: CODE + 0x100}),
    "teq/tne not taken": ([r_type(0x34, T0, T1), r_type(0x36, T0, T0)], {T0: 1, T1: 2}),
    "sync/pref/synci": ([r_type(0x0F), i_type(0x33, A0, 0, 0), regimm(0x1F, A0, 0)],
                        {A0: DATA}),
}


@pytest.mark.parametrize("name", list(COMMON))
def test_unicorn_executes_common_instructions(name: str) -> None:
    words, pins = COMMON[name]
    regs = [0] * 32
    for number, value in pins.items():
        regs[number] = value
    data = random.Random(name).randbytes(PAGE_BYTES)
    pair = Pair(Case(words, regs, 0x1357_9BDF, 0x2468_ACE0, ll=LL_NONE, data=data,
                     tls=0x7765_4321))
    pair.unicorn(len(words))
    assert pair.fallbacks == [], f"unicorn handed steps {pair.fallbacks} to the reference"
    assert pair.engine.state.step >= len(words)
    assert pair.engine.state.status == Status.RUNNING
    pair.assert_agree()


# ---------------------------------------------------------------- edge cases


def run_edge(words: list[int], pins: dict[int, int], steps: int | None = None,
             ll: tuple[int, int] = (NO_RESERVATION, 0), data: bytes = ZERO_PAGE) -> Pair:
    """Unicorn runs `words` (faults handed to the reference); both must agree."""
    regs = [0] * 32
    for number, value in pins.items():
        regs[number] = value
    pair = Pair(Case(words, regs, 0xAAAA_AAAA, 0x5555_5555, ll=ll, data=data))
    pair.unicorn(len(words) if steps is None else steps)
    pair.assert_agree()
    return pair


INT_MIN = 0x8000_0000


@pytest.mark.parametrize(
    ("funct", "x", "y", "lo", "hi"),
    [
        (0x1A, 1234, 0, 1234, 0),  # DIV by zero: divisor taken as 1
        (0x1A, 0xFFFF_FB2E, 0, 0xFFFF_FB2E, 0),
        (0x1A, INT_MIN, 0xFFFF_FFFF, INT_MIN, 0),  # INT_MIN / -1
        (0x1A, 0xFFFF_FFF9, 2, 0xFFFF_FFFD, 0xFFFF_FFFF),  # -7 / 2 = -3 rem -1
        (0x1B, 1234, 0, 1234, 0),  # DIVU by zero
        (0x1B, INT_MIN, 0xFFFF_FFFF, 0, INT_MIN),
    ],
)
def test_division_edges(funct: int, x: int, y: int, lo: int, hi: int) -> None:
    pair = run_edge([r_type(funct, T0, T1)], {T0: x, T1: y})
    assert (pair.engine.state.lo, pair.engine.state.hi) == (lo, hi)


@pytest.mark.parametrize(
    ("word", "x", "y"),
    [
        (r_type(0x20, T0, T1, T2), 0x7FFF_FFFF, 1),  # ADD
        (r_type(0x20, T0, T1, T2), INT_MIN, 0xFFFF_FFFF),
        (i_type(0x08, T0, T2, 1), 0x7FFF_FFFF, 0),  # ADDI
        (i_type(0x08, T0, T2, -1), INT_MIN, 0),
        (r_type(0x22, T0, T1, T2), INT_MIN, 1),  # SUB
        (r_type(0x22, T0, T1, T2), 0x7FFF_FFFF, 0xFFFF_FFFF),
    ],
)
def test_overflow_panics(word: int, x: int, y: int) -> None:
    pair = run_edge([word], {T0: x, T1: y, T2: 0xDEAD})
    state = pair.engine.state
    assert (state.status, state.exit_code) == (Status.PANICKED, Panic.INTEGER_OVERFLOW)
    assert state.regs[T2] == 0xDEAD and state.pc == CODE and state.step == 1


@pytest.mark.parametrize(
    ("word", "address", "reason"),
    [
        (i_type(0x23, A0, T0, 0), DATA + 2, Panic.ADDRESS_ERROR),  # LW
        (i_type(0x23, A0, T0, 0), DATA + 1, Panic.ADDRESS_ERROR),
        (i_type(0x2B, A0, T0, 0), DATA + 3, Panic.ADDRESS_ERROR),  # SW
        (i_type(0x21, A0, T0, 0), DATA + 1, Panic.ADDRESS_ERROR),  # LH
        (i_type(0x29, A0, T0, 0), DATA + 3, Panic.ADDRESS_ERROR),  # SH
        (i_type(0x30, A0, T0, 0), DATA + 2, Panic.ADDRESS_ERROR),  # LL
        (i_type(0x23, A0, T0, 0), KSEG2, Panic.KERNEL_ADDRESS),  # LW
        (i_type(0x20, A0, T0, 0), 0xFFFF_FFFF, Panic.KERNEL_ADDRESS),  # LB
        (i_type(0x28, A0, T0, 0), 0xE000_0000, Panic.KERNEL_ADDRESS),  # SB
        (i_type(0x22, A0, T0, 0), KSEG2 + 1, Panic.KERNEL_ADDRESS),  # LWL
    ],
)
def test_bad_addresses_panic(word: int, address: int, reason: Panic) -> None:
    pair = run_edge([word], {A0: address, T0: 0x1234_5678})
    state = pair.engine.state
    assert (state.status, state.exit_code) == (Status.PANICKED, reason)
    assert state.regs[T0] == 0x1234_5678


@pytest.mark.parametrize("segment", [0x8000_0000, 0xA000_0000])
@pytest.mark.parametrize("op", [0x23, 0x24, 0x25])  # LW LBU LHU
def test_kseg0_kseg1_alias_reads_physical(segment: int, op: int) -> None:
    data = bytes(range(256)) * (PAGE_BYTES // 256)
    pair = run_edge([i_type(op, A0, T0, 0)], {A0: segment + DATA + 0x24}, data=data)
    expected = {0x23: 0x2425_2627, 0x24: 0x24, 0x25: 0x2425}[op]
    assert pair.engine.state.regs[T0] == expected
    assert pair.engine.state.status == Status.RUNNING


def test_kseg0_alias_store_writes_physical() -> None:
    pair = run_edge([i_type(0x2B, A0, T0, 0)], {A0: 0x8000_0000 + DATA + 0x40, T0: 0xCAFEF00D})
    assert pair.reference.memory.read_word(DATA + 0x40, "big") == 0xCAFEF00D


@pytest.mark.parametrize(
    ("word", "x", "y", "taken"),
    [
        (r_type(0x34, T0, T1), 5, 5, True),  # TEQ
        (r_type(0x34, T0, T1), 5, 6, False),
        (r_type(0x34, T0, T1) | (7 << 6), 0, 0, True),  # gcc's divide-by-zero guard
        (r_type(0x36, T0, T1), 5, 6, True),  # TNE
        (r_type(0x30, T0, T1), 0xFFFF_FFFF, 1, False),  # TGE: -1 >= 1 signed
        (r_type(0x31, T0, T1), 0xFFFF_FFFF, 1, True),  # TGEU
        (regimm(0x0C, T0, -1), 0xFFFF_FFFF, 0, True),  # TEQI
        (regimm(0x0A, T0, 0), 0xFFFF_FFFF, 0, True),  # TLTI
        (regimm(0x0B, T0, 0), 0xFFFF_FFFF, 0, False),  # TLTIU
    ],
)
def test_traps(word: int, x: int, y: int, taken: bool) -> None:
    pair = run_edge([word], {T0: x, T1: y})
    state = pair.engine.state
    if taken:
        assert (state.status, state.exit_code) == (Status.PANICKED, Panic.TRAP)
        assert state.pc == CODE
    else:
        assert state.status == Status.RUNNING and state.pc == CODE + 4
        assert pair.fallbacks == []


def test_break_panics() -> None:
    pair = run_edge([r_type(0x0D) | (7 << 16)], {})
    assert (pair.engine.state.status, pair.engine.state.exit_code) == (Status.PANICKED,
                                                                       Panic.BREAK)


@pytest.mark.parametrize(
    "branch",
    [
        i_type(0x14, T0, T1, 5),  # BEQL 1, 2
        i_type(0x15, T0, T2, 5),  # BNEL 1, 1
        i_type(0x16, T1, 0, 5),  # BLEZL 2
        i_type(0x17, S0, 0, 5),  # BGTZL 0 (in a register: QEMU does not fold it)
        regimm(0x02, T1, 5),  # BLTZL 2
        regimm(0x03, T3, 5),  # BGEZL
        regimm(0x13, T3, 5),  # BGEZALL
    ],
)
def test_branch_likely_not_taken_nullifies_a_step(branch: int) -> None:
    words = [branch, i_type(0x09, V0, V0, 1), i_type(0x09, V1, V1, 1)]
    pins = {T0: 1, T1: 2, T2: 1, T3: 0x8000_0000}
    regs = [0] * 32
    for number, value in pins.items():
        regs[number] = value
    case = Case(words, regs)

    stepped = Pair(case)  # the engine's own path to step 1: a reference step
    stepped.advance(1)
    stepped.assert_agree()
    assert stepped.engine.state.pc == CODE + 5  # the nullified slot, bit 0 set
    stepped.advance(2)
    stepped.assert_agree()
    assert stepped.engine.state.pc == CODE + 8

    pair = Pair(case)  # unicorn runs the branch and counts the nullified slot
    pair.unicorn(1)
    pair.assert_agree()
    state = pair.engine.state
    assert pair.fallbacks == []
    assert (state.step, state.pc, state.regs[V0]) == (2, CODE + 8, 0)
    if branch >> 26 == 0x01 and _rt(branch) & 0x10:
        assert state.regs[RA] == CODE + 8



@pytest.mark.parametrize(
    "branch",
    [j_type(0x02, CODE + 0x40), j_type(0x03, CODE + 0x40), r_type(0x08, T0),
     r_type(0x09, T0, rd=RA), i_type(0x04, 0, 0, 15), i_type(0x14, 0, 0, 15),
     regimm(0x11, 0, 15)],
)
@pytest.mark.parametrize(
    "slot",
    [i_type(0x23, 0, V1, 0x2000), i_type(0x2B, S0, V1, 0), i_type(0x20, 0, V1, 0x2003),
     i_type(0x2A, S0, V1, 1)],
)
@pytest.mark.parametrize("steps", [2, 3, 4, 9])
def test_delay_slot_touching_a_new_page(branch: int, slot: int, steps: int) -> None:
    """A delay slot's first access to a page unicorn has not mapped yet (mapped lazily)."""
    words = [branch, slot] + [0] * 14 + [i_type(0x09, V0, V0, 1)] * 16
    regs = [0] * 32
    regs[T0], regs[S0] = CODE + 0x40, 0x7FFF_0000
    pair = Pair(Case(words, regs))
    pair.advance(steps)
    pair.assert_agree()
    assert pair.engine.state.regs[V0] == max(0, steps - 2)

LL = i_type(0x30, A0, T0, 0)  # ll t0, 0(a0)
SC_T1 = i_type(0x38, A0, T1, 0)  # sc t1, 0(a0)
SC_T2 = i_type(0x38, A0, T2, 0)
SW_T3 = i_type(0x2B, A0, T3, 0)


def _word_at(pair: Pair, addr: int) -> int:
    return pair.reference.memory.read_word(addr, "big")


@pytest.mark.parametrize(
    ("words", "pins", "results", "final"),
    [
        # LL then SC: success, memory takes the new value.
        ([LL, SC_T1], {T1: 77}, {T1: 1}, 77),
        # SC without LL (no reservation): fails, memory untouched.
        ([SC_T1], {T1: 77}, {T1: 0}, 0x0102_0304),
        # A store of a different value between LL and SC: SC fails.
        ([LL, SW_T3, SC_T1], {T1: 77, T3: 5}, {T1: 0}, 5),
        # A store of the same value: QEMU's compare-and-swap rule lets SC succeed.
        ([LL, SW_T3, SC_T1], {T1: 77, T3: 0x0102_0304}, {T1: 1}, 77),
        # SC twice storing the value LL read: the reservation stays, both succeed.
        ([LL, r_type(0x21, T0, 0, T1), r_type(0x21, T0, 0, T2), SC_T1, SC_T2],
         {}, {T1: 1, T2: 1}, 0x0102_0304),
        # SC twice with a new value: the first succeeds, the second finds it changed.
        ([LL, SC_T1, SC_T2], {T1: 77, T2: 88}, {T1: 1, T2: 0}, 77),
        # SC to another address than LL's: fails.
        ([LL, i_type(0x09, A0, A0, 4), SC_T1], {T1: 77}, {T1: 0}, 0x0102_0304),
    ],
)
def test_ll_sc(words: list[int], pins: dict[int, int], results: dict[int, int],
               final: int) -> None:
    data = bytearray(PAGE_BYTES)
    data[0x100:0x104] = (0x0102_0304).to_bytes(4, "big")
    pair = run_edge(words, {A0: LL_TARGET, **pins}, data=bytes(data))
    state = pair.engine.state
    assert pair.fallbacks == []
    assert state.status == Status.RUNNING and state.step == len(words)
    for number, value in results.items():
        assert state.regs[number] == value, f"${number}"
    assert _word_at(pair, LL_TARGET) == final
    if LL in words:
        assert (state.ll_addr, state.ll_value) == (LL_TARGET, 0x0102_0304)


@pytest.mark.parametrize(
    "address",
    [DATA + 2, DATA + 0x101, KSEG2, 0xFFFF_FFFD],
)
def test_sc_away_from_the_reservation_fails_without_an_access(address: int) -> None:
    """QEMU compares the address with LL's before any access: no alignment or kseg2 fault."""
    pair = run_edge([SC_T1], {A0: address, T1: 77}, ll=(LL_TARGET, 0))
    state = pair.engine.state
    assert state.status == Status.RUNNING and state.regs[T1] == 0
    assert pair.fallbacks == []


def test_sc_at_a_misaligned_reservation_panics() -> None:
    """The initial reservation 0xFFFFFFFF matches an SC there, which then faults."""
    pair = run_edge([SC_T1], {A0: 0xFFFF_FFFF, T1: 77})
    state = pair.engine.state
    assert (state.status, state.exit_code) == (Status.PANICKED, Panic.ADDRESS_ERROR)


# ---------------------------------------------------------------- where unicorn differs

UNICORN_DIFFERS = {
    # name: (words, registers, steps or None for `_run_chunk(1)`, what went wrong before the guard)
    "constant-branch likely (bnel t0,t0)": (
        [i_type(0x15, T0, T0, 4), i_type(0x09, V0, V0, 1)], {}, None,
        "QEMU skips the slot unhooked: engine step 1 at pc 0x400008, reference pc 0x400005",
    ),
    "constant-branch nop (bne $0,$0)": (
        [i_type(0x05, 0, 0, 4), i_type(0x09, V0, V0, 1)], {}, None,
        "QEMU translates it as a NOP: engine counts 2 steps but ran 1 (pc 0x400004)",
    ),
    "mips16-jump (jr to odd)": (
        [r_type(0x08, T0), 0], {T0: CODE + 0x101}, None,
        "unicorn's 24Kc has MIPS16e: runs JR + slot, reference panics RESERVED_INSTRUCTION",
    ),
    "mips16-jump (jalx)": (
        [(0x1D << 26) | ((CODE + 0x100) >> 2), 0], {}, None,
        "JALX executes in unicorn, reference panics RESERVED_INSTRUCTION",
    ),
    "cop0 (mfc0 t0, Status)": (
        [(0x10 << 26) | (T0 << 16) | (12 << 11)], {}, None,
        "unicorn runs in kernel mode: t0 = 0x400004, reference panics RESERVED_INSTRUCTION",
    ),
    "pmon (SPECIAL funct 5)": (
        [r_type(0x05, sa=4)], {V0: 7}, None,
        "QEMU's PMON helper sets v0 = -1, reference panics RESERVED_INSTRUCTION",
    ),
    "special3-nop (BSHFL sa=0x12, rd=$0)": (
        [special3(0x20, 0, T0, 0, 0x12)], {}, None,
        "a NOP in QEMU, reference panics RESERVED_INSTRUCTION",
    ),
    "special3-nop (DSP ADDU.QB, rd=$0)": (
        [special3(0x10, T0, T1, 0, 0)], {}, None,
        "a NOP in QEMU, reference panics RESERVED_INSTRUCTION",
    ),
    "rdhwr (CPUNum)": (
        [special3(0x3B, 0, T0, 0)], {}, None,
        "unicorn reads hardware register 0 (CC, 2, would read the host clock)",
    ),
    "kseg2-fetch (jr 0xC0000000 whose slot overwrites the register)": (
        [r_type(0x08, AT), r_type(0x00, 0, 0, AT)], {AT: KSEG2}, None,
        "the target fetch faults: the slot is taken to have faulted, engine pc 0x0",
    ),
    "kseg2-fetch (jr 0xC0000000 mid-chunk)": (
        [i_type(0x09, 0, V1, 7), r_type(0x08, A1), i_type(0x09, V0, V0, 1)],
        {A1: KSEG2}, 10,
        "the unhooked fetch fault is taken for a fault of the slot: slot runs twice, step - 1",
    ),
    "misaligned-fetch (jr 0x400002 mid-chunk)": (
        [i_type(0x09, 0, V1, 7), r_type(0x08, A1), i_type(0x09, V0, V0, 1)],
        {A1: CODE + 2}, 10,
        "the fetch fault is taken for a fault of the slot: the slot runs twice",
    ),
    "pc-zero (j 0: a NULL function pointer call)": (
        [j_type(0x02, 0), i_type(0x09, V0, V0, 1)], {}, 6,
        "0 is unicorn's `until` address: the slot runs twice, pc one instruction ahead",
    ),
    "kseg01-code (a branch run through its kseg0 alias)": (
        [r_type(0x08, AT), 0], {AT: 0x8000_0000 + CODE}, 4,
        "uc_mem_read of the kseg0 branch word fails: its delay slot runs uncounted",
    ),
    "kseg2-fetch (at a chunk start)": (
        [r_type(0x08, A1), 0], {A1: KSEG2}, 4,
        "hooked == 0 at the fault: executed = -1, the panic step is not counted",
    ),
    "link-alias (bltzal ra with a faulting slot)": (
        [regimm(0x10, RA, 8), (0x1B << 26)], {RA: 0x8000_0000}, None,
        "UNPREDICTABLE; the engine re-evaluates the branch with ra = pc + 8: not taken",
    ),
}


@pytest.mark.parametrize("name", list(UNICORN_DIFFERS))
def test_engine_agrees_where_unicorn_differs(name: str) -> None:
    words, pins, steps, _ = UNICORN_DIFFERS[name]
    regs = [0] * 32
    for number, value in pins.items():
        regs[number] = value
    pair = Pair(Case(words, regs))
    if steps is None:
        pair.unicorn(1)
    else:
        pair.advance(steps)
    pair.assert_agree()
    assert pair.fallbacks, "unicorn ran all of it: the case no longer exercises the guard"


def test_the_guard_flags_every_word_unicorn_runs_differently() -> None:
    """Each single-word divergence is a word the scan keeps from unicorn (or a checked JR)."""
    for name, (words, _, steps, _) in UNICORN_DIFFERS.items():
        if steps is None:
            slot = words[1] if len(words) > 1 else 0
            assert word_flag(words[0], CODE, slot) != RUN, name
