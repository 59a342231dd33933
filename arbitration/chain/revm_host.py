"""An opt-in fast in-process chain: revm (through pyrevm) executes, Python keeps the world.

`flexemu-game simulate --chain revm`. py-evm stays the default host: this one exists for
sweeps of thousands of games and as a second EVM that must agree with py-evm gas for gas
(tests/test_chain_revm.py plays shipped scenarios on both and compares the reports).

What it models, and how
-----------------------
* **The same chain as** `InProcessChain.fresh`: eth-tester's accounts (keys 1..n, 1,000,000
  ether each), chain id, block gas limit; one block per transaction, each one second after
  its parent when the genesis is in the future (else ``max(wall clock, parent + 1)``, as
  py-evm); `advance_time` mines one empty block at the target - 1, as eth-tester's time
  travel. Block numbers, timestamps, contract addresses and transaction hashes (the same
  signed type-2 transaction: `arbitration.chain.typed_transaction`) are therefore py-evm's.
* **One fresh pyrevm EVM per transaction.** pyrevm 0.3.7 never finalises its journal between
  calls (it keeps "the transaction open"): on one long-lived EVM every account and slot a
  transaction touched stays warm for the next one and keeps its first original value, so
  EIP-2929 and EIP-2200 gas drift (a slot cleared in a later transaction: 17,000 gas where a
  chain charges 21,349, measured). So Python keeps the world state (`_World`: balance,
  nonce, code and storage of every account) and each transaction runs on a new EVM loaded
  with it; the accounts and slots it touched are read back from the EVM's journal. Storage is
  inserted slot by slot inside a journal checkpoint that is then reverted: pyrevm's storage
  insertion loads the account into the journal, which would make it warm and send the next
  slots to the journal instead of the database.
* **Cancun rules inside, Prague's transaction rules outside.** pyrevm's revm runs with
  ``spec_id="Cancun"`` (the fork our contracts are compiled for; its ``"Prague"`` does not
  apply EIP-7623, and an unknown name, "PRAGUE" included, silently means its latest spec), and
  :func:`prague_gas_used` adds the one Prague rule our transactions meet.
* **Fees.** pyrevm charges no gas fee; the sender pays ``gas_used`` at 1 gwei here (the
  in-process chain's effective price), so balances follow py-evm's.

Not modelled (ChainError naming it): web3 (`w3`), snapshots, calls at a past block, logs by
block tag. Log entries carry no ``blockHash`` (no block is hashed here).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import version
from typing import Any

from hexbytes import HexBytes

from arbitration.chain.abi_contract import AbiCall, AbiContract
from arbitration.chain.accounts import (
    FEE_PER_GAS,
    GENESIS_BALANCE,
    GENESIS_GAS_LIMIT,
    TESTER_CHAIN_ID,
    account_secrets,
    block_prevrandao,
)
from arbitration.chain.base import DEFAULT_TX_GAS, Chain, call_target, prague_gas_used
from arbitration.chain.errors import ChainError
from arbitration.chain.hexdata import to_canonical_address, to_checksum_address
from arbitration.chain.receipt import Receipt
from arbitration.chain.typed_transaction import address_of, dynamic_fee_transaction_hash

#: The spec pyrevm runs: its names are revm's (`SpecId::from`), case and all.
REVM_SPEC = "Cancun"
ZERO_ADDRESS = "0x" + "00" * 20

INSTALL_HINT = "--chain revm needs pyrevm, an optional extra: pip install -e '.[revm]'"


class HostUnavailableError(ValueError):
    """The chosen host's package is not installed (bad input for the CLI: exit 2)."""


def available() -> Any:
    """The pyrevm module, imported here and only here (a command that does not choose revm
    never loads it); HostUnavailableError with the install line when it is missing."""
    try:
        import pyrevm
    except ModuleNotFoundError as exc:
        raise HostUnavailableError(INSTALL_HINT) from exc
    return pyrevm


# ---- the world state ---------------------------------------------------------------------


@dataclass
class _Account:
    balance: int = 0
    nonce: int = 0
    code: bytes = b""
    storage: dict[int, int] = field(default_factory=dict)


