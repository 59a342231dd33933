"""`flexemu-game`: the typer app and what its commands share (options, error mapping, output).

The command modules register their commands on `app`; `arbitration.cli.main` imports them.
Every command turns bad input into one line on stderr and exit code 2, an
invalid proof into exit code 1, and never shows a traceback for either.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer._coercion import RuntimeParam, build_runtime_param
from typer._param_types import coerce_cli_path
from typer.core import TyperGroup

from flexemu.errors import FlexEmuError, ProofError

if TYPE_CHECKING:
    from arbitration.chain.rpc import Incident


@dataclass(frozen=True)
class LazyCoercion(RuntimeParam):
    """Typer's coercion of one parameter, without pydantic where it has nothing to do.

    Why: typer (0.29, pinned) coerces every parameter through a pydantic TypeAdapter, built
    even for an absent value, and importing pydantic costs about 60 ms, a third of
    `flexemu-game run`'s start-up. Here an absent value never builds one (typer's own
    `RuntimeParam.coerce` returns None or () for it first), a `str` or `list[str]` value
    is taken as it is (a command-line word is already a `str`: a non-UTF-8 byte arrives
    surrogate-escaped and the loader hands the guest its bytes back), a flag's `bool` is
    taken as it is (pydantic's bool validation returns a bool unchanged), a `Path` word
    becomes a `Path` and goes through typer's own path checks (`coerce_cli_path`, which builds
    a TypeAdapter only for a value that is not a `Path` yet), and any other value gets typer's
    own coercion, so ranges, paths and flags behave exactly as before. The flag and the path
    matter to `simulate` (`--json SCENARIO`): they put pydantic (~0.1 s with typer's adapter
    module and pydantic's plugin scan) before the parties' runs could start.
    """

    descriptor: Any

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        if self.annotation is str:
            return str(value)
        if self.annotation == list[str]:
            return [str(item) for item in (value if isinstance(value, (list, tuple)) else [value])]
        if self.annotation is bool and isinstance(value, bool):
            return value
        info = self.parameter_info
        plain_path = self.annotation is Path and info.parser is None and info.path_type is None
        if plain_path and isinstance(value, str):
            return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
        return build_runtime_param(self.descriptor)._coerce_value(value, param=param, ctx=ctx)


def coerce_lazily(command: Any, ctx: Any) -> None:
    """Give every parameter of `command` (its help option too) the `LazyCoercion`, before
    its arguments parse."""
    if command is None:
        return
    for param in command.get_params(ctx):
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is not None and getattr(param, "_runtime_param", None) is None:
            param._runtime_param = LazyCoercion(
                descriptor.parameter_info, descriptor.annotation, descriptor
            )


class OneLineErrors(TyperGroup):
    """A bad option value (out of range, not a number) is one line and exit 2, like every
    other bad input, instead of click's usage box."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except typer.BadParameter as error:
            raise fail(error.format_message()) from None

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        coerce_lazily(self, ctx)
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        coerce_lazily(command, ctx)
        return name, command, rest


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


@contextmanager
def loading_without_gc() -> Iterator[None]:
    """Load a command's heavy modules with the cyclic garbage collector off, then freeze what
    they made (`gc.freeze`) and turn it back on.

    Why: importing the chain stack allocates hundreds of thousands of objects that live as
    long as the process; the collector, triggered by the allocation count, traverses them
    again and again and finds nothing (on `simulate` over loop.rv64: ~190 young, ~17 middle
    and one full collection, 0.09-0.11 s of the main thread, measured with gc.callbacks).
    Frozen, they are out of every later collection too, so the dispute's own collections
    only look at the dispute's objects (~0.02 s in all). Collection resumes afterwards:
    a long game's garbage is still collected."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


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


def narration_has_reader() -> bool:
    """Whether a narration written to stderr would reach a terminal, by rich's own rule
    (`Console.is_terminal`: TTY_COMPATIBLE=0/1, then a set FORCE_COLOR, then isatty), asked
    without importing rich: `simulate --json` with both streams piped (sweeps, benchmarks,
    scripts) narrates nothing, and loading rich for that one answer cost ~0.03 s."""
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    force_color = os.environ.get("FORCE_COLOR")
    if force_color is not None:
        return force_color != ""
    try:
        return sys.stderr.isatty()
    except ValueError:  # closed
        return False


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
