"""The dispute game contract's enums, mirrored (contracts/src/game/DisputeGame.sol, docs/game.md).

Apart from the bindings so that the command line can name parties and statuses without
loading web3: importing this module costs nothing. `GameStatus` is the game's; the VM's is
`flexemu.status.Status`.
"""

from __future__ import annotations

from enum import IntEnum


class GameStatus(IntEnum):
    UNCHALLENGED = 0
    IN_PROGRESS = 1
    PROPOSER_WON = 2
    CHALLENGER_WON = 3


class ChallengeStatus(IntEnum):
    """One challenge's status (the claim's is `GameStatus`)."""

    NONE = 0
    IN_PROGRESS = 1
    PROPOSER_WON = 2
    CHALLENGER_WON = 3
    MOOT = 4  # the claim fell through another challenge while this one ran

    @property
    def label(self) -> str:
        return self.name.lower()


class Party(IntEnum):
    NONE = 0
    PROPOSER = 1
    CHALLENGER = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def other(self) -> Party:
        return Party.CHALLENGER if self == Party.PROPOSER else Party.PROPOSER


class Reason(IntEnum):
    NONE = 0
    UNCHALLENGED = 1
    STEP = 2
    TIMEOUT = 3
    DEFENDED = 4  # the claim: accepted after every challenge was settled for the proposer
    MOOT = 5  # a challenge closed unsettled because the claim fell through another one

    @property
    def label(self) -> str:
        return self.name.lower()
