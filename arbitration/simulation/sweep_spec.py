"""Sweep files: a grid of scenarios, written as lists and ranges instead of one value each.

A sweep names programs and, for every scenario parameter, the values to try (docs/game.md,
"Sweeps"); `load_sweep` validates the file as strictly as a scenario file (errors name the
file and the key) and `expand` turns it into `SweepCase`s, one per grid point.

Lie positions depend on the trace: `step: {fractions: [0.5]}` is half the program's trace
length and `step: {random: 3}` three distinct steps drawn with the sweep's `seed`. So the
expansion needs each program's trace length N and its final state; `expand` takes them as
`TracedProgram`s (the caller runs each program once).

`scenario_data` is the ONE mapping from a case's parameters to a scenario: it builds the dict
a scenario YAML would parse to, and `case_scenario` validates it with the scenario loader's
own `parse_scenario`, so a sweep can express nothing a scenario file could not.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from arbitration.agents.strategy import SILENT_AFTER, STRATEGIES, STRATEGY_PARAMETERS, Strategy
from arbitration.agents.views import TraceView
from arbitration.simulation.scenario import (
    NAME_PATTERN,
    GameSettings,
    ProgramSpec,
    Scenario,
    ScenarioError,
    _Checker,
    _describe,
    _game,
    _program,
    _read_yaml,
    parse_scenario,
)
from flexemu.emulator import Emulator

#: At most this many challengers per game in a sweep: the grid holds every multiset of
#: `count` challengers, which grows fast, and each one is an agent on the game's chain.
MAX_CHALLENGERS = 8

#: A strategy entry's keys whose value is a position spec (a step, a list, fractions, random).
POSITION_KEYS = ("step",)


@dataclass(frozen=True)
class SweepProgram:
    """One `programs:` entry: its scenario `program:` mapping (paths made absolute) and a
    label for tables."""

    label: str
    data: dict[str, Any]  # what a scenario's `program:` key holds
    spec: ProgramSpec  # the same, validated


@dataclass(frozen=True)
class StrategyEntry:
    """One strategy entry of `proposer:` or `challengers:`, its values still lists."""

    where: str  # its key path, e.g. "proposer[2]", for the random positions' seed
    kind: str
    positions: dict[str, Any] | None  # {"steps": [...], "fractions": [...], "random": K}
    counts: dict[str, list[int]]  # "moves" / "silent_after" -> values to try


@dataclass(frozen=True)
class Sweep:
    name: str
    source: Path
    description: str
    seed: int
    programs: tuple[SweepProgram, ...]
    clock_seconds: tuple[int, ...]
    bond_wei: tuple[int, ...]
    proposer: tuple[StrategyEntry, ...]
    challenger_counts: tuple[int, ...]
    challengers: tuple[StrategyEntry, ...]
    # Drop grid points where no party plays honest (they expect nothing).
    only_with_honest_party: bool = False


@dataclass(frozen=True)
class TracedProgram:
    """What expansion needs to know of a program's run: its claimed trace length, and a
    trace to compute which claims are true (`expected_winner`)."""

    trace_length: int
    emulator: Emulator


@dataclass(frozen=True)
class SweepCase:
    """One grid point: plain data, so it travels to a Dask worker as it is."""

    id: str  # stable across runs of the same sweep file: what --resume keys on
    index: int
    sweep: str
    source: str  # the sweep file (scenario errors name it)
    program: str  # the program's label
    program_data: dict[str, Any]
    clock_seconds: int
    bond_wei: int
    proposer: dict[str, Any]  # a scenario strategy mapping, e.g. {"strategy": "lie_at", "step": 9}
    challengers: tuple[dict[str, Any], ...]
    trace_length: int
    expected_winner: str | None  # None: no party plays honest, nothing to expect


# --- parsing ----------------------------------------------------------------------------


class _Within(_Checker):
    """A checker for one part of the sweep checked by the scenario loader's own code: the
    loader's key (`program`) is reported as the sweep's (`programs[1]`)."""

    def __init__(self, path: Path, loader_key: str, sweep_key: str) -> None:
        super().__init__(path)
        self.loader_key, self.sweep_key = loader_key, sweep_key

    def fail(self, where: str, message: str) -> NoReturn:
        if where == self.loader_key or where.startswith(self.loader_key + "."):
            where = self.sweep_key + where[len(self.loader_key) :]
        return super().fail(where, message)


def _values(check: _Checker, raw: Any, where: str) -> list[Any]:
    """A scalar or a non-empty list of them, as a list."""
    if isinstance(raw, list):
        if not raw:
            check.fail(where, "expected at least one value")
        return raw
    return [raw]


def _naturals(
    check: _Checker, raw: Any, where: str, minimum: int, maximum: tuple[int, str]
) -> list[int]:
    values = _values(check, raw, where)
    many = isinstance(raw, list)
    return [
        check.natural(v, f"{where}[{i}]" if many else where, minimum, maximum)
        for i, v in enumerate(values)
    ]


def _positions(check: _Checker, raw: Any, where: str) -> dict[str, Any]:
    """`9`, `[1, 9]`, `{fractions: [0.25, 0.5]}`, `{random: 3}` (the last two may combine)."""
    if not isinstance(raw, dict):
        steps = _naturals(check, raw, where, 1, (2**64 - 1, "a trace step"))
        return {"steps": steps}
    data = check.mapping(raw, where, (), ("steps", "fractions", "random"))
    if not data:
        check.fail(where, "expected at least one of steps, fractions, random")
    positions: dict[str, Any] = {}
    if "steps" in data:
        positions["steps"] = _naturals(
            check, data["steps"], f"{where}.steps", 1, (2**64 - 1, "a trace step")
        )
    if "fractions" in data:
        many = isinstance(data["fractions"], list)
        fractions = []
        for i, value in enumerate(_values(check, data["fractions"], f"{where}.fractions")):
            key = f"{where}.fractions[{i}]" if many else f"{where}.fractions"
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
                check.fail(key, f"expected a number in (0, 1], got {_describe(value)}")
            fractions.append(float(value))
        positions["fractions"] = fractions
    if "random" in data:
        positions["random"] = check.natural(data["random"], f"{where}.random", minimum=1)
    return positions


def _strategy_entry(check: _Checker, raw: Any, where: str) -> StrategyEntry:
    if not isinstance(raw, dict):
        check.fail(where, f"expected a mapping with a strategy, got {_describe(raw)}")
    kind = check.choice(raw.get("strategy"), f"{where}.strategy", STRATEGIES)
    parameter = STRATEGY_PARAMETERS[kind]
    optional: tuple[str, ...] = () if kind == SILENT_AFTER else (SILENT_AFTER,)
    required: tuple[str, ...] = ("strategy",)
    if parameter is not None:
        name, needed = parameter
        optional = (name, *optional)
        if needed:
            required = ("strategy", name)
    check.mapping(raw, where, required, tuple(k for k in optional if k not in required))
    positions = None
    counts: dict[str, list[int]] = {}
    for key in raw:
        if key == "strategy":
            continue
        if key in POSITION_KEYS:
            positions = _positions(check, raw[key], f"{where}.{key}")
        else:  # a move count: `moves` of silent_after, or any strategy's `silent_after`
            counts[key] = _naturals(check, raw[key], f"{where}.{key}", 0, (2**32, "moves"))
    return StrategyEntry(where=where, kind=kind, positions=positions, counts=counts)


def _strategy_list(check: _Checker, raw: Any, where: str) -> tuple[StrategyEntry, ...]:
    if isinstance(raw, dict):
        return (_strategy_entry(check, raw, where),)
    if not isinstance(raw, list) or not raw:
        check.fail(where, f"expected a strategy mapping or a non-empty list, got {_describe(raw)}")
    return tuple(_strategy_entry(check, item, f"{where}[{i}]") for i, item in enumerate(raw))


def _challengers(check: _Checker, raw: Any) -> tuple[tuple[int, ...], tuple[StrategyEntry, ...]]:
    """`challengers:` is a list of strategy entries (one challenger, each entry in turn), or
    `{count: 1 | [1, 2], strategies: [...]}`: every multiset of `count` challengers drawn
    from the strategies."""
    if isinstance(raw, dict) and "strategy" not in raw:
        data = check.mapping(raw, "challengers", ("strategies",), ("count",))
        counts = _naturals(
            check, data.get("count", 1), "challengers.count", 1, (MAX_CHALLENGERS, "challengers")
        )
        return tuple(counts), _strategy_list(check, data["strategies"], "challengers.strategies")
    return (1,), _strategy_list(check, raw, "challengers")


def _program_entry(check: _Checker, raw: Any, index: int) -> SweepProgram:
    where = f"programs[{index}]"
    if not isinstance(raw, dict):
        check.fail(where, f"expected a mapping, got {_describe(raw)}")
    data = dict(raw)
    label = _name(check, data.pop("name"), f"{where}.name") if "name" in data else None
    spec = _program(_Within(check.path, "program", where), data)
    label = label or spec.path.name
    data["path"] = str(spec.path)  # absolute: a worker resolves nothing against the sweep file
    if "stdin_file" in data:
        data["stdin_file"] = str((check.path.parent / data["stdin_file"]).resolve())
    return SweepProgram(label=label, data=data, spec=spec)


def _game_values(check: _Checker, game: dict[str, Any], key: str) -> tuple[int, ...]:
    """A `game:` setting's values, each checked by the scenario loader's own `_game`."""
    if key not in game:
        return (getattr(GameSettings(), key),)
    many = isinstance(game[key], list)
    values = []
    for i, value in enumerate(_values(check, game[key], f"game.{key}")):
        where = f"game.{key}[{i}]" if many else f"game.{key}"
        values.append(getattr(_game(_Within(check.path, f"game.{key}", where), {key: value}), key))
    return tuple(values)


def _name(check: _Checker, value: Any, where: str) -> str:
    name = check.string(value, where)
    if not NAME_PATTERN.match(name):
        check.fail(where, f"expected letters, digits, '.', '_' or '-', got {_describe(name)}")
    return name


def parse_sweep(data: Any, path: Path) -> Sweep:
    check = _Checker(path)
    if data is None:
        check.fail("", "empty sweep file")
    top = check.mapping(
        data,
        "",
        ("name", "programs", "proposer", "challengers"),
        ("description", "seed", "game", "only_with_honest_party"),
    )
    name = _name(check, top["name"], "name")
    raw_programs = top["programs"]
    if not isinstance(raw_programs, list) or not raw_programs:
        check.fail("programs", f"expected a non-empty list, got {_describe(raw_programs)}")
    programs = tuple(_program_entry(check, raw, i) for i, raw in enumerate(raw_programs))
    labels = [p.label for p in programs]
    for i, label in enumerate(labels):
        if label in labels[:i]:
            check.fail(f"programs[{i}]", f"a second program labelled {label!r} (give it a name)")
    game = check.mapping(top.get("game", {}), "game", (), ("clock_seconds", "bond_wei"))
    counts, challengers = _challengers(check, top["challengers"])
    only_honest = top.get("only_with_honest_party", False)
    if not isinstance(only_honest, bool):
        check.fail(
            "only_with_honest_party", f"expected true or false, got {_describe(only_honest)}"
        )
    return Sweep(
        name=name,
        source=path,
        description=check.string(top.get("description", ""), "description", allow_empty=True),
        seed=check.natural(top.get("seed", 0), "seed"),
        programs=programs,
        clock_seconds=_game_values(check, game, "clock_seconds"),
        bond_wei=_game_values(check, game, "bond_wei"),
        proposer=_strategy_list(check, top["proposer"], "proposer"),
        challenger_counts=counts,
        challengers=challengers,
        only_with_honest_party=only_honest,
    )


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file; any problem is a `ScenarioError` naming the key."""
    path = Path(path)
    return parse_sweep(_read_yaml(path), path)


