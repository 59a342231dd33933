"""The Solidity verifier against the reference stepper, on real program steps.

For a step n, `prove(emulator, n)` gives the pre-state witness and the leaf proofs; the
oracle is the reference: `flexemu.proof.check` (the step replayed from the proof alone) and
the emulator's own state at n + 1 (the next proof's pre-state). `MipsVerifier.stepFrom`, the
compiled contract running in py-evm, must return the same post-state hash, byte for byte.

Coverage: every step of the small programs and of a static-glibc start-up (`exitcode`);
every syscall of `stdin_echo`; for the long programs, the first occurrence of every
instruction class (opcode with its function field, syscall number, nullified delay slot)
found by a reference scan, plus seeded random positions; and the terminal fixed points.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import pytest
from conftest import EVERY_STEP

from arbitration.chain.errors import ChainError
from arbitration.chain.in_process import InProcessChain
from arbitration.contracts.deploy import deploy_verifier
from arbitration.contracts.verifier import Verifier
from flexemu.emulator import Emulator
from flexemu.isa.mips.state import State, Status, VMStatus
from flexemu.isa.mips.step import _rs, _rt, _sa
from flexemu.memory import Memory
from flexemu.merkle import DEPTH
from flexemu.proof import StepProof, check, prove
from tests.proof_forgery import genuine

#: Steps of a long program scanned for instruction classes: the start-up and the main work
#: begin in the first, output and exit are in the last.
SCAN_HEAD = 200_000
SCAN_TAIL = 20_000
#: Random positions checked per long program, on top of the class representatives.
RANDOM_STEPS = 40
#: Non-syscall steps of stdin_echo checked in the default suite.
STDIN_ECHO_SAMPLE = 150

InstructionClass = tuple


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    """One chain and one deployed verifier for the whole module."""
    return deploy_verifier(InProcessChain.fresh())


def instruction_class(state: State, memory: Memory) -> InstructionClass:
    """What kind of step the state's next step is: the unit of coverage."""
    pc = state.pc
    if pc & 1:
        return ("nullified delay slot",)
    if pc & 3 or pc >= 0x80000000:
        return ("unusual fetch", pc)
    word = memory.read_word(pc, "big")
    op, funct = word >> 26, word & 63
    if op == 0x00:
        if funct == 0x0C:
            return ("syscall", state.regs[2])
        return ("special", funct)
    if op == 0x01:
        return ("regimm", _rt(word))
    if op == 0x11:
        return ("cop1", _rs(word))
    if op == 0x1C:
        return ("special2", funct)
    if op == 0x1F:
        return ("special3", funct, _sa(word) if funct == 0x20 else 0)
    return ("opcode", op)


def scan(emulator: Emulator, start: int, stop: int) -> Iterator[tuple[int, InstructionClass]]:
    """(step, class of that step) for the steps in [start, stop), by the reference stepper."""
    machine = emulator.machine_at(start)
    state = machine.state
    while state.step < stop and state.status == Status.RUNNING:
        yield state.step, instruction_class(state, machine.memory)
        machine.step()


def first_of_each_class(emulator: Emulator) -> dict[InstructionClass, int]:
    """The first step of each class in the head and in the tail of the trace."""
    end = emulator.final.step
    first: dict[InstructionClass, int] = {}
    for start, stop in ((0, SCAN_HEAD), (max(end - SCAN_TAIL, SCAN_HEAD), end)):
        for step, kind in scan(emulator, start, stop):
            first.setdefault(kind, step)
    return first


def assert_agrees(verifier: Verifier, claim: StepProof, what: str) -> bytes:
    """The EVM's post-state hash is the reference's; returns it."""
    reference = check(claim.witness, claim.proof).hash()
    assert reference == claim.post_state_hash, f"{what}: proof generation and check differ"
    try:
        evm = verifier.step_from(claim.pre_state_hash, claim.witness, claim.proof)
    except ChainError as error:
        pytest.fail(f"{what}: the verifier rejects a valid proof: {error}")
    assert evm == reference, (
        f"{what}: EVM post-state 0x{evm.hex()} != reference 0x{reference.hex()} "
        f"(pre-state {State.from_witness(claim.witness)})"
    )
    return evm


