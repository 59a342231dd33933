"""Commands for verifier developers: `vectors` writes step test vectors (docs/spec.md 13)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from arbitration.cli.app import (
    GUEST_COMMAND,
    ArgsArgument,
    ProgramArgument,
    StdinOption,
    app,
    print_json,
    reports_errors,
)
from arbitration.cli.emulator_commands import emulator_for, progress_bar
from flexemu.emulator import Emulator
from flexemu.files import read_json, write_atomic
from flexemu.proof import StepProof, prove
from flexemu.state import State, Status
from flexemu.vectors import (
    INDEX_FORMAT,
    Seen,
    classify_proof,
    dumps,
    first_per_class,
    forge,
    forgery_source,
    invalid_json,
    invalid_path,
    listed_files,
    scan,
    vector_json,
    vector_path,
)

#: Steps the reference stepper classifies by default (the trace's cap is `--max-steps`).
DEFAULT_CLASSIFIED_STEPS = 2_000_000


@app.command(context_settings=GUEST_COMMAND)
@reports_errors
def vectors(
    program: ProgramArgument,
    out: Annotated[
        Path, typer.Option("--out", help="Directory to write the vectors and index.json to.")
    ],
    args: ArgsArgument = None,
    per_class: Annotated[
        int, typer.Option("--per-class", min=1, help="Vectors kept per class (the first K).")
    ] = 3,
    classify_steps: Annotated[
        int,
        typer.Option(
            "--classify-steps",
            min=1,
            help="Classify the first M steps with the reference stepper. The step that ends "
            "the program and its fixed point are always included.",
        ),
    ] = DEFAULT_CLASSIFIED_STEPS,
    max_steps: Annotated[
        int | None,
        typer.Option(
            "--max-steps",
            min=1,
            help="End the trace after this many steps if the program has not ended by then "
            "(as `run --max-steps`); default: run to the end.",
        ),
    ] = None,
    stdin: StdinOption = None,
) -> None:
    """Write step test vectors of PROGRAM: the first K steps of every kind, plus forgeries."""
    stale = _previous_files(out)
    emulator = emulator_for(program, args, stdin)
    with progress_bar("running", None) as progress:
        final = emulator.run(max_steps=max_steps, progress=progress)
    kept = _classify(emulator, final, classify_steps, per_class)
    proven: list[tuple[Seen, StepProof]] = []
    with progress_bar("proving", len(kept)) as progress:
        for done, seen in enumerate(kept, 1):
            proven.append((seen, prove(emulator, seen.step)))
            if progress is not None:
                progress(done)
    files = _write_vectors(out, proven)
    index = _index(emulator, final, min(classify_steps, final.step), per_class, proven, files)
    write_atomic(out / "index.json", dumps(index))
    for name in stale - {entry["file"] for entry in index["vectors"] + index["invalid"]}:
        (out / name).unlink(missing_ok=True)
    print_json(
        {
            "out": str(out),
            "vectors": len(index["vectors"]),
            "invalid": len(index["invalid"]),
            "classes": index["classes"],
        }
    )


def _previous_files(out: Path) -> set[str]:
    """Files an earlier run listed in `out/index.json`, to remove those not written again.

    A non-empty directory without such an index is someone else's: refuse it, rather
    than mixing vectors into it. Only names this command writes are accepted from the
    index (`listed_files`), so a hostile index cannot make it delete anything else.
    """
    if not out.exists():
        return set()
    if not out.is_dir():
        raise ValueError(f"{out}: not a directory")
    index_file = out / "index.json"
    if not index_file.is_file():
        if any(out.iterdir()):
            raise ValueError(f"{out}: not empty and holds no vector index; use a new directory")
        return set()
    return listed_files(read_json(index_file), str(index_file))


def _classify(emulator: Emulator, final: State, limit: int, per_class: int) -> list[Seen]:
    """Scan the first `limit` steps with the reference; add the trace's last step and fixed
    point when the program ended past them (they are classified from their proofs)."""
    machine = emulator.machine_at(0)
    end = final.step
    with progress_bar("classifying", min(limit, end)) as progress:
        seen = list(scan(machine, min(limit, end), progress))
    if end > limit and final.status != Status.RUNNING:
        for step in (end - 1, end):
            cls, instruction = classify_proof(prove(emulator, step))
            seen.append(Seen(step, cls, instruction))
    return first_per_class(seen, per_class)


def _write_vectors(out: Path, proven: list[tuple[Seen, StepProof]]) -> dict[str, str]:
    """Write every vector and forgery; return the files written, by relative path."""
    files: dict[str, str] = {}
    for seen, claim in proven:
        files[vector_path(seen.cls, seen.step)] = dumps(
            vector_json(seen.cls, seen.instruction, claim)
        )
    source = forgery_source(proven)
    if source is not None:
        seen, claim = source
        for forgery in forge(claim):
            files[invalid_path(forgery.expect_error, seen.step)] = dumps(
                invalid_json(forgery, seen.cls, seen.instruction)
            )
    for name, text in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
    return files


def _index(
    emulator: Emulator,
    final: State,
    scanned: int,
    per_class: int,
    proven: list[tuple[Seen, StepProof]],
    files: dict[str, str],
) -> dict[str, Any]:
    """index.json: how the vectors were made and where each one is."""
    classes: dict[str, int] = {}
    for seen, _ in proven:
        classes[seen.cls] = classes.get(seen.cls, 0) + 1
    invalid = []
    for name, text in files.items():
        data = json.loads(text)
        if "expect_error" in data:
            invalid.append(
                {
                    "file": name,
                    "expect_error": data["expect_error"],
                    "step": data["step"],
                    "description": data["description"],
                }
            )
    return {
        "format": INDEX_FORMAT,
        "argv": list(emulator.program.argv),
        "env": dict(emulator.program.env),
        "stdin_bytes": len(emulator.program.stdin),
        "initial_state_hash": "0x" + emulator.state_at(0).hash().hex(),
        "final_state_hash": "0x" + final.hash().hex(),
        "trace_length": final.step,
        "steps_classified": scanned,
        "per_class": per_class,
        "classes": dict(sorted(classes.items())),
        "vectors": [
            {
                "file": vector_path(seen.cls, seen.step),
                "class": seen.cls,
                "step": seen.step,
                "instruction": seen.instruction,
            }
            for seen, _ in proven
        ],
        "invalid": invalid,
    }
