"""The in-process chain's py-evm chain and accounts, built as eth-tester 0.14 builds them,
without importing eth-tester.

Why: eth-tester's module imports eth-account, eth-keyfile and py_ecc (~0.8 s of start-up) and
the in-process chain needs nothing of it to start: the genesis is a handful of constants. The
chain made here is the one ``PyEVMBackend(genesis_state=generate_genesis_state(num_accounts=n),
vm_configuration=((0, PragueVM),))`` makes, field for field (accounts with private keys 1..n
and 1,000,000 ether each, eth-tester's chain id, post-merge genesis header, a constant block gas
limit), so every block hash, transaction hash and gas figure is the same (a test compares the
two genesis blocks). eth-tester itself attaches to this chain later, when a path needs web3.
"""

from __future__ import annotations

import time
from typing import Any

from eth.chains.base import MiningChain
from eth.consensus import ConsensusApplier, NoProofConsensus
from eth.constants import (
    BLANK_ROOT_HASH,
    POST_MERGE_DIFFICULTY,
    POST_MERGE_MIX_HASH,
    POST_MERGE_NONCE,
)
from eth.db import get_db_backend
from eth.vm.forks import PragueVM
from eth_keys import keys

from arbitration.chain.accounts import (
    GENESIS_BALANCE,
    GENESIS_GAS_LIMIT,
    TESTER_CHAIN_ID,
    account_keys,
)

__all__ = ["GENESIS_BALANCE", "GENESIS_GAS_LIMIT", "TESTER_CHAIN_ID", "account_keys"]

VM_CONFIGURATION = ((0, PragueVM),)


class TesterChain(MiningChain):
    """eth-tester's ``MainnetTesterPosChain``: Prague from genesis, no proof of work, the gas
    limit of every block its parent's."""

    chain_id = TESTER_CHAIN_ID
    vm_configuration = ConsensusApplier(NoProofConsensus).amend_vm_configuration(
        VM_CONFIGURATION
    )

    def create_header_from_parent(self, parent_header: Any, **header_params: Any) -> Any:
        header_params["gas_limit"] = parent_header.gas_limit
        return super().create_header_from_parent(parent_header, **header_params)

    def get_transaction_builder(self) -> Any:
        return super().get_vm().get_transaction_builder()


def genesis_chain(
    signing_keys: tuple[keys.PrivateKey, ...], genesis_timestamp: int | None = None
) -> TesterChain:
    """A fresh chain whose genesis funds every key's account (timestamp: now by default)."""
    params = {
        "coinbase": bytes(20),
        "difficulty": POST_MERGE_DIFFICULTY,
        "extra_data": b"",
        "gas_limit": GENESIS_GAS_LIMIT,
        "mix_hash": POST_MERGE_MIX_HASH,
        "nonce": POST_MERGE_NONCE,
        "receipt_root": BLANK_ROOT_HASH,
        "timestamp": int(time.time()) if genesis_timestamp is None else genesis_timestamp,
        "transaction_root": BLANK_ROOT_HASH,
    }
    state = {
        key.public_key.to_canonical_address(): {
            "balance": GENESIS_BALANCE,
            "storage": {},
            "code": b"",
            "nonce": 0,
        }
        for key in signing_keys
    }
    return TesterChain.from_genesis(get_db_backend(), params, state)
