"""Step proofs: generate the proof of step N -> N+1, and check one from the proof alone.

A proof file carries the pre-state witness and the step proof: one Merkle
multi-proof of the leaves the step touches per tree (docs/spec.md section 10,
`flexemu.multiproof`). Checking replays the step in `ProofIO` mode, which is
exactly what the Solidity verifier mirrors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flexemu.access import ProofIO
from flexemu.emulator import Emulator
from flexemu.errors import InvalidWitnessError, ProofError
from flexemu.isa import Isa, isa_named, isa_of_witness_size, names
from flexemu.status import Status

FORMAT = "flexemu-step-proof/2"


@dataclass(frozen=True)
class StepProof:
    step: int
    pre_state_hash: bytes
    post_state_hash: bytes
    witness: bytes
    proof: bytes
    isa: str | None = None  # the ISA's name; None in files that predate the key (mips32)

    @property
    def machine(self) -> Isa:
        """The ISA the claim is about: the file's `isa`, else the one its witness size names."""
        return isa_named(self.isa) if self.isa is not None else isa_of_witness(self.witness)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "step": self.step,
            "pre_state_hash": "0x" + self.pre_state_hash.hex(),
            "post_state_hash": "0x" + self.post_state_hash.hex(),
            "witness": "0x" + self.witness.hex(),
            "proof": "0x" + self.proof.hex(),
            **({"isa": self.isa} if self.isa is not None else {}),
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
                isa=_isa(data),
            )
        except KeyError as missing:
            raise ValueError(f"proof file has no {missing.args[0]!r}") from None


def _isa(data: dict[str, Any]) -> str | None:
    if "isa" not in data:
        return None
    value = data["isa"]
    if value not in names():
        raise ValueError(f"'isa' must be one of {', '.join(names())}, got {value!r}")
    return str(value)


def isa_of_witness(witness: bytes) -> Isa:
    """The ISA whose witness has this size (each ISA's differs); mips32 for any other size,
    whose check then fails on the length, as it always did."""
    isa = isa_of_witness_size(len(witness))
    return isa if isa is not None else isa_named("mips32")


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
    return StepProof(
        step_number, pre.hash(), post.hash(), pre.witness(), proof, emulator.isa.name
    )


def check(witness: bytes, proof: bytes, isa: Isa | None = None) -> Any:
    """Replay one step from the witness and the proof alone; raise ProofError if invalid.

    The post-state comes back with its `mem_root` recomputed from the proofs."""
    isa = isa if isa is not None else isa_of_witness(witness)
    state = isa.from_witness(witness)
    io = ProofIO(state.mem_root, state.input_root, proof, isa.tree_depth)
    isa.step(state, io)
    io.finish()
    state.mem_root = io.mem_root
    return state


def fetched_word(witness: bytes, proof: bytes, isa: Isa | None = None) -> int | None:
    """The instruction a step fetches, read from its proof (None: it fetches nothing)."""
    isa = isa if isa is not None else isa_of_witness(witness)
    return isa.fetched_instruction(witness, proof)


def check_file(claim: StepProof) -> bytes:
    """Check a proof file's claim; return the post-state hash it proves.

    The checks come in the on-chain verifier's order and carry its error names
    (WitnessLength, WrongPreState, InvalidWitness), so `check` and `check --onchain`
    call the same files invalid for the same reason.
    """
    isa = claim.machine
    if len(claim.witness) != isa.witness_bytes:
        raise ProofError(
            f"WitnessLength({len(claim.witness)}): a {isa.name} witness is "
            f"{isa.witness_bytes} bytes"
        )
    if isa.state_hash(claim.witness) != claim.pre_state_hash:
        raise ProofError(
            "WrongPreState: wrong pre-state, the witness does not hash to pre_state_hash"
        )
    try:
        pre = isa.from_witness(claim.witness)
    except InvalidWitnessError as error:
        raise ProofError(f"InvalidWitness({error.field}): {error}") from None
    post = check(claim.witness, claim.proof, isa).hash()
    check_step_number(claim, pre)
    if post != claim.post_state_hash:
        raise ProofError(
            f"post-state mismatch: the step yields 0x{post.hex()}, "
            f"the file claims 0x{claim.post_state_hash.hex()}"
        )
    return post


def check_step_number(claim: StepProof, pre: Any) -> None:
    """The file's `step` is the witness's step counter, or any later step when the witness is
    terminal (a fixed point: its counter stops at the step that ended the program)."""
    if claim.step == pre.step or (pre.status != Status.RUNNING and claim.step > pre.step):
        return
    raise ProofError(f"the file's step {claim.step} disagrees with the witness, at step {pre.step}")


def dumps(claim: StepProof) -> str:
    return json.dumps(claim.to_json(), indent=2) + "\n"
