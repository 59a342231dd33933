"""The CLI's contract: outputs, exit codes, and one-line errors without tracebacks."""

from __future__ import annotations

import gc
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arbitration.cli.app import app, loading_without_gc, narration_has_reader

PROGRAMS = Path(__file__).resolve().parents[1] / "scenarios" / "programs"


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    from arbitration.cli import emulator_commands  # noqa: F401  (registers the commands)

    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_run_json_reports_the_committed_end_state(runner: CliRunner, tmp_path: Path) -> None:
    stdin = tmp_path / "in.txt"
    stdin.write_text("one two\nthree\n")
    code, out, _ = invoke(
        runner, "run", "--json", "--stdin", str(stdin), str(PROGRAMS / "stdin_echo"), "x", "--y"
    )
    assert code == 0
    report = json.loads(out)
    assert report["status"] == "exited" and report["exit_code"] == 0
    assert "argv[2]=--y" in report["stdout"]
    assert "lines=2 words=3 bytes=14" in report["stdout"]
    assert report["state_hash"].startswith("0x00") and len(report["state_hash"]) == 66
    assert report["steps"] > 1000


def test_run_passes_output_and_exit_code_through(runner: CliRunner) -> None:
    code, out, _ = invoke(runner, "run", str(PROGRAMS / "exitcode"))
    assert code == 7
    assert out == "exiting with status 7\n"


def test_panicking_program_exits_one_and_says_so(runner: CliRunner) -> None:
    code, out, err = invoke(runner, "run", str(PROGRAMS / "trap"))
    assert code == 1
    assert out == "about to trap\n"
    assert "panicked (code 2)" in err


def test_state_prove_check_round_trip(runner: CliRunner, tmp_path: Path) -> None:
    program = str(PROGRAMS / "tiny_sum")
    code, out, _ = invoke(runner, "state", "--step", "41", program)
    assert code == 0
    at41 = json.loads(out)
    proof = tmp_path / "p.json"
    code, out, _ = invoke(runner, "prove", "--step", "40", "-o", str(proof), program)
    assert code == 0
    assert json.loads(out)["post_state_hash"] == at41["state_hash"]
    code, out, _ = invoke(runner, "check", str(proof))
    assert code == 0
    assert json.loads(out)["post_state_hash"] == at41["state_hash"]


def test_check_rejects_a_forged_proof_with_exit_one(runner: CliRunner, tmp_path: Path) -> None:
    proof = tmp_path / "p.json"
    assert invoke(runner, "prove", "--step", "3", "-o", str(proof), str(PROGRAMS / "hello"))[0] == 0
    data = json.loads(proof.read_text())
    raw = bytearray.fromhex(data["proof"][2:])
    raw[10] ^= 0x01  # a byte of the first proven leaf
    data["proof"] = "0x" + raw.hex()
    proof.write_text(json.dumps(data))
    code, _, err = invoke(runner, "check", str(proof))
    assert code == 1
    assert "MerkleProofInvalid" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "not an ELF"), (b"#!/bin/sh\necho hi\n", "not an ELF")],
)
def test_bad_program_is_exit_two_with_one_line(
    runner: CliRunner, tmp_path: Path, content: bytes, message: str
) -> None:
    program = tmp_path / "bad"
    program.write_bytes(content)
    code, _, err = invoke(runner, "run", str(program))
    assert code == 2
    assert message in err
    assert err.count("\n") == 1


def test_unreadable_proof_file_is_exit_two(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "flexemu-step-proof/2", "step": 1}')
    code, _, err = invoke(runner, "check", str(bad))
    assert code == 2 and "no 'pre_state_hash'" in err
    code, _, err = invoke(runner, "check", str(tmp_path / "missing.json"))
    assert code == 2 and "No such file" in err


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a program\n")
    result = subprocess.run(
        [sys.executable, "-c", "from arbitration.cli.main import main; main()", "run", str(text)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_loading_without_gc_freezes_what_it_loaded_and_collects_again() -> None:
    assert gc.isenabled()
    before = gc.get_freeze_count()
    with loading_without_gc():
        assert not gc.isenabled()
        loaded = [[index] for index in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + len(loaded)  # out of every later collection
    gc.unfreeze()
    with pytest.raises(KeyError), loading_without_gc():  # a failed load turns it back on too
        raise KeyError("x")
    assert gc.isenabled()
    gc.unfreeze()


@pytest.mark.parametrize(
    ("environment", "isatty", "expected"),
    [
        ({}, False, False),
        ({}, True, True),
        ({"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"}, True, False),
        ({"TTY_COMPATIBLE": "1"}, False, True),
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": ""}, True, False),
        ({"TTY_COMPATIBLE": "maybe"}, True, True),
    ],
)
def test_narration_has_a_reader_exactly_when_rich_sees_a_terminal(
    environment: dict[str, str], isatty: bool, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`simulate --json` decides without rich whether to narrate: it must agree with rich's
    own `Console(stderr=True).is_terminal`, whose rule it copies."""
    from rich.console import Console

    for name in ("TTY_COMPATIBLE", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return isatty

    monkeypatch.setattr(sys, "stderr", Stream())
    assert narration_has_reader() is expected
    assert Console(stderr=True).is_terminal is expected
