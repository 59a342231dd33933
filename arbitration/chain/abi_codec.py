"""The Solidity ABI (v2 head/tail encoding) for the types our contracts use, without eth-abi.

Why our own: eth-abi imports eth-utils, which imports pydantic, eth-typing's network tables and
package metadata: ~0.2 s of CPU before the first move, more than half of a plain
`flexemu-game run` of the long RISC-V guest, on every `simulate` (issue 11's wall-time target).
The contracts' ABIs use a handful of types (``uint<N>``, ``int<N>``, ``address``, ``bool``,
``bytes<N>``, ``bytes``, ``string``, arrays ``T[]``/``T[k]``, tuples), whose encoding the
Solidity ABI specification fixes in a page; this module is that page.

Values are eth-abi's, so callers and reports do not change: integers as ``int``, ``bool`` as
``bool``, addresses decoded as lowercase ``0x`` strings (accepted as 20 bytes or a hex string),
``bytes<N>`` and ``bytes`` as ``bytes``, strings as ``str``, arrays and tuples decoded as
tuples. Decoding is strict, as eth-abi's is by default: padding must be zero, a ``bool`` 0 or 1,
offsets and lengths inside the data. `tests/test_abi_codec.py` checks both directions against
eth-abi on random values of every type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from arbitration.chain.hexdata import to_canonical_address
from flexemu.keccak import keccak256

WORD = 32


class AbiError(ValueError):
    """A value that does not fit its ABI type, or data that is not a valid encoding."""


# ---- types ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AbiType:
    """One parsed ABI type: ``kind`` is "uint", "int", "address", "bool", "fixed_bytes",
    "bytes", "string", "array" or "tuple"; ``size`` the bits or bytes of a sized base type,
    or the length of a fixed array (None: dynamic)."""

    kind: str
    size: int | None = None
    item: AbiType | None = None
    components: tuple[AbiType, ...] = ()

    @property
    def dynamic(self) -> bool:
        if self.kind in ("bytes", "string"):
            return True
        if self.kind == "array":
            assert self.item is not None
            return self.size is None or self.item.dynamic
        return any(c.dynamic for c in self.components)

    @property
    def head_words(self) -> int:
        """Words this type takes in its enclosing head (one offset word if dynamic)."""
        if self.dynamic:
            return 1
        if self.kind == "array":
            assert self.item is not None and self.size is not None
            return self.size * self.item.head_words
        if self.kind == "tuple":
            return sum(c.head_words for c in self.components)
        return 1


@cache
def parse_type(text: str) -> AbiType:
    """The `AbiType` of a canonical type string such as ``uint256``, ``(bytes32,uint8)[]``."""
    text = text.strip()
    if text.endswith("]"):
        start = text.rindex("[")
        length = text[start + 1 : -1]
        if length and not length.isdigit():
            raise AbiError(f"bad array length in ABI type {text!r}")
        return AbiType("array", int(length) if length else None, parse_type(text[:start]))
    if text.startswith("("):
        if not text.endswith(")"):
            raise AbiError(f"bad tuple ABI type {text!r}")
        return AbiType("tuple", components=tuple(parse_type(t) for t in _split(text[1:-1])))
    sized = (("uint", "uint", 256), ("int", "int", 256), ("bytes", "fixed_bytes", 32))
    for prefix, kind, limit in sized:
        if text.startswith(prefix) and text[len(prefix) :].isdigit():
            size = int(text[len(prefix) :])
            if not 0 < size <= limit or (kind != "fixed_bytes" and size % 8):
                raise AbiError(f"unsupported ABI type {text!r}")
            return AbiType(kind, size)
    if text in ("address", "bool", "bytes", "string"):
        return AbiType(text)
    if text in ("uint", "int"):
        return AbiType(text, 256)
    raise AbiError(f"unsupported ABI type {text!r}")


def _split(inner: str) -> list[str]:
    """The top-level comma-separated parts of a tuple's inside."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(inner):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(inner[start:index])
            start = index + 1
    if inner:
        parts.append(inner[start:])
    return parts


# ---- ABI entries ------------------------------------------------------------------------------


