"""A whole dispute as a process against one plain run of the same program as a process.

Why: issue 11's target, "a whole RISC-V dispute over the 30M-step guest costs <= 2x one plain
`flexemu-game run` of it, wall time". Both sides are what a user runs, timed from outside:
`flexemu-game simulate SCENARIO --json` (start-up, the in-process chain, deploying every
verifier, both parties tracing the program in their own threads, the bisection and the
verified step) against `flexemu-game run PROGRAM ARGS` (start-up, one traced run, the final
commitment). Runs alternate, `--repeats` of each, and the best wall time of each is kept
(CPU time from rusage beside it: on a shared machine it moves far less than wall time). The
simulator's own phase split (from its JSON report) says where the dispute's time goes.

`--chain revm` plays the dispute on the revm host (`simulate --chain revm`; py-evm is the
default here as in the CLI). Every run's wall time is printed beside the best.

Usage: python benchmarks/dispute_process.py [SCENARIO.yaml] [--repeats N] [--chain pyevm|revm]
(default: scenarios/rv64-lying-proposer-midway-loop.yaml, loop.rv64, 41.7M steps)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run_process lives in startup.py

from startup import Finished, run_process

from arbitration.simulation.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "scenarios" / "rv64-lying-proposer-midway-loop.yaml"
FLEXEMU_GAME = [sys.executable, "-c", "from arbitration.cli.main import main; main()"]
TARGET_RATIO = 2.0


def run_command(scenario_path: Path, stdin_file: Path | None) -> list[str]:
    """`flexemu-game run` of the scenario's program, with its arguments and input."""
    spec = load_scenario(scenario_path).program
    stdin = ["--stdin", str(stdin_file)] if stdin_file is not None else []
    return [*FLEXEMU_GAME, "run", *stdin, str(spec.path), *spec.argv[1:]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario", type=Path, nargs="?", default=DEFAULT)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument("--chain", default="pyevm", help="simulate's host: pyevm or revm")
    options = parser.parse_args(argv)
    scenario = load_scenario(options.scenario)
    stdin_file = None
    if scenario.program.stdin:
        stdin_file = REPO / ".dispute_process.stdin"
        stdin_file.write_bytes(scenario.program.stdin)
    console = Console()
    runs: list[Finished] = []
    disputes: list[Finished] = []
    simulate = [*FLEXEMU_GAME, "simulate", "--json", "--chain", options.chain]
    simulate.append(str(options.scenario))
    try:
        for attempt in range(1, options.repeats + 1):  # alternate, keep the best of each
            with console.status(f"flexemu-game run ({attempt}/{options.repeats}) ..."):
                runs.append(run_process(run_command(options.scenario, stdin_file)))
            with console.status(f"flexemu-game simulate ({attempt}/{options.repeats}) ..."):
                disputes.append(run_process(simulate))
    finally:
        if stdin_file is not None:
            stdin_file.unlink()
    if any(f.stderr and not f.stdout for f in runs + disputes):
        console.print((runs + disputes)[-1].stderr.decode(errors="replace"))
        return 2
    run = min(runs, key=lambda f: f.wall)
    dispute = min(disputes, key=lambda f: f.wall)
    report = json.loads(dispute.stdout)
    ratio = dispute.wall / run.wall

    table = Table(
        title=f"{scenario.name}: N = {report['trace_length']:,} steps, {report['chain']}"
    )
    table.add_column("measure")
    table.add_column("wall s", justify="right")
    table.add_column("CPU s", justify="right")
    table.add_row("flexemu-game run (whole process)", f"{run.wall:.2f}", f"{run.cpu:.2f}")
    table.add_row(
        "flexemu-game simulate (whole process)", f"{dispute.wall:.2f}", f"{dispute.cpu:.2f}"
    )
    for phase, seconds in report["timings_seconds"].items():
        table.add_row(f"  simulate: {phase}", f"{seconds:.2f}", "")
    table.add_row(
        "  simulate: start-up, imports, chain (the rest)",
        f"{dispute.wall - report['timings_seconds']['command']:.2f}",
        "",
    )
    console.print(table)
    every = ", ".join(f"{d.wall:.2f}/{r.wall:.2f}" for d, r in zip(disputes, runs, strict=True))
    console.print(f"every attempt, simulate/run wall s: {every}")
    console.print(
        f"verdict: {report['winner']} ({report['reason']}), step {report['disputed_step']}; "
        f"matched: {report['matched']}"
    )
    verdict = "pass" if ratio <= TARGET_RATIO else "FAIL"
    console.print(
        f"dispute / run = {ratio:.2f}x wall, {dispute.cpu / run.cpu:.2f}x CPU "
        f"(target <= {TARGET_RATIO:g}x wall): {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
