"""Scenario files: what loads, what is refused, and how the CLI reports a refusal.

Every refusal must name the file and the key path, raise a ValueError (the CLI's
"bad input" class) and become exit code 2 on the command line with no traceback.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arbitration.agents.strategy import STRATEGIES, STRATEGY_PARAMETERS, strategy_text
from arbitration.cli.app import app
from arbitration.simulation.scenario import (
    DEFAULT_BOND_WEI,
    DEFAULT_CLOCK_SECONDS,
    ScenarioError,
    load_scenario,
)

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"

VALID = """\
name: example
program: {path: bin/hello, argv: [hello, "10"], env: {LANG: C}, stdin: "text"}
game: {clock_seconds: 600, bond_wei: 5}
proposer: {strategy: lie_at, step: 12}
challenger: {strategy: honest}
expect: {winner: challenger}
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A scenario directory with its own copy of `hello` under bin/ and an input file."""
    (tmp_path / "bin").mkdir()
    shutil.copy(SCENARIOS / "programs" / "hello", tmp_path / "bin" / "hello")
    (tmp_path / "input.txt").write_bytes(b"from a file\n\x00\xff")
    return tmp_path


def write(workdir: Path, text: str, name: str = "s.yaml") -> Path:
    path = workdir / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_scenario_loads_with_paths_relative_to_its_file(
    workdir: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(workdir, VALID)
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))  # not the scenario's directory
    scenario = load_scenario(path)
    assert scenario.name == "example"
    assert scenario.source == path
    assert scenario.program.path == (workdir / "bin" / "hello").resolve()
    assert scenario.program.argv == ("hello", "10")
    assert scenario.program.env == {"LANG": "C"}
    assert scenario.program.stdin == b"text"
    assert (scenario.game.clock_seconds, scenario.game.bond_wei) == (600, 5)
    assert (scenario.proposer.kind, scenario.proposer.step, scenario.proposer.moves) == (
        "lie_at",
        12,
        None,
    )
    assert scenario.challenger.kind == "honest"
    assert scenario.expect is not None
    assert (scenario.expect.winner, scenario.expect.disputed_step) == ("challenger", None)


def test_defaults_and_stdin_file(workdir: Path) -> None:
    path = write(
        workdir,
        "name: d\nprogram: {path: bin/hello, stdin_file: input.txt}\n"
        "proposer: {strategy: forged_proof}\nchallenger: {strategy: silent_after, moves: 0}\n",
    )
    scenario = load_scenario(path)
    assert scenario.program.argv == ("hello",)  # argv[0] defaults to the file's name
    assert scenario.program.stdin == b"from a file\n\x00\xff"  # bytes, as stored
    assert scenario.game.clock_seconds == DEFAULT_CLOCK_SECONDS
    assert scenario.game.bond_wei == DEFAULT_BOND_WEI
    assert (scenario.proposer.kind, scenario.proposer.step) == ("forged_proof", None)
    assert (scenario.challenger.kind, scenario.challenger.moves) == ("silent_after", 0)
    assert scenario.expect is None
    assert scenario.program.max_steps is None  # run to the exit (at most DEFAULT_MAX_STEPS)


def test_any_strategy_may_go_silent(workdir: Path) -> None:
    text = VALID.replace(
        "{strategy: lie_at, step: 12}", "{strategy: lie_at, step: 12, silent_after: 2}"
    )
    proposer = load_scenario(write(workdir, text)).proposer
    assert (proposer.kind, proposer.step, proposer.moves) == ("lie_at", 12, 2)
    assert strategy_text(proposer) == "lie_at step=12, silent after 2 moves"
    doubled = VALID.replace(
        "{strategy: lie_at, step: 12}", "{strategy: silent_after, moves: 1, silent_after: 2}"
    )
    with pytest.raises(ScenarioError, match="proposer"):
        load_scenario(write(workdir, doubled))


def test_max_steps_cuts_the_trace(workdir: Path) -> None:
    path = write(workdir, VALID.replace('stdin: "text"}', 'stdin: "text", max_steps: 5000}'))
    assert load_scenario(path).program.max_steps == 5000


def test_every_strategy_in_the_list_has_a_parameter_rule() -> None:
    assert set(STRATEGY_PARAMETERS) == set(STRATEGIES)


def replace(old: str, new: str) -> str:
    assert old in VALID, old
    return VALID.replace(old, new)


# (file text, the key path the message must name, a fragment of the message)
BAD = {
    "unknown top-level key": (VALID + "colour: red\n", "colour", "unknown key"),
    "unknown program key": (replace("stdin:", "args: [], stdin:"), "program.args", "unknown key"),
    "unknown game key": (replace("bond_wei: 5", "bond: 5"), "game.bond", "unknown key"),
    "unknown expect key": (
        replace("{winner: challenger}", "{loser: proposer}"),
        "expect.loser",
        "unknown key",
    ),
    "missing name": (replace("name: example\n", ""), "name", "missing required key"),
    "missing program": (
        "name: x\nproposer: {strategy: honest}\nchallenger: {strategy: honest}\n",
        "program",
        "missing required key",
    ),
    "missing program path": (
        replace("path: bin/hello, ", ""),
        "program.path",
        "missing required key",
    ),
    "missing challenger": (
        replace("challenger: {strategy: honest}\n", ""),
        "challenger",
        "missing required key",
    ),
    "missing strategy": (
        replace("{strategy: honest}", "{}"),
        "challenger.strategy",
        "expected one of honest",
    ),
    "name not a string": (replace("name: example", "name: 5"), "name", "expected a string, got 5"),
    "argv not a list": (replace('[hello, "10"]', "hello"), "program.argv", "expected a list"),
    "argv item not a string": (
        replace('[hello, "10"]', "[hello, 10]"),
        "program.argv[1]",
        "expected a string, got 10",
    ),
    "env not a mapping": (replace("{LANG: C}", "[LANG]"), "program.env", "expected a mapping"),
    "env value not a string": (
        replace("{LANG: C}", "{LANG: 1}"),
        "program.env.LANG",
        "expected a string",
    ),
    "stdin not a string": (replace('stdin: "text"', "stdin: 3"), "program.stdin", "string"),
    "clock not an integer": (
        replace("clock_seconds: 600", "clock_seconds: 1h"),
        "game.clock_seconds",
        'got "1h"',
    ),
    "zero max_steps": (
        replace('stdin: "text"}', 'stdin: "text", max_steps: 0}'),
        "program.max_steps",
        "an integer >= 1",
    ),
    "zero clock": (
        replace("clock_seconds: 600", "clock_seconds: 0"),
        "game.clock_seconds",
        "an integer >= 1",
    ),
    "negative bond": (
        replace("bond_wei: 5", "bond_wei: -1"),
        "game.bond_wei",
        "non-negative integer, got -1",
    ),
    "boolean bond": (replace("bond_wei: 5", "bond_wei: yes"), "game.bond_wei", "got true"),
    "float bond": (replace("bond_wei: 5", "bond_wei: 1.5"), "game.bond_wei", "got 1.5"),
    "game not a mapping": (replace("{clock_seconds: 600, bond_wei: 5}", "7"), "game", "mapping"),
    "party not a mapping": (
        replace("{strategy: honest}", "honest"),
        "challenger",
        "expected a mapping",
    ),
    "unknown strategy": (
        replace("strategy: lie_at", "strategy: lie"),
        "proposer.strategy",
        "expected one of honest, lie_at, lie_from, wrong_output, wrong_exit_code, forged_proof, "
        'silent_after; got "lie"',
    ),
    "lie_at without step": (
        replace("{strategy: lie_at, step: 12}", "{strategy: lie_at}"),
        "proposer.step",
        "missing required key",
    ),
    "lie_from without step": (
        replace("{strategy: lie_at, step: 12}", "{strategy: lie_from}"),
        "proposer.step",
        "missing required key",
    ),
    "silent_after without moves": (
        replace("{strategy: honest}", "{strategy: silent_after}"),
        "challenger.moves",
        "missing required key",
    ),
    "honest given a step": (
        replace("{strategy: honest}", "{strategy: honest, step: 3}"),
        "challenger.step",
        "unknown key",
    ),
    "lie_at given moves": (
        replace("step: 12", "step: 12, moves: 2"),
        "proposer.moves",
        "unknown key",
    ),
    "silent_after given a step": (
        replace("{strategy: honest}", "{strategy: silent_after, step: 1}"),
        "challenger.step",
        "unknown key",
    ),
    "negative step": (
        replace("step: 12", "step: -3"),
        "proposer.step",
        "expected a non-negative integer, got -3",
    ),
    "step as a word": (
        replace("step: 12", "step: ten"),
        "proposer.step",
        'expected a non-negative integer, got "ten"',
    ),
    "forged_proof step null": (
        replace("{strategy: lie_at, step: 12}", "{strategy: forged_proof, step: x}"),
        "proposer.step",
        'got "x"',
    ),
    "negative moves": (
        replace("{strategy: honest}", "{strategy: silent_after, moves: -1}"),
        "challenger.moves",
        "got -1",
    ),
    "missing program file": (
        replace("bin/hello", "bin/nothing"),
        "program.path",
        "program not found: bin/nothing",
    ),
    "program is a directory": (replace("bin/hello", "bin"), "program.path", "not found"),
    "missing stdin file": (
        replace('stdin: "text"', "stdin_file: none.txt"),
        "program.stdin_file",
        "stdin file not found: none.txt",
    ),
    "both stdin and stdin_file": (
        replace('stdin: "text"', 'stdin: "text", stdin_file: input.txt'),
        "program",
        "either stdin or stdin_file, not both",
    ),
    "unknown winner": (
        replace("winner: challenger", "winner: nobody"),
        "expect.winner",
        'expected one of proposer, challenger; got "nobody"',
    ),
    "negative expected step": (
        replace("winner: challenger", "disputed_step: -1"),
        "expect.disputed_step",
        "got -1",
    ),
    "unknown reason": (
        replace("winner: challenger", "reason: luck"),
        "expect.reason",
        "expected one of step, timeout, unchallenged",
    ),
    "empty expect": (replace("{winner: challenger}", "{}"), "expect", "at least one"),
    "bad name characters": (replace("name: example", "name: a b/c"), "name", "letters, digits"),
    "top level a list": ("- name: x\n", "top level", "expected a mapping, got a list"),
    "empty file": ("", "", "empty scenario file"),
    "yaml syntax": (VALID + "proposer: [unclosed\n", "", "invalid YAML"),
    "yaml tab indentation": ("name: x\n\tprogram: y\n", "", "invalid YAML"),
    "duplicate key": (VALID + "proposer: {strategy: honest}\n", "", "duplicate key 'proposer'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_each_bad_scenario_is_refused_naming_file_and_key(workdir: Path, case: str) -> None:
    text, key, fragment = BAD[case]
    path = write(workdir, text)
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert isinstance(raised.value, ValueError)
    message = str(raised.value)
    prefix = f"{path}: {key}: " if key else f"{path}: "
    assert message.startswith(prefix), message
    assert fragment in message, message
    assert "\n" not in message


def test_the_issue_example_message_verbatim(workdir: Path) -> None:
    scenarios = workdir / "scenarios"
    scenarios.mkdir()
    shutil.copytree(workdir / "bin", scenarios / "bin")
    path = write(scenarios, BAD["step as a word"][0], "x.yaml")
    with pytest.raises(ValueError) as raised:
        load_scenario(path)
    assert str(raised.value) == (
        f'{scenarios}/x.yaml: proposer.step: expected a non-negative integer, got "ten"'
    )


def test_yaml_syntax_errors_give_a_line_number(workdir: Path) -> None:
    path = write(workdir, "name: x\nprogram: {path: [\n")
    with pytest.raises(ScenarioError, match=r"invalid YAML: .* at line \d+, column \d+"):
        load_scenario(path)


def test_unreadable_files(workdir: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load_scenario(workdir / "absent.yaml")
    binary = workdir / "binary.yaml"
    binary.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(ScenarioError, match="not a UTF-8 text file"):
        load_scenario(binary)


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    # Both command modules, as main() does: typer runs a lone command as the whole app.
    import arbitration.cli.emulator_commands
    import arbitration.cli.game_commands  # noqa: F401

    return CliRunner()


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_cli_exits_2_with_one_line_and_no_traceback(
    runner: CliRunner, workdir: Path, case: str
) -> None:
    text, key, fragment = BAD[case]
    path = write(workdir, text)
    report = workdir / "report.json"
    result = runner.invoke(app, ["simulate", str(path), "--report", str(report)])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    prefix = f"error: {path}: {key}: " if key else f"error: {path}: "
    assert len(lines) == 1 and lines[0].startswith(prefix), result.stderr
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr
    assert not report.exists()  # nothing half-written for a refused scenario


def test_the_cli_refuses_a_missing_scenario_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2
    assert "cannot read scenario" in result.stderr


SHIPPED = sorted(SCENARIOS.glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_scenario_loads_and_states_its_expectation(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem  # the file is named after the scenario
    assert scenario.program.path.is_relative_to(SCENARIOS / "programs")
    assert scenario.expect is not None and scenario.expect.winner is not None
    assert scenario.description


def test_the_scenario_table_lists_every_shipped_scenario() -> None:
    table = (SCENARIOS / "README.md").read_text()
    for path in SHIPPED:
        assert f"`{path.name}`" in table, path.name
