"""Whole disputes, end to end: shipped scenarios through the CLI, random lies through simulate().

The oracles are independent of the game: the emulator's own state hashes
(what the verifier must compute at the disputed step, what N is, whether the
proposer's claim is true) and the MIPS encoding of the instruction that was
disputed. Nothing here asserts a value copied from a previous game.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from arbitration.agents.strategy import Strategy
from arbitration.chain.base import Chain
from arbitration.chain.errors import ChainError
from arbitration.chain.in_process import InProcessChain
from arbitration.cli.app import app
from arbitration.simulation.outcome import Outcome
from arbitration.simulation.scenario import Expectation, Scenario, load_scenario
from arbitration.simulation.simulator import simulate
from arbitration.simulation.tracing import Traces
from flexemu.emulator import Emulator
from flexemu.loader import Program

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.yaml"))
SYSCALL, ECALL = 0x0000000C, 0x00000073  # MIPS `syscall`, RISC-V `ecall`
SETTLING = ("step", "timeout", "reclaim")  # what ends one challenge


@cache
def emulator_for(path: Path, argv: tuple[str, ...], stdin: bytes) -> Emulator:
    """The oracle: the program run once by the emulator, shared by the tests."""
    emulator = Emulator(Program.from_file(path, list(argv), {}, stdin))
    emulator.run()
    return emulator


def oracle(scenario: Scenario) -> Emulator:
    spec = scenario.program
    assert not spec.env
    return emulator_for(spec.path, spec.argv, spec.stdin)


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    import arbitration.cli.emulator_commands
    import arbitration.cli.game_commands  # noqa: F401

    return CliRunner()


def check_outcome_against_the_emulator(scenario: Scenario, outcome: Outcome) -> None:
    """What every game must satisfy, whoever plays it."""
    emulator = oracle(scenario)
    assert emulator.final is not None
    n = outcome.trace_length
    assert n == emulator.final.step  # the claim covers the whole run
    bound = math.ceil(math.log2(n)) + 3
    assert all(m.gas > 0 for m in outcome.moves)
    for c in outcome.challenges:  # each challenge: a bisection, ended exactly once
        own = [m for m in outcome.moves if m.challenge == c.id]
        for actor in ("proposer", "challenger"):
            sent = [m for m in own if m.actor == actor]
            assert len(sent) <= bound, (c.id, actor, len(sent), bound)
        assert len([m for m in own if m.action in SETTLING and m.reverted is None]) == 1
    assert outcome.settled_at > 0  # the claim was resolved, once (Resolved is emitted once)
    assert outcome.winner in ("proposer", "challenger")
    if outcome.winner == "challenger":
        winners = [c for c in outcome.challenges if c.winner == "challenger"]
        assert len(winners) == 1  # the first challenger win ends the claim
    else:
        assert all(c.winner == "proposer" for c in outcome.challenges)
    claim_true = outcome.claimed_state_hash == emulator.state_at(n).hash()
    if outcome.disputed_step is not None:
        assert 0 <= outcome.disputed_step < n
    if outcome.reason == "step":
        resolution = outcome.resolution
        assert resolution is not None and resolution.step == outcome.disputed_step
        k = resolution.step
        # The verifier on chain computed exactly what the emulator says step k leads to.
        assert resolution.pre_state_hash == emulator.state_at(k).hash()
        assert resolution.verifier_post_state_hash == emulator.state_at(k + 1).hash()
        honest_at_k1 = resolution.claimed_post_state_hash == emulator.state_at(k + 1).hash()
        assert outcome.winner == ("proposer" if honest_at_k1 else "challenger")
    if outcome.reason == "unchallenged":
        assert outcome.winner == "proposer" and claim_true


# All of them, the 34.2M-step loop included: its whole dispute takes about 2 s.
@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenario_through_the_cli(runner: CliRunner, tmp_path: Path, path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.expect is not None
    report_path, plot_path = tmp_path / "report.json", tmp_path / "plot.svg"
    result = runner.invoke(
        app, ["simulate", str(path), "--report", str(report_path), "--plot", str(plot_path)]
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "verdict:" in result.stdout and "matched" in result.stdout
    report = json.loads(report_path.read_text())
    assert report["matched"] is True and report["mismatches"] == []
    assert report["winner"] == scenario.expect.winner
    if scenario.expect.reason is not None:
        assert report["reason"] == scenario.expect.reason
    if scenario.expect.disputed_step is not None:
        assert report["disputed_step"] == scenario.expect.disputed_step
    n = report["trace_length"]
    assert n == oracle(scenario).final.step
    if report["disputed_step"] is not None:
        assert 0 <= report["disputed_step"] < n
    for challenge in report["challenges"]:  # a bisection each, both sides, opening, end
        assert challenge["moves"] <= 2 * (math.ceil(math.log2(n)) + 3), challenge
    assert set(report["gas"]) >= {"proposer"}
    assert all(gas > 0 for gas in report["gas"].values())
    assert report["gas_total"] == sum(m["gas"] for m in report["moves"])
    for move in report["moves"]:
        lo, hi = move["interval"]
        assert 0 <= lo < hi <= n
        assert 0 <= move["clocks"]["proposer"] <= scenario.game.clock_seconds
        assert 0 <= move["clocks"]["challenger"] <= scenario.game.clock_seconds
    svg = ET.fromstring(plot_path.read_text())
    assert svg.tag.endswith("svg")


def disputed_class(scenario: Scenario, step: int) -> str:
    """The vector class of the disputed step (`syscall-write`, ...), by the program's ISA,
    from the emulator's states: an independent account of what the step executes."""
    emulator = oracle(scenario)
    machine = emulator.machine_at(step)
    instruction = emulator.isa.next_instruction(machine.state, machine.memory)
    return emulator.isa.classify(machine.state, instruction, emulator.state_at(step + 1))


