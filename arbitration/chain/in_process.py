"""In-process EVM host for the on-chain verifier contracts.

One small module the arbitration code and the tests share:

* :class:`Chain` wraps web3 8 + ``EthereumTesterProvider(PyEVMBackend(...))``, in process, with
  the EVM fork pinned to **Cancun** (py-evm's ``CancunVM`` from genesis on), matching the
  ``evmVersion`` the contracts are compiled for (``contracts/compile.js``). eth-tester 0.14
  defaults to Prague; we pin explicitly so gas figures do not drift with library upgrades
  (Prague adds the EIP-7623 calldata floor, which would dominate proof-heavy transactions).
* Contracts are loaded from the committed artifacts ``contracts/build/NAME.json``.
* Every transaction is sent with an explicit ``gas`` limit: no ``eth_estimateGas`` (that
  re-executes the transaction and makes each send several times slower).
* Reverts surface as :class:`ChainError`, with custom errors decoded from their 4-byte selector
  against the ABI error entries of every artifact: ``ChainError.name == "MerkleProofInvalid"``,
  ``str(err) == "MerkleProofInvalid(5)"``.

Transactions in process
-----------------------
A transaction on the in-process chain bypasses web3 and eth-tester: :meth:`Chain.transact`
signs it with eth-tester's key for the sender and eth-tester's default fees, and has py-evm
apply and mine it in a block of its own (``MiningChain.mine_all``), exactly what eth-tester's
auto-mining ``eth_sendTransaction`` does, minus web3's request pipeline, eth-tester's
validation and normalisation and the receipt round trip, and with the state root computed
once per block instead of twice. Same transactions, hashes, blocks, receipts and gas as the
web3 path; everything else (calls, ``get_logs``, receipts, snapshots, time travel) keeps going
through web3. A game move costs ~4 ms instead of ~6 ms. :meth:`Chain.get_logs` reads logs from
py-evm's blocks the same way. The fast path steps aside for what it does not model (filters,
locked accounts, auto-mining off, an unknown sender): those transactions take the web3 path.

Gas accounting
--------------
``Receipt.gas_used`` is the receipt's ``gasUsed``: what the sender pays for, i.e. intrinsic cost
(21000 + calldata) + execution - refunds. :meth:`Chain.execution_gas` sends a call as a real
transaction and subtracts the intrinsic cost computed with the Cancun rules (21000 base,
4 gas per zero calldata byte, 16 per non-zero byte (EIP-2028), no access list is sent). What
remains is the gas of executing the call frame: dispatch, ABI decoding, the function body,
memory expansion. The callee address is warm (EIP-2929: the tx ``to`` is pre-warmed), so no
2600 cold-access charge is in it. Refunds (SSTORE clears) are already netted into ``gasUsed``;
for the pure/view functions this is meant for there are none. The EIP-7623 calldata floor
(``max(gasUsed, 21000 + 10 * tokens)``) is a Prague rule and is NOT in force on Cancun, so the
subtraction is exact here; on Prague it would not be.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import version
from pathlib import Path
from typing import Any

from eth.exceptions import Revert
from eth.vm.forks import CancunVM
from eth_abi import decode as abi_decode
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed
from eth_utils import (
    function_signature_to_4byte_selector,
    get_abi_input_types,
    keccak,
    to_bytes,
    to_canonical_address,
    to_checksum_address,
)
from eth_utils.exceptions import ValidationError as EthValidationError
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.base_contract import BaseContractConstructor
from web3.datastructures import AttributeDict
from web3.exceptions import ContractLogicError
from web3.providers.eth_tester import EthereumTesterProvider

# py-evm, web3 and eth-tester hash through eth-hash, whose automatic choice prefers the
# pycryptodome backend; the pysha3 one (safe-pysha3, a dependency) is ~4x faster per hash and
# makes each in-process transaction ~8% cheaper (5.9 -> 5.45 ms median, measured on game
# moves). eth-hash picks its backend at the first hash, so this must precede any (the
# selectors below are the first here); an explicit ETH_HASH_BACKEND is left alone.
os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTRACTS_DIR = REPO_ROOT / "contracts"
BUILD_DIR = CONTRACTS_DIR / "build"
SRC_DIR = CONTRACTS_DIR / "src"

#: The fork every in-process chain runs, from block 0.
EVM_FORK = "cancun"
VM_CONFIGURATION = ((0, CancunVM),)

#: web3 middlewares `Chain.in_process(lean_client=True)` removes (see there).
LEAN_CLIENT_DROPS = ("ens_name_to_address", "validation", "gas_price_strategy")

#: Default gas limit for transactions (the block gas limit is 30,029,122).
DEFAULT_TX_GAS = 10_000_000

#: Fee fields of a transaction the in-process fast path sends: eth-tester's defaults for a
#: transaction without fee fields (which is what web3 hands it), so the fast path and web3's
#: build the same transaction, with the same hash.
IN_PROCESS_FEE_PER_GAS = 10**9
#: eth-tester's coinbase for the blocks it mines.
ZERO_ADDRESS = bytes(20)
#: EthereumTester attributes that, when non-empty, make it do work per transaction that the
#: fast path would skip (feeding filters, checking account locks): the fast path then steps
#: aside. Read with a non-empty default, so a renamed attribute disables the fast path.
_TESTER_PER_TRANSACTION_STATE = (
    "_log_filters",
    "_block_filters",
    "_pending_transaction_filters",
    "_account_passwords",
)

TX_BASE_GAS = 21_000
TX_DATA_ZERO_GAS = 4
TX_DATA_NONZERO_GAS = 16

_ERROR_STRING_SELECTOR = function_signature_to_4byte_selector("Error(string)")
_PANIC_SELECTOR = function_signature_to_4byte_selector("Panic(uint256)")


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class ChainError(Exception):
    """A call or transaction reverted (or failed in the VM).

    Attributes:
        name: decoded error name (``"MerkleProofInvalid"``, ``"Panic"``...), or ``None`` when the
            revert data is empty/unknown or was not reported: VM errors (out of gas, invalid
            opcode, gas below intrinsic) and ``Error(string)`` reverts, whose raw data
            eth-tester does not pass on (it hands over the decoded text only, which ends up in
            ``reason``). ``"Error"`` appears only where a provider does give the raw data.
        error_args: decoded error arguments (a tuple; empty when undecoded). (``args`` is
            Exception's own ``(reason,)``.)
        data: raw revert data, or ``None`` when the backend did not report it.
        reason: human-readable text: ``"MerkleProofInvalid(5)"``, or the backend's message.
        receipt: the failed transaction's :class:`Receipt` (``None`` for calls).
    """

    def __init__(
        self,
        reason: str,
        *,
        name: str | None = None,
        args: tuple = (),
        data: bytes | None = None,
        receipt: Receipt | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.name = name
        self.error_args = args
        self.data = data
        self.receipt = receipt

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class Receipt:
    """The parts of a transaction receipt later code needs, plus the raw web3 receipt."""

    tx_hash: bytes
    status: int
    gas_used: int
    block_number: int
    contract_address: str | None
    logs: tuple = ()
    raw: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any) -> Receipt:
        """From a web3 receipt (the same shape from py-evm and from a JSON-RPC node)."""
        return cls(
            tx_hash=bytes(raw["transactionHash"]),
            status=raw["status"],
            gas_used=raw["gasUsed"],
            block_number=raw["blockNumber"],
            contract_address=raw.get("contractAddress"),
            logs=tuple(raw["logs"]),
            raw=raw,
        )


# --------------------------------------------------------------------------------------------
# Artifacts
# --------------------------------------------------------------------------------------------


def load_artifact(name: str, build_dir: Path = BUILD_DIR) -> dict:
    """Load ``contracts/build/NAME.json`` (written by ``contracts/compile.js``)."""
    path = build_dir / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"no artifact {path}; run `node contracts/compile.js` (see contracts/README.md)"
        )
    return json.loads(path.read_text())


def current_source_hash(src_dir: Path = SRC_DIR) -> str:
    """sha256 of every ``src/**/*.sol`` concatenated in sorted relative-path order.

    Same definition as compile.js; compare with an artifact's ``sourceHash`` to detect stale
    artifacts without node.
    """
    files = sorted(p.relative_to(src_dir).as_posix() for p in src_dir.rglob("*.sol"))
    h = hashlib.sha256()
    for rel in files:
        h.update((src_dir / rel).read_bytes())
    return h.hexdigest()


def _all_error_abis(build_dir: Path = BUILD_DIR) -> list[dict]:
    out = []
    if build_dir.is_dir():
        for p in sorted(build_dir.glob("*.json")):
            try:
                abi = json.loads(p.read_text()).get("abi", [])
            except (OSError, ValueError):
                continue
            out.extend(e for e in abi if e.get("type") == "error")
    return out


def _error_signature(entry: dict) -> str:
    return f"{entry['name']}({','.join(get_abi_input_types(entry))})"


def _fmt_arg(v: Any) -> str:
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt_arg(x) for x in v) + "]"
    return str(v)


class ErrorDecoder:
    """Maps revert data to ``(name, args)`` using ABI ``error`` entries."""

    def __init__(self, error_abis: list[dict]) -> None:
        self._by_selector: dict[bytes, tuple[str, list[str]]] = {}
        for e in error_abis:
            self.add(e)

    def add(self, entry: dict) -> None:
        sig = _error_signature(entry)
        self._by_selector.setdefault(
            function_signature_to_4byte_selector(sig), (entry["name"], get_abi_input_types(entry))
        )

    def decode(self, data: bytes) -> tuple[str | None, tuple]:
        if len(data) < 4:
            return None, ()
        sel, body = data[:4], data[4:]
        if sel == _ERROR_STRING_SELECTOR:
            name, types = "Error", ["string"]
        elif sel == _PANIC_SELECTOR:
            name, types = "Panic", ["uint256"]
        elif sel in self._by_selector:
            name, types = self._by_selector[sel]
        else:
            return None, ()
        try:
            return name, tuple(abi_decode(types, body))
        except Exception:  # malformed arguments: keep the name, drop the args
            return name, ()

    def to_error(self, data: bytes, receipt: Receipt | None = None) -> ChainError:
        name, args = self.decode(data)
        if name is not None:
            reason = f"{name}({', '.join(_fmt_arg(a) for a in args)})"
        elif data:
            reason = f"execution reverted with unknown data 0x{data.hex()}"
        else:
            reason = "execution reverted without data"
        return ChainError(reason, name=name, args=args, data=data, receipt=receipt)


_REVERT_PREFIX = "execution reverted: "


def _revert_data_from_exception(exc: Exception) -> tuple[bytes | None, str]:
    """Dig the raw revert data out of what web3 8 + eth-tester 0.14 raise.

    * ``ContractLogicError`` and subclasses (``ContractCustomError``, ``ContractPanicError``)
      carry ``.data`` as a hex string (web3 maps Panic this way for eth-tester).
    * For everything else the eth-tester provider re-raises eth-tester's own
      ``TransactionFailed("execution reverted: <reason>")``, where ``<reason>`` is ``repr()`` of
      the raw revert bytes (``b'\\x03\\x1e...'``; it round-trips through ``ast.literal_eval``),
      or the already-decoded ``Error(string)`` text, or a py-evm VM error message.
    Returns ``(data or None, message)``.
    """
    if isinstance(exc, ContractLogicError):
        data = exc.data
        if isinstance(data, str) and data.startswith("0x"):
            return to_bytes(hexstr=data), str(exc.message)
        return None, str(exc.message or exc)
    msg = str(exc.args[0]) if exc.args else str(exc)
    text = msg[len(_REVERT_PREFIX) :] if msg.startswith(_REVERT_PREFIX) else msg
    if text.startswith(("b'", 'b"')):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = None
        if isinstance(value, bytes):
            return value, msg
    return None, msg


# --------------------------------------------------------------------------------------------
# Chain
# --------------------------------------------------------------------------------------------


class Chain:
    """An in-process Cancun chain with funded accounts and artifact-based deployment."""

    def __init__(self, w3: Web3, backend: PyEVMBackend | None = None) -> None:
        self.w3 = w3
        self.backend = backend
        self.last_receipt: Receipt | None = None

    @classmethod
    def in_process(
        cls,
        num_accounts: int = 10,
        genesis_timestamp: int | None = None,
        lean_client: bool = False,
    ) -> Chain:
        """Fresh chain: py-evm CancunVM from genesis, ``num_accounts`` accounts funded with
        1,000,000 ether each, auto-mining one block per transaction.

        Block timestamps are ``max(wall clock, parent + 1)`` (py-evm). A ``genesis_timestamp``
        ahead of the wall clock makes every block exactly one second after its parent (unless
        :meth:`advance_time` says otherwise): chain time becomes a pure function of the
        transactions sent, which is what reproducible game reports need.

        ``lean_client`` drops the web3 client middlewares that have nothing to do in process:
        ENS name resolution, the chain-id validation (an ``eth_chainId`` request per
        transaction) and the gas price strategy (none is set). That took ~1 ms off each
        transaction sent through web3 (7.4 -> 6.3 ms median on bisect/respond); transactions
        now bypass web3 in process (see the module notes), so it is left to the other
        requests. Gas estimation for a transaction without ``gas`` stays."""
        genesis_state = PyEVMBackend.generate_genesis_state(num_accounts=num_accounts)
        genesis_parameters = None
        if genesis_timestamp is not None:
            genesis_parameters = PyEVMBackend.generate_genesis_params(
                overrides={"timestamp": genesis_timestamp}
            )
        backend = PyEVMBackend(
            genesis_parameters=genesis_parameters,
            genesis_state=genesis_state,
            vm_configuration=VM_CONFIGURATION,
        )
        w3 = Web3(EthereumTesterProvider(EthereumTester(backend)))
        if lean_client:
            for name in LEAN_CLIENT_DROPS:
                w3.middleware_onion.remove(name)
        chain = cls(w3, backend)
        vm = backend.chain.get_vm()
        if not isinstance(vm, CancunVM) or type(vm).fork != EVM_FORK:
            raise RuntimeError(f"expected a Cancun VM, got {type(vm).__name__}")
        return chain

    # ---- accounts / state ------------------------------------------------------------------

    @cached_property
    def accounts(self) -> list[str]:
        return list(self.w3.eth.accounts)

    @property
    def default_sender(self) -> str:
        return self.accounts[0]

    @property
    def fork(self) -> str:
        return type(self.backend.chain.get_vm()).fork if self.backend else EVM_FORK

    @property
    def description(self) -> str:
        """What ran the game, for reports: "py-evm 0.12.1b1 (cancun, in process)"; a
        JSON-RPC chain names its node instead (`arbitration.rpc.RpcChain.description`)."""
        if self.backend is not None:
            return f"py-evm {version('py-evm')} ({self.fork}, in process)"
        return f"{self.w3.client_version} (JSON-RPC)"

    def snapshot(self) -> int:
        """Snapshot of the chain head; ``revert(id)`` rolls state and blocks back to it."""
        return self.w3.provider.ethereum_tester.take_snapshot()

    def revert(self, snapshot_id: int) -> None:
        self.w3.provider.ethereum_tester.revert_to_snapshot(snapshot_id)

    # ---- time ------------------------------------------------------------------------------

    def now(self) -> int:
        """The latest block's timestamp: what ``block.timestamp`` read in a call shows."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def advance_time(self, seconds: int) -> None:
        """Let at least ``seconds`` of chain time pass: the next transaction's block has a
        timestamp >= ``now() + seconds`` (game clocks and timeouts are block.timestamp based).

        In process: eth-tester's ``time_travel`` mines one empty block at the target - 1, so the
        next block lands exactly on the target. (Over JSON-RPC this is ``evm_increaseTime`` +
        ``evm_mine``.) A no-op when chain time is already past the target."""
        if seconds <= 0:
            return
        tester = self.w3.provider.ethereum_tester
        target = self.now() + seconds
        if target <= tester.get_block_by_number("pending")["timestamp"]:
            return
        if self._direct_sender(self.default_sender) is None:
            tester.time_travel(target)
            return
        # What eth-tester's time_travel does, with the derived PREVRANDAO of the fast path, so
        # that the blocks after a time travel repeat too.
        pyevm = self.backend.chain
        pyevm.header = pyevm.header.copy(timestamp=target - 1)
        pyevm.mine_block(coinbase=ZERO_ADDRESS, mix_hash=_prevrandao(pyevm))

    # ---- errors ----------------------------------------------------------------------------

    @cached_property
    def errors(self) -> ErrorDecoder:
        """Decoder over the error entries of all artifacts in contracts/build (plus ABIs of
        contracts deployed/attached through this chain, registered as they come)."""
        return ErrorDecoder(_all_error_abis())

    def _register_abi(self, abi: list) -> None:
        for e in abi:
            if e.get("type") == "error":
                self.errors.add(e)

    def _error_from_exception(self, exc: Exception, receipt: Receipt | None = None) -> ChainError:
        data, msg = _revert_data_from_exception(exc)
        if data is not None:
            return self.errors.to_error(data, receipt)
        text = msg[len(_REVERT_PREFIX) :] if msg.startswith(_REVERT_PREFIX) else msg
        return ChainError(text or "execution reverted", receipt=receipt)

    # ---- contracts -------------------------------------------------------------------------

    def contract_factory(self, artifact_name: str) -> type[Contract]:
        """web3's contract class of an artifact, loaded once per chain: building one from the
        ABI costs ~1 ms, and agents attach to the same few contracts again and again."""
        factory = self._contract_classes.get(artifact_name)
        if factory is None:
            art = load_artifact(artifact_name)
            self._register_abi(art["abi"])
            factory = self.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
            self._contract_classes[artifact_name] = factory
        return factory

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
        try:
            return fn_call.call(self._tx_params(sender, gas, value), block_identifier=block)
        except (TransactionFailed, ContractLogicError) as exc:
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

        In process, the transaction goes straight to py-evm (:meth:`_transact_in_process`);
        otherwise through web3's ``eth_sendTransaction``, the failure's reason recovered by
        replaying the call on the block's state.
        """
        if gas is None:
            raise ValueError("transact() needs an explicit gas limit")
        if self._direct_sender(sender or self.default_sender) is not None:
            return self._transact_in_process(fn_call, sender or self.default_sender, gas, value)
        params = self._tx_params(sender, gas, value)
        try:
            tx_hash = fn_call.transact(params)
        except (TransactionFailed, ContractLogicError) as exc:  # rejected before inclusion
            raise self._error_from_exception(exc) from exc
        except EthValidationError as exc:  # e.g. gas below intrinsic cost, over block limit
            raise ChainError(f"invalid transaction: {exc}") from exc
        receipt = Receipt.from_raw(self.w3.eth.get_transaction_receipt(tx_hash))
        self.last_receipt = receipt
        if receipt.status != 1:
            raise self._replay_failure(tx_hash, receipt)
        return receipt

    # ---- the in-process fast path ----------------------------------------------------------

    def _direct_sender(self, sender: str) -> Any:
        """The signing key of `sender` when a transaction from it can bypass web3 and
        eth-tester, else None.

        The fast path does what eth-tester's auto-mining ``send_transaction`` does to py-evm
        (sign a dynamic-fee transaction with eth-tester's default fees, apply it, mine it into
        its own block with a zero coinbase; the ``mix_hash`` is derived from the block number
        where eth-tester draws a random one) and nothing else, so it applies only where
        eth-tester would do nothing else either: auto-mining on, no filters to feed, no locked
        accounts, a sender whose key the backend holds."""
        if self.backend is None:
            return None
        tester = getattr(self.w3.provider, "ethereum_tester", None)
        if tester is None or tester.backend is not self.backend:
            return None
        if not tester.auto_mine_transactions or any(
            getattr(tester, name, True) for name in _TESTER_PER_TRANSACTION_STATE
        ):
            return None
        address = to_canonical_address(sender)
        keys = self._signing_keys
        if address not in keys or len(keys) != len(self.backend.account_keys):
            keys.clear()  # accounts added since: look again
            keys.update(
                (key.public_key.to_canonical_address(), key) for key in self.backend.account_keys
            )
        return keys.get(address)

    @cached_property
    def _signing_keys(self) -> dict[bytes, Any]:
        return {}

    @cached_property
    def _nonces(self) -> dict[bytes, int]:
        """Next nonces of senders, valid on top of the block `_nonces_head`: reading one from
        state costs a trie lookup (~0.1 ms). A block of the fast path changes one sender's
        nonce (its own), which it updates here; any other change of the head (a transaction
        sent through web3, mined time travel, a snapshot revert) empties the cache."""
        return {}

    _nonces_head: bytes = b""

    def _nonce_in_process(self, origin: bytes) -> int:
        pyevm = self.backend.chain
        head = pyevm.header.parent_hash  # the pending block's parent: the latest block
        if head != self._nonces_head:
            self._nonces.clear()
            self._nonces_head = head
        nonce = self._nonces.get(origin)
        return pyevm.get_vm().state.get_nonce(origin) if nonce is None else nonce

    def _transact_in_process(self, fn_call: Any, sender: str, gas: int, value: int) -> Receipt:
        """Sign, apply and mine one transaction on py-evm directly, skipping web3's request
        pipeline, eth-tester's validation and normalisation layers and the receipt round trip
        (about 40% of a game move's time, measured), and mining with py-evm's ``mine_all``,
        which computes the state root once per block instead of once when applying and again
        when mining. The chain ends up as eth-tester leaves it (same blocks, receipts and
        transaction hashes), so every web3 call keeps working. A revert's reason is the
        transaction's own revert data: no replay."""
        to, data = call_target(fn_call)
        pyevm = self.backend.chain
        origin = to_canonical_address(sender)
        nonce = self._nonce_in_process(origin)
        unsigned = pyevm.get_transaction_builder().new_unsigned_dynamic_fee_transaction(
            chain_id=pyevm.chain_id,
            nonce=nonce,
            max_priority_fee_per_gas=IN_PROCESS_FEE_PER_GAS,
            max_fee_per_gas=IN_PROCESS_FEE_PER_GAS,
            gas=gas,
            to=to_canonical_address(to) if to else b"",
            value=value,
            data=data,
            access_list=(),
        )
        transaction = unsigned.as_signed_transaction(self._direct_sender(sender))
        try:
            result, receipts, computations = pyevm.mine_all(
                [transaction], coinbase=ZERO_ADDRESS, mix_hash=_prevrandao(pyevm)
            )
        except EthValidationError as exc:  # e.g. gas below intrinsic cost, over block limit
            raise ChainError(f"invalid transaction: {exc}") from exc
        computation = computations[0]
        block = result.imported_block
        self._nonces[origin] = nonce + 1
        self._nonces_head = block.hash
        receipt = _receipt_in_process(transaction, block, receipts[0], computation)
        self.last_receipt = receipt
        if computation.is_error:
            raise self._failure_in_process(computation.error, receipt)
        return receipt

    def _failure_in_process(self, error: Exception, receipt: Receipt) -> ChainError:
        """The ChainError the web3 path raises for the same failure (its replay goes through
        eth-tester, which hands over an ``Error(string)`` revert as its text alone)."""
        if not isinstance(error, Revert):  # out of gas, invalid opcode...
            return ChainError(str(error) or "execution failed", receipt=receipt)
        data = bytes(error.args[0]) if error.args else b""
        if data[:4] == _ERROR_STRING_SELECTOR:
            _, args = self.errors.decode(data)
            return ChainError(str(args[0]) if args else "execution reverted", receipt=receipt)
        return self.errors.to_error(data, receipt)

    def _replay_failure(self, tx_hash: Any, receipt: Receipt) -> ChainError:
        tx = self.w3.eth.get_transaction(tx_hash)
        call = {"from": tx["from"], "gas": tx["gas"], "value": tx["value"], "data": tx["input"]}
        if tx.get("to"):
            call["to"] = tx["to"]
        # Replay on the failed transaction's own block first: a call there runs with that
        # block's timestamp and number, so time-dependent reverts (a game clock that expired in
        # this very block) reproduce with their exact arguments; its state differs from the one
        # the transaction ran on by the failed transaction's nonce and fee alone (one
        # transaction per block). The parent state is the fallback.
        for block in (receipt.block_number, receipt.block_number - 1):
            try:
                self.w3.eth.call(call, block_identifier=block)
            except (TransactionFailed, ContractLogicError) as exc:
                return self._error_from_exception(exc, receipt)
        return ChainError(
            "transaction failed (replay on the parent state succeeded; reason unknown)",
            receipt=receipt,
        )

    # ---- logs ------------------------------------------------------------------------------

    def get_logs(self, address: str, from_block: int, to_block: int | str = "latest") -> list:
        """The logs of contract `address` in blocks `from_block` to `to_block` (a number or
        ``"latest"``), as web3's ``eth.get_logs`` returns them; a range past the head ends at
        the head (a watcher asks "from the next block on", which may not exist yet).

        In process they are read from py-evm's blocks directly: ~10x faster than through web3
        and eth-tester, which serialise, validate and normalise every block and receipt in the
        range on the way, and a game agent asks once per decision. Otherwise (and for other
        block tags) this is ``eth_getLogs``."""
        if self.backend is None or not (isinstance(to_block, int) or to_block == "latest"):
            if from_block > self.w3.eth.block_number:
                return []  # py-evm answers such a range so, anvil with BlockOutOfRangeError
            query = {"address": address, "fromBlock": from_block, "toBlock": to_block}
            return list(self.w3.eth.get_logs(query))
        pyevm = self.backend.chain
        last = pyevm.get_canonical_head().block_number
        if isinstance(to_block, int):
            last = min(last, to_block)
        wanted = to_canonical_address(address)
        logs: list = []
        for number in range(max(from_block, 0), last + 1):
            block = pyevm.get_canonical_block_by_number(number)
            receipts = block.get_receipts(pyevm.chaindb)
            for index, (transaction, receipt) in enumerate(
                zip(block.transactions, receipts, strict=True)
            ):
                logs.extend(_log_entries(block, transaction, index, receipt, wanted))
        return logs

    # ---- gas -------------------------------------------------------------------------------

    @staticmethod
    def intrinsic_gas(calldata: bytes) -> int:
        """Cancun intrinsic gas of a message-call tx without access list:
        21000 + 4 per zero calldata byte + 16 per non-zero byte."""
        zeros = calldata.count(0)
        nonzeros = len(calldata) - zeros
        return TX_BASE_GAS + TX_DATA_ZERO_GAS * zeros + TX_DATA_NONZERO_GAS * nonzeros

    def execution_gas(
        self, fn_call: Any, sender: str | None = None, *, gas: int = DEFAULT_TX_GAS
    ) -> int:
        """Execution gas of a call, excluding the 21000 base and calldata costs.

        Sends ``fn_call`` as a real transaction (state changes, if any, are committed) and
        returns ``gasUsed - intrinsic_gas(calldata)``. Exact on Cancun (see module docstring:
        no EIP-7623 floor). Raises :class:`ChainError` if it reverts.
        """
        receipt = self.transact(fn_call, sender=sender, gas=gas)
        calldata = bytes(self.w3.eth.get_transaction(receipt.tx_hash)["input"])
        return receipt.gas_used - self.intrinsic_gas(calldata)


# --------------------------------------------------------------------------------------------
# Helpers of the transaction paths
# --------------------------------------------------------------------------------------------


def call_target(fn_call: Any) -> tuple[str | None, bytes]:
    """(to, calldata) of what `Chain.transact` accepts: a bound web3 contract function, a
    constructor, or a pre-encoded call with `to` and `data` (`arbitration.game`'s moves)."""
    if isinstance(fn_call, BaseContractConstructor):
        return None, to_bytes(hexstr=fn_call.data_in_transaction)
    if isinstance(getattr(fn_call, "data", None), bytes):
        return fn_call.to, fn_call.data
    return fn_call.address, to_bytes(hexstr=fn_call._encode_transaction_data())


def _log_entries(
    block: Any, transaction: Any, transaction_index: int, receipt: Any, address: bytes | None
) -> list[AttributeDict]:
    """One receipt's logs (those of contract `address`, or all) as web3 returns them from
    eth-tester, key for key: log indices count within the receipt, as eth-tester's do."""
    return [
        AttributeDict(
            {
                "type": "mined",
                "logIndex": index,
                "transactionIndex": transaction_index,
                "transactionHash": HexBytes(transaction.hash),
                "blockHash": HexBytes(block.hash),
                "blockNumber": block.number,
                "address": to_checksum_address(log.address),
                "data": HexBytes(log.data),
                "topics": [HexBytes(topic.to_bytes(32, "big")) for topic in log.topics],
            }
        )
        for index, log in enumerate(receipt.logs)
        if address is None or log.address == address
    ]


def _prevrandao(pyevm: Any) -> bytes:
    """The next block's mix hash (PREVRANDAO): derived from its number, not random as
    eth-tester's, so that a simulation's blocks, and their hashes, repeat exactly."""
    number = pyevm.get_canonical_head().block_number + 1
    return keccak(b"flexemu prevrandao" + number.to_bytes(8, "big"))


def _receipt_in_process(transaction: Any, block: Any, receipt: Any, computation: Any) -> Receipt:
    """A :class:`Receipt` from py-evm's own objects, with logs in the shape web3 gives them
    (what :meth:`Receipt.from_raw` keeps): the fast path's transaction is its block's only one,
    so the receipt's cumulative gas is the transaction's."""
    created = not transaction.to and computation.is_success
    return Receipt(
        tx_hash=bytes(transaction.hash),
        status=0 if computation.is_error else 1,
        gas_used=receipt.gas_used,
        block_number=block.number,
        contract_address=to_checksum_address(computation.msg.storage_address) if created else None,
        logs=tuple(_log_entries(block, transaction, 0, receipt, None)),
    )
