"""Bad input found by trying the commands as an adversary would (issue 9): each case crashed,
hung, deleted a file it should not have, or named the wrong problem.

Every command must answer bad input with one line on stderr and exit code 2 (an invalid
proof: exit 1), never a traceback, never a crash, never a hang, and never touch a file it
did not write. The cases that crashed the interpreter or hung run the real console script
in a subprocess, so a regression fails the test instead of killing the test run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arbitration.cli.app import app
from arbitration.simulation.scenario import (
    MAX_BOND_WEI,
    MAX_CLOCK_SECONDS,
    ScenarioError,
    load_scenario,
)
from flexemu.files import MAX_JSON_DEPTH, json_depth
from flexemu.isa.mips.state import state_hash

REPO = Path(__file__).resolve().parents[1]
PROGRAMS = REPO / "scenarios" / "programs"
DATA = Path(__file__).resolve().parent / "data"
#: Deep enough to overflow the C stack under py-evm's recursion limit (it segfaulted).
DEEP = 200_000


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    from arbitration.cli.main import register

    register(None)  # every command module

    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def console(*args: str | bytes, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """The real console script in its own process (a crash or hang cannot take pytest down)."""
    return subprocess.run(
        [sys.executable, "-c", "from arbitration.cli.main import main; main()", *args],
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def one_line(stderr: str | bytes) -> str:
    """The single `error: ...` line a command printed; fails on a traceback or a usage box."""
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    lines = text.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), text
    return lines[0]


@pytest.fixture(scope="module")
def proof_data(tmp_path_factory: pytest.TempPathFactory, runner: CliRunner) -> dict[str, object]:
    """A real proof file's JSON (step 3 of hello, a running state)."""
    path = tmp_path_factory.mktemp("proof") / "p.json"
    assert invoke(runner, "prove", "--step", "3", "-o", str(path), str(PROGRAMS / "hello"))[0] == 0
    return json.loads(path.read_text())


