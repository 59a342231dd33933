"""Sweep files and their grid: validation that names the key, positions over the trace, the
expectation the honest party implies, and the one mapping to a scenario (checked by the
scenario loader). No Dask here: `test_sweep_dask.py` runs sweeps.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from arbitration.cli.app import app
from arbitration.simulation.scenario import ScenarioError, load_scenario
from arbitration.simulation.sweep_rows import RowLog, read_rows
from arbitration.simulation.sweep_run import run_case, traced, traces_held
from arbitration.simulation.sweep_spec import (
    SweepCase,
    case_scenario,
    expand,
    load_sweep,
    position_steps,
    scenario_data,
)
from arbitration.simulation.sweep_summary import all_honest_won, summarize
from flexemu.files import FileError

REPO = Path(__file__).resolve().parents[1]
PROGRAMS = REPO / "scenarios" / "programs"
TINY_SUM_STEPS = 307  # tiny_sum's trace (scenarios/both-dishonest.yaml disputes step 119 of it)

SWEEP = f"""\
name: unit
seed: 5
programs:
  - {{path: {PROGRAMS / "tiny_sum"}, argv: [tiny_sum]}}
proposer:
  - {{strategy: honest}}
  - {{strategy: lie_at, step: {{fractions: [0.5, 1.0]}}}}
  - {{strategy: lie_from, step: {{random: 3}}}}
  - {{strategy: silent_after, moves: [0, 2]}}
challengers:
  - {{strategy: honest}}
  - {{strategy: lie_from, step: [100]}}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def cases_of(path: Path) -> list[SweepCase]:
    sweep = load_sweep(path)
    return expand(sweep, {p.label: traced(p.spec) for p in sweep.programs})


def test_the_grid_is_every_proposer_against_every_challenger(tmp_path: Path) -> None:
    cases = cases_of(write(tmp_path, SWEEP))
    # proposer variants: honest, lie_at x2, lie_from x3, silent_after x2 = 8; challengers 2
    assert len(cases) == 16
    assert [c.index for c in cases] == list(range(16))
    assert len({c.id for c in cases}) == 16
    lie_at = [c.proposer["step"] for c in cases if c.proposer["strategy"] == "lie_at"]
    assert sorted(set(lie_at)) == [round(0.5 * TINY_SUM_STEPS), TINY_SUM_STEPS]
    assert all(c.trace_length == TINY_SUM_STEPS for c in cases)


def test_case_ids_are_stable_and_follow_the_parameters(tmp_path: Path) -> None:
    first = [c.id for c in cases_of(write(tmp_path, SWEEP))]
    assert [c.id for c in cases_of(write(tmp_path, SWEEP))] == first
    changed = [c.id for c in cases_of(write(tmp_path, SWEEP.replace("[100]", "[101]")))]
    assert changed != first and changed[0] == first[0]  # only the changed cases change


def test_random_positions_are_seeded_distinct_and_inside_the_trace(tmp_path: Path) -> None:
    sweep = load_sweep(write(tmp_path, SWEEP))
    entry = sweep.proposer[2]
    steps = position_steps(entry, sweep.seed, "tiny_sum", TINY_SUM_STEPS)
    assert len(steps) == len(set(steps)) == 3
    assert all(1 <= s <= TINY_SUM_STEPS for s in steps)
    assert position_steps(entry, sweep.seed, "tiny_sum", TINY_SUM_STEPS) == steps
    others = [position_steps(entry, seed, "tiny_sum", TINY_SUM_STEPS) for seed in range(6, 10)]
    assert any(o != steps for o in others)
    assert position_steps(entry, 5, "hello", 2) == [1, 2]  # never more than the trace has


