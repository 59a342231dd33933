"""Helpers for the RISC-V reference tests: a minimal freestanding-ELF image and runners.

The image here is deliberately small (segments, entry, sp): the instruction test
programs are freestanding and read no stack or auxv. Full program images
(argv, env, auxv, stdin) are the RISC-V loader's job.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile

from flexemu.access import FullIO
from flexemu.isa.mips.state import Status
from flexemu.isa.riscv.state import RiscvState
from flexemu.isa.riscv.step import step
from flexemu.memory import Memory
from flexemu.proof import check
from flexemu.reference import ReferenceMachine

RISCV_TESTS = Path(__file__).parent / "riscv"
STACK_TOP = 0x7FFF0000
MMAP_BASE = 0x40000000


@dataclass
class Machine:
    state: RiscvState
    memory: Memory
    input_memory: Memory

    def copy(self) -> Machine:
        return Machine(self.state.copy(), self.memory.copy(), self.input_memory)


def load_freestanding(path: Path) -> Machine:
    elf = ELFFile(io.BytesIO(path.read_bytes()))
    xlen = elf.elfclass
    memory = Memory()
    end = 0
    for segment in elf.iter_segments():
        if segment["p_type"] != "PT_LOAD":
            continue
        memory.write_bytes(segment["p_vaddr"], segment.data())
        end = max(end, segment["p_vaddr"] + segment["p_memsz"])
    state = RiscvState(xlen=xlen, pc=elf["e_entry"], brk=(end + 4095) & ~4095, mmap_next=MMAP_BASE)
    state.x[2] = STACK_TOP
    state.mem_root = memory.root()
    return Machine(state, memory, Memory())


def run(machine: Machine, max_steps: int = 10_000_000) -> bytes:
    """Step to the end; return what the program wrote to stdout."""
    io_ = FullIO(machine.memory, machine.input_memory, record=False)
    state = machine.state
    for _ in range(max_steps):
        if state.status != Status.RUNNING:
            break
        step(state, io_)
    return b"".join(data for fd, data in io_.output if fd == 1)


def prove_and_check(machine: Machine) -> tuple[RiscvState, RiscvState, bytes]:
    """One step in both modes from the machine's state; advances the machine.

    Returns (full-mode post-state, proof-mode post-state, the proof)."""
    pre_witness = machine.state.copy()
    pre_witness.mem_root = machine.memory.root()
    proof = ReferenceMachine(machine.state, machine.memory, machine.input_memory).prove_step()
    checked = check(pre_witness.witness(), proof)
    return machine.state.copy(), checked, proof


def program_names() -> list[str]:
    return sorted(p.stem for p in (RISCV_TESTS / "elf").iterdir())


def manifest(name: str) -> dict:
    return json.loads((RISCV_TESTS / "cases" / f"{name}.cases.json").read_text())
