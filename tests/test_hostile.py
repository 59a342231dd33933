"""Hostile guests: the engine, the reference, proofs and the EVM verifier agree on every step.

Why: whoever writes the program chooses where unicorn and the reference could part
ways (code that rewrites itself, delay-slot corners, kernel-segment aliases, MIPS16,
COP0, constant branches QEMU folds, jumps to 0 or to odd, misaligned and kseg2
addresses). The guests in scenarios/programs (smc, slots, hostile_end; see its
README) hit each class; each one failed on the engine before its code guard.

For every case: the engine in lockstep with the reference at every step; a fresh
seek (`Emulator.state_at`) to every step, in increasing, decreasing and random
order, equal to stepping there; every step proven and checked from its proof
alone; and every step that is not a NOP replayed by the Solidity verifier in
py-evm. Random multi-instruction programs (stores into the running code, every
branch form, jumps to odd and aliased targets, syscalls) then check that the
engine, advancing in chunks, meets the reference at every stop.
"""

from __future__ import annotations

import os
import random

import pytest
from conftest import build_program, expectation, state_diff
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from instruction_strategies import CODE, DATA, i_type, instruction, j_type, r_type, regimm, values
from step_cases import Verifier, deploy_verifier
from test_differential_random import Case, Pair
from test_lockstep import fresh_pair, lockstep

from flexemu.emulator import Emulator
from flexemu.isa.mips.engine import FastEngine
from flexemu.isa.mips.state import Panic, Status
from flexemu.loader import Program, load
from flexemu.merkle import PAGE_BYTES
from flexemu.proof import check, check_file, prove
from flexemu.reference import ReferenceMachine

#: case -> (program, stdin or None for the recorded one, the outcome the reference gives)
CASES: dict[str, tuple[str, bytes | None, tuple[Status, int]]] = {
    "smc": ("smc", None, (Status.EXITED, 0)),
    "slots": ("slots", None, (Status.EXITED, 0)),
    "kseg0 alias": ("hostile_end", b"a", (Status.EXITED, 0)),
    "kseg1 alias": ("hostile_end", b"1", (Status.EXITED, 0)),
    "jr kseg2": ("hostile_end", b"k", (Status.PANICKED, Panic.KERNEL_ADDRESS)),
    "jr misaligned": ("hostile_end", b"m", (Status.PANICKED, Panic.ADDRESS_ERROR)),
    "jr odd (MIPS16)": ("hostile_end", b"o", (Status.PANICKED, Panic.RESERVED_INSTRUCTION)),
    "jalx": ("hostile_end", b"x", (Status.PANICKED, Panic.RESERVED_INSTRUCTION)),
    "mfc0": ("hostile_end", None, (Status.PANICKED, Panic.RESERVED_INSTRUCTION)),
    "rdhwr $2": ("hostile_end", b"h", (Status.PANICKED, Panic.RESERVED_INSTRUCTION)),
    "pmon": ("hostile_end", b"p", (Status.PANICKED, Panic.RESERVED_INSTRUCTION)),
    "bshfl rd=$0": ("hostile_end", b"b", (Status.PANICKED, Panic.RESERVED_INSTRUCTION)),
}
#: Cases qemu-mips ran for build.sh: stdout must be what it printed.
QEMU_RECORDED = ("smc", "slots", "mfc0")


def program(case: str) -> Program:
    name, stdin, _ = CASES[case]
    return build_program(name) if stdin is None else build_program(name, stdin=stdin)


_emulators: dict[str, Emulator] = {}


def finished(case: str) -> Emulator:
    """An emulator that ran `case` to its end, with checkpoints every 64 steps."""
    if case not in _emulators:
        emulator = Emulator(program(case), interval=64)
        emulator.run()
        _emulators[case] = emulator
    return _emulators[case]


@pytest.mark.parametrize("case", list(CASES))
def test_every_step_in_lockstep(case: str) -> None:
    engine, reference = fresh_pair(program(case))
    taken = lockstep(engine, reference, case)
    assert taken == reference.state.step
    assert (reference.state.status, reference.state.exit_code) == CASES[case][2]
    if case in QEMU_RECORDED:
        stdout = b"".join(data for fd, data in engine.output if fd == 1)
        assert stdout == expectation(CASES[case][0])["stdout"].encode()


