"""A sweep as a picture: a hand-written SVG, a pure function of the rows (like `plot`).

Two panels: the honest party's win rate in every cell of the grid (a row per strategy mix,
a column per program; grey where no party plays honest), and the distribution of the gas a
whole game cost (all parties), as a histogram.
"""

from __future__ import annotations

from typing import Any

from arbitration.simulation.plot import MUTED, _line, _rect, _text, svg_document
from arbitration.simulation.sweep_summary import mix_of

WIDTH = 960
LEFT = 16
LABEL_WIDTH = 300  # the mix names left of the grid
CELL_HEIGHT = 22
NO_EXPECTATION = "#d8d8d8"
BINS = 24


def rate_colour(rate: float) -> str:
    """Red (0) through amber to green (1)."""
    low, mid, high = (0xC0, 0x39, 0x2B), (0xE8, 0xA3, 0x3D), (0x2E, 0x8B, 0x57)
    a, b, t = (low, mid, rate * 2) if rate < 0.5 else (mid, high, rate * 2 - 1)
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


def _grid(rows: list[dict[str, Any]], top: float) -> tuple[list[str], float]:
    mixes = list(dict.fromkeys(mix_of(r) for r in sorted(rows, key=lambda r: r["index"])))
    programs = list(dict.fromkeys(r["program"] for r in sorted(rows, key=lambda r: r["index"])))
    cells: dict[tuple[str, str], list[bool | None]] = {}
    for row in rows:
        cells.setdefault((mix_of(row), row["program"]), []).append(row["honest_won"])
    width = (WIDTH - LEFT - LABEL_WIDTH - 16) / max(len(programs), 1)
    body = [
        _text(
            LEFT,
            top,
            "honest-party wins per cell (wins / rows with an honest party)",
            14,
            font_weight="bold",
        )
    ]
    y = top + 14
    for column, program in enumerate(programs):
        x = LEFT + LABEL_WIDTH + column * width
        body.append(_text(x + width / 2, y + 10, program, 11, "middle", fill=MUTED))
    y += 16
    for mix in mixes:
        body.append(_text(LEFT, y + 15, mix, 11))
        for column, program in enumerate(programs):
            x = LEFT + LABEL_WIDTH + column * width
            outcomes = cells.get((mix, program), [])
            judged = [o for o in outcomes if o is not None]
            if not outcomes:
                continue
            if judged:
                wins = sum(judged)
                fill, label = rate_colour(wins / len(judged)), f"{wins}/{len(judged)}"
            else:
                fill, label = NO_EXPECTATION, f"- ({len(outcomes)})"
            body.append(_rect(x + 1, y + 1, width - 2, CELL_HEIGHT - 2, fill))
            body.append(_text(x + width / 2, y + 15, label, 11, "middle"))
        y += CELL_HEIGHT
    return body, y


def _gas_histogram(rows: list[dict[str, Any]], top: float) -> tuple[list[str], float]:
    body = [_text(LEFT, top, "gas per game (all parties), rows per bin", 14, font_weight="bold")]
    gas = sorted(r["gas_total"] for r in rows)
    if not gas:
        return body, top + 10
    low, high = gas[0], gas[-1]
    span = max(high - low, 1)
    counts = [0] * BINS
    for value in gas:
        counts[min((value - low) * BINS // span, BINS - 1)] += 1
    height, base = 120.0, top + 20 + 120
    width = (WIDTH - 2 * LEFT - 40) / BINS
    peak = max(counts)
    for i, count in enumerate(counts):
        bar = height * count / peak
        x = LEFT + 40 + i * width
        body.append(_rect(x + 1, base - bar, width - 2, bar, "#1f6fb4"))
        if count:
            body.append(_text(x + width / 2, base - bar - 3, str(count), 9, "middle", fill=MUTED))
    body.append(_line(LEFT + 40, base, WIDTH - LEFT, base))
    body.append(_text(LEFT + 40, base + 14, f"{low:,}", 10, fill=MUTED))
    body.append(_text(WIDTH - LEFT, base + 14, f"{high:,}", 10, "end", fill=MUTED))
    return body, base + 20


def render_sweep_svg(name: str, rows: list[dict[str, Any]]) -> str:
    judged = [r for r in rows if r["honest_won"] is not None]
    wins = sum(r["honest_won"] is True for r in judged)
    body = [
        _text(LEFT, 28, f"sweep {name}: {len(rows)} games", 17, font_weight="bold"),
        _text(
            LEFT,
            48,
            f"the honest party won {wins} of {len(judged)} games it played",
            12,
            fill=MUTED,
        ),
    ]
    y = 80.0
    for panel in (_grid, _gas_histogram):
        elements, y = panel(rows, y)
        body += elements
        y += 28
    return svg_document(body, WIDTH, int(y))
