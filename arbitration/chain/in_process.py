"""The chain in process: py-evm, with web3 8 + ``EthereumTesterProvider(PyEVMBackend(...))``
attached on first use.

:class:`InProcessChain` pins the EVM fork to **Prague** (py-evm's ``PragueVM`` from genesis
on): mainnet's rules and the newest fork py-evm has, so every gas figure is quoted under them,
EIP-7623's calldata floor included (a transaction pays at least 21000 + 10 gas per calldata
token; it applies to proof-heavy step transactions). The contracts are compiled for Cancun
(``contracts/compile.js``), whose bytecode runs unchanged on Prague. We pin explicitly so gas
figures do not drift with library upgrades. Everything else of the `Chain` surface is
`arbitration.chain.base`.

Start-up without web3
---------------------
The py-evm chain is built directly (`arbitration.chain.genesis`: eth-tester's genesis, keys
and chain class, constant for constant), contract handles encode with eth-abi
(`arbitration.chain.abi_contract`), and accounts, time, views, transaction inputs and logs
are read from py-evm. web3 and eth-tester (whose imports pull in eth-account, eth-keyfile and
py_ecc: ~1 s, more than a whole `flexemu-game run`) load only when a path asks for
:attr:`InProcessChain.w3` or :attr:`InProcessChain.backend` (snapshots, filters, a non-default
call): eth-tester then attaches to the same py-evm chain and accounts, so nothing that was
mined before changes.

Transactions in process
-----------------------
A transaction on the in-process chain bypasses web3 and eth-tester: :meth:`InProcessChain.transact`
signs it with eth-tester's key for the sender and eth-tester's default fees, and has py-evm
apply and mine it in a block of its own (``MiningChain.mine_all``'s steps, without its checks
of the block it just built: :meth:`InProcessChain._mine`), exactly what eth-tester's
auto-mining ``eth_sendTransaction`` does, minus web3's request pipeline, eth-tester's
validation and normalisation and the receipt round trip, and with the state root computed
once per block instead of twice. Same transactions, hashes, blocks, receipts and gas as the
web3 path. A game move costs ~4 ms instead of ~6 ms. :meth:`InProcessChain.get_logs` reads
logs from py-evm's blocks the same way, and :meth:`InProcessChain.raw_call` runs a pure call
as a py-evm message call. The fast path steps aside for what it does not model (filters,
locked accounts, auto-mining off, an unknown sender): those transactions take the web3 path.
"""

from __future__ import annotations

from functools import cached_property
from importlib.metadata import version
from typing import Any

from eth.exceptions import Revert
from eth.vm.forks import PragueVM
from eth_utils.exceptions import ValidationError as EthValidationError
from hexbytes import HexBytes

from arbitration.chain.abi_contract import AbiCall, AbiContract
from arbitration.chain.accounts import FEE_PER_GAS, block_prevrandao
from arbitration.chain.artifacts import EVM_FORK
from arbitration.chain.base import DEFAULT_TX_GAS, Chain, call_target, prague_gas_used
from arbitration.chain.errors import ChainError
from arbitration.chain.genesis import account_keys, genesis_chain
from arbitration.chain.hexdata import to_canonical_address, to_checksum_address
from arbitration.chain.receipt import Receipt

#: web3 middlewares `InProcessChain.fresh(lean_client=True)` removes (see there).
LEAN_CLIENT_DROPS = ("ens_name_to_address", "validation", "gas_price_strategy")

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