@pytest.mark.parametrize("case", list(CASES))
def test_a_run_ends_where_the_reference_ends(case: str) -> None:
    final = finished(case).final
    reference = ReferenceMachine.from_image(load(program(case)))
    reference.run(100_000)
    assert final is not None and final.step == reference.state.step
    assert final.hash() == reference.state_hash()


@pytest.mark.parametrize("case", list(CASES))
def test_seeks_in_any_order_equal_stepping(case: str) -> None:
    """`state_at(k)` never depends on what was asked before: increasing, decreasing, random."""
    emulator = finished(case)
    end = emulator.final.step
    reference = ReferenceMachine.from_image(load(program(case)))
    truth = []
    for _ in range(end + 1):
        truth.append(reference.state_hash())
        reference.step()
    steps = list(range(end + 1))
    shuffled = random.Random(case).sample(steps, len(steps))
    for order in (steps, steps[::-1], shuffled):
        wrong = [k for k in order if emulator.state_at(k).hash() != truth[k]]
        assert not wrong, f"{case}: state_at differs from the reference at steps {wrong[:10]}"


@pytest.mark.parametrize("case", list(CASES))
def test_every_step_proves(case: str) -> None:
    emulator = finished(case)
    for n in range(emulator.final.step + 1):
        claim = prove(emulator, n)
        assert check_file(claim) == emulator.state_at(n + 1).hash(), f"{case}: step {n}"


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return deploy_verifier()


@pytest.mark.parametrize("case", list(CASES))
def test_the_evm_verifier_agrees_on_every_step(case: str, verifier: Verifier) -> None:
    """Every step but the NOPs (the 4 KiB of padding in slots) through MipsVerifier."""
    emulator = finished(case)
    checked = 0
    for n in range(emulator.final.step + 1):
        machine = emulator.machine_at(n)
        state = machine.state
        word = machine.memory.read_word(state.pc, "big") if state.pc & 3 == 0 else None
        if word == 0 and state.pc < 0x8000_0000:
            continue
        claim = prove(emulator, n)
        expected = check(claim.witness, claim.proof).hash()
        assert verifier.step_from(claim.pre_state_hash, claim.witness, claim.proof) == expected, (
            f"{case}: step {n}"
        )
        checked += 1
    assert checked > 100


def test_an_odd_entry_point_is_a_run_of_nullified_steps() -> None:
    """An odd pc with no branch pending: the reference steps it as a nullified slot
    forever; the engine reaches the same state at any step, without stepping each."""
    image = load(build_program("hello"))
    image.state.pc |= 1
    image.state.next_pc = image.state.pc + 4
    pages = {number: bytes(page) for number, page in image.memory.pages.items()}
    engine = FastEngine(image.state, pages, image.input_memory)
    reference = ReferenceMachine.from_image(image)
    for target in (1, 2, 7, 1000):
        engine.advance(target)
        reference.run(target - reference.state.step)
        assert not state_diff(engine.state, reference.state), target
    engine.advance(1 << 40)
    assert engine.state.step == 1 << 40
    assert engine.state.pc == (image.state.pc + 4 * (1 << 40)) & 0xFFFF_FFFF


