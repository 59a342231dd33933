"""Binding of an on-chain one-step verifier behind `IStepVerifier` (docs/spec.md section 12).

Calls (`step`, `step_from`, `state_hash`) are `eth_call`s: free, and what an agent uses to
check a proof before sending it. `measure` sends `stepFrom` as a real transaction to quote
what a step costs on chain. Reverts surface as `ChainError` with the decoded custom error in
`.name` (`WrongPreState`, `MerkleProofInvalid`, ...).

Calls go through `Chain.raw_call`: on the in-process chain a py-evm message call of the
deployed runtime code (the contract is pure, so nothing else can differ), about 30% faster,
which matters to the tests that run thousands of steps; other chains get a real eth_call.

Each ISA's verifier contract and VM id come from its description (`flexemu.isa`'s listings):
the game side names no ISA of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from arbitration.chain.artifacts import BUILD_DIR
from arbitration.chain.base import Chain, calldata_floor_gas
from flexemu.isa import LISTINGS, listing_named, listing_of_vm

DEFAULT_ISA = "mips32"

#: The VM id of each ISA, by its name in `flexemu.isa`: a claim names its VM, the factory keeps
#: one verifier per id (`verifiers[vm]`) and a game refuses a step proof made for another VM
#: (`WrongVm`). 0 is never a VM. docs/game.md section 5 lists them.
VM_IDS = {listing.name: listing.vm_id for listing in LISTINGS}

#: Gas limit for a measured step: far above the worst step, far below the block limit.
STEP_TX_GAS = 2_000_000


@dataclass(frozen=True)
class StepGas:
    """What one verified step costs, from a real transaction's receipt (Prague)."""

    post_state_hash: bytes
    # what a calling contract pays: the call frame's gas (in process, from a py-evm message
    # call; elsewhere gasUsed - intrinsic, an upper bound when the receipt is at the floor)
    execution_gas: int
    transaction_gas: int  # the receipt's gasUsed under the pinned Prague fork (floor included)
    calldata_bytes: int  # length of the transaction's calldata
    floor_gas: int  # EIP-7623's least charge for this calldata: 21000 + 10 * tokens


def verifier_artifact(isa: str) -> str:
    """The artifact name of `isa`'s verifier; ValueError naming the known ISAs otherwise."""
    return listing_named(isa).verifier


def vm_name(vm: int) -> str:
    """How a VM id reads in messages: `2 (rv64)`, or `7 (no ISA)`."""
    listing = listing_of_vm(vm)
    return f"{vm} ({listing.name if listing is not None else 'no ISA'})"


def verifier_built(isa: str) -> bool:
    """Whether `isa`'s verifier artifact is in `contracts/build/` (so it can be deployed)."""
    return (BUILD_DIR / f"{verifier_artifact(isa)}.json").is_file()


class Verifier:
    """A deployed step verifier on a `Chain`."""

    def __init__(self, chain: Chain, contract: Any) -> None:
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
        calldata = self.chain.transaction_input(receipt.tx_hash)
        execution = self.chain.call_gas(self.address, calldata)
        return StepGas(
            post_state_hash=post_state_hash,
            execution_gas=(
                receipt.gas_used - Chain.intrinsic_gas(calldata) if execution is None else execution
            ),
            transaction_gas=receipt.gas_used,
            calldata_bytes=len(calldata),
            floor_gas=calldata_floor_gas(calldata),
        )
