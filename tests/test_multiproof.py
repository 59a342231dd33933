"""The multi-proof encoding alone (flexemu/multiproof.py, docs/spec.md section 10), for any
depth: sections fold to the root of an independent sparse tree, carry each needed sibling
once and no empty-subtree hash, and every rule of the layout is enforced."""

from __future__ import annotations

import random

import pytest

from flexemu.errors import ProofError
from flexemu.keccak import keccak256
from flexemu.multiproof import (
    decode,
    decode_tree,
    encode,
    encode_tree,
    max_leaves,
    spans,
    zero_hash,
)


def levels_of(leaves: dict[int, bytes], depth: int) -> list[dict[int, bytes]]:
    """Every non-empty node of the sparse tree, level by level (independent of the fold)."""
    levels = [dict(leaves)]
    for height in range(depth):
        below, above = levels[-1], {}
        for parent in {index >> 1 for index in below}:
            left = below.get(2 * parent, zero_hash(height))
            right = below.get(2 * parent + 1, zero_hash(height))
            above[parent] = keccak256(left + right)
        levels.append(above)
    return levels


def section_of(leaves: dict[int, bytes], chosen: list[int], depth: int) -> bytes:
    levels = levels_of(leaves, depth)
    paths = [[levels[h].get((i >> h) ^ 1, zero_hash(h)) for h in range(depth)] for i in chosen]
    values = [leaves.get(i, bytes(32)) for i in chosen]
    return encode_tree(depth, chosen, values, paths)


@pytest.mark.parametrize("depth", [1, 5, 16, 27, 32])
@pytest.mark.parametrize("seed", range(6))
def test_sections_fold_to_the_sparse_root(depth: int, seed: int) -> None:
    rng = random.Random(f"{depth}-{seed}")
    size = 1 << depth
    stored = {rng.randrange(size): rng.randbytes(32) for _ in range(rng.randrange(1, 12))}
    root = levels_of(stored, depth)[depth].get(0, zero_hash(depth))
    pool = sorted(set(stored) | {rng.randrange(size) for _ in range(3)})
    chosen = sorted(rng.sample(pool, min(len(pool), rng.randrange(1, max_leaves(depth) + 1))))
    section = section_of(stored, chosen, depth)
    tree, end = decode_tree(section, 0, len(chosen), depth)
    assert end == len(section) and tree.root == root and list(tree.indices) == chosen
    # Each needed sibling once; the sent ones are exactly those that are not Z[h].
    assert len(section) == 36 * len(chosen) + 32 + 32 * tree.sent
    assert tree.sent == sum(
        1 for s in tree.siblings if s not in {zero_hash(h) for h in range(depth)}
    )
    # The same siblings fold new leaf values to the root of the changed tree.
    news = [rng.randbytes(32) for _ in chosen]
    changed = {**stored, **dict(zip(chosen, news, strict=True))}
    assert tree.root_with(depth, news) == levels_of(changed, depth)[depth][0]


def test_a_lone_leaf_in_empty_memory_sends_no_sibling() -> None:
    section = section_of({}, [12345], 27)
    assert len(section) == 4 + 32 + 32
    assert decode_tree(section, 0, 1, 27)[0].root == zero_hash(27)


def test_adjacent_leaves_share_their_siblings() -> None:
    stored = {i: bytes([i % 251 + 1]) * 32 for i in range(0, 4096, 3)}
    one = section_of(stored, [1000], 27)
    five = section_of(stored, [1000, 1001, 1002, 1003, 1004], 27)
    sent_one = (len(one) - 36 - 32) // 32
    sent_five = (len(five) - 5 * 36 - 32) // 32
    assert sent_five <= sent_one + 2  # 1000..1004 span three height-1 and two height-2 nodes


def proof_of(stored: dict[int, bytes], chosen: list[int]) -> bytes:
    return encode(section_of(stored, chosen, 27), len(chosen), b"", 0)


def rejects(proof: bytes, message: str) -> None:
    with pytest.raises(ProofError, match=message):
        decode(proof, 27)


def test_layout_rules() -> None:
    stored = {7: b"\x01" * 32, 900: b"\x02" * 32, 70000: b"\x03" * 32}
    proof = proof_of(stored, [7, 900, 70000])
    assert decode(proof, 27)[0].indices == (7, 900, 70000)
    first, second = (f for f in spans(proof, 27) if f.kind == "index" and f.number < 2)
    rejects(b"\x00", r"ProofMalformed\(0\)")
    rejects(bytes([0xA0]) + proof[1:], r"ProofMalformed\(0\)")  # 10 leaves > 256 // 27
    rejects(proof[:1] + (1 << 27).to_bytes(4, "big") + proof[5:], r"ProofMalformed\(1\)")
    rejects(proof[:5] + proof[1:5] + proof[9:], rf"ProofMalformed\({second.start}\)")  # dup
    rejects(proof[:1] + proof[5:9] + proof[1:5] + proof[9:], rf"ProofMalformed\({second.start}\)")
    bitmap = next(f for f in spans(proof, 27) if f.kind == "bitmap")
    rejects(
        proof[: bitmap.end - 1] + bytes([proof[bitmap.end - 1] | 1]) + proof[bitmap.end :],
        rf"ProofMalformed\({bitmap.start}\)",
    )
    rejects(proof[:-1], "ProofTruncated")
    rejects(proof[: bitmap.start + 3], "ProofTruncated")
    rejects(proof + b"\0", r"ProofOversized\(1\)")
    rejects(bytes([0x31]) + proof[1:], "ProofTruncated")  # an input section promised, absent
    assert first.start == 1


def test_encode_refuses_more_leaves_than_the_bitmap_holds() -> None:
    with pytest.raises(ValueError, match="at most 9"):
        section_of({}, list(range(10)), 27)
