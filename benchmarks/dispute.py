"""A whole simulated dispute against one plain run of the same program.

Why: the game should cost little more than executing the claim once. Both
parties re-execute the program, every bisection answer is a checkpoint
restore plus a short run, and the chain work is about 2 log2 N transactions
and one verifier step. Target: dispute wall time <= 3x one `Emulator.run()`.
Also checks the protocol's move bound (moves per party against ceil(log2 N))
and reports gas per party.

Both are timed twice, alternating, and the best of each is kept.
Usage: python benchmarks/dispute.py [SCENARIO.yaml]
(default: scenarios/lying-proposer-midway-loop.yaml, 34.2M steps)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from arbitration.chain.in_process import InProcessChain
from arbitration.simulation.formatting import (
    bisection_rounds,
    ceil_log2,
    gas_per_party,
    moves_per_party,
)
from arbitration.simulation.scenario import load_scenario
from arbitration.simulation.simulator import simulate
from flexemu.emulator import Emulator
from flexemu.loader import Program

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "scenarios" / "lying-proposer-midway-loop.yaml"
TARGET_RATIO = 3.0
REPEATS = 2


def time_transactions() -> list[float]:
    """Wrap InProcessChain.transact to record each call's wall time: how much of the dispute
    is the chain (py-evm and web3) rather than the agents' emulators."""
    spent: list[float] = []
    original = InProcessChain.transact

    def timed(self: InProcessChain, *args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    InProcessChain.transact = timed  # type: ignore[method-assign]
    return spent


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    scenario = load_scenario(path)
    spec = scenario.program
    console = Console()
    spent = time_transactions()
    runs: list[float] = []
    disputes: list[float] = []
    for attempt in range(1, REPEATS + 1):  # alternate, keep the best of each
        with console.status(f"plain Emulator.run() ({attempt}/{REPEATS}) ..."):
            started = time.perf_counter()
            emulator = Emulator(Program.from_file(spec.path, list(spec.argv), spec.env, spec.stdin))
            final = emulator.run()
            runs.append(time.perf_counter() - started)
        with console.status(f"simulated dispute {scenario.name} ({attempt}/{REPEATS}) ..."):
            spent.clear()
            started = time.perf_counter()
            outcome = simulate(scenario)  # a fresh in-process chain, contracts deployed
            disputes.append(time.perf_counter() - started)
    run_seconds, dispute_seconds = min(runs), min(disputes)

    n = outcome.trace_length
    ratio = dispute_seconds / run_seconds
    table = Table(title=f"{scenario.name}: N = {n:,} steps ({final.step:,} run)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("plain Emulator.run()", f"{run_seconds:.2f} s")
    table.add_row(
        "simulated dispute (chain set-up and deployment included)", f"{dispute_seconds:.2f} s"
    )
    for phase, seconds in outcome.seconds.items():
        if phase != "total":
            table.add_row(f"  {phase} (last attempt)", f"{seconds:.2f} s")
    table.add_row(
        "  in InProcessChain.transact (last attempt)",
        f"{sum(spent):.2f} s, {len(spent)} calls, "
        f"{1000 * sum(spent) / max(len(spent), 1):.1f} ms each",
    )
    table.add_row("verdict", f"{outcome.winner} ({outcome.reason}), step {outcome.disputed_step}")
    table.add_row(
        "bisection rounds / ceil(log2 N)", f"{bisection_rounds(outcome.moves)} / {ceil_log2(n)}"
    )
    for actor, count in moves_per_party(outcome.moves).items():
        table.add_row(f"moves by {actor}", str(count))
    for actor, gas in gas_per_party(outcome).items():
        table.add_row(f"gas by {actor}", f"{gas:,}")
    if outcome.resolution is not None:
        table.add_row("gas of the step (verifier call inside)", f"{outcome.resolution.gas:,}")
    console.print(table)
    bound = ceil_log2(n) + 3
    worst = max(moves_per_party(outcome.moves).values())
    verdict = "pass" if ratio <= TARGET_RATIO else "FAIL"
    console.print(f"dispute / run = {ratio:.2f}x (target <= {TARGET_RATIO:g}x): {verdict}")
    console.print(
        f"most moves by one party = {worst} (bound ceil(log2 N) + 3 = {bound}): "
        + ("pass" if worst <= bound else "FAIL")
    )


if __name__ == "__main__":
    main()