def proof_file(tmp_path: Path, data: dict[str, object], name: str = "p.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


# ---------------------------------------------------------------- vectors --out DIR


def hostile_index(out: Path, files: list[object]) -> None:
    out.mkdir()
    index = {"format": "flexemu-step-vector-index/1", "vectors": [{"file": f} for f in files]}
    (out / "index.json").write_text(json.dumps(index))


@pytest.mark.parametrize("kind", ["absolute", "dot-dot", "dot-dot inside a class"])
def test_vectors_never_deletes_what_a_hostile_index_names(
    runner: CliRunner, tmp_path: Path, kind: str
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "v"
    name = {
        "absolute": str(victim),
        "dot-dot": "../victim.txt",
        "dot-dot inside a class": "add/../../victim.txt",
    }[kind]
    hostile_index(out, [name])
    code, _, err = invoke(runner, "vectors", "--out", str(out), str(PROGRAMS / "hello"))
    assert code == 2
    line = one_line(err)
    assert "malformed vector index" in line and json.dumps(name) in line
    assert victim.read_text() == "keep me"
    assert sorted(p.name for p in out.iterdir()) == ["index.json"]  # nothing written either


@pytest.mark.parametrize(
    ("index", "fragment"),
    [
        ("{not json", "not JSON"),
        ('{"format": "flexemu-step-vector-index/1", "vectors": 3}', "'vectors' is not a list"),
        ('{"format": "flexemu-step-vector-index/1", "vectors": [7]}', "vectors[0]"),
        ('{"format": "flexemu-step-vector-index/1", "invalid": [{"file": 7}]}', "invalid[0]"),
        ('{"format": "flexemu-step-vector-index/1", "vectors": [{}]}', "vectors[0]"),
        ("[" * DEEP + "]" * DEEP, "nested deeper"),
        ('{"format": "something else"}', "not a vector index"),
    ],
)
def test_vectors_malformed_index_is_one_line(
    runner: CliRunner, tmp_path: Path, index: str, fragment: str
) -> None:
    out = tmp_path / "v"
    out.mkdir()
    (out / "index.json").write_text(index)
    code, _, err = invoke(runner, "vectors", "--out", str(out), str(PROGRAMS / "hello"))
    assert code == 2 and fragment in one_line(err)


def test_vectors_max_steps_stops_a_program_that_never_exits(tmp_path: Path) -> None:
    out = tmp_path / "v"
    result = console("vectors", "--out", str(out), "--max-steps", "3000", str(DATA / "spin"))
    assert result.returncode == 0, result.stderr
    index = json.loads((out / "index.json").read_text())
    assert index["trace_length"] == index["steps_classified"] == 3000
    assert int(index["final_state_hash"][2:4], 16) == 3  # unfinished
    assert "fixed-point" not in index["classes"] and index["classes"]["syscall-write"] == 1
    assert max(e["step"] for e in index["vectors"]) < 3000


# ---------------------------------------------------------------- nesting


def test_json_depth_ignores_brackets_inside_strings() -> None:
    assert json_depth('{"a": "[[[\\"[{", "b": [1, [2, {}]]}') == 4
    assert json_depth("12") == 0 and json_depth("[]") == 1


@pytest.mark.parametrize("onchain", [False, True])
def test_check_deeply_nested_json_is_one_line(tmp_path: Path, onchain: bool) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * DEEP + "]" * DEEP)
    result = console("check", *(["--onchain"] if onchain else []), str(path))
    assert result.returncode == 2  # was SIGSEGV (-11)
    assert f"nested deeper than {MAX_JSON_DEPTH}" in one_line(result.stderr)


def test_simulate_deeply_nested_yaml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("name: x\nprogram: " + "[" * DEEP + "]" * DEEP + "\n")
    result = console("simulate", str(path))
    assert result.returncode == 2  # was a RecursionError traceback or SIGSEGV
    line = one_line(result.stderr)
    assert str(path) in line and "nested deeper than 64 levels" in line


@pytest.mark.parametrize(
    "text",
    [
        "name: x\nprogram:\n  " + "- " * 100 + "x\n",  # block sequences, one line
        "name: x\nprogram:\n" + "".join(" " * i + "k:\n" for i in range(100)) + " " * 100 + "k: 1",
    ],
)
def test_block_style_nesting_is_bounded_too(tmp_path: Path, text: str) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match="nested deeper than 64 levels"):
        load_scenario(path)


# ---------------------------------------------------------------- scenario limits

SCENARIO = """\
name: limits
program: {{path: {program}}}
game: {{bond_wei: {bond}, clock_seconds: {clock}}}
proposer: {{strategy: honest}}
challenger: {{strategy: honest}}
"""


def scenario_file(tmp_path: Path, bond: int, clock: int) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(program=PROGRAMS / "hello", bond=bond, clock=clock))
    return path


@pytest.mark.parametrize(
    ("bond", "clock", "key", "fragment"),
    [
        (MAX_BOND_WEI + 1, 60, "game.bond_wei", "funded balance"),
        (10**30, 60, "game.bond_wei", f"expected at most {MAX_BOND_WEI}"),
        (1, MAX_CLOCK_SECONDS + 1, "game.clock_seconds", "uint64"),
        (1, 10**40, "game.clock_seconds", f"expected at most {MAX_CLOCK_SECONDS}"),
    ],
)
def test_bond_and_clock_limits_name_file_and_key(
    runner: CliRunner, tmp_path: Path, bond: int, clock: int, key: str, fragment: str
) -> None:
    path = scenario_file(tmp_path, bond, clock)
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert str(raised.value).startswith(f"{path}: {key}: ") and fragment in str(raised.value)
    code, _, err = invoke(runner, "simulate", str(path))  # was a traceback from the chain
    assert code == 2 and key in one_line(err)


