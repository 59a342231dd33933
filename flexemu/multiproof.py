"""The step-proof encoding: one Merkle multi-proof per tree, for every ISA (docs/spec.md
section 10).

A step touches a few leaves (an instruction leaf, a data leaf, an input leaf, ...). One full
path per leaf repeats the siblings the paths share and sends the hashes of empty subtrees,
which a verifier can derive; under EIP-7623 every such byte is paid for. A multi-proof sends
each leaf once, in ascending index order, and only the siblings the fold over those leaves
needs, each once; a bitmap marks the needed siblings that are the empty-subtree hash Z[h],
which are not sent. Which siblings the fold needs, and in which order, is a pure function of
the leaf indices, so both sides agree on it without any position being sent.

This module is ISA-neutral: the tree depth comes in as an argument. The Solidity side is
`contracts/src/common/MerkleMemory.sol`, which mirrors `fold` and `decode_tree` step by step
(the same checks in the same order, so both name the same first error).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flexemu.errors import ProofError
from flexemu.keccak import keccak256
from flexemu.merkle import LEAF_BYTES, ZERO_HASHES

INDEX_BYTES = 4
BITMAP_BYTES = 32
BITMAP_BITS = 8 * BITMAP_BYTES
HASH_BYTES = 32
#: The header's two nibbles: memory leaves (high), input leaves (low).
COUNT_LIMIT = 15
TREE_NAMES = ("memory", "input")

_ZERO_HASHES = list(ZERO_HASHES)


def zero_hash(height: int) -> bytes:
    """Z[height], the root of an empty subtree, for a tree of any depth."""
    while len(_ZERO_HASHES) <= height:
        _ZERO_HASHES.append(keccak256(_ZERO_HASHES[-1] * 2))
    return _ZERO_HASHES[height]


#: The sibling a fold needs next: called with (height, index of the node missing its sibling).
SiblingSource = Callable[[int, int], bytes]


def max_leaves(depth: int) -> int:
    """Leaves one tree section may carry: the bitmap word must hold every needed sibling
    (at most `depth` per leaf), and the header nibble must hold the count."""
    return min(COUNT_LIMIT, BITMAP_BITS // depth)


def fold(
    depth: int, indices: Sequence[int], values: Sequence[bytes], sibling: SiblingSource
) -> bytes:
    """The root over the leaves `values` at the strictly ascending `indices`.

    Leaf by leaf, each climbs from the leaf level until its ancestor is the left sibling of
    the next leaf's ancestor (the root, for the last leaf) and waits there on a stack. At
    each height a climbing node takes the waiting node on top of the stack if it waits at
    that height (its left sibling), else it asks `sibling` for the hash beside it: the order
    of those calls is the order siblings are encoded in."""
    waiting: list[tuple[int, bytes]] = []  # (height, hash) of left nodes, highest at the bottom
    count = len(indices)
    for position, (index, node) in enumerate(zip(indices, values, strict=True)):
        following = indices[position + 1] if position + 1 < count else None
        height = 0
        while height < depth and (
            following is None or index >> (height + 1) != following >> (height + 1)
        ):
            if waiting and waiting[-1][0] == height:
                node = keccak256(waiting.pop()[1] + node)
            else:
                other = sibling(height, index >> height)
                node = keccak256(other + node) if index >> height & 1 else keccak256(node + other)
            height += 1
        waiting.append((height, node))
    return waiting[-1][1]


@dataclass(frozen=True)
class TreeProof:
    """The leaves a step touches in one tree, with what a verifier needs to fold them up.

    `siblings` holds every sibling the fold needs, in fold order, the derivable ones
    (Z[h]) included; `root` is the root the leaves and siblings fold to."""

    indices: tuple[int, ...]
    leaves: tuple[bytes, ...]
    siblings: tuple[bytes, ...]
    root: bytes
    bitmap: int = 0

    @property
    def sent(self) -> int:
        """Siblings the section carries: the needed ones whose bitmap bit is 0."""
        return len(self.siblings) - bin(self.bitmap).count("1")

    def root_with(self, depth: int, leaves: Sequence[bytes]) -> bytes:
        """The root after replacing the leaves by `leaves` (same indices, same siblings)."""
        stream = iter(self.siblings)
        return fold(depth, self.indices, leaves, lambda _height, _index: next(stream))


EMPTY_TREE = TreeProof((), (), (), b"")


def encode_tree(
    depth: int, indices: Sequence[int], leaves: Sequence[bytes], paths: Sequence[Sequence[bytes]]
) -> bytes:
    """A tree section from the touched leaves (ascending) and each leaf's full sibling path.

    A needed sibling at height h lies beside the path of every leaf under the node that
    needs it, so it is read from the first such leaf's path."""
    if len(indices) > max_leaves(depth):
        raise ValueError(f"a tree section carries at most {max_leaves(depth)} leaves")
    needed: list[tuple[int, bytes]] = []

    def take(height: int, index: int) -> bytes:
        owner = next(i for i, leaf in enumerate(indices) if leaf >> height == index)
        value = paths[owner][height]
        needed.append((height, value))
        return value

    fold(depth, indices, leaves, take)
    bitmap = 0
    sent = []
    for position, (height, value) in enumerate(needed):
        if value == zero_hash(height):
            bitmap |= 1 << (BITMAP_BITS - 1 - position)
        else:
            sent.append(value)
    return (
        b"".join(index.to_bytes(INDEX_BYTES, "big") for index in indices)
        + b"".join(leaves)
        + bitmap.to_bytes(BITMAP_BYTES, "big")
        + b"".join(sent)
    )


