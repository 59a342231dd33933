"""How a RISC-V step touches memory: through leaf-level IO (flexemu/leafio.py).

An access of up to 8 bytes touches one leaf, or two when it crosses a leaf
boundary, always in ascending address order; instruction fetch is the first
access of a step. The physical space is 32 bits for RV32 and RV64 alike: an
access any byte of which lies at or above 2^32 is a panic, decided by `fits`
before anything is touched. Bytes are stored in address order, so values are
little-endian.
"""

from __future__ import annotations

from flexemu.leafio import LeafIO, read_bytes, write_bytes

__all__ = ["ADDRESS_LIMIT", "LeafIO", "fits", "load", "read_bytes", "store", "write_bytes"]

ADDRESS_LIMIT = 1 << 32  # the physical space committed by the memory tree


def fits(addr: int, length: int) -> bool:
    """Whether bytes addr .. addr+length-1 all lie in the 32-bit physical space."""
    return addr >= 0 and addr + length <= ADDRESS_LIMIT


def load(io: LeafIO, addr: int, width: int) -> int:
    """The unsigned little-endian value of `width` bytes at `addr`; the caller checks `fits`."""
    return int.from_bytes(read_bytes(io, addr, width), "little")


def store(io: LeafIO, addr: int, width: int, value: int) -> None:
    """Store the low `width` bytes of `value` little-endian at `addr`."""
    write_bytes(io, addr, (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little"))