@pytest.mark.parametrize(
    ("name", "classes"),
    [
        ("wrong-output", {"syscall-write"}),
        ("wrong-exit-code", {"syscall-exit", "syscall-exit_group"}),
        ("rv64-wrong-output", {"syscall-write"}),
    ],
)
def test_output_and_exit_code_lies_land_on_the_syscall(
    name: str, classes: set[str], shared_chain: Chain
) -> None:
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    outcome = simulate(scenario, None, shared_chain)
    check_outcome_against_the_emulator(scenario, outcome)
    assert outcome.winner == "challenger" and outcome.reason == "step"
    assert disputed_class(scenario, outcome.disputed_step) in classes
    syscall = {"mips32": SYSCALL, "rv64": ECALL}[oracle(scenario).isa.name]
    assert outcome.resolution is not None and outcome.resolution.instruction == syscall


@pytest.fixture(scope="module")
def shared_chain() -> Chain:
    return InProcessChain.fresh()


def test_reports_are_deterministic_except_timings(runner: CliRunner, tmp_path: Path) -> None:
    path = SCENARIOS / "both-dishonest.yaml"
    reports = []
    for run in range(2):
        out = tmp_path / f"r{run}.json"
        plot = tmp_path / f"p{run}.svg"
        result = runner.invoke(
            app, ["simulate", str(path), "--report", str(out), "--plot", str(plot)]
        )
        assert result.exit_code == 0, result.stdout + result.stderr
        report = json.loads(out.read_text())
        del report["timings_seconds"]
        reports.append((report, plot.read_bytes()))
    assert reports[0] == reports[1]


def test_json_output_and_a_failed_expectation_exit_1(runner: CliRunner, tmp_path: Path) -> None:
    text = (SCENARIOS / "lying-proposer-first-step.yaml").read_text()
    text = text.replace("winner: challenger", "winner: proposer")
    scenario_path = tmp_path / "wrong-expectation.yaml"
    scenario_path.write_text(text.replace("programs/", str(SCENARIOS / "programs") + "/"))
    result = runner.invoke(app, ["simulate", "--json", str(scenario_path)])
    assert result.exit_code == 1
    report = json.loads(result.stdout)  # --json: stdout is the report alone
    assert report["matched"] is False and report["winner"] == "challenger"
    assert report["mismatches"] == ["expected the proposer to win, the winner is challenger"]


