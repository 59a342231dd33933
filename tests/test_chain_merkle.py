"""MerkleMemory.sol (through MerkleHarness) against a tiny Python sparse tree, on the
in-process Cancun chain of arbitration.chain."""

from __future__ import annotations

import json
import random

import pytest
from eth_utils import keccak

from arbitration.chain.artifacts import BUILD_DIR, current_source_hash, load_artifact
from arbitration.chain.base import Chain
from arbitration.chain.errors import ChainError
from arbitration.chain.in_process import InProcessChain

DEPTH = 27
LEAVES = 1 << DEPTH
PROOF_SIZE = 4 + 32 + 32 * DEPTH
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

    def proof(self, index: int) -> bytes:
        levels = self._levels()
        sib = [levels[i].get((index >> i) ^ 1, ZERO[i]) for i in range(DEPTH)]
        leaf = self.leaves.get(index, ZERO[0])
        return index.to_bytes(4, "big") + leaf + b"".join(sib)


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


def test_chain_is_cancun(chain: Chain):
    assert chain.fork == "cancun"
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


def test_zero_tree_root_matches(chain: Chain, harness):
    # empty memory: the leaf is zero and the root is Z27
    proof = SparseTree().proof(12345)
    assert len(proof) == PROOF_SIZE
    assert chain.call(harness.functions.verify(ZERO[DEPTH], 12345, proof)) == ZERO[0]


