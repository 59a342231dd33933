"""Play one scenario: deploy (or reuse) the contracts, start both agents, let them play until
the game resolves, and describe what the chain saw as an :class:`Outcome`.

The loop (docs/game.md, "Simulation"):

* the proposer creates the game with its claim;
* each round, the agents are asked in order (the party whose clock runs first; in the step
  phase a forger first, then the challenger, then the proposer) and the first one that sends a
  transaction ends the round;
* when nobody acts (a silent party, or an unchallenged claim), chain time is advanced just past
  the running clock (or the challenge window) and the waiting party calls ``timeout()`` (or
  ``resolve()``); if it is silent too, a third account does.

Chain time is deterministic on the default chain: its genesis is in the future, so every
block is one second after its parent and clocks, timestamps and therefore reports do not
depend on the wall clock.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import replace

from arbitration.agents.move import Move
from arbitration.agents.party import Agent, Challenger, Proposer
from arbitration.agents.strategy import DEFAULT_MAX_STEPS
from arbitration.chain.base import Chain
from arbitration.chain.in_process import InProcessChain
from arbitration.contracts.deploy import deploy_game
from arbitration.contracts.enums import GameStatus, Party, Reason
from arbitration.contracts.game import Game
from arbitration.contracts.view import GameView
from arbitration.simulation.outcome import Outcome, StepResolution
from arbitration.simulation.scenario import Scenario
from flexemu.loader import Program
from flexemu.proof import fetched_word
from flexemu.state import State

#: Genesis of the default chain: 2100-01-01, far ahead of any wall clock (see module notes).
GENESIS_TIMESTAMP = 4_102_444_800

#: Accounts (indices into chain.accounts) of the parties and of a neutral third party.
PROPOSER_ACCOUNT, CHALLENGER_ACCOUNT, BYSTANDER_ACCOUNT = 1, 2, 3

#: Rounds after which a game that has not resolved is a bug (a dispute needs ~2 log2 N + 4).
MAX_ROUNDS = 400

_factories: weakref.WeakKeyDictionary[Chain, str] = weakref.WeakKeyDictionary()


def deploy_contracts(chain: Chain) -> str:
    """The factory's address on `chain`: deployed (with a verifier) on first use, then reused."""
    address = _factories.get(chain)
    if address is None:
        address = _factories[chain] = deploy_game(chain).factory.address
    return address


def default_chain() -> Chain:
    """The chain `simulate` plays on unless given one: in process, deterministic time (see the
    module notes), without the web3 client middlewares that cost time for nothing here."""
    return InProcessChain.fresh(genesis_timestamp=GENESIS_TIMESTAMP, lean_client=True)


def load_program(scenario: Scenario) -> Program:
    spec = scenario.program
    return Program.from_file(spec.path, list(spec.argv), dict(spec.env), spec.stdin)


def simulate(
    scenario: Scenario,
    observer: Callable[[Move], None] | None = None,
    chain: Chain | None = None,
) -> Outcome:
    """Play `scenario` on `chain` (default: a fresh in-process chain) and return the outcome.
    `observer` is called with each move as soon as it is on chain."""
    started = time.perf_counter()
    chain = chain or default_chain()
    seconds: dict[str, float] = {}

    factory_address = deploy_contracts(chain)
    seconds["deploy"] = time.perf_counter() - started

    mark = time.perf_counter()  # emulate: each agent loads the program and runs it
    accounts = chain.accounts
    max_steps = scenario.program.max_steps or DEFAULT_MAX_STEPS
    proposer = Proposer(
        chain,
        accounts[PROPOSER_ACCOUNT],
        load_program(scenario),
        scenario.proposer,
        factory_address,
        clock_seconds=scenario.game.clock_seconds,
        bond=scenario.game.bond_wei,
        max_steps=max_steps,
    )
    challenger = Challenger(
        chain,
        accounts[CHALLENGER_ACCOUNT],
        load_program(scenario),
        scenario.challenger,
        factory_address,
        max_steps,
    )
    _prepare_in_parallel((proposer, challenger))
    seconds["emulate"] = time.perf_counter() - mark

    mark = time.perf_counter()
    moves = _play(chain, proposer, challenger, observer)
    seconds["dispute"] = time.perf_counter() - mark

    outcome = _outcome(scenario, chain, proposer, moves, seconds)
    seconds["total"] = time.perf_counter() - started
    return outcome


