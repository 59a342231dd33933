"""Forged step proofs against the deployed verifier: never the honest result, always consensus.

Why: in the step phase of a dispute the loser's last resort is a forged
proof. Two things must hold for every forgery, on the real EVM:

1. Soundness: `stepFrom(honest_pre, witness', proof')` reverts with a named
   custom error of the kind the mutation calls for (WrongPreState for a changed
   witness, MerkleProofInvalid for a changed leaf or sibling, the structural
   errors for a broken encoding or length), or returns a post-state that is not the
   honest post-state. It never returns the honest post-state for a forgery.
2. Consensus: for any input at all, `step(witness', proof')` on the EVM and
   `flexemu.proof.check` (the off-chain replay every agent uses) agree: both
   reject, or both accept with the same post-state hash. A witness change that
   still checks (a register, the step counter) yields a different but
   well-defined post-state, which both must compute alike.

The honest proofs are real steps of shipped programs, chosen to touch every
way a step consumes proofs: a fetch-only ALU step, a load and a store in
another leaf than the instruction, LL, a succeeding SC, SDC1, a read syscall
(fetch, input leaf, memory leaf), a write syscall, a taken branch, the exit
syscall and a trap panic. Each is mutated byte by byte: every byte of the
witness (one bit flipped, the bit varying with the position), and every byte
class of the step proof (tests/proof_forgery.py: header, indices, leaves,
bitmap, siblings, cuts and extensions, the encoding's rules broken, genuine
proofs of the wrong leaf set, the next step's proof). Where both reject, the
EVM's error must be the reference's first error, by name. The `slow` variant
flips every bit of the witness and every byte of the proof.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import pairwise

import pytest
from step_cases import (
    PROOF_ERRORS,
    Verifier,
    deploy_verifier,
    evm_outcome,
    python_outcome,
)

from flexemu.emulator import Emulator
from flexemu.isa.mips.address import translate
from flexemu.isa.mips.bits import sext16, u32
from flexemu.isa.mips.state import WITNESS_BYTES, State, Status
from flexemu.merkle import DEPTH
from flexemu.multiproof import leaf_counts
from flexemu.proof import StepProof, prove
from flexemu.reference import ReferenceMachine
from tests.proof_forgery import (
    byte_forgeries,
    leaf_set_forgeries,
    reference_outcome,
    rule_forgeries,
)
from tests.proof_forgery import length_forgeries as proof_length_forgeries

# Witness byte ranges (docs/spec.md section 2) whose change a verifier may also report as
# an invalid witness rather than a wrong pre-state: status and regs[0].
STATUS_BYTE = 148
REG0 = range(150, 154)


@dataclass(frozen=True)
class Forgery:
    """A mutated (witness, proof) and the errors `stepFrom(honest_pre, ...)` may revert with."""

    what: str
    witness: bytes
    proof: bytes
    allowed: frozenset[str]


# ---------------------------------------------------------------- the honest steps


def _opcode(state: State, memory_word: Callable[[int], int]) -> int | None:
    return memory_word(state.pc) if state.pc & 3 == 0 and state.pc < 0xC000_0000 else None


def _effective_leaf(state: State, word: int) -> int:
    return translate(u32(state.regs[(word >> 21) & 31] + sext16(word))) >> 5


# name -> (program, predicate on (pre-state, instruction word, memory word reader))
Predicate = Callable[[State, int, Callable[[int], int]], bool]
WANTED: dict[str, tuple[str, Predicate]] = {
    "alu": ("tiny_sum", lambda s, w, m: w >> 26 == 0 and w & 63 == 0x21),  # ADDU
    "load": ("stdin_echo", lambda s, w, m: w >> 26 == 0x23
             and _effective_leaf(s, w) != s.pc >> 5),
    "store": ("stdin_echo", lambda s, w, m: w >> 26 == 0x2B
              and _effective_leaf(s, w) != s.pc >> 5),
    "ll": ("stdin_echo", lambda s, w, m: w >> 26 == 0x30),
    "sc": ("stdin_echo", lambda s, w, m: w >> 26 == 0x38
           and u32(s.regs[(w >> 21) & 31] + sext16(w)) == s.ll_addr
           and m(s.ll_addr) == s.ll_value),
    "sdc1": ("stdin_echo", lambda s, w, m: w >> 26 == 0x3D),
    "read": ("stdin_echo", lambda s, w, m: w == 0x0C and s.regs[2] == 4003 and s.regs[4] == 0
             and s.regs[6] > 0 and s.input_pos < s.input_len),
    "write": ("stdin_echo", lambda s, w, m: w == 0x0C and s.regs[2] == 4004
              and s.regs[6] > 0),
    "branch": ("tiny_sum", lambda s, w, m: w >> 26 == 0x05 and s.regs[(w >> 21) & 31]
               != s.regs[(w >> 16) & 31]),  # BNE taken
    "exit": ("hello", lambda s, w, m: w == 0x0C and s.regs[2] in (4001, 4246)),
    "trap": ("trap", lambda s, w, m: w >> 26 == 0 and w & 63 == 0x34
             and s.regs[(w >> 21) & 31] == s.regs[(w >> 16) & 31]),  # TEQ that traps
}
# The proofs the default suite mutates at every witness byte; the others at every field.
FULL_WITNESS = ("read", "sc")


def find_step(emulator: Emulator, predicate: Predicate) -> int:
    """The first step of `emulator`'s program whose pre-state satisfies `predicate`."""
    machine = emulator.machine_at(0)
    memory = machine.memory

    def word_at(vaddr: int) -> int:
        return memory.read_word(translate(vaddr), "big")

    while machine.state.status == Status.RUNNING:
        state = machine.state
        word = _opcode(state, word_at)
        if word is not None and predicate(state, word, word_at):
            return state.step
        machine.step()
    raise AssertionError("no step of the program matches")


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return deploy_verifier()


