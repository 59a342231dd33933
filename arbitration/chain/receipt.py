"""A transaction receipt: what later code needs of one, the same from every backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Receipt:
    """The parts of a transaction receipt later code needs, plus the raw web3 receipt."""

    tx_hash: bytes
    status: int
    gas_used: int
    block_number: int
    contract_address: str | None
    logs: tuple = ()
    raw: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any) -> Receipt:
        """From a web3 receipt (the same shape from py-evm and from a JSON-RPC node)."""
        return cls(
            tx_hash=bytes(raw["transactionHash"]),
            status=raw["status"],
            gas_used=raw["gasUsed"],
            block_number=raw["blockNumber"],
            contract_address=raw.get("contractAddress"),
            logs=tuple(raw["logs"]),
            raw=raw,
        )