def _prepare_in_parallel(agents: tuple[Agent, ...]) -> None:
    errors: list[BaseException] = []

    def run(agent: Agent) -> None:
        try:
            agent.prepare()
        except BaseException as error:  # re-raised in the caller's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(a,)) for a in agents[1:]]
    for thread in threads:
        thread.start()
    run(agents[0])
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _order(view: GameView, proposer: Agent, challenger: Agent) -> list[Agent]:
    if view.step_phase:
        forgers = [a for a in (challenger, proposer) if a.forges]
        return forgers + [a for a in (challenger, proposer) if a not in forgers]
    if view.turn == Party.PROPOSER:
        return [proposer, challenger]
    return [challenger, proposer]


def _play(
    chain: Chain,
    proposer: Proposer,
    challenger: Challenger,
    observer: Callable[[Move], None] | None,
) -> list[Move]:
    moves: list[Move] = []

    def record(move: Move) -> None:
        move = replace(move, index=len(moves))
        moves.append(move)
        if observer is not None:
            observer(move)

    record(proposer.enter())
    view = proposer.game_view
    assert view is not None
    waited = False
    for _ in range(MAX_ROUNDS):
        if view.resolved:
            return moves
        for agent in _order(view, proposer, challenger):
            move = agent.act()
            if move is not None:
                record(move)
                view = agent.game_view or view
                waited = False
                break
        else:
            view = Game(chain, view.address).view(view)
            if view.resolved:
                return moves
            if waited:
                record(_bystander_ends(chain, view))
                view = Game(chain, view.address).view(view)
                continue
            chain.advance_time(view.seconds_until_expiry(chain.now()))
            waited = True
    raise RuntimeError(f"the game at {view.address} did not resolve within {MAX_ROUNDS} rounds")


def _bystander_ends(chain: Chain, view: GameView) -> Move:
    """Both parties are silent: a third account calls timeout() (or resolve())."""
    game = Game(chain, view.address)
    sender = chain.accounts[BYSTANDER_ACCOUNT]
    if view.status == GameStatus.UNCHALLENGED:
        action, receipt = "resolve", game.resolve(sender)
    else:
        action, receipt = "timeout", game.timeout(sender)
    after = view
    for event in game.events(receipt):
        after = after.apply(event)
    return Move(
        index=0,
        actor="anyone",
        action=action,
        lo=after.lo,
        hi=after.hi,
        gas=receipt.gas_used,
        clocks=after.clocks,
        timestamp=after.updated_at,
        tx_hash=receipt.tx_hash,
    )


def _outcome(
    scenario: Scenario,
    chain: Chain,
    proposer: Proposer,
    moves: list[Move],
    seconds: dict[str, float],
) -> Outcome:
    known = proposer.game_view
    assert known is not None
    game = Game(chain, known.address)
    view = game.view(known)
    winner = view.winner()
    narrowed = view.status != GameStatus.UNCHALLENGED and view.hi - view.lo == 1
    disputed = view.lo if narrowed else None
    resolution = None
    if view.reason == Reason.STEP:
        step_move = next(m for m in moves if m.action == "step" and m.reverted is None)
        resolution = _step_resolution(game, view, step_move)
    gas: dict[str, int] = {}
    for move in moves:
        gas[move.actor] = gas.get(move.actor, 0) + move.gas
    return Outcome(
        scenario=scenario.name,
        chain=chain.description,
        game=view.address,
        trace_length=view.trace_length,
        claimed_state_hash=view.claim,
        winner=None if winner == Party.NONE else winner.label,  # type: ignore[arg-type]
        reason=view.reason.label if view.reason != Reason.NONE else "unresolved",
        disputed_step=disputed,
        moves=tuple(moves),
        resolution=resolution,
        gas=gas,
        seconds=seconds,
    )


def _step_resolution(game: Game, view: GameView, move: Move) -> StepResolution:
    """The verified step, from the step transaction's own calldata and the final state."""
    tx = game.chain.w3.eth.get_transaction(move.tx_hash)
    _, args = game.contract.decode_function_input(tx["input"])
    witness, proof = bytes(args["witness"]), bytes(args["proof"])
    return StepResolution(
        step=view.lo,
        pre_state_hash=view.hash_lo,
        claimed_post_state_hash=view.hash_hi,
        verifier_post_state_hash=move.state_hash or b"",
        pc=State.from_witness(witness).pc,
        instruction=fetched_word(witness, proof),
        submitted_by=move.actor,  # type: ignore[arg-type]
        gas=move.gas,
    )