@pytest.fixture(scope="module")
def honest(finished_emulator: Callable[[str], Emulator]) -> dict[str, StepProof]:
    claims = {}
    for name, (program, predicate) in WANTED.items():
        emulator = finished_emulator(program)
        claims[name] = prove(emulator, find_step(emulator, predicate))
    return claims


def test_the_honest_steps_are_what_they_claim(honest: dict[str, StepProof],
                                              verifier: Verifier) -> None:
    """Each chosen step touches the leaves its name says, and the EVM proves it."""
    leaves = {name: sum(leaf_counts(claim.proof)) for name, claim in honest.items()}
    assert leaves == {"alu": 1, "load": 2, "store": 2, "ll": 2, "sc": 2, "sdc1": 2, "read": 3,
                      "write": 2, "branch": 1, "exit": 1, "trap": 1}
    for name, claim in honest.items():
        assert python_outcome(claim.witness, claim.proof) == claim.post_state_hash, name
        assert verifier.step_from(claim.pre_state_hash, claim.witness, claim.proof) == \
            claim.post_state_hash, name
        assert verifier.step(claim.witness, claim.proof) == claim.post_state_hash, name
    assert honest["exit"].post_state_hash[0] in (0, 1)  # exited
    assert honest["trap"].post_state_hash[0] == 2  # panicked


# ---------------------------------------------------------------- mutations


def flip(data: bytes, position: int, bit: int) -> bytes:
    return data[:position] + bytes([data[position] ^ (1 << bit)]) + data[position + 1 :]


def witness_forgeries(claim: StepProof, bits: range | None = None) -> Iterator[Forgery]:
    """One bit flipped in every witness byte (`bits`: every bit of every byte)."""
    for position in range(WITNESS_BYTES):
        allowed = {"WrongPreState"}
        if position == STATUS_BYTE or position in REG0:
            allowed.add("InvalidWitness")
        for bit in bits if bits is not None else (position % 8,):
            yield Forgery(f"witness byte {position} bit {bit}", flip(claim.witness, position, bit),
                          claim.proof, frozenset(allowed))


def leaf_proof_forgeries(claim: StepProof, every_byte: bool = False) -> Iterator[Forgery]:
    """A bit of every header, index and bitmap byte, and of bytes of every leaf and sibling."""
    for forgery in byte_forgeries(claim.proof, DEPTH, every_byte):
        yield Forgery(forgery.what, claim.witness, forgery.proof, forgery.allowed)


def length_forgeries(claim: StepProof) -> Iterator[Forgery]:
    for forgery in proof_length_forgeries(claim.proof, DEPTH):
        yield Forgery(forgery.what, claim.witness, forgery.proof, forgery.allowed)
    for size in (0, WITNESS_BYTES - 1, WITNESS_BYTES + 1):
        short = (claim.witness + bytes(1))[:size]
        yield Forgery(f"witness of {size} bytes", short, claim.proof,
                      frozenset({"WitnessLength", "WrongPreState"}))


def structural_forgeries(claim: StepProof, neighbour: StepProof,
                         machine: ReferenceMachine) -> Iterator[Forgery]:
    """The encoding's rules broken, and genuine proofs of the wrong leaf set.

    `machine` is at the claim's pre-state: it makes genuine proofs of other leaf sets
    (one leaf fewer, one more, the trees' sets swapped), which fold to the right roots
    but do not carry exactly the leaves the step touches.
    """
    for forgery in (*rule_forgeries(claim.proof, DEPTH),
                    *leaf_set_forgeries(claim.proof, DEPTH, machine.memory,
                                        machine.input_memory)):
        yield Forgery(forgery.what, claim.witness, forgery.proof, forgery.allowed)
    if neighbour.proof != claim.proof:
        yield Forgery("the next step's proof", claim.witness, neighbour.proof,
                      frozenset({"MerkleProofInvalid", "LeafNotProven", "LeafUnused"}))


