"""The sweep command: `flexemu-game sweep SWEEP.yaml --out DIR`.

Plays every scenario of a sweep's grid on Dask and writes `DIR/rows.jsonl` (one row per
game, appended as each finishes), `DIR/failures.jsonl` (cases that raised), and at the end
`DIR/rows.csv` (the same rows), `DIR/summary.json` and `DIR/sweep.svg`. Exit codes: 0 when
the honest party won every row and no case failed, 1 otherwise, 2 on bad input, 130 when
interrupted (Ctrl-C or SIGTERM; the finished rows stay). Dask is imported inside the
command only.
"""

from __future__ import annotations

import json
import signal
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer

from arbitration.cli.app import app, fail, reports_errors


@app.command()
@reports_errors
def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="Sweep YAML (see scenarios/sweeps/).")],
    out: Annotated[
        Path, typer.Option("--out", help="Folder for rows.jsonl, summary.json and sweep.svg.")
    ],
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Local worker processes (default: the number of cores)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler", help="Run on this Dask cluster (tcp://HOST:PORT) instead of locally."
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Keep DIR/rows.jsonl and run only the missing rows.")
    ] = False,
    chain_host: Annotated[
        str,
        typer.Option(
            "--chain",
            help="The in-process EVM of every game: pyevm (the reference) or revm (fast; "
            "pip install -e '.\\[revm]'). Same gas and winners.",
        ),
    ] = "pyevm",
) -> None:
    """Play every scenario of a sweep's grid on Dask and summarise who won."""
    if workers is not None and workers < 1:
        raise fail(f"--workers: expected an integer >= 1, got {workers}")
    if workers is not None and scheduler is not None:
        raise fail("give either --workers (a local cluster) or --scheduler, not both")
    if scheduler is not None and "://" not in scheduler:
        raise fail(f"--scheduler: expected an address like tcp://HOST:PORT, got {scheduler!r}")
    from arbitration.simulation.simulator import CHAIN_HOSTS
    from arbitration.simulation.sweep_rows import ROWS_FILE
    from arbitration.simulation.sweep_spec import load_sweep

    if chain_host not in CHAIN_HOSTS:
        raise fail(f"--chain: choose from {', '.join(CHAIN_HOSTS)}, not {chain_host!r}")
    if chain_host == "revm":
        from arbitration.chain.revm_host import available

        available()  # a missing pyrevm is one line here, not a failure in every row

    spec = load_sweep(sweep_file)
    if out.exists() and not out.is_dir():
        raise fail(f"--out: {out} is not a folder")
    if (out / ROWS_FILE).exists() and (out / ROWS_FILE).stat().st_size and not resume:
        raise fail(f"{out / ROWS_FILE} exists: pass --resume to continue it, or another --out")
    out.mkdir(parents=True, exist_ok=True)
    # `kill` stops a sweep the way Ctrl-C does: the cluster is shut down, no row is lost.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _run(spec, out, workers, scheduler, resume, chain_host)
    except KeyboardInterrupt:
        typer.echo(f"interrupted: the finished rows are in {out / ROWS_FILE}; --resume continues")
        raise typer.Exit(INTERRUPTED) from None


#: The exit status of an interrupted sweep (as a shell reports SIGINT: 128 + 2).
INTERRUPTED = 130


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run(
    spec: Any, out: Path, workers: int | None, scheduler: str | None, resume: bool, host: str
) -> None:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from arbitration.simulation.sweep_dask import dask_client, run_cases
    from arbitration.simulation.sweep_plot import render_sweep_svg
    from arbitration.simulation.sweep_rows import ROWS_FILE, RowLog, rows_csv
    from arbitration.simulation.sweep_run import traced
    from arbitration.simulation.sweep_spec import case_scenario, expand
    from arbitration.simulation.sweep_summary import summary_document
    from flexemu.files import write_atomic

    console = Console(stderr=True)
    console.print(f"sweep {spec.name}: tracing {len(spec.programs)} programs", highlight=False)
    cases = expand(spec, {p.label: traced(p.spec) for p in spec.programs})
    for case in cases:
        case_scenario(case)  # every grid point is a valid scenario before any runs
    failures: list[str] = []
    with (
        RowLog(out / ROWS_FILE, resume) as log,
        RowLog(out / "failures.jsonl", resume=False) as failed,
    ):
        wanted = {case.id for case in cases}
        log.rows = [row for row in log.rows if row["id"] in wanted]  # a changed file's old rows
        pending = [case for case in cases if case.id not in log.done]
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("failures {task.fields[failures]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        where = scheduler or f"{workers or 'one per core'} local workers"
        # Connect first: an unreachable scheduler is one error line, before any bar is drawn.
        with (
            dask_client(workers, scheduler) if pending else nullcontext() as client,
            Progress(*columns, console=console) as progress,
        ):
            task = progress.add_task(
                f"{spec.name} ({where})",
                total=len(cases),
                completed=len(cases) - len(pending),
                failures=0,
            )

            def on_row(row: dict[str, Any]) -> None:
                log.append(row)
                progress.advance(task)

            def on_failure(case: Any, error: BaseException) -> None:
                message = f"{type(error).__name__}: {error}"
                failures.append(f"case {case.index} ({case.id}): {message}")
                failed.append({"id": case.id, "index": case.index, "error": message})
                progress.update(task, failures=len(failures))
                progress.advance(task)

            if client is not None:
                run_cases(client, pending, on_row, on_failure, host)
        rows = sorted(log.rows, key=lambda r: r["index"])
    document = summary_document(rows, len(failures))
    write_atomic(out / "summary.json", json.dumps(document, indent=2) + "\n")
    write_atomic(out / "rows.csv", rows_csv(rows))
    write_atomic(out / "sweep.svg", render_sweep_svg(spec.name, rows))
    _print_summary(console, document, failures)
    raise typer.Exit(0 if document["honest_won_every_row"] else 1)


def _print_summary(console: Any, document: dict[str, Any], failures: list[str]) -> None:
    from rich.table import Table

    table = Table(title="by strategy mix (gas: whole game, all parties)")
    for column in (
        "mix",
        "runs",
        "honest wins",
        "gas median",
        "gas max",
        "moves median",
        "moves max",
    ):
        table.add_column(column, justify="left" if column == "mix" else "right")
    for mix in document["mixes"]:
        wins = f"{mix['honest_wins']}/{mix['expected']}" if mix["expected"] else "-"
        table.add_row(
            mix["mix"],
            str(mix["runs"]),
            wins,
            f"{mix['gas_median']:,}",
            f"{mix['gas_max']:,}",
            f"{mix['moves_median']:g}",
            str(mix["moves_max"]),
        )
    console = type(console)()  # the table goes to stdout, unwrapped when it is a file
    if not console.is_terminal:
        console = type(console)(width=160)
    console.print(table)
    for line in failures:
        console.print(f"failed: {line}", style="red", markup=False, highlight=False)
    verdict = (
        f"{document['rows']} rows, {document['failures']} failures: the honest party won "
        f"{document['honest_wins']} of {document['honest_party_rows']} games it played"
    )
    style = "green" if document["honest_won_every_row"] else "bold red"
    console.print(verdict, style=style, markup=False, highlight=False)
