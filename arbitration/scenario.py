"""Scenario files: which program, which game settings, which strategy each party plays.

A scenario is data. `load_scenario` (below) parses and validates the YAML
file, naming the file and the bad key on any error, and resolves program and
stdin paths relative to the scenario file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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

DEFAULT_CLOCK_SECONDS = 3600
DEFAULT_BOND_WEI = 10**18


@dataclass(frozen=True)
class ProgramSpec:
    path: Path  # absolute, resolved against the scenario file's directory
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    stdin: bytes = b""


@dataclass(frozen=True)
class GameSettings:
    clock_seconds: int = DEFAULT_CLOCK_SECONDS
    bond_wei: int = DEFAULT_BOND_WEI


@dataclass(frozen=True)
class Strategy:
    kind: str = "honest"
    step: int | None = None  # lie_at, lie_from, forged_proof
    moves: int | None = None  # silent_after


@dataclass(frozen=True)
class Expectation:
    winner: str | None = None  # "proposer" | "challenger"
    disputed_step: int | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    source: Path | None  # the YAML file it came from, if any
    program: ProgramSpec
    game: GameSettings = field(default_factory=GameSettings)
    proposer: Strategy = field(default_factory=Strategy)
    challenger: Strategy = field(default_factory=Strategy)
    expect: Expectation | None = None
