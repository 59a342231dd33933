"""MerkleMemory.sol (through MerkleHarness) against a tiny Python sparse tree, on the
in-process Prague chain of arbitration.chain."""

from __future__ import annotations

import json
import random

import pytest
from eth_utils import keccak

from arbitration.chain.artifacts import BUILD_DIR, current_source_hash, load_artifact
from arbitration.chain.base import Chain
from arbitration.chain.errors import ChainError
from arbitration.chain.in_process import InProcessChain
from flexemu.multiproof import encode_tree

DEPTH = 27
LEAVES = 1 << DEPTH
LAST = LEAVES - 1

# ---- test-local sparse tree (the project's real one lives in flexemu/merkle.py) ------------

ZERO = [b"\x00" * 32]
for _ in range(DEPTH):
    ZERO.append(keccak(ZERO[-1] + ZERO[-1]))


class SparseTree:
    def __init__(self, leaves: dict[int, bytes] | None = None) -> None:
        self.leaves = dict(leaves or {})

    def _levels(self) -> list[dict[int, bytes]]:
        levels = [dict(self.leaves)]
        for i in range(DEPTH):
            cur, nxt = levels[-1], {}
            for p in {j >> 1 for j in cur}:
                nxt[p] = keccak(cur.get(2 * p, ZERO[i]) + cur.get(2 * p + 1, ZERO[i]))
            levels.append(nxt)
        return levels

    def root(self) -> bytes:
        return self._levels()[DEPTH].get(0, ZERO[DEPTH])

    def path(self, index: int) -> list[tuple[int, bytes]]:
        """(height, sibling hash) from the leaf up."""
        levels = self._levels()
        return [(i, levels[i].get((index >> i) ^ 1, ZERO[i])) for i in range(DEPTH)]


def random_tree(rng: random.Random, indices: list[int]) -> SparseTree:
    return SparseTree({i: rng.randbytes(32) for i in indices})


def flip(b: bytes, pos: int, mask: int = 0x01) -> bytes:
    return b[:pos] + bytes([b[pos] ^ mask]) + b[pos + 1 :]


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain() -> Chain:
    return InProcessChain.fresh()


@pytest.fixture(scope="module")
def harness(chain: Chain):
    return chain.deploy("MerkleHarness")


# ---- artifacts / chain ---------------------------------------------------------------------


def test_artifacts_are_fresh_and_pinned():
    expected = current_source_hash()
    names = sorted(p.stem for p in BUILD_DIR.glob("*.json"))
    assert "MerkleHarness" in names and "MerkleMemory" in names
    for name in names:
        art = load_artifact(name)
        assert art["sourceHash"] == expected, f"{name}.json is stale: run node contracts/compile.js"
        assert art["compiler"]["version"].startswith("0.8.28+")
        assert art["compiler"]["settings"] == {
            "evmVersion": "cancun",
            "optimizer": {"enabled": True, "runs": 200},
            "viaIR": False,
        }
        # byte-stable formatting: sorted keys, 2-space indent, trailing newline
        text = (BUILD_DIR / f"{name}.json").read_text()
        assert text == json.dumps(art, indent=2, sort_keys=True) + "\n"


def test_chain_is_prague(chain: Chain):
    assert chain.fork == "prague"
    assert len(chain.accounts) == 10
    assert chain.w3.eth.get_balance(chain.accounts[3]) == 10**24  # 1,000,000 ether


def test_snapshot_revert():
    ch = InProcessChain.fresh(num_accounts=2)
    assert len(ch.accounts) == 2
    snap = ch.snapshot()
    h = ch.deploy("MerkleHarness")
    assert ch.last_receipt.gas_used > 500_000 and ch.w3.eth.get_code(h.address)
    ch.revert(snap)
    assert ch.w3.eth.block_number == 0 and not ch.w3.eth.get_code(h.address)


def section(tree: SparseTree, indices: list[int]) -> bytes:
    """A multi-proof section (docs/spec.md section 10) of `indices` in `tree`."""
    indices = sorted(indices)
    paths = [[level[1] for level in tree.path(i)] for i in indices]
    return encode_tree(DEPTH, indices, [tree.leaves.get(i, ZERO[0]) for i in indices], paths)


