"""End-to-end performance of flexEmu's Emulator: run speed, seeks, proofs, commitments.

Why: the emulator promises that (1) a full run costs about what unicorn alone
costs, (2) the state at any step is cheap once the first run took checkpoints,
(3) a step proof takes milliseconds, and (4) commitments rehash only what
changed. This script measures each promise in one run and prints the figures,
the ratios, and a final table of measured values against their targets.

Every figure is taken for each ISA (`--isa mips32`, `--isa rv64`, default both): the same
promises hold for every plug-in, on its own CPU-bound `loop` and static-glibc `sort`.

It only reports: nothing here asserts on a timing.
Usage: python benchmarks/emulator.py [--isa mips32|rv64]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from raw_unicorn import RunTiming, raw_for
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from flexemu.emulator import DEFAULT_INTERVAL, NO_CHECKPOINTS, Emulator
from flexemu.isa import Engine, MachineState
from flexemu.loader import Program, load
from flexemu.memory import Memory
from flexemu.merkle import PAGE_BYTES, PAGE_SHIFT
from flexemu.proof import check, prove
from flexemu.reference import ReferenceMachine

PROGRAMS = Path(__file__).resolve().parent.parent / "scenarios" / "programs"
#: Per ISA: the CPU-bound guest and the static-glibc one.
GUESTS = {
    "mips32": ((PROGRAMS / "loop", ["loop"]), (PROGRAMS / "sort", ["sort", "7"])),
    "rv64": ((PROGRAMS / "loop.rv64", ["loop"]), (PROGRAMS / "sort.rv64", ["sort", "7"])),
}
LOOP, SORT = GUESTS["mips32"]

SEEK_FRACTIONS = (0.37, 0.91)  # "arbitrary steps deep in the trace"
PROOF_FRACTIONS = (0.0, 0.1, 0.37, 0.5, 0.91, 1.0)  # 1.0 -> the last step (exit syscall)
PROOF_REPEATS = 3
SEEK_REPEATS = 3
REFERENCE_STEPS = 300_000
COMMIT_MIB = (1, 4, 16)
INCREMENTAL_PAGES = 256

TARGET_RUN_RATIO = 0.85  # emulator speed / raw unicorn speed, at least (issue 9: the guard is free)
TARGET_SEEK_RATIO = 0.1  # checkpointed state_at / run from step 0, at most
TARGET_PROOF_MS = 50.0  # one prove(), at most

T = TypeVar("T")
console = Console()


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """Call `fn` once after a collection; return its result and wall seconds."""
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def program(spec: tuple[Path, list[str]]) -> Program:
    path, argv = spec
    return Program.from_file(path, argv)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.2f} ms"


def mips(steps: int, seconds: float) -> str:
    return f"{steps / seconds / 1e6:,.1f}"


# --------------------------------------------------------------------- 1. run speed


def emulator_run(prog: Program, interval: int = DEFAULT_INTERVAL) -> tuple[RunTiming, Emulator]:
    """What a user pays: `Emulator(program).run()`, checkpoints (every `interval` steps; the
    `run` command takes none) and final commit included."""
    gc.collect()
    start = time.perf_counter()
    emulator = Emulator(prog, interval)
    setup = time.perf_counter()
    final = emulator.run()
    end = time.perf_counter()
    return RunTiming(setup - start, end - setup, final.step, emulator.stdout()), emulator


def measure_run_speed(progress: Progress) -> tuple[dict[str, object], Emulator]:
    """Interleave raw, emulator, emulator as `run` runs it (no checkpoints), twice, and keep
    the best of each (less noise). The first emulator row is what a dispute party's trace
    pays; the second is the `run` command, the one issue 9's target names."""
    prog = program(LOOP)
    raw_unicorn = raw_for(prog.elf)
    task = progress.add_task(f"1. run speed ({LOOP[0].name})", total=4)
    emu, emulator = emulator_run(prog)  # warm-up; also gives N
    steps = emu.steps
    raws: list[RunTiming] = []
    emus: list[RunTiming] = []
    plains: list[RunTiming] = []
    for _ in range(2):
        raws.append(raw_unicorn(prog.elf, steps))
        emu, emulator = emulator_run(prog)
        emus.append(emu)
        plains.append(emulator_run(prog, NO_CHECKPOINTS)[0])
        progress.advance(task, 2)
    raw = min(raws, key=lambda r: r.total)
    emu = min(emus, key=lambda r: r.total)
    plain = min(plains, key=lambda r: r.total)
    if raw.stdout != emu.stdout:
        console.print(f"[red]raw unicorn wrote {raw.stdout!r}, the emulator {emu.stdout!r}")
    table = Table(
        title=f"1. run speed: {LOOP[0].name}, N = {steps:,} steps (best of 2, interleaved)"
    )
    for column in ("", "setup", "run", "total", "M instr/s", "M instr/s (run)"):
        table.add_column(column, justify="right")
    rows = (("raw unicorn", raw), ("Emulator.run()", emu), ("as `run` (no checkpoints)", plain))
    for name, t in rows:
        table.add_row(
            name, ms(t.setup), ms(t.run), ms(t.total), mips(steps, t.total), mips(steps, t.run)
        )
    ratio_total, ratio_run = raw.total / emu.total, raw.run / emu.run
    table.add_row("emulator / raw", "", "", "", f"{ratio_total:.3f}", f"{ratio_run:.3f}")
    ratio_plain = raw.total / plain.total
    table.add_row("`run` / raw", "", "", "", f"{ratio_plain:.3f}", f"{raw.run / plain.run:.3f}")
    progress.console.print(table)
    progress.console.print(
        f"   run() includes its {len(emulator.checkpoints)} checkpoints and the final commit; "
        f"both wrote {emu.stdout!r}"
    )
    result = {"ratio": ratio_total, "ratio_run": ratio_run, "ratio_plain": ratio_plain}
    return {**result, "steps": steps}, emulator


