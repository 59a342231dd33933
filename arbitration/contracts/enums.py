"""The dispute game contract's enums, mirrored (contracts/src/DisputeGame.sol, docs/game.md).

Apart from the bindings so that the command line can name parties and statuses without
loading web3: importing this module costs nothing. `GameStatus` is the game's; the VM's is
`flexemu.state.Status`.
"""

from __future__ import annotations

from enum import IntEnum


class GameStatus(IntEnum):
    UNCHALLENGED = 0
    IN_PROGRESS = 1
    PROPOSER_WON = 2
    CHALLENGER_WON = 3


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

    @property
    def label(self) -> str:
        return self.name.lower()
