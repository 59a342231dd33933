"""The `Chain` surface over JSON-RPC, so the same agents play against any Ethereum node.

`RpcChain(url)` behaves like `InProcessChain.fresh()` (same `deploy`, `at`, `call`, `transact`,
`ChainError` with decoded custom errors, `now`, `advance_time`) but talks HTTP to a node, where
things go wrong that cannot happen in process. Each has one rule:

* **Transient failures** (connection refused or reset, timeouts, HTTP 5xx and 429) are retried
  with exponential backoff, a bounded number of times (`RetryPolicy`); when the node stays away
  the error is `NodeUnavailableError`, a `FlexEmuError`, so the CLI prints one line and exits 2.
  Reads are retried by the HTTP provider itself; sends never are, see the next point.
* **No double sends.** Every transaction carries an explicit nonce and gas limit (never
  estimated). Before a send whose reply was lost is repeated, the sender's nonce is looked up on
  the node: if it was consumed, the transaction that consumed it is found in the blocks since the
  send and its hash is used; since at most one transaction per (sender, nonce) can ever be
  included, a repeat with the same nonce cannot execute twice either.
* **Nonce races.** Nonces are counted locally from the node's pending count. A "nonce too low"
  (or "already known") on a first send means someone else used this account (another process,
  a restart): the count is refreshed from the node and the send repeated with the new nonce.
* **Reverts.** A transaction mined with status 0 is replayed with `eth_call` at its parent block
  and raised as `ChainError` with the custom error's name (`Chain._replay_failure`).
* **Time.** `advance_time` uses the node's own methods (`evm_setNextBlockTimestamp` or
  `evm_increaseTime`, then `evm_mine`); a node without them is waited for in real time, and an
  incident says so.

Everything unusual that happened (retries, re-sent or re-numbered transactions, reverts, slow
time) is recorded as an `Incident`, so agents and reports can say what the network did.

Accounts are the node's unlocked ones (`eth_accounts`: anvil's dev accounts), signed by the
node through `eth_sendTransaction`; or, for a node that holds no keys, one local key
(`private_key=`, e.g. from `$FLEXEMU_PRIVATE_KEY`) signing EIP-1559 transactions sent with
`eth_sendRawTransaction`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

import requests
from eth_account import Account
from web3 import Web3
from web3.exceptions import TimeExhausted
from web3.providers.rpc import HTTPProvider

from arbitration.chain.base import DEFAULT_TX_GAS, Chain, call_target
from arbitration.chain.errors import ChainError
from arbitration.chain.hexdata import hex_to_bytes, to_checksum_address
from arbitration.chain.receipt import Receipt
from flexemu.errors import FlexEmuError

T = TypeVar("T")

TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
SEND_METHODS = frozenset({"eth_sendTransaction", "eth_sendRawTransaction"})
#: Messages with which nodes refuse a nonce that is already used (anvil, geth, reth, erigon...).
NONCE_USED = ("nonce too low", "already known", "already imported", "replacement transaction")
#: JSON-RPC "method not found"; some nodes answer other codes with this wording instead.
METHOD_NOT_FOUND = -32601
RECEIPT_TIMEOUT_SECONDS = 120.0
#: How long a lost send is looked for once the node says its nonce is taken.
LOOKUP_SECONDS = 10.0
NONCE_REFRESHES = 5
FALLBACK_POLL_SECONDS = 0.25


class NodeUnavailableError(FlexEmuError):
    """The node did not answer within the retry budget."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: attempt k (0-based) waits `first_delay * 2**k`, capped."""

    attempts: int = 6
    first_delay: float = 0.2
    max_delay: float = 5.0
    request_timeout: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, self.first_delay * 2**attempt)


@dataclass(frozen=True)
class Incident:
    """Something the network did that a report should mention."""

    kind: str  # "retry" | "resend" | "nonce" | "revert" | "time"
    detail: str


Reporter = Callable[[Incident], None]


def is_transient(error: BaseException) -> bool:
    """Worth retrying: the request may not have reached the node, or the node was busy."""
    if isinstance(error, requests.HTTPError):
        status = error.response.status_code if error.response is not None else 0
        return status >= 500 or status == 429
    return isinstance(error, TRANSIENT_ERRORS)


#: What the layers of requests/urllib3/http.client wrapping mean, found in their text.
_CAUSES = (
    ("Connection refused", "connection refused"),
    ("Connection reset", "connection reset"),
    ("RemoteDisconnected", "connection closed without a reply"),
    ("without response", "connection closed without a reply"),
)


