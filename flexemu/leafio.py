"""Leaf-level memory access for one step, the protocol every ISA's step can use.

Every access (instruction fetch, load, store, syscall buffer) is split into the
32-byte leaves it covers, in ascending address order, and each leaf is read
(and for a store, written back) whole; a verifier needs every touched leaf
proven once. `flexemu.access.FullIO` (real memory, recording the touched
leaves) and `flexemu.access.ProofIO` (the step proof alone, as the verifier)
implement it with the encoding of docs/spec.md section 10.
"""

from __future__ import annotations

from typing import Protocol

from flexemu.merkle import LEAF_BYTES


class LeafIO(Protocol):
    """Memory and input access for one step."""

    def read_leaf(self, index: int) -> bytes:
        """The 32 bytes of memory leaf `index` (addresses 32*index .. 32*index+31)."""

    def write_leaf(self, index: int, data: bytes) -> None:
        """Replace memory leaf `index` with 32 bytes."""

    def input_leaf(self, index: int) -> bytes:
        """The 32 bytes of input leaf `index` (input bytes 32*index .. 32*index+31)."""

    def emit(self, fd: int, data: bytes) -> None:
        """See what a write syscall wrote; only its hash is part of the state."""


def read_bytes(io: LeafIO, addr: int, length: int) -> bytes:
    """`length` bytes from physical `addr`, leaf by leaf in ascending order."""
    out = b""
    while length > 0:
        offset = addr % LEAF_BYTES
        chunk = min(length, LEAF_BYTES - offset)
        out += io.read_leaf(addr // LEAF_BYTES)[offset : offset + chunk]
        addr += chunk
        length -= chunk
    return out


def write_bytes(io: LeafIO, addr: int, data: bytes) -> None:
    """Write `data` at physical `addr`: each covered leaf is read, merged and written back."""
    while data:
        index, offset = divmod(addr, LEAF_BYTES)
        chunk = min(len(data), LEAF_BYTES - offset)
        leaf = bytearray(io.read_leaf(index))
        leaf[offset : offset + chunk] = data[:chunk]
        io.write_leaf(index, bytes(leaf))
        addr += chunk
        data = data[chunk:]
