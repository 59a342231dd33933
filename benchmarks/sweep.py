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
`--chain revm` plays every game on the revm host (`sweep --chain revm`); `--hosts` instead
compares the two hosts' games per minute on 2 workers, each row's gas checked equal.

Usage: python benchmarks/sweep.py [CASES] [--chain pyevm|revm] [--hosts]
(default 200 cases; the program is tiny_sum, 307 steps)
"""

from __future__ import annotations

import argparse
import multiprocessing
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


def throughput(
    workers: int, cases: list[SweepCase], host: str = "pyevm"
) -> tuple[float, list[dict]]:
    """Games per minute on a local cluster of `workers` processes, and the rows it got."""
    rows: list[dict] = []
    failures: list[BaseException] = []
    with dask_client(workers, None) as client:
        warm = [client.submit(run_case, case, host, pure=False) for case in cases[:workers]]
        client.gather(warm)
        started = time.perf_counter()
        run_cases(client, cases, rows.append, lambda case, error: failures.append(error), host)
        seconds = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} cases failed: {failures[0]}")
    return len(rows) / seconds * 60, rows


def compare_hosts(cases: list[SweepCase], console: Console) -> None:
    """Games per minute on 2 workers, py-evm against revm; every row's gas and winner must
    be the same on both."""
    rates, rows = {}, {}
    for host in ("pyevm", "revm"):
        console.print(f"{len(cases)} disputes on 2 workers, {host}...", highlight=False)
        rates[host], found = throughput(2, cases, host)
        rows[host] = {r["id"]: (r["winner"], r["gas"], r["moves"]) for r in found}
    if rows["revm"] != rows["pyevm"]:
        raise RuntimeError("the two hosts' rows differ (gas, winner or moves)")
    table = Table(title=f"sweep throughput by host: {len(cases)} short disputes, 2 workers")
    for column in ("host", "games per minute"):
        table.add_column(column, justify="right")
    for host, rate in rates.items():
        table.add_row(host, f"{rate:,.1f}")
    console.print(table)
    console.print(f"revm / py-evm: {rates['revm'] / rates['pyevm']:.2f}x; rows identical")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cases", type=int, nargs="?", default=200)
    parser.add_argument("--chain", default="pyevm", help="every game's host: pyevm or revm")
    parser.add_argument("--hosts", action="store_true", help="compare the hosts instead")
    options = parser.parse_args()
    cases = bench_cases(options.cases)
    console = Console()
    if options.hosts:
        compare_hosts(cases, console)
        return
    results = {}
    before = machine_parallelism()
    for workers in (1, 2):
        console.print(f"{len(cases)} disputes on {workers} worker(s)...", highlight=False)
        rate, rows = throughput(workers, cases, options.chain)
        results[workers] = rate, len(rows)
    title = f"sweep throughput: {len(cases)} short disputes (tiny_sum), {options.chain}"
    table = Table(title=title)
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
