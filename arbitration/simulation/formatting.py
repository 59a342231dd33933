"""How dispute facts read for people: hashes, clocks, instructions, move counts.

Shared by the narration, the JSON report and the bisection picture, so the
three say the same thing the same way. Pure functions only.
"""

from __future__ import annotations

from collections import Counter

from arbitration.agents.move import Move
from arbitration.simulation.outcome import Outcome, StepResolution
from flexemu.isa import isa_named

#: The state hash's first byte (docs/spec.md section 3).
VM_STATUS = {0: "exited 0", 1: "exited non-zero", 2: "panicked", 3: "unfinished"}


def hex_hash(value: bytes | None) -> str | None:
    return None if value is None else "0x" + value.hex()


def short_hash(value: bytes | None) -> str:
    """`0x03ab12cd…9f0e`: enough to tell hashes apart in a table row."""
    if value is None:
        return "-"
    text = value.hex()
    return f"0x{text[:8]}…{text[-4:]}" if len(text) > 12 else "0x" + text


def hash_status(value: bytes | None) -> str:
    if not value:
        return "-"
    return VM_STATUS.get(value[0], f"status {value[0]}")


def clock_text(seconds: int) -> str:
    """Chess-clock time left: `59:58`, or `1:00:00` from an hour up."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def disassembly_text(resolution: StepResolution) -> str:
    """The disputed instruction in assembly, by the disassembler of the witness's ISA."""
    word = resolution.instruction
    if word is None:
        return "(no instruction: a fixed point or a nullified delay slot)"
    try:
        return isa_named(resolution.isa).disassemble(word, resolution.pc)
    except Exception:  # an undecodable word must not hide the verdict
        return f"{word:#010x}"


def ceil_log2(n: int) -> int:
    """Bisection rounds needed to narrow [0, n] to one step."""
    return max(0, (n - 1).bit_length()) if n > 0 else 0


def moves_per_party(moves: tuple[Move, ...] | list[Move]) -> dict[str, int]:
    """Transactions each actor sent, reverted ones included (they cost gas too)."""
    counts = Counter(move.actor for move in moves)
    return {actor: counts[actor] for actor in ("proposer", "challenger", "anyone") if counts[actor]}


def gas_per_party(outcome: Outcome) -> dict[str, int]:
    """The outcome's own totals, or the sum over moves when the simulator gave none."""
    if outcome.gas:
        return dict(outcome.gas)
    totals: Counter[str] = Counter()
    for move in outcome.moves:
        totals[move.actor] += move.gas
    return dict(totals)


def bisection_rounds(moves: tuple[Move, ...] | list[Move]) -> int:
    """Completed rounds: each successful answer halves the interval once."""
    return sum(1 for move in moves if move.action == "respond" and move.reverted is None)


def verdict_text(outcome: Outcome) -> str:
    """One sentence: who won and why."""
    if outcome.winner is None:
        return "the game did not resolve"
    loser = "challenger" if outcome.winner == "proposer" else "proposer"
    if outcome.reason == "unchallenged":
        return "proposer wins: nobody challenged the claim within the challenge window"
    if outcome.reason == "defended":
        count = len(outcome.challenges)
        return (
            f"proposer wins: it won all {count} challenge{'s' if count != 1 else ''} and the "
            "challenge window closed"
        )
    if outcome.reason == "timeout":
        return f"{outcome.winner} wins by timeout: the {loser}'s clock ran out"
    if outcome.reason == "step":
        step = outcome.disputed_step
        if outcome.winner == "challenger":
            return (
                f"challenger wins: the verifier executed step {step:,} and did not reach "
                "the proposer's hash"
            )
        return f"proposer wins: the verifier executed step {step:,} and reached the proposer's hash"
    return f"{outcome.winner} wins ({outcome.reason})"
