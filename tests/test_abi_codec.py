"""The chain layer's own ABI codec, addresses, RLP and transaction signing against the libraries
they replace on the start-up path (eth-abi, eth-utils, rlp, eth-keys): same bytes, same values.

Random values of every type our contracts' ABIs use (and a few they may come to use), nested in
arrays and tuples; both directions; strict decoding refuses what eth-abi refuses.
"""

from __future__ import annotations

import json

import eth_abi
import pytest
import rlp
from eth_keys import keys
from eth_utils import (
    event_abi_to_log_topic,
    function_abi_to_4byte_selector,
    keccak,
    to_bytes,
    to_checksum_address,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from arbitration.chain import abi_codec, hexdata
from arbitration.chain.accounts import account_keys, account_secrets
from arbitration.chain.artifacts import BUILD_DIR
from arbitration.chain.typed_transaction import (
    address_of,
    dynamic_fee_transaction_hash,
    rlp_encode,
)

WORD_32 = (32).to_bytes(32, "big")  # the offset of the first dynamic value
BASE_TYPES = ["uint8", "uint32", "uint64", "uint256", "int8", "int256", "address", "bool",
              "bytes4", "bytes32", "bytes", "string"]  # fmt: skip


def _value(kind: str) -> st.SearchStrategy:
    if kind.endswith("]"):
        start = kind.rindex("[")
        item, length = kind[:start], kind[start + 1 : -1]
        items = st.lists(_value(item), min_size=int(length or 0), max_size=int(length or 4))
        return items.map(tuple)
    if kind.startswith("("):
        return st.tuples(*(_value(k) for k in abi_codec._split(kind[1:-1])))
    if kind.startswith("uint"):
        return st.integers(0, 2 ** int(kind[4:]) - 1)
    if kind.startswith("int"):
        bits = int(kind[3:])
        return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if kind == "address":
        return st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
    if kind == "bool":
        return st.booleans()
    if kind == "bytes":
        return st.binary(max_size=100)
    if kind == "string":
        return st.text(max_size=40)
    return st.binary(min_size=int(kind[5:]), max_size=int(kind[5:]))


_kinds = st.recursive(
    st.sampled_from(BASE_TYPES),
    lambda inner: st.one_of(
        inner.map(lambda k: k + "[]"),
        st.tuples(inner, st.integers(1, 3)).map(lambda p: f"{p[0]}[{p[1]}]"),
        st.lists(inner, min_size=1, max_size=3).map(lambda ks: "(" + ",".join(ks) + ")"),
    ),
    max_leaves=6,
)
_cases = st.lists(_kinds, min_size=0, max_size=4).flatmap(
    lambda kinds: st.tuples(st.just(kinds), st.tuples(*(_value(k) for k in kinds)))
)


@settings(max_examples=300, deadline=None)
@given(_cases)
def test_encoding_and_decoding_agree_with_eth_abi(case: tuple[list[str], tuple]) -> None:
    kinds, values = case
    encoded = abi_codec.encode(kinds, values)
    assert encoded == eth_abi.encode(kinds, values)
    assert abi_codec.decode(kinds, encoded) == eth_abi.decode(kinds, encoded)


@pytest.mark.parametrize(
    ("kinds", "data"),
    [
        (["uint8"], (256).to_bytes(32, "big")),  # non-zero padding
        (["bool"], (2).to_bytes(32, "big")),
        (["address"], (1 << 160).to_bytes(32, "big")),
        (["bytes4"], bytes.fromhex("11223344") + b"\x01" + bytes(27)),
        (["bytes"], WORD_32 + (5).to_bytes(32, "big") + b"abcde" + b"\x01" + bytes(26)),
        (["bytes"], WORD_32 + (64).to_bytes(32, "big") + bytes(32)),  # too short
        (["uint256"], bytes(31)),
        (["uint256[]"], WORD_32 + (2**64).to_bytes(32, "big")),
    ],
)
def test_strict_decoding_refuses_what_eth_abi_refuses(kinds: list[str], data: bytes) -> None:
    with pytest.raises(Exception):  # noqa: B017 - eth-abi's own error classes vary
        eth_abi.decode(kinds, data)
    with pytest.raises(abi_codec.AbiError):
        abi_codec.decode(kinds, data)


@pytest.mark.parametrize(
    ("kind", "value"),
    [("uint8", 256), ("uint256", -1), ("int8", 128), ("bool", 1), ("bytes4", b"12345"),
     ("address", "0x1234"), ("uint32[2]", (1,)), ("(uint8,bool)", (1,)), ("bytes", "text")],
)  # fmt: skip
def test_encoding_refuses_values_that_do_not_fit(kind: str, value: object) -> None:
    with pytest.raises(abi_codec.AbiError):
        abi_codec.encode([kind], [value])


def test_selectors_and_topics_of_every_artifact_match_eth_utils() -> None:
    checked = 0
    for path in sorted(BUILD_DIR.glob("*.json")):
        for entry in json.loads(path.read_text())["abi"]:
            if entry.get("type") == "function":
                assert abi_codec.function_selector(entry) == function_abi_to_4byte_selector(entry)
                checked += 1
            elif entry.get("type") == "event":
                assert abi_codec.event_topic(entry) == event_abi_to_log_topic(entry)
                checked += 1
    assert checked > 50


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=20, max_size=20))
def test_checksum_addresses_match_eth_utils(raw: bytes) -> None:
    expected = to_checksum_address(raw)
    assert hexdata.to_checksum_address(raw) == expected
    assert hexdata.to_checksum_address(expected.lower()) == expected
    assert hexdata.to_canonical_address(expected) == raw


@pytest.mark.parametrize("text", ["0x", "0x0", "0xabc", "0x00ff", "ff"])
def test_hex_to_bytes_reads_hex_as_eth_utils_does(text: str) -> None:
    assert hexdata.hex_to_bytes(text) == to_bytes(hexstr=text)


_rlp_items = st.recursive(
    st.one_of(st.integers(0, 2**256), st.binary(max_size=80)),
    lambda inner: st.lists(inner, max_size=5),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_rlp_items)
def test_rlp_encoding_matches_the_rlp_library(item: object) -> None:
    assert rlp_encode(item) == rlp.encode(item)  # type: ignore[arg-type]


def test_keys_addresses_and_transaction_hashes_match_eth_keys() -> None:
    """The revm host's signing gives py-evm's transaction hash: same signature, same RLP."""
    for secret, key in zip(account_secrets(4), account_keys(4), strict=True):
        assert address_of(secret) == key.public_key.to_canonical_address()
        cases = ((0, b"", bytes(20)), (7, b"\x01" * 300, b""), (2**20, b"x", b"\xaa" * 20))
        for nonce, data, to in cases:
            fields = [131277322940537, nonce, 10**9, 10**9, 500_000, to, 3, data, []]
            signature = key.sign_msg_hash(keccak(b"\x02" + rlp.encode(fields)))
            expected = keccak(
                b"\x02" + rlp.encode([*fields, signature.v, signature.r, signature.s])
            )
            assert dynamic_fee_transaction_hash(
                secret, chain_id=fields[0], nonce=nonce, fee_per_gas=10**9, gas=500_000,
                to=to, value=3, data=data,
            ) == expected  # fmt: skip
    assert isinstance(account_keys(1)[0], keys.PrivateKey)
