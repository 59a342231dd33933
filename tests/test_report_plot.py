"""Report, picture and narration as pure functions of hand-built outcomes.

The outcomes here come from `bisection_outcome`, a few lines of textbook
binary search written for the test (agree at mid iff mid <= the bad step), so
the rendered values are checked against an oracle that shares no code with
the simulator or the renderers.
"""

from __future__ import annotations

import io
import json
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from arbitration.agents.move import Move
from arbitration.agents.strategy import Strategy
from arbitration.simulation.narration import Narrator, closing_lines, interval_bar, move_row
from arbitration.simulation.outcome import Outcome, StepResolution
from arbitration.simulation.plot import BAR_RIGHT, LEFT, render_svg
from arbitration.simulation.report import build_report, dumps_report, expectation_mismatches
from arbitration.simulation.scenario import Expectation, ProgramSpec, Scenario

REPO = Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"
ADDIU = 0x27BDFFE8  # addiu $sp, $sp, -24: opcode 9, rs = rt = 29, imm = 0xffe8


def bisection_outcome(
    n: int, bad: int, *, stop_after: int | None = None, name: str = "hand-built"
) -> Outcome:
    """A game where the challenger agrees with the proposer's mid hash iff mid <= bad.

    Gas and clocks differ move by move so a swapped field or index shows up.
    `stop_after` cuts the game after that many moves and ends it by timeout.
    """
    moves: list[Move] = []
    clocks = [3600, 3600]

    def add(actor: str, action: str, lo: int, hi: int, **fields: object) -> None:
        index = len(moves)
        clocks[0 if actor == "proposer" else 1] -= 7 + index
        moves.append(
            Move(
                index=index,
                actor=actor,  # type: ignore[arg-type]
                action=action,
                lo=lo,
                hi=hi,
                gas=40_000 + 1_000 * index + (20_000 if actor == "proposer" else 0),
                clocks=(clocks[0], clocks[1]),
                timestamp=1_000 + 13 * index,
                tx_hash=bytes([index]) * 32,
                **fields,  # type: ignore[arg-type]
            )
        )

    add("proposer", "propose", 0, n, state_hash=b"\x00" + b"\xc1" * 31)
    add("challenger", "challenge", 0, n)
    lo, hi = 0, n
    while hi - lo > 1:
        mid = (lo + hi) // 2
        add("proposer", "bisect", lo, hi, position=mid, state_hash=mid.to_bytes(32, "big"))
        agree = mid <= bad
        lo, hi = (mid, hi) if agree else (lo, mid)
        add("challenger", "respond", lo, hi, position=mid, agree=agree)
    resolution = None
    if stop_after is None:
        add("challenger", "step", lo, hi, position=lo)
        resolution = StepResolution(
            step=lo,
            isa="mips32",
            pre_state_hash=b"\x03" + b"\x01" * 31,
            claimed_post_state_hash=b"\x03" + b"\x02" * 31,
            verifier_post_state_hash=b"\x03" + b"\x04" * 31,
            pc=0x400120,
            instruction=ADDIU,
            submitted_by="challenger",
            gas=moves[-1].gas,
        )
        winner, reason, disputed = "challenger", "step", lo
    else:
        del moves[stop_after:]
        add("anyone", "timeout", moves[-1].lo, moves[-1].hi)
        winner, reason, disputed = "proposer", "timeout", None
    return Outcome(
        scenario=name,
        chain="py-evm test",
        game="0x" + "ab" * 20,
        trace_length=n,
        claimed_state_hash=b"\x00" + b"\xc1" * 31,
        winner=winner,  # type: ignore[arg-type]
        reason=reason,
        disputed_step=disputed,
        moves=tuple(moves),
        resolution=resolution,
        seconds={"emulate": 0.5, "dispute": 1.25},
    )


def scenario_for(expect: Expectation | None = None) -> Scenario:
    scenarios = REPO / "scenarios"
    return Scenario(
        name="hand-built",
        source=scenarios / "hand-built.yaml",
        program=ProgramSpec(scenarios / "programs" / "tiny_sum", ("tiny_sum",), {}, b"abc"),
        proposer=Strategy("lie_from", step=120),
        expect=expect,
    )