# ---- verify / update against the Python tree -----------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_verify_and_update_match_python(chain: Chain, harness, seed: int):
    rng = random.Random(seed)
    k = rng.randrange(2, LEAVES // 2)
    indices = [0, 1, LAST, LAST - 1, 2 * k, 2 * k + 1] + [rng.randrange(LEAVES) for _ in range(4)]
    tree = random_tree(rng, indices)
    root = tree.root()
    untouched = next(i for i in iter(lambda: rng.randrange(LEAVES), None) if i not in tree.leaves)
    for idx in [*indices, untouched]:
        proof = tree.proof(idx)
        leaf = chain.call(harness.functions.verify(root, idx, proof))
        assert leaf == tree.leaves.get(idx, ZERO[0])

        new_leaf = rng.randbytes(32)
        new_root = chain.call(harness.functions.update(root, idx, proof, new_leaf))
        updated = SparseTree({**tree.leaves, idx: new_leaf})
        assert new_root == updated.root()
        # the new root verifies the new leaf with the very same siblings
        new_proof = proof[:4] + new_leaf + proof[36:]
        assert chain.call(harness.functions.verify(new_root, idx, new_proof)) == new_leaf


def test_consecutive_proofs_share_one_blob(chain: Chain, harness):
    rng = random.Random(7)
    indices = [0, 5, 6, LAST, 1 << 20]
    tree = random_tree(rng, indices)
    blob = b"".join(tree.proof(i) for i in indices)
    leaves, nxt = chain.call(harness.functions.verifyConsecutive(tree.root(), indices, blob))
    assert list(leaves) == [tree.leaves[i] for i in indices]
    assert nxt == len(blob) == PROOF_SIZE * len(indices)

    # threaded updates: proof k is taken against the tree after updates 0..k-1
    cur = SparseTree(tree.leaves)
    proofs, news = [], []
    for i in indices:
        proofs.append(cur.proof(i))
        news.append(rng.randbytes(32))
        cur.leaves[i] = news[-1]
    root, nxt = chain.call(
        harness.functions.updateConsecutive(tree.root(), indices, b"".join(proofs), news)
    )
    assert root == cur.root() and nxt == PROOF_SIZE * len(indices)

    # one proof too few in the blob
    with pytest.raises(ChainError) as ei:
        chain.call(harness.functions.verifyConsecutive(tree.root(), indices, blob[:-PROOF_SIZE]))
    assert ei.value.name == "ProofTruncated"


def test_peek_reads_header_unverified(chain: Chain, harness):
    tree = random_tree(random.Random(9), [3, 4])
    blob = tree.proof(3) + flip(tree.proof(4), 100)  # second proof is bogus: peek won't care
    assert chain.call(harness.functions.peek(blob, 0)) == [3, tree.leaves[3]]
    assert chain.call(harness.functions.peek(blob, PROOF_SIZE)) == [4, tree.leaves[4]]
    with pytest.raises(ChainError) as ei:
        chain.call(harness.functions.peek(blob, PROOF_SIZE + 1))
    assert ei.value.name == "ProofTruncated"


# ---- tampering -> named custom errors ------------------------------------------------------


@pytest.fixture(scope="module")
def sample():
    rng = random.Random(42)
    idx = 0b101_1010_0110_1001_1100_0011_0101  # 27 bits, mixed left/right turns
    tree = random_tree(rng, [idx, idx ^ 1, idx ^ (1 << 13), 0, LAST])
    return tree, idx, tree.proof(idx)


def _expect(chain: Chain, fn_call, name: str, args: tuple = ()) -> ChainError:
    with pytest.raises(ChainError) as ei:
        chain.call(fn_call)
    err = ei.value
    assert err.name == name, str(err)
    assert err.error_args == args
    assert str(err) == f"{name}({', '.join(map(str, args))})"
    return err


@pytest.mark.parametrize("level", [0, 1, 13, 26])
def test_tampered_sibling(chain: Chain, harness, sample, level: int):
    tree, idx, proof = sample
    bad = flip(proof, 36 + 32 * level + 7)
    _expect(chain, harness.functions.verify(tree.root(), idx, bad), "MerkleProofInvalid", (idx,))
    _expect(
        chain,
        harness.functions.update(tree.root(), idx, bad, b"\x11" * 32),
        "MerkleProofInvalid",
        (idx,),
    )


def test_tampered_leaf(chain: Chain, harness, sample):
    tree, idx, proof = sample
    bad = flip(proof, 4 + 31, 0x80)
    _expect(chain, harness.functions.verify(tree.root(), idx, bad), "MerkleProofInvalid", (idx,))


def test_wrong_root(chain: Chain, harness, sample):
    tree, idx, proof = sample
    _expect(
        chain,
        harness.functions.verify(flip(tree.root(), 0), idx, proof),
        "MerkleProofInvalid",
        (idx,),
    )


@pytest.mark.parametrize("byte,mask", [(3, 0x01), (0, 0x80), (1, 0x04)])
def test_tampered_index(chain: Chain, harness, sample, byte: int, mask: int):
    tree, idx, proof = sample
    bad = flip(proof, byte, mask)
    given = int.from_bytes(bad[:4], "big")
    _expect(
        chain,
        harness.functions.verify(tree.root(), idx, bad),
        "MerkleProofWrongLeaf",
        (idx, given),
    )


def test_valid_proof_for_another_leaf(chain: Chain, harness, sample):
    tree, idx, _ = sample
    other = tree.proof(idx ^ 1)
    _expect(
        chain,
        harness.functions.verify(tree.root(), idx, other),
        "MerkleProofWrongLeaf",
        (idx, idx ^ 1),
    )


@pytest.mark.parametrize("cut", [1, 32, PROOF_SIZE])
def test_truncated(chain: Chain, harness, sample, cut: int):
    tree, idx, proof = sample
    _expect(chain, harness.functions.verify(tree.root(), idx, proof[:-cut]), "ProofTruncated")
    _expect(
        chain,
        harness.functions.update(tree.root(), idx, proof[:-cut], b"\x00" * 32),
        "ProofTruncated",
    )


def test_index_out_of_range(chain: Chain, harness, sample):
    tree, _, _ = sample
    proof = LEAVES.to_bytes(4, "big") + bytes(PROOF_SIZE - 4)
    _expect(
        chain,
        harness.functions.verify(tree.root(), LEAVES, proof),
        "LeafIndexOutOfRange",
        (LEAVES,),
    )


def test_failed_transaction_carries_receipt_and_error(chain: Chain, harness, sample):
    tree, idx, proof = sample
    with pytest.raises(ChainError) as ei:
        chain.transact(harness.functions.verify(tree.root(), idx, flip(proof, 100)), gas=200_000)
    err = ei.value
    assert err.name == "MerkleProofInvalid" and err.error_args == (idx,)
    assert err.receipt is not None and err.receipt.status == 0
    assert 21_000 < err.receipt.gas_used < 200_000  # REVERT refunds the unused gas


def test_out_of_gas_is_a_chain_error(chain: Chain, harness, sample):
    tree, idx, proof = sample
    with pytest.raises(ChainError) as ei:
        chain.transact(harness.functions.verify(tree.root(), idx, proof), gas=40_000)
    assert ei.value.name is None
    assert ei.value.receipt.gas_used == 40_000


# ---- gas -----------------------------------------------------------------------------------


def test_intrinsic_gas_matches_pyevm(chain: Chain, harness, sample):
    tree, idx, proof = sample
    receipt = chain.transact(harness.functions.verify(tree.root(), idx, proof), gas=200_000)
    evm_tx = chain.backend.chain.get_canonical_transaction(receipt.tx_hash)
    assert Chain.intrinsic_gas(evm_tx.data) == evm_tx.intrinsic_gas


def test_gas_report(chain: Chain, harness, sample, capsys):
    tree, idx, proof = sample
    root, new_leaf = tree.root(), b"\x5a" * 32
    v_exec = chain.execution_gas(harness.functions.verify(root, idx, proof))
    v_tx = chain.last_receipt.gas_used
    u_exec = chain.execution_gas(harness.functions.update(root, idx, proof, new_leaf))
    u_tx = chain.last_receipt.gas_used
    _, v_lib = chain.call(harness.functions.verifyGas(root, idx, proof))
    _, u_lib = chain.call(harness.functions.updateGas(root, idx, proof, new_leaf))
    with capsys.disabled():
        print(
            f"\n[gas] MerkleMemory depth {DEPTH}: verify library={v_lib} execution={v_exec} "
            f"tx={v_tx}; update library={u_lib} execution={u_exec} tx={u_tx}"
        )
    # loose ceilings so a regression is loud; not a benchmark
    assert v_lib < 3_500 and u_lib < 6_200
    assert v_lib < v_exec < v_lib + 1_500 and u_lib < u_exec < u_lib + 1_500
    assert v_tx > v_exec + 21_000 and u_tx > u_exec + 21_000


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
    err = dec.to_error(sel("MerkleProofWrongLeaf(uint32,uint32)") + encode(["uint32"] * 2, [1, 2]))
    assert str(err) == "MerkleProofWrongLeaf(1, 2)"
    err = dec.to_error(b"\xde\xad\xbe\xef")
    assert err.name is None and err.data == b"\xde\xad\xbe\xef"
    assert dec.to_error(b"").name is None

    # the shape eth-tester 0.14 + web3 8 actually raise for custom errors
    data = sel("ProofTruncated()")
    raised = TransactionFailed(f"execution reverted: {data!r}")
    assert revert_data_from_exception(raised) == (data, str(raised))
    oog = TransactionFailed("execution reverted: Out of gas: Needed 12 - Remaining 9")
    assert revert_data_from_exception(oog)[0] is None