def canonical_type(param: dict) -> str:
    """The canonical type of an ABI parameter entry: tuples spelled out from their components."""
    kind = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param["components"])
        return f"({inner}){kind[len('tuple'):]}"
    return kind


def input_types(entry: dict) -> list[str]:
    return [canonical_type(p) for p in entry.get("inputs", [])]


def output_types(entry: dict) -> list[str]:
    return [canonical_type(p) for p in entry.get("outputs", [])]


def input_names(entry: dict) -> list[str]:
    return [p["name"] for p in entry.get("inputs", [])]


def signature(entry: dict) -> str:
    """``name(type,...)``: what selectors and event topics hash."""
    return f"{entry['name']}({','.join(input_types(entry))})"


def selector(text: str) -> bytes:
    """The 4-byte selector of a function or error signature."""
    return keccak256(text.encode())[:4]


def function_selector(entry: dict) -> bytes:
    return selector(signature(entry))


def event_topic(entry: dict) -> bytes:
    """topic0 of a (non-anonymous) event."""
    return keccak256(signature(entry).encode())


# ---- encoding ---------------------------------------------------------------------------------


def encode(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """The ABI encoding of `values` as the tuple of `types` (function arguments, return data)."""
    return _encode(AbiType("tuple", components=tuple(parse_type(t) for t in types)), values)


def _encode(kind: AbiType, value: Any) -> bytes:
    if kind.kind == "tuple":
        return _encode_sequence(kind.components, value)
    if kind.kind == "array":
        assert kind.item is not None
        items = _sequence(value, kind)
        if kind.size is None:
            return _uint_word(len(items)) + _encode_sequence((kind.item,) * len(items), items)
        if len(items) != kind.size:
            raise AbiError(f"expected {kind.size} items, got {len(items)}")
        return _encode_sequence((kind.item,) * kind.size, items)
    return _encode_base(kind, value)


def _encode_sequence(kinds: Sequence[AbiType], values: Any) -> bytes:
    values = _sequence(values, None)
    if len(values) != len(kinds):
        raise AbiError(f"expected {len(kinds)} values, got {len(values)}")
    heads, tails = [], []
    offset = WORD * sum(k.head_words for k in kinds)
    for kind, value in zip(kinds, values, strict=True):
        encoded = _encode(kind, value)
        if kind.dynamic:
            heads.append(_uint_word(offset))
            tails.append(encoded)
            offset += len(encoded)
        else:
            heads.append(encoded)
    return b"".join(heads) + b"".join(tails)


def _sequence(value: Any, kind: AbiType | None) -> Sequence[Any]:
    if isinstance(value, (list, tuple)):
        return value
    what = "an array" if kind is not None else "a tuple"
    raise AbiError(f"expected {what} (list or tuple), got {type(value).__name__}")


def _encode_base(kind: AbiType, value: Any) -> bytes:
    if kind.kind in ("uint", "int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise AbiError(f"{kind.kind}{kind.size} takes an int, got {type(value).__name__}")
        assert kind.size is not None
        low, high = (0, 1 << kind.size) if kind.kind == "uint" else (
            -(1 << (kind.size - 1)), 1 << (kind.size - 1))
        if not low <= value < high:
            raise AbiError(f"{value} does not fit {kind.kind}{kind.size}")
        return (value % (1 << 256)).to_bytes(WORD, "big")
    if kind.kind == "bool":
        if not isinstance(value, bool):
            raise AbiError(f"bool takes a bool, got {type(value).__name__}")
        return _uint_word(int(value))
    if kind.kind == "address":
        return bytes(12) + _address_bytes(value)
    if kind.kind == "fixed_bytes":
        raw = _bytes(value)
        assert kind.size is not None
        if len(raw) > kind.size:
            raise AbiError(f"{len(raw)} bytes do not fit bytes{kind.size}")
        return raw.ljust(WORD, b"\0")
    raw = value.encode() if kind.kind == "string" and isinstance(value, str) else _bytes(value)
    return _uint_word(len(raw)) + raw.ljust(-(-len(raw) // WORD) * WORD, b"\0")


def _uint_word(value: int) -> bytes:
    return value.to_bytes(WORD, "big")


def _bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise AbiError(f"expected bytes, got {type(value).__name__}")


def _address_bytes(value: Any) -> bytes:
    """20 bytes, or a hex string with its 0x prefix (`to_canonical_address` also reads one
    without: not an ABI address)."""
    if isinstance(value, str) and value[:2] not in ("0x", "0X"):
        raise AbiError(f"not an address: {value!r}")
    try:
        return to_canonical_address(value)
    except (TypeError, ValueError):
        raise AbiError(f"not an address: {value!r}") from None


# ---- decoding ---------------------------------------------------------------------------------


def decode(types: Sequence[str], data: bytes) -> tuple:
    """The values of `types` encoded in `data` (a tuple, one item per type)."""
    kind = AbiType("tuple", components=tuple(parse_type(t) for t in types))
    return _decode(kind, bytes(data), 0)


def _decode(kind: AbiType, data: bytes, start: int) -> Any:
    """The value of `kind` whose encoding starts at `start` (its head, or its tail if dynamic:
    the caller follows offsets)."""
    if kind.kind == "tuple":
        return _decode_sequence(kind.components, data, start)
    if kind.kind == "array":
        assert kind.item is not None
        if kind.size is None:
            length = _read_uint(data, start, "array length")
            if length > len(data):  # each item takes at least one word
                raise AbiError(f"array length {length} exceeds the data")
            return _decode_sequence((kind.item,) * length, data, start + WORD)
        return _decode_sequence((kind.item,) * kind.size, data, start)
    return _decode_base(kind, data, start)


def _decode_sequence(kinds: Sequence[AbiType], data: bytes, start: int) -> tuple:
    values = []
    head = start
    for kind in kinds:
        if kind.dynamic:
            offset = _read_uint(data, head, "offset")
            values.append(_decode(kind, data, start + offset))
        else:
            values.append(_decode(kind, data, head))
        head += WORD * kind.head_words
    return tuple(values)


def _word(data: bytes, start: int) -> bytes:
    if start + WORD > len(data):
        raise AbiError(f"data too short: a word at byte {start}, {len(data)} bytes given")
    return data[start : start + WORD]


def _read_uint(data: bytes, start: int, what: str) -> int:
    value = int.from_bytes(_word(data, start), "big")
    if value > len(data):
        raise AbiError(f"{what} {value} past the end of the data")
    return value


def _decode_base(kind: AbiType, data: bytes, start: int) -> Any:
    word = _word(data, start)
    value = int.from_bytes(word, "big")
    if kind.kind == "uint":
        assert kind.size is not None
        if value >> kind.size:
            raise AbiError(f"non-zero padding in a uint{kind.size}")
        return value
    if kind.kind == "int":
        assert kind.size is not None
        signed = value - (1 << 256) if value >> 255 else value
        if not -(1 << (kind.size - 1)) <= signed < 1 << (kind.size - 1):
            raise AbiError(f"bad sign extension in an int{kind.size}")
        return signed
    if kind.kind == "bool":
        if value > 1:
            raise AbiError(f"bool word holds {value}")
        return bool(value)
    if kind.kind == "address":
        if value >> 160:
            raise AbiError("non-zero padding in an address")
        return "0x" + word[12:].hex()
    if kind.kind == "fixed_bytes":
        assert kind.size is not None
        if any(word[kind.size :]):
            raise AbiError(f"non-zero padding in a bytes{kind.size}")
        return word[: kind.size]
    length = value
    body_start = start + WORD
    padded = -(-length // WORD) * WORD
    if body_start + padded > len(data):
        raise AbiError(f"{kind.kind} of {length} bytes past the end of the data")
    raw = data[body_start : body_start + length]
    if any(data[body_start + length : body_start + padded]):
        raise AbiError(f"non-zero padding after a {kind.kind}")
    if kind.kind == "string":
        try:
            return raw.decode()
        except UnicodeDecodeError as exc:
            raise AbiError(f"string is not UTF-8: {exc}") from None
    return raw
