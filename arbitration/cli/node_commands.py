"""Commands for a real JSON-RPC node: `deploy` (and `agent`, the parties as processes).

Every command takes `--rpc-url`; the node's unlocked accounts sign, unless
`$FLEXEMU_PRIVATE_KEY` holds a key (a node that keeps no keys, e.g. a public one;
`arbitration.chain.connect`). Network incidents (retries, re-numbered nonces, reverts) go to
stderr as they happen, one line each, so stdout stays machine-readable.

The chain, the bindings and the agents load inside the commands: registering these commands
(for `--help`, or beside `run`) must not load py-evm or web3.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from arbitration.agents.strategy import (
    DEFAULT_MAX_STEPS,
    STRATEGIES,
    STRATEGY_PARAMETERS,
    Strategy,
)
from arbitration.cli.app import (
    GUEST_COMMAND,
    ArgsArgument,
    ProgramArgument,
    StdinOption,
    app,
    fail,
    print_incident,
    print_json,
    read_stdin_file,
    reports_errors,
)
from arbitration.contracts.enums import Party
from arbitration.simulation.scenario import DEFAULT_BOND_WEI, DEFAULT_CLOCK_SECONDS

if TYPE_CHECKING:
    from arbitration.agents.move import Move
    from arbitration.agents.party import Agent
    from arbitration.chain.rpc import RpcChain
    from arbitration.contracts.events import GameEvent
    from arbitration.contracts.view import GameView

RpcUrlOption = Annotated[
    str,
    typer.Option(
        "--rpc-url", envvar="FLEXEMU_RPC_URL", help="JSON-RPC endpoint of the node to play on."
    ),
]


def connect(rpc_url: str) -> RpcChain:
    """The chain at `rpc_url`, its incidents printed as they happen."""
    from arbitration.chain.connect import connect as connect_node

    return connect_node(rpc_url, on_incident=print_incident)


@app.command()
@reports_errors
def deploy(rpc_url: RpcUrlOption) -> None:
    """Deploy every ISA's step verifier and the DisputeGameFactory; print the addresses (JSON)."""
    from arbitration.chain.errors import ChainError
    from arbitration.contracts.deploy import deploy_game

    chain = connect(rpc_url)
    try:
        addresses = deploy_game(chain).addresses
    except ChainError as error:
        raise fail(f"deployment failed: {error}") from None
    print_json({"chain": chain.description, **addresses})


# --------------------------------------------------------------------------------------------
# agent proposer|challenger: one party as its own process
# --------------------------------------------------------------------------------------------

agent_app = typer.Typer(
    no_args_is_help=True,
    help="Play one side of a dispute as its own process, on a JSON-RPC node.",
)
app.add_typer(agent_app, name="agent")

#: Default accounts (indices into the node's accounts), the same as the simulator's.
DEFAULT_ACCOUNT = {Party.PROPOSER: 1, Party.CHALLENGER: 2}

GameOption = Annotated[
    str | None, typer.Option("--game", help="Address of the game to play (or resume).")
]
FactoryOption = Annotated[
    str | None,
    typer.Option(
        "--factory",
        help="Factory address: the proposer creates a game there; the challenger takes the "
        "newest game about PROGRAM (waiting for one).",
    ),
]
StrategyOption = Annotated[
    str, typer.Option("--strategy", help=f"One of: {', '.join(STRATEGIES)}.")
]
StepOption = Annotated[
    int | None, typer.Option("--step", min=0, help="The step of lie_at/lie_from/forged_proof.")
]
MovesOption = Annotated[
    int | None, typer.Option(
        "--moves",
        min=0,
        help="Moves before the party goes silent (silent_after, or any strategy giving up).",
    )
]
AccountOption = Annotated[
    str | None,
    typer.Option("--account", help="Account index among the node's accounts, or an address."),
]
ClockOption = Annotated[
    int, typer.Option("--clock-seconds", min=1, help="Chess clock per party (proposer only).")
]
BondOption = Annotated[int, typer.Option("--bond-wei", min=0, help="Bond (proposer only).")]
Argv0Option = Annotated[
    str | None,
    typer.Option("--argv0", help="argv[0] the guest sees (default: PROGRAM as given)."),
]
MaxStepsOption = Annotated[
    int,
    typer.Option(
        "--max-steps",
        min=1,
        help="End the trace here if the program has not exited (both parties must agree).",
    ),
]
PollOption = Annotated[
    float, typer.Option("--poll", min=0.01, help="Seconds between looks at the chain.")
]
FastForwardOption = Annotated[
    float | None,
    typer.Option(
        "--fast-forward-after",
        min=0,
        help="Development nodes only: after this many seconds with nothing to do, advance "
        "chain time past the running clock so a silent opponent times out.",
    ),
]