def test_a_dispute_at_the_largest_bond_and_clock_is_played(
    runner: CliRunner, tmp_path: Path
) -> None:
    """The limits are not too tight: both parties post the largest bond, the clocks are the
    largest uint64, and the honest challenger wins on the first step."""
    path = scenario_file(tmp_path, MAX_BOND_WEI, MAX_CLOCK_SECONDS)
    path.write_text(
        path.read_text()
        .replace("path: " + str(PROGRAMS / "hello"), "path: " + str(PROGRAMS / "tiny_sum"))
        .replace("proposer: {strategy: honest}", "proposer: {strategy: lie_from, step: 1}")
        + "expect: {winner: challenger, reason: step, disputed_step: 0}\n"
    )
    game = load_scenario(path).game
    assert (game.bond_wei, game.clock_seconds) == (MAX_BOND_WEI, MAX_CLOCK_SECONDS)
    code, out, err = invoke(runner, "simulate", "--json", str(path))
    assert code == 0, err
    assert json.loads(out)["matched"] is True


def test_the_funded_balance_is_what_the_in_process_chain_gives() -> None:
    """MAX_BOND_WEI is derived from the accounts' balance: keep them in step."""
    from arbitration.chain.in_process import InProcessChain
    from arbitration.simulation.scenario import FUNDED_WEI

    chain = InProcessChain.fresh(num_accounts=2)
    assert {chain.w3.eth.get_balance(a) for a in chain.accounts} == {FUNDED_WEI}


# ---------------------------------------------------------------- check vs the verifier


@pytest.mark.parametrize(
    ("offset", "value", "field"),
    [(148, 3, 148), (148, 0xFF, 148), (150 + 3, 1, 150), (150, 0x80, 150)],
)
@pytest.mark.parametrize("onchain", [False, True])
def test_invalid_witness_is_an_invalid_proof_like_on_chain(
    runner: CliRunner,
    tmp_path: Path,
    proof_data: dict[str, object],
    offset: int,
    value: int,
    field: int,
    onchain: bool,
) -> None:
    witness = bytearray.fromhex(str(proof_data["witness"])[2:])
    witness[offset] = value
    data = {
        **proof_data,
        "witness": "0x" + witness.hex(),
        "pre_state_hash": "0x" + state_hash(bytes(witness)).hex(),
    }
    path = proof_file(tmp_path, data)
    code, _, err = invoke(runner, "check", *(["--onchain"] if onchain else []), str(path))
    assert code == 1  # was exit 2 off-chain
    assert one_line(err).startswith(f"error: invalid proof: InvalidWitness({field})")


@pytest.mark.parametrize("onchain", [False, True])
def test_wrong_witness_length_has_the_verifier_name(
    runner: CliRunner, tmp_path: Path, proof_data: dict[str, object], onchain: bool
) -> None:
    data = {**proof_data, "witness": str(proof_data["witness"])[:-2]}
    code, _, err = invoke(
        runner, "check", *(["--onchain"] if onchain else []), str(proof_file(tmp_path, data))
    )
    assert code == 1 and "WitnessLength(409)" in one_line(err)


@pytest.mark.parametrize("step", [0, 2, 4, 10**6])
@pytest.mark.parametrize("onchain", [False, True])
def test_a_step_the_witness_contradicts_is_refused(
    runner: CliRunner, tmp_path: Path, proof_data: dict[str, object], step: int, onchain: bool
) -> None:
    path = proof_file(tmp_path, {**proof_data, "step": step})
    code, _, err = invoke(runner, "check", *(["--onchain"] if onchain else []), str(path))
    assert code == 1  # was accepted
    assert f"step {step} disagrees with the witness, at step 3" in one_line(err)


