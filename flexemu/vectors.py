"""Step test vectors: real step proofs grouped by what the step does, plus forged ones.

A verifier written elsewhere (Foundry, Hardhat, another language) is only as good as
the steps it was tried on. This module picks, from a real trace, the first few steps
of every kind (each instruction class, each syscall, each panic, the nullified
delay slot, the terminal fixed point). It also derives forged proofs that a correct
verifier must reject with a named error. The format is docs/spec.md section 13.

Classification is a pure function of (pre-state, instruction word, post-state), so
the same names come out of a full-memory scan (`scan`) and out of a proof alone
(`classify_proof`), which the gas benchmark uses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from flexemu.multiproof import TREE_NAMES, spans
from flexemu.proof import StepProof, check, fetched_word
from flexemu.reference import ReferenceMachine
from flexemu.status import Status

FORMAT = "flexemu-step-vector/2"
INDEX_FORMAT = "flexemu-step-vector-index/1"
INVALID_DIR = "invalid"

#: The custom errors of the on-chain verifier the forged vectors expect, in file order.
EXPECTED_ERRORS = (
    "WrongPreState",
    "MerkleProofInvalid",
    "ProofMalformed",
    "ProofTruncated",
    "ProofOversized",
)


# ---------------------------------------------------------------- classification


def classify_proof(claim: StepProof) -> tuple[str, str | None]:
    """(class, disassembly) of a proof's step, from the proof alone.

    The instruction is in the first leaf proof(s), since the fetch is the first
    access (spec 10). The post-state comes from replaying the proof.
    """
    isa = claim.machine
    pre = isa.from_witness(claim.witness)
    post = check(claim.witness, claim.proof, isa)
    instruction = fetched_word(claim.witness, claim.proof, isa)
    return isa.classify(pre, instruction, post), isa.instruction_text(pre, instruction)


@dataclass(frozen=True)
class Seen:
    """One classified step of a scan."""

    step: int
    cls: str
    instruction: str | None


def scan(
    machine: ReferenceMachine, limit: int, progress: Callable[[int], None] | None = None
) -> Iterator[Seen]:
    """Step `machine` up to step `limit`, classifying each step as it is taken.

    A terminal state yields one "fixed-point" entry (the step from it) and ends the
    scan; it is always reported, even at or past `limit`. The instruction text is
    filled in for every step, so callers should keep only what they need.
    """
    state, isa = machine.state, machine.isa
    while True:
        if state.status != Status.RUNNING:
            yield Seen(state.step, "fixed-point", None)
            return
        if state.step >= limit:
            return
        pre = state.copy()
        instruction = isa.next_instruction(pre, machine.memory)
        machine.step()
        yield Seen(
            pre.step, isa.classify(pre, instruction, state), isa.instruction_text(pre, instruction)
        )
        if progress is not None and state.step % 4096 == 0:
            progress(state.step)


def first_per_class(seen: Iterable[Seen], per_class: int) -> list[Seen]:
    """The first `per_class` steps of every class, in step order."""
    counts: dict[str, int] = {}
    kept = []
    for item in seen:
        if counts.get(item.cls, 0) < per_class:
            counts[item.cls] = counts.get(item.cls, 0) + 1
            kept.append(item)
    return kept


# ---------------------------------------------------------------- forged proofs


@dataclass(frozen=True)
class Forgery:
    expect_error: str
    description: str
    claim: StepProof


def _flip(data: bytes, position: int) -> bytes:
    raw = bytearray(data)
    raw[position] ^= 0x01
    return bytes(raw)


def forge(claim: StepProof) -> list[Forgery]:
    """One forgery per `EXPECTED_ERRORS`, from a valid proof that carries at least one leaf.

    Each changes one thing, so that exactly one check fails first in any verifier that
    follows section 10's order: the witness, then the proof's structure (truncated,
    malformed, oversized), then the roots. The Merkle forgery changes a sent sibling of
    the last tree section (a leaf byte if it sends none), so a verifier must walk the
    whole proof to get there.
    """
    depth = claim.machine.tree_depth
    fields = spans(claim.proof, depth)
    if not fields:
        raise ValueError("forgeries need a step whose proof carries at least one leaf")
    last_tree = fields[-1].tree
    target = [f for f in fields if f.tree == last_tree and f.kind in ("sibling", "leaf")][-1]
    bitmap = [f for f in fields if f.kind == "bitmap"][-1]
    register = claim.machine.forgery_byte  # the low byte of t0 in the witness
    return [
        Forgery(
            "WrongPreState",
            "one witness byte (register t0) changed; pre_state_hash kept",
            _replace(claim, witness=_flip(claim.witness, register)),
        ),
        Forgery(
            "MerkleProofInvalid",
            f"one byte of the last {target.kind} of the {TREE_NAMES[last_tree]} section changed",
            _replace(claim, proof=_flip(claim.proof, target.start + 7)),
        ),
        Forgery(
            "ProofMalformed",
            f"the last bit of the {TREE_NAMES[last_tree]} section's bitmap set (beyond its "
            "needed siblings)",
            _replace(claim, proof=_flip(claim.proof, bitmap.end - 1)),
        ),
        Forgery(
            "ProofTruncated",
            "the proof's last byte removed",
            _replace(claim, proof=claim.proof[:-1]),
        ),
        Forgery(
            "ProofOversized",
            "one zero byte appended",
            _replace(claim, proof=claim.proof + b"\0"),
        ),
    ]


def _replace(claim: StepProof, **changes: bytes) -> StepProof:
    fields = {name: getattr(claim, name) for name in StepProof.__dataclass_fields__}
    return StepProof(**{**fields, **changes})


def forgery_source(vectors: Iterable[tuple[Seen, StepProof]]) -> tuple[Seen, StepProof] | None:
    """The valid vector the forgeries start from: the earliest with the longest proof."""
    best = None
    for seen, claim in vectors:
        if claim.proof and (best is None or len(claim.proof) > len(best[1].proof)):
            best = (seen, claim)
    return best


# ---------------------------------------------------------------- files


def vector_json(cls: str, instruction: str | None, claim: StepProof) -> dict[str, Any]:
    """A vector: the proof file's fields (section 10) under its own format, with its class."""
    proof_fields = claim.to_json()
    del proof_fields["format"]
    proof_fields.pop("isa", None)
    return {"format": FORMAT, "class": cls, "instruction": instruction, **proof_fields}


