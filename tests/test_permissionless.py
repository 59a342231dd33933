"""The permissionless game end to end: random mixes of up to 8 challengers (honest, lying at
random steps, colluding, silent) against random proposers, played by the agents through
`simulate` on the in-process chain with the real verifier (docs/game.md, "Permissionless").

The oracle is an independent run of the program: it says whether the claim is true. The
properties are the issue's: a false claim is never accepted while one honest challenger takes
part, a true claim of an honest proposer is never rejected, and no bond is stuck or created:
everything bonded is withdrawn by someone and the game ends empty.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbitration.agents.strategy import Strategy
from arbitration.chain.base import Chain
from arbitration.simulation.outcome import Outcome
from arbitration.simulation.scenario import Scenario, load_scenario
from arbitration.simulation.simulator import default_chain, simulate
from flexemu.emulator import Emulator
from flexemu.loader import Program

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
BASE = replace(load_scenario(SCENARIOS / "colluding-challenger-first.yaml"), expect=None)
N = 307  # tiny_sum's steps
MAX_CHALLENGERS = 8

STEPS = st.integers(1, N)
LIARS = st.one_of(
    st.builds(lambda k: Strategy("lie_from", step=k), STEPS),
    st.builds(lambda k: Strategy("lie_at", step=k), STEPS),
    st.just(Strategy("wrong_output")),
    st.just(Strategy("wrong_exit_code")),
    st.builds(lambda k: Strategy("forged_proof", step=k), STEPS),
)
CHALLENGERS = st.one_of(
    st.just(Strategy("honest")),
    LIARS,
    st.just(Strategy("collude")),
    st.builds(lambda m: Strategy("collude", moves=m), st.integers(0, 3)),
    st.builds(lambda m: Strategy("silent_after", moves=m), st.integers(0, 4)),
)
PROPOSERS = st.one_of(
    st.just(Strategy("honest")),
    LIARS,
    st.builds(lambda m: Strategy("silent_after", moves=m), st.integers(0, 4)),
)


@cache
def truth() -> bytes:
    """The true state hash at N, from an independent run."""
    spec = BASE.program
    emulator = Emulator(Program.from_file(spec.path, list(spec.argv), {}, spec.stdin))
    emulator.run()
    assert emulator.final is not None and emulator.final.step == N
    return emulator.final.hash()


@pytest.fixture(scope="module")
def chain() -> Chain:
    return default_chain(MAX_CHALLENGERS)


def play(chain: Chain, proposer: Strategy, lineup: list[Strategy]) -> Outcome:
    scenario: Scenario = replace(
        BASE, proposer=proposer, challenger=lineup[0], challengers=tuple(lineup)
    )
    return simulate(scenario, None, chain)


def check_bonds(chain: Chain, outcome: Outcome) -> None:
    """Everything bonded is withdrawn by someone; nothing is left in the game."""
    bonded = BASE.game.bond_wei * (1 + len(outcome.challenges))
    assert sum(outcome.payouts.values()) == bonded
    assert chain.w3.eth.get_balance(outcome.game) == 0


@settings(
    max_examples=14,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    proposer=PROPOSERS,
    lineup=st.lists(CHALLENGERS, min_size=1, max_size=MAX_CHALLENGERS),
    honest_at=st.integers(0, MAX_CHALLENGERS),
)
def test_no_mix_of_challengers_decides_against_the_truth(
    chain: Chain, proposer: Strategy, lineup: list[Strategy], honest_at: int
) -> None:
    lineup = list(lineup)
    if honest_at < MAX_CHALLENGERS:  # usually one honest challenger, at a random place
        lineup.insert(min(honest_at, len(lineup)), Strategy("honest"))
        lineup = lineup[:MAX_CHALLENGERS]
    outcome = play(chain, proposer, lineup)
    claim_true = outcome.claimed_state_hash == truth()
    if not claim_true and Strategy("honest") in lineup:
        assert outcome.winner == "challenger", outcome.challenges  # never accepted
    if proposer == Strategy("honest"):
        assert claim_true and outcome.winner == "proposer", outcome.challenges  # never rejected
    if outcome.winner == "challenger":
        [winning] = [c for c in outcome.challenges if c.winner == "challenger"]
        assert all(c.winner in ("proposer", None) for c in outcome.challenges if c is not winning)
    else:
        assert all(c.winner == "proposer" for c in outcome.challenges)
    check_bonds(chain, outcome)


def test_a_colluding_sybil_first_cannot_save_a_lie(chain: Chain) -> None:
    """The issue's attack: the proposer's sybil challenges first and throws its game, by
    agreeing with everything or by silence; the honest challenger arriving second wins."""
    for sybil in (Strategy("collude"), Strategy("collude", moves=0)):
        outcome = play(chain, Strategy("lie_from", step=100), [sybil, Strategy("honest")])
        assert outcome.winner == "challenger"
        sybil_challenge, honest_challenge = outcome.challenges
        assert (sybil_challenge.challenger, honest_challenge.challenger) == (0, 1)
        assert honest_challenge.winner == "challenger"
        assert sybil_challenge.reason == "moot"  # still running when the claim fell: refunded
        check_bonds(chain, outcome)


def test_an_honest_proposer_collects_every_lying_challengers_bond(chain: Chain) -> None:
    liars = [Strategy("lie_from", step=k) for k in (5, 50, 150, 300)] + [Strategy("collude")]
    outcome = play(chain, Strategy("honest"), liars)
    assert (outcome.winner, outcome.reason) == ("proposer", "defended")
    proposer = outcome.moves[0].account
    assert outcome.payouts == {proposer: BASE.game.bond_wei * (1 + len(liars))}
    check_bonds(chain, outcome)


@pytest.mark.parametrize("count", [1, 4, 8])
def test_challengers_play_side_by_side_in_bounded_time(chain: Chain, count: int) -> None:
    """However many honest challengers dispute a lie, the claim falls within the window
    plus two chess clocks of its creation (here: long before), and the rounds do not grow
    with their number."""
    outcome = play(chain, Strategy("lie_from", step=150), [Strategy("honest")] * count)
    assert outcome.winner == "challenger"
    clock = BASE.game.clock_seconds
    assert outcome.settled_at - outcome.created_at <= 3 * clock + 1
    assert sum(c.reason == "moot" for c in outcome.challenges) == count - 1
    check_bonds(chain, outcome)
