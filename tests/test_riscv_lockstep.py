"""The RISC-V fast engine (unicorn + glue) against the reference stepper, in lockstep.

Every step of every small shipped RISC-V guest, whole runs and a window of every
instruction test program (tests/riscv; every step under `-m slow`), sampled windows of
the long loop guests, seeking equals stepping,
resuming from a checkpoint equals running on, and the same inputs give the same
hashes. Any difference is a consensus bug; the failure names the step and the fields.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from flexemu.isa.riscv.engine import RiscvEngine
from flexemu.isa.riscv.loader import RiscvImage, load_riscv
from flexemu.isa.riscv.state import RiscvState
from flexemu.isa.riscv.step import step
from flexemu.loader import Program
from flexemu.memory import Memory
from flexemu.mips.io import FullIO
from flexemu.state import Status
from tests.conftest import memory_diff, state_diff
from tests.riscv_support import RISCV_TESTS, load_freestanding, program_names

PROGRAMS = Path(__file__).resolve().parent.parent / "scenarios" / "programs"
#: Shipped RISC-V guests checked at every step (the glibc ones are 6k-14k steps).
SMALL = ("hello.rv64", "hello.rv32", "tiny_sum.rv64", "tiny_sum.rv32", "trap.rv64",
         "trap.rv32", "exitcode.rv64", "stdin_echo.rv64")
LONG = ("loop.rv64", "loop.rv32", "sort.rv64")  # sort: 1.1M steps of glibc malloc/qsort
MEMORY_EVERY = 997  # full-memory comparisons, besides the one at the end


def image_of(name: str) -> RiscvImage:
    record = json.loads((PROGRAMS / f"{name}.expected.json").read_text())
    program = Program.from_file(PROGRAMS / name, record["argv"], {}, record["stdin"].encode())
    return load_riscv(program)


def expected(name: str) -> dict:
    return json.loads((PROGRAMS / f"{name}.expected.json").read_text())


def with_root(state: RiscvState, pages: dict[int, bytes]) -> RiscvState:
    state = state.copy()
    state.mem_root = Memory(pages).root()
    return state


def lockstep(state: RiscvState, memory: Memory, input_memory: Memory, steps: int,
             label: str) -> tuple[RiscvEngine, RiscvState, FullIO]:
    """Step the reference and advance the engine one step at a time; fail at the first
    difference. Returns both at the end (after `steps` steps, or where the program ended)."""
    engine = RiscvEngine(state, memory.pages, input_memory)
    reference, reference_memory = state.copy(), memory.copy()
    io = FullIO(reference_memory, input_memory, record=False)
    for count in range(1, steps + 1):
        if reference.status != Status.RUNNING:
            break
        step(reference, io)
        engine.advance(reference.step)
        diff = state_diff(engine.state, reference)
        assert not diff, f"{label}, step {reference.step}: " + "; ".join(diff[:6])
        if count % MEMORY_EVERY == 0:
            assert not memory_diff(engine.pages(), reference_memory.pages), label
    assert not memory_diff(engine.pages(), reference_memory.pages), label
    assert engine.output == io.output, label
    return engine, reference, io


@pytest.mark.parametrize("name", SMALL)
def test_every_step_of_the_small_guests(name):
    image = image_of(name)
    _, reference, io = lockstep(image.state, image.memory, image.input_memory, 10**6, name)
    record = expected(name)
    assert reference.status != Status.RUNNING
    stdout = b"".join(data for fd, data in io.output if fd == 1).decode()
    assert stdout == record["stdout"]
    if record["signal"] is None:
        assert (reference.status, reference.exit_code) == (Status.EXITED, record["exit_code"])
    else:  # SIGTRAP from ebreak under qemu: a panic here
        assert reference.status == Status.PANICKED and reference.exit_code == 2  # EBREAK


def full_run_agrees(state: RiscvState, memory: Memory, input_memory: Memory,
                    label: str) -> tuple[RiscvState, list[tuple[int, bytes]]]:
    """The engine's run to the end equals the reference's (state, memory, output)."""
    engine = RiscvEngine(state, memory.pages, input_memory)
    engine.advance()
    reference, reference_memory = state.copy(), memory.copy()
    io = FullIO(reference_memory, input_memory, record=False)
    while reference.status == Status.RUNNING:
        step(reference, io)
    diff = state_diff(engine.state, reference)
    assert not diff, f"{label}: " + "; ".join(diff[:6])
    assert not memory_diff(engine.pages(), reference_memory.pages), label
    assert engine.output == io.output, label
    return reference, io.output


@pytest.mark.parametrize("name", program_names())
def test_instruction_test_programs_run_and_a_window_agrees_at_every_step(name):
    """The whole run agrees at the end; 800 steps from a seeded start agree at every step
    (a 1-step unicorn run translates a fresh block each time, ~1 ms on the long straight
    blocks of these programs: every step of every program is the slow test below)."""
    machine = load_freestanding(RISCV_TESTS / "elf" / name)
    reference, output = full_run_agrees(machine.state, machine.memory, machine.input_memory,
                                        name)
    assert (reference.status, reference.exit_code) == (Status.EXITED, 0)
    assert b"".join(d for fd, d in output if fd == 1) == (
        RISCV_TESTS / "expected" / f"{name}.out").read_bytes()
    start = random.Random(name).randrange(max(1, reference.step - 800))
    seeker = RiscvEngine(machine.state, machine.memory.pages, machine.input_memory)
    seeker.advance(start)
    lockstep(seeker.state, Memory(seeker.pages()), machine.input_memory, 800,
             f"{name} window at {start}")


@pytest.mark.slow
@pytest.mark.parametrize("name", program_names())
def test_every_step_of_the_instruction_test_programs(name):
    machine = load_freestanding(RISCV_TESTS / "elf" / name)
    _, reference, _ = lockstep(machine.state, machine.memory, machine.input_memory, 10**6,
                               name)
    assert (reference.status, reference.exit_code) == (Status.EXITED, 0)


@pytest.mark.parametrize("name", LONG)
def test_sampled_windows_of_the_long_guest(name):
    """Windows of 1,500 steps at the start, in the middle, and up to the exit (sort: the
    realloc's munmap and the final write); each starts from the engine's own state there
    (seeking from step 0 in one advance)."""
    image = image_of(name)
    runner = RiscvEngine(image.state, image.memory.pages, image.input_memory)
    runner.advance()
    total = runner.state.step
    assert runner.state.status == Status.EXITED
    assert total > (30_000_000 if name.startswith("loop") else 1_000_000)
    out = b"".join(data for fd, data in runner.output if fd == 1).decode()
    assert out == expected(name)["stdout"]
    for start in (0, total // 2 + 12_345, total - 1_500):
        seeker = RiscvEngine(image.state, image.memory.pages, image.input_memory)
        seeker.advance(start)
        assert seeker.state.step == start
        memory = Memory(seeker.pages())
        _, reference, _ = lockstep(seeker.state, memory, image.input_memory, 1_500,
                                   f"{name} window at {start}")
        if start == total - 1_500:
            assert reference.status == Status.EXITED and reference.step == total
            assert reference.output_hash == runner.state.output_hash


def test_seeking_equals_stepping_and_checkpoints_resume_exactly():
    image = image_of("sort.rv64")
    direct = RiscvEngine(image.state, image.memory.pages, image.input_memory)
    direct.advance(700_001)
    stepped = RiscvEngine(image.state, image.memory.pages, image.input_memory)
    for target in (1, 2, 3, 1_000, 123_457, 500_000, 700_001):
        stepped.advance(target)
    checkpoint = RiscvEngine(image.state, image.memory.pages, image.input_memory)
    checkpoint.advance(300_000)
    resumed = RiscvEngine(checkpoint.state, checkpoint.pages(), image.input_memory)
    resumed.advance(700_001)
    want = with_root(direct.state, direct.pages())
    for other in (stepped, resumed):
        assert not state_diff(other.state, direct.state)
        assert with_root(other.state, other.pages()).hash() == want.hash()


def test_same_inputs_same_hashes():
    def final(name: str) -> bytes:
        image = image_of(name)
        engine = RiscvEngine(image.state, image.memory.pages, image.input_memory)
        engine.advance()
        return with_root(engine.state, engine.pages()).hash()

    first, second = final("sort.rv64"), final("sort.rv64")
    assert first == second and first[0] == 0  # exited 0
    assert final("stdin_echo.rv64") not in (first,)
