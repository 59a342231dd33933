"""Play one scenario: deploy (or reuse) the contracts, start the proposer and every
challenger, let them play until the claim is resolved, let each party collect its bonds, and
describe what the chain saw as an :class:`Outcome`.

The loop (docs/game.md, "Simulation"):

* the proposer creates the game with its claim;
* each round, every agent is asked in turn (in the step phase forgers first, then the
  proposer, then the challengers in the order they arrive) and each makes every move it has
  due: a challenger at most one in its own challenge, the proposer one per live challenge;
  so the challenges are played side by side, and a round costs the same chain time whatever
  their number;
* when nobody acts (a silent party, or a claim waiting for its window to close), chain time is
  advanced just past the earliest running clock (or the window's close) and the waiting party
  calls ``timeout(id)`` (or ``resolve()``); if it is silent too, a third account does;
* once the claim is resolved, every party reclaims its moot challenges and withdraws its
  credit (bonds are only ever pulled).

Chain time is deterministic on the default chain: its genesis is in the future, so every
block is one second after its parent and clocks, timestamps and therefore reports do not
depend on the wall clock.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import replace

from arbitration.agents.move import Move
from arbitration.agents.party import Agent, Challenger, Proposer
from arbitration.agents.strategy import DEFAULT_MAX_STEPS, strategy_text
from arbitration.chain.base import Chain
from arbitration.contracts.deploy import deploy_game
from arbitration.contracts.enums import Party, Reason
from arbitration.contracts.game import Game
from arbitration.contracts.view import ChallengeView, GameView
from arbitration.simulation.outcome import ChallengeOutcome, Outcome, StepResolution
from arbitration.simulation.scenario import Scenario
from arbitration.simulation.tracing import Traces
from flexemu.emulator import Emulator
from flexemu.proof import fetched_word, isa_of_witness

#: Genesis of the default chain: 2100-01-01, far ahead of any wall clock (see module notes).
GENESIS_TIMESTAMP = 4_102_444_800

#: Accounts (indices into chain.accounts): the proposer, then the challengers in the order
#: they arrive from CHALLENGER_ACCOUNT on, then a neutral third party.
PROPOSER_ACCOUNT, CHALLENGER_ACCOUNT = 1, 2

#: Rounds after which a game that has not resolved is a bug (a dispute needs ~2 log2 N + 6,
#: whatever the number of challengers: they are played side by side).
MAX_ROUNDS = 400


def bystander_account(challengers: int) -> int:
    """The neutral third party's account index, after the challengers'."""
    return CHALLENGER_ACCOUNT + challengers


_factories: weakref.WeakKeyDictionary[Chain, str] = weakref.WeakKeyDictionary()


def deploy_contracts(chain: Chain) -> str:
    """The factory's address on `chain`: deployed (with a verifier) on first use, then reused."""
    address = _factories.get(chain)
    if address is None:
        address = _factories[chain] = deploy_game(chain).factory.address
    return address


#: The in-process chain hosts `simulate --chain` offers: py-evm (the default, the reference)
#: and revm (`arbitration.chain.revm_host`, an optional extra: fast, for sweeps).
CHAIN_HOSTS = ("pyevm", "revm")


def default_chain(challengers: int = 1, host: str = "pyevm") -> Chain:
    """The chain `simulate` plays on unless given one: in process on `host` (py-evm unless
    "revm"), deterministic time (see the module notes), without the web3 client middlewares
    that cost time for nothing here, with an account for every party. Each host is imported
    only when chosen."""
    num_accounts = max(10, bystander_account(challengers) + 1)
    if host == "revm":
        from arbitration.chain.revm_host import RevmChain

        return RevmChain.fresh(num_accounts, genesis_timestamp=GENESIS_TIMESTAMP)
    if host != "pyevm":
        raise ValueError(f"unknown chain host {host!r} (choose from {', '.join(CHAIN_HOSTS)})")
    from arbitration.chain.in_process import InProcessChain

    return InProcessChain.fresh(
        genesis_timestamp=GENESIS_TIMESTAMP, lean_client=True, num_accounts=num_accounts
    )


