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

The loop polls: act when it is this party's move, otherwise wait `poll` seconds. On a
development node, `fast_forward_after` lets a party that has waited that long in real time
advance chain time past the running clock (or the challenge window), so a silent opponent
times out without an hour of waiting; never use it against a live opponent that may be slow.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from eth_utils import event_abi_to_log_topic, to_checksum_address

from arbitration.agents.move import Move
from arbitration.agents.party import Agent, Challenger
from arbitration.chain.artifacts import load_artifact
from arbitration.chain.base import Chain
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
    topics = [event_abi_to_log_topic(entry), bytes(12) + bytes.fromhex(address[2:])]
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
    if agent.role == Party.CHALLENGER and view.challenger not in (None, agent.account):
        raise FlexEmuError(f"the game at {view.address} is challenged by {view.challenger}")
    own = OWN_MOVES[agent.role]
    events = agent.game.logs(event.block_number)
    agent.sent = sum(1 for e in events if e.name in own) + sum(
        1 for e in events if e.name == "StepProven" and e.args["submitter"] == agent.account
    )
    return view


def play(
    agent: Agent,
    report: Callable[[Move], None],
    *,
    poll: float = 0.2,
    fast_forward_after: float | None = None,
) -> GameView:
    """Act until the game is resolved; returns the final view. `agent` must be attached (or
    be a proposer whose `enter()` already created the game)."""
    assert agent.watcher is not None
    waiting_since = time.monotonic()
    while True:
        view = agent.watcher.refresh()
        if view.resolved:
            return view
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


def outcome_code(agent: Agent, view: GameView) -> int:
    """The process's exit code: 0 when its side won, 1 when it lost."""
    return 0 if view.winner() == agent.role else 1

