"""Verifier against the reference on the steps of the RISC-V instruction test programs.

Each step is proved by the reference (full memory), replayed from the proof alone, and sent
to `stepFrom` on the compiled contract in py-evm: the post-state hashes must be equal.
Coverage per program: the first FIRST steps of every instruction class (decoded name, compressed
or not, syscall number) found by a reference run, plus every STRIDE-th step, and every step
of the fp_csr programs; and the same over the small shipped RISC-V guests (every step of
the freestanding ones, whose every syscall is checked too). The `slow` run checks every step
of every program (about 190k) and guest.
"""

from __future__ import annotations

from collections import Counter

import pytest

from arbitration.contracts.verifier import Verifier
from flexemu.access import FullIO
from flexemu.isa.riscv.fp import FP_WIDTHS
from flexemu.isa.riscv.loadstore import LOADS, STORES
from flexemu.isa.riscv.step import _decoded, fetch, step
from flexemu.isa.riscv.syscalls import A7
from flexemu.status import Status
from tests.riscv_support import RISCV_TESTS, Machine, load_freestanding, program_names
from tests.riscv_verifier_support import deploy, evm_step
from tests.test_riscv_lockstep import SMALL, image_of

PROGRAMS = program_names()
STRIDE = 251
#: Bytes accessed by the loads and stores (atomics are aligned and never cross a leaf).
ACCESS_WIDTHS = {**{n: w for n, (w, _) in LOADS.items()}, **STORES, **FP_WIDTHS}
#: Occurrences of each instruction class checked.
FIRST = 1
#: The small shipped RISC-V guests (scenarios/programs); EVERY: those checked at every step.
SHIPPED = SMALL
EVERY = ("hello", "tiny_sum", "trap")

InstructionClass = tuple


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return deploy()


def instruction_class(machine: Machine) -> InstructionClass:
    """What the next step executes: the unit of coverage. The decoded name and length (an
    ecall with its number), for each source register whether it is zero and its sign (a
    result can coincide with a wrong one for some operands: srai and srli on a
    non-negative value), and for a load or store how far it reaches into the next leaf."""
    state = machine.state
    raw, length = fetch(state, FullIO(machine.memory, machine.input_memory, record=False))
    decoded = _decoded(raw, length, state.xlen)
    name = decoded.name  # an instruction, or the Panic an undecodable step is
    if name == "ecall":
        return (name, length, state.x[A7])
    operands = [state.x[getattr(decoded, field, 0)] for field in ("rs1", "rs2")]
    shape = tuple((value == 0, value >> (state.xlen - 1)) for value in operands)
    width = ACCESS_WIDTHS.get(name, 0)
    if width:  # how many of the accessed bytes fall into the next leaf
        address = (operands[0] + decoded.imm) % (1 << state.xlen)
        return (name, length, shape, max(0, address % 32 + width - 32))
    return (name, length, shape)


def check_program(verifier: Verifier, name: str, every: bool) -> tuple[int, set[InstructionClass]]:
    """Step test program `name` to its end, checking selected steps on the EVM."""
    return check_machine(verifier, load_freestanding(RISCV_TESTS / "elf" / name), every)


def check_machine(
    verifier: Verifier, machine: Machine, every: bool
) -> tuple[int, set[InstructionClass]]:
    """Step `machine` to its end, checking on the EVM every step (`every`) or the first of
    FIRST of each class, every syscall and every STRIDE-th step; (checked, classes)."""
    io = FullIO(machine.memory, machine.input_memory, record=False)
    seen: Counter[InstructionClass] = Counter()
    checked = 0
    while machine.state.status == Status.RUNNING:
        kind = instruction_class(machine)
        chosen = seen[kind] < FIRST or kind[0] == "ecall" or machine.state.step % STRIDE == 0
        if every or chosen:
            seen[kind] += 1
            evm_step(verifier, machine)
            checked += 1
        else:
            step(machine.state, io)
    # The exited state is a fixed point on chain too.
    evm_step(verifier, machine)
    return checked, set(seen)


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_steps_agree(verifier: Verifier, name: str) -> None:
    checked, seen = check_program(verifier, name, every=name.startswith("fp_csr"))
    assert checked >= len(seen) > 5


@pytest.mark.slow
@pytest.mark.parametrize("name", PROGRAMS)
def test_every_step_agrees(verifier: Verifier, name: str) -> None:
    check_program(verifier, name, every=True)


def shipped(name: str) -> Machine:
    image = image_of(name)
    return Machine(image.state, image.memory, image.input_memory)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_guest_steps_agree(verifier: Verifier, name: str) -> None:
    """Every step of the small freestanding guests; the glibc ones as the test programs."""
    checked, seen = check_machine(verifier, shipped(name), every=name.split(".")[0] in EVERY)
    assert checked >= len(seen) > 5


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_guest_step_agrees(verifier: Verifier, name: str) -> None:
    check_machine(verifier, shipped(name), every=True)
