"""keccak256 through the native pysha3 backend.

Hashing dominates commitment time, and the pure-Python fallback of eth-hash
is about 10x slower than `safe-pysha3`, so the hot paths call it directly.
"""

from sha3 import keccak_256


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte Ethereum keccak256 digest of `data`."""
    return keccak_256(data).digest()