# ---------------------------------------------------------------- judging


def judge(verifier: Verifier, claim: StepProof, forgery: Forgery,
          both_calls: bool = True) -> str | None:
    """What is wrong with the verifiers' handling of `forgery`, or None if nothing is.

    With `both_calls` False, a forgery of the proof alone (the witness is honest) is
    judged from `stepFrom` only: it then runs exactly what `step` runs.
    """
    problems = []
    honest_from = evm_outcome(
        lambda: verifier.step_from(claim.pre_state_hash, forgery.witness, forgery.proof)
    )
    if honest_from == claim.post_state_hash:
        problems.append("stepFrom(honest pre) returned the honest post-state")
    elif isinstance(honest_from, str) and honest_from not in forgery.allowed:
        problems.append(f"stepFrom reverted {honest_from}, expected one of "
                        f"{sorted(forgery.allowed)}")
    python = python_outcome(forgery.witness, forgery.proof)
    if both_calls or forgery.witness != claim.witness:
        evm = evm_outcome(lambda: verifier.step(forgery.witness, forgery.proof))
    else:
        evm = honest_from
    accepted_evm, accepted_python = isinstance(evm, bytes), isinstance(python, bytes)
    if accepted_evm != accepted_python or (accepted_evm and evm != python):
        shown = evm.hex() if isinstance(evm, bytes) else evm
        theirs = python.hex() if isinstance(python, bytes) else python
        problems.append(f"consensus: EVM step {shown}, Python check {theirs}")
    named = reference_outcome(forgery.witness, forgery.proof)
    if isinstance(named, str) and named in PROOF_ERRORS and evm != named:
        problems.append(f"consensus: EVM reverts {evm}, the reference names {named}")
    if not accepted_evm and not evm.startswith("unnamed") and evm not in (
        PROOF_ERRORS | {"WitnessLength", "InvalidWitness"}
    ):
        problems.append(f"step reverted with an unexpected error {evm}")
    return "; ".join(problems) or None


def assert_all_judged(verifier: Verifier, claim: StepProof, forgeries: Iterator[Forgery],
                      both_calls: bool = True) -> int:
    failures, count = [], 0
    for forgery in forgeries:
        count += 1
        problem = judge(verifier, claim, forgery, both_calls)
        if problem:
            failures.append(f"{forgery.what}: {problem}")
    assert not failures, f"{len(failures)} of {count} forgeries mishandled:\n  " + \
        "\n  ".join(failures[:40])
    return count


NAMES = list(WANTED)


@pytest.mark.parametrize("name", NAMES)
def test_witness_forgeries(verifier: Verifier, honest: dict[str, StepProof], name: str) -> None:
    claim = honest[name]
    forgeries = witness_forgeries(claim)
    if name not in FULL_WITNESS:  # every field: its first and last byte
        forgeries = (f for f in forgeries if int(f.what.split()[2]) in FIELD_EDGES)
    assert_all_judged(verifier, claim, forgeries)


# First and last byte of every witness field (docs/spec.md section 2).
FIELD_BOUNDS = [0, 32, 64, 96, 100, 104, 108, 112, 116, 120, 124, 128, 132, 136, 140, 148, 149,
                *range(150, 278, 4), 278, *range(282, 410, 4), 410]
FIELD_EDGES = frozenset(
    b for start, end in pairwise(FIELD_BOUNDS) for b in (start, end - 1)
)


@pytest.mark.parametrize("name", NAMES)
def test_leaf_proof_forgeries(verifier: Verifier, honest: dict[str, StepProof],
                              name: str) -> None:
    claim = honest[name]
    assert_all_judged(verifier, claim, leaf_proof_forgeries(claim), both_calls=False)


@pytest.mark.parametrize("name", NAMES)
def test_length_and_structural_forgeries(verifier: Verifier, honest: dict[str, StepProof],
                                         finished_emulator: Callable[[str], Emulator],
                                         name: str) -> None:
    claim = honest[name]
    emulator = finished_emulator(WANTED[name][0])
    neighbour = prove(emulator, min(claim.step + 1, emulator.final.step))
    machine = emulator.machine_at(claim.step)
    count = assert_all_judged(verifier, claim, length_forgeries(claim))
    count += assert_all_judged(verifier, claim, structural_forgeries(claim, neighbour, machine))
    assert count >= 7


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_bit_and_byte_forgery(verifier: Verifier, honest: dict[str, StepProof],
                                    name: str) -> None:
    claim = honest[name]
    assert_all_judged(verifier, claim, witness_forgeries(claim, bits=range(8)))
    assert_all_judged(verifier, claim, leaf_proof_forgeries(claim, every_byte=True))