class InProcessChain(Chain):
    """An in-process Prague chain with funded accounts, auto-mining one block per transaction."""

    def __init__(self, pyevm: Any, signing_keys: tuple, lean_client: bool = False) -> None:
        self.last_receipt = None
        self._pyevm = pyevm
        self._keys = signing_keys
        self._lean_client = lean_client

    @classmethod
    def fresh(
        cls,
        num_accounts: int = 10,
        genesis_timestamp: int | None = None,
        lean_client: bool = False,
    ) -> Chain:
        """Fresh chain: py-evm PragueVM from genesis, ``num_accounts`` accounts funded with
        1,000,000 ether each, auto-mining one block per transaction.

        Block timestamps are ``max(wall clock, parent + 1)`` (py-evm). A ``genesis_timestamp``
        ahead of the wall clock makes every block exactly one second after its parent (unless
        :meth:`advance_time` says otherwise): chain time becomes a pure function of the
        transactions sent, which is what reproducible game reports need.

        ``lean_client`` drops, once web3 is attached, the web3 client middlewares that have
        nothing to do in process: ENS name resolution, the chain-id validation (an
        ``eth_chainId`` request per transaction) and the gas price strategy (none is set).
        That took ~1 ms off each transaction sent through web3 (7.4 -> 6.3 ms median on
        bisect/respond); transactions now bypass web3 in process (see the module notes), so
        it is left to the other requests. Gas estimation for a transaction without ``gas``
        stays."""
        keys = account_keys(num_accounts)
        chain = cls(genesis_chain(keys, genesis_timestamp), keys, lean_client)
        vm = chain.pyevm.get_vm()
        if not isinstance(vm, PragueVM) or type(vm).fork != EVM_FORK:
            raise RuntimeError(f"expected a Prague VM, got {type(vm).__name__}")
        return chain

    # ---- py-evm, and eth-tester + web3 on demand -------------------------------------------

    @property
    def pyevm(self) -> Any:
        """The py-evm chain: eth-tester's once attached (a snapshot revert to genesis
        replaces its chain object), else the one built at start."""
        backend = self.__dict__.get("backend")
        return self._pyevm if backend is None else backend.chain

    @cached_property
    def backend(self) -> Any:  # type: ignore[override]
        """eth-tester's py-evm backend over this chain and these accounts (loads eth-tester)."""
        from eth_tester import PyEVMBackend

        class AttachedBackend(PyEVMBackend):
            """A PyEVMBackend over an existing chain: its constructor would build its own."""

            def __init__(self, chain: Any, signing_keys: tuple) -> None:
                self.chain = chain
                self.account_keys = signing_keys

        return AttachedBackend(self._pyevm, self._keys)

    @cached_property
    def w3(self) -> Any:  # type: ignore[override]
        """web3 over eth-tester over this chain (loads both, ~1 s, on first use)."""
        from eth_tester import EthereumTester
        from web3 import Web3
        from web3.providers.eth_tester import EthereumTesterProvider

        w3 = Web3(EthereumTesterProvider(EthereumTester(self.backend)))
        if self._lean_client:
            for name in LEAN_CLIENT_DROPS:
                w3.middleware_onion.remove(name)
        return w3

    def _signing_key_list(self) -> tuple:
        backend = self.__dict__.get("backend")
        return self._keys if backend is None else tuple(backend.account_keys)

    # ---- accounts, contracts, blocks from py-evm -------------------------------------------

    @cached_property
    def accounts(self) -> list[str]:
        return [
            to_checksum_address(k.public_key.to_canonical_address())
            for k in self._signing_key_list()
        ]

    def _contract_class(self, abi: list, bytecode: str) -> Any:
        """An ABI-only contract class (`arbitration.chain.abi_contract`): no web3."""
        return AbiContract(self, abi, bytecode)

    def now(self) -> int:
        return int(self.pyevm.get_canonical_head().timestamp)

    def block_number(self) -> int:
        return int(self.pyevm.get_canonical_head().block_number)

    def block_timestamp(self, number: int) -> int:
        return int(self.pyevm.get_canonical_block_header_by_number(number).timestamp)

    def transaction_input(self, tx_hash: bytes) -> bytes:
        return bytes(self.pyevm.get_canonical_transaction(bytes(tx_hash)).data)

    def call(
        self,
        fn_call: Any,
        sender: str | None = None,
        *,
        gas: int | None = None,
        value: int = 0,
        block: str | int = "latest",
    ) -> Any:
        """As :meth:`Chain.call`, as a py-evm message call on the block's state and context
        (eth-tester's ``eth_call``: the latest block's by default), for a view of a contract
        with code and no explicit gas or value; anything else through web3."""
        if not isinstance(fn_call, AbiCall) or gas is not None or value or fn_call.to is None:
            return super().call(fn_call, sender, gas=gas, value=value, block=block)
        pyevm = self.pyevm
        if block == "latest":
            header = pyevm.get_canonical_head()
        elif isinstance(block, int) and 0 <= block <= pyevm.get_canonical_head().block_number:
            header = pyevm.get_canonical_block_header_by_number(block)
        else:
            return super().call(fn_call, sender, gas=gas, value=value, block=block)
        vm = pyevm.get_vm(at_header=header)
        if not vm.state.get_code(to_canonical_address(fn_call.to)):  # web3 has its own error
            return super().call(fn_call, sender, gas=gas, value=value, block=block)
        origin = sender or self.default_sender
        computation = _execute(vm, origin, fn_call.to, fn_call.data, header.gas_limit)
        if computation.is_error:
            raise self._failure_in_process(computation.error, None)
        return fn_call.decode_output(bytes(computation.output))

    @property
    def fork(self) -> str:
        return type(self.pyevm.get_vm()).fork

    @property
    def description(self) -> str:
        """What ran the game, for reports: "py-evm 0.12.1b1 (prague, in process)"."""
        return f"py-evm {version('py-evm')} ({self.fork}, in process)"

    def snapshot(self) -> int:
        """Snapshot of the chain head; ``revert(id)`` rolls state and blocks back to it."""
        return self.w3.provider.ethereum_tester.take_snapshot()

    def revert(self, snapshot_id: int) -> None:
        self.w3.provider.ethereum_tester.revert_to_snapshot(snapshot_id)

    # ---- time ------------------------------------------------------------------------------

    def advance_time(self, seconds: int) -> None:
        """Let at least ``seconds`` of chain time pass: the next transaction's block has a
        timestamp >= ``now() + seconds`` (game clocks and timeouts are block.timestamp based).

        In process: eth-tester's ``time_travel`` mines one empty block at the target - 1, so the
        next block lands exactly on the target. (Over JSON-RPC this is ``evm_increaseTime`` +
        ``evm_mine``.) A no-op when chain time is already past the target."""
        if seconds <= 0:
            return
        target = self.now() + seconds
        pyevm = self.pyevm
        if target <= pyevm.header.timestamp:  # the pending block's
            return
        if self._direct_sender(self.default_sender) is None:
            self.w3.provider.ethereum_tester.time_travel(target)
            return
        # What eth-tester's time_travel does, with the derived PREVRANDAO of the fast path, so
        # that the blocks after a time travel repeat too.
        pyevm.header = pyevm.header.copy(timestamp=target - 1)
        pyevm.mine_block(coinbase=ZERO_ADDRESS, mix_hash=_prevrandao(pyevm))

    # ---- transactions ----------------------------------------------------------------------

    def transact(
        self, fn_call: Any, sender: str | None = None, *, gas: int = DEFAULT_TX_GAS, value: int = 0
    ) -> Receipt:
        """As :meth:`Chain.transact`, but straight to py-evm (:meth:`_transact_in_process`)
        wherever the fast path applies."""
        if gas is None:
            raise ValueError("transact() needs an explicit gas limit")
        if self._direct_sender(sender or self.default_sender) is not None:
            return self._transact_in_process(fn_call, sender or self.default_sender, gas, value)
        return super().transact(fn_call, sender, gas=gas, value=value)

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
        if "w3" in self.__dict__:  # web3 attached: eth-tester may have filters to feed now
            tester = getattr(self.w3.provider, "ethereum_tester", None)
            if tester is None or tester.backend is not self.backend:
                return None
            if not tester.auto_mine_transactions or any(
                getattr(tester, name, True) for name in _TESTER_PER_TRANSACTION_STATE
            ):
                return None
        address = to_canonical_address(sender)
        keys = self._signing_keys
        known = self._signing_key_list()
        if address not in keys or len(keys) != len(known):
            keys.clear()  # accounts added since: look again
            keys.update((key.public_key.to_canonical_address(), key) for key in known)
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
        pyevm = self.pyevm
        head = pyevm.header.parent_hash  # the pending block's parent: the latest block
        if head != self._nonces_head:
            self._nonces.clear()
            self._nonces_head = head
        nonce = self._nonces.get(origin)
        return pyevm.get_vm().state.get_nonce(origin) if nonce is None else nonce

    def _transact_in_process(self, fn_call: Any, sender: str, gas: int, value: int) -> Receipt:
        """Sign, apply and mine one transaction on py-evm directly, skipping web3's request
        pipeline, eth-tester's validation and normalisation layers and the receipt round trip
        (about 40% of a game move's time, measured), and mining as py-evm's ``mine_all`` does
        (:meth:`_mine`), which computes the state root once per block instead of once when
        applying and again when mining. The chain ends up as eth-tester leaves it (same
        blocks, receipts and transaction hashes), so every web3 call keeps working. A
        revert's reason is the transaction's own revert data: no replay."""
        to, data = call_target(fn_call)
        try:
            prague_gas_used(0, data, gas)  # EIP-7623 validity, which py-evm does not check
        except ValueError as exc:
            raise ChainError(f"invalid transaction: {exc}") from exc
        pyevm = self.pyevm
        origin = to_canonical_address(sender)
        nonce = self._nonce_in_process(origin)
        unsigned = pyevm.get_transaction_builder().new_unsigned_dynamic_fee_transaction(
            chain_id=pyevm.chain_id,
            nonce=nonce,
            max_priority_fee_per_gas=FEE_PER_GAS,
            max_fee_per_gas=FEE_PER_GAS,
            gas=gas,
            to=to_canonical_address(to) if to else b"",
            value=value,
            data=data,
            access_list=(),
        )
        transaction = unsigned.as_signed_transaction(self._direct_sender(sender))
        try:
            block, mined, computation = self._mine(pyevm, transaction, _prevrandao(pyevm))
        except EthValidationError as exc:  # e.g. gas below intrinsic cost, over block limit
            raise ChainError(f"invalid transaction: {exc}") from exc
        self._nonces[origin] = nonce + 1
        self._nonces_head = block.hash
        receipt = _receipt_in_process(transaction, block, mined, computation)
        self.last_receipt = receipt
        if computation.is_error:
            raise self._failure_in_process(computation.error, receipt)
        return receipt

    @staticmethod
    def _mine(pyevm: Any, transaction: Any, mix_hash: bytes) -> tuple[Any, Any, Any]:
        """(block, py-evm receipt, computation) of `transaction` mined alone in a new block
        on `pyevm`: py-evm's ``MiningChain.mine_all([transaction], coinbase=ZERO_ADDRESS,
        mix_hash=mix_hash)`` step for step, minus what it does after the block is built
        that the block does not need.

        Why: ``mine_all`` then validates the block it has just built, twice (the VM's
        ``validate_block``: header against parent, transaction and blob gas; the chain's:
        header, seal, uncles), and reads every new canonical block back from the database to
        return it. The block is py-evm's own output from the same code (a transaction
        invalid for it fails in ``apply_all_transactions``, before any of this), and a
        dispute reads none of what is returned. Skipping both saves 1-2% of a move (measured
        over bisect/respond pairs: the EVM run and the state root are the rest). The block,
        its hash, the receipt, gas and logs are the same (tests/test_chain_in_process.py
        mines the same moves both ways and compares every block)."""
        base_header = pyevm.header
        vm = pyevm.get_vm(base_header.copy(coinbase=ZERO_ADDRESS))
        transactions = [transaction]
        header, receipts, computations = vm.apply_all_transactions(transactions, base_header)
        filled = vm.set_block_transactions_and_withdrawals(
            vm.get_block(), header, transactions, receipts
        )
        packed = vm.pack_block(filled, coinbase=ZERO_ADDRESS, mix_hash=mix_hash)
        block = vm.finalize_block(packed).block
        pyevm.chaindb.persist_block(block)
        pyevm.header = pyevm.create_header_from_parent(block.header)
        return block, receipts[0], computations[0]

    def _failure_in_process(self, error: Exception, receipt: Receipt | None) -> ChainError:
        """The ChainError the web3 path raises for the same failure (its replay goes through
        eth-tester, which hands over an ``Error(string)`` revert as its text alone)."""
        if not isinstance(error, Revert):  # out of gas, invalid opcode...
            return ChainError(str(error) or "execution failed", receipt=receipt)
        return self._revert_failure(bytes(error.args[0]) if error.args else b"", receipt)

    # ---- logs ------------------------------------------------------------------------------

    def get_logs(self, address: str, from_block: int, to_block: int | str = "latest") -> list:
        """As :meth:`Chain.get_logs`, read from py-evm's blocks directly: ~10x faster than
        through web3 and eth-tester, which serialise, validate and normalise every block and
        receipt in the range on the way, and a game agent asks once per decision. Other block
        tags than a number or ``"latest"`` go through ``eth_getLogs``."""
        if not (isinstance(to_block, int) or to_block == "latest"):
            return super().get_logs(address, from_block, to_block)
        pyevm = self.pyevm
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

    # ---- pure calls ------------------------------------------------------------------------

    def raw_call(self, to: str, data: bytes) -> bytes:
        """A py-evm message call of `to`'s runtime code against the head state, without going
        through web3 and eth-tester: the same bytecode on the same Prague VM (for the pure
        functions this is for nothing else can differ), about 30% faster, which matters to the
        tests that run thousands of verifier steps."""
        return bytes(self._message(to, data).output)

    def call_gas(self, to: str, data: bytes) -> int | None:
        """The execution gas of a call of `to` (the call frame alone: what a transaction pays
        beyond its intrinsic cost, with `to` warm), from the same py-evm message call. Exact
        under Prague too, where a receipt at EIP-7623's floor hides it."""
        return self._message(to, data).get_gas_used()

    def _message(self, to: str, data: bytes) -> Any:
        computation = _execute(self.pyevm.get_vm(), self.default_sender, to, data, DEFAULT_TX_GAS)
        if computation.is_error:
            error = computation.error
            if isinstance(error, Revert):
                raise self.errors.to_error(bytes(error.args[0]))
            raise ChainError(f"call of {to} failed in the VM: {error!r}")
        return computation




def _execute(vm: Any, origin: str, to: str, data: bytes, gas: int) -> Any:
    """A message call of `to`'s code from `origin` on `vm`'s state, nothing committed."""
    sender = to_canonical_address(origin)
    address = to_canonical_address(to)
    return vm.execute_bytecode(
        origin=sender,
        gas_price=0,
        gas=gas,
        to=address,
        sender=sender,
        value=0,
        data=data,
        code=vm.state.get_code(address),
    )


def _log_entries(
    block: Any, transaction: Any, transaction_index: int, receipt: Any, address: bytes | None
) -> list[dict]:
    """One receipt's logs (those of contract `address`, or all) as web3 returns them from
    eth-tester, key for key (plain dicts where web3 has its AttributeDicts: same items): log
    indices count within the receipt, as eth-tester's do."""
    return [
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
        for index, log in enumerate(receipt.logs)
        if address is None or log.address == address
    ]


def _prevrandao(pyevm: Any) -> bytes:
    """The next block's mix hash (`block_prevrandao`)."""
    return block_prevrandao(pyevm.get_canonical_head().block_number + 1)


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
