"""The hash of a signed EIP-1559 (type 2) transaction, and the address of a key, without an
EVM library.

Why: a game report names each move's transaction by its hash; the revm host must give the
same hash py-evm's path gives for the same transaction (same key, nonce, fees, gas, chain
id), and importing py-evm (or eth-keys and rlp, which import eth-utils) to build it would cost
the start-up the revm host exists to avoid. EIP-1559 and EIP-2718 fix the encoding: the
signature covers ``keccak(0x02 || rlp([chain_id, nonce, max_priority_fee_per_gas,
max_fee_per_gas, gas, to, value, data, access_list]))`` and the transaction hash is
``keccak(0x02 || rlp([...the same nine fields, y_parity, r, s]))``. libsecp256k1 (coincurve)
signs deterministically (RFC 6979) with a low s, as eth-keys does through the same library
for py-evm's transaction builder; `tests/test_typed_transaction.py` checks both agree.
"""

from __future__ import annotations

from coincurve import PrivateKey

from flexemu.keccak import keccak256

DYNAMIC_FEE_TYPE = b"\x02"
RlpItem = int | bytes | list["RlpItem"]


def rlp_encode(item: RlpItem) -> bytes:
    """Recursive-length-prefix encoding (Ethereum yellow paper, appendix B) of integers
    (big-endian, no leading zeros, 0 as the empty string), byte strings and lists."""
    if isinstance(item, list):
        payload = b"".join(rlp_encode(i) for i in item)
        return _length_prefix(len(payload), 0xC0) + payload
    if isinstance(item, int):
        if item < 0:
            raise ValueError("RLP encodes non-negative integers only")
        item = item.to_bytes((item.bit_length() + 7) // 8, "big")
    if len(item) == 1 and item[0] < 0x80:
        return item
    return _length_prefix(len(item), 0x80) + item


def _length_prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(encoded)]) + encoded


def address_of(secret: bytes) -> bytes:
    """The 20-byte account address of a private key: the last 20 bytes of the keccak of its
    uncompressed public key."""
    public = PrivateKey(secret).public_key.format(compressed=False)[1:]
    return keccak256(public)[-20:]


def dynamic_fee_transaction_hash(
    secret: bytes,
    *,
    chain_id: int,
    nonce: int,
    fee_per_gas: int,
    gas: int,
    to: bytes,
    value: int,
    data: bytes,
) -> bytes:
    """The hash of the type-2 transaction with these fields (no access list, the priority fee
    equal to the maximum fee), signed by the private key `secret`; `to` is b"" for a
    deployment."""
    fields: list[RlpItem] = [chain_id, nonce, fee_per_gas, fee_per_gas, gas, to, value, data, []]
    digest = keccak256(DYNAMIC_FEE_TYPE + rlp_encode(fields))
    signature = PrivateKey(secret).sign_recoverable(digest, hasher=None)
    r, s, y_parity = signature[:32], signature[32:64], signature[64]
    signed = [*fields, y_parity, int.from_bytes(r, "big"), int.from_bytes(s, "big")]
    return keccak256(DYNAMIC_FEE_TYPE + rlp_encode(signed))