# --- the report ------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "bad"), [(307, 119), (17, 0), (34_200_902, 17_100_450), (2, 1)])
def test_report_fields_follow_the_outcome(n: int, bad: int) -> None:
    outcome = bisection_outcome(n, bad)
    report = json.loads(dumps_report(build_report(scenario_for(), outcome)))
    assert report["winner"] == "challenger" and report["reason"] == "step"
    assert report["disputed_step"] == min(bad, n - 1)
    assert report["trace_length"] == n
    rounds = sum(1 for move in outcome.moves if move.action == "respond")
    assert report["bisection_rounds"] == rounds
    assert math.floor(math.log2(n)) <= rounds <= math.ceil(math.log2(n))
    assert report["max_bisection_rounds"] == math.ceil(math.log2(n))
    assert len(report["moves"]) == len(outcome.moves)
    for record, move in zip(report["moves"], outcome.moves, strict=True):
        assert record["index"] == move.index and record["actor"] == move.actor
        assert record["interval"] == [move.lo, move.hi]
        assert record["gas"] == move.gas
        assert record["clocks"] == {"proposer": move.clocks[0], "challenger": move.clocks[1]}
        if move.action == "bisect":
            assert record["hash"] == "0x" + move.position.to_bytes(32, "big").hex()
        if move.action == "respond":
            assert record["agree"] == (move.position <= bad)
    # gas per party, summed here independently (the outcome carries no totals)
    expected_gas: dict[str, int] = {}
    for move in outcome.moves:
        expected_gas[move.actor] = expected_gas.get(move.actor, 0) + move.gas
    assert report["gas"] == expected_gas
    assert report["gas_total"] == sum(expected_gas.values())
    assert report["moves_per_party"] == {"proposer": 1 + rounds, "challenger": 2 + rounds}


def test_report_resolution_and_scenario_sections() -> None:
    report = build_report(scenario_for(), bisection_outcome(307, 119))
    resolution = report["resolution"]
    assert resolution["step"] == 119
    assert resolution["pc"] == "0x00400120"
    assert resolution["instruction"] == "0x27bdffe8"
    assert re.fullmatch(r"addiu\s+\$?sp,\s*\$?sp,\s*-24", resolution["disassembly"])
    assert resolution["claim_holds"] is False
    assert resolution["verifier_post_state_hash"] == "0x03" + "04" * 31
    scenario = report["scenario"]
    assert scenario["program"] == {
        "path": "programs/tiny_sum",  # relative to the scenario file: the same on any machine
        "argv": ["tiny_sum"],
        "env": {},
        "stdin_bytes": 3,
    }
    assert scenario["proposer"] == {"strategy": "lie_from", "step": 120}
    assert scenario["challenger"] == {"strategy": "honest"}


def test_report_is_deterministic_except_its_timings() -> None:
    outcome = bisection_outcome(1000, 321)
    first = dumps_report(build_report(scenario_for(), outcome))
    assert first == dumps_report(build_report(scenario_for(), outcome))
    slower = replace(outcome, seconds={"emulate": 9.0, "dispute": 99.0})
    a = json.loads(first)
    b = build_report(scenario_for(), slower)
    assert a["timings_seconds"] != b["timings_seconds"]
    del a["timings_seconds"], b["timings_seconds"]
    assert a == b


def test_expectation_matching() -> None:
    outcome = bisection_outcome(307, 119)
    assert expectation_mismatches(Expectation(winner="challenger"), outcome) == []
    assert expectation_mismatches(Expectation("challenger", 119, "step"), outcome) == []
    assert expectation_mismatches(None, outcome) == []
    wrong = expectation_mismatches(Expectation("proposer", 7, "timeout"), outcome)
    assert len(wrong) == 3
    assert "expected the proposer to win, the winner is challenger" in wrong
    report = build_report(
        scenario_for(Expectation(winner="challenger", disputed_step=118)), outcome
    )
    assert report["matched"] is False
    assert report["expect"] == {"winner": "challenger", "reason": None, "disputed_step": 118}
    unresolved = replace(outcome, winner=None)
    assert expectation_mismatches(None, unresolved) == ["the game did not resolve"]


# --- the picture -----------------------------------------------------------------------------


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def by_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if e.get("class") == name]


def texts(root: ET.Element) -> list[str]:
    return [e.text or "" for e in root.iter(f"{SVG}text")]


@pytest.mark.parametrize(("n", "bad"), [(307, 119), (34_200_902, 17_100_450), (16, 15)])
def test_plot_ladder_has_one_row_per_round_keeping_the_answered_half(n: int, bad: int) -> None:
    outcome = bisection_outcome(n, bad)
    root = parse(render_svg(outcome))
    rounds = [m for m in outcome.moves if m.action == "respond"]
    rows = by_class(root, "round")
    kept = by_class(root, "kept")
    assert len(rows) == len(kept) == len(rounds) >= math.floor(math.log2(n))
    for respond, row, half in zip(rounds, rows, kept, strict=True):
        left, width = float(half.get("x")), float(half.get("width"))
        assert row.get("y") == half.get("y")
        if respond.agree:  # the upper half survives: filled up to the right edge
            assert left > LEFT and left + width == pytest.approx(BAR_RIGHT, abs=0.1)
        else:
            assert left == LEFT and left + width < BAR_RIGHT
    title = texts(root)[0]
    assert "challenger wins" in title and f"disputed step {min(bad, n - 1):,}" in title
    assert any("addiu" in t for t in texts(root))


