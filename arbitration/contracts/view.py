"""The game state an agent decides on, :class:`GameView`, and the contract's transition
replayed from one event log (:meth:`GameView.apply`): plain data and pure functions, so that
an agent keeps its view current from logs instead of a view call per decision."""

from __future__ import annotations

from dataclasses import dataclass, replace

from arbitration.contracts.enums import GameStatus, Party, Reason
from arbitration.contracts.events import GameEvent

# --------------------------------------------------------------------------------------------
# The game state as agents see it
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GameView:
    """The mutable game state (the contract's ``View`` struct), plus the immutable claim."""

    address: str
    proposer: str
    absolute_pre_state: bytes
    claim: bytes
    trace_length: int
    clock_seconds: int
    proposer_bond: int
    created_at: int
    status: GameStatus = GameStatus.UNCHALLENGED
    reason: Reason = Reason.NONE
    turn: Party = Party.NONE
    lo: int = 0
    hi: int = 0
    hash_lo: bytes = b""
    hash_hi: bytes = b""
    mid_posted: bool = False
    mid_hash: bytes = bytes(32)
    proposer_clock: int = 0
    challenger_clock: int = 0
    last_move_at: int = 0
    challenger: str | None = None
    updated_at: int = 0  # timestamp of the last event folded in (a move or the resolution)

    @property
    def resolved(self) -> bool:
        return self.status in (GameStatus.PROPOSER_WON, GameStatus.CHALLENGER_WON)

    @property
    def step_phase(self) -> bool:
        return self.status == GameStatus.IN_PROGRESS and self.hi - self.lo == 1

    @property
    def mid(self) -> int:
        return self.lo + (self.hi - self.lo) // 2

    @property
    def window_closes_at(self) -> int:
        return self.created_at + self.clock_seconds

    @property
    def clocks(self) -> tuple[int, int]:
        return (self.proposer_clock, self.challenger_clock)

    def running_clock_left(self, now: int) -> int:
        """Seconds the party to move has left at chain time `now` (negative: expired)."""
        left = self.proposer_clock if self.turn == Party.PROPOSER else self.challenger_clock
        return left - (now - self.last_move_at)

    def seconds_until_expiry(self, now: int) -> int:
        """Chain seconds from `now` until the running clock (or, before a challenge, the
        challenge window) has run out: how far to advance time to let a timeout through."""
        if self.status == GameStatus.UNCHALLENGED:
            return self.window_closes_at - now + 1
        return self.running_clock_left(now) + 1

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
            absolute_pre_state=a["absolutePreState"],
            claim=a["claim"],
            trace_length=a["traceLength"],
            clock_seconds=a["clockSeconds"],
            proposer_bond=a["bond"],
            created_at=a["timestamp"],
            lo=0,
            hi=a["traceLength"],
            hash_lo=a["absolutePreState"],
            hash_hi=a["claim"],
            proposer_clock=a["clockSeconds"],
            challenger_clock=a["clockSeconds"],
            last_move_at=a["timestamp"],
            updated_at=a["timestamp"],
        )

    def apply(self, event: GameEvent) -> GameView:
        """The state after `event` (the contract's transition, replayed from its log)."""
        a = event.args
        name = event.name
        if name in _CLOCKED:
            view = replace(
                self,
                proposer_clock=a["proposerClock"],
                challenger_clock=a["challengerClock"],
                last_move_at=a["timestamp"],
            )
        else:
            view = self
        if "timestamp" in a:
            view = replace(view, updated_at=a["timestamp"])
        if name == "Challenged":
            view = replace(view, status=GameStatus.IN_PROGRESS, challenger=a["challenger"])
        elif name == "Bisected":
            view = replace(view, mid_posted=True, mid_hash=a["stateHash"])
        elif name == "Responded":
            moved = {"hash_lo": view.mid_hash} if a["agree"] else {"hash_hi": view.mid_hash}
            view = replace(
                view, lo=a["lo"], hi=a["hi"], mid_posted=False, mid_hash=bytes(32), **moved
            )
        elif name == "Resolved":
            won = a["party"] == Party.PROPOSER
            status = GameStatus.PROPOSER_WON if won else GameStatus.CHALLENGER_WON
            view = replace(view, status=status, reason=Reason(a["reason"]))
        return replace(view, turn=_turn(view))


_CLOCKED = ("Challenged", "Bisected", "Responded", "StepProven", "TimedOut")


def _turn(view: GameView) -> Party:
    if view.status != GameStatus.IN_PROGRESS:
        return Party.NONE
    if view.hi - view.lo > 1 and not view.mid_posted:
        return Party.PROPOSER
    return Party.CHALLENGER
