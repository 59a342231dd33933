"""Forged RISC-V step proofs against Verifier: never the honest result, always consensus.

As tests/test_verifier_forgery.py does for MIPS: for honest steps that consume proofs in
every way a RISC-V step can (a compressed ALU step, a 4-byte fetch across a leaf boundary,
a load whose 8 bytes span two leaves, a store, lr, a succeeding sc, an AMO, an FP store, a
read syscall with its input leaf, write, sysinfo over four leaves, exit and a panic), every
witness byte (one bit flipped) and every byte class of the proof (tests/proof_forgery.py:
header, indices, leaves, bitmap bits within and beyond the needs, siblings, cuts and
extensions, unsorted/duplicate/out-of-tree indices, genuine proofs of the wrong leaf set)
are forged. Two properties must hold on the EVM:

1. Soundness: `stepFrom(honest_pre, ...)` reverts with a named error of the kind the
   mutation calls for, and never returns the honest post-state for a forgery.
2. Consensus: `step(witness', proof')` and the reference's `flexemu.proof.check` agree: both reject
   (a witness error against WitnessLength/InvalidWitness, a proof error against the Merkle
   and proof-length errors) or both return the same post-state hash.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from arbitration.chain.errors import ChainError
from arbitration.contracts.verifier import Verifier
from flexemu.isa.riscv.compressed import i_type, r_type, s_type
from flexemu.isa.riscv.state import RiscvState, state_hash
from flexemu.memory import Memory
from flexemu.merkle import DEPTH
from flexemu.multiproof import leaf_counts
from tests.proof_forgery import PROOF_ERRORS, WITNESS_ERRORS, all_proof_forgeries
from tests.proof_forgery import reference_outcome as named_outcome
from tests.riscv_support import Machine
from tests.riscv_verifier_support import deploy, evm_outcome, evm_step, reference_outcome

CODE, DATA = 0x10000, 0x20000
REJECTIONS = {"WitnessError": WITNESS_ERRORS, "ProofError": PROOF_ERRORS}
INPUT = bytes(range(1, 80))
FULL_WITNESS = ("read", "sc.w")


@dataclass(frozen=True)
class Honest:
    witness: bytes
    proof: bytes
    post: bytes
    leaves: int


def machine(code: bytes, pc: int = CODE, xlen: int = 64, **regs: int) -> Machine:
    memory = Memory()
    memory.write_bytes(pc, code)
    memory.write_bytes(DATA - 32, bytes((i * 37 + 11) & 0xFF for i in range(256)))
    input_memory = Memory()
    input_memory.write_bytes(0, INPUT)
    state = RiscvState(
        xlen=xlen,
        pc=pc,
        brk=0x30000,
        mmap_next=0x40000000,
        input_len=len(INPUT),
        input_root=input_memory.root(),
        step=77,
    )
    for name, value in regs.items():
        state.x[int(name[1:])] = value
    state.mem_root = memory.root()
    return Machine(state, memory, input_memory)


def le(*words: int) -> bytes:
    return b"".join(w.to_bytes(4, "little") for w in words)


ECALL = le(0x73)
# name -> (machine, the number of leaf proofs its step takes)
STEPS: dict[str, tuple[Machine, int]] = {
    "c.add": (machine((0x9532).to_bytes(2, "little"), x10=5, x12=7), 1),  # c.add a0, a2
    "fetch across leaves": (machine(le(r_type(0x33, 0, 0, 5, 6, 7)), pc=CODE + 30, x6=1, x7=2), 2),
    "ld across leaves": (machine(le(i_type(0x03, 3, 5, 6, 28)), x6=DATA), 3),
    "sw": (machine(le(s_type(0x23, 2, 6, 7, 4)), x6=DATA, x7=0xDEADBEEF), 2),
    "lr.w": (machine(le(r_type(0x2F, 2, 0x08, 5, 6, 0)), x6=DATA), 2),
    "amoadd.d": (machine(le(r_type(0x2F, 3, 0x00, 5, 6, 7)), x6=DATA + 8, x7=3), 2),
    "fsd": (machine(le(s_type(0x27, 3, 6, 7, 0)), x6=DATA + 60), 3),
    "read": (machine(ECALL, x17=63, x10=0, x11=DATA + 3, x12=20), 3),
    "write": (machine(ECALL, x17=64, x10=1, x11=DATA + 5, x12=9), 2),
    "sysinfo": (machine(ECALL, x17=179, x10=DATA + 16), 5),
    "exit": (machine(ECALL, x17=94, x10=3), 1),
    "ebreak": (machine(le(0x00100073)), 1),
}


def _sc_machine() -> Machine:
    m = machine(le(r_type(0x2F, 2, 0x0C, 5, 6, 7)), x6=DATA, x7=0x1234)
    m.state.reservation, m.state.reservation_addr = 4, DATA
    return m


STEPS["sc.w"] = (_sc_machine(), 2)


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return deploy()


@pytest.fixture(scope="module")
def honest(verifier: Verifier) -> dict[str, Honest]:
    proved = {}
    for name, (m, _) in STEPS.items():
        m = m.copy()
        full, witness, proof = evm_step(verifier, m)
        proved[name] = Honest(witness, proof, full.hash(), sum(leaf_counts(proof)))
    return proved


def test_the_honest_steps_are_what_they_claim(honest: dict[str, Honest]) -> None:
    assert {name: h.leaves for name, h in honest.items()} == {
        name: leaves for name, (_, leaves) in STEPS.items()
    }
    assert honest["exit"].post[0] == 1 and honest["ebreak"].post[0] == 2


def flip(data: bytes, position: int, bit: int) -> bytes:
    return data[:position] + bytes([data[position] ^ (1 << bit)]) + data[position + 1 :]


def forgeries(
    name: str, h: Honest, stride: int
) -> Iterator[tuple[str, bytes, bytes, frozenset[str]]]:
    """(what, witness', proof', errors stepFrom(honest pre-state) may revert with); the
    witness bytes forged are every `stride`-th, the proof's as tests/proof_forgery.py says."""
    for position in range(0, len(h.witness), stride):
        allowed = {"WrongPreState"} | (WITNESS_ERRORS if position == 0 else set())
        yield (
            f"witness byte {position}",
            flip(h.witness, position, position % 8),
            h.proof,
            frozenset(allowed),
        )
    pristine = STEPS[name][0]
    for forgery in all_proof_forgeries(h.proof, DEPTH, pristine.memory, pristine.input_memory):
        yield forgery.what, h.witness, forgery.proof, forgery.allowed
    yield "witness one byte short", h.witness[:-1], h.proof, frozenset({"WitnessLength"})
    yield "witness one byte long", h.witness + b"\0", h.proof, frozenset({"WitnessLength"})