#: One account in pyrevm's journal dump (`EVM.journal_str`, revm's Debug format).
_ACCOUNT = re.compile(
    r"(0x[0-9a-f]{40}): Account \{ info: AccountInfo \{ balance: (\d+), nonce: (\d+), "
    r"code_hash: 0x[0-9a-f]+, code: (?:None|Some\(Bytecode \{ bytecode: 0x([0-9a-f]*), "
    r"state: (?:Raw|Analysed \{ len: (\d+)))"
)
_SLOT = re.compile(r"(\d+): StorageSlot \{ previous_or_original_value: \d+, present_value: (\d+)")


def _touched_accounts(journal: str) -> dict[str, _Account]:
    """The accounts in a journal dump, with the slots it holds (present values): what the
    transaction loaded or changed. Code is the runtime code as deployed (revm pads analysed
    code; its length says where the code ends)."""
    state = journal[: journal.index(", transient_storage:")]
    matches = list(_ACCOUNT.finditer(state))
    touched = {}
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        address, balance, nonce, code_hex, length = match.groups()
        code = bytes.fromhex(code_hex or "")
        if length is not None:
            code = code[: int(length)]
        segment = state[match.end() : following.start() if following else len(state)]
        storage_part = segment[segment.index("storage: {") : segment.index("status:")]
        storage = {int(k): int(v) for k, v in _SLOT.findall(storage_part)}
        touched[address] = _Account(int(balance), int(nonce), code, storage)
    return touched


@dataclass
class _Block:
    number: int
    timestamp: int
    logs: list = field(default_factory=list)


