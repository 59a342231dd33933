"""What a simulated dispute produced: the moves as the chain saw them, and the verdict.

The simulator (`arbitration.simulation.simulator`) builds an `Outcome` from the agents'
`Move`s (`arbitration.agents.move`), receipts and events only; the narration, the JSON
report and the bisection picture read it.
Everything here is plain data, so a report is a pure function of an outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from arbitration.agents.move import Move

#: A party by name, as reports spell it (the game binding's enum is `contracts.enums.Party`).
PartyName = Literal["proposer", "challenger"]


@dataclass(frozen=True)
class StepResolution:
    """The one instruction the verifier executed to end the game."""

    step: int  # the disputed step: from state `step` to state `step + 1`
    pre_state_hash: bytes
    claimed_post_state_hash: bytes  # the proposer's hash at step + 1
    verifier_post_state_hash: bytes  # what the verifier computed
    pc: int
    instruction: int | None  # the word at pc (None for a nullified delay slot or a final state)
    submitted_by: PartyName
    gas: int


@dataclass(frozen=True)
class Outcome:
    """The result of one dispute, as the report shows it."""

    scenario: str
    chain: str  # e.g. "py-evm 0.12.1b1 (cancun, in process)"
    game: str  # the game contract's address
    trace_length: int  # the proposer's claimed N
    claimed_state_hash: bytes  # the proposer's claimed state at N
    winner: PartyName | None  # None if the game did not resolve
    reason: str  # "step" | "timeout" | "unchallenged"
    disputed_step: int | None
    moves: tuple[Move, ...]
    resolution: StepResolution | None = None
    gas: dict[str, int] = field(default_factory=dict)  # total gasUsed per actor
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per phase
