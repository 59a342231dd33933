"""`RpcChain` against a real anvil: deployment, revert decoding, nonces, retries, time.

The network faults come from `FaultyProxy`, a real HTTP proxy in front of the real node that
refuses connections, answers 502, or forwards a transaction and loses the node's reply (the
case where resending blindly would send twice).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from anvil_support import FaultyProxy, anvil_or_skip, faults, require_anvil, unused_port
from eth_account import Account

from arbitration.chain.anvil import AnvilNode, running_anvil
from arbitration.chain.errors import ChainError
from arbitration.chain.in_process import InProcessChain
from arbitration.chain.rpc import NodeUnavailableError, RetryPolicy, RpcChain
from arbitration.cli import emulator_commands, node_commands

COMMANDS = (emulator_commands, node_commands)  # imported to register them on `app`

#: anvil's dev accounts come from this public test mnemonic.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
FAST = RetryPolicy(attempts=8, first_delay=0.05, max_delay=1.0)
HARNESS_GAS = 3_000_000
#: `peek` with a 5-byte proof reverts ProofTruncated() in MerkleMemory.
SHORT_PROOF = (b"\x01" * 5, 3)


@pytest.fixture(scope="module")
def node() -> Iterator[AnvilNode]:
    with anvil_or_skip() as running:
        yield running


def anvil_key(index: int) -> str:
    Account.enable_unaudited_hdwallet_features()
    account = Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return account.key.hex()


def nonce_of(chain: RpcChain, account: str) -> int:
    return chain.w3.eth.get_transaction_count(account)


def test_description_names_the_node(node: AnvilNode) -> None:
    chain = RpcChain(node.url)
    assert chain.description == f"anvil/v1.7.1 (cancun, chain id 31337, {node.url})"
    assert len(chain.accounts) == 10


def test_gas_and_revert_reasons_match_the_in_process_chain(node: AnvilNode) -> None:
    """Two EVM implementations on the same fork must charge the same gas and revert alike."""
    local, remote = InProcessChain.fresh(), RpcChain(node.url)
    receipts = []
    for chain in (local, remote):
        harness = chain.deploy("MerkleHarness", gas=HARNESS_GAS)
        deployed = chain.last_receipt
        with pytest.raises(ChainError) as sent:
            chain.transact(harness.functions.peek(*SHORT_PROOF), gas=1_000_000)
        with pytest.raises(ChainError) as called:
            chain.call(harness.functions.peek(*SHORT_PROOF))
        assert sent.value.name == called.value.name == "ProofTruncated"
        assert sent.value.receipt is not None and sent.value.receipt.status == 0
        receipts.append((deployed.gas_used, sent.value.receipt.gas_used))
    assert receipts[0] == receipts[1]
    assert [i.kind for i in remote.incidents] == ["revert"]


def test_a_nonce_used_behind_the_chains_back_is_refreshed(node: AnvilNode) -> None:
    chain, other_process = RpcChain(node.url), RpcChain(node.url)
    sender = chain.accounts[1]
    chain.deploy("MerkleHarness", sender=sender, gas=HARNESS_GAS)  # caches the next nonce
    before = nonce_of(chain, sender)
    other_process.deploy("MerkleHarness", sender=sender, gas=HARNESS_GAS)
    chain.deploy("MerkleHarness", sender=sender, gas=HARNESS_GAS)
    assert nonce_of(chain, sender) == before + 2
    assert [i.kind for i in chain.incidents] == ["nonce"]
    assert f"nonce {before} of {sender} was already used" in chain.incidents[0].detail


@pytest.mark.parametrize("signer", ["node", "local key"])
def test_a_send_whose_reply_was_lost_is_not_sent_twice(node: AnvilNode, signer: str) -> None:
    method = "eth_sendTransaction" if signer == "node" else "eth_sendRawTransaction"
    key = anvil_key(3) if signer == "local key" else None
    with FaultyProxy(node.url, faults(**{method: ["lose_reply"]})) as proxy:
        chain = RpcChain(proxy.url, policy=FAST, private_key=key)
        sender = chain.accounts[0] if key else chain.accounts[2]
        before = nonce_of(chain, sender)
        harness = chain.deploy("MerkleHarness", sender=sender, gas=HARNESS_GAS)
        assert nonce_of(chain, sender) == before + 1  # one transaction, not two
        assert chain.w3.eth.get_code(harness.address)
        assert proxy.seen[method] == 1
        assert [i.kind for i in chain.incidents] == ["retry", "resend"]


def test_refused_and_failing_requests_are_retried(node: AnvilNode) -> None:
    plan = faults(
        eth_sendTransaction=["refuse", "502"],
        eth_call=["502", "refuse", "502"],
        eth_getTransactionReceipt=["refuse"],
    )
    with FaultyProxy(node.url, plan) as proxy:
        chain = RpcChain(proxy.url, policy=FAST)
        sender = chain.accounts[4]
        before = nonce_of(chain, sender)
        harness = chain.deploy("MerkleHarness", sender=sender, gas=HARNESS_GAS)
        with pytest.raises(ChainError, match="ProofTruncated"):
            chain.call(harness.functions.peek(*SHORT_PROOF))
        assert nonce_of(chain, sender) == before + 1
        assert proxy.seen["eth_sendTransaction"] == 3
        assert proxy.seen["eth_call"] == 4
    kinds = [i.kind for i in chain.incidents]
    assert kinds.count("retry") == 2 + 3 + 1 and "resend" not in kinds


def test_a_node_that_stays_away_is_reported_not_retried_forever(node: AnvilNode) -> None:
    plan = faults(eth_chainId=["502"] * 3)
    with FaultyProxy(node.url, plan) as proxy:
        chain = RpcChain(proxy.url, policy=RetryPolicy(attempts=3, first_delay=0.01))
        gave_up = r"eth_chainId: .* after 3 attempts \(HTTP 502\)"
        with pytest.raises(NodeUnavailableError, match=gave_up):
            _ = chain.chain_id


def test_a_node_started_late_is_waited_for() -> None:
    require_anvil()
    port = unused_port()
    chain = RpcChain(f"http://127.0.0.1:{port}", policy=RetryPolicy(attempts=12))
    answers: list[int] = []
    asking = threading.Thread(target=lambda: answers.append(chain.chain_id))
    asking.start()
    while not chain.incidents:  # wait until the first request has been refused
        asking.join(0.05)
    with running_anvil(port=port):
        asking.join()
    assert answers == [31337]
    assert chain.incidents[0].kind == "retry"
    assert "(connection refused)" in chain.incidents[0].detail


@pytest.mark.parametrize("seconds_per_block", [None, 1])
def test_time_advances_with_the_nodes_methods(seconds_per_block: int | None) -> None:
    """Both with anvil's wall-clock blocks and with fixed-interval blocks (which ignore
    evm_increaseTime)."""
    with anvil_or_skip(seconds_per_block=seconds_per_block) as fresh:
        chain = RpcChain(fresh.url)
        before = chain.now()
        chain.advance_time(3600)
        assert chain.now() >= before + 3600  # anvil adds the wall time passed since `before`
        chain.transact(chain.contract_factory("MerkleHarness").constructor(), gas=HARNESS_GAS)
        assert chain.now() >= before + 3600
    assert chain.incidents == []


def test_time_is_waited_for_on_a_node_without_time_travel() -> None:
    """A fresh node, so its clock is the wall clock (no earlier time travel)."""
    missing = {"code": -32601, "message": "the method does not exist/is not available"}
    plan = faults(evm_setNextBlockTimestamp=[missing], evm_increaseTime=[missing])
    with anvil_or_skip() as fresh, FaultyProxy(fresh.url, plan) as proxy:
        chain = RpcChain(proxy.url)
        before = chain.now()
        chain.advance_time(1)
        chain.advance_time(1)  # remembers that the node has no time travel
        assert chain.now() >= before + 2
        assert proxy.seen["evm_increaseTime"] == 1 and proxy.seen["evm_mine"] == 0
    assert [i.kind for i in chain.incidents] == ["time"]
    assert "waiting for chain time in real time" in chain.incidents[0].detail
