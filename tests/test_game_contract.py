"""DisputeGame and DisputeGameFactory on the in-process chain: every rule and named error of
the permissionless game (any number of challenges, each its own bisection with its own chess
clocks), the claim's single resolution, the bond matrix, re-entry, the VM binding and the
bounded delay (docs/game.md).

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
from arbitration.contracts.enums import ChallengeStatus, GameStatus, Party, Reason
from arbitration.contracts.events import GAME_ARTIFACT
from arbitration.contracts.game import Game, GameFactory, GameWatcher
from arbitration.contracts.verifier import VM_IDS
from arbitration.contracts.view import ChallengeView, GameView
from flexemu.proof import prove

GENESIS = 4_102_444_800  # far ahead of the wall clock: one second per block, exactly
CLOCK = 600
BOND = 10**18
PRE = keccak(b"pre-state")
CLAIM = keccak(b"claim")
N = 1000
MIPS = VM_IDS["mips32"]


@pytest.fixture(scope="module")
def chain() -> Chain:
    return InProcessChain.fresh(genesis_timestamp=GENESIS, num_accounts=24)


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
    """A new game (see new_game for the claim's fields), challenged once with an equal bond."""
    game, _ = new_game(factory, parties[0], **claim)
    game.challenge(parties[1], BOND)
    return game


def events(game: Game, receipt: Any) -> list[tuple[str, dict]]:
    return [(e.name, e.args) for e in game.events(receipt)]


def balance(chain: Chain, account: str) -> int:
    return chain.w3.eth.get_balance(account)


def fee(chain: Chain, receipt: Any) -> int:
    return receipt.gas_used * chain.w3.eth.get_transaction(receipt.tx_hash)["gasPrice"]


def challenge_of(game: Game, id: int) -> ChallengeView:
    return game.view().challenges[id]


# ---- creation and the factory's VMs -----------------------------------------------------


def test_create_binds_the_claim_and_its_vm(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer = parties[0]
    before = chain.call(factory.contract.functions.gameCount())
    game, view, receipt = factory.create(proposer, PRE, CLAIM, N, CLOCK, BOND)
    created = next(e for e in factory.decoder.decode_all(receipt.logs) if e.name == "GameCreated")
    assert created.args == {
        "game": game.address,
        "proposer": proposer,
        "vm": MIPS,
        "absolutePreState": PRE,
        "claim": CLAIM,
        "traceLength": N,
        "clockSeconds": CLOCK,
        "bond": BOND,
        "timestamp": chain.now(),
    }
    assert chain.call(factory.contract.functions.gameCount()) == before + 1
    assert chain.call(factory.contract.functions.games(before)) == game.address
    assert factory.verifier(MIPS) == chain.call(game.contract.functions.verifier())
    assert chain.w3.eth.get_balance(game.address) == BOND
    on_chain = game.view()
    assert on_chain == view
    assert (on_chain.status, on_chain.challenges) == (GameStatus.UNCHALLENGED, ())
    assert on_chain.vm == MIPS
    reverts("NoSuchChallenge", lambda: game.clocks(0))
    assert factory.created_events(receipt.block_number)[0].args["game"] == game.address


def test_create_rejects_an_empty_trace_a_zero_clock_and_an_unknown_vm(
    factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer = parties[0]
    reverts("EmptyTrace", lambda: factory.create(proposer, PRE, CLAIM, 0, CLOCK, BOND))
    reverts("ZeroClock", lambda: factory.create(proposer, PRE, CLAIM, N, 0, BOND))
    unknown = reverts("UnknownVm", lambda: factory.create(proposer, PRE, CLAIM, N, CLOCK, BOND, 7))
    assert unknown == (7,)
    assert int(factory.verifier(7), 16) == 0


def test_the_factory_keeps_one_verifier_per_vm(chain: Chain, factory: GameFactory) -> None:
    mips = factory.verifier(MIPS)
    deployer = chain.accounts[0]
    two = chain.deploy("DisputeGameFactory", [1, 2], [mips, chain.accounts[5]], gas=8_000_000)
    assert chain.call(two.functions.verifiers(2)) == chain.accounts[5]
    assert chain.call(two.functions.verifiers(1)) == mips
    for vms, verifiers, error in (
        ([1], [], "VmListMismatch"),
        ([1, 1], [mips, mips], "DuplicateVm"),
        ([0], [mips], "DuplicateVm"),
    ):
        reverts(error, lambda v=vms, w=verifiers: chain.deploy(
            "DisputeGameFactory", v, w, sender=deployer, gas=8_000_000))


def test_the_deployed_factory_serves_every_isa(chain: Chain, factory: GameFactory) -> None:
    """One factory, one verifier per VM id; rv64 and rv32 share RiscvVerifier (its witness
    names its XLEN), MIPS has its own."""
    verifiers = {name: factory.verifier(vm) for name, vm in VM_IDS.items()}
    assert sorted(verifiers) == ["mips32", "rv32", "rv64"]
    assert verifiers["rv64"] == verifiers["rv32"] != verifiers["mips32"]
    for address in verifiers.values():
        assert len(chain.w3.eth.get_code(address)) > 0


# ---- challenges: anyone, any number, in the window ----------------------------------------


def test_anyone_but_the_proposer_challenges_any_number_of_times_in_the_window(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer, challenger, bystander = parties
    game, _ = new_game(factory, proposer)
    reverts("ProposerCannotChallenge", lambda: game.challenge(proposer, BOND))
    assert reverts("BondTooSmall", lambda: game.challenge(challenger, BOND - 1)) == (BOND, BOND - 1)
    first = game.challenge(challenger, BOND)
    assert events(game, first)[0] == ("Challenged", {
        "id": 0, "challenger": challenger, "bond": BOND, "lo": 0, "hi": N,
        "proposerClock": CLOCK, "challengerClock": CLOCK, "timestamp": chain.now()})
    game.challenge(bystander, 2 * BOND)  # a second challenger: the first locks nothing
    game.challenge(challenger, BOND)  # and the same one again, with a bond of its own
    view = game.view()
    assert [c.challenger for c in view.challenges] == [challenger, bystander, challenger]
    assert [c.bond for c in view.challenges] == [BOND, 2 * BOND, BOND]
    assert view.status == GameStatus.IN_PROGRESS
    assert all((c.lo, c.hi, c.hash_lo, c.hash_hi) == (0, N, PRE, CLAIM) for c in view.challenges)
    assert chain.call(game.contract.functions.openChallenges()) == 3
    assert balance(chain, game.address) == 5 * BOND
    reverts("NoSuchChallenge", lambda: game.timeout(bystander, 3))


def test_the_challenge_window_closes_after_clock_seconds(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer, challenger, bystander = parties
    game, view = new_game(factory, proposer)
    game.challenge(challenger, BOND)
    chain.advance_time(view.window_closes_at - chain.now())  # the next block: the last second
    game.challenge(bystander, BOND)
    assert chain.now() == view.window_closes_at
    closed = reverts("ChallengeWindowClosed", lambda: game.challenge(bystander, BOND))
    assert closed == (view.window_closes_at,)


# ---- each challenge its own bisection and clocks ------------------------------------------


def test_challenges_bisect_independently_with_their_own_clocks(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer, one, two = parties
    game, _ = new_game(factory, proposer)
    game.challenge(one, BOND)
    game.challenge(two, BOND)
    reverts("NotYourTurn", lambda: game.respond(one, 0, N // 2, True))
    reverts("WrongPosition", lambda: game.bisect(proposer, 0, N // 2 + 1, PRE))
    chain.advance_time(100)
    bisected = game.bisect(proposer, 0, N // 2, keccak(b"mid"))
    reverts("NotYourTurn", lambda: game.bisect(proposer, 0, N // 2, keccak(b"mid")))
    reverts("NotYourTurn", lambda: game.respond(two, 0, N // 2, True))  # not its challenge
    chain.advance_time(40)
    responded = game.respond(one, 0, N // 2, True)
    c0, c1 = game.view().challenges
    assert (c0.lo, c0.hi, c0.hash_lo) == (N // 2, N, keccak(b"mid"))
    assert (c1.lo, c1.hi, c1.hash_lo, c1.turn) == (0, N, PRE, Party.PROPOSER)
    # each challenge charges each party only for its own turns in it
    t_bisect = events(game, bisected)[0][1]["timestamp"]
    t_respond = events(game, responded)[0][1]["timestamp"]
    opened = game.view().challenges[0]
    assert c0.clocks == (CLOCK - (t_bisect - (t_bisect - 100 - 3)), CLOCK - (t_respond - t_bisect))
    assert opened.clocks == game.clocks(0)  # the proposer's turn in 0 just began
    now = chain.now()
    assert game.clocks(1) == (CLOCK - (now - c1.last_move_at), CLOCK)


def test_a_move_on_the_last_second_is_on_time_one_more_is_not(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer, challenger, bystander = parties
    game = challenged_game(factory, parties)
    game.challenge(bystander, BOND)
    t0 = game.view().challenges[0].last_move_at
    chain.advance_time(t0 + CLOCK - chain.now())
    game.bisect(proposer, 0, N // 2, keccak(b"mid"))  # exactly CLOCK after challenge 0
    game.bisect(proposer, 1, N // 2, keccak(b"mid"))  # exactly CLOCK after challenge 1
    view = game.view()
    assert view.challenges[0].proposer_clock == view.challenges[1].proposer_clock == 0
    game.respond(challenger, 0, N // 2, False)
    # the next block is a second later: more than the proposer's 0 seconds left
    reverts("ClockExpired", lambda: game.bisect(proposer, 0, N // 4, keccak(b"mid")))
    assert reverts("ClockNotExpired", lambda: game.timeout(bystander, 1))[0] > 0
    game.timeout(bystander, 0)
    assert game.view().winner() == Party.CHALLENGER


def test_a_timeout_settles_one_challenge_only(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    """A challenger that goes silent loses its own challenge (its bond to the proposer);
    the others go on, and the claim stands while any of them runs."""
    proposer, one, two = parties
    game, _ = new_game(factory, proposer)
    game.challenge(one, BOND)
    game.challenge(two, BOND)
    game.bisect(proposer, 0, N // 2, keccak(b"mid"))
    chain.advance_time(CLOCK + 1)
    receipt = game.timeout(two, 0)
    assert [name for name, _ in events(game, receipt)] == [
        "TimedOut", "ChallengeResolved", "BondCredited"]
    assert events(game, receipt)[1][1]["winner"] == Party.PROPOSER
    assert game.credit(proposer) == BOND
    after = game.view()
    assert after.status == GameStatus.IN_PROGRESS
    assert after.challenges[0].status == ChallengeStatus.PROPOSER_WON
    assert after.challenges[0].reason == Reason.TIMEOUT
    reverts("ChallengeOver", lambda: game.respond(one, 0, N // 2, True))
    # challenge 1 waited on the proposer all along: its clock has expired too
    reverts("ChallengesPending", lambda: game.resolve(two))
    receipt = game.timeout(one, 1)
    names = [name for name, _ in events(game, receipt)]
    assert names == ["TimedOut", "ChallengeResolved", "Resolved", "BondCredited"]
    final = game.view()
    assert (final.status, final.reason, final.winning_challenge) == (
        GameStatus.CHALLENGER_WON, Reason.TIMEOUT, 1)
    assert chain.call(game.contract.functions.winner()) == two


# ---- the claim's resolution ---------------------------------------------------------------


def test_an_unchallenged_claim_is_accepted_after_the_window(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer, _, bystander = parties
    game, view = new_game(factory, proposer)
    chain.advance_time(view.window_closes_at - chain.now())
    closes = reverts("ChallengeWindowOpen", lambda: game.resolve(bystander))
    assert closes == (view.window_closes_at,)
    receipt = game.resolve(bystander)
    assert [n for n, _ in events(game, receipt)] == ["Resolved", "BondCredited"]
    assert events(game, receipt)[0][1]["reason"] == Reason.UNCHALLENGED
    assert game.credit(proposer) == BOND
    reverts("GameOver", lambda: game.resolve(bystander))
    reverts("GameOver", lambda: game.challenge(bystander, BOND))


def test_a_claim_is_accepted_only_when_the_window_closed_and_every_challenge_lost(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer, one, two = parties
    game, view = new_game(factory, proposer, n=1)  # one step: straight to the step phase
    game.challenge(one, BOND)
    reverts("ChallengeWindowOpen", lambda: game.resolve(proposer))
    chain.advance_time(view.window_closes_at - chain.now())
    game.challenge(two, BOND)  # the last second of the window
    chain.advance_time(CLOCK - 1)
    game.timeout(proposer, 0)  # challenger 0 never proved its point
    assert game.view().status == GameStatus.IN_PROGRESS
    assert reverts("ChallengesPending", lambda: game.resolve(proposer)) == (1,)
    chain.advance_time(CLOCK)
    game.timeout(proposer, 1)
    receipt = game.resolve(two)
    resolved = events(game, receipt)[0][1]
    assert (resolved["winner"], resolved["reason"]) == (proposer, Reason.DEFENDED)
    assert game.view().winner() == Party.PROPOSER


def test_everything_reverts_game_over_after_the_claim_fell(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer, one, two = parties
    game, _ = new_game(factory, proposer, n=4)
    game.challenge(one, BOND)
    game.challenge(two, BOND)
    reverts("ClaimNotRejected", lambda: game.reclaim(two, 1))
    chain.advance_time(CLOCK)
    game.timeout(one, 0)  # the proposer never bisected: the claim falls through challenge 0
    for move in (
        lambda: game.challenge(two, BOND),
        lambda: game.bisect(proposer, 1, 2, keccak(b"mid")),
        lambda: game.respond(two, 1, 2, True),
        lambda: game.step(two, 1, MIPS, b"", b""),
        lambda: game.timeout(two, 1),
        lambda: game.resolve(two),
    ):
        reverts("GameOver", move)


# ---- the bond matrix (docs/game.md, "Bonds") ----------------------------------------------


def test_the_bond_matrix_when_the_claim_falls(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    """Rejected: the winning challenger gets its bond and the proposer's; a challenger that
    lost earlier has paid the proposer; one still running when the claim fell gets its own
    back (`reclaim`, by anyone); nothing is left in the game once everyone has withdrawn."""
    proposer = parties[0]
    lost, winner, running = chain.accounts[6], chain.accounts[7], chain.accounts[8]
    game, _ = new_game(factory, proposer, n=4)
    game.challenge(lost, BOND)
    game.challenge(winner, 2 * BOND)
    game.challenge(running, 3 * BOND)
    game.bisect(proposer, 0, 2, keccak(b"mid"))
    game.bisect(proposer, 2, 2, keccak(b"mid"))
    chain.advance_time(CLOCK)
    game.timeout(proposer, 0)  # `lost` never answered: the proposer wins challenge 0
    game.timeout(proposer, 2)  # so did the third: the proposer wins challenge 2
    # challenge 1: the proposer never bisected, so its clock ran out: the claim falls
    receipt = game.timeout(winner, 1)
    assert events(game, receipt)[-1] == ("BondCredited", {"to": winner, "amount": 3 * BOND})
    assert game.credit(proposer) == BOND + 3 * BOND  # the bonds of the two it won
    assert game.credit(winner) == 3 * BOND  # its own two and the proposer's one
    assert game.credit(lost) == game.credit(running) == 0
    for account in (proposer, winner):
        before = balance(chain, account)
        credit = game.credit(account)
        r = game.withdraw(account)
        assert balance(chain, account) - before == credit - fee(chain, r)
        reverts("NothingToWithdraw", lambda a=account: game.withdraw(a))
    assert balance(chain, game.address) == 0


def test_a_challenge_running_when_the_claim_falls_is_refunded(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    proposer, bystander = parties[0], parties[2]
    winner, running = chain.accounts[9], chain.accounts[10]
    game, _ = new_game(factory, proposer, n=4)
    game.challenge(winner, BOND)
    game.challenge(running, BOND)
    game.bisect(proposer, 1, 2, keccak(b"mid"))  # challenge 1 now waits on `running`
    t0 = game.view().challenges[0].last_move_at
    chain.advance_time(t0 + CLOCK + 1 - chain.now())
    game.timeout(winner, 0)  # the proposer never bisected challenge 0
    assert game.view().status == GameStatus.CHALLENGER_WON
    assert game.view().live == ()
    reverts("GameOver", lambda: game.respond(running, 1, 2, True))
    receipt = game.reclaim(bystander, 1)
    assert events(game, receipt) == [
        ("ChallengeResolved", {"id": 1, "winner": Party.NONE, "reason": Reason.MOOT,
                               "timestamp": chain.now()}),
        ("BondCredited", {"to": running, "amount": BOND}),
    ]
    assert game.view().challenges[1].status == ChallengeStatus.MOOT
    reverts("ChallengeOver", lambda: game.reclaim(bystander, 1))
    reverts("ChallengeOver", lambda: game.reclaim(bystander, 0))
    assert game.credit(running) == BOND and game.credit(winner) == 2 * BOND
    assert game.credit(proposer) == 0
    game.withdraw(running)
    game.withdraw(winner)
    assert balance(chain, game.address) == 0


def test_the_bond_matrix_when_the_claim_is_accepted(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    """Accepted: the proposer collects its bond and every challenger's."""
    proposer = parties[0]
    game, view = new_game(factory, proposer, n=1)
    bonds = [BOND, 2 * BOND, 5 * BOND]
    for i, bond in enumerate(bonds):
        game.challenge(chain.accounts[11 + i], bond)
    chain.advance_time(view.window_closes_at + CLOCK - chain.now())
    for i in range(3):
        game.timeout(proposer, i)
    game.resolve(proposer)
    assert game.credit(proposer) == BOND + sum(bonds)
    assert all(game.credit(chain.accounts[11 + i]) == 0 for i in range(3))
    game.withdraw(proposer)
    assert balance(chain, game.address) == 0


def test_a_reentering_or_rejecting_winner_is_paid_exactly_once(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str]
) -> None:
    """Bonds are only credited; withdraw() zeroes the credit before it sends, so a receiver
    that re-enters withdraw() finds nothing, and one that rejects ether keeps its credit."""
    owner = parties[2]
    party = chain.deploy("RejectingParty", gas=3_000_000)
    fn = party.functions
    chain.transact(fn.propose(factory.address, MIPS, PRE, CLAIM, 1, CLOCK), owner, value=BOND,
                   gas=1_000_000)
    game = Game(chain, chain.call(fn.game()))
    game.challenge(parties[1], BOND)
    chain.advance_time(CLOCK + 1)
    game.timeout(owner, 0)
    game.resolve(owner)
    assert game.credit(party.address) == 2 * BOND
    reverts("TransferFailed", lambda: chain.transact(fn.withdraw(), owner, gas=300_000))
    assert game.credit(party.address) == 2 * BOND  # not lost: still credited
    chain.transact(fn.setAccept(True), owner, gas=100_000)
    chain.transact(fn.withdraw(), owner, gas=300_000)
    assert chain.call(fn.received()) == 2 * BOND  # once, not twice
    assert chain.call(fn.reentryBlocked())
    assert game.credit(party.address) == 0 and balance(chain, game.address) == 0


# ---- bounded delay ------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 16])
def test_a_claim_settles_within_the_window_and_two_clocks_whatever_the_challengers(
    chain: Chain, factory: GameFactory, parties: tuple[str, str, str], count: int
) -> None:
    """The worst case: every challenge arrives in the window's last seconds and each side
    uses its whole clock; each challenge is then settled (its clock expired one second after
    reading 0) by createdAt + window + 2 clocks + 1 s, for 16 challengers as for one, and the
    claim can be accepted right then (here a block per transaction: `count` more seconds)."""
    proposer = parties[0]
    game, view = new_game(factory, proposer, n=2)
    challengers = chain.accounts[4 : 4 + count]
    chain.advance_time(view.window_closes_at - count + 1 - chain.now())
    for account in challengers:
        game.challenge(account, BOND)
    opened = game.view().challenges[0].last_move_at
    chain.advance_time(opened + CLOCK - chain.now())
    for i in range(count):  # each exactly a clock after its challenge
        game.bisect(proposer, i, 1, keccak(b"mid"))
    chain.advance_time(opened + 2 * CLOCK - chain.now())
    for i, account in enumerate(challengers):
        game.respond(account, i, 1, True)
    settled = []
    for i in range(count):
        receipt = game.timeout(proposer, i)
        settled.append(dict(events(game, receipt))["ChallengeResolved"]["timestamp"])
    assert all(game.view().challenges[i].winner() == Party.PROPOSER for i in range(count))
    bound = view.created_at + 3 * CLOCK + 1
    # the in-process chain mines one transaction per block, a second apart: the i-th of the
    # `count` timeouts due at the same second lands i seconds later (a real block holds them all)
    assert all(t <= bound + i for i, t in enumerate(settled))
    assert settled[0] <= bound
    game.resolve(proposer)
    assert game.view().status == GameStatus.PROPOSER_WON
    assert chain.now() <= bound + count


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
        c = view.challenges[-1]
        if c.step_phase:
            return view
        game.bisect(proposer, c.id, c.mid, proposer_hash(c.mid))
        game.respond(challenger, c.id, c.mid, challenger_hash(c.mid) == proposer_hash(c.mid))


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
    chain: Chain,
    factory: GameFactory,
    parties: tuple[str, str, str],
    tiny_sum: Any,
    trace: list[bytes],
) -> None:
    proposer, challenger, bystander = parties
    n, k = len(trace) - 1, 200  # the challenger is wrong from step 200 on
    game = challenged_game(factory, parties, pre=trace[0], claim=trace[n], n=n)
    view = bisect_to_step(game, proposer, challenger, trace.__getitem__, wrong_from(k, trace))
    c = view.challenges[0]
    assert (c.lo, c.hi) == (k - 1, k)
    assert (c.hash_lo, c.hash_hi) == (trace[k - 1], trace[k])
    proof = prove(tiny_sum, k - 1)
    reverts("NotYourTurn", lambda: game.step(bystander, 0, MIPS, proof.witness, proof.proof))
    wrong_vm = reverts("WrongVm", lambda: game.step(proposer, 0, 2, proof.witness, proof.proof))
    assert wrong_vm == (MIPS, 2)
    forged = proof.proof[:4] + bytes([proof.proof[4] ^ 1]) + proof.proof[5:]
    reverts("MerkleProofInvalid", lambda: game.step(challenger, 0, MIPS, proof.witness, forged))
    other = prove(tiny_sum, k - 2)  # a valid proof of the wrong step
    reverts("WrongPreState", lambda: game.step(challenger, 0, MIPS, other.witness, other.proof))
    assert game.view().challenges[0].in_progress  # rejected proofs change nothing
    receipt = game.step(proposer, 0, MIPS, proof.witness, proof.proof)
    names = [name for name, _ in events(game, receipt)]
    assert names == ["StepProven", "ChallengeResolved", "BondCredited"]
    proven = events(game, receipt)[0][1]
    assert proven["step"] == k - 1 and proven["submitter"] == proposer
    assert proven["postStateHash"] == trace[k] == proven["claimedPostStateHash"]
    after = game.view()
    assert after.challenges[0].reason == Reason.STEP
    assert after.challenges[0].winner() == Party.PROPOSER
    assert after.status == GameStatus.IN_PROGRESS  # accepted only after the window
    reverts("ChallengeOver", lambda: game.step(proposer, 0, MIPS, proof.witness, proof.proof))
    chain.advance_time(CLOCK)
    game.resolve(bystander)
    assert game.view().winner() == Party.PROPOSER
    assert game.credit(proposer) == 2 * BOND


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
    assert (view.challenges[0].lo, view.challenges[0].hi) == (k - 1, k)
    proof = prove(tiny_sum, k - 1)
    receipt = game.step(challenger, 0, MIPS, proof.witness, proof.proof)
    proven = events(game, receipt)[0][1]
    assert proven["postStateHash"] == trace[k] != proven["claimedPostStateHash"]
    assert game.view().winner() == Party.CHALLENGER
    before = balance(chain, challenger)
    withdrawn = game.withdraw(challenger)
    assert balance(chain, challenger) - before == 2 * BOND - fee(chain, withdrawn)


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
    fn = game.contract.functions
    assert chain.call(fn.factory()) == factory.address
    assert chain.call(fn.verifier()) == factory.verifier(MIPS)


def test_only_the_factory_initializes_and_only_once(
    chain: Chain, factory: GameFactory, implementation: Game
) -> None:
    proposer, stranger = chain.accounts[1], chain.accounts[4]
    game, _, _ = factory.create(proposer, PRE, CLAIM, N, CLOCK, BOND)
    verifier = factory.verifier(MIPS)
    rebind = game.contract.functions.initialize(
        stranger, MIPS, verifier, PRE, keccak(b"other claim"), N, CLOCK)
    reverts("NotFactory", lambda: chain.transact(rebind, stranger, gas=300_000))
    assert game.view().proposer == proposer
    assert chain.call(game.contract.functions.claim()) == CLAIM

    # the factory never initializes a game twice; a contract that deployed its own game
    # (and so is its factory) shows that the game refuses a second time
    initializer = chain.deploy("GameInitializer", gas=5_000_000)
    own = Game(chain, chain.call(initializer.functions.game()))
    init = initializer.functions.initialize
    zero = "0x" + "00" * 20
    reverts("EmptyTrace", lambda: chain.transact(
        init(MIPS, verifier, PRE, CLAIM, 0, CLOCK), proposer, gas=500_000))
    reverts("NoVerifier", lambda: chain.transact(
        init(MIPS, zero, PRE, CLAIM, N, CLOCK), proposer, gas=500_000))
    chain.transact(init(MIPS, verifier, PRE, CLAIM, N, CLOCK), proposer, gas=500_000)
    again = init(MIPS, verifier, PRE, keccak(b"other claim"), N, CLOCK)
    reverts("AlreadyInitialized", lambda: chain.transact(again, stranger, gas=500_000))
    view = own.view()
    assert (view.proposer, view.claim, view.trace_length) == (proposer, CLAIM, N)


def test_the_implementation_is_not_a_game(
    chain: Chain, implementation: Game
) -> None:
    player = chain.accounts[2]
    reverts("NotInitialized", lambda: implementation.challenge(player, BOND))
    reverts("NotInitialized", lambda: implementation.resolve(player))
    reverts("NotInitialized", lambda: implementation.bisect(player, 0, 0, PRE))
    reverts("NotInitialized", lambda: implementation.timeout(player, 0))
    fn = implementation.contract.functions
    bind = fn.initialize(player, MIPS, player, PRE, CLAIM, N, CLOCK)
    reverts("NotFactory", lambda: chain.transact(bind, player, gas=300_000))
    view = implementation.view()
    assert (view.status, view.challenges) == (GameStatus.UNCHALLENGED, ())
    assert int(view.proposer, 16) == 0
    assert chain.w3.eth.get_balance(implementation.address) == 0


def test_the_implementation_artifact_is_the_game_abi(chain: Chain, implementation: Game) -> None:
    """Agents attach to clones with the DisputeGame ABI: the clone forwards every selector."""
    assert implementation.contract.abi == chain.contract_factory(GAME_ARTIFACT).abi


#: tiny_sum built for each ISA: the same C source, a few hundred steps.
TINY_SUM = {"mips32": "tiny_sum", "rv64": "tiny_sum.rv64", "rv32": "tiny_sum.rv32"}


@pytest.mark.parametrize(
    ("isa", "other"), [("rv64", "mips32"), ("mips32", "rv64"), ("rv32", "mips32"), ("rv32", "rv64")]
)
def test_a_game_is_settled_only_by_its_own_vm(
    factory: GameFactory,
    parties: tuple[str, str, str],
    finished_emulator: Callable[[str], Any],
    isa: str,
    other: str,
) -> None:
    """A game of VM `isa` refuses a step proof made for VM `other` (WrongVm), even the right
    witness under the other id; the other ISA's witness under the game's own id fails the
    game's verifier; the right proof under the right id settles the challenge."""
    proposer, challenger, _ = parties
    emulator, foreign = finished_emulator(TINY_SUM[isa]), finished_emulator(TINY_SUM[other])
    assert (emulator.isa.name, foreign.isa.name) == (isa, other)
    n = emulator.final.step
    trace = [emulator.state_at(i).hash() for i in range(n + 1)]
    k = n // 2  # the proposer lies from step k on
    game, _, _ = factory.create(
        proposer, trace[0], lying(trace[n]), n, CLOCK, BOND, VM_IDS[isa]
    )
    game.challenge(challenger, BOND)
    c = bisect_to_step(game, proposer, challenger, wrong_from(k, trace), trace.__getitem__)
    assert (c.challenges[0].lo, c.challenges[0].hi) == (k - 1, k)
    vm, other_vm = VM_IDS[isa], VM_IDS[other]
    proof, alien = prove(emulator, k - 1), prove(foreign, 3)
    for witness, leaves in ((proof.witness, proof.proof), (alien.witness, alien.proof)):
        wrong = reverts("WrongVm", lambda w=witness, p=leaves: game.step(
            challenger, 0, other_vm, w, p))
        assert wrong == (vm, other_vm)
    # the game's verifier refuses the other ISA's witness: its length (MipsVerifier), its ISA
    # tag (RiscvVerifier), or, an RISC-V witness of the other XLEN, its hash
    refusal = {"mips32": "WitnessLength", "rv64": "InvalidWitness", "rv32": "InvalidWitness"}
    shared = factory.verifier(vm) == factory.verifier(other_vm)
    reverts("WrongPreState" if shared else refusal[isa],
            lambda: game.step(challenger, 0, vm, alien.witness, alien.proof))
    assert game.view().challenges[0].in_progress  # rejected proofs change nothing
    receipt = game.step(challenger, 0, vm, proof.witness, proof.proof)
    assert [name for name, _ in events(game, receipt)][:2] == ["StepProven", "ChallengeResolved"]
    assert game.view().challenges[0].winner() == Party.CHALLENGER
