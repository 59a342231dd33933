"""Gas of the on-chain step verifiers over many real steps of the shipped programs, for every
ISA (MipsVerifier for mips32, RiscvVerifier for rv64 and rv32), by instruction class and
syscall.

Why: a dispute ends with one `stepFrom` transaction, and the party that sends it pays for it.
The targets (issue 11), per ISA: median transaction gas with the EIP-7623 floor <= 60,000,
max <= 120,000, median execution gas <= 40,000, runtime code under the EIP-170 limit of
24,576 bytes. Calldata is most of a proof's transaction cost, and under EIP-7623 (Prague) it
has a floor price. This script sends every proof as a real transaction (`Verifier.measure`)
on the in-process Prague chain and reports the spread of each figure per class, per ISA.

Steps measured, per ISA (`PLANS`): every step of the small programs (and the fixed point
after the last), every syscall step plus a random sample of the other steps of the
syscall-heavy ones (static glibc on mips32 and rv64), and random steps of loop. Each proof's
post-state from the EVM is compared with the reference's; a mismatch is reported, never
hidden. `riscv_verifier_gas.py` adds RISC-V's instruction-test programs and every syscall
path.

Usage: python benchmarks/verifier_gas.py [--isa NAME ...] [--json OUT] [--sample N] [--loop N]
       [--seed S]
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
from arbitration.contracts.verifier import StepGas, Verifier, verifier_artifact
from flexemu.emulator import Emulator
from flexemu.files import write_atomic
from flexemu.isa import names
from flexemu.loader import Program
from flexemu.proof import StepProof, prove
from flexemu.reference import ReferenceMachine
from flexemu.status import Status
from flexemu.vectors import classify_proof, scan

PROGRAMS = Path(__file__).resolve().parent.parent / "scenarios" / "programs"


@dataclass(frozen=True)
class Plan:
    """Which shipped programs of one ISA are measured, and how."""

    every_step: tuple[str, ...]  # every step, and the fixed point after the last
    syscalls_and_sample: tuple[str, ...]  # every syscall step and `--sample` other steps
    random_only: str  # `--loop` random steps


PLANS = {
    "mips32": Plan(("tiny_sum", "trap", "likely", "exitcode"), ("stdin_echo", "sort"), "loop"),
    "rv64": Plan(
        ("tiny_sum.rv64", "trap.rv64", "hello.rv64"),
        ("stdin_echo.rv64", "sort.rv64", "exitcode.rv64"),
        "loop.rv64",
    ),
    "rv32": Plan(("tiny_sum.rv32", "trap.rv32", "hello.rv32"), (), "loop.rv32"),
}

TARGET_MEDIAN_EXECUTION_GAS = 40_000
TARGET_MEDIAN_TX_GAS = 60_000  # transaction gas with the EIP-7623 floor
TARGET_MAX_TX_GAS = 120_000
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


def proofs(
    plan: Plan, sample: int, loop_steps: int, seed: int
) -> Iterator[tuple[str, int, StepProof]]:
    """(program, expected count, proof) for everything the benchmark measures of one ISA."""
    rng = random.Random(seed)
    for name in plan.every_step:
        program = shipped(name)
        total = Emulator(program).run().step + 1
        for claim in every_step(program):
            yield name, total, claim
    chosen = [(name, chosen_steps(shipped(name), sample, rng)) for name in plan.syscalls_and_sample]
    chosen.append((plan.random_only, random_steps(shipped(plan.random_only), loop_steps, rng)))
    for name, (emulator, steps) in chosen:
        for step in steps:
            yield name, len(steps), prove(emulator, step)


def measure_all(
    verifier: Verifier, plan: Plan, sample: int, loop_steps: int, seed: int
) -> list[Sample]:
    samples: list[Sample] = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        tasks: dict[str, int] = {}
        for name, total, claim in proofs(plan, sample, loop_steps, seed):
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
    # the receipt's gasUsed, which under Prague already is max(regular, EIP-7623 floor);
    # the max() states it rather than trusting the receipt
    "transaction_gas": lambda g: max(g.transaction_gas, g.floor_gas),
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
    for name in ("execution gas", "tx gas (Prague)", "EIP-7623 floor", "calldata bytes"):
        table.add_column(f"{name}\nmin / median / max", justify="right")
    for cls, row in groups.items():
        table.add_row(cls, f"{row['count']:,}", *(spread_text(row[f]) for f in FIGURES))
    return table


def totals_table(
    isa: str, verifier: str, overall: dict[str, object], code_size: int, mismatches: int
) -> Table:
    def mark(ok: bool) -> str:
        return "[green]pass[/]" if ok else "[red]FAIL[/]"

    execution = overall["execution_gas"]
    transaction = overall["transaction_gas"]
    table = Table(title=f"{isa}: totals over {overall['count']:,} step proofs ({verifier})")
    table.add_column("figure")
    table.add_column("min / median / max", justify="right")
    table.add_column("target", justify="right")
    table.add_column("")
    table.add_row(
        "execution gas",
        spread_text(execution),
        f"median <= {TARGET_MEDIAN_EXECUTION_GAS:,}",
        mark(execution["median"] <= TARGET_MEDIAN_EXECUTION_GAS),
    )
    table.add_row(
        "transaction gas (Prague, EIP-7623 floor included)",
        spread_text(transaction),
        f"median <= {TARGET_MEDIAN_TX_GAS:,}, max <= {TARGET_MAX_TX_GAS:,}",
        mark(transaction["median"] <= TARGET_MEDIAN_TX_GAS
             and transaction["max"] <= TARGET_MAX_TX_GAS),
    )  # fmt: skip
    table.add_row("EIP-7623 floor", spread_text(overall["eip7623_floor"]), "", "")
    table.add_row("calldata bytes per proof", spread_text(overall["calldata_bytes"]), "", "")
    table.add_row(
        f"{verifier} runtime bytecode",
        f"{code_size:,} bytes",
        f"<= {EIP170_LIMIT:,}",
        mark(code_size <= EIP170_LIMIT),
    )
    table.add_row("EVM post-state != reference", f"{mismatches:,}", "0", mark(mismatches == 0))
    return table


def measure_isa(
    chain: InProcessChain, isa: str, options: argparse.Namespace, out: Console
) -> dict[str, object]:
    """Measure one ISA's plan on its own verifier; print its tables; return its report."""
    verifier = deploy_verifier(chain, isa)
    contract = verifier_artifact(isa)
    code_size = len(chain.w3.eth.get_code(verifier.address))
    samples = measure_all(verifier, PLANS[isa], options.sample, options.loop, options.seed)
    syscalls = [s for s in samples if s.cls.startswith("syscall-")]
    others = [s for s in samples if not s.cls.startswith("syscall-")]
    overall = summary(samples)
    mismatches = [s for s in samples if not s.agrees]
    out.print(class_table(f"{isa}: by instruction class (and fixed point, panics)", group(others)))
    out.print(class_table(f"{isa}: by syscall", group(syscalls)))
    out.print(totals_table(isa, contract, overall, code_size, len(mismatches)))
    per_program = {name: sum(s.program == name for s in samples) for name in dict.fromkeys(
        s.program for s in samples)}  # fmt: skip
    out.print(f"{isa}: proofs per program: {per_program}")
    for s in mismatches[:10]:
        out.print(f"[red]mismatch[/]: {s.program} step {s.step} ({s.cls})")
    return {
        "verifier": contract,
        "proofs_per_program": per_program,
        "runtime_bytecode_bytes": code_size,
        "overall": overall,
        "by_class": group(others),
        "by_syscall": group(syscalls),
        "mismatches": [
            {"program": s.program, "step": s.step, "class": s.cls} for s in mismatches
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--isa", action="append", choices=names(),
                        help="measure this ISA (repeatable; default: every ISA)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    parser.add_argument("--sample", type=int, default=300,
                        help="non-syscall steps sampled in the syscall-heavy programs (300)")
    parser.add_argument("--loop", type=int, default=300,
                        help="random steps of loop (default 300)")
    parser.add_argument("--seed", type=int, default=1, help="sampling seed (default 1)")
    options = parser.parse_args(argv)

    chain = InProcessChain.fresh()
    out = Console()
    if not out.is_terminal:  # a file or pipe: wide enough for one line per row
        out = Console(width=150)
    reports = {isa: measure_isa(chain, isa, options, out) for isa in options.isa or names()}
    out.print(f"chain: {chain_description(chain)}")
    if options.json:
        report = {
            "chain": chain_description(chain),
            "seed": options.seed,
            "targets": {
                "median_execution_gas": TARGET_MEDIAN_EXECUTION_GAS,
                "median_transaction_gas_with_floor": TARGET_MEDIAN_TX_GAS,
                "max_transaction_gas_with_floor": TARGET_MAX_TX_GAS,
                "runtime_bytecode_bytes": EIP170_LIMIT,
            },
            "isas": reports,
        }
        write_atomic(options.json, json.dumps(report, indent=2) + "\n")
    return 1 if any(r["mismatches"] for r in reports.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
