"""`flexemu-game`: the typer app and what its commands share (options, error mapping, output).

The command modules register their commands on `app`; `arbitration.cli.main` imports them.
Every command turns bad input into one line on stderr and exit code 2, an
invalid proof into exit code 1, and never shows a traceback for either.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

from flexemu.errors import FlexEmuError, ProofError

if TYPE_CHECKING:
    from arbitration.chain.rpc import Incident


class OneLineErrors(TyperGroup):
    """A bad option value (out of range, not a number) is one line and exit 2, like every
    other bad input, instead of click's usage box."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except typer.BadParameter as error:
            raise fail(error.format_message()) from None


app = typer.Typer(
    cls=OneLineErrors,
    add_completion=False,
    no_args_is_help=True,
    help="flexEmu: run, prove and dispute the execution of static MIPS32, RV64 and RV32 Linux "
    "programs.",
)

# Options go before PROGRAM; everything after it belongs to the guest's argv.
GUEST_COMMAND = {"allow_interspersed_args": False, "ignore_unknown_options": True}

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def reports_errors(command: F) -> F:
    """Map flexEmu's errors to one line and an exit code, as the CLI promises."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ProofError as error:
            raise fail(f"invalid proof: {error}", 1) from None
        except (FlexEmuError, ValueError) as error:
            raise fail(str(error)) from None
        except OSError as error:
            raise fail(f"{error.filename or ''}: {error.strerror}".lstrip(": ")) from None

    return wrapper  # type: ignore[return-value]


def print_json(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data, indent=2))


def read_stdin_file(path: Path | None) -> bytes:
    return path.read_bytes() if path is not None else b""


StdinOption = Annotated[
    Path | None, typer.Option("--stdin", help="File whose bytes are the guest's standard input.")
]
ProgramArgument = Annotated[
    str,
    typer.Argument(help="Static ELF to run: MIPS32 big-endian, RV64 or RV32 (the ELF says which)."),
]
ArgsArgument = Annotated[
    list[str] | None, typer.Argument(help="Arguments passed to the guest (argv[1:]).")
]


def print_incident(incident: Incident) -> None:
    """A network incident (retry, re-sent transaction, revert...) as one line on stderr, as it
    happens, so stdout stays machine-readable."""
    typer.echo(f"[{incident.kind}] {incident.detail}", err=True)
