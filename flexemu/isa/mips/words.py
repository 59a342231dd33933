"""MIPS32 word access over the shared leaf protocol (`flexemu.leafio`): the ISA's byte order
(big-endian) lives here, not in the shared step I/O, which moves whole 32-byte leaves only."""

from __future__ import annotations

from flexemu.leafio import LeafIO
from flexemu.merkle import LEAF_BYTES

_OFFSET = LEAF_BYTES - 1


def read_word(io: LeafIO, paddr: int) -> int:
    """The big-endian word at 4-aligned physical `paddr` (one leaf touched)."""
    offset = paddr & _OFFSET
    return int.from_bytes(io.read_leaf(paddr >> 5)[offset : offset + 4], "big")


def write_word(io: LeafIO, paddr: int, value: int) -> None:
    """Store `value` big-endian at 4-aligned physical `paddr` (its leaf read, then written)."""
    index, offset = paddr >> 5, paddr & _OFFSET
    leaf = bytearray(io.read_leaf(index))
    leaf[offset : offset + 4] = value.to_bytes(4, "big")
    io.write_leaf(index, bytes(leaf))
