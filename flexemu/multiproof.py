"""The step-proof encoding: one Merkle multi-proof per tree, for every ISA (docs/spec.md
section 10).

A step touches a few leaves (an instruction leaf, a data leaf, an input leaf, ...). One full
path per leaf repeats the siblings the paths share and sends the hashes of empty subtrees,
which a verifier can derive; under EIP-7623 every such byte is paid for. A multi-proof sends
each leaf once, in ascending index order, and only the siblings the fold over those leaves
needs, each once; a bitmap marks the needed siblings that are the empty-subtree hash Z[h],
which are not sent. The fold is a pure function of the leaf indices, so both sides agree on
which siblings are needed, in which order, without any index being sent for them.

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

#: The sibling a fold needs next: called with (height, index of the node missing its sibling).
SiblingSource = Callable[[int, int], bytes]


def max_leaves(depth: int) -> int:
    """Leaves one tree section may carry: the bitmap word must hold every needed sibling
    (at most `depth` per leaf), and the header nibble must hold the count."""
    return min(COUNT_LIMIT, BITMAP_BITS // depth)


def fold(
    depth: int, indices: Sequence[int], values: Sequence[bytes], sibling: SiblingSource
) -> bytes:
    """The root over the leaves `values` at the ascending `indices`.

    Level by level from the leaves up, nodes in ascending order: a node whose sibling is
    also a node of the level is hashed with it; any other node asks `sibling` for the hash
    of its sibling (the order of those calls is the order siblings are encoded in)."""
    nodes = list(zip(indices, values, strict=True))
    for height in range(depth):
        parents = []
        at = 0
        while at < len(nodes):
            index, value = nodes[at]
            if not index & 1 and at + 1 < len(nodes) and nodes[at + 1][0] == index + 1:
                parent = keccak256(value + nodes[at + 1][1])
                at += 2
            else:
                other = sibling(height, index)
                parent = keccak256(other + value) if index & 1 else keccak256(value + other)
                at += 1
            parents.append((index >> 1, parent))
        nodes = parents
    return nodes[0][1]


@dataclass(frozen=True)
class TreeProof:
    """The leaves a step touches in one tree, with what a verifier needs to fold them up.

    `siblings` holds every sibling the fold needs, in fold order, the derivable ones
    (Z[h]) included; `root` is the root the leaves and siblings fold to."""

    indices: tuple[int, ...]
    leaves: tuple[bytes, ...]
    siblings: tuple[bytes, ...]
    root: bytes

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
        if value == ZERO_HASHES[height]:
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
            value = ZERO_HASHES[height]
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
    return TreeProof(tuple(indices), leaves, tuple(siblings), root), cursor


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