def test_the_honest_party_implies_the_expected_winner(tmp_path: Path) -> None:
    by_mix = {
        (json.dumps(c.proposer, sort_keys=True), json.dumps(c.challengers[0], sort_keys=True)): c
        for c in cases_of(write(tmp_path, SWEEP))
    }
    honest = json.dumps({"strategy": "honest"})

    def expected(proposer: dict, challenger: str = honest) -> str | None:
        return by_mix[(json.dumps(proposer, sort_keys=True), challenger)].expected_winner

    liar = json.dumps({"step": 100, "strategy": "lie_from"})
    assert expected({"strategy": "honest"}) == "proposer"
    assert expected({"strategy": "honest"}, liar) == "proposer"
    # a lie in the middle leaves the claim true: the honest challenger lets it stand
    assert expected({"strategy": "lie_at", "step": 154}) == "proposer"
    assert expected({"strategy": "lie_at", "step": TINY_SUM_STEPS}) == "challenger"
    assert expected({"strategy": "silent_after", "moves": 0}) == "proposer"
    assert expected({"strategy": "lie_at", "step": TINY_SUM_STEPS}, liar) is None


def test_a_case_is_the_scenario_its_yaml_would_load_as(tmp_path: Path) -> None:
    case = next(c for c in cases_of(write(tmp_path, SWEEP)) if c.proposer["strategy"] == "lie_at")
    scenario_file = tmp_path / "case.yaml"
    scenario_file.write_text(yaml.safe_dump(scenario_data(case)), encoding="utf-8")
    loaded, direct = load_scenario(scenario_file), case_scenario(case)
    assert (loaded.program, loaded.game, loaded.proposer, loaded.lineup, loaded.expect) == (
        direct.program,
        direct.game,
        direct.proposer,
        direct.lineup,
        direct.expect,
    )
    assert direct.proposer.step == case.proposer["step"]


MULTI = SWEEP.split("challengers:")[0] + (
    "challengers:\n"
    "  count: [1, 2, 3]\n"
    "  strategies: [{strategy: honest}, {strategy: lie_from, step: [100]}, {strategy: collude}]\n"
)


def kinds(case: SweepCase) -> list[str]:
    return [c["strategy"] for c in case.challengers]


def test_several_challengers_are_every_multiset_of_the_strategies(tmp_path: Path) -> None:
    cases = cases_of(write(tmp_path, MULTI))
    # 8 proposer variants x (3 singles + 6 pairs + 10 triples) challenger multisets
    assert len(cases) == 8 * (3 + 6 + 10)
    lineups = {json.dumps(c.challengers, sort_keys=True) for c in cases}
    assert len(lineups) == 19
    assert {len(c.challengers) for c in cases} == {1, 2, 3}
    case = next(c for c in cases if len(c.challengers) == 3)
    data = scenario_data(case)
    assert "challenger" not in data and data["challengers"] == list(case.challengers)
    assert [s.kind for s in case_scenario(case).lineup] == kinds(case)


def test_with_several_challengers_one_honest_one_decides_what_is_expected(
    tmp_path: Path,
) -> None:
    cases = cases_of(write(tmp_path, MULTI))

    def expected(proposer: dict, *challengers: str) -> str | None:
        (case,) = [c for c in cases if c.proposer == proposer and kinds(c) == list(challengers)]
        return case.expected_winner

    honest, false_claim = {"strategy": "honest"}, {"strategy": "lie_at", "step": TINY_SUM_STEPS}
    true_claim = {"strategy": "lie_at", "step": 154}  # a lie in the middle only
    assert expected(honest, "lie_from", "collude", "collude") == "proposer"
    assert expected(false_claim, "honest", "collude", "collude") == "challenger"
    assert expected(false_claim, "honest", "honest", "lie_from") == "challenger"
    assert expected(false_claim, "lie_from", "collude") is None
    # a true claim that only honest challengers see stands; one another challenger disputes
    # rests on a proposer that does not play honest: nothing expected
    assert expected(true_claim, "honest", "honest") == "proposer"
    assert expected(true_claim, "honest", "collude") is None


