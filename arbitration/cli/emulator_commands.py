"""The emulator's commands: run, state, prove, check.

Proof and file modules load inside the commands that use them, so that `run` starts with
only the emulator (benchmarks/startup.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from arbitration.cli.app import (
    GUEST_COMMAND,
    ArgsArgument,
    ProgramArgument,
    StdinOption,
    app,
    print_json,
    read_stdin_file,
    reports_errors,
)
from flexemu.emulator import DEFAULT_INTERVAL, NO_CHECKPOINTS, Emulator
from flexemu.isa import Isa, MachineState
from flexemu.isa import Progress as ProgressCallback
from flexemu.loader import Program
from flexemu.status import Status

STATUS_NAMES = {Status.RUNNING: "running", Status.EXITED: "exited", Status.PANICKED: "panicked"}


def emulator_for(
    program: str, args: list[str] | None, stdin: Path | None, interval: int = DEFAULT_INTERVAL
) -> Emulator:
    argv = [program, *(args or [])]
    return Emulator(Program.from_file(program, argv, stdin=read_stdin_file(stdin)), interval)


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[ProgressCallback | None]:
    """A rich progress bar on a terminal; nothing when output is piped.

    rich is imported only when stderr may be a terminal (it costs ~30 ms of start-up);
    rich itself then decides, honouring TTY_COMPATIBLE and FORCE_COLOR as it always did.
    """
    if not (sys.stderr.isatty() or "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} steps"),
    ]
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda steps: bar.update(task, completed=steps)


def state_summary(state: MachineState, isa: Isa) -> dict[str, object]:
    return {
        "isa": isa.name,
        "state_hash": "0x" + state.hash().hex(),
        "status": STATUS_NAMES[Status(state.status)],
        "exit_code": state.exit_code if state.status == Status.EXITED else None,
        "panic": state.exit_code if state.status == Status.PANICKED else None,
        "pc": f"{state.pc:#0{2 + 2 * isa.word_bytes}x}",
    }


@app.command(context_settings=GUEST_COMMAND)
@reports_errors
def run(
    program: ProgramArgument,
    args: ArgsArgument = None,
    stdin: StdinOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", min=1, help="Stop after this many steps.")
    ] = None,
) -> None:
    """Run PROGRAM to the end; plain mode passes the guest's stdout and stderr through.

    Exit code, with or without --json: the guest's exit code if it exited, 1 if it
    panicked or --max-steps stopped it first.
    """
    emulator = emulator_for(program, args, stdin, NO_CHECKPOINTS)
    with progress_bar("running", None) as progress:
        final = emulator.run(max_steps=max_steps, progress=progress)
    if as_json:
        print_json(
            {
                "steps": final.step,
                **state_summary(final, emulator.isa),
                "stdout": emulator.stdout().decode("utf-8", "replace"),
                "stderr": emulator.stderr().decode("utf-8", "replace"),
            }
        )
    else:
        sys.stdout.buffer.write(emulator.stdout())
        sys.stdout.flush()
        sys.stderr.buffer.write(emulator.stderr())
        if final.status == Status.PANICKED:
            typer.echo(
                f"flexemu: program panicked (code {final.exit_code}) at step {final.step}",
                err=True,
            )
        elif final.status == Status.RUNNING:
            typer.echo(f"flexemu: stopped after {final.step} steps", err=True)
    raise typer.Exit(final.exit_code if final.status == Status.EXITED else 1)


StepOption = Annotated[int, typer.Option("--step", min=0, help="Step number (0 = initial state).")]


@app.command(context_settings=GUEST_COMMAND)
@reports_errors
def state(
    program: ProgramArgument,
    args: ArgsArgument = None,
    step: StepOption = 0,
    stdin: StdinOption = None,
) -> None:
    """Print the state after STEP steps as JSON (terminal states are fixed points)."""
    emulator = emulator_for(program, args, stdin)
    with progress_bar("seeking", step) as progress:
        emulator.seek(step, progress)
    at = emulator.commit()
    summary = state_summary(at, emulator.isa)
    print_json({"step": step, **summary, "witness": "0x" + at.witness().hex()})


@app.command(name="prove", context_settings=GUEST_COMMAND)
@reports_errors
def prove_command(
    program: ProgramArgument,
    args: ArgsArgument = None,
    step: StepOption = 0,
    out: Annotated[Path, typer.Option("-o", "--out", help="Where to write the proof JSON.")] = Path(
        "proof.json"
    ),
    stdin: StdinOption = None,
) -> None:
    """Write the proof of the transition STEP -> STEP+1."""
    from flexemu.files import write_atomic
    from flexemu.proof import dumps, prove

    emulator = emulator_for(program, args, stdin)
    with progress_bar("seeking", step) as progress:
        emulator.seek(step, progress)
    claim = prove(emulator, step)
    write_atomic(out, dumps(claim))
    print_json(
        {
            "isa": emulator.isa.name,
            "step": step,
            "out": str(out),
            "post_state_hash": "0x" + claim.post_state_hash.hex(),
        }
    )


@app.command()
@reports_errors
def check(
    proof_file: Annotated[Path, typer.Argument(help="Proof JSON written by `prove`.")],
    onchain: Annotated[
        bool,
        typer.Option(
            "--onchain",
            help="Check with the ISA's Solidity verifier on an in-process EVM (py-evm, "
            "Prague) and report its gas.",
        ),
    ] = False,
) -> None:
    """Check a step proof from the proof alone: exit 0 if valid, 1 if not, 2 if unreadable."""
    from flexemu.files import read_json
    from flexemu.proof import StepProof, check_file

    claim = StepProof.from_json(read_json(proof_file))
    if onchain:
        # Imported here: the EVM stack is heavy and only on-chain commands need it.
        from arbitration.chain.connect import open_chain
        from arbitration.contracts.onchain_check import check_on_chain

        print_json(check_on_chain(claim, open_chain()))
        return
    post = check_file(claim)
    print_json(
        {
            "valid": True,
            "isa": claim.machine.name,
            "step": claim.step,
            "post_state_hash": "0x" + post.hex(),
        }
    )