# --------------------------------------------------------------------- 2. state at step k


def commit_engine(engine: Engine, memory: Memory) -> MachineState:
    """Same commit as `Emulator.commit`: copy the pages back, rehash the changed ones."""
    pages = engine.pages()
    memory.replace_pages(pages, set(pages) | set(memory.pages))
    state = engine.state.copy()
    state.mem_root = memory.root()
    return state


def from_step_zero(emulator: Emulator, k: int) -> tuple[MachineState, float]:
    """No checkpoints: a fresh engine on the initial image runs 0 -> k, then commits.

    Loading the ELF is not timed (the checkpointed side has it done too).
    """
    image = load(emulator.program)
    pages = {n: bytes(p) for n, p in image.memory.pages.items()}
    memory = image.memory.copy()  # its Merkle cache already holds the initial root

    def run() -> MachineState:
        engine = emulator.isa.engine(image.state, pages, image.input_memory)
        engine.advance(k)
        return commit_engine(engine, memory)

    return timed(run)


def checkpointed(emulator: Emulator, k: int) -> tuple[MachineState, float]:
    """`state_at(k)` after the first run; the engine is parked at step 0 first so
    every lookup restores a checkpoint instead of reusing the previous position."""
    emulator.seek(0)
    return timed(lambda: emulator.state_at(k))


def checkpoint_footprint(emulator: Emulator) -> tuple[int, int]:
    """(pages held, bytes held) by all checkpoints' page copies."""
    pages = sum(len(c.pages) for c in emulator.checkpoints)
    size = sum(len(p) for c in emulator.checkpoints for p in c.pages.values())
    return pages, size


def measure_seek(progress: Progress, emulator: Emulator) -> dict[str, object]:
    """Checkpointed `state_at(k)` against running 0 -> k; median of repeats each."""
    steps = emulator.final.step if emulator.final else emulator.engine.state.step
    ks = [int(f * steps) for f in SEEK_FRACTIONS]
    task = progress.add_task("2. state at step k", total=len(ks) * SEEK_REPEATS)
    table = Table(title=f"2. state at step k ({LOOP[0].name}), median of 3")
    for column in ("k", "state_at(k)", "run 0->k, commit", "ratio", "same"):
        table.add_column(column, justify="right")
    worst = 0.0
    for k in ks:
        fast, slow, same = [], [], True
        for _ in range(SEEK_REPEATS):
            state, seconds = checkpointed(emulator, k)
            fast.append(seconds)
            reference, seconds = from_step_zero(emulator, k)
            slow.append(seconds)
            same &= state.hash() == reference.hash() and state.step == k
            progress.advance(task)
        ratio = statistics.median(fast) / statistics.median(slow)
        worst = max(worst, ratio)
        table.add_row(
            f"{k:,} ({k / steps:.2f} N)",
            ms(statistics.median(fast)),
            ms(statistics.median(slow)),
            f"{ratio:.4f}",
            "yes" if same else "[red]NO",
        )
    progress.console.print(table)
    pages, size = checkpoint_footprint(emulator)
    progress.console.print(
        f"   checkpoint interval {emulator.interval:,} steps (DEFAULT_INTERVAL = "
        f"{DEFAULT_INTERVAL:,}); {len(emulator.checkpoints)} checkpoints holding "
        f"{pages:,} page copies = {size / 2**20:,.2f} MiB"
    )
    return {"ratio": worst}


