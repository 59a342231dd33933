"""`spin`, the CPU-bound guest whose iteration count comes from argv[1], on every ISA.

It is loop.c's mixing loop (included as it is), shipped as `spin`, `spin.rv64` and
`spin.rv32` so that a benchmark can run ~300M steps of a shipped ELF
(benchmarks/startup.py) while the default run stays a 30M+-step trace. These tests hold it
to that: the default run prints what loop prints and what qemu recorded, a count from
argv changes the work (and the same count gives the same checksum on every ISA), and the
fast engine agrees with the reference at every step of a short run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flexemu.access import FullIO
from flexemu.emulator import Emulator
from flexemu.isa import isa_for_elf
from flexemu.loader import Program
from flexemu.status import Status
from tests.conftest import memory_diff, state_diff

PROGRAMS = Path(__file__).resolve().parent.parent / "scenarios" / "programs"
SPINS = ("spin", "spin.rv64", "spin.rv32")
LOOP_OF = {"spin": "loop", "spin.rv64": "loop.rv64", "spin.rv32": "loop.rv32"}


def expected(name: str) -> dict:
    return json.loads((PROGRAMS / f"{name}.expected.json").read_text())


def run(name: str, argv: list[str]) -> Emulator:
    emulator = Emulator(Program.from_file(PROGRAMS / name, argv))
    emulator.run()
    return emulator


@pytest.mark.parametrize("name", SPINS)
def test_the_default_run_is_loops_trace_length_and_output(name: str) -> None:
    spin = run(name, [])
    loop = run(LOOP_OF[name], [])
    record = expected(name)
    assert spin.final is not None and loop.final is not None
    assert (spin.final.status, spin.final.exit_code) == (Status.EXITED, record["exit_code"])
    assert spin.stdout().decode() == record["stdout"] == loop.stdout().decode()
    assert spin.final.step > 30_000_000
    # The same loop, compiled around a variable bound: the trace is within 10% of loop's.
    assert abs(spin.final.step - loop.final.step) < loop.final.step // 10


def test_a_count_from_argv_gives_one_checksum_on_every_isa() -> None:
    runs = {name: run(name, [name, "123"]) for name in SPINS}
    outputs = {emulator.stdout() for emulator in runs.values()}
    assert len(outputs) == 1 and outputs != {expected("spin")["stdout"].encode()}
    for emulator in runs.values():
        assert emulator.final is not None and emulator.final.step < 10_000
    default = run("spin.rv64", ["spin"]).final
    longer = run("spin.rv64", ["spin", "700000"]).final
    assert default is not None and longer is not None and longer.step > default.step


@pytest.mark.parametrize("name", SPINS)
def test_engine_and_reference_agree_at_every_step_of_a_short_spin(name: str) -> None:
    program = Program.from_file(PROGRAMS / name, [name, "40"])
    isa = isa_for_elf(program.elf, name)
    image = isa.load(program)
    engine = isa.engine(image.state, image.memory.pages, image.input_memory)
    reference, memory = image.state.copy(), image.memory.copy()
    io = FullIO(memory, image.input_memory, record=False)
    while reference.status == Status.RUNNING:
        isa.step(reference, io)
        engine.advance(reference.step)
        diff = state_diff(engine.state, reference)
        assert not diff, f"{name}, step {reference.step}: " + "; ".join(diff[:6])
    assert not memory_diff(engine.pages(), memory.pages)
    assert engine.output == io.output
    assert reference.exit_code == 0 and reference.step > 2_000