def test_plot_gas_bars_are_proportional_to_gas() -> None:
    outcome = bisection_outcome(307, 119)
    bars = by_class(parse(render_svg(outcome)), "gas-bar")
    assert [int(b.get("data-move")) for b in bars] == [m.index for m in outcome.moves]
    assert [int(b.get("data-gas")) for b in bars] == [m.gas for m in outcome.moves]
    base = {float(b.get("y")) + float(b.get("height")) for b in bars}
    assert max(base) - min(base) < 0.2  # every bar stands on the same axis
    tallest = max(outcome.moves, key=lambda m: m.gas)
    scale = float(bars[tallest.index].get("height")) / tallest.gas
    for bar, move in zip(bars, outcome.moves, strict=True):
        assert float(bar.get("height")) == pytest.approx(move.gas * scale, abs=0.1)


def test_plot_clips_an_outlier_bar_and_labels_its_full_value() -> None:
    outcome = bisection_outcome(307, 119)
    creation = replace(outcome.moves[0], gas=1_754_166)  # creating a game dwarfs a move
    outcome = replace(outcome, moves=(creation, *outcome.moves[1:]))
    root = parse(render_svg(outcome))
    bars = by_class(root, "gas-bar")
    assert [b.get("data-clipped") for b in bars] == ["true"] + [None] * (len(bars) - 1)
    assert "propose 1,754,166" in texts(root)
    # the others still share one scale, and the clipped bar stands taller than all of them
    rest = [
        (float(b.get("height")), m.gas) for b, m in zip(bars[1:], outcome.moves[1:], strict=True)
    ]
    scale = rest[0][0] / rest[0][1]
    assert all(h == pytest.approx(gas * scale, abs=0.1) for h, gas in rest)
    assert float(bars[0].get("height")) > max(h for h, _ in rest)


def test_plot_bytes_are_deterministic_and_escape_names() -> None:
    outcome = bisection_outcome(1000, 500, name="a<b>&c")
    svg = render_svg(outcome)
    assert svg == render_svg(outcome)
    assert "a&lt;b&gt;&amp;c" in svg
    parse(svg)


def test_plot_of_an_unchallenged_claim_and_of_a_timeout() -> None:
    unchallenged = Outcome(
        scenario="quiet",
        chain="py-evm test",
        game="0x" + "00" * 20,
        trace_length=17,
        claimed_state_hash=b"\x00" * 32,
        winner="proposer",
        reason="unchallenged",
        disputed_step=None,
        moves=(
            Move(0, "proposer", "propose", 0, 17, gas=200_000, clocks=(3600, 3600)),
            Move(1, "anyone", "resolve", 0, 17, gas=30_000, clocks=(0, 3600)),
        ),
    )
    root = parse(render_svg(unchallenged))
    assert by_class(root, "round") == []
    assert any("unchallenged" in t for t in texts(root))
    assert len(by_class(root, "gas-bar")) == 2
    # cut after the third bisect: two answered rounds and one left unanswered
    timed_out = bisection_outcome(1024, 100, stop_after=7)
    root = parse(render_svg(timed_out))
    assert len(by_class(root, "round")) == 3 and len(by_class(root, "kept")) == 2
    assert any("no answer" in t for t in texts(root))
    assert "proposer wins (timeout)" in texts(root)[0]


# --- the narration ---------------------------------------------------------------------------


def test_interval_bar_marks_where_the_interval_sits() -> None:
    assert interval_bar(0, 100, 100, 10) == "█" * 10
    assert interval_bar(50, 100, 100, 10) == "─" * 5 + "█" * 5
    assert interval_bar(0, 50, 100, 10) == "█" * 5 + "─" * 5
    assert interval_bar(99, 100, 100, 10) == "─" * 9 + "█"  # narrower than a cell: still shown
    assert interval_bar(0, 1, 34_200_902, 10) == "█" + "─" * 9
    # 17,100,450 is just below 5/10 of N: the fifth cell, not the sixth
    assert interval_bar(17_100_450, 17_100_451, 34_200_902, 10) == "─" * 4 + "█" + "─" * 5