def invalid_json(forgery: Forgery, cls: str, instruction: str | None) -> dict[str, Any]:
    return {
        **vector_json(cls, instruction, forgery.claim),
        "expect_error": forgery.expect_error,
        "description": forgery.description,
    }


#: The relative paths `vector_path` and `invalid_path` produce, and nothing else: the only
#: files a rerun may remove, whatever an index on disk says.
VECTOR_FILE = re.compile(r"[a-z0-9][a-z0-9_-]*/(?:[A-Za-z]+-)?[0-9]+\.json")


def listed_files(index: Any, where: str) -> set[str]:
    """The vector files an earlier run's index lists, checked to be names this module writes.

    The index is input like any other: it may be damaged or hostile. An entry that is not
    a vector path (absolute, `..`, any other name) makes the whole index malformed, so a
    rerun never deletes a file it did not write.
    """
    if not isinstance(index, dict) or index.get("format") != INDEX_FORMAT:
        raise ValueError(f"{where}: not a vector index ({INDEX_FORMAT})")
    files = set()
    for key in ("vectors", "invalid"):
        entries = index.get(key, [])
        if not isinstance(entries, list):
            raise ValueError(f"{where}: malformed vector index: {key!r} is not a list")
        for position, entry in enumerate(entries):
            name = entry.get("file") if isinstance(entry, dict) else None
            if not isinstance(name, str) or not VECTOR_FILE.fullmatch(name):
                raise ValueError(
                    f"{where}: malformed vector index: {key}[{position}] does not name a "
                    f"vector file (got {json.dumps(name)})"
                )
            files.add(name)
    return files


def vector_path(cls: str, step: int) -> str:
    """Where a vector lives, relative to the output directory (always `/`-separated)."""
    return f"{cls}/{step}.json"


def invalid_path(expect_error: str, step: int) -> str:
    return f"{INVALID_DIR}/{expect_error}-{step}.json"


def dumps(data: dict[str, Any]) -> str:
    """Deterministic bytes: fixed key order as built, two-space indent, final newline."""
    return json.dumps(data, indent=2) + "\n"
