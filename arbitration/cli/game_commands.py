"""The game's command: `flexemu-game simulate SCENARIO.yaml`.

Exit codes: 0 when the outcome matches the scenario's `expect` (with no
`expect`: when the game resolved), 1 when it does not, 2 on bad input (a bad
scenario file, an unreadable program), never with a traceback.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from arbitration.cli.app import (
    app,
    loading_without_gc,
    narration_has_reader,
    print_incident,
    print_json,
    reports_errors,
)


@app.command()
@reports_errors
def simulate(
    scenario_file: Annotated[Path, typer.Argument(help="Scenario YAML (see scenarios/).")],
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the JSON report to this file.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write the bisection picture (SVG) here.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the JSON report instead of the narration.")
    ] = False,
    rpc_url: Annotated[
        str | None,
        typer.Option("--rpc-url", help="Play on this JSON-RPC node instead of in process."),
    ] = None,
    chain_host: Annotated[
        str,
        typer.Option(
            "--chain",
            help="The in-process EVM: pyevm (the reference) or revm (fast, for sweeps; "
            "pip install -e '.\\[revm]'). Same gas, hashes and report.",
        ),
    ] = "pyevm",
) -> None:
    """Play the dispute a scenario describes on an in-process chain and narrate it."""
    # Imported here: registering the command must stay cheap for `--help` and `run`. The
    # parties' runs start first, in threads, and go on while everything else loads (the
    # chain stack slowly): what the command needs before them is the scenario alone.
    with loading_without_gc():
        from arbitration.simulation.scenario import load_scenario
        from arbitration.simulation.tracing import Traces

        scenario = load_scenario(scenario_file)
        traces = Traces(scenario)
        from arbitration.simulation.report import build_report, dumps_report, expectation_text
        from arbitration.simulation.simulator import default_chain
        from arbitration.simulation.simulator import simulate as play
        from flexemu.files import write_atomic

        if rpc_url is None:  # the chosen in-process host loads here, with the rest
            chain = default_chain(len(scenario.lineup), chain_host)

    if rpc_url is not None:
        if chain_host != "pyevm":
            raise ValueError("--chain picks an in-process EVM: it does not go with --rpc-url")
        from arbitration.chain.connect import connect

        chain = connect(rpc_url, on_incident=print_incident)

    # With --json, stdout carries the report alone; the narration goes to a terminal's
    # stderr, and nowhere when stderr is piped too (then rich, ~0.03 s, is not even loaded).
    quiet = as_json and not narration_has_reader()
    if not quiet:
        from rich.console import Console

        console = Console(stderr=True) if as_json else Console()
    started = time.perf_counter()
    if quiet:
        outcome = play(scenario, chain=chain, traces=traces)
    else:
        from arbitration.simulation.narration import Narrator  # rich's live display: not for --json

        with Narrator(console, scenario) as narrator:
            outcome = play(scenario, narrator.observe, chain=chain, traces=traces)
        narrator.finish(outcome)
    document = build_report(scenario, outcome)
    document["timings_seconds"]["command"] = round(time.perf_counter() - started, 3)
    text = dumps_report(document)
    if report is not None:
        write_atomic(report, text)
    if plot is not None:
        from arbitration.simulation.plot import render_svg

        write_atomic(plot, render_svg(outcome))
    if as_json:
        print_json(document)
    if not quiet:
        expectation = f"expected: {expectation_text(scenario.expect)}"
        if document["matched"]:
            console.print(f"{expectation}: matched", style="green", markup=False, highlight=False)
        else:
            console.print(
                f"{expectation}: NOT matched ({'; '.join(document['mismatches'])})",
                style="bold red",
                markup=False,
                highlight=False,
            )
    raise typer.Exit(0 if document["matched"] else 1)