# --- expansion --------------------------------------------------------------------------


def position_steps(entry: StrategyEntry, seed: int, program: str, trace_length: int) -> list[int]:
    """The steps an entry's position spec stands for in a trace of `trace_length` steps:
    explicit steps as given, fractions rounded (at least step 1), random ones distinct and
    drawn from [1, N] by a generator seeded with the sweep's seed, the program and the entry."""
    positions = entry.positions or {}
    steps = list(positions.get("steps", []))
    steps += [max(1, round(f * trace_length)) for f in positions.get("fractions", [])]
    if "random" in positions:
        rng = random.Random(f"{seed}/{program}/{entry.where}")
        count = min(positions["random"], trace_length)
        steps += sorted(rng.sample(range(1, trace_length + 1), count))
    return list(dict.fromkeys(steps))  # in order, each once


def entry_variants(
    entry: StrategyEntry, seed: int, program: str, trace_length: int
) -> list[dict[str, Any]]:
    """Every concrete scenario strategy mapping an entry stands for."""
    axes: list[list[tuple[str, Any]]] = []
    if entry.positions is not None:
        steps = position_steps(entry, seed, program, trace_length)
        axes.append([("step", s) for s in steps])
    for key, values in entry.counts.items():
        axes.append([(key, v) for v in values])
    return [{"strategy": entry.kind, **dict(point)} for point in itertools.product(*axes)]


