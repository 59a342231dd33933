"""Each party's own run of the scenario's program, started before the chain exists.

Why: a simulated dispute first pays for things that do not depend on each other: loading the
chain stack (py-evm: ~0.7 s of CPU), deploying the contracts, and every party's run
of the program (each agent traces it itself: that independence is what the simulation
shows). unicorn releases the GIL while it runs, so the runs can go on in threads while the
main thread imports and deploys; `flexemu-game simulate` starts them as soon as the scenario
is read. Nothing is shared: each party still gets its own `Emulator`.

Plain flexemu here: importing this module loads neither py-evm nor web3.
"""

from __future__ import annotations

import threading

from arbitration.agents.strategy import DEFAULT_MAX_STEPS
from arbitration.simulation.scenario import Scenario
from flexemu.emulator import Emulator
from flexemu.loader import Program


def load_program(scenario: Scenario) -> Program:
    spec = scenario.program
    return Program.from_file(spec.path, list(spec.argv), dict(spec.env), spec.stdin)


class Traces:
    """One emulator per party (the proposer first, then each challenger in the lineup), each
    running the program to the scenario's max_steps in its own thread from construction on."""

    def __init__(self, scenario: Scenario) -> None:
        max_steps = scenario.program.max_steps or DEFAULT_MAX_STEPS
        # Loading happens here, in the caller's thread: a bad program fails at once.
        self.emulators = [Emulator(load_program(scenario)) for _ in range(1 + len(scenario.lineup))]
        self._errors: list[BaseException] = []
        self._threads = [
            threading.Thread(target=self._run, args=(emulator, max_steps), daemon=True)
            for emulator in self.emulators
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, emulator: Emulator, max_steps: int) -> None:
        try:
            emulator.run(max_steps)
        except BaseException as error:  # re-raised by wait(), in the caller's thread
            self._errors.append(error)

    def wait(self) -> list[Emulator]:
        """The parties' emulators, once every run has ended; the first run's error if any."""
        for thread in self._threads:
            thread.join()
        if self._errors:
            raise self._errors[0]
        return self.emulators
