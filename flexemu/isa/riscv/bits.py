"""Fixed-width integer helpers: registers hold unsigned XLEN-bit values."""

from __future__ import annotations

MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF


def mask(xlen: int) -> int:
    return (1 << xlen) - 1


def sext(value: int, bits: int) -> int:
    """The signed value of the low `bits` bits of `value`."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def signed(value: int, xlen: int) -> int:
    """A register's unsigned XLEN-bit value read as two's complement."""
    return sext(value, xlen)


def unsigned(value: int, xlen: int) -> int:
    """Any Python int wrapped to an unsigned XLEN-bit register value."""
    return value & ((1 << xlen) - 1)


def sext32(value: int, xlen: int) -> int:
    """The low 32 bits sign-extended to XLEN (the result rule of every *W instruction)."""
    return unsigned(sext(value, 32), xlen)


def bit(word: int, position: int) -> int:
    return (word >> position) & 1


def field(word: int, high: int, low: int) -> int:
    """Bits high..low of `word`, as an unsigned number."""
    return (word >> low) & ((1 << (high - low + 1)) - 1)
