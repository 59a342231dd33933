"""Addresses and hex data as the chain layer spells them: EIP-55 checksummed strings, 20 raw
bytes, ``0x`` hex.

Why not eth-utils: see `arbitration.chain.abi_codec` (its import costs more than half of a
plain run). EIP-55: the hex digit at position i is upper case when nibble i of
keccak256(lowercase hex) is 8 or more.
"""

from __future__ import annotations

from flexemu.keccak import keccak256


def to_canonical_address(value: str | bytes) -> bytes:
    """The 20 bytes of an address given as bytes or as a 0x hex string (any case)."""
    if isinstance(value, (bytes, bytearray)):
        if len(value) != 20:
            raise ValueError(f"an address has 20 bytes, got {len(value)}")
        return bytes(value)
    text = value[2:] if value[:2] in ("0x", "0X") else value
    if len(text) != 40:
        raise ValueError(f"not an address: {value!r}")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"not an address: {value!r}") from None


def to_checksum_address(value: str | bytes) -> str:
    """The EIP-55 spelling of an address."""
    lower = to_canonical_address(value).hex()
    hashed = keccak256(lower.encode()).hex()
    digits = zip(lower, hashed[:40], strict=True)
    return "0x" + "".join(c.upper() if int(h, 16) >= 8 else c for c, h in digits)


def hex_to_bytes(text: str) -> bytes:
    """The bytes of ``0x`` hex (an odd digit count gets a leading zero, as eth-utils reads it)."""
    digits = text[2:] if text[:2] in ("0x", "0X") else text
    return bytes.fromhex(digits.rjust(len(digits) + len(digits) % 2, "0"))
