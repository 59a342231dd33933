"""Forgeries of a step proof's bytes, for any ISA (docs/spec.md section 10's encoding).

Every byte class of the encoding is altered: the header (leaf counts), each leaf index,
each leaf, each bitmap byte (bits within the needed siblings and beyond them), each sent
sibling; the proof is cut at every field boundary and extended; the leaf indices are put
out of order, duplicated and pushed out of the tree; and genuine multi-proofs of another
leaf set (a leaf fewer, a leaf more, the other tree's leaves) replace the honest one. Each
forgery carries the errors a verifier may revert with; `reference_outcome` says what
`flexemu.proof.check` makes of it, by the same error names, so a test can require that the
EVM and the reference reject with the same first error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from flexemu.errors import FlexEmuError, ProofError
from flexemu.memory import Memory
from flexemu.multiproof import decode, encode, encode_tree, leaf_counts, spans
from flexemu.proof import check

STRUCTURE = frozenset({"ProofTruncated", "ProofOversized", "ProofMalformed"})
INVALID = frozenset({"MerkleProofInvalid"})
ACCESS = frozenset({"LeafNotProven", "LeafUnused"})
#: Every revert that means "this proof does not prove this step".
PROOF_ERRORS = STRUCTURE | INVALID | ACCESS
WITNESS_ERRORS = frozenset({"WitnessLength", "InvalidWitness"})


@dataclass(frozen=True)
class ProofForgery:
    what: str
    proof: bytes
    allowed: frozenset[str]


def error_name(error: FlexEmuError) -> str:
    """The verifier error a reference error names (its message starts with the name)."""
    text = str(error)
    return text.split("(")[0].split(":")[0] if isinstance(error, ProofError) else "witness"


def reference_outcome(witness: bytes, proof: bytes) -> bytes | str:
    """The reference's post-state hash, or the name of the error it rejects with."""
    try:
        return check(witness, proof).hash()
    except FlexEmuError as error:
        return error_name(error)


def flip(data: bytes, position: int, bit: int = 0) -> bytes:
    return data[:position] + bytes([data[position] ^ (1 << bit)]) + data[position + 1 :]


def byte_forgeries(proof: bytes, depth: int, every_byte: bool = False) -> Iterator[ProofForgery]:
    """One bit flipped in the bytes of every field: all bytes of the header, the indices and
    the bitmaps; three bytes of every leaf and sent sibling (every byte with `every_byte`)."""
    allowed = {
        "header": PROOF_ERRORS,
        "index": STRUCTURE | INVALID | ACCESS,  # a neighbour with equal content: a valid proof
        "bitmap": STRUCTURE | INVALID,
        "leaf": INVALID,
        "sibling": INVALID,
    }
    for field in spans(proof, depth):
        size = field.end - field.start
        if every_byte or field.kind in ("header", "index", "bitmap"):
            offsets: list[int] = list(range(size))
        else:
            offsets = sorted({0, (7 * field.number + 17) % size, size - 1})
        for offset in offsets:
            at = field.start + offset
            yield ProofForgery(
                f"{field.kind} {field.number} of tree {field.tree}, byte {offset} bit {at % 8}",
                flip(proof, at, at % 8),
                allowed[field.kind],
            )


def length_forgeries(proof: bytes, depth: int) -> Iterator[ProofForgery]:
    """Cut at every field boundary and one byte short; extended by a byte, a zero hash and
    a copy of itself."""
    for cut in sorted({field.start for field in spans(proof, depth)} | {len(proof) - 1}):
        if 0 <= cut < len(proof):
            yield ProofForgery(f"cut to {cut} bytes", proof[:cut], STRUCTURE | ACCESS)
    yield ProofForgery("one zero byte appended", proof + b"\0", STRUCTURE)
    yield ProofForgery("32 zero bytes appended", proof + bytes(32), STRUCTURE)
    if proof:
        yield ProofForgery("the proof twice", proof + proof, STRUCTURE)


