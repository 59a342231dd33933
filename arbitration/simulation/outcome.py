"""What a simulated dispute produced: the moves as the chain saw them, and the verdict.

The simulator (`arbitration.simulator`) builds an `Outcome` from receipts and
events only; the narration, the JSON report and the bisection picture read it.
Everything here is plain data, so a report is a pure function of an outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Party = Literal["proposer", "challenger"]
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


@dataclass(frozen=True)
class StepResolution:
    """The one instruction the verifier executed to end the game."""

    step: int  # the disputed step: from state `step` to state `step + 1`
    pre_state_hash: bytes
    claimed_post_state_hash: bytes  # the proposer's hash at step + 1
    verifier_post_state_hash: bytes  # what the verifier computed
    pc: int
    instruction: int | None  # the word at pc (None for a nullified delay slot or a final state)
    submitted_by: Party
    gas: int


@dataclass(frozen=True)
class Outcome:
    """The result of one dispute, as the report shows it."""

    scenario: str
    chain: str  # e.g. "py-evm 0.12.1b1 (cancun, in process)"
    game: str  # the game contract's address
    trace_length: int  # the proposer's claimed N
    claimed_state_hash: bytes  # the proposer's claimed state at N
    winner: Party | None  # None if the game did not resolve
    reason: str  # "step" | "timeout" | "unchallenged"
    disputed_step: int | None
    moves: tuple[Move, ...]
    resolution: StepResolution | None = None
    gas: dict[str, int] = field(default_factory=dict)  # total gasUsed per actor
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per phase
