"""The bisection as a picture: a hand-written SVG, a pure function of the outcome.

Three panels, top to bottom:
1. where the final interval sits in the whole trace [0, N];
2. a zoom ladder, one row per bisection round: the row spans the interval the
   round started with, the proposer's midpoint splits it, and the half the
   challenger's answer kept is filled; a funnel leads to the next row, which
   spans exactly that half. Absolute positions vanish below a pixel after a
   few rounds; the ladder keeps every round legible at any N;
3. gas per move as bars, coloured by who sent it.

No plotting library: the bytes depend only on the outcome, so the picture is
as deterministic as the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from arbitration.agents.move import Move
from arbitration.simulation.formatting import (
    ceil_log2,
    clock_text,
    disassembly_text,
    gas_per_party,
    short_hash,
    verdict_text,
)
from arbitration.simulation.outcome import Outcome

WIDTH = 960
LEFT = 96  # room for row labels
BAR_RIGHT = 700  # the ladder's bars end here; interval labels follow
RIGHT = 930
ROW = 16
ROW_GAP = 10
ACTOR_COLOUR = {"proposer": "#1f6fb4", "challenger": "#b8327e", "anyone": "#9a7b18"}
KEPT = "#e8a33d"
DROPPED = "#e4e4e4"
INK = "#222222"
MUTED = "#666666"
FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"


@dataclass(frozen=True)
class Round:
    """One bisection round: the interval it started with and what happened to it."""

    number: int
    lo: int
    hi: int
    mid: int | None  # the proposer's midpoint (None: the proposer never posted one)
    agree: bool | None  # the challenger's answer (None: never answered)
    hash: bytes | None


def ladder_rounds(moves: tuple[Move, ...] | list[Move]) -> list[Round]:
    """Rounds from the moves: a bisect opens one, the respond to it closes it."""
    rounds: list[Round] = []
    interval: tuple[int, int] | None = None
    pending: Move | None = None
    for move in moves:
        if move.reverted is not None:
            continue
        if move.action == "bisect":
            pending = move
            interval = (move.lo, move.hi)
        elif move.action == "respond" and interval is not None:
            mid = move.position if move.position is not None else pending and pending.position
            rounds.append(
                Round(len(rounds) + 1, *interval, mid, move.agree, pending and pending.state_hash)
            )
            pending = None
            interval = (move.lo, move.hi)
        elif move.action in ("challenge", "propose"):
            interval = (move.lo, move.hi)
    if pending is not None and interval is not None:
        rounds.append(Round(len(rounds) + 1, *interval, pending.position, None, pending.state_hash))
    return rounds


def _num(value: float) -> str:
    """Coordinates with one decimal and no trailing zeros: stable bytes."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _attributes(extra: dict[str, str]) -> str:
    """Keyword arguments as SVG attributes: font_weight -> font-weight, class_ -> class."""
    return "".join(
        f" {key.rstrip('_').replace('_', '-')}='{value}'" for key, value in extra.items()
    )


def _text(
    x: float, y: float, body: str, size: int = 12, anchor: str = "start", **extra: str
) -> str:
    attributes = _attributes(extra)
    return (
        f"<text x='{_num(x)}' y='{_num(y)}' font-size='{size}' text-anchor='{anchor}'"
        f"{attributes}>{escape(body)}</text>"
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, **extra: str) -> str:
    attributes = _attributes(extra)
    return (
        f"<rect x='{_num(x)}' y='{_num(y)}' width='{_num(max(w, 0))}' height='{_num(max(h, 0))}'"
        f" fill='{fill}'{attributes}/>"
    )


def _line(x1: float, y1: float, x2: float, y2: float, colour: str = INK, width: float = 1) -> str:
    return (
        f"<line x1='{_num(x1)}' y1='{_num(y1)}' x2='{_num(x2)}' y2='{_num(y2)}'"
        f" stroke='{colour}' stroke-width='{_num(width)}'/>"
    )


