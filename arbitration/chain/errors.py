"""Reverts as `ChainError`, with custom errors decoded from their 4-byte selector against the
ABI error entries of every artifact: ``ChainError.name == "MerkleProofInvalid"``,
``str(err) == "MerkleProofInvalid(5)"``. Shared by every backend.
"""

from __future__ import annotations

import ast
from typing import Any

from arbitration.chain.abi_codec import decode as abi_decode
from arbitration.chain.abi_codec import input_types, selector
from arbitration.chain.hexdata import hex_to_bytes
from arbitration.chain.receipt import Receipt

ERROR_STRING_SELECTOR = selector("Error(string)")
_PANIC_SELECTOR = selector("Panic(uint256)")


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



def _error_signature(entry: dict) -> str:
    return f"{entry['name']}({','.join(input_types(entry))})"


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
            selector(sig), (entry["name"], input_types(entry))
        )

    def decode(self, data: bytes) -> tuple[str | None, tuple]:
        if len(data) < 4:
            return None, ()
        sel, body = data[:4], data[4:]
        if sel == ERROR_STRING_SELECTOR:
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


REVERT_PREFIX = "execution reverted: "


def revert_data_from_exception(exc: Exception) -> tuple[bytes | None, str]:
    """Dig the raw revert data out of what web3 8 + eth-tester 0.14 raise.

    * ``ContractLogicError`` and subclasses (``ContractCustomError``, ``ContractPanicError``)
      carry ``.data`` as a hex string (web3 maps Panic this way for eth-tester).
    * For everything else the eth-tester provider re-raises eth-tester's own
      ``TransactionFailed("execution reverted: <reason>")``, where ``<reason>`` is ``repr()`` of
      the raw revert bytes (``b'\\x03\\x1e...'``; it round-trips through ``ast.literal_eval``),
      or the already-decoded ``Error(string)`` text, or a py-evm VM error message.
    Returns ``(data or None, message)``.
    """
    from web3.exceptions import ContractLogicError  # only ever called with web3 loaded

    if isinstance(exc, ContractLogicError):
        data = exc.data
        if isinstance(data, str) and data.startswith("0x"):
            return hex_to_bytes(data), str(exc.message)
        return None, str(exc.message or exc)
    msg = str(exc.args[0]) if exc.args else str(exc)
    text = msg[len(REVERT_PREFIX) :] if msg.startswith(REVERT_PREFIX) else msg
    if text.startswith(("b'", 'b"')):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = None
        if isinstance(value, bytes):
            return value, msg
    return None, msg

