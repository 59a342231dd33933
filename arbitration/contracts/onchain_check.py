"""`check --onchain`: a step proof judged by the Solidity verifier instead of the reference.

The off-chain `check` replays the step in Python. This asks the compiled
step verifier on a real EVM and reports what the step costs there, so the
gas figures a dispute will pay can be read off any proof file.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from arbitration.chain.base import Chain
from arbitration.chain.errors import ChainError
from arbitration.contracts.deploy import deploy_verifier
from flexemu.errors import ProofError
from flexemu.proof import StepProof, check_step_number
from flexemu.state import State


def chain_description(chain: Chain) -> str:
    """`py-evm 0.12.1 cancun`: what ran the verifier, for reports people compare."""
    try:
        evm = f"py-evm {version('py-evm')}"
    except PackageNotFoundError:  # pragma: no cover - py-evm is a dependency
        evm = "py-evm"
    return f"{evm} {chain.fork}"


def check_on_chain(claim: StepProof, chain: Chain) -> dict[str, Any]:
    """Deploy the verifier, run `stepFrom` on the claim and measure it as a transaction.

    A revert (a custom error naming the defect) or a post-state other than the
    claimed one is a ProofError, which the CLI turns into exit code 1.
    """
    verifier = deploy_verifier(chain)
    try:
        post = verifier.step_from(claim.pre_state_hash, claim.witness, claim.proof)
    except ChainError as error:
        raise ProofError(str(error)) from None
    check_step_number(claim, State.from_witness(claim.witness))  # the verifier accepted it
    if post != claim.post_state_hash:
        raise ProofError(
            f"post-state mismatch: the verifier yields 0x{post.hex()}, "
            f"the file claims 0x{claim.post_state_hash.hex()}"
        )
    gas = verifier.measure(claim.pre_state_hash, claim.witness, claim.proof)
    return {
        "valid": True,
        "step": claim.step,
        "post_state_hash": "0x" + post.hex(),
        "gas": {
            "execution": gas.execution_gas,
            "transaction": gas.transaction_gas,
            "eip7623_floor": gas.floor_gas,
        },
        "calldata_bytes": gas.calldata_bytes,
        "chain": chain_description(chain),
    }
