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
    isa: str  # the ISA the witness is of (`flexemu.isa` name): it disassembles `instruction`
    pre_state_hash: bytes
    claimed_post_state_hash: bytes  # the proposer's hash at step + 1
    verifier_post_state_hash: bytes  # what the verifier computed
    pc: int
    instruction: int | None  # the word at pc (None for a nullified delay slot or a final state)
    submitted_by: PartyName
    gas: int


@dataclass(frozen=True)
class ChallengeOutcome:
    """One challenge against the claim, as the report shows it."""

    id: int  # its id in the game (the order challenges reached the chain)
    challenger: int  # the challenger's place in the scenario's lineup (0-based)
    account: str
    strategy: str  # how the challenger played (`strategy_text`)
    winner: PartyName | None  # None: moot (the claim fell through another) or unresolved
    reason: str  # "step" | "timeout" | "moot" | "unresolved"
    disputed_step: int | None  # lo once the bisection narrowed to one step
    moves: int  # transactions in this challenge (its opening, every move, the settling one)
    gas: dict[str, int] = field(default_factory=dict)  # gasUsed per actor in this challenge
    bond: int = 0
    settled_at: int | None = None  # block timestamp of the transaction that settled it


@dataclass(frozen=True)
class Outcome:
    """The result of one dispute, as the report shows it."""

    scenario: str
    chain: str  # e.g. "py-evm 0.12.1b1 (prague, in process)"
    game: str  # the game contract's address
    trace_length: int  # the proposer's claimed N
    claimed_state_hash: bytes  # the proposer's claimed state at N
    winner: PartyName | None  # None if the game did not resolve
    reason: str  # "step" | "timeout" (the winning challenge's), "unchallenged" | "defended"
    disputed_step: int | None
    moves: tuple[Move, ...]
    resolution: StepResolution | None = None
    gas: dict[str, int] = field(default_factory=dict)  # total gasUsed per actor
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per phase
    challenges: tuple[ChallengeOutcome, ...] = ()  # every challenge, in the order they came
    payouts: dict[str, int] = field(default_factory=dict)  # wei withdrawn per account
    created_at: int = 0  # block timestamp of the claim
    settled_at: int = 0  # block timestamp of the transaction that resolved the claim
    # The challenge the report's ladder follows: the one that rejected the claim, else the
    # first that narrowed to one step, else the first (None: unchallenged)
    decisive_challenge: int | None = None

    def moves_of(self, challenge: int | None) -> tuple[Move, ...]:
        """The claim's own moves (propose, resolve) and those of one challenge."""
        return tuple(m for m in self.moves if m.challenge is None or m.challenge == challenge)
