"""What a party plays, as data: its strategy (docs/game.md, "Strategies") and how long a trace
may run. Scenario files and the `agent` command both build a `Strategy`; the agents read it.

Plain data, importable without the chain: the command line names strategies in its help.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Strategy kinds a party can play (docs/game.md describes each).
STRATEGIES = (
    "honest",
    "lie_at",  # one wrong state hash at `step`
    "lie_from",  # wrong state hashes from `step` on
    "wrong_output",  # a final state with a different output commitment
    "wrong_exit_code",  # a final state with a different exit code
    "forged_proof",  # lies from `step` (default: the last step) and submits a forged step proof
    "silent_after",  # honest, but sends nothing after `moves` moves
)

#: The parameter each strategy takes, and whether it must be given.
STRATEGY_PARAMETERS: dict[str, tuple[str, bool] | None] = {
    "honest": None,
    "lie_at": ("step", True),
    "lie_from": ("step", True),
    "wrong_output": None,
    "wrong_exit_code": None,
    "forged_proof": ("step", False),
    "silent_after": ("moves", True),
}

#: The key that makes any strategy stop moving after that many moves.
SILENT_AFTER = "silent_after"

#: A trace never runs longer than this unless the scenario says so (2^32 steps take ~25 s):
#: a program that never exits still yields a claim instead of a hang.
DEFAULT_MAX_STEPS = 1 << 32


@dataclass(frozen=True)
class Strategy:
    kind: str = "honest"
    step: int | None = None  # lie_at, lie_from, forged_proof
    moves: int | None = None  # silent_after


def strategy_text(strategy: Strategy) -> str:
    """`lie_from step=17100451`: how a strategy reads in tables and narration."""
    parameter = STRATEGY_PARAMETERS.get(strategy.kind)
    text = strategy.kind
    if parameter is not None and getattr(strategy, parameter[0]) is not None:
        text += f" {parameter[0]}={getattr(strategy, parameter[0])}"
    if strategy.kind != SILENT_AFTER and strategy.moves is not None:
        text += f", silent after {strategy.moves} moves"
    return text
