"""Binding of an on-chain one-step verifier behind `IStepVerifier` (docs/spec.md section 12).

Calls (`step`, `step_from`, `state_hash`) are `eth_call`s: free, and what an agent uses to
check a proof before sending it. `measure` sends `stepFrom` as a real transaction to quote
what a step costs on chain. Reverts surface as `ChainError` with the decoded custom error in
`.name` (`WrongPreState`, `MerkleProofInvalid`, ...).

Calls go through `Chain.raw_call`: on the in-process chain a py-evm message call of the
deployed runtime code (the contract is pure, so nothing else can differ), about 30% faster,
which matters to the tests that run thousands of steps; other chains get a real eth_call.

`VERIFIER_ARTIFACTS` is the one place that names each ISA's verifier contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3.contract import Contract

from arbitration.chain.base import TX_BASE_GAS, Chain

#: The step verifier contract of each ISA (`contracts/build/NAME.json`).
VERIFIER_ARTIFACTS = {"mips": "MipsVerifier", "riscv": "RiscvVerifier"}  # riscv: RV32 and RV64
DEFAULT_ISA = "mips"

#: Gas limit for a measured step: far above the worst step, far below the block limit.
STEP_TX_GAS = 2_000_000

#: EIP-7623 (Prague): a transaction pays at least 21000 + 10 gas per calldata token, where a
#: zero byte is 1 token and a non-zero byte 4.
FLOOR_GAS_PER_TOKEN = 10
NONZERO_BYTE_TOKENS = 4


@dataclass(frozen=True)
class StepGas:
    """What one verified step costs, from a real transaction's receipt (Cancun)."""

    post_state_hash: bytes
    execution_gas: int  # gasUsed - intrinsic (Cancun): what a calling contract pays
    transaction_gas: int  # the receipt's gasUsed under the pinned Cancun fork
    calldata_bytes: int  # length of the transaction's calldata
    floor_gas: int  # what EIP-7623 (Prague) would charge at least: 21000 + 10 * tokens


def floor_gas(calldata: bytes) -> int:
    """The EIP-7623 calldata floor of a transaction carrying `calldata`."""
    zeros = calldata.count(0)
    tokens = zeros + NONZERO_BYTE_TOKENS * (len(calldata) - zeros)
    return TX_BASE_GAS + FLOOR_GAS_PER_TOKEN * tokens


def verifier_artifact(isa: str) -> str:
    """The artifact name of `isa`'s verifier; ValueError naming the known ISAs otherwise."""
    try:
        return VERIFIER_ARTIFACTS[isa]
    except KeyError:
        known = ", ".join(sorted(VERIFIER_ARTIFACTS))
        raise ValueError(f"no step verifier for ISA {isa!r} (known: {known})") from None


class Verifier:
    """A deployed step verifier on a `Chain`."""

    def __init__(self, chain: Chain, contract: Contract) -> None:
        self.chain = chain
        self.contract = contract

    @property
    def address(self) -> str:
        return self.contract.address

    @classmethod
    def at(cls, chain: Chain, address: str, isa: str = DEFAULT_ISA) -> Verifier:
        return cls(chain, chain.at(verifier_artifact(isa), address))

    def step(self, witness: bytes, proof: bytes) -> bytes:
        """The post-state hash of one step; the caller vouches for the pre-state."""
        return self._call("step", witness, proof)

    def step_from(self, pre_state_hash: bytes, witness: bytes, proof: bytes) -> bytes:
        """The post-state hash of one step from the agreed `pre_state_hash`."""
        return self._call("stepFrom", pre_state_hash, witness, proof)

    def state_hash(self, witness: bytes) -> bytes:
        return self._call("stateHash", witness)

    def _call(self, function: str, *args: Any) -> bytes:
        """Call a function returning bytes32; ChainError on revert."""
        calldata = bytes.fromhex(self.contract.encode_abi(function, list(args))[2:])
        return self.chain.raw_call(self.address, calldata)[:32]

    def measure(self, pre_state_hash: bytes, witness: bytes, proof: bytes) -> StepGas:
        """Send `stepFrom` as a transaction and report its gas (ChainError if it reverts).

        The result comes from a call of the same function (a transaction's return value is
        not in its receipt); both run on the same state, and the contract is pure.
        """
        post_state_hash = self.step_from(pre_state_hash, witness, proof)
        call = self.contract.functions.stepFrom(pre_state_hash, witness, proof)
        receipt = self.chain.transact(call, gas=STEP_TX_GAS)
        calldata = bytes(self.chain.w3.eth.get_transaction(receipt.tx_hash)["input"])
        return StepGas(
            post_state_hash=post_state_hash,
            execution_gas=receipt.gas_used - Chain.intrinsic_gas(calldata),
            transaction_gas=receipt.gas_used,
            calldata_bytes=len(calldata),
            floor_gas=floor_gas(calldata),
        )
