"""The game's and the factory's events, decoded straight from raw logs by their topic
(without web3's per-event ``process_receipt`` scans) into :class:`GameEvent` records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from arbitration.chain.abi_codec import decode as abi_decode
from arbitration.chain.abi_codec import event_topic
from arbitration.chain.artifacts import load_artifact
from arbitration.chain.hexdata import to_checksum_address

GAME_ARTIFACT = "DisputeGame"
FACTORY_ARTIFACT = "DisputeGameFactory"

# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GameEvent:
    """One decoded log: ``name`` is the Solidity event name, ``args`` its named arguments
    (bytes32 as bytes, addresses checksummed, enums as ints)."""

    name: str
    args: dict[str, Any]
    address: str
    block_number: int
    log_index: int

    @property
    def key(self) -> tuple[int, int]:
        return (self.block_number, self.log_index)


class EventDecoder:
    """topic0 -> event ABI for the game and the factory; decodes raw logs directly."""

    def __init__(self) -> None:
        self._events: dict[bytes, dict] = {}
        for artifact in (GAME_ARTIFACT, FACTORY_ARTIFACT):
            for entry in load_artifact(artifact)["abi"]:
                if entry.get("type") == "event":
                    self._events[event_topic(entry)] = entry

    def decode(self, log: Any) -> GameEvent | None:
        """The event of one web3 log, or None for a log of another contract's event."""
        topics = [bytes(t) for t in log["topics"]]
        entry = self._events.get(topics[0]) if topics else None
        if entry is None:
            return None
        indexed = [i for i in entry["inputs"] if i["indexed"]]
        plain = [i for i in entry["inputs"] if not i["indexed"]]
        args: dict[str, Any] = {}
        for item, topic in zip(indexed, topics[1:], strict=True):
            args[item["name"]] = _topic_value(item["type"], topic)
        data = bytes(log["data"])
        values = abi_decode([i["type"] for i in plain], data) if plain else ()
        for item, value in zip(plain, values, strict=True):
            args[item["name"]] = to_checksum_address(value) if item["type"] == "address" else value
        return GameEvent(
            name=entry["name"],
            args=args,
            address=to_checksum_address(log["address"]),
            block_number=int(log["blockNumber"]),
            log_index=int(log["logIndex"]),
        )

    def decode_all(self, logs: Any) -> list[GameEvent]:
        events = (self.decode(log) for log in logs)
        return [e for e in events if e is not None]


def _topic_value(kind: str, topic: bytes) -> Any:
    if kind == "address":
        return to_checksum_address(topic[12:])
    if kind.startswith(("uint", "int")) or kind == "bool":
        return int.from_bytes(topic, "big")
    return topic