def strategy_of(data: dict[str, Any]) -> Strategy:
    """The `Strategy` a scenario strategy mapping parses to (as the scenario loader reads it)."""
    parameter = STRATEGY_PARAMETERS[data["strategy"]]
    fields: dict[str, Any] = {}
    if parameter is not None and parameter[0] in data:
        fields[parameter[0]] = data[parameter[0]]
    if SILENT_AFTER in data and data["strategy"] != SILENT_AFTER:
        fields["moves"] = data[SILENT_AFTER]
    return Strategy(kind=data["strategy"], **fields)


def plays_honest(data: dict[str, Any]) -> bool:
    """Honest and never silent: the party whose win the sweep expects."""
    return data["strategy"] == "honest" and SILENT_AFTER not in data


def claim_is_true(traced: TracedProgram, proposer: dict[str, Any]) -> bool:
    """Whether the proposer's claim (its hash at N) is the true state hash at N."""
    n = traced.trace_length
    view = TraceView(traced.emulator, strategy_of(proposer), "proposer")
    if view.strategy.kind == "forged_proof" and view.lie_step is None:
        view.lie_step = n  # as the proposer sets it when it creates the game
    return view.hash_at(n) == traced.emulator.state_at(n).hash()


def expected_winner(
    traced: TracedProgram, proposer: dict[str, Any], challengers: tuple[dict[str, Any], ...]
) -> str | None:
    """What the honest party's win means (docs/game.md, "Sweeps"): an honest proposer keeps
    its claim whatever the challengers do; an honest challenger defeats a false claim whatever
    the others do. A true claim is left alone by honest challengers: if they are all the
    challengers there are, the proposer wins unchallenged; if another challenger disputes it,
    the outcome rests on a proposer that does not play honest, and nothing is expected. With
    no honest party there is nothing to expect either."""
    if plays_honest(proposer):
        return "proposer"
    if not any(plays_honest(c) for c in challengers):
        return None
    if not claim_is_true(traced, proposer):
        return "challenger"
    return "proposer" if all(plays_honest(c) for c in challengers) else None


