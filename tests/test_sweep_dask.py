"""Sweeps on Dask, for real: a local cluster of two worker processes through the CLI, the same
sweep on a scheduler and workers started as separate processes (`dask scheduler`, `dask
worker`), a worker killed in the middle of a task, and a sweep interrupted and resumed.

Every check compares rows apart from where and when they ran (`PLACEMENT_FIELDS`): the games
are deterministic, so the same case gives the same row on any worker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from arbitration.simulation.sweep_rows import PLACEMENT_FIELDS, read_rows
from arbitration.simulation.sweep_run import traced
from arbitration.simulation.sweep_spec import SweepCase, expand, load_sweep

REPO = Path(__file__).resolve().parents[1]
PROGRAMS = REPO / "scenarios" / "programs"
BIN = Path(sys.executable).parent

SWEEP = f"""\
name: dask-test
seed: 3
programs:
  - {{path: {PROGRAMS / "tiny_sum"}, argv: [tiny_sum]}}
  - {{path: {PROGRAMS / "likely"}, argv: [likely]}}
only_with_honest_party: true
proposer:
  - {{strategy: honest}}
  - {{strategy: lie_from, step: {{fractions: [0.5], random: 1}}}}
  - {{strategy: wrong_exit_code}}
challengers:
  count: [1, 2]
  strategies:
    - {{strategy: honest}}
    - {{strategy: lie_at, step: {{fractions: [1.0]}}}}
"""


def cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from arbitration.cli.main import main; main()", *args]


def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in grid order without the fields that say where and when they ran."""
    return [
        {k: v for k, v in row.items() if k not in PLACEMENT_FIELDS}
        for row in sorted(rows, key=lambda r: r["index"])
    ]


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sweep") / "sweep.yaml"
    path.write_text(SWEEP, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cases(sweep_file: Path) -> list[SweepCase]:
    sweep = load_sweep(sweep_file)
    return expand(sweep, {p.label: traced(p.spec) for p in sweep.programs})


@pytest.fixture(scope="module")
def local_run(sweep_file: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = sweep_file.parent / "local"
    result = subprocess.run(
        cli("sweep", str(sweep_file), "--out", str(out), "--workers", "2"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result, out


def test_a_local_cluster_of_two_workers_plays_every_case_once(
    local_run: tuple[subprocess.CompletedProcess[str], Path], cases: list[SweepCase]
) -> None:
    result, out = local_run
    assert result.returncode == 0, result.stderr
    rows, _ = read_rows(out / "rows.jsonl")
    assert sorted(r["id"] for r in rows) == sorted(c.id for c in cases)
    assert all(r["honest_won"] is True for r in rows)
    assert {r["winner"] for r in rows} == {"proposer", "challenger"}
    assert {len(r["challengers"]) for r in rows} == {1, 2}
    for r in rows:  # every challenger accounted for, their gas adding up to the party's
        assert len(r["per_challenger"]) == len(r["challengers"])
        assert sum(c["gas"] for c in r["per_challenger"]) == r["gas"]["challenger"]
    assert 1 <= len({r["worker"] for r in rows}) <= 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows"] == len(cases) and summary["honest_won_every_row"] is True
    assert (out / "sweep.svg").read_text().startswith("<svg")
    csv_lines = (out / "rows.csv").read_text().splitlines()
    assert len(csv_lines) == len(cases) + 1 and csv_lines[0].startswith("id,index,program")
    assert f"the honest party won {len(cases)} of {len(cases)}" in result.stdout


def wait_for(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_a_scheduler_and_workers_started_apart_give_the_same_rows(
    local_run: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path
) -> None:
    from dask.distributed import Client

    scheduler_file = tmp_path / "scheduler.json"
    started: list[subprocess.Popen[bytes]] = []
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": tmp_path}
    try:
        started.append(
            subprocess.Popen(
                [
                    str(BIN / "dask"),
                    "scheduler",
                    "--scheduler-file",
                    str(scheduler_file),
                    "--port",
                    "0",
                    "--no-dashboard",
                ],
                **quiet,
            )
        )
        wait_for(scheduler_file.exists, 60, "the scheduler file")
        started.append(
            subprocess.Popen(
                [
                    str(BIN / "dask"),
                    "worker",
                    "--scheduler-file",
                    str(scheduler_file),
                    "--nworkers",
                    "2",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                ],
                **quiet,
            )
        )
        address = json.loads(scheduler_file.read_text())["address"]
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        out = tmp_path / "remote"
        result = subprocess.run(
            cli(
                "sweep",
                str(local_run[1].parent / "sweep.yaml"),
                "--out",
                str(out),
                "--scheduler",
                address,
            ),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
    finally:
        for process in reversed(started):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    remote, _ = read_rows(out / "rows.jsonl")
    local, _ = read_rows(local_run[1] / "rows.jsonl")
    assert comparable(remote) == comparable(local)


def test_a_killed_workers_task_is_retried_and_no_row_is_lost_or_doubled(
    cases: list[SweepCase], local_run: tuple[subprocess.CompletedProcess[str], Path]
) -> None:
    from arbitration.simulation.sweep_dask import dask_client, run_cases

    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    killed: dict[str, Any] = {}
    with dask_client(2, None) as client:

        def on_row(row: dict[str, Any]) -> None:
            rows.append(row)
            if killed:
                return
            pids = client.run(os.getpid)
            busy = {w: keys for w, keys in client.processing().items() if keys}
            if busy:
                worker, keys = next(iter(busy.items()))
                killed.update(worker=worker, keys=set(keys), pid=pids[worker])
                os.kill(pids[worker], signal.SIGKILL)

        run_cases(client, cases, on_row, lambda case, error: failures.append(str(error)))
    assert killed, "no worker was busy when the first row came in"
    assert failures == []
    assert sorted(r["id"] for r in rows) == sorted(c.id for c in cases)  # each once
    lost = [r for r in rows if f"flexemu-sweep-dask-test-{r['id']}" in killed["keys"]]
    assert lost and all(not r["worker"].endswith(f":{killed['pid']}") for r in lost)
    local, _ = read_rows(local_run[1] / "rows.jsonl")
    assert comparable(rows) == comparable(local)


def test_an_interrupted_sweep_resumes_without_losing_or_doubling_a_row(
    sweep_file: Path,
    cases: list[SweepCase],
    local_run: tuple[subprocess.CompletedProcess[str], Path],
    tmp_path: Path,
) -> None:
    out = tmp_path / "resumed"
    rows_file = out / "rows.jsonl"
    process = subprocess.Popen(
        cli("sweep", str(sweep_file), "--out", str(out), "--workers", "1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: rows_file.exists() and len(rows_file.read_bytes().splitlines()) >= 3,
            240,
            "three rows",
        )
        # SIGTERM, not SIGINT: a process started in the background ignores SIGINT
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 130
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    before = rows_file.read_bytes()
    assert 3 <= len(before.splitlines()) < len(cases)
    with rows_file.open("ab") as handle:
        handle.write(b'{"id": "torn')  # as if the machine died in the middle of a write
    result = subprocess.run(
        cli("sweep", str(sweep_file), "--out", str(out), "--workers", "2", "--resume"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    after = rows_file.read_bytes()
    assert after.startswith(before)  # the finished rows are kept as they were
    rows, _ = read_rows(rows_file)
    assert sorted(r["id"] for r in rows) == sorted(c.id for c in cases)
    local, _ = read_rows(local_run[1] / "rows.jsonl")
    assert comparable(rows) == comparable(local)
    refused = subprocess.run(
        cli("sweep", str(sweep_file), "--out", str(out)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and "--resume" in refused.stderr