@pytest.mark.slow
def test_a_null_function_pointer_call_runs_through_page_zero() -> None:
    """Memory at 0 reads as NOPs: a NULL call slides through the low pages (1M steps)."""
    emulator = Emulator(build_program("hostile_end", stdin=b"n"))
    final = emulator.run()
    reference = ReferenceMachine.from_image(load(build_program("hostile_end", stdin=b"n")))
    samples = sorted({150, 151, 152, 1200, 5000, 4096 * 17 + 3, final.step // 2, final.step - 1})
    for k in samples:
        reference.run(k - reference.state.step)
        assert emulator.state_at(k).hash() == reference.state_hash(), k
    reference.run(final.step + 1 - reference.state.step)
    assert final.hash() == reference.state_hash()


@pytest.mark.parametrize("segment", [0x0000_0000, 0x8000_0000, 0xA000_0000])
def test_a_store_to_code_two_words_ahead_runs_the_new_code(segment: int) -> None:
    """The same-block rewrite of smc, also through the kseg0/kseg1 alias of the code page:
    the store must fault on the read+execute page whichever address names it."""
    addiu_v0 = i_type(0x09, 2, 2, 1)  # addiu $v0, $v0, 1
    new_word = i_type(0x09, 2, 2, 0x50)  # addiu $v0, $v0, 0x50
    words = [addiu_v0, i_type(0x2B, 4, 8, 12), addiu_v0, addiu_v0, addiu_v0]  # sw $t0, 12($a0)
    regs = [0] * 32
    regs[4], regs[8] = (CODE | segment) & 0xFFFF_FFFF, new_word
    pair = Pair(Case(words, regs))
    pair.advance(5)
    pair.assert_agree()
    assert pair.engine.state.regs[2] == 1 + 1 + 0x50 + 1


def test_opcodes_the_scan_does_not_probe_are_never_reserved() -> None:
    """`reference_supports` skips the probe for handlers that decode no sub-field; a probe
    of random words with those opcodes confirms none of them is a reserved panic."""
    from flexemu.isa.mips.decode import NEVER_RESERVED, probe_supports
    from flexemu.isa.mips.step import OPCODES

    rng = random.Random(9)
    opcodes = [op for op, handler in OPCODES.items() if handler in NEVER_RESERVED]
    assert len(opcodes) >= 30
    for _ in range(3000):
        word = (rng.choice(opcodes) << 26) | rng.getrandbits(26)
        assert probe_supports(word), f"{word:#010x}"


def test_a_store_to_code_in_a_delay_slot_runs_the_new_code() -> None:
    """The store faults inside a taken branch's delay slot: the engine recovers the branch
    target, the reference stores, and the branch target is the rewritten word."""
    addiu_v0 = i_type(0x09, 2, 2, 1)
    new_word = i_type(0x09, 2, 2, 0x50)
    words = [addiu_v0, i_type(0x04, 0, 0, 2), i_type(0x2B, 4, 8, 16), addiu_v0, addiu_v0,
             addiu_v0]  # addiu; beq $0,$0,+2; sw $t0,16($a0) (the slot writes word 4)
    regs = [0] * 32
    regs[4], regs[8] = CODE, new_word
    pair = Pair(Case(words, regs))
    pair.advance(5)
    pair.assert_agree()
    assert pair.engine.state.regs[2] == 1 + 0x50 + 1
    assert pair.fallbacks, "the store in the slot must have been the reference's"


# ------------------------------------------------------------------ random programs

PROGRAM_EXAMPLES = int(os.environ.get("FLEXEMU_PROGRAM_EXAMPLES") or 150)


@st.composite
def random_programs(draw: st.DrawFn) -> tuple[list[int], list[int], list[int]]:
    """48 words of mixed instructions (branches, register jumps, stores into the code,
    random words), registers that often point into the code page, and where to stop."""
    words = [draw(instruction)[1] for _ in range(48)]
    code_pointers = st.integers(0, 56).map(lambda i: CODE + 4 * i)
    regs = [0, *draw(st.lists(code_pointers | values, min_size=31, max_size=31))]
    stops = sorted(set(draw(st.lists(st.integers(1, 400), min_size=1, max_size=6))))
    return words, regs, stops


@settings(max_examples=PROGRAM_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(random_programs())
def test_random_programs_agree_at_every_stop(drawn: tuple[list[int], list[int], list[int]]) -> None:
    """Multi-instruction interactions the single-step property cannot reach: jumps into
    rewritten code, stores into the running block, branches near other branches. The
    engine advances in chunks to each stop; the reference steps there."""
    words, regs, stops = drawn
    pair = Pair(Case(words, regs, seed=len(words)))
    for stop in stops:
        pair.advance(stop)
        pair.assert_agree()
        if pair.engine.state.status != Status.RUNNING:
            break


@pytest.mark.parametrize("op", [0x28, 0x29, 0x2A, 0x2B, 0x2E])  # SB SH SWL SW SWR
@pytest.mark.parametrize("in_slot", [False, True])
def test_every_store_width_into_running_code(op: int, in_slot: bool) -> None:
    """Unicorn stores SWL/SWR byte by byte and reports a failed byte only after the next
    instruction: the engine must stop at the store all the same (found by the random
    programs), also inside a delay slot."""
    store = i_type(op, 4, 8, 13)  # into word 3, at byte 1
    addiu_v0 = i_type(0x09, 2, 2, 1)
    first = i_type(0x04, 0, 0, 1) if in_slot else addiu_v0  # beq $0,$0,+1: word 3
    words = [first, store, addiu_v0, addiu_v0, addiu_v0, addiu_v0]
    regs = [0] * 32
    regs[4], regs[8] = CODE, 0x2442_7711
    pair = Pair(Case(words, regs))
    for target in (1, 2, 3, 5):
        pair.advance(target)
        pair.assert_agree()


#: Seeds of the targeted random programs run by default (FLEXEMU_PROGRAM_SEEDS=N for more).
PROGRAM_SEEDS = int(os.environ.get("FLEXEMU_PROGRAM_SEEDS") or 200)


def _targeted_word(rng: random.Random, n: int) -> int:
    """Mostly what hurts: stores into the code, every branch form, register jumps to
    aligned, odd and kseg0/kseg1 targets, syscalls, words the reference rejects."""
    def reg() -> int:
        return rng.choice([0, 2, 4, 5, 6, 8, 9, 10, 16, 25, 31, rng.randrange(32)])

    kind = rng.random()
    if kind < 0.25:
        return rng.choice([r_type(0x21, reg(), reg(), reg()), r_type(0x2A, reg(), reg(), reg()),
                           i_type(0x09, reg(), reg(), rng.randrange(-8, 9)),
                           i_type(0x0D, reg(), reg(), rng.randrange(1 << 16))])
    if kind < 0.45:  # SB SH SWL SW SWR SC
        return i_type(rng.choice([0x28, 0x29, 0x2A, 0x2B, 0x2E, 0x38]), reg(), reg(),
                      rng.randrange(-64, 256))
    if kind < 0.55:  # LB LW LWL LWR LL
        return i_type(rng.choice([0x20, 0x23, 0x22, 0x26, 0x30]), reg(), reg(),
                      rng.randrange(-64, 256))
    if kind < 0.75:
        offset = rng.randrange(-6, 10)
        compares = [i_type(op, reg(), reg(), offset) for op in (4, 5, 6, 7, 0x14, 0x15, 0x16, 0x17)]
        regimms = [regimm(c, reg(), offset) for c in (0, 1, 2, 3, 0x10, 0x11, 0x12, 0x13)]
        jumps = [j_type(rng.choice([2, 3]), CODE + 4 * rng.randrange(n + 4))]
        return rng.choice(compares + regimms + jumps)
    if kind < 0.83:
        return rng.choice([r_type(0x08, reg()), r_type(0x09, reg(), rd=rng.choice([31, reg()]))])
    if kind < 0.88:
        return 0x0000_000C  # SYSCALL
    if kind < 0.92:  # MFC0, RDHWR $2, PMON, JALX, BREAK, TEQ
        return rng.choice([0x4008_6000, 0x7C08_103B, 0x0000_0105, 0x7400_0000 | (CODE >> 2),
                           0x0000_000D, r_type(0x34, reg(), reg())])
    return rng.randrange(1 << 32)


def _targeted_register(rng: random.Random, n: int) -> int:
    kind = rng.random()
    if kind < 0.5:
        return CODE + 4 * rng.randrange(n + 2) + rng.choice([0, 0, 0, 1, 2])
    if kind < 0.6:
        return (CODE + 4 * rng.randrange(n)) | rng.choice([0x8000_0000, 0xA000_0000])
    if kind < 0.7:
        return rng.choice([4001, 4003, 4004, 4246])  # exit, read, write, exit_group
    if kind < 0.8:
        return DATA + rng.randrange(PAGE_BYTES)
    return rng.choice([0, 1, 2, 3, 8, 0xFFFF_FFFF, 0x8000_0000, rng.randrange(1 << 32)])


@pytest.mark.parametrize("seed", range(PROGRAM_SEEDS))
def test_targeted_random_programs_agree(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.choice([16, 48, 128])
    words = [_targeted_word(rng, n) for _ in range(n)]
    regs = [0] + [_targeted_register(rng, n) for _ in range(31)]
    pair = Pair(Case(words, regs, seed=seed))
    for stop in sorted({rng.randrange(1, 600) for _ in range(rng.randrange(1, 6))}):
        pair.advance(stop)
        pair.assert_agree()
        if pair.engine.state.status != Status.RUNNING:
            break
