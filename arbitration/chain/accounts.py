"""The in-process chains' accounts and chain id: eth-tester's, as constants and keys alone.

Why a module of its own: both in-process hosts (py-evm's, `genesis`, and revm's, `revm_host`)
fund the same accounts and sign with the same chain id, so that a game played on either has
the same addresses and transaction hashes; this module imports neither EVM.
"""

from __future__ import annotations

from eth_keys import keys

#: eth-tester's chain id and genesis gas limit (mainnet's at the London fork block).
TESTER_CHAIN_ID = 131277322940537
GENESIS_GAS_LIMIT = 30_029_122
#: Each account's genesis balance: 1,000,000 ether.
GENESIS_BALANCE = 10**24


def account_keys(num_accounts: int) -> tuple[keys.PrivateKey, ...]:
    """eth-tester's default accounts: private keys 1, 2, ... ``num_accounts``."""
    return tuple(keys.PrivateKey(i.to_bytes(32, "big")) for i in range(1, num_accounts + 1))
