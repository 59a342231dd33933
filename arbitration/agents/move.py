"""What one transaction of a party did, as the chain saw it: the record agents return and the
simulation's outcome, report and narration read. Plain data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: Who sent a move ("anyone": a timeout or resolve called by a third party).
Actor = Literal["proposer", "challenger", "anyone"]


@dataclass(frozen=True)
class Move:
    """One transaction in the game, successful or reverted."""

    index: int  # 0-based order of the move within the game
    actor: Actor  # who sent it ("anyone" for a timeout called by a third party)
    action: str  # "propose" | "challenge" | "bisect" | "respond" | "step" | "timeout" | "resolve"
    lo: int  # the interval after the move: both agree at step lo ...
    hi: int  # ... and disagree at step hi
    position: int | None = None  # the step the move is about (the midpoint of a bisect/respond)
    state_hash: bytes | None = None  # the hash a bisect posts
    agree: bool | None = None  # a respond's answer
    gas: int = 0  # the receipt's gasUsed
    clocks: tuple[int, int] = (0, 0)  # seconds left on (proposer, challenger) after the move
    timestamp: int = 0  # block timestamp
    tx_hash: bytes = b""
    reverted: str | None = None  # the decoded revert reason, if the transaction failed
