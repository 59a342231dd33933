"""What both in-process chains share: eth-tester's accounts, chain id and fees, as constants
and keys alone, and the blocks' PREVRANDAO.

Why a module of its own: both in-process hosts (py-evm's, `genesis`, and revm's, `revm_host`)
fund the same accounts and sign with the same chain id, so that a game played on either has
the same addresses and transaction hashes; this module imports neither EVM, and the revm host
takes the raw secrets (`account_secrets`) so that it needs no eth-keys either (see
`arbitration.chain.abi_codec` on what eth-utils costs to import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flexemu.keccak import keccak256

if TYPE_CHECKING:
    from eth_keys import keys

#: eth-tester's chain id and genesis gas limit (mainnet's at the London fork block).
TESTER_CHAIN_ID = 131277322940537
GENESIS_GAS_LIMIT = 30_029_122
#: Each account's genesis balance: 1,000,000 ether.
GENESIS_BALANCE = 10**24
#: The fee per gas of every transaction either host sends: eth-tester's defaults for a
#: transaction without fee fields (which is what web3 hands it), so that both hosts and web3
#: build the same transaction, with the same hash.
FEE_PER_GAS = 10**9


def block_prevrandao(number: int) -> bytes:
    """Block `number`'s mix hash (PREVRANDAO): derived from its number, not random as
    eth-tester's, so that a simulation's blocks, and their hashes, repeat exactly on both
    hosts."""
    return keccak256(b"flexemu prevrandao" + number.to_bytes(8, "big"))


def account_secrets(num_accounts: int) -> tuple[bytes, ...]:
    """eth-tester's default accounts' private keys: 1, 2, ... ``num_accounts``, 32 bytes each."""
    return tuple(i.to_bytes(32, "big") for i in range(1, num_accounts + 1))


def account_keys(num_accounts: int) -> tuple[keys.PrivateKey, ...]:
    """The same keys as eth-keys objects, for py-evm's transaction builder."""
    from eth_keys import keys

    return tuple(keys.PrivateKey(secret) for secret in account_secrets(num_accounts))