def simulate(
    scenario: Scenario,
    observer: Callable[[Move], None] | None = None,
    chain: Chain | None = None,
    traced: Emulator | None = None,
    traces: Traces | None = None,
) -> Outcome:
    """Play `scenario` on `chain` (default: a fresh in-process chain) and return the outcome.
    `observer` is called with each move as soon as it is on chain. `traced`, if given, is the
    scenario's program already run to its max_steps: both agents read it (one after the other,
    never at once) instead of tracing the program themselves. Otherwise each party traces
    the program itself, in `traces` if the caller started them (before loading the chain
    stack, as `flexemu-game simulate` does), else in threads started here, before deploying.

    `seconds["emulate"]` is the wait for the parties' runs after deployment: the part of
    their runs that chain set-up and deployment did not hide."""
    started = time.perf_counter()
    lineup = scenario.lineup
    if traced is None and traces is None:
        traces = Traces(scenario)
    chain = chain or default_chain(len(lineup))
    accounts = chain.accounts
    if len(accounts) <= bystander_account(len(lineup)):
        raise ValueError(
            f"{len(lineup)} challengers need {bystander_account(len(lineup)) + 1} accounts; "
            f"the chain has {len(accounts)}"
        )
    seconds: dict[str, float] = {}

    factory_address = deploy_contracts(chain)
    seconds["deploy"] = time.perf_counter() - started

    mark = time.perf_counter()
    emulators = traces.wait() if traces is not None else [traced] * (1 + len(lineup))
    max_steps = scenario.program.max_steps or DEFAULT_MAX_STEPS
    proposer = Proposer(
        chain,
        accounts[PROPOSER_ACCOUNT],
        emulators[0].program,
        scenario.proposer,
        factory_address,
        clock_seconds=scenario.game.clock_seconds,
        bond=scenario.game.bond_wei,
        max_steps=max_steps,
        emulator=emulators[0],
    )
    challengers = [
        Challenger(
            chain,
            accounts[CHALLENGER_ACCOUNT + i],
            emulators[1 + i].program,
            strategy,
            factory_address,
            max_steps,
            emulators[1 + i],
        )
        for i, strategy in enumerate(lineup)
    ]
    seconds["emulate"] = time.perf_counter() - mark

    mark = time.perf_counter()
    moves = _play(chain, proposer, challengers, observer)
    seconds["dispute"] = time.perf_counter() - mark

    outcome = _outcome(scenario, chain, proposer, challengers, moves, seconds)
    seconds["total"] = time.perf_counter() - started
    return outcome


def _order(proposer: Agent, challengers: list[Challenger]) -> list[Agent]:
    """Forgers in the step phase first (a forged proof is sent, and rejected, before the
    honest proof ends a challenge), then the proposer, then the challengers in the order they
    arrive. The proposer before the challengers: a challenge reaches the step phase by a
    challenger's answer, so the step is proven a round later, after any forger's try."""
    everyone: list[Agent] = [proposer, *challengers]
    forgers = [a for a in everyone if a.forges and _in_step_phase(a)]
    return forgers + [a for a in everyone if a not in forgers]


def _in_step_phase(agent: Agent) -> bool:
    """Whether a challenge `agent` plays is in the step phase now (its view brought up to
    date: the move that got there may be the last of the previous round)."""
    if agent.watcher is None:
        return False
    view = agent.watcher.refresh()
    if isinstance(agent, Challenger):
        own = agent.challenge_id
        return own is not None and view.challenges[own].step_phase
    return any(c.step_phase for c in view.live)


def _play(
    chain: Chain,
    proposer: Proposer,
    challengers: list[Challenger],
    observer: Callable[[Move], None] | None,
) -> list[Move]:
    moves: list[Move] = []

    def record(move: Move) -> None:
        move = replace(move, index=len(moves))
        moves.append(move)
        if observer is not None:
            observer(move)

    record(proposer.enter())
    assert proposer.watcher is not None
    view = proposer.watcher.view
    waited = False
    for _ in range(MAX_ROUNDS):
        if view.resolved:
            break
        acted = False
        for agent in _order(proposer, challengers):
            # a challenger moves once a round, the proposer once per live challenge
            budget = 1 if isinstance(agent, Challenger) else len(challengers) + 1
            for _ in range(budget):
                move = agent.act()
                if move is None:
                    break
                record(move)
                acted = True
        if acted:
            view = proposer.watcher.refresh()
            waited = False
            continue
        view = Game(chain, view.address).view(view)
        if view.resolved:
            break
        if waited:
            record(_bystander_ends(chain, view, bystander_account(len(challengers))))
            view = proposer.watcher.refresh()
            continue
        chain.advance_time(view.seconds_until_expiry(chain.now()))
        waited = True
    else:
        raise RuntimeError(f"the game at {view.address} did not resolve within {MAX_ROUNDS} rounds")
    for agent in (proposer, *challengers):
        if agent.watcher is not None:
            for move in agent.settle():
                record(move)
    return moves