WatchOption = Annotated[
    bool,
    typer.Option(
        "--watch",
        help="Challenger only, with --factory: be a watchtower: play every claim about PROGRAM "
        "on the factory in turn, challenging each false one whoever already has (never exits "
        "unless --games is given).",
    ),
]
GamesOption = Annotated[
    int | None,
    typer.Option("--games", min=1, help="With --watch: stop after this many claims."),
]


def strategy_from(kind: str, step: int | None, moves: int | None) -> Strategy:
    """A `Strategy` from the command line, checked like a scenario file's."""
    if kind not in STRATEGY_PARAMETERS:
        raise ValueError(f"--strategy: expected one of {', '.join(STRATEGIES)}, got {kind!r}")
    parameter = STRATEGY_PARAMETERS[kind]
    needed = {parameter[0]} if parameter is not None and parameter[1] else set()
    allowed = {parameter[0]} if parameter is not None else set()
    allowed.add("moves")  # any strategy may go silent after --moves moves
    given = {name for name, value in (("step", step), ("moves", moves)) if value is not None}
    if needed - given:
        raise ValueError(f"--strategy {kind} needs --{next(iter(needed - given))}")
    if given - allowed:
        raise ValueError(f"--strategy {kind} takes no --{next(iter(given - allowed))}")
    return Strategy(kind=kind, step=step, moves=moves)


def pick_account(chain: RpcChain, role: Party, account: str | None) -> str:
    from arbitration.chain.hexdata import to_checksum_address

    accounts = chain.accounts
    if account is None:
        return accounts[0] if len(accounts) == 1 else accounts[DEFAULT_ACCOUNT[role]]
    if account.isdigit():
        if int(account) >= len(accounts):
            raise ValueError(f"--account {account}: the node has {len(accounts)} accounts")
        return accounts[int(account)]
    return to_checksum_address(account)


def emit(event: str, **fields: object) -> None:
    """One JSON object per line on stdout: what a supervising script reads."""
    typer.echo(json.dumps({"event": event, **fields}))


def newest_game_about(agent: Agent, poll: float) -> GameEvent:
    """The newest GameCreated on the agent's factory whose pre-state is its program's."""
    while (event := agent.newest_game(0)) is None:
        time.sleep(poll)
    return event


def run_party(
    role: Party,
    rpc_url: str,
    program: str,
    args: list[str] | None,
    *,
    game: str | None,
    factory: str | None,
    strategy: Strategy,
    stdin: Path | None,
    argv0: str | None,
    account: str | None,
    clock_seconds: int,
    bond: int,
    max_steps: int,
    poll: float,
    fast_forward_after: float | None,
    watching: bool = False,
    games: int | None = None,
) -> int:
    from arbitration.agents.party import Challenger, Proposer
    from arbitration.agents.process import attach, creation_event, outcome_code, play, watch
    from arbitration.simulation.report import move_record
    from flexemu.loader import Program

    if (game is None) == (factory is None):
        raise ValueError("give exactly one of --game ADDRESS and --factory ADDRESS")
    if watching and (role != Party.CHALLENGER or factory is None):
        raise ValueError("--watch is for a challenger, with --factory ADDRESS")
    if games is not None and not watching:
        raise ValueError("--games goes with --watch")
    chain = connect(rpc_url)
    sender = pick_account(chain, role, account)
    argv = [argv0 or program, *(args or [])]
    loaded = Program.from_file(program, argv, stdin=read_stdin_file(stdin))
    event = creation_event(chain, game) if game is not None else None
    factory_address = factory if event is None else event.address
    if role == Party.PROPOSER:
        agent: Agent = Proposer(
            chain,
            sender,
            loaded,
            strategy,
            factory_address,
            clock_seconds=clock_seconds,
            bond=bond,
            max_steps=max_steps,
        )
    else:
        agent = Challenger(chain, sender, loaded, strategy, factory_address, max_steps)
    agent.prepare()
    emit("started", role=role.label, account=sender, chain=chain.description)
    numbered = itertools.count(1)  # this process's moves, in order

    def report(move: Move) -> None:
        emit("move", **move_record(replace(move, index=next(numbered))))

    if watching:
        assert isinstance(agent, Challenger)
        watch(
            agent,
            lambda view: emit("attached", **attached_record(view, agent)),
            report,
            lambda final: emit("resolved", **resolved_record(final, role)),
            poll=poll,
            fast_forward_after=fast_forward_after,
            games=games,
        )
        return 0
    if event is None and role == Party.PROPOSER:
        opening = agent.enter()
        assert opening is not None and agent.game_view is not None
        emit("created", game=agent.game_view.address, **move_record(opening))
    else:
        view = attach(agent, event or newest_game_about(agent, poll))
        emit("attached", **attached_record(view, agent))
    final = play(agent, report, poll=poll, fast_forward_after=fast_forward_after)
    emit("resolved", **resolved_record(final, role))
    return outcome_code(agent, final)


