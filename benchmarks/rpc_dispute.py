"""What does playing on a real node cost against the embedded chain?

For each scenario: the whole dispute simulated in process (py-evm) and on a local anvil over
JSON-RPC (blocks one second apart, like the embedded chain), in wall time and gas. Prints
the ratio from one run and whether the two EVMs charged the same gas move for move.

    python benchmarks/rpc_dispute.py [SCENARIO.yaml ...]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from arbitration.chain.anvil import running_anvil
from arbitration.chain.rpc import RpcChain
from arbitration.simulation.outcome import Outcome
from arbitration.simulation.scenario import load_scenario
from arbitration.simulation.simulator import simulate

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
DEFAULT = ("lying-proposer-last-step", "wrong-output", "silent-proposer", "lying-challenger")


def timed(run: Callable[[], Outcome]) -> tuple[Outcome, float]:
    started = time.perf_counter()
    outcome = run()
    return outcome, time.perf_counter() - started


def main(paths: list[str]) -> None:
    files = [Path(p) for p in paths] or [SCENARIOS / f"{name}.yaml" for name in DEFAULT]
    print(f"{'scenario':<28} {'moves':>5} {'py-evm s':>9} {'anvil s':>8} {'ratio':>6} "
          f"{'gas py-evm':>11} {'gas anvil':>11}  same gas per move")
    for path in files:
        scenario = load_scenario(path)
        # A fresh node per scenario, as the embedded run has a fresh chain: a factory's first
        # game costs 17,100 gas more than later ones (its games array grows from empty).
        with running_anvil(seconds_per_block=1) as node:
            chain = RpcChain(node.url)
            embedded, local_seconds = timed(lambda: simulate(scenario))  # noqa: B023
            remote, node_seconds = timed(lambda: simulate(scenario, chain=chain))  # noqa: B023
            node_name = chain.description
        same = [m.gas for m in embedded.moves] == [m.gas for m in remote.moves]
        print(
            f"{scenario.name:<28} {len(remote.moves):>5} {local_seconds:>9.2f} "
            f"{node_seconds:>8.2f} {node_seconds / local_seconds:>6.2f} "
            f"{sum(embedded.gas.values()):>11,} {sum(remote.gas.values()):>11,}  {same}"
        )
        print(f"{'':<28} on {node_name}; network incidents: {len(chain.incidents)}")

if __name__ == "__main__":
    main(sys.argv[1:])
