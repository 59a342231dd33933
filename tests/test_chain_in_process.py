"""The in-process fast path of `Chain` (transactions straight to py-evm, logs read from its
blocks) against the web3 path it replaces: the same transactions, receipts, logs, errors
and chain state. The web3 path is the oracle; a chain with a block filter installed takes
it, since eth-tester must feed the filter on every block."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from arbitration.chain.base import Chain
from arbitration.chain.errors import ChainError
from arbitration.chain.in_process import ZERO_ADDRESS, InProcessChain
from arbitration.chain.receipt import Receipt
from arbitration.contracts.deploy import deploy_game
from arbitration.contracts.game import Game

GENESIS = 4_102_444_800  # one second per block: both chains stamp the same timestamps
BOND = 10**18


def play(chain: Chain) -> tuple[list[Receipt], list[ChainError], Game]:
    """The same sequence on any chain: deployments, a game, moves, and failing moves."""
    factory = deploy_game(chain).factory
    receipts = [chain.last_receipt]
    proposer, challenger = chain.accounts[1], chain.accounts[2]
    game, _, created = factory.create(proposer, keccak(b"pre"), keccak(b"claim"), 100, 60, BOND)
    receipts += [created, game.challenge(challenger, BOND)]
    lo, hi = 0, 100
    for round_ in range(3):
        mid = lo + (hi - lo) // 2
        receipts.append(game.bisect(proposer, 0, mid, keccak(bytes([round_]))))
        receipts.append(game.respond(challenger, 0, mid, round_ == 1))
        lo, hi = (mid, hi) if round_ == 1 else (lo, mid)
    failures = []
    for failing in (
        lambda: game.respond(challenger, 0, lo + (hi - lo) // 2, True),  # not its turn
        lambda: game.bisect(proposer, 0, 0, bytes(32)),  # wrong position
        # out of gas: above the intrinsic cost and EIP-7623's floor, far below the execution
        lambda: chain.transact(game._call("bisect", 0, 0, bytes(32)), proposer, gas=24_000),
        lambda: chain.transact(game._call("timeout", 0), proposer, gas=20_000),  # below intrinsic
    ):
        with pytest.raises(ChainError) as info:
            failing()
        failures.append(info.value)
    chain.advance_time(100)
    receipts.append(game.timeout(chain.accounts[3], 0))
    return receipts, failures, game


def comparable(receipt: Receipt) -> tuple:
    logs = [{k: v for k, v in log.items() if k != "blockHash"} for log in receipt.logs]
    return (receipt.tx_hash, receipt.status, receipt.gas_used, receipt.block_number,
            receipt.contract_address, logs)


@pytest.fixture(scope="module")
def played() -> tuple[Chain, Chain, tuple, tuple]:
    fast = InProcessChain.fresh(genesis_timestamp=GENESIS)
    web3 = InProcessChain.fresh(genesis_timestamp=GENESIS)
    blocks = web3.w3.eth.filter("latest")  # eth-tester feeds filters: the web3 path it is
    web3_played = play(web3)
    # every transaction's block went through eth-tester's mining, which fed the filter (the
    # fast path would have skipped it); the time travel's empty block is mined by the backend
    assert len(blocks.get_new_entries()) == web3.w3.eth.block_number - 1
    return fast, web3, play(fast), web3_played


def test_the_fast_path_sends_what_web3_sends(played) -> None:
    fast, web3, (fast_receipts, _, _), (web3_receipts, _, _) = played
    assert [comparable(r) for r in fast_receipts] == [comparable(r) for r in web3_receipts]
    assert fast.w3.eth.block_number == web3.w3.eth.block_number
    for account in fast.accounts[:4]:  # balances: same gas, same fees, same bonds
        assert fast.w3.eth.get_balance(account) == web3.w3.eth.get_balance(account)
    # what the fast path mined is served by web3 like any other block
    last = fast_receipts[-1]
    assert fast.w3.eth.get_transaction_receipt(last.tx_hash)["gasUsed"] == last.gas_used
    assert bytes(fast.w3.eth.get_block(last.block_number)["transactions"][0]) == last.tx_hash


def test_failures_raise_the_same_errors(played) -> None:
    _, _, (_, fast_failures, _), (_, web3_failures, _) = played
    described = [
        [(e.name, e.error_args, e.receipt.gas_used if e.receipt else None) for e in failures]
        for failures in (fast_failures, web3_failures)
    ]
    assert described[0] == described[1]
    names = [name for name, _, _ in described[0]]
    assert names == ["NotYourTurn", "WrongPosition", None, None]
    assert described[0][2][2] == 24_000  # out of gas: the whole limit is spent
    assert described[0][3][2] is None and "invalid transaction" in str(fast_failures[3])


def test_get_logs_reads_what_eth_get_logs_returns(played) -> None:
    fast, _, (_, _, game), _ = played
    head = fast.w3.eth.block_number
    for start in range(0, head + 2):
        ends = {"latest", head, max(start - 1, 0), min(start, head)}
        for end in ends:
            query = {"address": game.address, "fromBlock": start, "toBlock": end}
            expected = [dict(log) for log in fast.w3.eth.get_logs(query)]
            assert [dict(log) for log in fast.get_logs(game.address, start, end)] == expected
    # Challenged, 3 Bisected, 3 Responded, then TimedOut, ChallengeResolved, Resolved,
    # BondCredited (reverted moves log nothing; GameCreated is the factory's)
    assert len(fast.get_logs(game.address, 0)) == 11
    assert fast.get_logs(game.address, head + 1) == []


def test_nonces_follow_sends_by_web3_and_snapshot_reverts() -> None:
    chain = InProcessChain.fresh()
    sender, other = chain.accounts[1], chain.accounts[2]
    pay = chain.w3.eth.send_transaction

    def fast_send() -> Receipt:
        return chain.transact(_Transfer(other), sender, gas=21_000, value=1)

    fast_send()
    pay({"from": sender, "to": other, "value": 1, "gas": 21_000})  # behind the fast path
    fast_send()
    snapshot = chain.snapshot()
    fast_send()
    fast_send()
    chain.revert(snapshot)
    fast_send()
    assert chain.w3.eth.get_transaction_count(sender) == 4
    assert chain.w3.eth.get_balance(other) == 10**24 + 4


class _Transfer:
    """A plain value transfer in the (to, data) shape `Chain.transact` accepts."""

    def __init__(self, to: str) -> None:
        self.to = to
        self.data = b""


def test_the_same_moves_make_the_same_blocks() -> None:
    """Blocks repeat exactly, hashes included: PREVRANDAO is derived, not random."""
    hashes = []
    for _ in range(2):
        chain = InProcessChain.fresh(genesis_timestamp=GENESIS)
        receipts, _, _ = play(chain)
        hashes.append([chain.w3.eth.get_block(r.block_number)["hash"] for r in receipts])
    assert hashes[0] == hashes[1]
    assert len(set(hashes[0])) == len(hashes[0])  # one block per transaction


class MineAllChain(InProcessChain):
    """The fast path as it was: py-evm's own ``mine_all``, validation and read-back
    included."""

    @staticmethod
    def _mine(pyevm, transaction, mix_hash):  # type: ignore[no-untyped-def, override]
        result, receipts, computations = pyevm.mine_all(
            [transaction], coinbase=ZERO_ADDRESS, mix_hash=mix_hash
        )
        return result.imported_block, receipts[0], computations[0]


def test_mining_one_block_is_mine_all_without_its_checks() -> None:
    """`InProcessChain._mine` skips mine_all's validation of the block it built and its
    read-back: every block (hash, so state, transactions, receipts and logs roots), every
    receipt and every failure come out as mine_all makes them, time travel included."""
    ours, theirs = InProcessChain.fresh(genesis_timestamp=GENESIS), MineAllChain.fresh(
        genesis_timestamp=GENESIS
    )
    played = [play(chain) for chain in (ours, theirs)]
    assert [comparable(r) for r in played[0][0]] == [comparable(r) for r in played[1][0]]
    failures = [[(e.name, str(e), e.receipt and e.receipt.gas_used) for e in p[1]] for p in played]
    assert failures[0] == failures[1]
    head = ours.block_number()
    assert head == theirs.block_number() > 10
    for number in range(head + 1):
        mined = [c.pyevm.get_canonical_block_by_number(number) for c in (ours, theirs)]
        assert mined[0] == mined[1]
        assert mined[0].hash == mined[1].hash
    assert ours.pyevm.header == theirs.pyevm.header  # the pending block too