def _bystander_ends(chain: Chain, view: GameView, account: int) -> Move:
    """Every party is silent: a third account times out the first expired challenge (or, none
    being live, resolves the claim)."""
    game = Game(chain, view.address)
    sender = chain.accounts[account]
    now = chain.now()
    expired = [c for c in view.live if c.running_clock_left(now + 1) < 0]
    if expired:
        id: int | None = expired[0].id
        action, receipt = "timeout", game.timeout(sender, expired[0].id)
    else:
        id = None
        action, receipt = "resolve", game.resolve(sender)
    after = view
    for event in game.events(receipt):
        after = after.apply(event)
    c = after.challenges[id] if id is not None else None
    return Move(
        index=0,
        actor="anyone",
        action=action,
        lo=c.lo if c else 0,
        hi=c.hi if c else after.trace_length,
        gas=receipt.gas_used,
        clocks=c.clocks if c else (after.clock_seconds, after.clock_seconds),
        timestamp=after.updated_at,
        tx_hash=receipt.tx_hash,
        challenge=id,
        account=sender,
    )


def _outcome(
    scenario: Scenario,
    chain: Chain,
    proposer: Proposer,
    challengers: list[Challenger],
    moves: list[Move],
    seconds: dict[str, float],
) -> Outcome:
    known = proposer.game_view
    assert known is not None
    game = Game(chain, known.address)
    view = game.view(known)
    logs = game.logs(0)
    winner = view.winner()
    places = {agent.account: i for i, agent in enumerate(challengers)}
    lineup = scenario.lineup
    challenges = tuple(
        _challenge_outcome(c, places[c.challenger], strategy_text(lineup[places[c.challenger]]),
                           moves)
        for c in view.challenges
    )
    decisive = None
    if view.winning_challenge is not None:
        decisive = view.challenges[view.winning_challenge]
    elif view.challenges:
        narrowed = [c for c in view.challenges if c.hi - c.lo == 1]
        decisive = narrowed[0] if narrowed else view.challenges[0]
    disputed = decisive.lo if decisive is not None and decisive.hi - decisive.lo == 1 else None
    resolution = None
    stepped = [c for c in view.challenges if c.reason == Reason.STEP]
    if view.winning_challenge is not None:
        stepped = [c for c in stepped if c.id == view.winning_challenge]
    if stepped:
        c = stepped[0]
        step_move = next(
            m for m in moves if m.action == "step" and m.reverted is None and m.challenge == c.id
        )
        resolution = _step_resolution(game, c, step_move)
    gas: dict[str, int] = {}
    for move in moves:
        gas[move.actor] = gas.get(move.actor, 0) + move.gas
    payouts: dict[str, int] = {}
    for event in logs:
        if event.name == "Withdrawn":
            to = event.args["to"]
            payouts[to] = payouts.get(to, 0) + event.args["amount"]
    resolved = [e for e in logs if e.name == "Resolved"]
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
        challenges=challenges,
        payouts=payouts,
        created_at=view.created_at,
        settled_at=resolved[0].args["timestamp"] if resolved else 0,
        decisive_challenge=decisive.id if decisive is not None else None,
    )


def _challenge_outcome(
    c: ChallengeView, place: int, strategy: str, moves: list[Move]
) -> ChallengeOutcome:
    own = [m for m in moves if m.challenge == c.id]
    gas: dict[str, int] = {}
    for move in own:
        gas[move.actor] = gas.get(move.actor, 0) + move.gas
    settling = [
        m for m in own if m.reverted is None and m.action in ("step", "timeout", "reclaim")
    ]
    winner = c.winner()
    if c.in_progress:
        reason = "unresolved"
    else:
        reason = c.reason.label
    return ChallengeOutcome(
        id=c.id,
        challenger=place,
        account=c.challenger,
        strategy=strategy,
        winner=None if winner == Party.NONE else winner.label,  # type: ignore[arg-type]
        reason=reason,
        disputed_step=c.lo if c.hi - c.lo == 1 else None,
        moves=len(own),
        gas=gas,
        bond=c.bond,
        settled_at=settling[-1].timestamp if settling and not c.in_progress else None,
    )


def _step_resolution(game: Game, c: ChallengeView, move: Move) -> StepResolution:
    """The verified step, from the step transaction's own calldata and the final state."""
    _, args = game.contract.decode_function_input(game.chain.transaction_input(move.tx_hash))
    witness, proof = bytes(args["witness"]), bytes(args["proof"])
    isa = isa_of_witness(witness)
    return StepResolution(
        step=c.lo,
        isa=isa.name,
        pre_state_hash=c.hash_lo,
        claimed_post_state_hash=c.hash_hi,
        verifier_post_state_hash=move.state_hash or b"",
        pc=isa.from_witness(witness).pc,
        instruction=fetched_word(witness, proof, isa),
        submitted_by=move.actor,  # type: ignore[arg-type]
        gas=move.gas,
    )
