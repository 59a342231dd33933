"""Bindings of the on-chain one-step verifiers: `MipsVerifier` (docs/spec.md section 12) and
`RiscvVerifier` (docs/riscv.md section 12), which share one ABI (`step`, `stepFrom`,
`stateHash`) and the same named errors.

Calls (`step`, `step_from`, `state_hash`) are `eth_call`s: free, and what an agent uses to
check a proof before sending it. `measure` sends `stepFrom` as a real transaction to quote
what a step costs on chain. Reverts surface as `ChainError` with the decoded custom error in
`.name` (`WrongPreState`, `MerkleProofInvalid`, ...).

On the in-process chain a call is executed as a py-evm message call of the deployed runtime
code against the head state, without going through web3 and eth-tester: the same bytecode on
the same Cancun VM (the contract is pure, so nothing else can differ), about 30% faster,
which matters to the tests that run thousands of steps. Other chains get a real eth_call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth.exceptions import Revert
from eth_utils import to_canonical_address
from web3.contract import Contract

from arbitration.chain import DEFAULT_TX_GAS, TX_BASE_GAS, Chain, ChainError

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


class Verifier:
    """A deployed `MipsVerifier` on a `Chain` (subclasses name another verifier artifact)."""

    ARTIFACT = "MipsVerifier"

    def __init__(self, chain: Chain, contract: Contract) -> None:
        self.chain = chain
        self.contract = contract

    @property
    def address(self) -> str:
        return self.contract.address

    @classmethod
    def deploy(cls, chain: Chain) -> Verifier:
        return cls(chain, chain.deploy(cls.ARTIFACT))

    @classmethod
    def at(cls, chain: Chain, address: str) -> Verifier:
        return cls(chain, chain.at(cls.ARTIFACT, address))

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
        if self.chain.backend is None:
            return bytes(self.chain.call(self.contract.functions[function](*args)))
        calldata = bytes.fromhex(self.contract.encode_abi(function, list(args))[2:])
        vm = self.chain.backend.chain.get_vm()
        address = to_canonical_address(self.address)
        sender = to_canonical_address(self.chain.default_sender)
        computation = vm.execute_bytecode(
            origin=sender,
            gas_price=0,
            gas=DEFAULT_TX_GAS,
            to=address,
            sender=sender,
            value=0,
            data=calldata,
            code=vm.state.get_code(address),
        )
        if computation.is_error:
            error = computation.error
            if isinstance(error, Revert):
                raise self.chain.errors.to_error(bytes(error.args[0]))
            raise ChainError(f"{function} failed in the VM: {error!r}")
        return bytes(computation.output[:32])

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


class RiscvVerifier(Verifier):
    """A deployed `RiscvVerifier` (RV32 and RV64: the witness's ISA tag selects XLEN)."""

    ARTIFACT = "RiscvVerifier"
