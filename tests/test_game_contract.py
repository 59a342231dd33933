"""DisputeGame and DisputeGameFactory on the in-process chain: every rule and named error,
the chess clocks, timeouts, the single resolution, bonds and events (docs/game.md).

The step phase runs against the real MipsVerifier with real proofs of tiny_sum; the
emulator's trace is the oracle for which party must win.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from eth_utils import keccak

from arbitration.chain.base import Chain
from arbitration.chain.errors import ChainError
from arbitration.chain.in_process import InProcessChain
from arbitration.contracts.deploy import deploy_game
from arbitration.contracts.enums import GameStatus, Party, Reason
from arbitration.contracts.events import GAME_ARTIFACT
from arbitration.contracts.game import Game, GameFactory, GameWatcher
from arbitration.contracts.view import GameView
from flexemu.proof import prove

GENESIS = 4_102_444_800  # far ahead of the wall clock: one second per block, exactly
CLOCK = 600
BOND = 10**18
PRE = keccak(b"pre-state")
CLAIM = keccak(b"claim")
N = 1000


@pytest.fixture(scope="module")
def chain() -> Chain:
    return InProcessChain.fresh(genesis_timestamp=GENESIS)


@pytest.fixture(scope="module")
def factory(chain: Chain) -> GameFactory:
    return deploy_game(chain).factory


@pytest.fixture(scope="module")
def parties(chain: Chain) -> tuple[str, str, str]:
    """(proposer, challenger, bystander) accounts."""
    return chain.accounts[1], chain.accounts[2], chain.accounts[3]


def reverts(name: str, action: Callable[[], Any]) -> tuple:
    with pytest.raises(ChainError) as info:
        action()
    assert info.value.name == name, str(info.value)
    return info.value.error_args


def new_game(
    factory: GameFactory,
    proposer: str,
    pre: bytes = PRE,
    claim: bytes = CLAIM,
    n: int = N,
    clock: int = CLOCK,
    bond: int = BOND,
) -> tuple[Game, GameView]:
    game, view, _ = factory.create(proposer, pre, claim, n, clock, bond)
    return game, view


def challenged_game(
    factory: GameFactory, parties: tuple[str, str, str], **claim: Any
) -> Game:
    """A new game (see new_game for the claim's fields), challenged with an equal bond."""
    game, _ = new_game(factory, parties[0], **claim)
    game.challenge(parties[1], BOND)
    return game


def events(game: Game, receipt: Any) -> list[tuple[str, dict]]:
    return [(e.name, e.args) for e in game.events(receipt)]


def balance(chain: Chain, account: str) -> int:
    return chain.w3.eth.get_balance(account)


# ---- creation ---------------------------------------------------------------------------


def test_create_binds_the_claim_and_emits_game_created(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer = parties[0]
    before = chain.call(factory.contract.functions.gameCount())
    game, view, receipt = factory.create(proposer, PRE, CLAIM, N, CLOCK, BOND)
    created = next(e for e in factory.decoder.decode_all(receipt.logs) if e.name == "GameCreated")
    assert created.args == {
        "game": game.address,
        "proposer": proposer,
        "absolutePreState": PRE,
        "claim": CLAIM,
        "traceLength": N,
        "clockSeconds": CLOCK,
        "bond": BOND,
        "timestamp": chain.now(),
    }
    assert chain.call(factory.contract.functions.gameCount()) == before + 1
    assert chain.call(factory.contract.functions.games(before)) == game.address
    assert factory.verifier() == chain.call(game.contract.functions.verifier())
    assert chain.w3.eth.get_balance(game.address) == BOND
    on_chain = game.view()
    assert on_chain == view
    assert (on_chain.status, on_chain.turn) == (GameStatus.UNCHALLENGED, Party.NONE)
    assert (on_chain.lo, on_chain.hi, on_chain.hash_lo, on_chain.hash_hi) == (0, N, PRE, CLAIM)
    assert game.clocks() == (CLOCK, CLOCK)
    assert factory.created_events(receipt.block_number)[0].args["game"] == game.address


def test_create_rejects_an_empty_trace_and_a_zero_clock(
    factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    reverts("EmptyTrace", lambda: new_game(factory, parties[0], n=0))
    reverts("ZeroClock", lambda: new_game(factory, parties[0], clock=0))


# ---- challenge --------------------------------------------------------------------------


def test_challenge_rules(chain: Chain, factory: GameFactory, parties: tuple[str, str, str]) -> None:
    proposer, challenger, bystander = parties
    game, _ = new_game(factory, proposer)
    assert reverts("BondTooSmall", lambda: game.challenge(challenger, BOND - 1)) == (
        BOND,
        BOND - 1,
    )
    reverts("ProposerCannotChallenge", lambda: game.challenge(proposer, BOND))
    reverts("NotChallenged", lambda: game.bisect(proposer, N // 2, CLAIM))
    reverts("NotChallenged", lambda: game.timeout(bystander))
    receipt = game.challenge(challenger, BOND + 5)  # more than the proposer's bond is fine
    assert events(game, receipt) == [
        (
            "Challenged",
            {
                "challenger": challenger,
                "bond": BOND + 5,
                "lo": 0,
                "hi": N,
                "proposerClock": CLOCK,
                "challengerClock": CLOCK,
                "timestamp": chain.now(),
            },
        )
    ]
    view = game.view()
    assert (view.status, view.turn, view.challenger) == (
        GameStatus.IN_PROGRESS,
        Party.PROPOSER,
        challenger,
    )
    reverts("NotChallengeable", lambda: game.challenge(bystander, BOND))
    reverts("AlreadyChallenged", lambda: game.resolve(bystander))


def test_challenge_window_closes_after_clock_seconds(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer, challenger, _ = parties
    on_time, _ = new_game(factory, proposer)
    chain.advance_time(CLOCK)  # the next block is exactly createdAt + CLOCK: still open
    on_time.challenge(challenger, BOND)
    late, _ = new_game(factory, proposer)
    chain.advance_time(CLOCK + 1)
    reverts("ClockExpired", lambda: late.challenge(challenger, BOND))


# ---- bisection --------------------------------------------------------------------------


def test_bisection_turns_positions_and_interval(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer, challenger, bystander = parties
    game = challenged_game(factory, parties)
    mid = N // 2
    expected = (proposer.lower(),)
    assert reverts("NotYourTurn", lambda: game.bisect(challenger, mid, CLAIM)) == expected
    reverts("NotYourTurn", lambda: game.bisect(bystander, mid, CLAIM))
    reverts("NotYourTurn", lambda: game.respond(challenger, mid, True))
    assert reverts("WrongPosition", lambda: game.bisect(proposer, mid + 1, CLAIM)) == (
        mid,
        mid + 1,
    )
    h1 = keccak(b"h500")
    receipt = game.bisect(proposer, mid, h1)
    [(name, args)] = events(game, receipt)
    assert (name, args["position"], args["stateHash"], args["lo"], args["hi"]) == (
        "Bisected",
        mid,
        h1,
        0,
        N,
    )
    assert game.view().turn == Party.CHALLENGER
    assert reverts("NotYourTurn", lambda: game.bisect(proposer, mid, h1)) == (challenger.lower(),)
    reverts("NotYourTurn", lambda: game.respond(proposer, mid, True))
    reverts("WrongPosition", lambda: game.respond(challenger, mid - 1, True))
    receipt = game.respond(challenger, mid, True)  # agree: lo moves up to the midpoint
    [(name, args)] = events(game, receipt)
    assert (name, args["position"], args["agree"], args["lo"], args["hi"]) == (
        "Responded",
        mid,
        True,
        mid,
        N,
    )
    view = game.view()
    assert (view.lo, view.hi, view.hash_lo, view.hash_hi) == (mid, N, h1, CLAIM)
    mid2 = (mid + N) // 2
    h2 = keccak(b"h750")
    game.bisect(proposer, mid2, h2)
    game.respond(challenger, mid2, False)  # disagree: hi moves down to the midpoint
    view = game.view()
    assert (view.lo, view.hi, view.hash_lo, view.hash_hi) == (mid, mid2, h1, h2)
    assert view.turn == Party.PROPOSER
    reverts("BisectionNotOver", lambda: game.step(proposer, b"", b""))


def test_bisection_ends_at_adjacent_steps(
    factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer, challenger, _ = parties
    game = challenged_game(factory, parties, n=5)
    positions = []
    while True:
        view = game.view()
        if view.hi - view.lo == 1:
            break
        positions.append(view.mid)
        game.bisect(proposer, view.mid, keccak(view.mid.to_bytes(8, "big")))
        game.respond(challenger, view.mid, view.mid < 3)  # agree below 3
    assert positions == [2, 3]  # floor((lo + hi) / 2): [0,5] -> 2 -> [2,5] -> 3 -> [2,3]
    assert (view.lo, view.hi, view.turn) == (2, 3, Party.CHALLENGER)
    reverts("BisectionOver", lambda: game.bisect(proposer, 2, CLAIM))
    reverts("BisectionOver", lambda: game.respond(challenger, 2, True))


def test_a_one_step_trace_goes_straight_to_the_step_phase(
    factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer = parties[0]
    game = challenged_game(factory, parties, n=1)
    view = game.view()
    assert view.step_phase and view.turn == Party.CHALLENGER
    reverts("BisectionOver", lambda: game.bisect(proposer, 0, CLAIM))


# ---- clocks and timeouts ----------------------------------------------------------------


def test_only_the_running_clock_runs(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer, challenger, _ = parties
    game = challenged_game(factory, parties)
    chain.advance_time(100)
    assert game.clocks() == (CLOCK - 99, CLOCK)  # the view reads the latest block's time
    receipt = game.bisect(proposer, N // 2, CLAIM)
    assert events(game, receipt)[0][1]["proposerClock"] == CLOCK - 100
    chain.advance_time(40)
    receipt = game.respond(challenger, N // 2, True)
    args = events(game, receipt)[0][1]
    assert (args["proposerClock"], args["challengerClock"]) == (CLOCK - 100, CLOCK - 40)
    assert game.view().clocks == (CLOCK - 100, CLOCK - 40)


def test_a_move_on_the_last_second_is_on_time_one_more_is_not(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer, challenger, bystander = parties
    game = challenged_game(factory, parties)
    chain.advance_time(CLOCK)
    game.bisect(proposer, N // 2, CLAIM)
    assert game.view().proposer_clock == 0
    game.respond(challenger, N // 2, False)
    # The next block is a second later: more than the proposer's 0 seconds left.
    reverts("ClockExpired", lambda: game.bisect(proposer, N // 4, CLAIM))
    assert game.view().status == GameStatus.IN_PROGRESS
    game.timeout(bystander)
    assert game.view().winner() == Party.CHALLENGER


def test_timeout_by_anyone_pays_both_bonds_to_the_other_party(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer, _, bystander = parties
    game = challenged_game(factory, parties)
    game.bisect(proposer, N // 2, CLAIM)
    chain.advance_time(CLOCK - 10)
    assert reverts("ClockNotExpired", lambda: game.timeout(bystander)) == (10,)
    chain.advance_time(11)
    before = balance(chain, proposer)
    receipt = game.timeout(bystander)
    names = [name for name, _ in events(game, receipt)]
    assert names == ["TimedOut", "Resolved", "BondPaid"]
    timed_out, resolved, paid = (args for _, args in events(game, receipt))
    assert timed_out["loser"] == Party.CHALLENGER and timed_out["challengerClock"] == 0
    assert resolved == {
        "winner": proposer,
        "party": Party.PROPOSER,
        "reason": Reason.TIMEOUT,
        "payout": 2 * BOND,
        "timestamp": chain.now(),
    }
    assert paid == {"to": proposer, "amount": 2 * BOND}
    assert balance(chain, proposer) - before == 2 * BOND
    assert chain.w3.eth.get_balance(game.address) == 0
    view = game.view()
    assert (view.status, view.winner()) == (GameStatus.PROPOSER_WON, Party.PROPOSER)
    assert chain.call(game.contract.functions.winner()) == proposer


def test_unchallenged_claim_resolves_for_the_proposer_after_the_window(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer, _, bystander = parties
    game, view = new_game(factory, proposer)
    assert reverts("ChallengeWindowOpen", lambda: game.resolve(bystander)) == (
        view.window_closes_at,
    )
    chain.advance_time(CLOCK + 1)
    before = balance(chain, proposer)
    receipt = game.resolve(bystander)
    resolved = dict(events(game, receipt))["Resolved"]
    assert (resolved["reason"], resolved["payout"]) == (Reason.UNCHALLENGED, BOND)
    assert balance(chain, proposer) - before == BOND
    assert game.view().status == GameStatus.PROPOSER_WON


def test_everything_reverts_game_over_after_the_resolution(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer, challenger, bystander = parties
    game = challenged_game(factory, parties, n=1)
    chain.advance_time(CLOCK + 1)
    game.timeout(bystander)
    assert game.view().winner() == Party.PROPOSER
    for action in (
        lambda: game.challenge(bystander, BOND),
        lambda: game.bisect(proposer, 0, CLAIM),
        lambda: game.respond(challenger, 0, True),
        lambda: game.step(challenger, b"", b""),
        lambda: game.timeout(bystander),
        lambda: game.resolve(bystander),
    ):
        reverts("GameOver", action)
    reverts("NothingToWithdraw", lambda: game.withdraw(proposer))


def test_a_rejected_bond_push_is_credited_and_withdrawn(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    """A contract winner whose receive() re-enters the game: the re-entry finds the game
    over, the push fails, the resolution stands and the bonds wait in `credit`."""
    _, challenger, bystander = parties
    party = chain.deploy("RejectingParty")
    chain.transact(
        party.functions.propose(factory.address, PRE, CLAIM, 1, CLOCK), bystander, value=BOND
    )
    game = Game(chain, chain.call(party.functions.game()))
    game.challenge(challenger, BOND)
    chain.advance_time(CLOCK + 1)
    receipt = game.timeout(challenger)  # the challenger ran out of clock: proposer wins
    assert [name for name, _ in events(game, receipt)] == ["TimedOut", "Resolved", "BondCredited"]
    assert game.view().winner() == Party.PROPOSER
    assert game.credit(party.address) == 2 * BOND
    assert chain.w3.eth.get_balance(party.address) == 0
    with pytest.raises(ChainError):  # still rejecting: the pull fails as a whole
        chain.transact(party.functions.withdraw(), bystander)
    chain.transact(party.functions.setAccept(True), bystander)
    receipt = chain.transact(party.functions.withdraw(), bystander)
    assert [name for name, _ in events(game, receipt)] == ["Withdrawn"]
    assert chain.w3.eth.get_balance(party.address) == 2 * BOND
    assert game.credit(party.address) == 0


# ---- the step phase, against the real verifier -----------------------------------------


def lying(true_hash: bytes) -> bytes:
    return keccak(b"test lie" + true_hash)


def bisect_to_step(
    game: Game,
    proposer: str,
    challenger: str,
    proposer_hash: Callable[[int], bytes],
    challenger_hash: Callable[[int], bytes],
) -> GameView:
    """Play the bisection with each party answering from its own view of the trace; a
    watcher folding the game's logs must see exactly what the contract's views show."""
    watcher = GameWatcher(game, game.view(), game.chain.w3.eth.block_number + 1)
    while True:
        view = game.view()
        assert replace(watcher.refresh(), updated_at=0) == replace(view, updated_at=0)
        if view.step_phase:
            return view
        game.bisect(proposer, view.mid, proposer_hash(view.mid))
        game.respond(challenger, view.mid, challenger_hash(view.mid) == proposer_hash(view.mid))


@pytest.fixture(scope="module")
def tiny_sum(finished_emulator: Callable[[str], Any]) -> Any:
    return finished_emulator("tiny_sum")


@pytest.fixture(scope="module")
def trace(tiny_sum: Any) -> list[bytes]:
    """tiny_sum's true state hash after every step 0..N: the oracle of the step tests."""
    return [tiny_sum.state_at(i).hash() for i in range(tiny_sum.final.step + 1)]


def wrong_from(k: int, trace: list[bytes]) -> Callable[[int], bytes]:
    """A view of the trace that is wrong at every step >= k."""
    return lambda i: trace[i] if i < k else lying(trace[i])


def test_a_true_claim_survives_a_lying_challenger(
    factory: GameFactory, parties: tuple[str, str, str], tiny_sum: Any, trace: list[bytes]
) -> None:
    proposer, challenger, bystander = parties
    n, k = len(trace) - 1, 200  # the challenger is wrong from step 200 on
    game = challenged_game(factory, parties, pre=trace[0], claim=trace[n], n=n)
    view = bisect_to_step(game, proposer, challenger, trace.__getitem__, wrong_from(k, trace))
    assert (view.lo, view.hi) == (k - 1, k)
    assert (view.hash_lo, view.hash_hi) == (trace[k - 1], trace[k])
    proof = prove(tiny_sum, k - 1)
    reverts("NotYourTurn", lambda: game.step(bystander, proof.witness, proof.proof))
    forged = proof.proof[:4] + bytes([proof.proof[4] ^ 1]) + proof.proof[5:]
    reverts("MerkleProofInvalid", lambda: game.step(challenger, proof.witness, forged))
    other = prove(tiny_sum, k - 2)  # a valid proof of the wrong step
    reverts("WrongPreState", lambda: game.step(challenger, other.witness, other.proof))
    assert game.view().status == GameStatus.IN_PROGRESS  # rejected proofs change nothing
    receipt = game.step(proposer, proof.witness, proof.proof)
    names = [name for name, _ in events(game, receipt)]
    assert names == ["StepProven", "Resolved", "BondPaid"]
    proven = events(game, receipt)[0][1]
    assert proven["step"] == k - 1 and proven["submitter"] == proposer
    assert proven["postStateHash"] == trace[k] == proven["claimedPostStateHash"]
    assert game.view().reason == Reason.STEP and game.view().winner() == Party.PROPOSER
    reverts("GameOver", lambda: game.step(proposer, proof.witness, proof.proof))


def test_a_false_claim_loses_the_step(
    chain: Chain,
    factory: GameFactory,
    parties: tuple[str, str, str],
    tiny_sum: Any,
    trace: list[bytes],
) -> None:
    proposer, challenger, _ = parties
    n, k = len(trace) - 1, 77  # the proposer is wrong from step 77 on, so its claim is wrong
    claimed = wrong_from(k, trace)
    game = challenged_game(factory, parties, pre=trace[0], claim=claimed(n), n=n)
    view = bisect_to_step(game, proposer, challenger, claimed, trace.__getitem__)
    assert (view.lo, view.hi) == (k - 1, k)
    proof = prove(tiny_sum, k - 1)
    before = balance(chain, challenger)
    receipt = game.step(challenger, proof.witness, proof.proof)
    gas_cost = receipt.gas_used * chain.w3.eth.get_transaction(receipt.tx_hash)["gasPrice"]
    proven = events(game, receipt)[0][1]
    assert proven["postStateHash"] == trace[k] != proven["claimedPostStateHash"]
    assert game.view().winner() == Party.CHALLENGER
    assert balance(chain, challenger) - before == 2 * BOND - gas_cost


# ---- games are clones of one implementation (docs/game.md, "Deployment") ----------------

#: EIP-1167 runtime around the implementation address (from the EIP, not from our code).
PROXY_HEAD = bytes.fromhex("363d3d373d3d3d363d73")
PROXY_TAIL = bytes.fromhex("5af43d82803e903d91602b57fd5bf3")


@pytest.fixture(scope="module")
def implementation(chain: Chain, factory: GameFactory) -> Game:
    return Game(chain, chain.call(factory.contract.functions.implementation()))


def test_a_game_is_a_minimal_proxy_of_the_implementation(
    chain: Chain, factory: GameFactory, implementation: Game
) -> None:
    game, _, receipt = factory.create(chain.accounts[1], PRE, CLAIM, N, CLOCK, BOND)
    code = bytes(chain.w3.eth.get_code(game.address))
    assert code == PROXY_HEAD + bytes.fromhex(implementation.address[2:]) + PROXY_TAIL
    assert len(code) == 45
    assert receipt.gas_used < 400_000  # the whole game contract used to cost ~1.77M
    # the clone's own storage holds the claim; the implementation's immutables are shared
    view = game.view()
    assert (view.proposer, view.absolute_pre_state, view.claim) == (chain.accounts[1], PRE, CLAIM)
    assert (view.lo, view.hi, view.hash_lo, view.hash_hi) == (0, N, PRE, CLAIM)
    fn = game.contract.functions
    assert chain.call(fn.factory()) == factory.address
    assert chain.call(fn.verifier()) == factory.verifier()


def test_only_the_factory_initializes_and_only_once(
    chain: Chain, factory: GameFactory, implementation: Game
) -> None:
    proposer, stranger = chain.accounts[1], chain.accounts[4]
    game, _, _ = factory.create(proposer, PRE, CLAIM, N, CLOCK, BOND)
    rebind = game.contract.functions.initialize(stranger, PRE, keccak(b"other claim"), N, CLOCK)
    reverts("NotFactory", lambda: chain.transact(rebind, stranger, gas=300_000))
    assert game.view().proposer == proposer
    assert chain.call(game.contract.functions.claim()) == CLAIM

    # the factory never initializes a game twice; a contract that deployed its own game
    # (and so is its factory) shows that the game refuses a second time
    initializer = chain.deploy("GameInitializer", factory.verifier(), gas=5_000_000)
    own = Game(chain, chain.call(initializer.functions.game()))
    reverts("EmptyTrace", lambda: chain.transact(
        initializer.functions.initialize(PRE, CLAIM, 0, CLOCK), proposer, gas=500_000))
    chain.transact(initializer.functions.initialize(PRE, CLAIM, N, CLOCK), proposer, gas=500_000)
    again = initializer.functions.initialize(PRE, keccak(b"other claim"), N, CLOCK)
    reverts("AlreadyInitialized", lambda: chain.transact(again, stranger, gas=500_000))
    view = own.view()
    assert (view.proposer, view.claim, view.hi) == (proposer, CLAIM, N)


def test_the_implementation_is_not_a_game(
    chain: Chain, implementation: Game
) -> None:
    player = chain.accounts[2]
    reverts("NotInitialized", lambda: implementation.challenge(player, BOND))
    reverts("NotInitialized", lambda: implementation.resolve(player))
    reverts("NotChallenged", lambda: implementation.bisect(player, 0, PRE))
    reverts("NotChallenged", lambda: implementation.timeout(player))
    fn = implementation.contract.functions
    bind = fn.initialize(player, PRE, CLAIM, N, CLOCK)
    reverts("NotFactory", lambda: chain.transact(bind, player, gas=300_000))
    view = implementation.view()
    assert (view.status, view.turn, view.challenger) == (GameStatus.UNCHALLENGED, Party.NONE, None)
    assert int(view.proposer, 16) == 0
    assert chain.w3.eth.get_balance(implementation.address) == 0


def test_the_implementation_artifact_is_the_game_abi(chain: Chain, implementation: Game) -> None:
    """Agents attach to clones with the DisputeGame ABI: the clone forwards every selector."""
    assert implementation.contract.abi == chain.contract_factory(GAME_ARTIFACT).abi