def check_forgeries(verifier: Verifier, name: str, h: Honest, stride: int) -> None:
    pre = state_hash(h.witness)
    count = 0
    for what, witness, proof, allowed in forgeries(name, h, stride):
        count += 1
        try:
            got: bytes | str = verifier.step_from(pre, witness, proof)
        except ChainError as error:
            got = str(error.name)
            assert got in allowed, f"{name}, {what}: {got} not in {sorted(allowed)}"
        else:
            assert got != h.post, f"{name}, {what}: a forgery proved the honest post-state"
        # With the honest witness, stepFrom is step; otherwise ask step itself.
        on_chain = got if witness == h.witness else evm_outcome(verifier, witness, proof)
        reference = reference_outcome(witness, proof)
        if isinstance(reference, bytes):
            assert on_chain == reference, f"{name}, {what}: EVM {on_chain!r} != reference"
        else:
            assert on_chain in REJECTIONS[reference], f"{name}, {what}: {on_chain} vs {reference}"
            named = named_outcome(witness, proof)
            if named in PROOF_ERRORS:  # the same first error, by name
                assert on_chain == named, f"{name}, {what}: EVM {on_chain}, reference {named}"
    assert count > len(h.witness) // stride


@pytest.mark.parametrize("name", sorted(STEPS))
def test_forgeries_are_rejected_and_agree(
    name: str, honest: dict[str, Honest], verifier: Verifier
) -> None:
    """Every witness byte of the read and sc steps, every 13th of the others."""
    check_forgeries(verifier, name, honest[name], 1 if name in FULL_WITNESS else 13)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(STEPS))
def test_every_witness_byte_forged(
    name: str, honest: dict[str, Honest], verifier: Verifier
) -> None:
    check_forgeries(verifier, name, honest[name], 1)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        (1, 3, "InvalidWitness"),  # status
        (3, 5, "InvalidWitness"),  # reservation flag
        (127, 1, "InvalidWitness"),  # reservation address without a reservation
        (130, 1, "InvalidWitness"),  # fcsr bit 8+ (byte 130 is bits 15..8)
        (0, 3, "InvalidWitness"),  # ISA tag
        (0, 1, "WitnessLength"),  # a RV64 witness tagged RV32
    ],
)
def test_non_canonical_witnesses_are_rejected(
    field: int, value: int, error: str, honest: dict[str, Honest], verifier: Verifier
) -> None:
    h = honest["c.add"]
    witness = h.witness[:field] + bytes([value]) + h.witness[field + 1 :]
    assert reference_outcome(witness, h.proof) == "WitnessError"
    assert evm_outcome(verifier, witness, h.proof) == error


def test_x0_must_be_zero_and_rv32_has_no_double_reservation(
    honest: dict[str, Honest], verifier: Verifier
) -> None:
    h = honest["c.add"]
    x0 = 132 + 8 + 7  # RV64: pc is 8 bytes, x0's last byte
    witness = flip(h.witness, x0, 0)
    assert evm_outcome(verifier, witness, h.proof) == "InvalidWitness"
    rv32 = machine((0x9532).to_bytes(2, "little"), xlen=32)
    rv32.state.reservation, rv32.state.reservation_addr = 8, DATA
    assert evm_outcome(verifier, rv32.state.witness(), b"") == "InvalidWitness"
    assert reference_outcome(rv32.state.witness(), b"") == "WitnessError"