def describe(error: BaseException) -> str:
    """A short cause for one log line: "HTTP 502", "connection refused", "timed out"."""
    if isinstance(error, requests.HTTPError) and error.response is not None:
        return f"HTTP {error.response.status_code}"
    if isinstance(error, requests.Timeout):
        return "timed out"
    text = str(error)
    for marker, meaning in _CAUSES:
        if marker in text:
            return meaning
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}"[:120]


def with_retries(action: Callable[[], T], what: str, policy: RetryPolicy, report: Reporter) -> T:
    """Run `action`, retrying transient failures; `NodeUnavailableError` when they persist."""
    for attempt in range(policy.attempts):
        try:
            return action()
        except Exception as error:
            if not is_transient(error):
                raise
            if attempt + 1 == policy.attempts:
                raise NodeUnavailableError(
                    f"{what}: the node did not answer after {policy.attempts} attempts "
                    f"({describe(error)})"
                ) from error
            delay = policy.delay(attempt)
            report(
                Incident(
                    "retry",
                    f"{what} failed ({describe(error)}); attempt {attempt + 2}/{policy.attempts}"
                    f" in {delay:.2f} s",
                )
            )
            time.sleep(delay)
    raise AssertionError("unreachable")


class RetryingHTTPProvider(HTTPProvider):
    """HTTP provider that retries reads on transient failures and never retries a send."""

    def __init__(self, url: str, policy: RetryPolicy, report: Reporter) -> None:
        super().__init__(
            url,
            request_kwargs={"timeout": policy.request_timeout},
            exception_retry_configuration=None,
        )
        self.policy = policy
        self.report = report

    def _make_request(self, method: Any, request_data: bytes) -> bytes:
        def once() -> bytes:
            return HTTPProvider._make_request(self, method, request_data)

        if method in SEND_METHODS:
            return once()
        return with_retries(once, str(method), self.policy, self.report)


class _NonceUsedError(Exception):
    """A first send met a nonce someone else had already used."""