# --------------------------------------------------------------------- 3. proofs


@dataclass
class ProofTiming:
    k: int
    total: float  # prove(emulator, k) from a parked engine
    seek: float  # state_at(k) alone, from a parked engine
    proof: float  # prove(emulator, k) with the engine already at k
    proof_bytes: int
    valid: bool


def time_proof(emulator: Emulator, k: int) -> ProofTiming:
    """Median of repeats of: the whole prove(), the seek alone, the proof after the seek."""
    totals, seeks, proofs = [], [], []
    claim = None
    for _ in range(PROOF_REPEATS):
        emulator.seek(0)
        claim, seconds = timed(lambda: prove(emulator, k))
        totals.append(seconds)
        emulator.seek(0)
        seeks.append(timed(lambda: emulator.state_at(k))[1])
        proofs.append(timed(lambda: prove(emulator, k))[1])
    assert claim is not None
    valid = check(claim.witness, claim.proof).hash() == claim.post_state_hash
    return ProofTiming(
        k,
        statistics.median(totals),
        statistics.median(seeks),
        statistics.median(proofs),
        len(claim.proof),
        valid,
    )


def measure_proofs(progress: Progress, loop: Emulator) -> dict[str, object]:
    """prove() at a few steps of loop and of the static-glibc sort; median and max."""
    sort = Emulator(program(SORT))
    sort.run()
    rows: list[tuple[str, ProofTiming]] = []
    work = [
        (name, e, int(f * (e.final.step - 1)))  # type: ignore[union-attr]
        for name, e in (("loop", loop), ("sort", sort))
        for f in PROOF_FRACTIONS
    ]
    task = progress.add_task("3. step proofs", total=len(work))
    for name, emulator, k in work:
        rows.append((name, time_proof(emulator, k)))
        progress.advance(task)
    table = Table(title="3. prove(emulator, k), median of 3 per k")
    for column in ("program", "k", "prove()", "seek", "proof", "bytes", "checks"):
        table.add_column(column, justify="right")
    for name, t in rows:
        table.add_row(
            name,
            f"{t.k:,}",
            ms(t.total),
            ms(t.seek),
            ms(t.proof),
            f"{t.proof_bytes:,}",
            "yes" if t.valid else "[red]NO",
        )
    progress.console.print(table)
    summary = Table(title="3. over all k (seek = state_at(k), proof = the rest)")
    for column in ("", "median", "max"):
        summary.add_column(column, justify="right")
    figures = {}
    for label, values in (
        ("prove() total", [t.total for _, t in rows]),
        ("seek", [t.seek for _, t in rows]),
        ("proof", [t.proof for _, t in rows]),
    ):
        figures[label] = (statistics.median(values), max(values))
        summary.add_row(label, ms(figures[label][0]), ms(figures[label][1]))
    progress.console.print(summary)
    progress.console.print(
        f"   sort: N = {sort.final.step:,} steps, {len(sort.checkpoints)} checkpoints, "  # type: ignore[union-attr]
        f"{len(sort.engine.pages())} pages mapped"
    )
    median, most = figures["prove() total"]
    return {"median": median, "max": most}


# --------------------------------------------------------------------- 4. commitments


def random_memory(mib: int, scattered: bool, rng: random.Random) -> Memory:
    """`mib` MiB of random pages, contiguous from 4 MiB or at random page numbers."""
    count = mib * 2**20 // PAGE_BYTES
    if scattered:
        numbers = rng.sample(range(1 << 20), count)
    else:
        numbers = list(range(1024, 1024 + count))
    return Memory({n: rng.randbytes(PAGE_BYTES) for n in numbers})


def incremental_commit(memory: Memory, rng: random.Random) -> float:
    """After a commit, change one word in each of 256 pages and time the next root()."""
    memory.root()
    for number in rng.sample(sorted(memory.pages), INCREMENTAL_PAGES):
        memory.write_word(
            (number << PAGE_SHIFT) + 4 * rng.randrange(1024), rng.getrandbits(32), "big"
        )
    return timed(memory.root)[1]


