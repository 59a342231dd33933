"""The hash of a signed EIP-1559 (type 2) transaction, without an EVM library.

Why: a game report names each move's transaction by its hash; the revm host must give the
same hash py-evm's path gives for the same transaction (same key, nonce, fees, gas, chain
id), and importing py-evm to build it would cost the ~0.35 s start-up the revm host exists to
avoid. EIP-1559 and EIP-2718 fix the encoding: the signature covers
``keccak(0x02 || rlp([chain_id, nonce, max_priority_fee_per_gas, max_fee_per_gas, gas, to,
value, data, access_list]))`` and the transaction hash is ``keccak(0x02 || rlp([...the same
nine fields, y_parity, r, s]))``. eth-keys signs deterministically (RFC 6979), as py-evm's
transaction builder does through the same library.
"""

from __future__ import annotations

import rlp
from eth_keys import keys
from eth_utils import keccak

DYNAMIC_FEE_TYPE = b"\x02"


def dynamic_fee_transaction_hash(
    key: keys.PrivateKey,
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
    equal to the maximum fee), signed by `key`; `to` is b"" for a deployment."""
    fields = [chain_id, nonce, fee_per_gas, fee_per_gas, gas, to, value, data, []]
    signature = key.sign_msg_hash(keccak(DYNAMIC_FEE_TYPE + rlp.encode(fields)))
    return keccak(DYNAMIC_FEE_TYPE + rlp.encode([*fields, signature.v, signature.r, signature.s]))
