"""Fixed-width integer helpers: the vocabulary of the instruction semantics."""

MASK32 = 0xFFFFFFFF
MASK64 = (1 << 64) - 1


def u32(value: int) -> int:
    return value & MASK32


def s32(value: int) -> int:
    """Interpret the low 32 bits of `value` as a two's-complement number."""
    value &= MASK32
    return value - (1 << 32) if value & 0x80000000 else value


def sext16(value: int) -> int:
    """Sign-extend a 16-bit immediate to a 32-bit unsigned word."""
    value &= 0xFFFF
    return value | 0xFFFF0000 if value & 0x8000 else value


def sext8(value: int) -> int:
    value &= 0xFF
    return value | 0xFFFFFF00 if value & 0x80 else value


def split64(value: int) -> tuple[int, int]:
    """(hi, lo) words of a 64-bit value."""
    value &= (1 << 64) - 1
    return value >> 32, value & MASK32


def join64(hi: int, lo: int) -> int:
    return (hi << 32) | lo