def test_zero_tree_root_matches(chain: Chain, harness):
    # empty memory: the leaf is zero, every sibling is derived (no sibling sent), root Z27
    proof = section(SparseTree(), [12345])
    assert len(proof) == 4 + 32 + 32
    indices, leaves, root, nxt = chain.call(harness.functions.decode(proof, 1))
    assert (list(indices), list(leaves), root, nxt) == ([12345], [ZERO[0]], ZERO[DEPTH], len(proof))


# ---- decode / fold against the Python tree -------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_decode_and_update_match_python(chain: Chain, harness, seed: int):
    rng = random.Random(seed)
    k = rng.randrange(2, LEAVES // 2)
    indices = [0, 1, LAST, LAST - 1, 2 * k, 2 * k + 1] + [rng.randrange(LEAVES) for _ in range(4)]
    tree = random_tree(rng, indices)
    untouched = next(i for i in iter(lambda: rng.randrange(LEAVES), None) if i not in tree.leaves)
    for chosen in ([indices[0]], [untouched], indices[:2], [LAST - 1, LAST, untouched],
                   [2 * k, 2 * k + 1, 0, 1, LAST], [*indices[4:], untouched]):
        chosen = sorted(set(chosen))[:9]
        proof = section(tree, chosen)
        got, leaves, root, nxt = chain.call(harness.functions.decode(proof, len(chosen)))
        assert list(got) == chosen and nxt == len(proof)
        assert list(leaves) == [tree.leaves.get(i, ZERO[0]) for i in chosen]
        assert root == tree.root()
        news = [rng.randbytes(32) for _ in chosen]
        new_root = chain.call(harness.functions.update(proof, len(chosen), news))
        changed = dict(zip(chosen, news, strict=True))
        assert new_root == SparseTree({**tree.leaves, **changed}).root()


def test_peek_reads_the_first_leaf(chain: Chain, harness):
    tree = random_tree(random.Random(9), [3, 4])
    proof = section(tree, [3, 4])
    assert chain.call(harness.functions.peek(proof, 2)) == [3, tree.leaves[3]]
    _expect(chain, harness.functions.peek(proof[:70], 2), "ProofTruncated")


# ---- tampering -> named custom errors ------------------------------------------------------


@pytest.fixture(scope="module")
def sample():
    rng = random.Random(42)
    idx = 0b101_1010_0110_1001_1100_0011_0101  # 27 bits, mixed left/right turns
    tree = random_tree(rng, [idx, idx ^ 1, idx ^ (1 << 13), 0, LAST])
    return tree, idx, section(tree, [idx, idx ^ (1 << 13)])


def _expect(chain: Chain, fn_call, name: str, args: tuple | None = None) -> ChainError:
    with pytest.raises(ChainError) as ei:
        chain.call(fn_call)
    err = ei.value
    assert err.name == name, str(err)
    if args is not None:
        assert err.error_args == args
        assert str(err) == f"{name}({', '.join(map(str, args))})"
    return err


def _root(chain: Chain, harness, proof: bytes, count: int = 2) -> bytes:
    return chain.call(harness.functions.decode(proof, count))[2]


def test_sample_folds_to_the_root(chain: Chain, harness, sample):
    tree, _, proof = sample
    assert _root(chain, harness, proof) == tree.root()


def test_tampered_sibling_or_leaf_changes_the_root(chain: Chain, harness, sample):
    tree, _, proof = sample
    sent = (len(proof) - 2 * 36 - 32) // 32
    assert sent > 2
    for at in [72 + 32 + 32 * i + 7 for i in range(sent)] + [8 + 31, 8 + 32 + 5]:
        assert _root(chain, harness, flip(proof, at)) != tree.root(), at


@pytest.mark.parametrize("bit", [0, 5, 40])
def test_needed_bitmap_bits_change_what_is_read(chain: Chain, harness, sample, bit: int):
    tree, _, proof = sample
    bad = flip(proof, 72 + bit // 8, 0x80 >> (bit % 8))
    try:
        root = _root(chain, harness, bad)
    except ChainError as error:
        assert error.name in ("ProofTruncated", "ProofMalformed")
    else:
        assert root != tree.root()


def test_bitmap_bit_beyond_the_needs_is_malformed(chain: Chain, harness, sample):
    _, _, proof = sample
    _expect(chain, harness.functions.decode(flip(proof, 72 + 31), 2), "ProofMalformed", (72,))


@pytest.mark.parametrize("cut", [1, 32, 70, 104])
def test_truncated(chain: Chain, harness, sample, cut: int):
    _, _, proof = sample
    _expect(chain, harness.functions.decode(proof[:-cut], 2), "ProofTruncated", ())


def test_index_rules(chain: Chain, harness, sample):
    _, _, proof = sample
    outside = LEAVES.to_bytes(4, "big") + proof[4:]
    _expect(chain, harness.functions.decode(outside, 2), "ProofMalformed", (0,))
    swapped = proof[4:8] + proof[:4] + proof[8:]
    _expect(chain, harness.functions.decode(swapped, 2), "ProofMalformed", (4,))
    duplicate = proof[:4] + proof[:4] + proof[8:]
    _expect(chain, harness.functions.decode(duplicate, 2), "ProofMalformed", (4,))


def test_failed_transaction_carries_receipt_and_error(chain: Chain, harness, sample):
    _, _, proof = sample
    with pytest.raises(ChainError) as ei:
        chain.transact(harness.functions.decode(proof[:-1], 2), gas=200_000)
    err = ei.value
    assert err.name == "ProofTruncated" and err.error_args == ()
    assert err.receipt is not None and err.receipt.status == 0
    assert 21_000 < err.receipt.gas_used < 200_000  # REVERT refunds the unused gas


def test_out_of_gas_is_a_chain_error(chain: Chain, harness, sample):
    limit = 300_000
    with pytest.raises(ChainError) as ei:
        chain.deploy("MerkleHarness", gas=limit)
    assert ei.value.name is None
    assert ei.value.receipt.gas_used == limit


# ---- gas -----------------------------------------------------------------------------------


def test_intrinsic_gas_matches_pyevm(chain: Chain, harness, sample):
    _, _, proof = sample
    receipt = chain.transact(harness.functions.decode(proof, 2), gas=200_000)
    evm_tx = chain.backend.chain.get_canonical_transaction(receipt.tx_hash)
    assert Chain.intrinsic_gas(evm_tx.data) == evm_tx.intrinsic_gas


def test_gas_report(chain: Chain, harness, sample, capsys):
    tree, idx, proof = sample
    one = section(tree, [idx])
    _, decode_one = chain.call(harness.functions.decodeGas(one, 1))
    _, decode_two = chain.call(harness.functions.decodeGas(proof, 2))
    _, fold_one = chain.call(harness.functions.foldGas(one, 1))
    with capsys.disabled():
        print(
            f"\n[gas] MerkleMemory depth {DEPTH}: decode of 1 leaf {decode_one} ({len(one)} bytes),"
            f" of 2 leaves {decode_two} ({len(proof)} bytes); a fold of 1 leaf {fold_one}"
        )
    # loose ceilings so a regression is loud; not a benchmark
    assert decode_one < 12_000 and fold_one < 9_000 and decode_two < 20_000


# ---- error decoding without a contract -----------------------------------------------------


def test_error_decoder_standard_and_unknown():
    from eth_abi import encode
    from eth_tester.exceptions import TransactionFailed
    from eth_utils import function_signature_to_4byte_selector as sel

    from arbitration.chain.errors import ErrorDecoder, revert_data_from_exception

    dec = ErrorDecoder(load_artifact("MerkleHarness")["abi"])
    err = dec.to_error(sel("Error(string)") + encode(["string"], ["boom"]))
    assert (err.name, err.error_args, str(err)) == ("Error", ("boom",), "Error('boom')")
    err = dec.to_error(sel("Panic(uint256)") + encode(["uint256"], [0x11]))
    assert (err.name, err.error_args) == ("Panic", (0x11,))
    err = dec.to_error(sel("ProofMalformed(uint256)") + encode(["uint256"], [72]))
    assert str(err) == "ProofMalformed(72)"
    err = dec.to_error(b"\xde\xad\xbe\xef")
    assert err.name is None and err.data == b"\xde\xad\xbe\xef"
    assert dec.to_error(b"").name is None

    # the shape eth-tester 0.14 + web3 8 actually raise for custom errors
    data = sel("ProofTruncated()")
    raised = TransactionFailed(f"execution reverted: {data!r}")
    assert revert_data_from_exception(raised) == (data, str(raised))
    oog = TransactionFailed("execution reverted: Out of gas: Needed 12 - Remaining 9")
    assert revert_data_from_exception(oog)[0] is None