def assert_steps_agree(
    verifier: Verifier, emulator: Emulator, name: str, steps: list[int]
) -> None:
    """Each step in `steps` (ascending) agrees; consecutive steps also chain: the EVM's
    post-state of n is the emulator's pre-state of n + 1."""
    previous: tuple[int, bytes] | None = None
    for n in steps:
        claim = prove(emulator, n)
        if previous is not None and previous[0] == n - 1:
            assert claim.pre_state_hash == previous[1], f"{name}: step {n - 1} -> {n}"
        previous = (n, assert_agrees(verifier, claim, f"{name} step {n}"))


# ------------------------------------------------------------------ every step


@pytest.mark.parametrize("name", EVERY_STEP)
def test_every_step(
    name: str, verifier: Verifier, finished_emulator: Callable[[str], Emulator]
) -> None:
    emulator = finished_emulator(name)
    end = emulator.final.step
    assert_steps_agree(verifier, emulator, name, list(range(end + 1)))


@pytest.mark.slow
def test_every_step_of_stdin_echo(
    verifier: Verifier, finished_emulator: Callable[[str], Emulator]
) -> None:
    emulator = finished_emulator("stdin_echo")
    assert_steps_agree(verifier, emulator, "stdin_echo", list(range(emulator.final.step + 1)))


# ------------------------------------------------------------------ sampled steps


def test_stdin_echo_syscalls_and_sample(
    verifier: Verifier, finished_emulator: Callable[[str], Emulator]
) -> None:
    emulator = finished_emulator("stdin_echo")
    classes = list(scan(emulator, 0, emulator.final.step))
    syscalls = [step for step, kind in classes if kind[0] == "syscall"]
    numbers = {kind[1] for _, kind in classes if kind[0] == "syscall"}
    # The program reads its input and echoes it: both directions are on the trace.
    assert {4003, 4004, 4246} <= numbers, sorted(numbers)
    others = [step for step, kind in classes if kind[0] != "syscall"]
    sample = random.Random(3).sample(others, STDIN_ECHO_SAMPLE)
    assert_steps_agree(verifier, emulator, "stdin_echo", sorted(syscalls + sample))


@pytest.mark.parametrize("name", ["sort", "loop"])
def test_every_instruction_class_of_long_programs(
    name: str, verifier: Verifier, finished_emulator: Callable[[str], Emulator]
) -> None:
    emulator = finished_emulator(name)
    first = first_of_each_class(emulator)
    assert len(first) > 20, sorted(first)  # a real program uses dozens of instruction kinds
    assert ("syscall", 4246) in first, sorted(first)  # the tail scan reached exit_group
    rng = random.Random(name)
    spots = {rng.randrange(emulator.final.step) for _ in range(RANDOM_STEPS)}
    assert_steps_agree(verifier, emulator, name, sorted(set(first.values()) | spots))


# ------------------------------------------------------------------ terminal states


@pytest.mark.parametrize(
    ("name", "vm_status"),
    [
        ("hello", VMStatus.EXITED_ZERO),
        ("exitcode", VMStatus.EXITED_NONZERO),
        ("trap", VMStatus.PANICKED),
    ],
)
def test_terminal_state_is_a_fixed_point(
    name: str,
    vm_status: VMStatus,
    verifier: Verifier,
    finished_emulator: Callable[[str], Emulator],
    expected: Callable[[str], dict],
) -> None:
    emulator = finished_emulator(name)
    claim = prove(emulator, emulator.final.step)
    assert claim.proof == b""
    assert claim.pre_state_hash[0] == vm_status
    assert verifier.step_from(claim.pre_state_hash, claim.witness, b"") == claim.pre_state_hash
    assert verifier.step(claim.witness, b"") == claim.pre_state_hash
    if vm_status != VMStatus.PANICKED:
        assert claim.witness[149] == expected(name)["exit_code"] & 0xFF
    # A terminal step touches no memory: a genuine proof of any leaf is one leaf too many.
    final = emulator.machine_at(claim.step)
    some_proof = genuine(final.memory, final.input_memory, [final.state.pc >> 5], [], DEPTH)
    with pytest.raises(ChainError) as caught:
        verifier.step_from(claim.pre_state_hash, claim.witness, some_proof)
    assert caught.value.name == "LeafUnused"
