"""Which chain a command plays on: a node at a JSON-RPC URL, or a fresh one in process.

The one place that reads `$FLEXEMU_PRIVATE_KEY`: a node that keeps no keys (a public one)
gets its transactions signed by that key; otherwise the node's unlocked accounts sign.
"""

from __future__ import annotations

import os

from arbitration.chain.base import Chain
from arbitration.chain.in_process import InProcessChain
from arbitration.chain.rpc import Reporter, RetryPolicy, RpcChain

PRIVATE_KEY_ENV = "FLEXEMU_PRIVATE_KEY"


def connect(
    rpc_url: str, *, on_incident: Reporter | None = None, policy: RetryPolicy | None = None
) -> RpcChain:
    """The chain at `rpc_url`, signing with $FLEXEMU_PRIVATE_KEY if it is set."""
    return RpcChain(
        rpc_url,
        policy=policy or RetryPolicy(),
        private_key=os.environ.get(PRIVATE_KEY_ENV) or None,
        on_incident=on_incident,
    )


def open_chain(rpc_url: str | None = None) -> Chain:
    """The chain `check --onchain` runs against.

    This is the seam for `--rpc-url URL` (a later issue): a JSON-RPC chain goes here,
    and the rest of the check does not change. Until then it is always a fresh
    in-process py-evm chain.
    """
    if rpc_url is not None:
        raise ValueError("--rpc-url is not supported yet: on-chain checks run in process")
    return InProcessChain.fresh()
