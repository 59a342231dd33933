"""How a RISC-V step touches memory and input: whole 32-byte leaves, in access order.

The step never sees memory as words. Every access (instruction fetch, load,
store, syscall buffer) is split into the leaves it covers, in ascending address
order, and each leaf is read (and for a store, written back) whole. An access
of up to 8 bytes therefore touches one leaf, or two when it crosses a leaf
boundary, and a verifier needs one Merkle proof per newly touched leaf.

Two implementations serve this protocol over one code path (proof framing of
docs/spec.md section 10: one proof per newly touched leaf, in access order, the
current leaf reused): `flexemu.mips.io.FullIO` over real memory, recording the
proofs, and `flexemu.mips.io.ProofIO` over the proofs alone, as the verifier.
Bytes are stored in address order, so values are little-endian.
"""

from __future__ import annotations

from typing import Protocol

from flexemu.merkle import LEAF_BYTES

ADDRESS_LIMIT = 1 << 32  # the physical space committed by the memory tree


class LeafIO(Protocol):
    """Memory and input access for one RISC-V step."""

    def read_leaf(self, index: int) -> bytes:
        """The 32 bytes of memory leaf `index` (addresses 32*index .. 32*index+31)."""

    def write_leaf(self, index: int, data: bytes) -> None:
        """Replace memory leaf `index` with 32 bytes."""

    def input_leaf(self, index: int) -> bytes:
        """The 32 bytes of input leaf `index` (input bytes 32*index .. 32*index+31)."""

    def emit(self, fd: int, data: bytes) -> None:
        """See what a write syscall wrote; only its hash is part of the state."""


def fits(addr: int, length: int) -> bool:
    """Whether bytes addr .. addr+length-1 all lie in the 32-bit physical space."""
    return addr >= 0 and addr + length <= ADDRESS_LIMIT


def read_bytes(io: LeafIO, addr: int, length: int) -> bytes:
    """`length` bytes from `addr`, leaf by leaf in ascending order; the caller checks `fits`."""
    out = b""
    while length > 0:
        offset = addr % LEAF_BYTES
        chunk = min(length, LEAF_BYTES - offset)
        out += io.read_leaf(addr // LEAF_BYTES)[offset : offset + chunk]
        addr += chunk
        length -= chunk
    return out


def write_bytes(io: LeafIO, addr: int, data: bytes) -> None:
    """Write `data` at `addr`: each covered leaf is read, merged and written back in turn."""
    while data:
        index, offset = divmod(addr, LEAF_BYTES)
        chunk = min(len(data), LEAF_BYTES - offset)
        leaf = bytearray(io.read_leaf(index))
        leaf[offset : offset + chunk] = data[:chunk]
        io.write_leaf(index, bytes(leaf))
        addr += chunk
        data = data[chunk:]


def load(io: LeafIO, addr: int, width: int) -> int:
    """The unsigned little-endian value of `width` bytes at `addr`."""
    return int.from_bytes(read_bytes(io, addr, width), "little")


def store(io: LeafIO, addr: int, width: int, value: int) -> None:
    """Store the low `width` bytes of `value` little-endian at `addr`."""
    write_bytes(io, addr, (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little"))