def rule_forgeries(proof: bytes, depth: int) -> Iterator[ProofForgery]:
    """The encoding's rules broken one at a time: counts off by one, indices unsorted,
    duplicated or outside the tree, a bitmap bit beyond the needed siblings."""
    if not proof:
        yield ProofForgery("a zero header on an empty step", b"\0", frozenset({"ProofMalformed"}))
        return
    counts = list(leaf_counts(proof))
    for tree, what in enumerate(("memory", "input")):
        for sign in (1, -1):
            changed = list(counts)
            changed[tree] += sign
            if 0 <= changed[tree] <= 0xF:
                header = bytes([changed[0] << 4 | changed[1]])
                yield ProofForgery(f"{what} leaf count {sign:+d}", header + proof[1:], PROOF_ERRORS)
    fields = spans(proof, depth)
    for tree in (0, 1):
        indices = [f for f in fields if f.tree == tree and f.kind == "index"]
        leaves = [f for f in fields if f.tree == tree and f.kind == "leaf"]
        bitmaps = [f for f in fields if f.tree == tree and f.kind == "bitmap"]
        if not indices:
            continue
        last = indices[-1]
        yield ProofForgery(
            f"tree {tree}: last index outside the tree",
            proof[: last.start] + b"\xff\xff\xff\xff" + proof[last.end :],
            frozenset({"ProofMalformed"}),
        )
        yield ProofForgery(
            f"tree {tree}: a bitmap bit beyond the needed siblings",
            flip(proof, bitmaps[0].end - 1),
            frozenset({"ProofMalformed"}),
        )
        if len(indices) >= 2:
            a, b = indices[0], indices[1]
            la, lb = leaves[0], leaves[1]
            swapped = bytearray(proof)
            swapped[a.start : a.end], swapped[b.start : b.end] = (
                proof[b.start : b.end],
                proof[a.start : a.end],
            )
            swapped[la.start : la.end], swapped[lb.start : lb.end] = (
                proof[lb.start : lb.end],
                proof[la.start : la.end],
            )
            yield ProofForgery(
                f"tree {tree}: first two leaves swapped (unsorted)",
                bytes(swapped),
                frozenset({"ProofMalformed"}),
            )
            yield ProofForgery(
                f"tree {tree}: second index equal to the first",
                proof[: b.start] + proof[a.start : a.end] + proof[b.end :],
                frozenset({"ProofMalformed"}),
            )


def genuine(
    memory: Memory,
    input_memory: Memory,
    memory_leaves: list[int],
    input_leaves: list[int],
    depth: int,
) -> bytes:
    """A genuine proof of any leaf sets of the two trees (the trees at the pre-state)."""
    sections = []
    for tree, indices in ((memory, sorted(memory_leaves)), (input_memory, sorted(input_leaves))):
        paths = [tree.path(i) for i in indices]
        sections.append(
            encode_tree(depth, indices, [tree.leaf(i) for i in indices], paths) if indices else b""
        )
    return encode(sections[0], len(memory_leaves), sections[1], len(input_leaves))


def leaf_set_forgeries(
    proof: bytes, depth: int, memory: Memory, input_memory: Memory
) -> Iterator[ProofForgery]:
    """Genuine proofs of the wrong leaf set: one leaf fewer, one more, the trees swapped."""
    mem, inp = (list(section.indices) for section in decode(proof, depth))
    counts = leaf_counts(proof)
    assert counts == (len(mem), len(inp))
    for i in range(len(mem)):
        yield ProofForgery(
            f"memory leaf {mem[i]} left out",
            genuine(memory, input_memory, mem[:i] + mem[i + 1 :], inp, depth),
            frozenset({"LeafNotProven"}),
        )
    for i in range(len(inp)):
        yield ProofForgery(
            f"input leaf {inp[i]} left out",
            genuine(memory, input_memory, mem, inp[:i] + inp[i + 1 :], depth),
            frozenset({"LeafNotProven"}),
        )
    extra = next(i for i in range(max(mem, default=0) + 1, 1 << depth) if i not in mem)
    yield ProofForgery(
        f"memory leaf {extra} added",
        genuine(memory, input_memory, [*mem, extra], inp, depth),
        frozenset({"LeafUnused"}),
    )
    yield ProofForgery(
        "input leaf 0 added" if 0 not in inp else "input leaf 1 added",
        genuine(memory, input_memory, mem, [*inp, 0 if 0 not in inp else max(inp) + 1], depth),
        frozenset({"LeafUnused"}),
    )
    if mem or inp:
        yield ProofForgery(
            "the trees' leaf sets swapped",
            genuine(memory, input_memory, inp, mem, depth),
            INVALID | ACCESS | frozenset({"ProofMalformed"}),
        )


def all_proof_forgeries(
    proof: bytes, depth: int, memory: Memory, input_memory: Memory, every_byte: bool = False
) -> Iterator[ProofForgery]:
    yield from byte_forgeries(proof, depth, every_byte)
    yield from length_forgeries(proof, depth)
    yield from rule_forgeries(proof, depth)
    yield from leaf_set_forgeries(proof, depth, memory, input_memory)
