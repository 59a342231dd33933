"""One sweep case on a worker: its scenario, the worker's trace of its program, the game,
and the row that records it.

This module is what a Dask worker imports to run a task (`run_case`); it imports no Dask.
Each worker thread keeps the programs it has traced (`traced`): an `Emulator` run to the
scenario's max_steps answers every state query of every game about that program, so a
program is traced once per worker, not once per scenario and party. A trace is mutable (its
engine seeks), so the cache belongs to one thread; the sweep starts workers with one thread.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

from arbitration.agents.strategy import DEFAULT_MAX_STEPS
from arbitration.simulation.outcome import Outcome
from arbitration.simulation.scenario import ProgramSpec
from arbitration.simulation.simulator import default_chain, simulate
from arbitration.simulation.sweep_spec import SweepCase, TracedProgram, case_scenario
from flexemu.emulator import Emulator
from flexemu.loader import Program

_local = threading.local()


def _key(spec: ProgramSpec) -> tuple[Any, ...]:
    return (str(spec.path), spec.argv, tuple(sorted(spec.env.items())), spec.stdin, spec.max_steps)


def traced(spec: ProgramSpec) -> TracedProgram:
    """This thread's trace of a program, run on first use to its max_steps."""
    cache: dict[tuple[Any, ...], TracedProgram] | None = getattr(_local, "traces", None)
    if cache is None:
        cache = _local.traces = {}
    key = _key(spec)
    found = cache.get(key)
    if found is None:
        program = Program.from_file(spec.path, list(spec.argv), dict(spec.env), spec.stdin)
        emulator = Emulator(program)
        max_steps = spec.max_steps or DEFAULT_MAX_STEPS
        final = emulator.run(max_steps)
        # The proposer's N (Proposer.enter): the exit's step, or max_steps if still running.
        length = max(final.step if emulator.final is not None else max_steps, 1)
        found = cache[key] = TracedProgram(trace_length=length, emulator=emulator)
    return found


def traces_held() -> int:
    """How many programs this thread has traced (what the per-worker cache test reads)."""
    return len(getattr(_local, "traces", {}))


def per_challenger(outcome: Outcome, count: int) -> list[dict[str, Any]]:
    """What each challenger of the lineup did, in lineup order: the challenges it opened and
    how each ended, and the transactions it sent and their gas (a challenger that left the
    claim alone sent nothing). The row's `gas.challenger` is the sum over all of them."""
    detail = []
    for place in range(count):
        own = [c for c in outcome.challenges if c.challenger == place]
        accounts = {c.account for c in own}
        sent = [m for m in outcome.moves if m.actor == "challenger" and m.account in accounts]
        detail.append(
            {
                "challenges": [
                    {"winner": c.winner, "reason": c.reason, "disputed_step": c.disputed_step}
                    for c in own
                ],
                "moves": len(sent),
                "gas": sum(m.gas for m in sent),
            }
        )
    return detail


def run_case(case: SweepCase, host: str = "pyevm") -> dict[str, Any]:
    """Play one case on its own fresh in-process chain (py-evm, or revm: `default_chain`)
    and return its row."""
    started = time.perf_counter()
    scenario = case_scenario(case)
    trace = traced(scenario.program)
    if trace.trace_length != case.trace_length:
        raise RuntimeError(
            f"sweep case {case.id}: this worker's trace of {case.program} has "
            f"{trace.trace_length} steps, the sweep expanded it with {case.trace_length}"
        )
    chain = default_chain(len(scenario.lineup), host)
    outcome = simulate(scenario, traced=trace.emulator, chain=chain)
    gas = {"proposer": 0, "challenger": 0, "anyone": 0} | outcome.gas
    honest_won = None if case.expected_winner is None else outcome.winner == case.expected_winner
    return {
        "id": case.id,
        "index": case.index,
        "program": case.program,
        "argv": list(scenario.program.argv),
        "clock_seconds": case.clock_seconds,
        "bond_wei": case.bond_wei,
        "proposer": case.proposer,
        "challengers": list(case.challengers),
        "trace_length": outcome.trace_length,
        "expected_winner": case.expected_winner,
        "winner": outcome.winner,
        "reason": outcome.reason,
        "disputed_step": outcome.disputed_step,
        "moves": len(outcome.moves),
        "gas": gas,
        "gas_total": sum(gas.values()),
        "per_challenger": per_challenger(outcome, len(case.challengers)),
        "honest_won": honest_won,
        "wall_seconds": round(time.perf_counter() - started, 3),
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }
