"""The parties as separate OS processes on a real anvil, against the embedded run.

One dispute (the `wrong-output` scenario: stdin_echo with arguments and a stdin file, whose
proposer lies) is played by `flexemu-game agent` processes that share nothing but the node:
the proposer, a colluding challenger (the proposer's sybil) that challenges first and throws
its game, and an honest watchtower (`agent challenger --watch`) that follows the factory and
joins the game the sybil already holds. The watchtower is killed (SIGKILL) after its third
move and started again; it must resume from the chain alone and still reject the claim. The
oracle is the in-process simulation of the same lineup: the winner, the disputed step, every
bisection hash of the watchtower's challenge and the step's state hashes must be identical,
move for move. Gas from the node's receipts is printed beside py-evm's.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from anvil_support import anvil_or_skip
from typer.testing import CliRunner

from arbitration.agents.strategy import Strategy
from arbitration.chain.anvil import AnvilNode, stop_process_group
from arbitration.chain.rpc import RpcChain
from arbitration.cli import emulator_commands, game_commands, node_commands
from arbitration.cli.app import app
from arbitration.contracts.enums import ChallengeStatus, GameStatus, Party, Reason
from arbitration.contracts.game import Game, GameFactory
from arbitration.contracts.verifier import VM_IDS
from arbitration.simulation.outcome import Outcome
from arbitration.simulation.scenario import Scenario, load_scenario
from arbitration.simulation.simulator import simulate
from flexemu.emulator import Emulator
from flexemu.loader import Program

COMMANDS = (emulator_commands, game_commands, node_commands)  # registered on `app`
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SCENARIO = "wrong-output"
KILL_AFTER_MOVES = 3
SYBIL = Strategy("collude")
#: A process that prints nothing for this long is stuck: fail instead of hanging the suite.
STUCK_SECONDS = 180
FLEXEMU_GAME = [sys.executable, "-c", "from arbitration.cli.main import main; main()"]


class AgentProcess:
    """One `flexemu-game agent` process; its stdout is JSON lines, read by a thread."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        with log.open("ab") as err:
            self.process = subprocess.Popen(
                [*FLEXEMU_GAME, "agent", *args],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                start_new_session=True,
            )
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.events: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def next_event(self) -> dict[str, Any] | None:
        try:
            event = self.lines.get(timeout=STUCK_SECONDS)
        except queue.Empty:
            pytest.fail(
                f"agent printed nothing for {STUCK_SECONDS} s; last events {self.events[-3:]}; "
                f"stderr:\n{self.stderr()}"
            )
        if event is not None:
            self.events.append(event)
        return event

    def until(self, name: str, count: int = 1) -> dict[str, Any]:
        seen = 0
        while (event := self.next_event()) is not None:
            if event["event"] == name:
                seen += 1
                if seen == count:
                    return event
        pytest.fail(f"agent exited without {count} {name!r} event(s); stderr:\n{self.stderr()}")

    def finish(self) -> int:
        while self.next_event() is not None:
            pass
        return self.process.wait()

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        stop_process_group(self.process)


def party_args(
    role: str, node: AnvilNode, scenario: Scenario, stdin: Path, strategy: Strategy | None = None
) -> list[str]:
    spec = scenario.program
    strategy = strategy or getattr(scenario, role)
    args = [role, "--rpc-url", node.url, "--strategy", strategy.kind, "--stdin", str(stdin)]
    if strategy.step is not None:
        args += ["--step", str(strategy.step)]
    if strategy.moves is not None:
        args += ["--moves", str(strategy.moves)]
    args += ["--clock-seconds", str(scenario.game.clock_seconds)]
    args += ["--bond-wei", str(scenario.game.bond_wei), "--poll", "0.05"]
    return [*args, "--argv0", spec.argv[0], "--", str(spec.path), *spec.argv[1:]]


@dataclass
class Dispute:
    node: AnvilNode
    scenario: Scenario
    embedded: Outcome
    addresses: dict[str, str]
    game: str
    proposer: AgentProcess
    sybil: AgentProcess
    challengers: list[AgentProcess]  # the watchtower, before and after its restart
    codes: dict[str, int]


@pytest.fixture(scope="module")
def node() -> Iterator[AnvilNode]:
    """Blocks one second apart, like the embedded chain's, so the clocks run alike."""
    with anvil_or_skip(seconds_per_block=1) as running:
        yield running


@pytest.fixture(scope="module")
def dispute(node: AnvilNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dispute]:
    base = load_scenario(SCENARIOS / f"{SCENARIO}.yaml")
    lineup = (SYBIL, Strategy("honest"))
    scenario = replace(base, challenger=SYBIL, challengers=lineup)
    embedded = simulate(scenario)
    tmp = tmp_path_factory.mktemp("agents")
    stdin = tmp / "stdin"
    stdin.write_bytes(scenario.program.stdin)
    deployed = CliRunner().invoke(app, ["deploy", "--rpc-url", node.url])
    assert deployed.exit_code == 0, deployed.stderr
    addresses = json.loads(deployed.stdout)

    def start(role: str, name: str, *where: str, strategy: Strategy | None = None) -> AgentProcess:
        args = party_args(role, node, scenario, stdin, strategy)
        return AgentProcess([*args[:1], *where, *args[1:]], tmp / f"{name}.log")

    factory = ["--factory", addresses["factory"]]
    proposer = start("proposer", "proposer", *factory)
    challengers: list[AgentProcess] = []
    sybil = None
    try:
        game = proposer.until("created")["game"]
        sybil = start("challenger", "sybil", "--game", game, strategy=SYBIL)
        assert sybil.until("move")["action"] == "challenge"  # it holds the game first
        watch = ["--watch", *factory, "--account", "3"]
        honest = Strategy("honest")
        challengers.append(start("challenger", "watchtower", *watch, strategy=honest))
        challengers[0].until("move", KILL_AFTER_MOVES)
        challengers[0].process.send_signal(signal.SIGKILL)
        challengers[0].finish()
        challengers.append(
            start("challenger", "watchtower", *watch, "--games", "1", strategy=honest)
        )
        codes = {
            "watchtower": challengers[1].finish(),
            "sybil": sybil.finish(),
            "proposer": proposer.finish(),
        }
        yield Dispute(
            node, scenario, embedded, addresses, game, proposer, sybil, challengers, codes
        )
    finally:
        for party in (proposer, sybil, *challengers):
            if party is not None:
                party.kill()


def test_the_watchtower_wins_across_a_restart_in_a_game_the_sybil_held_first(
    dispute: Dispute,
) -> None:
    assert dispute.codes == {"watchtower": 0, "sybil": 0, "proposer": 1}
    first, second = dispute.challengers
    assert first.process.returncode == -signal.SIGKILL
    assert [e["event"] for e in first.events][-1] == "move"
    joined = first.events[1]
    assert joined["event"] == "attached" and joined["challenges"] == 1  # the sybil's
    assert joined["challenge"] is None
    assert next(e["action"] for e in first.events if e["event"] == "move") == "challenge"
    attached = second.events[1]
    assert attached["event"] == "attached" and attached["status"] == "in_progress"
    assert attached["challenge"] == 1  # found its own challenge again, by its account
    assert attached["moves_so_far"] >= KILL_AFTER_MOVES - 1  # the challenge is not counted
    for party in (dispute.proposer, second):
        resolved = next(e for e in party.events if e["event"] == "resolved")
        assert resolved["event"] == "resolved" and resolved["winner"] == "challenger"
        assert resolved["challenge"] == 1
    sybil_moves = [e["action"] for e in dispute.sybil.events if e["event"] == "move"]
    assert sybil_moves[0] == "challenge" and "step" not in sybil_moves
    # the sybil never proves anything; its challenge either lost (the proposer proved its own
    # step from the lie the sybil agreed with) or was still running when the claim fell
    # (moot, its bond reclaimed): which one depends on how the processes interleave
    sybil_challenge = Game(RpcChain(dispute.node.url), dispute.game).view().challenges[0]
    if sybil_challenge.status == ChallengeStatus.MOOT:
        assert sybil_moves[-2:] == ["reclaim", "withdraw"]
    else:
        assert sybil_challenge.status == ChallengeStatus.PROPOSER_WON


def test_the_chain_holds_the_same_verdict_as_the_embedded_run(dispute: Dispute) -> None:
    chain = RpcChain(dispute.node.url)
    game = Game(chain, dispute.game)
    view = game.view()
    embedded = dispute.embedded
    resolution = embedded.resolution
    assert embedded.winner == "challenger" and resolution is not None
    assert (view.status, view.reason, view.winning_challenge) == (
        GameStatus.CHALLENGER_WON, Reason.STEP, 1)
    assert view.winner() == Party.CHALLENGER
    assert chain.call(game.contract.functions.winner()) == chain.accounts[3]
    won = view.challenges[1]
    assert won.lo == embedded.disputed_step == dispute.scenario.expect.disputed_step
    assert won.hi == won.lo + 1
    assert (view.trace_length, view.claim) == (embedded.trace_length, embedded.claimed_state_hash)
    assert won.hash_lo == resolution.pre_state_hash
    assert won.hash_hi == resolution.claimed_post_state_hash
    assert view.challenges[0].status in (ChallengeStatus.MOOT, ChallengeStatus.PROPOSER_WON)
    assert chain.w3.eth.get_balance(dispute.game) == 0  # every bond withdrawn

    events = game.logs(0)
    on_chain = [
        (e.name, e.args.get("position"), e.args.get("stateHash"), e.args.get("agree"))
        for e in events
        if e.name in ("Bisected", "Responded") and e.args["id"] == 1
    ]
    embedded_moves = [
        ({"bisect": "Bisected", "respond": "Responded"}[m.action], m.position, m.state_hash,
         m.agree)
        for m in embedded.moves
        if m.action in ("bisect", "respond") and m.reverted is None and m.challenge == 1
    ]
    assert on_chain == [
        (name, position, hash_ if name == "Bisected" else None, agree if name == "Responded"
         else None)
        for name, position, hash_, agree in embedded_moves
    ]
    proven = next(e for e in events if e.name == "StepProven" and e.args["id"] == 1)
    assert proven.args["step"] == resolution.step
    assert proven.args["postStateHash"] == resolution.verifier_post_state_hash
    assert proven.args["claimedPostStateHash"] == resolution.claimed_post_state_hash
    bond = dispute.scenario.game.bond_wei
    withdrawn = {e.args["to"]: e.args["amount"] for e in events if e.name == "Withdrawn"}
    assert withdrawn[chain.accounts[3]] == 2 * bond  # the watchtower: its bond + the proposer's
    assert sum(withdrawn.values()) == 3 * bond  # the sybil's went back to it, or to the proposer


def test_node_gas_is_reported_beside_py_evm(dispute: Dispute) -> None:
    """Same contracts, two EVMs (anvil's revm at its default fork, py-evm's Prague): every
    kind of move of the watchtower's challenge costs the same gas on both."""
    node_gas: Counter[str] = Counter()
    for party in (dispute.proposer, *dispute.challengers):
        for event in party.events:
            if event["event"] == "move" and event["reverted"] is None and event["challenge"] == 1:
                node_gas[event["action"]] += event["gas"]
    evm_gas: Counter[str] = Counter()
    for move in dispute.embedded.moves:
        if move.reverted is None and move.challenge == 1:
            evm_gas[move.action] += move.gas
    print(f"\ngas by action, {SCENARIO}, the watchtower's challenge: anvil | py-evm (Prague)")
    for action in evm_gas:
        print(f"  {action:<10} {node_gas[action]:>10,} | {evm_gas[action]:>10,}")
    assert node_gas == evm_gas


def test_an_agent_refuses_a_game_about_another_program(
    dispute: Dispute, tmp_path: Path
) -> None:
    hello = SCENARIOS / "programs" / "hello"
    args = ["challenger", "--rpc-url", dispute.node.url, "--game", dispute.game, str(hello)]
    party = AgentProcess(args, tmp_path / "stderr.log")
    assert party.finish() == 2
    error = party.stderr().strip()
    assert error.startswith(f"error: the game at {dispute.game} is about another program")
    assert "\n" not in error


def test_an_agent_refuses_a_game_made_for_another_vm(dispute: Dispute, tmp_path: Path) -> None:
    """A claim about an RV64 program's pre-state, created for the MIPS VM on the node's
    factory: the RV64 challenger refuses it with one line and exit 2."""
    hello = SCENARIOS / "programs" / "hello.rv64"
    emulator = Emulator(Program.from_file(hello, ["hello"]))
    emulator.run()
    chain = RpcChain(dispute.node.url)
    factory = GameFactory(chain, dispute.addresses["factory"])
    game, _, _ = factory.create(
        chain.accounts[6], emulator.checkpoints[0].state.hash(), bytes(32),
        emulator.final.step, 600, 0, VM_IDS["mips32"],
    )  # fmt: skip
    args = ["challenger", "--rpc-url", dispute.node.url, "--game", game.address]
    party = AgentProcess([*args, "--argv0", "hello", str(hello)], tmp_path / "stderr.log")
    assert party.finish() == 2
    error = party.stderr().strip()
    assert error == (
        f"error: the game at {game.address} is for VM 1 (mips32), but {hello} is rv64 (VM 2): "
        "refused"
    )


@pytest.mark.parametrize(
    "name", ["silent-proposer", "lying-challenger", "rv64-lying-challenger",
             "rv32-forged-proof-challenger"],
)  # fmt: skip
def test_simulate_on_the_node_reports_what_the_embedded_run_reports(
    node: AnvilNode, name: str
) -> None:
    """`simulate --rpc-url`: the same scenario on anvil, time advanced by the node's methods
    for the timeout; everything but the chain's name, the addresses and timings is equal."""
    path = SCENARIOS / f"{name}.yaml"
    runs = []
    for extra in ([], ["--rpc-url", node.url]):
        result = CliRunner().invoke(app, ["simulate", "--json", *extra, str(path)])
        assert result.exit_code == 0, result.stderr
        runs.append(json.loads(result.stdout))
    embedded, remote = runs
    assert "anvil/v1.7.1" in remote["chain"] and "py-evm" in embedded["chain"]
    for key in ("winner", "reason", "disputed_step", "claimed_state_hash", "resolution", "gas"):
        assert remote[key] == embedded[key], key
    fields = ("actor", "action", "interval", "position", "hash", "agree", "gas", "reverted")
    assert [{k: m[k] for k in fields} for m in remote["moves"]] == [
        {k: m[k] for k in fields} for m in embedded["moves"]
    ]


def test_a_silent_proposer_loses_on_time_across_processes(
    node: AnvilNode, dispute: Dispute, tmp_path: Path
) -> None:
    """The challenger finds the game through the factory and, on this development node, moves
    chain time past the silent proposer's clock instead of waiting 600 s of real time."""
    scenario = load_scenario(SCENARIOS / "silent-proposer.yaml")
    stdin = tmp_path / "stdin"
    stdin.write_bytes(scenario.program.stdin)
    where = ["--factory", dispute.addresses["factory"]]
    proposer_args = party_args("proposer", node, scenario, stdin)
    challenger_args = party_args("challenger", node, scenario, stdin)
    proposer = AgentProcess(
        [proposer_args[0], *where, *proposer_args[1:]], tmp_path / "proposer.log"
    )
    challenger = None
    try:
        game = proposer.until("created")["game"]
        challenger = AgentProcess(
            [challenger_args[0], *where, "--fast-forward-after", "1", *challenger_args[1:]],
            tmp_path / "challenger.log",
        )
        assert challenger.until("attached")["game"] == game
        assert (challenger.finish(), proposer.finish()) == (0, 1)
    finally:
        for party in (proposer, challenger):
            if party is not None:
                party.kill()
    resolved = challenger.events[-1]
    assert (resolved["winner"], resolved["reason"]) == ("challenger", "timeout")
    bisections = [e for e in proposer.events if e.get("action") == "bisect"]
    assert len(bisections) == scenario.proposer.moves
    view = Game(RpcChain(node.url), game).view()
    assert (view.status, view.reason) == (GameStatus.CHALLENGER_WON, Reason.TIMEOUT)
    (challenge,) = view.challenges
    assert challenge.proposer_clock == 0 < challenge.challenger_clock