def encode(memory: bytes, memory_count: int, input_section: bytes, input_count: int) -> bytes:
    """A step proof from its two tree sections; no leaf at all is the empty proof."""
    if memory_count == input_count == 0:
        return b""
    return bytes([memory_count << 4 | input_count]) + memory + input_section


def decode_tree(proof: bytes, at: int, count: int, depth: int) -> tuple[TreeProof, int]:
    """The tree section of `count` leaves at `proof[at:]` and the offset just past it.

    Checks, in the verifier's order: the fixed part (indices, leaves, bitmap) is there;
    indices ascend strictly and lie in the tree; then, after the fold, the sent siblings
    are there and no bitmap bit lies beyond the needed siblings."""
    if count == 0:
        return EMPTY_TREE, at
    leaves_at = at + INDEX_BYTES * count
    bitmap_at = leaves_at + LEAF_BYTES * count
    siblings_at = bitmap_at + BITMAP_BYTES
    if len(proof) < siblings_at:
        raise ProofError(f"ProofTruncated: the proof ends inside a {count}-leaf tree section")
    indices = []
    for position in range(count):
        start = at + INDEX_BYTES * position
        index = int.from_bytes(proof[start : start + INDEX_BYTES], "big")
        if index >> depth or (indices and index <= indices[-1]):
            raise ProofMalformed(
                start, f"leaf index {index} is out of the tree or not above the one before"
            )
        indices.append(index)
    leaves = tuple(
        proof[leaves_at + LEAF_BYTES * i : leaves_at + LEAF_BYTES * (i + 1)] for i in range(count)
    )
    bitmap = int.from_bytes(proof[bitmap_at:siblings_at], "big")
    siblings: list[bytes] = []
    cursor = siblings_at

    def read(height: int, _index: int) -> bytes:
        nonlocal cursor
        if bitmap >> (BITMAP_BITS - 1 - len(siblings)) & 1:
            value = zero_hash(height)
        else:
            value = proof[cursor : cursor + HASH_BYTES].ljust(HASH_BYTES, b"\0")
            cursor += HASH_BYTES
        siblings.append(value)
        return value

    root = fold(depth, indices, leaves, read)
    if cursor > len(proof):
        raise ProofError("ProofTruncated: the proof ends inside the siblings of a tree section")
    if (bitmap << len(siblings)) & ((1 << BITMAP_BITS) - 1):
        raise ProofMalformed(
            bitmap_at, f"a bitmap bit is set beyond the {len(siblings)} needed siblings"
        )
    return TreeProof(tuple(indices), leaves, tuple(siblings), root, bitmap), cursor


def decode(proof: bytes, depth: int) -> tuple[TreeProof, TreeProof]:
    """The memory and input sections of a step proof (structure only: roots not compared)."""
    if not proof:
        return EMPTY_TREE, EMPTY_TREE
    header = proof[0]
    memory_count, input_count = header >> 4, header & 0xF
    limit = max_leaves(depth)
    if header == 0 or memory_count > limit or input_count > limit:
        raise ProofMalformed(0, f"header 0x{header:02x}: counts must be 0..{limit}, not both 0")
    memory, at = decode_tree(proof, 1, memory_count, depth)
    input_tree, at = decode_tree(proof, at, input_count, depth)
    if at != len(proof):
        raise ProofError(
            f"ProofOversized({len(proof) - at}): {len(proof) - at} byte(s) after the proof"
        )
    return memory, input_tree


def ProofMalformed(offset: int, why: str) -> ProofError:  # noqa: N802 (named as the verifier's error)
    return ProofError(f"ProofMalformed({offset}): {why}")


def leaf_counts(proof: bytes) -> tuple[int, int]:
    """The memory and input leaf counts a proof's header declares ((0, 0) for the empty proof)."""
    return (proof[0] >> 4, proof[0] & 0xF) if proof else (0, 0)


@dataclass(frozen=True)
class Span:
    """Where one field of an encoded proof lies: `kind` is header, index, leaf, bitmap or
    sibling; `tree` 0 (memory) or 1 (input); `number` counts fields of the kind in the tree."""

    kind: str
    tree: int
    number: int
    start: int
    end: int


def spans(proof: bytes, depth: int) -> list[Span]:
    """Every field of a valid proof, in byte order (what forgers and tests address)."""
    if not proof:
        return []
    result = [Span("header", 0, 0, 0, 1)]
    at = 1
    for tree, section in enumerate(decode(proof, depth)):
        count = len(section.indices)
        if not count:
            continue
        for kind, size, number in (
            ("index", INDEX_BYTES, count),
            ("leaf", LEAF_BYTES, count),
            ("bitmap", BITMAP_BYTES, 1),
            ("sibling", HASH_BYTES, section.sent),
        ):
            for i in range(number):
                result.append(Span(kind, tree, i, at, at + size))
                at += size
    return result


def memory_leaf(proof: bytes, depth: int, index: int) -> bytes | None:
    """The memory leaf `index` as the proof carries it (unverified), or None when the proof
    does not decode or does not carry that leaf: what a tool reads an instruction from."""
    try:
        memory, _ = decode(proof, depth)
    except ProofError:
        return None
    if index not in memory.indices:
        return None
    return memory.leaves[memory.indices.index(index)]
