"""Gas of RiscvVerifier over real RISC-V steps, by instruction class and by syscall.

Why: a RISC-V dispute ends with one `stepFrom` transaction on RiscvVerifier, as a MIPS one
does on MipsVerifier, with the same targets (issue 11): median transaction gas with the
EIP-7623 floor <= 60k, max <= 120k, median execution gas <= 40k, runtime code under the
EIP-170 limit. Every proof is sent as a real transaction (`Verifier.measure`) on the
in-process chain, and its post-state is compared with the reference's (a mismatch is
reported, never hidden).

Steps measured: in every instruction test program of tests/riscv (RV32 and RV64), the
first step of every instruction class (decoded name and length; ecalls by number) and
`--sample` random other steps; every step of fp_csr_rv64; and one step of each syscall
path (every number the reference lists, with success and error paths, RV64 and RV32).
"Transaction gas with floor" is max(receipt gas, EIP-7623 floor): what Prague charges.

Usage: python benchmarks/riscv_verifier_gas.py [--json OUT] [--sample N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the freestanding RISC-V loader lives in tests/riscv_support.py

from verifier_gas import EIP170_LIMIT, Sample, class_table, group, spread_text, summary  # noqa: E402

from arbitration.chain.in_process import InProcessChain  # noqa: E402
from arbitration.contracts.deploy import deploy_verifier  # noqa: E402
from arbitration.contracts.verifier import Verifier  # noqa: E402
from flexemu.access import FullIO  # noqa: E402
from flexemu.files import write_atomic  # noqa: E402
from flexemu.isa.riscv.state import RiscvState  # noqa: E402
from flexemu.isa.riscv.step import _decoded, fetch, step  # noqa: E402
from flexemu.memory import Memory  # noqa: E402
from flexemu.reference import ReferenceMachine  # noqa: E402
from flexemu.status import Status  # noqa: E402
from tests.riscv_support import Machine, load_freestanding, program_names  # noqa: E402

TARGET_MEDIAN_TX_GAS = 60_000
TARGET_MAX_TX_GAS = 120_000
TARGET_MEDIAN_EXECUTION_GAS = 40_000
EVERY_STEP = ("fp_csr_rv64",)
CODE, DATA = 0x10000, 0x20000
STDIN = bytes(range(100, 170))

console = Console(stderr=True)


def step_class(machine: Machine) -> str:
    state = machine.state
    raw, length = fetch(state, FullIO(machine.memory, machine.input_memory, record=False))
    decoded = _decoded(raw, length, state.xlen)
    name = decoded.name  # an instruction, or the Panic an undecodable step is
    if name == "ecall":
        return f"syscall-{state.x[17]}"
    return name if length == 4 else f"c:{name}"


def program_steps(sample: int, rng: random.Random) -> Iterator[tuple[str, str, Machine]]:
    """(program, class, machine before the step) for the chosen steps of every program."""
    for name in program_names():
        machine = load_freestanding(ROOT / "tests" / "riscv" / "elf" / name)
        io = FullIO(machine.memory, machine.input_memory, record=False)
        total = _length(machine.copy())
        chosen = set(rng.sample(range(total), min(sample, total)))
        seen: set[str] = set()
        while machine.state.status == Status.RUNNING:
            cls = step_class(machine)
            if name in EVERY_STEP or cls not in seen or machine.state.step in chosen:
                seen.add(cls)
                yield name, cls, machine.copy()
            step(machine.state, io)


def _length(machine: Machine) -> int:
    io = FullIO(machine.memory, machine.input_memory, record=False)
    while machine.state.status == Status.RUNNING:
        step(machine.state, io)
    return machine.state.step


def syscall_machine(xlen: int, number: int, *args: int) -> Machine:
    memory = Memory()
    memory.write_bytes(CODE, (0x73).to_bytes(4, "little"))
    memory.write_bytes(
        DATA, (DATA + 40).to_bytes(xlen // 8, "little") + (9).to_bytes(xlen // 8, "little")
    )
    input_memory = Memory()
    input_memory.write_bytes(0, STDIN)
    state = RiscvState(
        xlen=xlen,
        pc=CODE,
        brk=0x30000,
        mmap_next=0x40000000,
        input_len=len(STDIN),
        input_root=input_memory.root(),
    )
    state.x[17] = number
    for i, value in enumerate(args):
        state.x[10 + i] = value
    state.mem_root = memory.root()
    return Machine(state, memory, input_memory)


# (name, number, arguments): every number of flexemu/isa/riscv/syscalls.py, main paths.
SYSCALLS = [
    ("read", 63, 0, DATA + 100, 20), ("read EBADF", 63, 5, DATA, 4),
    ("write", 64, 1, DATA + 5, 9), ("write EBADF", 64, 7, DATA, 4),
    ("writev", 66, 1, DATA, 2), ("brk", 214, 0x31000), ("mmap", 222, 0, 8192, 3, 0x22),
    ("mmap ENOSYS", 222, 0, 8192, 3, 0x2), ("munmap", 215, 0x40000000, 4096),
    ("mprotect", 226, 0, 0, 0), ("madvise", 233, 0, 0, 0), ("set_tid_address", 96, DATA),
    ("getpid", 172), ("gettid", 178), ("set_robust_list", 99, DATA, 24),
    ("prlimit64", 261, 0, 3, 0, DATA + 8), ("prlimit64 EPERM", 261, 0, 3, DATA, 0),
    ("readlinkat", 78, 0, DATA, DATA, 64), ("getrandom", 278, DATA + 3, 16, 0),
    ("newfstatat", 79, 1, DATA, DATA + 64, 0x1000), ("newfstatat ENOENT", 79, 1, DATA, DATA, 0),
    ("sysinfo", 179, DATA + 16), ("fcntl", 25, 1, 3), ("exit_group", 94, 3), ("exit", 93, 0),
    ("unknown", 1000),
]  # fmt: skip


def syscall_steps() -> Iterator[tuple[str, str, Machine]]:
    for xlen in (64, 32):
        for name, number, *args in SYSCALLS:
            if number == 79 and xlen == 32:
                continue
            yield f"syscalls-rv{xlen}", f"syscall {name}", syscall_machine(xlen, number, *args)


def measure(verifier: Verifier, program: str, cls: str, machine: Machine) -> Sample:
    pre = machine.state.copy()
    pre.mem_root = machine.memory.root()
    proof = ReferenceMachine(machine.state, machine.memory, machine.input_memory).prove_step()
    gas = verifier.measure(pre.hash(), pre.witness(), proof)
    return Sample(program, pre.step, cls, gas, gas.post_state_hash == machine.state.hash())


def with_floor(samples: list[Sample]) -> dict[str, int]:
    values = sorted(max(s.gas.transaction_gas, s.gas.floor_gas) for s in samples)
    return {"min": values[0], "median": int(statistics.median(values)), "max": values[-1]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    parser.add_argument(
        "--sample",
        type=int,
        default=40,
        help="random steps per instruction test program (default 40)",
    )
    parser.add_argument("--seed", type=int, default=1, help="sampling seed (default 1)")
    options = parser.parse_args(argv)

    chain = InProcessChain.fresh()
    verifier = deploy_verifier(chain, "rv64")
    code_size = len(chain.w3.eth.get_code(verifier.address))
    rng = random.Random(options.seed)
    samples = []
    for program, cls, machine in [*program_steps(options.sample, rng), *syscall_steps()]:
        samples.append(measure(verifier, program, cls, machine))
    console.print(f"{len(samples)} step proofs measured")

    syscalls = [s for s in samples if s.cls.startswith("syscall")]
    others = [s for s in samples if not s.cls.startswith("syscall")]
    instructions = [s for s in others if s.program not in ("syscalls-rv64", "syscalls-rv32")]
    overall = summary(samples)
    floor = with_floor(samples)
    mismatches = [s for s in samples if not s.agrees]
    out = Console() if Console().is_terminal else Console(width=150)
    out.print(class_table("RISC-V: by instruction class (c: compressed)", group(instructions)))
    out.print(class_table("RISC-V: by syscall", group(syscalls)))

    def mark(ok: bool) -> str:
        return "[green]pass[/]" if ok else "[red]FAIL[/]"

    table = Table(title=f"RISC-V totals over {overall['count']:,} step proofs")
    for column in ("figure", "min / median / max", "target", ""):
        table.add_column(column)
    execution = overall["execution_gas"]
    table.add_row(
        "execution gas",
        spread_text(execution),
        f"median <= {TARGET_MEDIAN_EXECUTION_GAS:,}",
        mark(execution["median"] <= TARGET_MEDIAN_EXECUTION_GAS),
    )
    table.add_row(
        "transaction gas with EIP-7623 floor",
        spread_text(floor),
        f"median <= {TARGET_MEDIAN_TX_GAS:,}, max <= {TARGET_MAX_TX_GAS:,}",
        mark(floor["median"] <= TARGET_MEDIAN_TX_GAS and floor["max"] <= TARGET_MAX_TX_GAS),
    )
    table.add_row("transaction gas (receipt)", spread_text(overall["transaction_gas"]), "", "")
    table.add_row("EIP-7623 floor", spread_text(overall["eip7623_floor"]), "", "")
    table.add_row("calldata bytes", spread_text(overall["calldata_bytes"]), "", "")
    table.add_row(
        "RiscvVerifier runtime bytecode",
        f"{code_size:,} bytes",
        f"<= {EIP170_LIMIT:,}",
        mark(code_size <= EIP170_LIMIT),
    )
    table.add_row("EVM post-state != reference", f"{len(mismatches):,}", "0", mark(not mismatches))
    out.print(table)
    for s in mismatches[:10]:
        out.print(f"[red]mismatch[/]: {s.program} step {s.step} ({s.cls})")
    if options.json:
        report = {
            "overall": overall, "transaction_gas_with_floor": floor, "code_size": code_size,
            "mismatches": len(mismatches), "by_class": group(instructions),
            "by_syscall": group(syscalls),
        }  # fmt: skip
        write_atomic(options.json, json.dumps(report, indent=2) + "\n")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