def test_the_game_resolves_once(shared_chain: Chain) -> None:
    scenario = load_scenario(SCENARIOS / "lying-proposer-first-step.yaml")
    outcome = simulate(scenario, None, shared_chain)
    assert outcome.winner == "challenger"
    game = shared_chain.at("DisputeGame", outcome.game)
    for call in (game.functions.timeout(0), game.functions.resolve()):
        with pytest.raises(ChainError) as raised:
            shared_chain.transact(call, gas=500_000)
        assert raised.value.name == "GameOver"


@pytest.mark.parametrize("silent", ["proposer", "challenger"])
@pytest.mark.parametrize("moves", [0, 1, 4])  # opening moves (propose, challenge) not counted
def test_the_silent_party_loses_on_time(shared_chain: Chain, silent: str, moves: int) -> None:
    base = load_scenario(SCENARIOS / "silent-proposer.yaml")
    quiet = Strategy("silent_after", moves=moves)
    liar = Strategy("lie_from", step=150)
    scenario = replace(
        base,
        proposer=quiet if silent == "proposer" else liar,
        challenger=liar if silent == "proposer" else quiet,
        expect=None,
    )
    outcome = simulate(scenario, None, shared_chain)
    other = "challenger" if silent == "proposer" else "proposer"
    assert outcome.winner == other
    (challenge,) = outcome.challenges
    assert (challenge.winner, challenge.reason) == (other, "timeout")
    assert outcome.reason == ("timeout" if other == "challenger" else "defended")
    check_outcome_against_the_emulator(scenario, outcome)
    played = [m for m in outcome.moves if m.challenge == 0 and m.reverted is None]
    last = played[-1]
    assert last.action == "timeout" and last.clocks[0 if silent == "proposer" else 1] == 0


TINY = load_scenario(SCENARIOS / "lying-proposer-first-step.yaml")
TINY_N = 307
LYING = st.one_of(
    st.builds(lambda k: Strategy("lie_at", step=k), st.integers(1, TINY_N)),
    st.builds(lambda k: Strategy("lie_from", step=k), st.integers(1, TINY_N)),
    st.builds(lambda k: Strategy("forged_proof", step=k), st.integers(1, TINY_N)),
    st.just(Strategy("forged_proof")),
    st.just(Strategy("wrong_output")),
    st.just(Strategy("wrong_exit_code")),
)


@settings(
    max_examples=24,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(liar=LYING, liar_is_proposer=st.booleans())
def test_the_honest_party_always_wins(
    shared_chain: Chain, liar: Strategy, liar_is_proposer: bool
) -> None:
    honest = Strategy("honest")
    scenario = replace(
        TINY,
        proposer=liar if liar_is_proposer else honest,
        challenger=honest if liar_is_proposer else liar,
        expect=Expectation(),
    )
    outcome = simulate(scenario, None, shared_chain)
    check_outcome_against_the_emulator(scenario, outcome)
    emulator = oracle(scenario)
    claim_true = outcome.claimed_state_hash == emulator.state_at(TINY_N).hash()
    if liar_is_proposer:
        # A lie that leaves h(N) true (lie_at k < N) is not worth disputing: the claim holds.
        assert outcome.winner == ("proposer" if claim_true else "challenger")
    else:
        assert claim_true and outcome.winner == "proposer"
    if liar.kind == "forged_proof":
        forger = "proposer" if liar_is_proposer else "challenger"
        assert outcome.winner != forger or claim_true  # a forged proof never wins
        forged = [m for m in outcome.moves if m.actor == forger and m.action == "step"]
        assert all(m.reverted is not None for m in forged)
        if outcome.reason == "step":  # the step phase was reached: the forgery was sent
            assert forged


def test_each_party_traces_the_program_in_its_own_emulator() -> None:
    """`Traces` (started before the chain stack loads) gives every party its own finished
    run: the agents stay independent, nothing is shared between them."""
    scenario = load_scenario(SCENARIOS / "honest-challengers-one-lie.yaml")
    emulators = Traces(scenario).wait()
    assert len(emulators) == 1 + len(scenario.lineup) == 4
    assert len({id(e) for e in emulators}) == 4
    assert len({id(e.engine) for e in emulators}) == 4
    truth = oracle(scenario).final
    assert all(e.final is not None and e.final.hash() == truth.hash() for e in emulators)
