"""The in-process chain without web3 and eth-tester: its genesis is eth-tester's, its ABI-only
contract handles read views exactly as web3's contract calls do (the oracle: web3 attached
to the same chain), and a whole simulated dispute loads neither library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from eth.vm.forks import PragueVM
from eth_utils import keccak

from arbitration.chain.artifacts import load_artifact
from arbitration.chain.errors import ChainError
from arbitration.chain.in_process import InProcessChain
from arbitration.contracts.deploy import deploy_game
from arbitration.contracts.events import FACTORY_ARTIFACT, GAME_ARTIFACT

REPO = Path(__file__).resolve().parents[1]
GENESIS = 4_102_444_800
BOND = 10**18


@pytest.mark.parametrize("accounts", [10, 13])
def test_genesis_and_accounts_are_eth_testers(accounts: int) -> None:
    from eth_tester import PyEVMBackend

    tester = PyEVMBackend(
        genesis_parameters=PyEVMBackend.generate_genesis_params(overrides={"timestamp": GENESIS}),
        genesis_state=PyEVMBackend.generate_genesis_state(num_accounts=accounts),
        vm_configuration=((0, PragueVM),),
    )
    chain = InProcessChain.fresh(num_accounts=accounts, genesis_timestamp=GENESIS)
    assert chain.pyevm.get_canonical_head() == tester.chain.get_canonical_head()
    assert chain.pyevm.header == tester.chain.header  # the pending block too
    assert chain.pyevm.chain_id == tester.chain.chain_id
    assert chain.accounts == list(chain.w3.eth.accounts)
    assert len(chain.accounts) == accounts


@pytest.fixture(scope="module")
def game_chain() -> tuple[InProcessChain, str, str]:
    """A chain with a factory, a game, a challenge and one bisection on it."""
    chain = InProcessChain.fresh(genesis_timestamp=GENESIS)
    factory = deploy_game(chain).factory
    proposer, challenger = chain.accounts[1], chain.accounts[2]
    game, _, _ = factory.create(proposer, keccak(b"pre"), keccak(b"claim"), 100, 60, BOND)
    game.challenge(challenger, BOND)
    game.bisect(proposer, 0, 50, keccak(b"mid"))
    return chain, factory.address, game.address


def _views(artifact: str) -> list[dict]:
    return [
        e
        for e in load_artifact(artifact)["abi"]
        if e.get("type") == "function" and e["stateMutability"] in ("view", "pure")
    ]


def _arguments(entry: dict, chain: InProcessChain) -> tuple:
    values = {"uint256": 0, "uint32": 2, "address": chain.accounts[2]}
    return tuple(values[i["type"]] for i in entry["inputs"])


@pytest.mark.parametrize("artifact", [GAME_ARTIFACT, FACTORY_ARTIFACT])
def test_views_decode_as_web3s_contract_calls(game_chain, artifact: str) -> None:
    chain, factory, game = game_chain
    address = game if artifact == GAME_ARTIFACT else factory
    lean = chain.at(artifact, address)
    oracle = chain.w3.eth.contract(address=address, abi=load_artifact(artifact)["abi"])
    head = chain.block_number()
    for entry in _views(artifact):
        args = _arguments(entry, chain)
        for block in ("latest", head - 1):  # the block's state and its timestamp
            ours = chain.call(getattr(lean.functions, entry["name"])(*args), block=block)
            theirs = getattr(oracle.functions, entry["name"])(*args).call(block_identifier=block)
            assert ours == theirs, entry["name"]
            assert type(ours) is type(theirs), entry["name"]


def test_a_reverting_view_raises_what_the_web3_path_raises(game_chain) -> None:
    chain, _, game = game_chain
    lean = chain.at(GAME_ARTIFACT, game)
    with pytest.raises(ChainError) as ours:
        chain.call(lean.functions.challengeState(7))  # no such challenge
    with pytest.raises(ChainError) as theirs:  # an explicit gas limit takes the web3 path
        chain.call(lean.functions.challengeState(7), gas=5_000_000)
    assert (ours.value.name, ours.value.error_args) == (theirs.value.name, theirs.value.error_args)
    assert str(ours.value) == str(theirs.value)


def test_transaction_inputs_and_blocks_read_from_pyevm_match_web3s(game_chain) -> None:
    chain, _, _ = game_chain
    receipt = chain.last_receipt
    assert chain.transaction_input(receipt.tx_hash) == bytes(
        chain.w3.eth.get_transaction(receipt.tx_hash)["input"]
    )
    assert chain.block_number() == chain.w3.eth.block_number
    assert chain.now() == chain.w3.eth.get_block("latest")["timestamp"]
    assert chain.block_timestamp(1) == chain.w3.eth.get_block(1)["timestamp"]


def test_a_simulated_dispute_loads_neither_web3_nor_eth_tester() -> None:
    script = (
        "import sys, json\n"
        "from arbitration.simulation.scenario import load_scenario\n"
        "from arbitration.simulation.simulator import simulate\n"
        "outcome = simulate(load_scenario(sys.argv[1]))\n"
        "loaded = sorted(m for m in ('web3', 'eth_tester', 'eth_account') if m in sys.modules)\n"
        "print(json.dumps({'loaded': loaded, 'winner': outcome.winner}))\n"
    )
    scenario = REPO / "scenarios" / "lying-proposer-first-step.yaml"
    done = subprocess.run(
        [sys.executable, "-c", script, str(scenario)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["loaded"] == []
    assert report["winner"] == "challenger"