class RpcChain(Chain):
    """A `Chain` on a JSON-RPC node."""

    def __init__(
        self,
        url: str,
        *,
        policy: RetryPolicy | None = None,
        private_key: str | None = None,
        on_incident: Reporter | None = None,
    ) -> None:
        self.url = url
        self.policy = policy or RetryPolicy()
        self.incidents: list[Incident] = []
        self._on_incident = on_incident
        super().__init__(Web3(RetryingHTTPProvider(url, self.policy, self._report)))
        self._key = Account.from_key(private_key) if private_key else None
        self._nonces: dict[str, int] = {}
        self._missing_methods: set[str] = set()  # time methods the node turned out to lack

    def _report(self, incident: Incident) -> None:
        self.incidents.append(incident)
        if self._on_incident is not None:
            self._on_incident(incident)

    def _rpc(self, method: str, *params: Any) -> Any:
        """One raw JSON-RPC request (reads retried by the provider); raises on an error reply."""
        response = self.w3.provider.make_request(method, list(params))
        if "error" in response:
            error = response["error"]
            raise RpcReplyError(method, error.get("code"), str(error.get("message", error)))
        return response["result"]

    # ---- identity --------------------------------------------------------------------------

    @cached_property
    def accounts(self) -> list[str]:
        if self._key is not None:
            return [self._key.address]
        return [to_checksum_address(a) for a in self._rpc("eth_accounts")]

    @cached_property
    def chain_id(self) -> int:
        return int(self._rpc("eth_chainId"), 16)

    @cached_property
    def client_version(self) -> str:
        return str(self._rpc("web3_clientVersion"))

    @cached_property
    def fork(self) -> str:
        """The node's hardfork where it tells (anvil_nodeInfo), else "unknown fork"."""
        try:
            return str(self._rpc("anvil_nodeInfo").get("hardFork", "unknown fork")).lower()
        except RpcReplyError:
            return "unknown fork"

    @property
    def description(self) -> str:
        """For reports: "anvil/v1.7.1 (bpo1, chain id 31337, http://127.0.0.1:8545)"."""
        return f"{self.client_version} ({self.fork}, chain id {self.chain_id}, {self.url})"

    def snapshot(self) -> int:
        return int(self._rpc("evm_snapshot"), 16)

    def revert(self, snapshot_id: int) -> None:
        if not self._rpc("evm_revert", hex(snapshot_id)):
            raise ChainError(f"the node could not revert to snapshot {snapshot_id}")
        self._nonces.clear()

    # ---- time ------------------------------------------------------------------------------

    def now(self) -> int:
        """Timestamp of the latest block: what the next transaction's clock reads, at least."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def advance_time(self, seconds: int) -> None:
        """Let at least `seconds` of chain time pass and mine a block that shows it, so the
        next transaction's block has a timestamp >= `now() + seconds` (as in process).

        `evm_setNextBlockTimestamp` + `evm_mine` where the node has them (anvil, hardhat):
        unlike `evm_increaseTime` it also works when anvil stamps blocks at a fixed interval
        (`anvil_setBlockTimestampInterval`, which the tests use for py-evm-like time); then
        `evm_increaseTime` + `evm_mine` (ganache); else real time passes (an incident)."""
        if seconds <= 0:
            return
        target = self.now() + seconds
        for method, argument in (
            ("evm_setNextBlockTimestamp", target),
            ("evm_increaseTime", seconds),
        ):
            if method in self._missing_methods:
                continue
            try:
                self._rpc(method, argument)
            except RpcReplyError as error:
                if not error.method_missing:
                    raise ChainError(f"advancing time failed: {error}") from error
                self._missing_methods.add(method)
                continue
            self._rpc("evm_mine")
            return
        if "real time" not in self._missing_methods:
            self._missing_methods.add("real time")
            self._report(
                Incident(
                    "time",
                    f"{self.client_version} has neither evm_setNextBlockTimestamp nor "
                    "evm_increaseTime: waiting for chain time in real time",
                )
            )
        self._wait_for_time(seconds)

    def _wait_for_time(self, seconds: int) -> None:
        """Let `seconds` pass on the wall clock, then until a block shows them."""
        target = self.now() + seconds
        time.sleep(seconds)
        nudged = False
        while self.now() < target:
            if not nudged:  # dev nodes mine only when there is a transaction: give them one
                sender = self.default_sender
                self._send(sender, sender, b"", 21_000, 0)
                nudged = True
            time.sleep(FALLBACK_POLL_SECONDS)

    # ---- transactions ----------------------------------------------------------------------

    def transact(
        self, fn_call: Any, sender: str | None = None, *, gas: int = DEFAULT_TX_GAS, value: int = 0
    ) -> Receipt:
        """Send with explicit gas and nonce, wait for the receipt; revert -> `ChainError`."""
        if gas is None:
            raise ValueError("transact() needs an explicit gas limit")
        to, data = call_target(fn_call)
        tx_hash = self._send(sender or self.default_sender, to, data, gas, value)
        try:
            raw = self.w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=RECEIPT_TIMEOUT_SECONDS, poll_latency=0.05
            )
        except TimeExhausted as error:
            raise ChainError(
                f"transaction 0x{tx_hash.hex()} was not mined within {RECEIPT_TIMEOUT_SECONDS} s"
            ) from error
        receipt = Receipt.from_raw(raw)
        self.last_receipt = receipt
        if receipt.status != 1:
            failure = self._replay_failure(tx_hash, receipt)
            self._report(Incident("revert", f"transaction 0x{tx_hash.hex()} reverted: {failure}"))
            raise failure
        return receipt

    def _send(self, sender: str, to: str | None, data: bytes, gas: int, value: int) -> bytes:
        """Submit once, whatever the network does; returns the transaction hash."""
        sender = to_checksum_address(sender)
        for _ in range(NONCE_REFRESHES):
            nonce = self._next_nonce(sender)
            try:
                tx_hash = self._submit(sender, nonce, to, data, gas, value)
            except _NonceUsedError as used:
                self._nonces.pop(sender, None)
                self._report(
                    Incident("nonce", f"nonce {nonce} of {sender} was already used ({used}); "
                             "refreshed from the node")
                )
                continue
            self._nonces[sender] = nonce + 1
            return tx_hash
        raise ChainError(f"could not find a free nonce for {sender} in {NONCE_REFRESHES} tries")

    def _next_nonce(self, sender: str) -> int:
        if sender not in self._nonces:
            self._nonces[sender] = self.w3.eth.get_transaction_count(sender, "pending")
        return self._nonces[sender]

    def _submit(
        self, sender: str, nonce: int, to: str | None, data: bytes, gas: int, value: int
    ) -> bytes:
        first_block = self.w3.eth.block_number
        method, param, known_hash = self._signed_request(sender, nonce, to, data, gas, value)
        lost_reply = False
        for attempt in range(self.policy.attempts):
            try:
                response = self.w3.provider.make_request(method, [param])
            except Exception as error:
                if not is_transient(error) or attempt + 1 == self.policy.attempts:
                    if is_transient(error):
                        raise NodeUnavailableError(
                            f"{method}: the node did not answer after {self.policy.attempts} "
                            f"attempts ({describe(error)})"
                        ) from error
                    raise
                lost_reply = True
                delay = self.policy.delay(attempt)
                self._report(
                    Incident("retry", f"{method} (nonce {nonce}) failed ({describe(error)}); "
                             f"checking the node before resending in {delay:.2f} s")
                )
                time.sleep(delay)
                landed = self._sent_with(sender, nonce, first_block, known_hash)
                if landed is not None:
                    self._report(Incident("resend", f"nonce {nonce} had reached the node as "
                                          f"0x{landed.hex()}: not sent again"))
                    return landed
                continue
            if "error" not in response:
                return hex_to_bytes(response["result"])
            message = str(response["error"].get("message", response["error"]))
            if any(text in message.lower() for text in NONCE_USED):
                if lost_reply:  # maybe our own earlier attempt: find it before giving up
                    landed = self._sent_with(sender, nonce, first_block, known_hash, wait=True)
                    if landed is not None:
                        return landed
                raise _NonceUsedError(message)
            raise ChainError(f"the node rejected the transaction: {message}")
        raise AssertionError("unreachable")

    def _signed_request(
        self, sender: str, nonce: int, to: str | None, data: bytes, gas: int, value: int
    ) -> tuple[str, Any, bytes | None]:
        """(method, parameter, hash if known before sending) for one transaction."""
        tx: dict[str, Any] = {"from": sender, "nonce": nonce, "gas": gas, "value": value}
        tx["data"] = "0x" + data.hex()
        if to is not None:
            tx["to"] = to_checksum_address(to)
        if self._key is None:
            return "eth_sendTransaction", {k: _quantity(v) for k, v in tx.items()}, None
        tip = self._priority_fee()
        base = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))
        tx.update(chainId=self.chain_id, maxPriorityFeePerGas=tip, maxFeePerGas=2 * base + tip)
        del tx["from"]
        signed = self._key.sign_transaction(tx)
        return "eth_sendRawTransaction", "0x" + bytes(signed.raw_transaction).hex(), bytes(
            signed.hash
        )

    def _priority_fee(self) -> int:
        try:
            return int(self._rpc("eth_maxPriorityFeePerGas"), 16)
        except RpcReplyError:
            return 10**9

    def _sent_with(
        self, sender: str, nonce: int, first_block: int, known_hash: bytes | None,
        *, wait: bool = False,
    ) -> bytes | None:
        """The hash of the transaction that used (sender, nonce), if the node has one."""
        deadline = time.monotonic() + (LOOKUP_SECONDS if wait else 0)
        while True:
            if known_hash is not None:
                if self._rpc("eth_getTransactionByHash", "0x" + known_hash.hex()) is not None:
                    return known_hash
            elif self.w3.eth.get_transaction_count(sender, "pending") > nonce:
                found = self._find_in_blocks(sender, nonce, first_block)
                if found is not None:
                    return found
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.1)

    def _find_in_blocks(self, sender: str, nonce: int, first_block: int) -> bytes | None:
        for number in [*range(first_block, self.w3.eth.block_number + 1), "pending"]:
            try:
                block = self.w3.eth.get_block(number, full_transactions=True)
            except Exception:  # a node without a pending block
                continue
            for tx in block["transactions"]:
                if tx["from"] == sender and tx["nonce"] == nonce:
                    return bytes(tx["hash"])
        return None


class RpcReplyError(Exception):
    """The node answered a request with a JSON-RPC error."""

    def __init__(self, method: str, code: int | None, message: str) -> None:
        super().__init__(f"{method}: {message} (code {code})")
        self.method = method
        self.code = code
        self.message = message

    @property
    def method_missing(self) -> bool:
        text = self.message.lower()
        return self.code == METHOD_NOT_FOUND or "not found" in text or "not supported" in text


def _quantity(value: Any) -> Any:
    return hex(value) if isinstance(value, int) else value