def test_a_case_with_several_challengers_records_each_of_them(tmp_path: Path) -> None:
    cases = cases_of(write(tmp_path, MULTI))
    lying = {"strategy": "lie_at", "step": TINY_SUM_STEPS}
    case = next(
        c for c in cases if c.proposer == lying and kinds(c) == ["honest", "lie_from", "collude"]
    )
    result = run_case(case)
    assert result["winner"] == "challenger" == case.expected_winner
    assert result["honest_won"] is True
    detail = result["per_challenger"]
    assert len(detail) == 3
    assert sum(d["gas"] for d in detail) == result["gas"]["challenger"] > 0
    assert all(len(d["challenges"]) == 1 for d in detail)  # a false claim: all three dispute it
    assert "challenger" in {c["winner"] for d in detail for c in d["challenges"]}


BAD = [
    ("proposer:\n  - {strategy: lie}\n", "proposer[0].strategy"),
    ("proposer:\n  - {strategy: lie_at}\n", "proposer[0].step: missing required key"),
    (
        "proposer:\n  - {strategy: lie_at, step: {fractions: [0.5, 1.5]}}\n",
        "proposer[0].step.fractions[1]: expected a number in (0, 1]",
    ),
    ("proposer:\n  - {strategy: lie_at, step: {random: 0}}\n", "proposer[0].step.random"),
    (
        "proposer:\n  - {strategy: lie_at, step: {every: 3}}\n",
        "proposer[0].step.every: unknown key",
    ),
    ("proposer:\n  - {strategy: honest, step: 3}\n", "proposer[0].step: unknown key"),
    ("proposer:\n  - {strategy: silent_after, moves: [1, -1]}\n", "proposer[0].moves[1]"),
    ("proposer: []\n", "proposer: expected a strategy mapping or a non-empty list"),
]