def test_move_rows_say_what_each_move_did() -> None:
    outcome = bisection_outcome(34_200_902, 17_100_450)
    bisect, respond = outcome.moves[2], outcome.moves[3]
    row = move_row(bisect, 34_200_902)
    assert "bisect" in row and "@17,100,451" in row
    posted = (17_100_451).to_bytes(32, "big").hex()
    assert f"0x{posted[:8]}…{posted[-4:]}" in row
    row = move_row(respond, 34_200_902)
    assert "disagree" in row and "[0, 17,100,451]" in row
    reverted = replace(respond, reverted="WrongPosition(5, 6)")
    assert move_row(reverted, 34_200_902).endswith("REVERTED WrongPosition(5, 6)")


def test_closing_lines_show_both_post_states_and_the_verdict() -> None:
    lines = "\n".join(closing_lines(bisection_outcome(307, 119)))
    assert "disputed step 119 -> 120" in lines
    assert "0x03" + "02" * 31 in lines and "0x03" + "04" * 31 in lines
    assert "!= mismatch" in lines
    assert "verdict: challenger wins" in lines
    assert "pc 0x00400120" in lines and "addiu" in lines


def test_plain_narration_prints_one_row_per_move_without_escape_codes() -> None:
    outcome = bisection_outcome(307, 119)
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=200)
    with Narrator(console, scenario_for()) as narrator:
        for move in outcome.moves[:5]:  # the observer misses the rest: finish() catches up
            narrator.observe(move)
    narrator.finish(outcome)
    text = buffer.getvalue()
    assert "\x1b[" not in text
    rows = [line for line in text.splitlines() if line.startswith("#")]
    assert len(rows) == len(outcome.moves)
    assert [int(r.split()[0][1:]) for r in rows] == [m.index for m in outcome.moves]
    assert text.splitlines()[0] == "dispute: hand-built"


def test_terminal_narration_runs_its_live_footer() -> None:
    outcome = bisection_outcome(1000, 10)
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=160)
    with Narrator(console, scenario_for()) as narrator:
        for move in outcome.moves:
            narrator.observe(move)
    narrator.finish(outcome)
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buffer.getvalue())
    assert "verdict: challenger wins" in plain
    assert plain.count("respond") == 10


# ---- several challengers: every challenge shown ------------------------------------------


@pytest.fixture(scope="module")
def crowded() -> tuple[Scenario, Outcome]:
    """Three honest challengers against one lie, played for real: one wins, two are moot."""
    from arbitration.simulation.scenario import load_scenario
    from arbitration.simulation.simulator import simulate

    scenarios = Path(__file__).resolve().parents[1] / "scenarios"
    scenario = load_scenario(scenarios / "honest-challengers-one-lie.yaml")
    return scenario, simulate(scenario)


def test_the_report_lists_every_challenge(crowded: tuple[Scenario, Outcome]) -> None:
    scenario, outcome = crowded
    report = json.loads(dumps_report(build_report(scenario, outcome)))
    challenges = report["challenges"]
    assert [c["id"] for c in challenges] == [0, 1, 2]
    assert sorted(c["reason"] for c in challenges) == ["moot", "moot", "step"]
    winner = next(c for c in challenges if c["winner"] == "challenger")
    assert winner["disputed_step"] == report["disputed_step"] == scenario.expect.disputed_step
    assert all(c["strategy"] == "honest" and c["moves"] > 0 for c in challenges)
    assert report["scenario"]["challengers"] == [{"strategy": "honest"}] * 3
    bond = scenario.game.bond_wei
    assert sorted(report["payouts"].values()) == [bond, bond, 2 * bond]
    assert 0 < report["settle_seconds"] <= 3 * scenario.game.clock_seconds + 1
    assert all(m["challenge"] in (None, 0, 1, 2) for m in report["moves"])


def test_the_narration_and_the_picture_show_every_challenge(
    crowded: tuple[Scenario, Outcome],
) -> None:
    _, outcome = crowded
    lines = closing_lines(outcome)
    shown = [line for line in lines if line.startswith("  challenge ")]
    assert len(shown) == 3
    assert sum(": moot" in line for line in shown) == 2
    assert any("challenger wins (step)" in line for line in shown)
    svg = ET.fromstring(render_svg(outcome))
    lanes = [e for e in svg.iter() if e.get("class") == "challenge-interval"]
    assert len(lanes) == 3  # one lane per challenge, side by side
    texts = " ".join(e.text or "" for e in svg.iter())
    assert texts.count("moot") >= 2 and "challenger (step)" in texts
