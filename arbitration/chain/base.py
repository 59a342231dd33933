"""The `Chain` surface every backend offers, over web3 and only what a JSON-RPC node also
serves: accounts, artifact-based deployment, calls, transactions with an explicit gas limit,
logs, and gas accounting.

* Contracts are loaded from the committed artifacts ``contracts/build/NAME.json``.
* Every transaction is sent with an explicit ``gas`` limit: no ``eth_estimateGas`` (that
  re-executes the transaction and makes each send several times slower).
* Reverts surface as :class:`ChainError` (`arbitration.chain.errors`).

Backends: `arbitration.chain.in_process.InProcessChain` (py-evm, with a fast path past web3)
and `arbitration.chain.rpc.RpcChain` (any node). Time (`now`, `advance_time`) and snapshots
are theirs.

Gas accounting
--------------
``Receipt.gas_used`` is the receipt's ``gasUsed``: what the sender pays for, i.e. intrinsic cost
(21000 + calldata) + execution - refunds. :meth:`Chain.execution_gas` sends a call as a real
transaction and subtracts the intrinsic cost (21000 base, 4 gas per zero calldata byte, 16
per non-zero byte (EIP-2028), no access list is sent; the same on Cancun and Prague). What
remains is the gas of executing the call frame: dispatch, ABI decoding, the function body,
memory expansion. The callee address is warm (EIP-2929: the tx ``to`` is pre-warmed), so no
2600 cold-access charge is in it. Refunds (SSTORE clears) are already netted into ``gasUsed``;
for the pure/view functions this is meant for there are none. The EIP-7623 calldata floor
(``max(gasUsed, 21000 + 10 * tokens)``, tokens = zero bytes + 4 * non-zero bytes) is a Prague
rule in force in process: when a receipt's ``gasUsed`` is the floor, the execution gas is not
visible in it, and ``execution_gas`` raises instead of returning a wrong number.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from arbitration.chain.artifacts import EVM_FORK, all_error_abis, load_artifact
from arbitration.chain.errors import (
    ERROR_STRING_SELECTOR,
    REVERT_PREFIX,
    ChainError,
    ErrorDecoder,
    revert_data_from_exception,
)
from arbitration.chain.hexdata import hex_to_bytes
from arbitration.chain.receipt import Receipt

if TYPE_CHECKING:
    from web3 import Web3
    from web3.contract import Contract

#: Default gas limit for transactions (the block gas limit is 30,029,122).
DEFAULT_TX_GAS = 10_000_000

TX_BASE_GAS = 21_000
TX_DATA_ZERO_GAS = 4
TX_DATA_NONZERO_GAS = 16
FLOOR_GAS_PER_TOKEN = 10  # EIP-7623


class Chain:
    """Accounts, contracts, calls, transactions and logs on one chain, through web3.

    web3 and eth-tester are imported where a method first needs them, not with this module:
    the in-process chain serves its common paths without either (see there)."""

    #: The py-evm backend of an in-process chain (eth-tester's, attached on first use); None
    #: for a node.
    backend: Any = None

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.last_receipt: Receipt | None = None

    # ---- accounts / state ------------------------------------------------------------------

    @cached_property
    def accounts(self) -> list[str]:
        return list(self.w3.eth.accounts)

    @property
    def default_sender(self) -> str:
        return self.accounts[0]

    @property
    def fork(self) -> str:
        return EVM_FORK

    @property
    def description(self) -> str:
        """What ran the game, for reports; each backend names itself (py-evm in process, the
        node's client over JSON-RPC)."""
        return f"{self.w3.client_version} (JSON-RPC)"

    def snapshot(self) -> int:
        """Snapshot of the chain head; ``revert(id)`` rolls state and blocks back to it."""
        raise NotImplementedError

    def revert(self, snapshot_id: int) -> None:
        raise NotImplementedError

    # ---- time ------------------------------------------------------------------------------

    def now(self) -> int:
        """The latest block's timestamp: what ``block.timestamp`` read in a call shows."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def block_number(self) -> int:
        """The latest block's number."""
        return int(self.w3.eth.block_number)

    def block_timestamp(self, number: int) -> int:
        """Block `number`'s timestamp."""
        return int(self.w3.eth.get_block(number)["timestamp"])

    def transaction_input(self, tx_hash: bytes) -> bytes:
        """The calldata a mined transaction carried."""
        return bytes(self.w3.eth.get_transaction(tx_hash)["input"])

    def advance_time(self, seconds: int) -> None:
        """Let at least ``seconds`` of chain time pass: the next transaction's block has a
        timestamp >= ``now() + seconds`` (game clocks and timeouts are block.timestamp based)."""
        raise NotImplementedError

    # ---- errors ----------------------------------------------------------------------------

    @cached_property
    def errors(self) -> ErrorDecoder:
        """Decoder over the error entries of all artifacts in contracts/build (plus ABIs of
        contracts deployed/attached through this chain, registered as they come)."""
        return ErrorDecoder(all_error_abis())

    def _register_abi(self, abi: list) -> None:
        for e in abi:
            if e.get("type") == "error":
                self.errors.add(e)

    def _error_from_exception(self, exc: Exception, receipt: Receipt | None = None) -> ChainError:
        data, msg = revert_data_from_exception(exc)
        if data is not None:
            return self.errors.to_error(data, receipt)
        text = msg[len(REVERT_PREFIX) :] if msg.startswith(REVERT_PREFIX) else msg
        return ChainError(text or "execution reverted", receipt=receipt)

    def _revert_failure(self, data: bytes, receipt: Receipt | None) -> ChainError:
        """The ChainError of a transaction's own revert data, as the web3 path raises it (its
        replay goes through eth-tester, which hands over an ``Error(string)`` revert as its
        text alone)."""
        if data[:4] == ERROR_STRING_SELECTOR:
            _, args = self.errors.decode(data)
            return ChainError(str(args[0]) if args else "execution reverted", receipt=receipt)
        return self.errors.to_error(data, receipt)

    # ---- contracts -------------------------------------------------------------------------

    def contract_factory(self, artifact_name: str) -> type[Contract]:
        """The contract class of an artifact (web3's here, an ABI-only one in process), loaded
        once per chain: building one from the ABI costs ~1 ms, and agents attach to the same
        few contracts again and again."""
        factory = self._contract_classes.get(artifact_name)
        if factory is None:
            art = load_artifact(artifact_name)
            self._register_abi(art["abi"])
            factory = self._contract_class(art["abi"], art["bytecode"])
            self._contract_classes[artifact_name] = factory
        return factory

    def _contract_class(self, abi: list, bytecode: str) -> Any:
        return self.w3.eth.contract(abi=abi, bytecode=bytecode)

    def at(self, artifact_name: str, address: str) -> Contract:
        """A handle on an already deployed contract (one per artifact and address: a handle
        holds no state beyond its address, and making one costs ~1 ms)."""
        handle = self._contracts.get((artifact_name, address))
        if handle is None:
            handle = self.contract_factory(artifact_name)(address=address)
            self._contracts[(artifact_name, address)] = handle
        return handle

    @cached_property
    def _contract_classes(self) -> dict[str, type[Contract]]:
        return {}

    @cached_property
    def _contracts(self) -> dict[tuple[str, str], Contract]:
        return {}

    def deploy(
        self, artifact_name: str, *args: Any, sender: str | None = None, gas: int = DEFAULT_TX_GAS
    ) -> Contract:
        """Deploy ``contracts/build/NAME.json``; the receipt is left in ``last_receipt``."""
        factory = self.contract_factory(artifact_name)
        receipt = self.transact(factory.constructor(*args), sender=sender, gas=gas)
        if not receipt.contract_address:
            raise ChainError(f"deploying {artifact_name} created no contract", receipt=receipt)
        return self.at(artifact_name, receipt.contract_address)

    # ---- calls and transactions ------------------------------------------------------------

    def _tx_params(self, sender: str | None, gas: int | None, value: int) -> dict:
        params: dict[str, Any] = {"from": sender or self.default_sender, "value": value}
        if gas is not None:
            params["gas"] = gas
        return params

    def call(
        self,
        fn_call: Any,
        sender: str | None = None,
        *,
        gas: int | None = None,
        value: int = 0,
        block: str | int = "latest",
    ) -> Any:
        """Run a view/pure (or any) function call without a transaction; returns the decoded
        result. Raises :class:`ChainError` on revert."""
        reverted = _web3_failures()
        from eth_utils.exceptions import ValidationError as EthValidationError  # web3's path

        try:
            return fn_call.call(self._tx_params(sender, gas, value), block_identifier=block)
        except reverted as exc:
            raise self._error_from_exception(exc) from exc
        except EthValidationError as exc:  # e.g. gas below the intrinsic cost
            raise ChainError(f"invalid call: {exc}") from exc

    def transact(
        self, fn_call: Any, sender: str | None = None, *, gas: int = DEFAULT_TX_GAS, value: int = 0
    ) -> Receipt:
        """Send ``fn_call`` (a bound contract function, a constructor, or a pre-encoded call
        with ``to`` and ``data``) as a transaction with an explicit gas limit (never estimated)
        and return its :class:`Receipt`.

        A failed transaction (status 0) raises :class:`ChainError` with the receipt attached.

        Here through web3's ``eth_sendTransaction``, the failure's reason recovered by
        replaying the call on the block's state; the backends send their own way.
        """
        if gas is None:
            raise ValueError("transact() needs an explicit gas limit")
        params = self._tx_params(sender, gas, value)
        reverted = _web3_failures()
        from eth_utils.exceptions import ValidationError as EthValidationError  # web3's path

        try:
            tx_hash = fn_call.transact(params)
        except reverted as exc:  # rejected before inclusion
            raise self._error_from_exception(exc) from exc
        except EthValidationError as exc:  # e.g. gas below intrinsic cost, over block limit
            raise ChainError(f"invalid transaction: {exc}") from exc
        receipt = Receipt.from_raw(self.w3.eth.get_transaction_receipt(tx_hash))
        self.last_receipt = receipt
        if receipt.status != 1:
            raise self._replay_failure(tx_hash, receipt)
        return receipt

    def _replay_failure(self, tx_hash: Any, receipt: Receipt) -> ChainError:
        tx = self.w3.eth.get_transaction(tx_hash)
        call = {"from": tx["from"], "gas": tx["gas"], "value": tx["value"], "data": tx["input"]}
        if tx.get("to"):
            call["to"] = tx["to"]
        reverted = _web3_failures()
        # Replay on the failed transaction's own block first: a call there runs with that
        # block's timestamp and number, so time-dependent reverts (a game clock that expired in
        # this very block) reproduce with their exact arguments; its state differs from the one
        # the transaction ran on by the failed transaction's nonce and fee alone (one
        # transaction per block). The parent state is the fallback.
        for block in (receipt.block_number, receipt.block_number - 1):
            try:
                self.w3.eth.call(call, block_identifier=block)
            except reverted as exc:
                return self._error_from_exception(exc, receipt)
        return ChainError(
            "transaction failed (replay on the parent state succeeded; reason unknown)",
            receipt=receipt,
        )

    # ---- logs ------------------------------------------------------------------------------

    def get_logs(self, address: str, from_block: int, to_block: int | str = "latest") -> list:
        """The logs of contract `address` in blocks `from_block` to `to_block` (a number or
        ``"latest"``), as web3's ``eth.get_logs`` returns them; a range past the head ends at
        the head (a watcher asks "from the next block on", which may not exist yet)."""
        if from_block > self.w3.eth.block_number:
            return []  # py-evm answers such a range so, anvil with BlockOutOfRangeError
        query = {"address": address, "fromBlock": from_block, "toBlock": to_block}
        return list(self.w3.eth.get_logs(query))

    # ---- pure calls ------------------------------------------------------------------------

    def raw_call(self, to: str, data: bytes) -> bytes:
        """The return data of an ``eth_call`` of `data` to `to` from the default sender
        (ChainError on revert): for pure functions called thousands of times, which a backend
        may run more directly."""
        call = {"from": self.default_sender, "to": to, "data": data}
        reverted = _web3_failures()
        try:
            return bytes(self.w3.eth.call(call))
        except reverted as exc:
            raise self._error_from_exception(exc) from exc

    # ---- gas -------------------------------------------------------------------------------

    def call_gas(self, to: str, data: bytes) -> int | None:
        """The execution gas of a call where the chain can tell it apart from a receipt (in
        process: a py-evm message call); None here."""
        return None

    @staticmethod
    def intrinsic_gas(calldata: bytes) -> int:
        """Intrinsic gas of a message-call tx without access list (Cancun and Prague):
        21000 + 4 per zero calldata byte + 16 per non-zero byte."""
        zeros = calldata.count(0)
        nonzeros = len(calldata) - zeros
        return TX_BASE_GAS + TX_DATA_ZERO_GAS * zeros + TX_DATA_NONZERO_GAS * nonzeros

    def execution_gas(
        self, fn_call: Any, sender: str | None = None, *, gas: int = DEFAULT_TX_GAS
    ) -> int:
        """Execution gas of a call, excluding the 21000 base and calldata costs.

        Sends ``fn_call`` as a real transaction (state changes, if any, are committed) and
        returns ``gasUsed - intrinsic_gas(calldata)``. Raises :class:`ChainError` if it
        reverts, and ValueError when the receipt is at the EIP-7623 floor (see the module
        notes: the execution gas is then hidden under it).
        """
        receipt = self.transact(fn_call, sender=sender, gas=gas)
        calldata = self.transaction_input(receipt.tx_hash)
        if receipt.gas_used == calldata_floor_gas(calldata):
            raise ValueError("gasUsed is the EIP-7623 calldata floor: execution gas not visible")
        return receipt.gas_used - self.intrinsic_gas(calldata)


def calldata_floor_gas(calldata: bytes) -> int:
    """EIP-7623 (Prague): the least gas a transaction with this calldata pays,
    21000 + 10 per token, a zero byte 1 token and a non-zero byte 4."""
    zeros = calldata.count(0)
    return TX_BASE_GAS + FLOOR_GAS_PER_TOKEN * (zeros + 4 * (len(calldata) - zeros))


def prague_gas_used(cancun_gas_used: int, calldata: bytes, gas_limit: int) -> int:
    """The gas a transaction pays under Prague, from what it paid under Cancun rules.

    EIP-7623 (Prague) is the only Prague transaction rule our transactions meet (no
    EIP-7702 authorisations, no blobs, no requests): a transaction pays at least
    ``21000 + 10 * tokens`` (a zero calldata byte 1 token, any other 4), whatever its
    execution and refunds, and a contract creation's 32,000 and initcode word costs are not
    in that floor; a transaction whose gas limit is below the floor is invalid (ValueError),
    which rejects it before it runs.

    Why here: pyrevm's "Prague" spec applies none of it (the revm host runs Cancun and adds
    this), and py-evm 0.12.1b1 applies the floor but not the validity rule (it mines such a
    transaction and charges it more than its limit), so both in-process hosts check it."""
    floor = calldata_floor_gas(calldata)
    if gas_limit < floor:
        raise ValueError(f"gas limit {gas_limit} is below the EIP-7623 calldata floor {floor}")
    return max(cancun_gas_used, floor)


def call_target(fn_call: Any) -> tuple[str | None, bytes]:
    """(to, calldata) of what `Chain.transact` accepts: a bound web3 contract function, a
    constructor, or a pre-encoded call with `to` and `data` (the moves of
    `arbitration.contracts.game`)."""
    if isinstance(getattr(fn_call, "data", None), bytes):
        return fn_call.to, fn_call.data
    from web3.contract.base_contract import BaseContractConstructor

    if isinstance(fn_call, BaseContractConstructor):
        return None, hex_to_bytes(fn_call.data_in_transaction)
    return fn_call.address, hex_to_bytes(fn_call._encode_transaction_data())


def _web3_failures() -> tuple[type[Exception], ...]:
    """The exceptions a web3 call or transaction over eth-tester raises for a revert; imported
    here, on the web3 path, so that importing this module loads neither library."""
    from eth_tester.exceptions import TransactionFailed
    from web3.exceptions import ContractLogicError

    return TransactionFailed, ContractLogicError