@pytest.mark.parametrize(("replacement", "message"), BAD, ids=[m for _, m in BAD])
def test_a_bad_strategy_entry_is_refused_naming_its_key(
    tmp_path: Path, replacement: str, message: str
) -> None:
    text = SWEEP.split("proposer:")[0] + replacement + "challengers: {strategy: honest}\n"
    with pytest.raises(ScenarioError, match=r"sweep\.yaml: ") as error:
        load_sweep(write(tmp_path, text))
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (str(PROGRAMS / "tiny_sum"), "nowhere/tiny_sum", "programs[0].path: program not found"),
        ("argv: [tiny_sum]", "argv: tiny_sum", "programs[0].argv: expected a list"),
        ("seed: 5", "seed: five", "seed: expected a non-negative integer"),
        ("seed: 5", "seeds: 5", "seeds: unknown key"),
        (
            "challengers:\n  - {strategy: honest}\n  - {strategy: lie_from, step: [100]}\n",
            "challengers: {count: [2, 9], strategies: [{strategy: honest}]}",
            "challengers.count[1]: expected at most 8 (challengers",
        ),
        ("name: unit", "name: a b", "name: expected letters"),
        ("seed: 5", "seed: 5\ngame: {clock_seconds: [60, 0]}", "game.clock_seconds[1]"),
    ],
)
def test_a_bad_sweep_file_is_refused_naming_its_key(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in SWEEP
    with pytest.raises(ScenarioError) as error:
        load_sweep(write(tmp_path, SWEEP.replace(old, new)))
    assert message in str(error.value)


def test_the_cli_refuses_a_bad_sweep_with_one_line_and_exit_2(tmp_path: Path) -> None:
    from arbitration.cli import emulator_commands, sweep_commands  # noqa: F401  (register them)

    path = write(tmp_path, SWEEP.replace("{strategy: honest}", "{strategy: honset}", 1))
    result = CliRunner().invoke(app, ["sweep", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "proposer[0].strategy" in result.stderr
    result = CliRunner().invoke(app, ["sweep", str(path), "--out", "o", "--workers", "0"])
    assert result.exit_code == 2 and "--workers" in result.stderr
    good = write(tmp_path, SWEEP)
    result = CliRunner().invoke(app, ["sweep", str(good), "--out", "o", "--scheduler", "host:1"])
    assert result.exit_code == 2 and "tcp://HOST:PORT" in result.stderr


def test_a_worker_traces_a_program_once_and_plays_cases_from_it(tmp_path: Path) -> None:
    cases = cases_of(write(tmp_path, SWEEP))
    held = traces_held()
    chosen = [c for c in cases if c.proposer["strategy"] in ("honest", "lie_at")][:3]
    rows = [run_case(c) for c in chosen]
    assert traces_held() == held  # expansion traced tiny_sum in this thread already
    assert traced(case_scenario(chosen[0]).program) is traced(case_scenario(chosen[1]).program)
    for case, row in zip(chosen, rows, strict=True):
        assert row["id"] == case.id and row["winner"] == case.expected_winner
        assert row["honest_won"] is True and row["trace_length"] == TINY_SUM_STEPS
        assert row["gas_total"] == sum(row["gas"].values()) > 0


def row(index: int, honest_won: bool | None = True) -> dict:
    return {
        "id": f"r{index}",
        "index": index,
        "honest_won": honest_won,
        "gas_total": 10 * index,
        "moves": index,
        "proposer": {"strategy": "honest"},
        "challengers": [{"strategy": "honest"}],
    }


def test_rows_are_appended_once_each_and_a_torn_tail_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    with RowLog(path, resume=False) as log:
        log.append(row(0))
        log.append(row(1))
        log.append(row(1))  # a result delivered twice
    with path.open("ab") as handle:
        handle.write(b'{"id": "r2", "ind')  # a write cut short by a crash
    rows, _ = read_rows(path)
    assert [r["id"] for r in rows] == ["r0", "r1"]
    with RowLog(path, resume=True) as log:
        assert log.done == {"r0", "r1"}
        log.append(row(2))
    assert [json.loads(x)["id"] for x in path.read_text().splitlines()] == ["r0", "r1", "r2"]
    path.write_text("not json\n")
    with pytest.raises(FileError, match="line 1"):
        read_rows(path)


def test_the_summary_groups_by_the_challengers_multiset() -> None:
    mixed = [
        {**row(1), "challengers": [{"strategy": "honest"}, {"strategy": "collude"}]},
        {**row(2), "challengers": [{"strategy": "collude"}, {"strategy": "honest"}]},
        {**row(3), "challengers": [{"strategy": "honest"}] * 2},
        row(4),
    ]
    assert [(m.mix, m.runs) for m in summarize(mixed)] == [
        ("honest vs collude + honest", 2),
        ("honest vs 2x honest", 1),
        ("honest vs honest", 1),
    ]


def test_the_summary_counts_honest_wins_by_mix() -> None:
    rows = [row(1), row(2), row(3, None), row(4, False)]
    (mix,) = summarize(rows)
    assert (mix.mix, mix.runs, mix.expected, mix.honest_wins) == ("honest vs honest", 4, 3, 2)
    assert (mix.gas_median, mix.gas_max, mix.moves_max) == (25, 40, 4)
    assert not all_honest_won(rows) and all_honest_won(rows[:3])


@pytest.mark.parametrize(
    ("name", "at_least", "most_challengers"),
    [("quick-sweep", 40, 2), ("lie-positions-sweep", 500, 4)],
)
def test_the_shipped_sweeps_expand_to_games_that_each_have_an_honest_party(
    name: str, at_least: int, most_challengers: int
) -> None:
    cases = cases_of(REPO / "scenarios" / "sweeps" / f"{name}.yaml")
    assert len(cases) >= at_least
    assert max(len(c.challengers) for c in cases) == most_challengers
    assert all(c.expected_winner is not None for c in cases)
    several = [c for c in cases if len(c.challengers) > 1]
    assert {c.expected_winner for c in several} == {"proposer", "challenger"}
    assert all(case_scenario(c).lineup for c in several[:20])
