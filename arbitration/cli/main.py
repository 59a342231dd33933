"""`flexemu-game`'s entry point: the only module that imports the command modules.

Each command module registers its commands on `arbitration.cli.app.app` when imported, and
keeps py-evm and web3 out of its imports (they load inside the commands that use a chain).
A command imports only what it uses: `main` loads the module of the command named on the
command line, and all of them only for `--help` or a name it does not know (which typer then
reports). The emulator's module is always loaded: its four commands keep the app a group.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from arbitration.cli.app import app

EMULATOR_COMMANDS = ("run", "state", "prove", "check")
GAME_COMMANDS = ("simulate",)
NODE_COMMANDS = ("deploy", "agent")
VERIFIER_COMMANDS = ("vectors",)


def command_named(argv: Sequence[str]) -> str | None:
    """The command word on a command line (options before it are the app's own)."""
    return next((word for word in argv if not word.startswith("-")), None)


def register(command: str | None) -> None:
    """Import the command modules `command` needs; every one for None or an unknown name."""
    from arbitration.cli import emulator_commands  # noqa: F401  (run, state, prove, check)

    known = (*EMULATOR_COMMANDS, *GAME_COMMANDS, *NODE_COMMANDS, *VERIFIER_COMMANDS)
    everything = command not in known
    if everything or command in GAME_COMMANDS:
        from arbitration.cli import game_commands  # noqa: F401
    if everything or command in NODE_COMMANDS:
        from arbitration.cli import node_commands  # noqa: F401
    if everything or command in VERIFIER_COMMANDS:
        from arbitration.cli import verifier_commands  # noqa: F401


def main() -> None:
    register(command_named(sys.argv[1:]))
    app(prog_name="flexemu-game")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