def test_a_terminal_witness_proves_any_later_step(runner: CliRunner, tmp_path: Path) -> None:
    """A fixed point keeps the step counter of the step that ended the program."""
    path = tmp_path / "end.json"
    program = str(PROGRAMS / "tiny_sum")
    assert invoke(runner, "prove", "--step", "100000", "-o", str(path), program)[0] == 0
    data = json.loads(path.read_text())
    assert data["step"] == 100000
    code, out, err = invoke(runner, "check", str(path))
    assert code == 0, err
    assert json.loads(out)["post_state_hash"] == data["pre_state_hash"]
    early = proof_file(tmp_path, {**data, "step": 3}, "early.json")
    assert invoke(runner, "check", str(early))[0] == 1


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"format": None}, "has no 'format'"),
        ({"format": "flexemu-step-vector/2"}, "'format' must be 'flexemu-step-proof/2'"),
        ({"format": "flexemu-step-proof/1"}, "got 'flexemu-step-proof/1'"),  # 900-byte paths
        ({"format": 1}, "got 1"),
    ],
)
def test_a_missing_or_wrong_format_is_refused(
    runner: CliRunner,
    tmp_path: Path,
    proof_data: dict[str, object],
    change: dict[str, object],
    fragment: str,
) -> None:
    data = {key: value for key, value in {**proof_data, **change}.items() if value is not None}
    code, _, err = invoke(runner, "check", str(proof_file(tmp_path, data)))
    assert code == 2 and fragment in one_line(err)  # was accepted


# ---------------------------------------------------------------- messages


@pytest.mark.parametrize("target", ["directory", "missing folder"])
def test_output_into_a_directory_or_missing_folder_names_the_path(
    runner: CliRunner, tmp_path: Path, target: str
) -> None:
    out = tmp_path if target == "directory" else tmp_path / "absent" / "p.json"
    code, _, err = invoke(runner, "prove", "--step", "1", "-o", str(out), str(PROGRAMS / "hello"))
    assert code == 2
    line = one_line(err)
    assert line.startswith(f"error: {out}: cannot write: ")
    assert ".tmp" not in line
    expected = "it is a directory" if target == "directory" else f"folder {out.parent} does not"
    assert expected in line
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["run", "--max-steps", "0"], "'--max-steps'"),
        (["run", "--max-steps", "-5"], "'--max-steps'"),
        (["state", "--step", "-1"], "'--step'"),
        (["prove", "--step", "x"], "'--step'"),
        (["vectors", "--out", "{tmp}/v", "--per-class", "0"], "'--per-class'"),
        (["vectors", "--out", "{tmp}/v", "--max-steps", "0"], "'--max-steps'"),
        (["vectors", "--out", "{tmp}/v", "--classify-steps", "0"], "'--classify-steps'"),
    ],
)
def test_out_of_range_options_are_one_line(
    runner: CliRunner, tmp_path: Path, args: list[str], fragment: str
) -> None:
    full = [a.replace("{tmp}", str(tmp_path)) for a in args] + [str(PROGRAMS / "hello")]
    code, _, err = invoke(runner, *full)
    assert code == 2
    line = one_line(err)  # was click's usage box
    assert fragment in line and "Invalid value" in line


def test_a_non_utf8_guest_argument_reaches_the_guest_as_bytes(tmp_path: Path) -> None:
    result = console("run", str(PROGRAMS / "stdin_echo"), os.fsencode("caf\udce9"), b"\xff")
    assert result.returncode == 0, result.stderr  # was a codec error
    assert b"argv[1]=caf\xe9\n" in result.stdout and b"argv[2]=\xff\n" in result.stdout


# ---------------------------------------------------------------- run --json exit code


@pytest.mark.parametrize(
    ("program", "extra", "status", "code"),
    [
        ("exitcode", [], "exited", 7),
        ("hello", [], "exited", 0),
        ("trap", [], "panicked", 1),
        ("loop", ["--max-steps", "1000"], "running", 1),
    ],
)
def test_run_exit_code_is_the_same_with_and_without_json(
    runner: CliRunner, program: str, extra: list[str], status: str, code: int
) -> None:
    plain = invoke(runner, "run", *extra, str(PROGRAMS / program))
    as_json = invoke(runner, "run", "--json", *extra, str(PROGRAMS / program))
    assert plain[0] == as_json[0] == code  # --json exited 0 for a panic or a non-zero exit
    assert json.loads(as_json[1])["status"] == status


def test_run_help_states_the_exit_code_rule(runner: CliRunner) -> None:
    code, out, _ = invoke(runner, "run", "--help")
    assert code == 0
    assert "Exit code, with or without --json" in " ".join(out.split())
