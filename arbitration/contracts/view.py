"""The game state an agent decides on, :class:`GameView` (the claim) holding one
:class:`ChallengeView` per challenge, and the contract's transition replayed from one event
log (:meth:`GameView.apply`): plain data and pure functions, so that an agent keeps its view
current from logs instead of a view call per decision."""

from __future__ import annotations

from dataclasses import dataclass, replace

from arbitration.contracts.enums import ChallengeStatus, GameStatus, Party, Reason
from arbitration.contracts.events import GameEvent

# --------------------------------------------------------------------------------------------
# One challenge: its bisection and its two chess clocks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChallengeView:
    """One challenge (the contract's ``ChallengeView`` struct, less the read timestamp)."""

    id: int
    challenger: str
    bond: int
    lo: int
    hi: int
    hash_lo: bytes
    hash_hi: bytes
    proposer_clock: int
    challenger_clock: int
    last_move_at: int
    status: ChallengeStatus = ChallengeStatus.IN_PROGRESS
    reason: Reason = Reason.NONE
    mid_posted: bool = False
    mid_hash: bytes = bytes(32)

    @property
    def in_progress(self) -> bool:
        return self.status == ChallengeStatus.IN_PROGRESS

    @property
    def turn(self) -> Party:
        """Whose clock runs (the challenger's in the step phase); NONE once settled."""
        if not self.in_progress:
            return Party.NONE
        if self.hi - self.lo > 1 and not self.mid_posted:
            return Party.PROPOSER
        return Party.CHALLENGER

    @property
    def step_phase(self) -> bool:
        return self.in_progress and self.hi - self.lo == 1

    @property
    def mid(self) -> int:
        return self.lo + (self.hi - self.lo) // 2

    @property
    def clocks(self) -> tuple[int, int]:
        return (self.proposer_clock, self.challenger_clock)

    def running_clock_left(self, now: int) -> int:
        """Seconds the party to move has left at chain time `now` (negative: expired)."""
        left = self.proposer_clock if self.turn == Party.PROPOSER else self.challenger_clock
        return left - (now - self.last_move_at)

    def winner(self) -> Party:
        if self.status == ChallengeStatus.PROPOSER_WON:
            return Party.PROPOSER
        if self.status == ChallengeStatus.CHALLENGER_WON:
            return Party.CHALLENGER
        return Party.NONE


# --------------------------------------------------------------------------------------------
# The claim and all of its challenges
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GameView:
    """The claim (immutable fields, status) and its challenges in the order they came."""

    address: str
    proposer: str
    vm: int
    absolute_pre_state: bytes
    claim: bytes
    trace_length: int
    clock_seconds: int
    proposer_bond: int
    created_at: int
    status: GameStatus = GameStatus.UNCHALLENGED
    reason: Reason = Reason.NONE
    challenges: tuple[ChallengeView, ...] = ()
    winning_challenge: int | None = None
    updated_at: int = 0  # timestamp of the last event folded in

    @property
    def resolved(self) -> bool:
        return self.status in (GameStatus.PROPOSER_WON, GameStatus.CHALLENGER_WON)

    @property
    def window_closes_at(self) -> int:
        return self.created_at + self.clock_seconds

    @property
    def live(self) -> tuple[ChallengeView, ...]:
        """The challenges still played: in progress while the claim stands."""
        if self.resolved:
            return ()
        return tuple(c for c in self.challenges if c.in_progress)

    def challenges_of(self, account: str) -> tuple[ChallengeView, ...]:
        return tuple(c for c in self.challenges if c.challenger == account)

    def seconds_until_expiry(self, now: int) -> int:
        """Chain seconds from `now` until something can end: the earliest running clock of a
        live challenge to expire, or the window's close when no challenge is live (then the
        claim can be resolved): how far to advance time to let a timeout or resolve through."""
        waits = [c.running_clock_left(now) + 1 for c in self.live]
        if not waits:
            waits.append(self.window_closes_at - now + 1)
        return max(min(waits), 0)

    def winner(self) -> Party:
        if self.status == GameStatus.PROPOSER_WON:
            return Party.PROPOSER
        if self.status == GameStatus.CHALLENGER_WON:
            return Party.CHALLENGER
        return Party.NONE

    @classmethod
    def created(cls, event: GameEvent) -> GameView:
        a = event.args
        return cls(
            address=a["game"],
            proposer=a["proposer"],
            vm=a["vm"],
            absolute_pre_state=a["absolutePreState"],
            claim=a["claim"],
            trace_length=a["traceLength"],
            clock_seconds=a["clockSeconds"],
            proposer_bond=a["bond"],
            created_at=a["timestamp"],
            updated_at=a["timestamp"],
        )

    def apply(self, event: GameEvent) -> GameView:
        """The state after `event` (the contract's transition, replayed from its log)."""
        a = event.args
        name = event.name
        view = replace(self, updated_at=a["timestamp"]) if "timestamp" in a else self
        if name == "Challenged":
            challenge = ChallengeView(
                id=a["id"],
                challenger=a["challenger"],
                bond=a["bond"],
                lo=a["lo"],
                hi=a["hi"],
                hash_lo=self.absolute_pre_state,
                hash_hi=self.claim,
                proposer_clock=a["proposerClock"],
                challenger_clock=a["challengerClock"],
                last_move_at=a["timestamp"],
            )
            return replace(
                view, status=GameStatus.IN_PROGRESS, challenges=(*view.challenges, challenge)
            )
        if name == "Resolved":
            won = a["party"] == Party.PROPOSER
            return replace(
                view,
                status=GameStatus.PROPOSER_WON if won else GameStatus.CHALLENGER_WON,
                reason=Reason(a["reason"]),
                winning_challenge=None if won else a["id"],
            )
        if "id" not in a or a["id"] >= len(view.challenges):
            return view  # credits, withdrawals: no state an agent decides on
        challenge = _apply_to_challenge(view.challenges[a["id"]], event)
        challenges = list(view.challenges)
        challenges[challenge.id] = challenge
        return replace(view, challenges=tuple(challenges))


def _apply_to_challenge(c: ChallengeView, event: GameEvent) -> ChallengeView:
    a = event.args
    name = event.name
    if name in ("Bisected", "Responded", "StepProven", "TimedOut"):
        c = replace(
            c,
            proposer_clock=a["proposerClock"],
            challenger_clock=a["challengerClock"],
            last_move_at=a["timestamp"],
        )
    if name == "Bisected":
        return replace(c, mid_posted=True, mid_hash=a["stateHash"])
    if name == "Responded":
        moved = {"hash_lo": c.mid_hash} if a["agree"] else {"hash_hi": c.mid_hash}
        return replace(c, lo=a["lo"], hi=a["hi"], mid_posted=False, mid_hash=bytes(32), **moved)
    if name == "ChallengeResolved":
        status = {
            Party.PROPOSER: ChallengeStatus.PROPOSER_WON,
            Party.CHALLENGER: ChallengeStatus.CHALLENGER_WON,
        }.get(Party(a["winner"]), ChallengeStatus.MOOT)
        return replace(c, status=status, reason=Reason(a["reason"]))
    return c
