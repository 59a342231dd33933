"""Step proofs of the shipped RISC-V guests: the proof-mode replay of a step (what a
verifier does, from the witness and the leaf proofs alone) equals the full-memory step,
at every step of the small guests (glibc start-up, stdin and exit included), and at steps the
fast engine seeks to (a proof is made from the engine's memory, as a bisection will)."""

from __future__ import annotations

import pytest

from flexemu.isa.mips.state import Status
from flexemu.isa.riscv.engine import RiscvEngine
from flexemu.memory import Memory
from flexemu.multiproof import leaf_counts
from tests.riscv_support import Machine, prove_and_check
from tests.test_riscv_lockstep import SMALL, image_of


@pytest.mark.parametrize("name", SMALL)
def test_every_step_proves(name):
    image = image_of(name)
    machine = Machine(image.state, image.memory, image.input_memory)
    while machine.state.status == Status.RUNNING:
        full, checked, proof = prove_and_check(machine)
        assert checked.witness() == full.witness(), f"{name}: step {full.step}"
        assert 1 <= sum(leaf_counts(proof)) <= 7
    assert machine.state.step > 20
    terminal = machine.state.copy()
    full, checked, proof = prove_and_check(machine)  # a terminal state is a fixed point
    assert checked.witness() == full.witness() == terminal.witness()


@pytest.mark.parametrize(("name", "at"), [("sort.rv64", 654_321), ("loop.rv64", 20_000_003)])
def test_a_step_proved_from_the_engines_memory_checks(name, at):
    image = image_of(name)
    engine = RiscvEngine(image.state, image.memory.pages, image.input_memory)
    engine.advance(at)
    machine = Machine(engine.state.copy(), Memory(engine.pages()), image.input_memory)
    for _ in range(3):
        full, checked, _ = prove_and_check(machine)
        engine.advance(full.step)
        assert checked.witness() == full.witness()
        assert engine.state.x == full.x and engine.state.pc == full.pc
