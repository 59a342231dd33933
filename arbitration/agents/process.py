"""One party of a dispute as its own process: everything it knows comes from the chain.

`flexemu-game agent` (arbitration/cli/node_commands.py) builds an agent from
`arbitration.agents` for one side and hands it here. Nothing is kept on disk: a party that
was killed and started again finds its game's `GameCreated` log (by the game's address,
an indexed topic, so whichever factory made it), replays the game's events into the same
`GameView` it had, re-runs its program, and carries on from whatever move is due. This works
because the agents are functions of (their program, their strategy, the chain): the only local
state lost is a strategy's move count (`silent_after`, re-counted from the party's own events)
and whether a `forged_proof` forgery was already sent (a reverted transaction leaves no event;
after a restart a forger forges again, which is harmless: it is rejected again).

A challenger with `--watch` is a watchtower (`watch`): it follows the factory and plays every
claim about its program in turn, challenging each false one whoever already has, then
collects its bonds and keeps watching (a claim made for another VM than its program's is
skipped; `--game` on such a claim is refused). Restarted, it finds the games again from the
factory's logs and its own challenge in each by its account.

The loop polls: act when it is this party's move, otherwise wait `poll` seconds. On a
development node, `fast_forward_after` lets a party that has waited that long in real time
advance chain time past the running clock (or the challenge window), so a silent opponent
times out without an hour of waiting; never use it against a live opponent that may be slow.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from arbitration.agents.move import Move
from arbitration.agents.party import Agent, Challenger, WrongVmError
from arbitration.chain.abi_codec import event_topic
from arbitration.chain.artifacts import load_artifact
from arbitration.chain.base import Chain
from arbitration.chain.hexdata import to_checksum_address
from arbitration.contracts.enums import Party
from arbitration.contracts.events import FACTORY_ARTIFACT, GameEvent
from arbitration.contracts.game import Game
from arbitration.contracts.view import GameView
from flexemu.errors import FlexEmuError

#: Events that are a move of the given party after its opening move (what silent_after counts).
OWN_MOVES = {Party.PROPOSER: ("Bisected",), Party.CHALLENGER: ("Responded",)}


def creation_event(chain: Chain, game_address: str) -> GameEvent:
    """The `GameCreated` log naming `game_address`, from any factory."""
    entry = next(
        e
        for e in load_artifact(FACTORY_ARTIFACT)["abi"]
        if e.get("type") == "event" and e["name"] == "GameCreated"
    )
    address = to_checksum_address(game_address)
    topics = [event_topic(entry), bytes(12) + bytes.fromhex(address[2:])]
    logs = chain.w3.eth.get_logs(
        {"fromBlock": 0, "toBlock": "latest", "topics": ["0x" + t.hex() for t in topics]}
    )
    for log in logs:
        game = Game(chain, address)
        event = game.decoder.decode(log)
        if event is not None and event.name == "GameCreated":
            return event
    raise FlexEmuError(f"no game at {address}: no GameCreated event names it")


def attach(agent: Agent, event: GameEvent) -> GameView:
    """Point `agent` at the game `event` created and bring its view up to date."""
    view = GameView.created(event)
    pre_state = agent.pre_state
    if view.absolute_pre_state != pre_state:
        raise FlexEmuError(
            f"the game at {view.address} is about another program or input: its pre-state "
            f"is 0x{view.absolute_pre_state.hex()}, this program starts at 0x{pre_state.hex()}"
        )
    if agent.role == Party.PROPOSER and view.proposer != agent.account:
        raise FlexEmuError(
            f"the game at {view.address} was proposed by {view.proposer}, not {agent.account}"
        )
    view = agent.follow(event)
    assert agent.game is not None
    own = OWN_MOVES[agent.role]
    mine = {c.id for c in view.challenges_of(agent.account)}
    events = agent.game.logs(event.block_number)
    agent.sent = sum(
        1
        for e in events
        if e.name in own and (agent.role == Party.PROPOSER or e.args["id"] in mine)
    ) + sum(1 for e in events if e.name == "StepProven" and e.args["submitter"] == agent.account)
    return view


def play(
    agent: Agent,
    report: Callable[[Move], None],
    *,
    poll: float = 0.2,
    fast_forward_after: float | None = None,
) -> GameView:
    """Act until the game is resolved, then collect this party's bonds (`Agent.settle`);
    returns the final view. `agent` must be attached (or be a proposer whose `enter()`
    already created the game)."""
    assert agent.watcher is not None
    waiting_since = time.monotonic()
    while True:
        view = agent.watcher.refresh()
        if view.resolved:
            for move in agent.settle():
                report(move)
            return agent.watcher.view
        move = None
        if isinstance(agent, Challenger):
            move = agent.challenge_if_wrong(view)
        move = move or agent.act()
        if move is not None:
            report(move)
            waiting_since = time.monotonic()
            continue
        waited = time.monotonic() - waiting_since
        if fast_forward_after is not None and waited >= fast_forward_after:
            agent.chain.advance_time(max(view.seconds_until_expiry(agent.chain.now()), 1))
            waiting_since = time.monotonic()
            continue
        time.sleep(poll)


def watch(
    agent: Challenger,
    attached: Callable[[GameView], None],
    report: Callable[[Move], None],
    resolved: Callable[[GameView], None],
    *,
    poll: float = 0.2,
    fast_forward_after: float | None = None,
    games: int | None = None,
) -> None:
    """The watchtower: play every claim about `agent`'s program on its factory, in the order
    they were created, from the first block on (a restarted watchtower finds its games
    again); for each, challenge it if false, whoever already has, play to the resolution and
    collect. Returns after `games` claims (None: never)."""
    played: set[str] = set()
    while games is None or len(played) < games:
        fresh = [
            e
            for e in agent.factory.created_events(0)
            if e.args["absolutePreState"] == agent.pre_state and e.args["game"] not in played
        ]
        if not fresh:
            time.sleep(poll)
            continue
        event = fresh[0]
        played.add(event.args["game"])
        agent.leave()
        try:
            view = attach(agent, event)
        except WrongVmError:
            agent.leave()
            continue  # a claim no verifier of its program's VM can settle: not its game
        attached(view)
        final = play(agent, report, poll=poll, fast_forward_after=fast_forward_after)
        resolved(final)


def outcome_code(agent: Agent, view: GameView) -> int:
    """The process's exit code: 0 when its side won, 1 when it lost."""
    return 0 if view.winner() == agent.role else 1