def nice_step(maximum: int, ticks: int = 4) -> int:
    """A 1-2-5 tick spacing giving about `ticks` ticks up to `maximum`."""
    raw = max(1, maximum // ticks)
    magnitude = 10 ** (len(str(raw)) - 1)
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover


def axis_peak(values: list[int]) -> int:
    """The gas axis's top: the largest value, unless a few outliers (creating the game costs
    ~1.75M gas against ~60k for a bisection move) would flatten every other bar; a value over
    3x the next is clipped, and its bar says so."""
    ordered = sorted(values, reverse=True)
    while len(ordered) > 1 and ordered[0] > 3 * ordered[1]:
        ordered.pop(0)
    return ordered[0] if ordered else 0


def short_number(value: int) -> str:
    """Axis labels: 1,500 -> 1.5k, 2,000,000 -> 2M."""
    for unit, size in (("M", 10**6), ("k", 10**3)):
        if value >= size:
            scaled = value / size
            return (f"{scaled:.1f}".rstrip("0").rstrip(".")) + unit
    return str(value)


def _last_move(outcome: Outcome) -> Move | None:
    """The decisive challenge's last move on chain (the claim's last, unchallenged)."""
    moves = outcome.moves_of(outcome.decisive_challenge)
    played = [m for m in moves if m.reverted is None]
    in_challenge = [m for m in played if m.challenge is not None]
    return (in_challenge or played or [None])[-1]


def _overview(outcome: Outcome, top: float) -> tuple[list[str], float]:
    """Panel 1: the trace [0, N] with the final interval marked."""
    n = outcome.trace_length
    out = [
        _text(LEFT - 10, top + 14, "trace", 12, "end", fill=MUTED),
        _rect(LEFT, top + 4, BAR_RIGHT - LEFT, 12, DROPPED),
    ]
    last = _last_move(outcome)
    if last is not None and n > 0:
        x1 = LEFT + (BAR_RIGHT - LEFT) * last.lo / n
        x2 = LEFT + (BAR_RIGHT - LEFT) * last.hi / n
        out.append(_rect(x1, top + 4, max(x2 - x1, 2), 12, KEPT, class_="final-interval"))
        if outcome.disputed_step is not None:
            x = LEFT + (BAR_RIGHT - LEFT) * outcome.disputed_step / n
            out.append(f"<path d='M{_num(x)} {_num(top + 17)} l-5 8 h10 z' fill='{INK}'/>")
            out.append(_text(x, top + 38, f"step {outcome.disputed_step:,}", 11, "middle"))
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        x = LEFT + (BAR_RIGHT - LEFT) * fraction
        out.append(_line(x, top + 16, x, top + 20, MUTED))
    out.append(_text(LEFT, top, "0", 10, "start", fill=MUTED))
    out.append(_text(BAR_RIGHT, top, f"N = {n:,}", 10, "end", fill=MUTED))
    return out, top + 48


def _ladder(outcome: Outcome, rounds: list[Round], top: float) -> tuple[list[str], float]:
    """Panel 2: one zoomed row per round, funnels between them."""
    out = [
        _text(
            LEFT - 86,
            top,
            "Bisection, zoomed: each row spans the interval the round began with",
            13,
            font_weight="bold",
        ),
        _text(
            LEFT - 86,
            top + 16,
            "the proposer posts its hash at the midpoint; the challenger's answer keeps "
            "the filled half (agree: right, disagree: left)",
            11,
            fill=MUTED,
        ),
    ]
    y = top + 30
    if rounds:
        out.append(_text(BAR_RIGHT + 8, y - 4, "kept interval [lo, hi]", 10, fill=MUTED))
        y += 4
    if not rounds:
        reason = (
            "no bisection: the claim went unchallenged"
            if outcome.reason == "unchallenged"
            else "no bisection round was played"
        )
        out.append(_text(LEFT, y + 14, reason, 12, fill=MUTED))
        return out, y + 30
    span = BAR_RIGHT - LEFT
    for index, rnd in enumerate(rounds):
        width = rnd.hi - rnd.lo
        mid_x = LEFT + span * ((rnd.mid - rnd.lo) / width if rnd.mid is not None and width else 0.5)
        out.append(_text(LEFT - 10, y + 12, f"round {rnd.number}", 11, "end", fill=MUTED))
        out.append(_rect(LEFT, y, span, ROW, DROPPED, class_="round"))
        if rnd.agree is None:
            kept = None
            label = "no answer"
        elif rnd.agree:
            kept = (mid_x, LEFT + span)
            label = "agree"
        else:
            kept = (LEFT, mid_x)
            label = "disagree"
        if kept is not None:
            out.append(_rect(kept[0], y, kept[1] - kept[0], ROW, KEPT, class_="kept"))
        out.append(_line(mid_x, y - 2, mid_x, y + ROW + 2, INK, 1.5))
        label_x = mid_x + 6 if rnd.agree is not False else mid_x - 6
        anchor = "start" if rnd.agree is not False else "end"
        out.append(_text(label_x, y + 12, f"{label} with {short_hash(rnd.hash)}", 10, anchor))
        if rnd.agree is None:
            after = f"[{rnd.lo:,}, {rnd.hi:,}] unanswered"
        elif rnd.agree:
            after = f"[{rnd.mid:,}, {rnd.hi:,}]"
        else:
            after = f"[{rnd.lo:,}, {rnd.mid:,}]"
        out.append(_text(BAR_RIGHT + 8, y + 12, after, 11))
        next_y = y + ROW + ROW_GAP
        if kept is not None and index + 1 < len(rounds):
            out.append(
                f"<path d='M{_num(kept[0])} {_num(y + ROW)} L{_num(kept[1])} {_num(y + ROW)} "
                f"L{_num(BAR_RIGHT)} {_num(next_y)} L{_num(LEFT)} {_num(next_y)} z' "
                f"fill='{KEPT}' fill-opacity='0.18'/>"
            )
        y = next_y
    resolution = outcome.resolution
    if resolution is not None:
        holds = resolution.claimed_post_state_hash == resolution.verifier_post_state_hash
        instruction = disassembly_text(resolution)
        out.append(
            _text(
                LEFT,
                y + 10,
                f"step {resolution.step:,} \u2192 {resolution.step + 1:,}:  pc "
                f"{resolution.pc:#010x}  {instruction}",
                12,
                font_weight="bold",
            )
        )
        out.append(
            _text(
                LEFT,
                y + 28,
                f"the verifier computes {short_hash(resolution.verifier_post_state_hash)} "
                + ("=" if holds else "\u2260")
                + f" the proposer's {short_hash(resolution.claimed_post_state_hash)} "
                f"(proof sent by the {resolution.submitted_by})",
                12,
            )
        )
        y += 38
    return out, y + 12


def _gas_bars(outcome: Outcome, top: float) -> tuple[list[str], float]:
    """Panel 3: gas per move, with a y axis and a legend."""
    moves = outcome.moves
    height = 170
    out = [_text(LEFT - 86, top, "Gas per move (receipt gasUsed)", 13, font_weight="bold")]
    totals = gas_per_party(outcome)
    legend_x = LEFT + 240
    for actor in ("proposer", "challenger", "anyone"):
        if actor not in totals:
            continue
        out.append(_rect(legend_x, top - 10, 10, 10, ACTOR_COLOUR[actor]))
        out.append(_text(legend_x + 14, top, f"{actor} {totals[actor]:,} total", 11))
        legend_x += 190
    base = top + 36 + height  # room above the axis for a clipped bar's label
    peak = axis_peak([move.gas for move in moves])
    step = nice_step(peak) if peak else 1
    ceiling = max(step, -(-peak // step) * step)
    for tick in range(0, ceiling + 1, step):
        y = base - height * tick / ceiling
        out.append(_line(LEFT - 4, y, RIGHT, y, "#ececec" if tick else MUTED))
        out.append(_text(LEFT - 8, y + 4, short_number(tick), 10, "end", fill=MUTED))
    slot = (RIGHT - LEFT) / max(len(moves), 1)
    bar = max(1.0, min(slot * 0.75, 40))
    label_every = max(1, -(-len(moves) // 20))
    for position, move in enumerate(moves):
        x = LEFT + slot * position + (slot - bar) / 2
        clipped = move.gas > ceiling
        h = height + 6 if clipped else height * move.gas / ceiling
        extra = {"class_": "gas-bar", "data_move": str(move.index), "data_gas": str(move.gas)}
        if clipped:
            extra["data_clipped"] = "true"
        if move.reverted:
            extra |= {"stroke": "#d00000", "stroke_width": "1.5"}
        out.append(_rect(x, base - h, bar, h, ACTOR_COLOUR.get(move.actor, MUTED), **extra))
        if clipped:  # a white break across the bar: it goes on far beyond the axis
            out.append(
                f"<path d='M{_num(x - 2)} {_num(base - h + 12)} l{_num(bar + 4)} -6 v4 "
                f"l-{_num(bar + 4)} 6 z' fill='#ffffff'/>"
            )
        if position % label_every == 0 or position == len(moves) - 1:
            out.append(_text(x + bar / 2, base + 14, str(move.index), 9, "middle", fill=MUTED))
        if move.action not in ("bisect", "respond") or move.reverted:
            amount = f"{move.gas:,}" if clipped else short_number(move.gas)
            note = f"{move.action} {amount}"
            note += " (reverted)" if move.reverted else ""
            anchor = "start" if position < len(moves) / 2 else "end"
            out.append(_text(x if anchor == "start" else x + bar, base - h - 4, note, 9, anchor))
    out.append(_text((LEFT + RIGHT) / 2, base + 30, "move", 11, "middle", fill=MUTED))
    out.append(
        _text(
            LEFT - 60,
            base - height / 2,
            "gas",
            11,
            "middle",
            fill=MUTED,
            transform=f"rotate(-90 {_num(LEFT - 60)} {_num(base - height / 2)})",
        )
    )
    return out, base + 44


def _challenges(outcome: Outcome, top: float) -> tuple[list[str], float]:
    """Panel: every challenge side by side, one lane each: where its interval ended in
    [0, N], who played it and how it ended."""
    if not outcome.challenges:
        return [], top
    n = outcome.trace_length
    out = [_text(LEFT, top + 10, "challenges (side by side)", 12, "start", fill=MUTED)]
    y = top + 18
    for c in outcome.challenges:
        own = [m for m in outcome.moves if m.challenge == c.id and m.reverted is None]
        last = own[-1] if own else None
        colour = ACTOR_COLOUR["proposer"] if c.winner == "proposer" else (
            ACTOR_COLOUR["challenger"] if c.winner == "challenger" else MUTED
        )
        out.append(_text(LEFT - 10, y + 11, f"#{c.id}", 11, "end", fill=colour))
        out.append(_rect(LEFT, y + 2, BAR_RIGHT - LEFT, 10, DROPPED))
        if last is not None and n > 0:
            x1 = LEFT + (BAR_RIGHT - LEFT) * last.lo / n
            x2 = LEFT + (BAR_RIGHT - LEFT) * last.hi / n
            out.append(_rect(x1, y + 2, max(x2 - x1, 2), 10, colour, class_="challenge-interval"))
        ended = f"{c.winner} ({c.reason})" if c.winner else c.reason
        label = f"c{c.challenger} {c.strategy.split(',')[0]}: {ended}"
        out.append(_text(BAR_RIGHT + 8, y + 11, label, 10, "start", fill=INK))
        y += ROW
    return out, y


def render_svg(outcome: Outcome) -> str:
    """The whole picture; the verdict is the title. The ladder follows the decisive challenge;
    the challenges panel shows them all side by side."""
    rounds = ladder_rounds(outcome.moves_of(outcome.decisive_challenge))
    body: list[str] = []
    title = f"{outcome.scenario}: {outcome.winner or 'nobody'} wins"
    title += f" ({outcome.reason})" if outcome.winner else ""
    if outcome.disputed_step is not None:
        title += f", disputed step {outcome.disputed_step:,}"
    body.append(_text(16, 28, title, 17, font_weight="bold"))
    last = _last_move(outcome)
    clocks = (
        f"; clocks left: proposer {clock_text(last.clocks[0])}, challenger "
        f"{clock_text(last.clocks[1])}"
        if last
        else ""
    )
    body.append(_text(16, 48, verdict_text(outcome) + clocks, 12, fill=MUTED))
    body.append(
        _text(
            16,
            64,
            f"N = {outcome.trace_length:,} steps, {len(rounds)} rounds "
            f"(ceil(log2 N) = {ceil_log2(outcome.trace_length)}), {len(outcome.moves)} moves; "
            f"{outcome.chain}",
            12,
            fill=MUTED,
        )
    )
    y = 96.0
    for panel in (_overview, _challenges, lambda o, t: _ladder(o, rounds, t), _gas_bars):
        elements, y = panel(outcome, y)
        body += elements
        y += 22
    return svg_document(body, WIDTH, int(y))


def svg_document(body: list[str], width: int, height: int) -> str:
    """The elements on a white page of `width` x `height`, in the pictures' shared font."""
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' {FONT}>\n"
        f"<rect width='{width}' height='{height}' fill='#ffffff'/>\n"
        f"<g fill='{INK}'>\n" + "\n".join(body) + "\n</g>\n</svg>\n"
    )