def attached_record(view: GameView, agent: Agent) -> dict[str, object]:
    """What a process says when it attaches to a game (its own challenge, if it holds one)."""
    own = view.challenges_of(agent.account) if agent.role == Party.CHALLENGER else ()
    return {
        "game": view.address,
        "status": view.status.name.lower(),
        "challenges": len(view.challenges),
        "challenge": own[-1].id if own else None,
        "interval": [own[-1].lo, own[-1].hi] if own else [0, view.trace_length],
        "moves_so_far": agent.sent,
    }


def resolved_record(final: GameView, role: Party) -> dict[str, object]:
    from arbitration.simulation.formatting import hex_hash

    decisive = None
    if final.winning_challenge is not None:
        decisive = final.challenges[final.winning_challenge]
    narrowed = decisive is not None and decisive.hi - decisive.lo == 1
    return {
        "game": final.address,
        "winner": final.winner().label,
        "reason": final.reason.label,
        "challenge": final.winning_challenge,
        "interval": [decisive.lo, decisive.hi] if decisive else None,
        "disputed_step": decisive.lo if narrowed else None,
        "claim": hex_hash(final.claim),
        "won": final.winner() == role,
    }


def party_command(role: Party) -> Callable[..., None]:
    def command(
        program: ProgramArgument,
        rpc_url: RpcUrlOption,
        args: ArgsArgument = None,
        game: GameOption = None,
        factory: FactoryOption = None,
        strategy: StrategyOption = "honest",
        step: StepOption = None,
        moves: MovesOption = None,
        stdin: StdinOption = None,
        argv0: Argv0Option = None,
        account: AccountOption = None,
        clock_seconds: ClockOption = DEFAULT_CLOCK_SECONDS,
        bond_wei: BondOption = DEFAULT_BOND_WEI,
        max_steps: MaxStepsOption = DEFAULT_MAX_STEPS,
        poll: PollOption = 0.2,
        fast_forward_after: FastForwardOption = None,
        watching: WatchOption = False,
        games: GamesOption = None,
    ) -> None:
        from arbitration.chain.errors import ChainError

        try:
            code = run_party(
                role,
                rpc_url,
                program,
                args,
                game=game,
                factory=factory,
                strategy=strategy_from(strategy, step, moves),
                stdin=stdin,
                argv0=argv0,
                account=account,
                clock_seconds=clock_seconds,
                bond=bond_wei,
                max_steps=max_steps,
                poll=poll,
                fast_forward_after=fast_forward_after,
                watching=watching,
                games=games,
            )
        except ChainError as error:
            raise fail(f"transaction failed: {error}") from None
        raise typer.Exit(code)

    command.__doc__ = (
        f"Play the {role.label} for PROGRAM [ARGS...]; exit 0 if it wins, 1 if it loses. "
        "Prints one JSON object per line (started, created/attached, move..., resolved)."
    )
    command.__name__ = role.label
    return reports_errors(command)


agent_app.command("proposer", context_settings=GUEST_COMMAND)(party_command(Party.PROPOSER))
agent_app.command("challenger", context_settings=GUEST_COMMAND)(party_command(Party.CHALLENGER))
