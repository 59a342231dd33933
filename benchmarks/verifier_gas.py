"""Gas of the on-chain step verifier over many real steps, by instruction class and syscall.

Why: a dispute ends with one `stepFrom` transaction, and the party that sends it
pays for it. The verifier has targets: median execution gas <= 40,000, max <=
100,000, runtime code under the EIP-170 limit of 24,576 bytes. Calldata is most
of a proof's transaction cost, and under EIP-7623 (Prague) it has a floor price.
This script sends every proof as a real transaction (`Verifier.measure`) on the
in-process Cancun chain and reports the spread of each figure per class.

Steps measured: every step of tiny_sum, trap, likely and exitcode (and the fixed point
after the last), every syscall step plus a random sample of the other steps of
stdin_echo and sort, and random steps of loop. Each proof's post-state from the
EVM is compared with the reference's; a mismatch is reported, never hidden.

Usage: python benchmarks/verifier_gas.py [--json OUT] [--sample N] [--loop N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from arbitration.chain.in_process import InProcessChain
from arbitration.contracts.deploy import deploy_verifier
from arbitration.contracts.onchain_check import chain_description
from arbitration.contracts.verifier import StepGas, Verifier
from flexemu.emulator import Emulator
from flexemu.files import write_atomic
from flexemu.loader import Program
from flexemu.proof import StepProof, prove
from flexemu.reference import ReferenceMachine
from flexemu.state import Status
from flexemu.vectors import classify_proof, scan

PROGRAMS = Path(__file__).resolve().parent.parent / "scenarios" / "programs"
EVERY_STEP = ("tiny_sum", "trap", "likely", "exitcode")
SYSCALLS_AND_SAMPLE = ("stdin_echo", "sort")
RANDOM_ONLY = "loop"

TARGET_MEDIAN_GAS = 40_000
TARGET_MAX_GAS = 100_000
EIP170_LIMIT = 24_576

console = Console(stderr=True)


@dataclass(frozen=True)
class Sample:
    program: str
    step: int
    cls: str
    gas: StepGas
    agrees: bool  # the EVM's post-state equals the reference's


def shipped(name: str) -> Program:
    """A shipped program with the argv and stdin of its qemu record."""
    record = json.loads((PROGRAMS / f"{name}.expected.json").read_text())
    return Program.from_file(PROGRAMS / name, record["argv"], stdin=record["stdin"].encode())


def every_step(program: Program) -> Iterator[StepProof]:
    """Proofs of all steps, then of the terminal fixed point, walking one machine."""
    emulator = Emulator(program)
    machine: ReferenceMachine = emulator.machine_at(0)
    while True:
        pre = machine.commit().copy()
        proof = machine.prove_step()
        post = machine.commit()
        yield StepProof(pre.step, pre.hash(), post.hash(), pre.witness(), proof)
        if pre.status != Status.RUNNING:
            return


def chosen_steps(program: Program, sample: int, rng: random.Random) -> tuple[Emulator, list[int]]:
    """Every syscall step (found by a reference scan) and `sample` random other steps."""
    emulator = Emulator(program)
    final = emulator.run()
    syscalls, others = [], []
    for seen in scan(emulator.machine_at(0), final.step):
        (syscalls if seen.cls.startswith("syscall-") else others).append(seen.step)
    return emulator, sorted(syscalls + rng.sample(others, min(sample, len(others))))


def random_steps(program: Program, count: int, rng: random.Random) -> tuple[Emulator, list[int]]:
    emulator = Emulator(program)
    final = emulator.run()
    return emulator, sorted(rng.sample(range(final.step), count))


def proofs(sample: int, loop_steps: int, seed: int) -> Iterator[tuple[str, int, StepProof]]:
    """(program, expected count, proof) for everything the benchmark measures."""
    rng = random.Random(seed)
    for name in EVERY_STEP:
        program = shipped(name)
        total = Emulator(program).run().step + 1
        for claim in every_step(program):
            yield name, total, claim
    plans = [(name, chosen_steps(shipped(name), sample, rng)) for name in SYSCALLS_AND_SAMPLE]
    plans.append((RANDOM_ONLY, random_steps(shipped(RANDOM_ONLY), loop_steps, rng)))
    for name, (emulator, steps) in plans:
        for step in steps:
            yield name, len(steps), prove(emulator, step)


def measure_all(verifier: Verifier, sample: int, loop_steps: int, seed: int) -> list[Sample]:
    samples: list[Sample] = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        tasks: dict[str, int] = {}
        for name, total, claim in proofs(sample, loop_steps, seed):
            if name not in tasks:
                tasks[name] = progress.add_task(f"{name:10}", total=total)
            cls, _ = classify_proof(claim)
            gas = verifier.measure(claim.pre_state_hash, claim.witness, claim.proof)
            agrees = gas.post_state_hash == claim.post_state_hash
            samples.append(Sample(name, claim.step, cls, gas, agrees))
            progress.advance(tasks[name])
    return samples


# ---------------------------------------------------------------- statistics and tables


FIGURES = {
    "execution_gas": lambda g: g.execution_gas,
    "transaction_gas": lambda g: g.transaction_gas,
    "eip7623_floor": lambda g: g.floor_gas,
    "calldata_bytes": lambda g: g.calldata_bytes,
}


def spread(values: list[int]) -> dict[str, int]:
    return {
        "min": min(values),
        "median": int(statistics.median(values)),
        "max": max(values),
    }


def summary(samples: list[Sample]) -> dict[str, object]:
    return {
        "count": len(samples),
        **{name: spread([get(s.gas) for s in samples]) for name, get in FIGURES.items()},
    }


def group(samples: list[Sample]) -> dict[str, dict[str, object]]:
    by_class: dict[str, list[Sample]] = {}
    for sample in samples:
        by_class.setdefault(sample.cls, []).append(sample)
    return {cls: summary(items) for cls, items in sorted(by_class.items())}


def spread_text(figure: dict[str, int]) -> str:
    return f"{figure['min']:,} / {figure['median']:,} / {figure['max']:,}"


def class_table(title: str, groups: dict[str, dict[str, object]]) -> Table:
    table = Table(title=title)
    table.add_column("class")
    table.add_column("count", justify="right")
    for name in ("execution gas", "tx gas (Cancun)", "EIP-7623 floor", "calldata bytes"):
        table.add_column(f"{name}\nmin / median / max", justify="right")
    for cls, row in groups.items():
        table.add_row(cls, f"{row['count']:,}", *(spread_text(row[f]) for f in FIGURES))
    return table


def totals_table(overall: dict[str, object], code_size: int, mismatches: int) -> Table:
    def mark(ok: bool) -> str:
        return "[green]pass[/]" if ok else "[red]FAIL[/]"

    execution = overall["execution_gas"]
    calldata = overall["calldata_bytes"]
    table = Table(title=f"totals over {overall['count']:,} step proofs")
    table.add_column("figure")
    table.add_column("measured", justify="right")
    table.add_column("target", justify="right")
    table.add_column("")
    table.add_row(
        "execution gas, median",
        f"{execution['median']:,}",
        f"<= {TARGET_MEDIAN_GAS:,}",
        mark(execution["median"] <= TARGET_MEDIAN_GAS),
    )
    table.add_row(
        "execution gas, max",
        f"{execution['max']:,}",
        f"<= {TARGET_MAX_GAS:,}",
        mark(execution["max"] <= TARGET_MAX_GAS),
    )
    table.add_row(
        "MipsVerifier runtime bytecode",
        f"{code_size:,} bytes",
        f"<= {EIP170_LIMIT:,}",
        mark(code_size <= EIP170_LIMIT),
    )
    table.add_row("calldata bytes per proof (min / median / max)", spread_text(calldata), "", "")
    table.add_row(
        "transaction gas (Cancun), min / median / max",
        spread_text(overall["transaction_gas"]),
        "",
        "",
    )
    table.add_row(
        "EIP-7623 floor, min / median / max", spread_text(overall["eip7623_floor"]), "", ""
    )
    table.add_row("EVM post-state != reference", f"{mismatches:,}", "0", mark(mismatches == 0))
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    parser.add_argument("--sample", type=int, default=300,
                        help="non-syscall steps sampled in stdin_echo and sort (default 300)")
    parser.add_argument("--loop", type=int, default=300,
                        help="random steps of loop (default 300)")
    parser.add_argument("--seed", type=int, default=1, help="sampling seed (default 1)")
    options = parser.parse_args(argv)

    chain = InProcessChain.fresh()
    verifier = deploy_verifier(chain)
    code_size = len(chain.w3.eth.get_code(verifier.address))
    samples = measure_all(verifier, options.sample, options.loop, options.seed)

    syscalls = [s for s in samples if s.cls.startswith("syscall-")]
    others = [s for s in samples if not s.cls.startswith("syscall-")]
    overall = summary(samples)
    mismatches = [s for s in samples if not s.agrees]
    out = Console()
    if not out.is_terminal:  # a file or pipe: wide enough for one line per row
        out = Console(width=150)
    out.print(class_table("by instruction class (and fixed point, panics)", group(others)))
    out.print(class_table("by syscall", group(syscalls)))
    out.print(totals_table(overall, code_size, len(mismatches)))
    per_program = {name: sum(s.program == name for s in samples) for name in dict.fromkeys(
        s.program for s in samples)}  # fmt: skip
    out.print(f"proofs per program: {per_program}; chain: {chain_description(chain)}")
    for s in mismatches[:10]:
        out.print(f"[red]mismatch[/]: {s.program} step {s.step} ({s.cls})")

    if options.json:
        report = {
            "chain": chain_description(chain),
            "seed": options.seed,
            "proofs_per_program": per_program,
            "runtime_bytecode_bytes": code_size,
            "targets": {
                "median_execution_gas": TARGET_MEDIAN_GAS,
                "max_execution_gas": TARGET_MAX_GAS,
                "runtime_bytecode_bytes": EIP170_LIMIT,
            },
            "overall": overall,
            "by_class": group(others),
            "by_syscall": group(syscalls),
            "mismatches": [
                {"program": s.program, "step": s.step, "class": s.cls} for s in mismatches
            ],
        }
        write_atomic(options.json, json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
