"""The JSON report of a dispute: a pure function of the scenario and the outcome.

Everything but wall-clock time is deterministic (same scenario, same bytes);
the timings live apart under `timings_seconds` so a diff of two reports shows
only real differences. Hashes are 0x-prefixed hex, amounts plain integers.
"""

from __future__ import annotations

import json
import os
from typing import Any

from arbitration.agents.move import Move
from arbitration.agents.strategy import Strategy
from arbitration.simulation.formatting import (
    bisection_rounds,
    ceil_log2,
    disassembly_text,
    gas_per_party,
    hex_hash,
    moves_per_party,
    verdict_text,
)
from arbitration.simulation.outcome import ChallengeOutcome, Outcome, StepResolution
from arbitration.simulation.scenario import Expectation, Scenario

REPORT_FORMAT = 1


def expectation_mismatches(expect: Expectation | None, outcome: Outcome) -> list[str]:
    """What differs from the scenario's `expect`; with none, the game must merely resolve."""
    if expect is None:
        return [] if outcome.winner is not None else ["the game did not resolve"]
    problems = []
    if expect.winner is not None and outcome.winner != expect.winner:
        problems.append(f"expected the {expect.winner} to win, the winner is {outcome.winner}")
    if expect.reason is not None and outcome.reason != expect.reason:
        problems.append(f"expected a resolution by {expect.reason}, got {outcome.reason}")
    if expect.disputed_step is not None and outcome.disputed_step != expect.disputed_step:
        problems.append(
            f"expected the dispute at step {expect.disputed_step}, got {outcome.disputed_step}"
        )
    return problems


def expectation_text(expect: Expectation | None) -> str:
    """`challenger wins by step at step 12`: the expectation as the verdict line states it."""
    if expect is None:
        return "the game resolves"
    parts = []
    if expect.winner:
        parts.append(f"{expect.winner} wins")
    if expect.reason:
        plain = expect.reason in ("unchallenged", "defended")
        parts.append(expect.reason if plain else f"by {expect.reason}")
    if expect.disputed_step is not None:
        parts.append(f"at step {expect.disputed_step:,}")
    return " ".join(parts)


def _strategy(strategy: Strategy) -> dict[str, Any]:
    data: dict[str, Any] = {"strategy": strategy.kind}
    if strategy.step is not None:
        data["step"] = strategy.step
    if strategy.moves is not None:
        data["moves"] = strategy.moves
    return data


def _scenario(scenario: Scenario) -> dict[str, Any]:
    program = scenario.program
    # Relative to the scenario file, as written there: the same on every machine.
    if scenario.source is not None:
        base = scenario.source.resolve().parent
        path = os.path.relpath(program.path, base)
    else:
        path = program.path.name
    return {
        "name": scenario.name,
        "file": None if scenario.source is None else str(scenario.source),
        "description": scenario.description,
        "program": {
            "path": path,
            "argv": list(program.argv),
            "env": dict(sorted(program.env.items())),
            "stdin_bytes": len(program.stdin),
        },
        "game": {
            "clock_seconds": scenario.game.clock_seconds,
            "bond_wei": scenario.game.bond_wei,
        },
        "proposer": _strategy(scenario.proposer),
        "challenger": _strategy(scenario.challenger),
        "challengers": [_strategy(strategy) for strategy in scenario.lineup],
    }


def _expect(expect: Expectation | None) -> dict[str, Any] | None:
    if expect is None:
        return None
    return {"winner": expect.winner, "reason": expect.reason, "disputed_step": expect.disputed_step}


def move_record(move: Move) -> dict[str, Any]:
    return {
        "index": move.index,
        "actor": move.actor,
        "action": move.action,
        "interval": [move.lo, move.hi],
        "position": move.position,
        "hash": hex_hash(move.state_hash),
        "agree": move.agree,
        "gas": move.gas,
        "clocks": {"proposer": move.clocks[0], "challenger": move.clocks[1]},
        "timestamp": move.timestamp,
        "tx_hash": hex_hash(move.tx_hash) if move.tx_hash else None,
        "reverted": move.reverted,
        "challenge": move.challenge,
        "account": move.account,
    }


def challenge_record(challenge: ChallengeOutcome) -> dict[str, Any]:
    return {
        "id": challenge.id,
        "challenger": challenge.challenger,
        "account": challenge.account,
        "strategy": challenge.strategy,
        "winner": challenge.winner,
        "reason": challenge.reason,
        "disputed_step": challenge.disputed_step,
        "moves": challenge.moves,
        "gas": dict(sorted(challenge.gas.items())),
        "bond": challenge.bond,
        "settled_at": challenge.settled_at,
    }


def resolution_record(resolution: StepResolution | None) -> dict[str, Any] | None:
    if resolution is None:
        return None
    return {
        "step": resolution.step,
        "isa": resolution.isa,
        "pc": f"{resolution.pc:#010x}",
        "instruction": None
        if resolution.instruction is None
        else f"{resolution.instruction:#010x}",
        "disassembly": disassembly_text(resolution),
        "pre_state_hash": hex_hash(resolution.pre_state_hash),
        "claimed_post_state_hash": hex_hash(resolution.claimed_post_state_hash),
        "verifier_post_state_hash": hex_hash(resolution.verifier_post_state_hash),
        "claim_holds": resolution.claimed_post_state_hash == resolution.verifier_post_state_hash,
        "submitted_by": resolution.submitted_by,
        "gas": resolution.gas,
    }


def build_report(scenario: Scenario, outcome: Outcome) -> dict[str, Any]:
    """The whole report as plain JSON data."""
    mismatches = expectation_mismatches(scenario.expect, outcome)
    gas = gas_per_party(outcome)
    return {
        "format": REPORT_FORMAT,
        "scenario": _scenario(scenario),
        "expect": _expect(scenario.expect),
        "matched": not mismatches,
        "mismatches": mismatches,
        "winner": outcome.winner,
        "reason": outcome.reason,
        "verdict": verdict_text(outcome),
        "disputed_step": outcome.disputed_step,
        "trace_length": outcome.trace_length,
        "claimed_state_hash": hex_hash(outcome.claimed_state_hash),
        "chain": outcome.chain,
        "game": outcome.game,
        "resolution": resolution_record(outcome.resolution),
        "gas": gas,
        "gas_total": sum(gas.values()),
        "moves_per_party": moves_per_party(outcome.moves),
        "bisection_rounds": bisection_rounds(outcome.moves_of(outcome.decisive_challenge)),
        "max_bisection_rounds": ceil_log2(outcome.trace_length),
        "challenges": [challenge_record(c) for c in outcome.challenges],
        "payouts": dict(sorted(outcome.payouts.items())),
        "created_at": outcome.created_at,
        "settled_at": outcome.settled_at,
        "settle_seconds": outcome.settled_at - outcome.created_at if outcome.settled_at else None,
        "moves": [move_record(move) for move in outcome.moves],
        "timings_seconds": {name: round(value, 3) for name, value in outcome.seconds.items()},
    }


def dumps_report(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2) + "\n"
