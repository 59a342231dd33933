"""The RISC-V reference against qemu: every instruction test program (tests/riscv) must
print exactly what qemu-riscv64/qemu-riscv32 printed for it, and its steps must prove:
the proof-mode replay of a step equals the full-memory step (post-state, consumed proof).
"""

from __future__ import annotations

import pytest

from flexemu.access import FullIO
from flexemu.isa.mips.state import Status
from flexemu.isa.riscv.io import fits
from flexemu.isa.riscv.state import RiscvState
from flexemu.isa.riscv.step import step
from flexemu.multiproof import leaf_counts
from tests.riscv_support import (
    RISCV_TESTS,
    load_freestanding,
    manifest,
    program_names,
    prove_and_check,
    run,
)

PROGRAMS = program_names()
# Programs proved on every step; the others on every STRIDE-th step.
EVERY_STEP = {n for n in PROGRAMS if n.split("_rv")[0] in ("compressed", "fp_csr", "memory")}
STRIDE = 11


def first_difference(name: str, got: bytes, want: bytes) -> str:
    info = manifest(name)
    width = info["record_bytes"]
    for i, label in enumerate(info["cases"]):
        a, b = got[i * width : (i + 1) * width], want[i * width : (i + 1) * width]
        if a != b:
            return f"case {i} `{label}`: got 0x{a[::-1].hex()}, qemu 0x{b[::-1].hex()}"
    return f"lengths differ: got {len(got)} bytes, qemu {len(want)}"


def test_every_suite_is_built_for_both_xlens() -> None:
    suites = {name.rsplit("_rv", 1)[0] for name in PROGRAMS}
    assert len(suites) >= 8
    assert set(PROGRAMS) == {f"{s}_rv{x}" for s in suites for x in (32, 64)}


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_matches_qemu(name: str) -> None:
    machine = load_freestanding(RISCV_TESTS / "elf" / name)
    assert machine.state.xlen == int(name[-2:])
    output = run(machine)
    expected = (RISCV_TESTS / "expected" / f"{name}.out").read_bytes()
    assert machine.state.status == Status.EXITED and machine.state.exit_code == 0
    assert len(expected) == len(manifest(name)["cases"]) * manifest(name)["record_bytes"]
    assert output == expected, first_difference(name, output, expected)


@pytest.mark.parametrize("name", PROGRAMS)
def test_steps_prove(name: str) -> None:
    """Proof mode equals full mode; a 4-byte fetch or an access across a leaf boundary
    proves each touched leaf once."""
    machine = load_freestanding(RISCV_TESTS / "elf" / name)
    stride = 1 if name in EVERY_STEP else STRIDE
    io = FullIO(machine.memory, machine.input_memory, record=False)
    proved = spanning = 0
    while machine.state.status == Status.RUNNING:
        if machine.state.step % stride:
            step(machine.state, io)
            continue
        pc = machine.state.pc
        full, checked, proof = prove_and_check(machine)
        assert checked == full, f"step {full.step - 1} at pc {pc:#x}"
        assert checked.hash() == full.hash()
        assert 1 <= sum(leaf_counts(proof)) <= 3
        assert fits(pc, 2)
        spanning += sum(leaf_counts(proof)) > 1
        proved += 1
    assert proved > 0
    if name in EVERY_STEP and name.startswith("memory"):
        assert spanning > 50  # the memory suite crosses leaf boundaries on purpose


def test_a_wrong_semantics_is_caught() -> None:
    """The comparison can fail: flipping one stored result byte names its case."""
    name = "muldiv_rv64"
    expected = (RISCV_TESTS / "expected" / f"{name}.out").read_bytes()
    broken = bytearray(expected)
    broken[8 * 5] ^= 1
    assert first_difference(name, bytes(broken), expected).startswith("case 5 `mul ")


def test_witness_round_trip_of_a_finished_program() -> None:
    machine = load_freestanding(RISCV_TESTS / "elf" / "atomic_rv64")
    run(machine)
    machine.state.mem_root = machine.memory.root()
    assert RiscvState.from_witness(machine.state.witness()) == machine.state
