"""Sweep throughput on Dask: 200 short disputes with 1 worker, then with 2, and the ratio.

Why: a sweep is embarrassingly parallel (every case is its own task with its own chain), so
two worker processes on two cores should nearly double the games per minute. Target: 2
workers >= 1.7x the throughput of 1 worker on this 2-core machine.

The machine is shared: to read the ratio, the script also measures how much two plain
CPU-bound processes gain over one right now (`machine_parallelism`, before and after); a
sweep cannot scale better than that.

Each cluster is started and warmed first (every worker imports the game stack and traces the
program once, as a sweep's first task would): the clock runs from the first submission to the
last result, which is what a long sweep's throughput is made of.
Usage: python benchmarks/sweep.py [CASES]   (default 200; the program is tiny_sum, 307 steps)
"""

from __future__ import annotations

import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from arbitration.simulation.sweep_dask import dask_client, run_cases
from arbitration.simulation.sweep_run import run_case, traced
from arbitration.simulation.sweep_spec import SweepCase, expand, load_sweep

REPO = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.7

SWEEP = """\
name: bench
seed: 1
programs: [{{path: {program}, argv: [tiny_sum]}}]
proposer:
  - {{strategy: lie_from, step: {{random: {half}}}}}
  - {{strategy: lie_at, step: {{random: {rest}}}}}
challengers: {{strategy: honest}}
"""


def bench_cases(count: int) -> list[SweepCase]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.yaml"
        program = REPO / "scenarios" / "programs" / "tiny_sum"
        path.write_text(SWEEP.format(program=program, half=count // 2, rest=count - count // 2))
        sweep = load_sweep(path)
        return expand(sweep, {p.label: traced(p.spec) for p in sweep.programs})


def _burn(count: int) -> int:
    total = 0
    for i in range(count):
        total += i
    return total


def machine_parallelism(count: int = 8_000_000) -> float:
    """Two plain CPU-bound processes at once against one: 2.0 on two idle cores."""
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_burn, [1000, 1000])  # the processes start before the clock does
        started = time.perf_counter()
        pool.map(_burn, [count])
        one = time.perf_counter() - started
        started = time.perf_counter()
        pool.map(_burn, [count, count], chunksize=1)
        two = time.perf_counter() - started
    return 2 * one / two


def throughput(workers: int, cases: list[SweepCase]) -> tuple[float, int]:
    """Games per minute on a local cluster of `workers` processes, and the rows it got."""
    rows: list[dict] = []
    failures: list[BaseException] = []
    with dask_client(workers, None) as client:
        warm = [client.submit(run_case, case, pure=False) for case in cases[:workers]]
        client.gather(warm)
        started = time.perf_counter()
        run_cases(client, cases, rows.append, lambda case, error: failures.append(error))
        seconds = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} cases failed: {failures[0]}")
    return len(rows) / seconds * 60, len(rows)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    cases = bench_cases(count)
    console = Console()
    results = {}
    before = machine_parallelism()
    for workers in (1, 2):
        console.print(f"{len(cases)} disputes on {workers} worker(s)...", highlight=False)
        results[workers] = throughput(workers, cases)
    table = Table(title=f"sweep throughput: {len(cases)} short disputes (tiny_sum)")
    for column in ("workers", "games", "games per minute"):
        table.add_column(column, justify="right")
    for workers, (rate, rows) in results.items():
        table.add_row(str(workers), str(rows), f"{rate:,.1f}")
    console.print(table)
    after = machine_parallelism()
    console.print(
        f"machine parallelism (2 plain processes / 1): {before:.2f}x before, {after:.2f}x after"
    )
    ratio = results[2][0] / results[1][0]
    verdict = "pass" if ratio >= TARGET_RATIO else "FAIL"
    console.print(f"2 workers / 1 worker: {ratio:.2f}x (target >= {TARGET_RATIO}x): {verdict}")


if __name__ == "__main__":
    main()
