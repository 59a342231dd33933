"""The agents and their strategies, played end to end through `simulate` on the in-process
chain with the real verifier (docs/game.md, "Strategies").

Oracles: an independent run of the same program (the `finished_emulator` fixture) gives the
true state hashes, so the disputed step, the verifier's post-state and the instruction are
checked against the trace, not against the agents' own bookkeeping.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from arbitration.agents.move import Move
from arbitration.agents.party import Challenger, WrongVmError
from arbitration.agents.strategy import Strategy
from arbitration.chain.base import Chain
from arbitration.chain.errors import ChainError
from arbitration.contracts.game import Game, GameFactory
from arbitration.contracts.verifier import VM_IDS
from arbitration.simulation.outcome import Outcome
from arbitration.simulation.scenario import GameSettings, ProgramSpec, Scenario
from arbitration.simulation.simulator import (
    GENESIS_TIMESTAMP,
    default_chain,
    deploy_contracts,
    simulate,
)
from flexemu.emulator import Emulator
from flexemu.loader import Program

SETTLING = ("step", "timeout", "reclaim")  # what ends one challenge
COLLECTING = ("reclaim", "withdraw")  # what parties do once the claim is resolved


@pytest.fixture(scope="module")
def chain() -> Chain:
    """One chain for the module: the contracts are deployed once and reused by simulate."""
    chain = default_chain()
    deploy_contracts(chain)
    return chain


@pytest.fixture(scope="module")
def play(
    chain: Chain, programs_dir: Path, expected: Callable[[str], dict[str, Any]]
) -> Callable[..., Outcome]:
    """`play(program, proposer=..., challenger=..., clock=...)`: simulate a scenario."""

    def run(
        program: str,
        proposer: Strategy | None = None,
        challenger: Strategy | None = None,
        clock: int = 600,
        observer: Callable[[Move], None] | None = None,
        on: Chain | None = None,
        max_steps: int | None = None,
    ) -> Outcome:
        record = expected(program)
        scenario = Scenario(
            name=f"test-{program}",
            source=None,
            program=ProgramSpec(
                path=programs_dir / program,
                argv=tuple(record["argv"]),
                stdin=record["stdin"].encode(),
                max_steps=max_steps,
            ),
            game=GameSettings(clock_seconds=clock, bond_wei=10**18),
            proposer=proposer or Strategy(),
            challenger=challenger or Strategy(),
        )
        return simulate(scenario, observer=observer, chain=on or chain)

    return run


def moves_by(outcome: Outcome, actor: str, action: str | None = None) -> list[Move]:
    return [
        m for m in outcome.moves if m.actor == actor and (action is None or m.action == action)
    ]


def resolutions(outcome: Outcome) -> list[Move]:
    """The moves that ended a challenge or accepted the claim."""
    return [
        m
        for m in outcome.moves
        if m.reverted is None
        and ((m.action in SETTLING and m.challenge is not None) or m.action == "resolve")
    ]


def decisive(outcome: Outcome) -> Any:
    return next(c for c in outcome.challenges if c.id == outcome.decisive_challenge)


def check_bounds(outcome: Outcome) -> None:
    """At most ceil(log2 N) + 3 moves per party in each challenge, each challenge ended once,
    and after the resolution each party collects its bonds at most once."""
    limit = math.ceil(math.log2(outcome.trace_length)) + 3
    for challenge in {m.challenge for m in outcome.moves if m.challenge is not None}:
        own = [m for m in outcome.moves if m.challenge == challenge]
        for party, count in Counter(m.actor for m in own).items():
            assert count <= limit, (challenge, party, count, limit)
        assert len([m for m in own if m.action in SETTLING and m.reverted is None]) == 1
    withdrawals = Counter(m.account for m in outcome.moves if m.action == "withdraw")
    assert all(count == 1 for count in withdrawals.values())
    assert [m.index for m in outcome.moves] == list(range(len(outcome.moves)))


def check_step(outcome: Outcome, emulator: Emulator, disputed: int) -> None:
    """The verifier executed step `disputed` of the true trace."""
    resolution = outcome.resolution
    assert resolution is not None and decisive(outcome).reason == "step"
    assert outcome.disputed_step == resolution.step == disputed
    assert resolution.pre_state_hash == emulator.state_at(disputed).hash()
    assert resolution.verifier_post_state_hash == emulator.state_at(disputed + 1).hash()
    machine = emulator.machine_at(disputed)
    assert resolution.pc == machine.state.pc
    assert resolution.isa == emulator.isa.name
    if machine.state.status == 0:
        fetched = emulator.isa.next_instruction(machine.state, machine.memory)
        assert resolution.instruction == fetched
    winning = next(
        m
        for m in outcome.moves
        if m.action == "step" and m.reverted is None and m.challenge == outcome.decisive_challenge
    )
    assert resolution.submitted_by == winning.actor == outcome.winner
    assert resolution.gas == winning.gas > 0


# ---- honest and lying proposers ---------------------------------------------------------


def test_an_honest_claim_is_not_challenged(
    play: Callable[..., Outcome], finished_emulator: Callable[[str], Emulator]
) -> None:
    truth = finished_emulator("hello").final
    outcome = play("hello")
    assert (outcome.winner, outcome.reason, outcome.disputed_step) == (
        "proposer",
        "unchallenged",
        None,
    )
    assert outcome.trace_length == truth.step
    assert outcome.claimed_state_hash == truth.hash()
    assert [(m.actor, m.action) for m in outcome.moves] == [
        ("proposer", "propose"),
        ("proposer", "resolve"),
        ("proposer", "withdraw"),  # bonds are pulled, never pushed
    ]
    assert outcome.payouts == {outcome.moves[0].account: 10**18}
    check_bounds(outcome)


@pytest.mark.parametrize(
    ("strategy", "disputed"),
    [
        (Strategy("lie_from", step=100), 99),
        (Strategy("lie_at", step=307), 306),  # tiny_sum's last step: the claim itself
    ],
)
def test_a_lying_proposer_loses_the_step(
    play: Callable[..., Outcome],
    finished_emulator: Callable[[str], Emulator],
    strategy: Strategy,
    disputed: int,
) -> None:
    emulator = finished_emulator("tiny_sum")
    assert emulator.final.step == 307
    outcome = play("tiny_sum", proposer=strategy)
    assert outcome.winner == "challenger"
    assert outcome.claimed_state_hash != emulator.final.hash()
    assert outcome.resolution.claimed_post_state_hash != emulator.state_at(disputed + 1).hash()
    check_step(outcome, emulator, disputed)
    check_bounds(outcome)
    rounds = len(moves_by(outcome, "proposer", "bisect"))
    assert math.floor(math.log2(307)) <= rounds <= math.ceil(math.log2(307))
    assert len(moves_by(outcome, "challenger", "respond")) == rounds


def test_a_trace_cut_by_max_steps_claims_the_unfinished_state(
    play: Callable[..., Outcome], finished_emulator: Callable[[str], Emulator]
) -> None:
    """A program still running at max_steps is claimed at that step, and disputed there."""
    emulator = finished_emulator("loop")
    honest = play("loop", max_steps=5_000)
    assert honest.winner == "proposer" and honest.reason == "unchallenged"
    assert honest.trace_length == 5_000
    assert honest.claimed_state_hash == emulator.state_at(5_000).hash()
    assert honest.claimed_state_hash[0] == 3  # unfinished
    lying = play("loop", proposer=Strategy("lie_from", step=4_321), max_steps=5_000)
    assert lying.winner == "challenger"
    check_step(lying, emulator, 4_320)
    check_bounds(lying)


def test_a_lie_that_misses_the_claim_starts_no_dispute(play: Callable[..., Outcome]) -> None:
    outcome = play("tiny_sum", proposer=Strategy("lie_at", step=100))
    assert (outcome.winner, outcome.reason) == ("proposer", "unchallenged")


def test_a_wrong_output_claim_is_disputed_at_the_first_write(
    play: Callable[..., Outcome], finished_emulator: Callable[[str], Emulator]
) -> None:
    emulator = finished_emulator("tiny_sum")
    first_write = first_step_where(emulator, lambda s: s.output_hash != bytes(32)) - 1
    outcome = play("tiny_sum", proposer=Strategy("wrong_output"))
    assert outcome.winner == "challenger"
    check_step(outcome, emulator, first_write)
    check_bounds(outcome)


def test_a_wrong_exit_code_claim_is_disputed_at_the_exit(
    play: Callable[..., Outcome], finished_emulator: Callable[[str], Emulator]
) -> None:
    emulator = finished_emulator("exitcode")
    outcome = play("exitcode", proposer=Strategy("wrong_exit_code"))
    assert outcome.claimed_state_hash[0] == 1  # still "exited non-zero", just another code
    assert outcome.winner == "challenger"
    check_step(outcome, emulator, emulator.final.step - 1)


def first_step_where(emulator: Emulator, predicate: Callable[[Any], bool]) -> int:
    """The first step whose state satisfies a predicate that stays true once true."""
    lo, hi = 0, emulator.final.step
    while lo < hi:
        mid = (lo + hi) // 2
        if predicate(emulator.state_at(mid)):
            hi = mid
        else:
            lo = mid + 1
    return lo


# ---- lying challengers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("program", "strategy", "disputed"),
    [
        ("tiny_sum", Strategy("lie_from", step=150), 149),
        ("exitcode", Strategy("wrong_exit_code"), None),  # None: the exit step
    ],
)
def test_a_true_claim_survives_a_lying_challenger(
    play: Callable[..., Outcome],
    finished_emulator: Callable[[str], Emulator],
    program: str,
    strategy: Strategy,
    disputed: int | None,
) -> None:
    emulator = finished_emulator(program)
    outcome = play(program, challenger=strategy)
    assert outcome.winner == "proposer"
    assert outcome.claimed_state_hash == emulator.final.hash()
    check_step(outcome, emulator, emulator.final.step - 1 if disputed is None else disputed)
    check_bounds(outcome)


def test_a_challenger_lying_off_the_claim_does_not_challenge(
    play: Callable[..., Outcome],
) -> None:
    outcome = play("tiny_sum", challenger=Strategy("lie_at", step=10))
    assert (outcome.winner, outcome.reason) == ("proposer", "unchallenged")
    assert not moves_by(outcome, "challenger")


# ---- forged proofs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("program", "forger", "honest"),
    [("hello", "proposer", "challenger"), ("tiny_sum", "challenger", "proposer")],
)
def test_a_forged_proof_is_rejected_and_never_wins(
    play: Callable[..., Outcome],
    finished_emulator: Callable[[str], Emulator],
    program: str,
    forger: str,
    honest: str,
) -> None:
    emulator = finished_emulator(program)
    n = emulator.final.step
    outcome = play(program, **{forger: Strategy("forged_proof")})
    [forged] = [m for m in moves_by(outcome, forger, "step")]
    assert forged.reverted is not None and forged.reverted.startswith("MerkleProof")
    assert forged.gas > 0  # it was mined, and it failed
    assert outcome.winner == honest
    check_step(outcome, emulator, n - 1)  # forged_proof lies from the last step by default
    assert outcome.moves.index(forged) < outcome.moves.index(resolutions(outcome)[0])


def test_two_forgers_resolve_once_and_not_by_a_proof(play: Callable[..., Outcome]) -> None:
    outcome = play(
        "tiny_sum", proposer=Strategy("forged_proof"), challenger=Strategy("forged_proof")
    )
    assert len([m for m in outcome.moves if m.action == "step" and m.reverted]) == 2
    assert (outcome.winner, outcome.reason) == ("proposer", "defended")
    assert (decisive(outcome).winner, decisive(outcome).reason) == ("proposer", "timeout")
    check_bounds(outcome)


# ---- RISC-V: the same game, bound to the program's VM -------------------------------------


@pytest.mark.parametrize(
    ("program", "proposer", "challenger", "winner", "disputed"),
    [
        ("tiny_sum.rv64", Strategy("lie_from", step=100), Strategy(), "challenger", 99),
        ("tiny_sum.rv32", Strategy("lie_at", step=289), Strategy(), "challenger", 288),
        ("tiny_sum.rv64", Strategy(), Strategy("lie_from", step=150), "proposer", 149),
        ("exitcode.rv64", Strategy("wrong_exit_code"), Strategy(), "challenger", None),
        ("stdin_echo.rv64", Strategy("wrong_output"), Strategy(), "challenger", "write"),
        ("hello.rv64", Strategy("forged_proof"), Strategy(), "challenger", None),
        ("hello.rv32", Strategy(), Strategy("forged_proof"), "proposer", None),
        ("trap.rv32", Strategy("lie_from", step=40), Strategy(), "challenger", 39),
    ],
)
def test_riscv_disputes_are_played_on_the_programs_vm(
    chain: Chain,
    play: Callable[..., Outcome],
    finished_emulator: Callable[[str], Emulator],
    program: str,
    proposer: Strategy,
    challenger: Strategy,
    winner: str,
    disputed: int | str | None,
) -> None:
    """Every strategy works on RISC-V witnesses: the game is created for the ELF's VM, the
    honest party wins by a step proof the RISC-V verifier checks (None: the last step)."""
    emulator = finished_emulator(program)
    outcome = play(program, proposer=proposer, challenger=challenger)
    assert Game(chain, outcome.game).view().vm == emulator.isa.vm_id
    assert outcome.winner == winner
    if disputed is None:
        disputed = emulator.final.step - 1
    elif disputed == "write":
        disputed = first_step_where(emulator, lambda s: s.output_hash != bytes(32)) - 1
    check_step(outcome, emulator, int(disputed))
    check_bounds(outcome)
    forged = [m for m in outcome.moves if m.action == "step" and m.reverted is not None]
    assert len(forged) == ("forged_proof" in (proposer.kind, challenger.kind))
    assert all(m.reverted.startswith("MerkleProof") for m in forged)


def test_an_agent_refuses_a_game_made_for_another_vm(
    chain: Chain, programs_dir: Path, expected: Callable[[str], dict[str, Any]]
) -> None:
    """A claim about an RV64 program's pre-state, made for the MIPS VM, is refused with one
    line naming both VMs: no step of it could be proven by the MIPS verifier."""
    factory = deploy_contracts(chain)
    program = Program.from_file(programs_dir / "tiny_sum.rv64")
    challenger = Challenger(chain, chain.accounts[2], program, Strategy(), factory)
    challenger.prepare()
    proposer = chain.accounts[1]
    pre_state = challenger.pre_state
    GameFactory(chain, factory).create(
        proposer, pre_state, bytes(32), 296, 600, 10**18, VM_IDS["mips32"]
    )
    with pytest.raises(WrongVmError) as refused:
        challenger.enter()
    message = str(refused.value)
    assert "\n" not in message
    assert "VM 1 (mips32)" in message and "rv64 (VM 2)" in message
    assert challenger.game is None  # it did not follow the game


# ---- silence and clocks -----------------------------------------------------------------


def test_a_silent_proposer_loses_on_time_even_with_a_true_trace(
    play: Callable[..., Outcome],
) -> None:
    outcome = play(
        "tiny_sum",
        proposer=Strategy("silent_after", moves=3),
        challenger=Strategy("lie_from", step=100),
        clock=600,
    )
    assert (outcome.winner, outcome.reason) == ("challenger", "timeout")
    assert outcome.disputed_step is None
    assert len(moves_by(outcome, "proposer", "bisect")) == 3
    played = [m for m in outcome.moves if m.action not in COLLECTING]
    last = played[-1]
    assert (last.actor, last.action, last.clocks[0]) == ("challenger", "timeout", 0)
    before = played[-2]
    assert last.timestamp - before.timestamp > before.clocks[0]  # the clock really ran out
    check_bounds(outcome)


def test_a_silent_challenger_loses_on_time(play: Callable[..., Outcome]) -> None:
    outcome = play(
        "tiny_sum",
        proposer=Strategy("lie_from", step=100),
        challenger=Strategy("silent_after", moves=2),
    )
    assert (outcome.winner, outcome.reason) == ("proposer", "defended")
    assert decisive(outcome).reason == "timeout"
    assert len(moves_by(outcome, "challenger", "respond")) == 2
    timeout = next(m for m in outcome.moves if m.action == "timeout")
    assert timeout.clocks[1] == 0


def test_a_liar_that_gives_up_loses_on_time_to_the_honest_challenger(
    play: Callable[..., Outcome],
) -> None:
    outcome = play("tiny_sum", proposer=Strategy("lie_from", step=100, moves=3))
    assert (outcome.winner, outcome.reason) == ("challenger", "timeout")
    assert len(moves_by(outcome, "proposer", "bisect")) == 3
    timeout = next(m for m in outcome.moves if m.action == "timeout")
    assert timeout.actor == "challenger" and timeout.clocks[0] == 0


# ---- both dishonest ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proposer_from", "challenger_from", "winner"),
    [(120, 200, "challenger"), (200, 120, "proposer")],
)
def test_both_dishonest_the_earlier_lie_loses(
    chain: Chain,
    play: Callable[..., Outcome],
    finished_emulator: Callable[[str], Emulator],
    proposer_from: int,
    challenger_from: int,
    winner: str,
) -> None:
    outcome = play(
        "tiny_sum",
        proposer=Strategy("lie_from", step=proposer_from),
        challenger=Strategy("lie_from", step=challenger_from),
    )
    assert outcome.winner == winner
    check_step(outcome, finished_emulator("tiny_sum"), 119)
    check_bounds(outcome)
    with pytest.raises(ChainError) as info:  # resolved exactly once
        Game(chain, outcome.game).timeout(chain.accounts[3], 0)
    assert info.value.name == "GameOver"


# ---- the simulator's promises -----------------------------------------------------------


def test_moves_are_observed_as_they_happen_and_runs_are_reproducible(
    play: Callable[..., Outcome],
) -> None:
    seen: list[Move] = []
    strategies = {"proposer": Strategy("lie_from", step=50)}
    first = play("tiny_sum", observer=seen.append, on=fresh_chain(), **strategies)
    assert tuple(seen) == first.moves
    second = play("tiny_sum", on=fresh_chain(), **strategies)
    assert second.moves == first.moves  # hashes, clocks, timestamps, gas, tx hashes
    assert (second.game, second.resolution, second.gas) == (first.game, first.resolution, first.gas)
    timestamps = [m.timestamp for m in first.moves]
    assert timestamps == sorted(timestamps) and timestamps[0] > GENESIS_TIMESTAMP


def fresh_chain() -> Chain:
    return default_chain()
