"""Contract handles from an ABI alone, for the in-process chains: no web3, no eth-abi.

Why: web3 (and eth-tester) import eth-account, eth-keyfile and py_ecc's BLS pairing tables,
~1 s of start-up, more than a whole `flexemu-game run`; the in-process chain needs none of it
to encode a call and decode its result. A handle offers the part of web3's ``Contract`` this
project uses (``address``, ``abi``, ``functions.NAME(*args)``, ``constructor(*args)``,
``encode_abi``, ``decode_function_input``), and a bound call decodes its result exactly as
web3 8 does: addresses checksummed, arrays as lists, tuples as tuples, one output bare, several
as a list. A bound call still answers ``call``/``transact`` through web3 (`chain.w3`, loaded
on first use) for the paths that need it.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from arbitration.chain.abi_codec import (
    AbiType,
    function_selector,
    input_names,
    input_types,
    output_types,
    parse_type,
)
from arbitration.chain.abi_codec import decode as abi_decode
from arbitration.chain.abi_codec import encode as abi_encode
from arbitration.chain.hexdata import to_checksum_address


class AbiCall:
    """One encoded call (``to`` None: a deployment) with the output types to decode it by;
    `Chain.transact` and `Chain.call` read ``to`` and ``data``."""

    def __init__(self, chain: Any, to: str | None, data: bytes, outputs: list[str]) -> None:
        self.chain = chain
        self.to = to
        self.data = data
        self.outputs = outputs

    @property
    def address(self) -> str | None:
        return self.to

    def _encode_transaction_data(self) -> str:
        """The calldata as hex with 0x: web3's (private) name for it, which tests use."""
        return "0x" + self.data.hex()

    def decode_output(self, output: bytes) -> Any:
        """The call's result as web3 8 returns it (see the module notes)."""
        values = [
            _normalized(kind, value)
            for kind, value in zip(self.outputs, abi_decode(self.outputs, output), strict=True)
        ]
        return values[0] if len(values) == 1 else values

    def _params(self, params: dict[str, Any]) -> dict[str, Any]:
        target = {"to": self.to} if self.to else {}
        return {**params, **target, "data": self.data}

    def transact(self, params: dict[str, Any]) -> Any:
        return self.chain.w3.eth.send_transaction(self._params(params))

    def call(self, params: dict[str, Any], block_identifier: Any = "latest") -> Any:
        return self.decode_output(
            bytes(self.chain.w3.eth.call(self._params(params), block_identifier=block_identifier))
        )


def _normalized(kind: str, value: Any) -> Any:
    return _normalize(parse_type(kind), value)


def _normalize(kind: AbiType, value: Any) -> Any:
    if kind.kind == "array":
        assert kind.item is not None
        return [_normalize(kind.item, item) for item in value]
    if kind.kind == "tuple":
        return tuple(_normalize(c, v) for c, v in zip(kind.components, value, strict=True))
    return to_checksum_address(value) if kind.kind == "address" else value


class _Function:
    """A function entry of the ABI; calling it with arguments binds them into an `AbiCall`."""

    def __init__(self, contract: AbiContract, entry: dict) -> None:
        self.contract = contract
        self.selector = function_selector(entry)
        self.inputs = input_types(entry)
        self.outputs = output_types(entry)

    def __call__(self, *args: Any) -> AbiCall:
        data = self.selector + abi_encode(self.inputs, args)
        return AbiCall(self.contract.chain, self.contract.address, data, self.outputs)


class _Functions:
    def __init__(self, contract: AbiContract) -> None:
        self._contract = contract

    def __getattr__(self, name: str) -> _Function:
        entry = self._contract.function_entries.get(name)
        if entry is None:
            raise AttributeError(f"the ABI has no function {name!r}")
        return _Function(self._contract, entry)


class AbiContract:
    """A contract class (no address) or a handle (with one), from an artifact's ABI and
    bytecode. ``factory(address=...)`` makes a handle, as web3's contract classes do."""

    def __init__(self, chain: Any, abi: list, bytecode: str, address: str | None = None) -> None:
        self.chain = chain
        self.abi = abi
        self.bytecode = bytecode
        self.address = address
        self.functions = _Functions(self)

    def __call__(self, address: str) -> AbiContract:
        return AbiContract(self.chain, self.abi, self.bytecode, to_checksum_address(address))

    @cached_property
    def function_entries(self) -> dict[str, dict]:
        """Functions by name; an overloaded name is refused (none of ours is overloaded)."""
        entries: dict[str, dict] = {}
        for entry in self.abi:
            if entry.get("type") == "function":
                if entry["name"] in entries:
                    raise ValueError(f"overloaded function {entry['name']!r}: not supported")
                entries[entry["name"]] = entry
        return entries

    def constructor(self, *args: Any) -> AbiCall:
        entry = next((e for e in self.abi if e.get("type") == "constructor"), None)
        encoded = abi_encode(input_types(entry), args) if entry else b""
        code = bytes.fromhex(self.bytecode.removeprefix("0x"))
        return AbiCall(self.chain, None, code + encoded, [])

    def encode_abi(self, name: str, args: list) -> str:
        """The calldata of `name(*args)`, hex with 0x, as web3's ``encode_abi``."""
        return "0x" + getattr(self.functions, name)(*args).data.hex()

    def decode_function_input(self, data: bytes) -> tuple[_Function, dict[str, Any]]:
        """(function, arguments by name) of calldata, as web3's ``decode_function_input``."""
        data = bytes(data)
        for entry in self.function_entries.values():
            function = _Function(self, entry)
            if function.selector == data[:4]:
                values = abi_decode(function.inputs, data[4:])
                named = zip(input_names(entry), function.inputs, values, strict=True)
                return function, {name: _normalized(kind, v) for name, kind, v in named}
        raise ValueError(f"no function with selector 0x{data[:4].hex()}")