class RevmChain(Chain):
    """An in-process chain executed by revm (see the module notes), auto-mining one block per
    transaction, with the in-process py-evm chain's accounts, blocks and hashes."""

    def __init__(self, num_accounts: int, genesis_timestamp: int | None) -> None:
        self._pyrevm = available()
        self.last_receipt = None
        self._keys = {
            to_checksum_address(address_of(secret)): secret
            for secret in account_secrets(num_accounts)
        }
        self._world: dict[str, _Account] = {
            address.lower(): _Account(balance=GENESIS_BALANCE) for address in self._keys
        }
        wall = int(time.time())
        self._fixed_time = genesis_timestamp is not None
        self._blocks = [_Block(0, wall if genesis_timestamp is None else genesis_timestamp)]
        self._inputs: dict[bytes, bytes] = {}
        self._view: Any = None  # an EVM over the current state, for calls; None after a change

    @classmethod
    def fresh(
        cls, num_accounts: int = 10, genesis_timestamp: int | None = None, **_: Any
    ) -> RevmChain:
        """As `InProcessChain.fresh` (its ``lean_client`` has no meaning here)."""
        return cls(num_accounts, genesis_timestamp)

    # ---- what is not modelled ----------------------------------------------------------------

    @property
    def w3(self) -> Any:  # type: ignore[override]
        raise ChainError("the revm chain has no web3 (use the py-evm chain for web3 requests)")

    def snapshot(self) -> int:
        raise ChainError("the revm chain does not model snapshots")

    def revert(self, snapshot_id: int) -> None:
        raise ChainError("the revm chain does not model snapshots")

    # ---- accounts, blocks, time --------------------------------------------------------------

    @cached_property
    def accounts(self) -> list[str]:
        return list(self._keys)

    @property
    def description(self) -> str:
        return (
            f"revm (pyrevm {version('pyrevm')}, {REVM_SPEC} execution + Prague's "
            "EIP-7623 floor, in process)"
        )

    def _contract_class(self, abi: list, bytecode: str) -> Any:
        return AbiContract(self, abi, bytecode)

    def now(self) -> int:
        return self._blocks[-1].timestamp

    def block_number(self) -> int:
        return self._blocks[-1].number

    def block_timestamp(self, number: int) -> int:
        return self._blocks[number].timestamp

    def transaction_input(self, tx_hash: bytes) -> bytes:
        return self._inputs[bytes(tx_hash)]

    def _next_timestamp(self) -> int:
        """py-evm's rule: one second after the parent, or the wall clock if later."""
        parent = self._blocks[-1].timestamp + 1
        return parent if self._fixed_time else max(int(time.time()), parent)

    def _mine(self, timestamp: int) -> _Block:
        block = _Block(self._blocks[-1].number + 1, timestamp)
        self._blocks.append(block)
        return block

    def advance_time(self, seconds: int) -> None:
        """As `InProcessChain.advance_time`: an empty block at the target - 1, so the next
        block lands exactly on the target; a no-op when the next block is already there."""
        if seconds <= 0:
            return
        target = self.now() + seconds
        if target <= self._next_timestamp():
            return
        self._mine(target - 1)

    # ---- executing ----------------------------------------------------------------------------

    def _evm(self, number: int, timestamp: int) -> Any:
        """A new EVM over the world state, every account and slot cold."""
        pyrevm = self._pyrevm
        evm = pyrevm.EVM(spec_id=REVM_SPEC, gas_limit=GENESIS_GAS_LIMIT)
        evm.set_block_env(
            pyrevm.BlockEnv(
                number=number,
                coinbase=ZERO_ADDRESS,
                timestamp=timestamp,
                prevrandao=block_prevrandao(number),
                gas_limit=GENESIS_GAS_LIMIT,
            )
        )
        for address, account in self._world.items():
            info = pyrevm.AccountInfo(
                balance=account.balance, nonce=account.nonce, code=account.code or None
            )
            evm.insert_account_info(address, info)
        for address, account in self._world.items():
            for slot, value in account.storage.items():
                # Into the database only while the account is out of the journal: pyrevm then
                # loads it into the journal (warm, and where a next slot would go), which the
                # revert undoes; the slot stays in the database.
                checkpoint = evm.snapshot()
                evm.insert_account_storage(address, slot, value)
                evm.revert(checkpoint)
        return evm

    def _viewer(self) -> Any:
        if self._view is None:
            head = self._blocks[-1]
            self._view = self._evm(head.number, head.timestamp)
        return self._view

    def _call(self, evm: Any, sender: str, to: str, data: bytes, gas: int) -> bytes:
        """The output of a message call; a revert or halt as ChainError."""
        try:
            return bytes(evm.message_call(sender, to, data, gas=gas))
        except RuntimeError as exc:
            raise self._failure(str(exc), None) from exc

    def _failure(self, message: str, receipt: Receipt | None) -> ChainError:
        """The ChainError py-evm's path raises for the same failure: a revert's data decoded
        (an ``Error(string)`` as its text), anything else as revm's words."""
        revert = re.match(r"Revert \{ gas_used: \d+, output: 0x([0-9a-f]*) \}", message)
        if revert is None:
            return ChainError(message or "execution failed", receipt=receipt)
        return self._revert_failure(bytes.fromhex(revert.group(1)), receipt)

    def call(
        self,
        fn_call: Any,
        sender: str | None = None,
        *,
        gas: int | None = None,
        value: int = 0,
        block: str | int = "latest",
    ) -> Any:
        """A view on the latest block's state and context (what ``eth_call`` runs)."""
        if not isinstance(fn_call, AbiCall) or fn_call.to is None or value:
            raise ChainError("the revm chain calls contract functions only, without value")
        if block not in ("latest", self.block_number()):
            raise ChainError("the revm chain does not model calls at past blocks")
        sender = sender or self.default_sender
        return fn_call.decode_output(
            self._view_call(sender, fn_call.to, fn_call.data, gas or DEFAULT_TX_GAS)
        )

    def raw_call(self, to: str, data: bytes) -> bytes:
        return self._view_call(self.default_sender, to, data, DEFAULT_TX_GAS)

    def _view_call(self, sender: str, to: str, data: bytes, gas: int) -> bytes:
        """The output of a message call on the head's state, which it leaves unchanged."""
        evm = self._viewer()
        checkpoint = evm.snapshot()
        try:
            return self._call(evm, sender, to, data, gas)
        finally:
            evm.revert(checkpoint)

    def call_gas(self, to: str, data: bytes) -> int | None:
        """The execution gas of a call of `to` (the call frame alone, `to` warm), on a fresh
        EVM so that every other account and slot starts cold, as in a transaction."""
        head = self._blocks[-1]
        evm = self._evm(head.number, head.timestamp)
        self._call(evm, self.default_sender, to, data, DEFAULT_TX_GAS)
        return evm.result.gas_used - self.intrinsic_gas(data)

    def transact(
        self, fn_call: Any, sender: str | None = None, *, gas: int = DEFAULT_TX_GAS, value: int = 0
    ) -> Receipt:
        """As :meth:`Chain.transact`: sign, run on a fresh EVM, mine into a block of its own,
        apply the Prague rules (:func:`prague_gas_used`) and fold the touched accounts back
        into the world state. A failed transaction is mined too (nonce and fee paid) and
        raises ChainError with its receipt."""
        if gas is None:
            raise ValueError("transact() needs an explicit gas limit")
        sender = to_checksum_address(sender or self.default_sender)
        key = self._keys.get(sender)
        if key is None:
            raise ChainError(f"the revm chain holds no key for {sender}")
        to, data = call_target(fn_call)
        try:
            prague_gas_used(0, data, gas)
        except ValueError as exc:
            raise ChainError(f"invalid transaction: {exc}") from exc
        origin = self._world[sender.lower()]
        number, timestamp = self._blocks[-1].number + 1, self._next_timestamp()
        evm = self._evm(number, timestamp)
        created: str | None = None
        failure: str | None = None
        try:
            if to is None:
                created = to_checksum_address(evm.deploy(sender, data, value=value, gas=gas))
            else:
                evm.message_call(sender, to, data, value=value, gas=gas)
        except RuntimeError as exc:
            if evm.result is None:  # rejected before it ran (intrinsic gas, block limit...)
                raise ChainError(f"invalid transaction: {exc}") from exc
            failure = str(exc)
        result = evm.result
        gas_used = prague_gas_used(result.gas_used, data, gas)
        tx_hash = dynamic_fee_transaction_hash(
            key,
            chain_id=TESTER_CHAIN_ID,
            nonce=origin.nonce,
            fee_per_gas=FEE_PER_GAS,
            gas=gas,
            to=to_canonical_address(to) if to else b"",
            value=value,
            data=data,
        )
        block = self._mine(timestamp)
        nonce = origin.nonce
        self._world.update(
            (address, self._merged(address, account))
            for address, account in _touched_accounts(evm.journal_str).items()
        )
        sender_account = self._world[sender.lower()]
        sender_account.nonce = nonce + 1
        sender_account.balance -= gas_used * FEE_PER_GAS
        self._view = None
        self._inputs[tx_hash] = data
        block.logs = [] if failure else _log_entries(result.logs, tx_hash, block.number)
        receipt = Receipt(
            tx_hash=tx_hash,
            status=0 if failure else 1,
            gas_used=gas_used,
            block_number=block.number,
            contract_address=created,
            logs=tuple(block.logs),
        )
        self.last_receipt = receipt
        if failure is not None:
            raise self._failure(failure, receipt)
        return receipt

    def _merged(self, address: str, touched: _Account) -> _Account:
        """`touched` (as read from a journal) over what the world knew of `address`: a
        journal holds only the slots the transaction loaded."""
        known = self._world.get(address)
        storage = dict(known.storage) if known else {}
        storage.update(touched.storage)
        touched.storage = {slot: v for slot, v in storage.items() if v}
        if known is not None and not touched.code:
            touched.code = known.code
        return touched

    # ---- logs ----------------------------------------------------------------------------------

    def get_logs(self, address: str, from_block: int, to_block: int | str = "latest") -> list:
        if not (isinstance(to_block, int) or to_block == "latest"):
            raise ChainError(f"the revm chain reads logs by block number, not {to_block!r}")
        last = self.block_number() if to_block == "latest" else min(to_block, self.block_number())
        wanted = to_checksum_address(address)
        return [
            log
            for block in self._blocks[max(from_block, 0) : last + 1]
            for log in block.logs
            if log["address"] == wanted
        ]


def _log_entries(logs: list, tx_hash: bytes, block_number: int) -> list[dict]:
    """A transaction's logs in the shape `InProcessChain` gives them (without blockHash)."""
    return [
        {
            "type": "mined",
            "logIndex": index,
            "transactionIndex": 0,
            "transactionHash": HexBytes(tx_hash),
            "blockNumber": block_number,
            "address": to_checksum_address(log.address),
            "data": HexBytes(log.data[1]),
            "topics": [HexBytes(topic) for topic in log.data[0]],
        }
        for index, log in enumerate(logs)
    ]
