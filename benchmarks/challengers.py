"""What a claim costs as the number of challengers grows (1, 2, 4, 8, 16).

Why: the game is permissionless, so anyone may challenge and the proposer defends every
challenge side by side. Its costs must stay bounded: each challenger pays for its own
bisection, the proposer pays one bisection per challenge, the simulation's wall time grows at
most linearly, and the claim settles no later than its window plus two chess clocks after its
creation (docs/game.md, "Bounds"), whatever the number.

Two lineups over `exitcode` (7,352 steps), each on a fresh in-process Prague chain:
  defended:  an honest proposer against k challengers lying from different steps
             (the claim is accepted once the window closes; the proposer collects k bonds);
  sybils:    a lying proposer against k - 1 colluding sybils that arrive first and an honest
             challenger that arrives last (the claim is rejected).
For each: the proposer's gas, the mean and largest gas of one challenger, the wall time of
the whole simulation (and its ratio to k = 1, against k: at most linear), the settle time in
chain seconds and its bound (window + 2 clocks + 1 s), all from one run.

Usage: python benchmarks/challengers.py [--counts 1,2,4,8,16]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from arbitration.agents.strategy import Strategy
from arbitration.simulation.outcome import Outcome
from arbitration.simulation.scenario import Scenario, load_scenario
from arbitration.simulation.simulator import simulate

REPO = Path(__file__).resolve().parents[1]
BASE = replace(load_scenario(REPO / "scenarios" / "lying-challenger.yaml"), expect=None)
N = 7_352


def defended(k: int) -> Scenario:
    liars = tuple(Strategy("lie_from", step=1 + (i * 997) % (N - 1)) for i in range(k))
    return replace(BASE, proposer=Strategy(), challenger=liars[0], challengers=liars)


def sybils(k: int) -> Scenario:
    lineup = (*[Strategy("collude")] * (k - 1), Strategy())
    return replace(
        BASE, proposer=Strategy("lie_from", step=5_000), challenger=lineup[0], challengers=lineup
    )


def measure(scenario: Scenario) -> tuple[Outcome, float]:
    started = time.perf_counter()
    outcome = simulate(scenario)
    return outcome, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,2,4,8,16")
    counts = [int(c) for c in parser.parse_args().counts.split(",")]
    console = Console(width=160)
    clock = BASE.game.clock_seconds
    bound = 3 * clock + 1
    lineups = (("defended", defended, "proposer"), ("sybils", sybils, "challenger"))
    for name, build, expected in lineups:
        table = Table(title=f"{name}: claim over exitcode (N = {N:,}), clocks {clock} s, Prague")
        for column in (
            "challengers", "winner", "proposer gas", "gas / challenger (mean, max)",
            "gas / proposer move", "moves", "wall s (emulate, dispute)", "wall / wall(1)",
            "settle s (bound)",
        ):
            table.add_column(column, justify="right")
        first = None
        for k in counts:
            outcome, wall = measure(build(k))
            assert outcome.winner == expected, (name, k, outcome.winner)
            first = first or wall
            per_challenger = [c.gas.get("challenger", 0) for c in outcome.challenges]
            proposer_moves = [m for m in outcome.moves if m.actor == "proposer"]
            settle = outcome.settled_at - outcome.created_at
            assert settle <= bound, (name, k, settle, bound)
            table.add_row(
                str(k),
                outcome.winner or "-",
                f"{outcome.gas.get('proposer', 0):,}",
                f"{sum(per_challenger) // len(per_challenger):,}, {max(per_challenger):,}",
                f"{outcome.gas.get('proposer', 0) // len(proposer_moves):,}",
                str(len(outcome.moves)),
                f"{wall:.2f} ({outcome.seconds['emulate']:.2f}, {outcome.seconds['dispute']:.2f})",
                f"{wall / first:.2f} (k = {k})",
                f"{settle:,} (<= {bound:,})",
            )
        console.print(table)


if __name__ == "__main__":
    main()
