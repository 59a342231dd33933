"""`flexemu-game`'s entry point: the only module that imports every command module.

Each command module registers its commands on `arbitration.cli.app.app` when imported, and
keeps py-evm and web3 out of its imports (they load inside the commands that use a chain),
so importing them all costs only what `--help`, `run` or `check` need.
"""

from __future__ import annotations

import sys

from arbitration.cli import (  # noqa: F401  (registers the commands)
    emulator_commands,  # run, state, prove, check
    game_commands,  # simulate
    node_commands,  # deploy, agent
    verifier_commands,  # vectors
)
from arbitration.cli.app import app


def main() -> None:
    app(prog_name="flexemu-game")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