def scenario_data(case: SweepCase) -> dict[str, Any]:
    """The scenario file a case stands for, as parsed YAML (the one parameter mapping)."""
    data: dict[str, Any] = {
        "name": f"{case.sweep}-{case.id}",
        "description": f"{case.sweep} case {case.index} ({case.program})",
        "program": dict(case.program_data),
        "game": {"clock_seconds": case.clock_seconds, "bond_wei": case.bond_wei},
        "proposer": dict(case.proposer),
        "challengers": [dict(c) for c in case.challengers],
    }
    if case.expected_winner is not None:
        data["expect"] = {"winner": case.expected_winner}
    return data


def case_scenario(case: SweepCase) -> Scenario:
    """The validated scenario of a case: the scenario loader's own checks, on the same dict."""
    try:
        return parse_scenario(scenario_data(case), Path(case.source))
    except ScenarioError as error:
        raise ScenarioError(f"sweep case {case.index} ({case.id}): {error}") from None


def _case_id(index: int, parameters: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(parameters, sort_keys=True).encode()).hexdigest()
    return f"{index:05d}-{digest[:10]}"


def _variants(
    entries: tuple[StrategyEntry, ...], seed: int, program: str, trace_length: int
) -> list[dict[str, Any]]:
    return [v for e in entries for v in entry_variants(e, seed, program, trace_length)]


def expand(sweep: Sweep, traced: dict[str, TracedProgram]) -> list[SweepCase]:
    """The grid, in a fixed order: program, clock, bond, proposer, challenger set."""
    cases: list[SweepCase] = []
    for program in sweep.programs:
        run = traced[program.label]
        n = run.trace_length
        proposers = _variants(sweep.proposer, sweep.seed, program.label, n)
        challenger_variants = _variants(sweep.challengers, sweep.seed, program.label, n)
        sets = [
            combo
            for count in sweep.challenger_counts
            for combo in itertools.combinations_with_replacement(challenger_variants, count)
        ]
        for clock, bond, proposer, challengers in itertools.product(
            sweep.clock_seconds, sweep.bond_wei, proposers, sets
        ):
            expected = expected_winner(run, proposer, challengers)
            if expected is None and sweep.only_with_honest_party:
                continue
            parameters = {
                "program": program.data,
                "clock_seconds": clock,
                "bond_wei": bond,
                "proposer": proposer,
                "challengers": list(challengers),
            }
            index = len(cases)
            cases.append(
                SweepCase(
                    id=_case_id(index, parameters),
                    index=index,
                    sweep=sweep.name,
                    source=str(sweep.source),
                    program=program.label,
                    program_data=program.data,
                    clock_seconds=clock,
                    bond_wei=bond,
                    proposer=proposer,
                    challengers=tuple(challengers),
                    trace_length=n,
                    expected_winner=expected,
                )
            )
    return cases
