"""What a sweep's rows add up to: one line per strategy mix (runs, honest wins, gas, moves),
a pure function of the rows, shared by the printed table, `summary.json` and the picture."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from arbitration.agents.strategy import SILENT_AFTER


def strategy_label(data: dict[str, Any]) -> str:
    """`lie_from` or `honest+silent`: a strategy's kind, without its step."""
    silent = "+silent" if SILENT_AFTER in data and data["strategy"] != SILENT_AFTER else ""
    return data["strategy"] + silent


def challenger_multiset(challengers: list[dict[str, Any]]) -> str:
    """`2x honest + collude`: how many challengers played each strategy, in a fixed order
    (by strategy name), so the same lineup in another order is the same mix."""
    counts = Counter(strategy_label(c) for c in challengers)
    return " + ".join(label if n == 1 else f"{n}x {label}" for label, n in sorted(counts.items()))


def mix_of(row: dict[str, Any]) -> str:
    """`lie_from vs 2x honest + collude`: the proposer's strategy against the multiset of
    the challengers' (their count included)."""
    return f"{strategy_label(row['proposer'])} vs {challenger_multiset(row['challengers'])}"


@dataclass(frozen=True)
class MixSummary:
    mix: str
    runs: int
    expected: int  # rows with an honest party (the others expect nothing)
    honest_wins: int
    gas_median: int
    gas_max: int
    moves_median: float
    moves_max: int


def summarize(rows: list[dict[str, Any]]) -> list[MixSummary]:
    """One summary per mix, in order of first appearance in the grid."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: r["index"]):
        groups.setdefault(mix_of(row), []).append(row)
    summaries = []
    for mix, members in groups.items():
        gas = [r["gas_total"] for r in members]
        moves = [r["moves"] for r in members]
        summaries.append(
            MixSummary(
                mix=mix,
                runs=len(members),
                expected=sum(r["honest_won"] is not None for r in members),
                honest_wins=sum(r["honest_won"] is True for r in members),
                gas_median=int(statistics.median(gas)),
                gas_max=max(gas),
                moves_median=statistics.median(moves),
                moves_max=max(moves),
            )
        )
    return summaries


def all_honest_won(rows: list[dict[str, Any]]) -> bool:
    """True when no row with an honest party saw it lose (the sweep's exit status)."""
    return all(row["honest_won"] is not False for row in rows)


def summary_document(rows: list[dict[str, Any]], failures: int) -> dict[str, Any]:
    return {
        "rows": len(rows),
        "failures": failures,
        "honest_party_rows": sum(r["honest_won"] is not None for r in rows),
        "honest_wins": sum(r["honest_won"] is True for r in rows),
        "honest_won_every_row": all_honest_won(rows) and failures == 0,
        "mixes": [asdict(s) for s in summarize(rows)],
    }
