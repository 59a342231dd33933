"""The RISC-V reference against the compiled Verifier in py-evm, one step at a time.

`evm_step(verifier, machine)` proves the machine's next step with the reference (advancing
the machine), replays it from the proof alone, and requires `stepFrom` on the EVM to return
the reference's post-state hash. Rejections are compared by name: the reference's
WitnessError/ProofError against the contract's named error (`expected_error`).
"""

from __future__ import annotations

from arbitration.chain.errors import ChainError
from arbitration.chain.in_process import InProcessChain
from arbitration.contracts import deploy as deployment
from arbitration.contracts.verifier import Verifier
from flexemu.errors import ProofError, WitnessError
from flexemu.isa.riscv.state import RiscvState, state_hash
from flexemu.proof import check
from tests.riscv_support import Machine, prove_and_check


def deploy() -> Verifier:
    """A fresh in-process chain with the RISC-V verifier, deployed as every caller does."""
    return deployment.deploy_verifier(InProcessChain.fresh(num_accounts=1), "rv64")


def evm_step(verifier: Verifier, machine: Machine) -> tuple[RiscvState, bytes, bytes]:
    """One step through the reference and the EVM; returns (post-state, witness, proof)."""
    pre = machine.state.copy()
    pre.mem_root = machine.memory.root()
    witness = pre.witness()
    full, checked, proof = prove_and_check(machine)
    assert checked == full
    got = verifier.step_from(state_hash(witness), witness, proof)
    assert got == full.hash(), (
        f"EVM disagrees at step {pre.step} pc {pre.pc:#x}: {got.hex()} != {full.hash().hex()}"
    )
    return full, witness, proof


def evm_outcome(verifier: Verifier, witness: bytes, proof: bytes) -> str | bytes:
    """The EVM's post-state hash, or the name of the error it reverted with."""
    try:
        return verifier.step(witness, proof)
    except ChainError as error:
        return str(error.name)


def reference_outcome(witness: bytes, proof: bytes) -> str | bytes:
    """The reference's post-state hash, or the kind of its rejection."""
    try:
        return check(witness, proof).hash()
    except WitnessError:
        return "WitnessError"
    except ProofError:
        return "ProofError"