def measure_commitments(progress: Progress) -> dict[str, object]:
    """`Memory.root()` cost per MiB of changed memory, full and incremental."""
    rng = random.Random(0)
    task = progress.add_task("4. commitments", total=2 * len(COMMIT_MIB))
    table = Table(title="4. Memory.root() per MiB of changed memory")
    for column in ("changed", "layout", "root()", "ms/MiB", "then 256 pages x 1 word"):
        table.add_column(column, justify="right")
    per_mib: list[float] = []
    for mib in COMMIT_MIB:
        for scattered in (False, True):
            memory = random_memory(mib, scattered, rng)
            seconds = timed(memory.root)[1]
            per_mib.append(seconds * 1e3 / mib)
            incremental = incremental_commit(memory, rng)
            table.add_row(
                f"{mib} MiB",
                "scattered" if scattered else "contiguous",
                ms(seconds),
                f"{seconds * 1e3 / mib:,.1f}",
                ms(incremental),
            )
            progress.advance(task)
    progress.console.print(table)
    return {"ms_per_mib": statistics.median(per_mib)}


# --------------------------------------------------------------------- reference stepper


def measure_reference(progress: Progress) -> dict[str, float]:
    """For context: the pure-Python reference stepper that proofs and odd steps use."""
    task = progress.add_task("reference stepper", total=2)
    speeds = {}
    for name, spec in (("loop", LOOP), ("sort", SORT)):
        machine = ReferenceMachine.of_program(program(spec))
        taken, seconds = timed(partial(machine.run, REFERENCE_STEPS))
        speeds[name] = taken / seconds
        progress.advance(task)
    table = Table(title=f"reference stepper ({REFERENCE_STEPS:,} steps)")
    table.add_column("program")
    table.add_column("steps/s", justify="right")
    for name, speed in speeds.items():
        table.add_row(name, f"{speed:,.0f}")
    progress.console.print(table)
    return speeds


# --------------------------------------------------------------------- summary


def targets_table(run: dict, seek: dict, proofs: dict, commits: dict) -> Table:
    def mark(ok: bool) -> str:
        return "[green]✔ pass" if ok else "[red]✘ fail"

    table = Table(title="targets")
    for column in ("measure", "measured", "target", ""):
        table.add_column(column, justify="right")
    table.add_row(
        "run speed / raw unicorn (setup + run)",
        f"{run['ratio']:.3f}",
        f">= {TARGET_RUN_RATIO}",
        mark(run["ratio"] >= TARGET_RUN_RATIO),
    )
    table.add_row(
        "`run` command / raw unicorn (setup + run, no checkpoints)",
        f"{run['ratio_plain']:.3f}",
        f">= {TARGET_RUN_RATIO}",
        mark(run["ratio_plain"] >= TARGET_RUN_RATIO),
    )
    table.add_row(
        "run speed / raw unicorn (run only)",
        f"{run['ratio_run']:.3f}",
        f">= {TARGET_RUN_RATIO}",
        mark(run["ratio_run"] >= TARGET_RUN_RATIO),
    )
    table.add_row(
        "state_at(k) / run 0->k (worst k)",
        f"{seek['ratio']:.4f}",
        f"<= {TARGET_SEEK_RATIO}",
        mark(seek["ratio"] <= TARGET_SEEK_RATIO),
    )
    table.add_row(
        "prove() median",
        ms(proofs["median"]),
        f"<= {TARGET_PROOF_MS:.0f} ms",
        mark(proofs["median"] * 1e3 <= TARGET_PROOF_MS),
    )
    table.add_row(
        "prove() max",
        ms(proofs["max"]),
        f"<= {TARGET_PROOF_MS:.0f} ms",
        mark(proofs["max"] * 1e3 <= TARGET_PROOF_MS),
    )
    table.add_row("commitment (median)", f"{commits['ms_per_mib']:,.1f} ms/MiB", "(no target)", "")
    return table


def main() -> None:
    global LOOP, SORT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--isa", choices=sorted(GUESTS), action="append")
    for isa in parser.parse_args().isa or sorted(GUESTS):
        LOOP, SORT = GUESTS[isa]
        console.rule(f"[bold]{isa}")
        measure_isa()


def measure_isa() -> None:
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        run, loop = measure_run_speed(progress)
        seek = measure_seek(progress, loop)
        proofs = measure_proofs(progress, loop)
        commits = measure_commitments(progress)
        measure_reference(progress)
    console.print(targets_table(run, seek, proofs, commits))


if __name__ == "__main__":
    main()
