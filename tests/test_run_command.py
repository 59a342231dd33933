"""`run` takes no checkpoints (it never seeks back): its end state must still be the trace's.

`state` seeks with a checkpointing emulator; `run`'s emulator runs in chunks of another size.
Both must name the same state at the same step, within a checkpoint interval and across
several of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arbitration.cli.app import app
from flexemu.emulator import DEFAULT_INTERVAL, Emulator
from flexemu.loader import Program

LOOP = Path(__file__).resolve().parents[1] / "scenarios" / "programs" / "loop"


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    from arbitration.cli import emulator_commands  # noqa: F401  (registers the commands)

    return CliRunner()


def run_json(runner: CliRunner, *args: str, exit_code: int = 0) -> dict[str, object]:
    result = runner.invoke(app, ["run", "--json", *args, str(LOOP)])
    assert result.exit_code == exit_code, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("steps", [DEFAULT_INTERVAL - 1, 3 * DEFAULT_INTERVAL + 12_345])
def test_run_stopped_at_a_step_matches_state_at_that_step(runner: CliRunner, steps: int) -> None:
    # A run that --max-steps stopped exits 1 (the rule `run --help` states).
    report = run_json(runner, "--max-steps", str(steps), exit_code=1)
    state = runner.invoke(app, ["state", "--step", str(steps), str(LOOP)])
    assert state.exit_code == 0, state.stderr
    expected = json.loads(state.stdout)
    assert (report["steps"], report["status"]) == (steps, "running")
    assert (report["state_hash"], report["pc"]) == (expected["state_hash"], expected["pc"])


def test_run_to_the_end_matches_a_checkpointing_emulator(runner: CliRunner) -> None:
    report = run_json(runner)
    emulator = Emulator(Program.from_file(LOOP, [str(LOOP)]))
    final = emulator.run()
    assert len(emulator.checkpoints) > 1  # the reference side did checkpoint
    assert report["steps"] == final.step
    assert report["state_hash"] == "0x" + final.hash().hex()
    assert report["stdout"] == emulator.stdout().decode()
