"""fcntl (4055) in a real guest: the fast engine, the reference, the proof check and the EVM.

`tests/data/fcntl` calls fcntl the ways glibc and peer MIPS test suites do (F_GETFL on the
three standard descriptors, F_GETFD, F_SETFD) and the ways the deterministic subset refuses
(another descriptor: EBADF; another command: EINVAL), prints each result and exits with the
number of results that differ from docs/spec.md section 7. Under qemu-mips the first four
lines are the same (stdin from /dev/null, stdout and stderr pipes); after them Linux keeps
descriptor flags and knows F_SETFL and F_DUPFD_CLOEXEC, which the subset does not.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from step_cases import ProvenStep, Verifier, assert_evm_agrees, deploy_verifier

from flexemu.emulator import Emulator
from flexemu.isa.mips import abi
from flexemu.isa.mips.state import Status
from flexemu.loader import Program, load
from flexemu.proof import check
from flexemu.reference import ReferenceMachine

PROGRAM = Path(__file__).resolve().parent / "data" / "fcntl"
SYSCALL = 0x0000_000C

#: "fd cmd -> v0 a3" per call, as section 7 specifies them.
EXPECTED = (
    "0 3 -> 0 0\n1 3 -> 1 0\n2 3 -> 1 0\n1 1 -> 0 0\n1 2 -> 0 0\n1 1 -> 0 0\n"
    "3 3 -> 9 1\n4294967295 1 -> 9 1\n2 4 -> 22 1\n0 1030 -> 22 1\n"
)


@pytest.fixture(scope="module")
def emulator() -> Emulator:
    emulator = Emulator(Program.from_file(PROGRAM))
    emulator.run()
    return emulator


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return deploy_verifier()


def test_the_engine_gives_the_specified_results(emulator: Emulator) -> None:
    assert emulator.final is not None
    assert (emulator.final.status, emulator.final.exit_code) == (Status.EXITED, 0)
    assert emulator.stdout().decode() == EXPECTED


def test_every_step_agrees_with_the_reference_and_the_proofs(
    emulator: Emulator, verifier: Verifier
) -> None:
    """Each step's state from a fresh seek of the engine is the reference's; each fcntl step
    checks from its proof alone and on the EVM."""
    machine = ReferenceMachine.from_image(load(Program.from_file(PROGRAM)))
    fcntl_steps = 0
    while machine.state.status == Status.RUNNING:
        step = machine.state.step
        pre = machine.commit().copy()
        assert emulator.state_at(step).hash() == pre.hash(), f"engine differs at step {step}"
        word = machine.memory.read_word(pre.pc, "big") if not pre.pc & 1 else None
        proof = machine.prove_step()
        post = machine.commit().copy()
        assert check(pre.witness(), proof).hash() == post.hash(), f"proof check at step {step}"
        if word == SYSCALL and pre.regs[abi.V0] == abi.SYS_FCNTL:
            fcntl_steps += 1
            proven = ProvenStep(pre.witness(), proof, pre.hash(), post)
            assert_evm_agrees(verifier, proven, f"fcntl at step {step}")
    assert emulator.state_at(machine.state.step).hash() == machine.commit().hash()
    assert fcntl_steps == EXPECTED.count("\n")
