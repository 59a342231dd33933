"""Step proofs: generate the proof of step N -> N+1, and check one from the proof alone.

A proof file carries the pre-state witness and the leaf proofs the step
consumes, in access order (docs/spec.md, "Step proofs"). Checking replays the
step in `ProofIO` mode, which is exactly what the Solidity verifier mirrors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flexemu.emulator import Emulator
from flexemu.errors import InvalidWitnessError, ProofError
from flexemu.merkle import LEAF_BYTES, PROOF_BYTES, decode_proof
from flexemu.mips.address import StepPanic, aligned
from flexemu.mips.io import ProofIO
from flexemu.mips.step import step
from flexemu.state import WITNESS_BYTES, State, Status, state_hash

FORMAT = "flexemu-step-proof/1"


@dataclass(frozen=True)
class StepProof:
    step: int
    pre_state_hash: bytes
    post_state_hash: bytes
    witness: bytes
    proof: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "step": self.step,
            "pre_state_hash": "0x" + self.pre_state_hash.hex(),
            "post_state_hash": "0x" + self.post_state_hash.hex(),
            "witness": "0x" + self.witness.hex(),
            "proof": "0x" + self.proof.hex(),
        }

    @classmethod
    def from_json(cls, data: Any, file_format: str = FORMAT) -> StepProof:
        """Parse a proof file's object; malformed input is a ValueError naming the field.

        `file_format` is the `format` the file must declare: a proof file's, or another
        format that carries the same fields (a test vector, section 13).
        """
        if not isinstance(data, dict):
            raise ValueError("a proof file holds a JSON object")
        if "format" not in data:
            raise ValueError(f"proof file has no 'format' (expected {file_format!r})")
        if data["format"] != file_format:
            raise ValueError(f"'format' must be {file_format!r}, got {data['format']!r}")
        try:
            return cls(
                step=_integer(data, "step"),
                pre_state_hash=_hex(data, "pre_state_hash", 32),
                post_state_hash=_hex(data, "post_state_hash", 32),
                witness=_hex(data, "witness"),
                proof=_hex(data, "proof"),
            )
        except KeyError as missing:
            raise ValueError(f"proof file has no {missing.args[0]!r}") from None


def _integer(data: dict[str, Any], key: str) -> int:
    value = data[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{key!r} must be a non-negative integer")
    return value


def _hex(data: dict[str, Any], key: str, size: int | None = None) -> bytes:
    value = data[key]
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError(f"{key!r} must be a 0x-prefixed hex string")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise ValueError(f"{key!r} is not valid hex") from None
    if size is not None and len(raw) != size:
        raise ValueError(f"{key!r} must be {size} bytes, got {len(raw)}")
    return raw


def prove(emulator: Emulator, step_number: int) -> StepProof:
    """The proof of the transition from step `step_number` to the next."""
    machine = emulator.machine_at(step_number)
    pre = machine.commit().copy()
    proof = machine.prove_step()
    post = machine.commit()
    return StepProof(step_number, pre.hash(), post.hash(), pre.witness(), proof)


def check(witness: bytes, proof: bytes) -> State:
    """Replay one step from the witness and the proof alone; raise ProofError if invalid."""
    state = State.from_witness(witness)
    io = ProofIO(state.mem_root, state.input_root, proof)
    step(state, io)
    io.finish()
    state.mem_root = io.mem_root
    return state


def fetched_word(witness: bytes, proof: bytes) -> int | None:
    """The instruction word the step fetches, read from its first leaf proof (the fetch is
    the first access, section 10 of docs/spec.md); None when the step fetches nothing (a
    terminal state, a nullified delay slot, a fetch that panics) or the proof does not start
    with the fetched leaf."""
    state = State.from_witness(witness)
    if state.status != Status.RUNNING or state.pc & 1 or len(proof) < PROOF_BYTES:
        return None
    try:
        paddr = aligned(state.pc, 4)
    except StepPanic:
        return None
    index, leaf, _ = decode_proof(proof[:PROOF_BYTES])
    if index != paddr // LEAF_BYTES:
        return None
    offset = paddr % LEAF_BYTES
    return int.from_bytes(leaf[offset : offset + 4], "big")


def check_file(claim: StepProof) -> bytes:
    """Check a proof file's claim; return the post-state hash it proves.

    The checks come in the on-chain verifier's order and carry its error names
    (WitnessLength, WrongPreState, InvalidWitness), so `check` and `check --onchain`
    call the same files invalid for the same reason.
    """
    if len(claim.witness) != WITNESS_BYTES:
        raise ProofError(
            f"WitnessLength({len(claim.witness)}): a witness is {WITNESS_BYTES} bytes"
        )
    if state_hash(claim.witness) != claim.pre_state_hash:
        raise ProofError(
            "WrongPreState: wrong pre-state, the witness does not hash to pre_state_hash"
        )
    try:
        pre = State.from_witness(claim.witness)
    except InvalidWitnessError as error:
        raise ProofError(f"InvalidWitness({error.field}): {error}") from None
    post = check(claim.witness, claim.proof).hash()
    check_step_number(claim, pre)
    if post != claim.post_state_hash:
        raise ProofError(
            f"post-state mismatch: the step yields 0x{post.hex()}, "
            f"the file claims 0x{claim.post_state_hash.hex()}"
        )
    return post


def check_step_number(claim: StepProof, pre: State) -> None:
    """The file's `step` is the witness's step counter, or any later step when the witness is
    terminal (a fixed point: its counter stops at the step that ended the program)."""
    if claim.step == pre.step or (pre.status != Status.RUNNING and claim.step > pre.step):
        return
    raise ProofError(f"the file's step {claim.step} disagrees with the witness, at step {pre.step}")


def dumps(claim: StepProof) -> str:
    return json.dumps(claim.to_json(), indent=2) + "\n"
