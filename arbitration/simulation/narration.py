"""Live narration of a dispute, fed move by move by the simulator's observer.

On a terminal: one coloured row per move, with a live footer showing where the
disputed interval sits in [0, N], both chess clocks and the gas so far. Piped:
the same rows as plain text and nothing that redraws, so a log stays readable.
The rows and the closing block are built by pure functions (`move_row`,
`closing_lines`) that the tests read directly.
"""

from __future__ import annotations

from collections import Counter
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from arbitration.agents.move import Move
from arbitration.agents.strategy import strategy_text
from arbitration.simulation.formatting import (
    bisection_rounds,
    ceil_log2,
    clock_text,
    disassembly_text,
    gas_per_party,
    hash_status,
    hex_hash,
    moves_per_party,
    short_hash,
    verdict_text,
)
from arbitration.simulation.outcome import Outcome
from arbitration.simulation.scenario import Scenario

ACTOR_STYLE = {"proposer": "cyan", "challenger": "magenta", "anyone": "yellow"}
BAR_WIDTH = 24
FOOTER_BAR_WIDTH = 60
WIDE_ROW = 150  # terminal columns from which rows carry their interval bar


def interval_bar(lo: int, hi: int, n: int, width: int = BAR_WIDTH) -> str:
    """Where [lo, hi] sits in [0, n], one character per n/width steps (at least one marked)."""
    if n <= 0:
        return "█" * width
    start = min(width - 1, lo * width // n)
    end = max(start + 1, min(width, -(-hi * width // n)))
    return "─" * start + "█" * (end - start) + "─" * (width - end)


def move_detail(move: Move) -> str:
    """What the move said: the hash posted, the answer given, the step proven."""
    if move.action == "propose":
        return f"N={move.hi:,} claim {short_hash(move.state_hash)}"
    if move.action == "bisect":
        return (
            f"@{move.position:,} {short_hash(move.state_hash)}" if move.position is not None else ""
        )
    if move.action == "respond":
        answer = {True: "agree", False: "disagree", None: "?"}[move.agree]
        return f"@{move.position:,} {answer}" if move.position is not None else answer
    if move.action == "step":
        return f"proof of step {move.position:,}" if move.position is not None else "step proof"
    if move.action == "challenge" and move.challenge is not None:
        return f"opens challenge {move.challenge}"
    return ""


def move_row(move: Move, n: int, bar: bool | None = True) -> str:
    """One move as a fixed-width row. `bar`: True draws where the interval sits, False leaves
    its column blank (the interval did not change), None drops the column (compact rows)."""
    interval = f"[{move.lo:,}, {move.hi:,}]"
    if bar is None:
        where = ""
    elif bar and n:
        where = f"{interval_bar(move.lo, move.hi, n)} "
    else:
        where = " " * (BAR_WIDTH + 1)
    tag = f"c{move.challenge}" if move.challenge is not None else ""
    row = (
        f"#{move.index:<3} {move.actor:<10} {move.action:<9} {tag:<4} {move_detail(move):<32} "
        f"{where}{interval:<28} gas {move.gas:>9,}  "
        f"clocks {clock_text(move.clocks[0])}/{clock_text(move.clocks[1])}"
    )
    if move.reverted is not None:
        row += f"  REVERTED {move.reverted}"
    return row.rstrip()


def to_move(move: Move) -> str:
    """Whose clock runs after `move` (the protocol in docs/game.md)."""
    if move.action == "propose":
        return "challenge window"
    if move.action in ("challenge", "respond"):
        return "proposer" if move.hi - move.lo > 1 else "challenger (step phase)"
    if move.action == "bisect":
        return "challenger"
    return "nobody (resolved)"


def header_lines(scenario: Scenario) -> list[str]:
    program = scenario.program
    argv = " ".join(program.argv) or "(argc = 0)"
    lines = [f"dispute: {scenario.name}"]
    if scenario.description:
        lines.append(f"  {scenario.description}")
    lines += [
        f"  program    {program.path.name}  argv: {argv}"
        + (f"  stdin: {len(program.stdin):,} bytes" if program.stdin else ""),
        f"  proposer   {strategy_text(scenario.proposer)}",
        *challenger_lines(scenario),
        f"  game       clocks {clock_text(scenario.game.clock_seconds)} each, "
        f"bond {scenario.game.bond_wei / 10**18:g} ETH",
    ]
    return lines


def challenger_lines(scenario: Scenario) -> list[str]:
    """One line for one challenger (as before), one per challenger in arrival order else."""
    lineup = scenario.lineup
    if len(lineup) == 1:
        return [f"  challenger {strategy_text(lineup[0])}"]
    return [f"  challenger {i} {strategy_text(s)}" for i, s in enumerate(lineup)]


def challenge_lines(outcome: Outcome) -> list[str]:
    """Every challenge: who, how it played, how it ended, where, moves and gas."""
    lines = []
    for c in outcome.challenges:
        ended = f"{c.winner} wins ({c.reason})" if c.winner else c.reason
        step = f", disputed step {c.disputed_step:,}" if c.disputed_step is not None else ""
        gas = ", ".join(f"{actor} {amount:,}" for actor, amount in sorted(c.gas.items()))
        lines.append(
            f"  challenge {c.id}: challenger {c.challenger} ({c.strategy}): {ended}{step}; "
            f"{c.moves} moves; gas {gas}"
        )
    return (["challenges:", *lines] if lines else [])


def closing_lines(outcome: Outcome) -> list[str]:
    """The step phase (instruction, both post-states) and the verdict, as plain lines."""
    lines: list[str] = []
    resolution = outcome.resolution
    if resolution is not None:
        agree = resolution.claimed_post_state_hash == resolution.verifier_post_state_hash
        lines += [
            f"disputed step {resolution.step:,} -> {resolution.step + 1:,} "
            f"(proof submitted by the {resolution.submitted_by}, gas {resolution.gas:,})",
            f"  instruction  pc {resolution.pc:#010x}  "
            f"{disassembly_text(resolution)}",
            f"  pre-state    {hex_hash(resolution.pre_state_hash)}  "
            f"({hash_status(resolution.pre_state_hash)}, agreed by both)",
            f"  proposer     {hex_hash(resolution.claimed_post_state_hash)}  "
            f"({hash_status(resolution.claimed_post_state_hash)}, claimed)",
            f"  verifier     {hex_hash(resolution.verifier_post_state_hash)}  "
            f"({hash_status(resolution.verifier_post_state_hash)}, computed on chain)  "
            + ("= match" if agree else "!= mismatch"),
        ]
    elif outcome.disputed_step is not None:
        lines.append(f"disputed step {outcome.disputed_step:,} (never proven)")
    n = outcome.trace_length
    counts = moves_per_party(outcome.moves)
    gas = gas_per_party(outcome)
    lines += challenge_lines(outcome)
    if outcome.settled_at:
        lines.append(f"settled {outcome.settled_at - outcome.created_at:,} s after the claim")
    rounds = bisection_rounds(outcome.moves_of(outcome.decisive_challenge))
    lines += [
        f"verdict: {verdict_text(outcome)}",
        f"  trace length {n:,}, {rounds} bisection rounds "
        f"(ceil(log2 N) = {ceil_log2(n)})",
        "  moves " + ", ".join(f"{actor} {count}" for actor, count in counts.items()),
        "  gas   " + ", ".join(f"{actor} {amount:,}" for actor, amount in gas.items()),
    ]
    return lines


class Narrator:
    """The simulator's observer: `with Narrator(console, scenario) as n: simulate(s, n.observe)`."""

    def __init__(self, console: Console, scenario: Scenario) -> None:
        self.console = console
        self.scenario = scenario
        self.live_mode = console.is_terminal
        self.trace_length = 0
        self.last: Move | None = None
        self.seen: set[int] = set()
        self.gas: Counter[str] = Counter()
        self.live: Live | None = None

    def __enter__(self) -> Narrator:
        for number, line in enumerate(header_lines(self.scenario)):
            style = "bold" if number == 0 else ""
            self.console.print(Text(line, style=style), soft_wrap=True)
        if self.live_mode:
            self.live = Live(
                self._footer(), console=self.console, refresh_per_second=8, transient=True
            )
            self.live.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def observe(self, move: Move) -> None:
        """Print one move as it happens and redraw the footer."""
        if move.index in self.seen:
            return
        self.seen.add(move.index)
        if move.action == "propose" or not self.trace_length:
            self.trace_length = max(self.trace_length, move.hi)
        self.gas[move.actor] += move.gas
        changed = self.last is None or (self.last.lo, self.last.hi) != (move.lo, move.hi)
        self.last = move
        if not self.live_mode:  # piped: compact rows, the interval's numbers say it all
            self.plain(move_row(move, self.trace_length, None))
            return
        wide = self.console.width >= WIDE_ROW
        row = move_row(move, self.trace_length, bar=changed if wide else None)
        text = Text(row)
        text.stylize(ACTOR_STYLE.get(move.actor, ""), 5, 15)
        if move.reverted is not None:
            text.stylize("bold red", row.index("REVERTED"))
        if self.live is not None:
            self.live.update(self._footer())
        self.console.print(text, soft_wrap=True)

    def finish(self, outcome: Outcome) -> None:
        """Narrate moves the observer missed, then the step phase and the verdict."""
        if self.live is not None:
            self.live.stop()
            self.live = None
        self.trace_length = self.trace_length or outcome.trace_length
        for move in outcome.moves:
            self.observe(move)
        lines = closing_lines(outcome)
        if not self.live_mode:
            for line in lines:
                self.plain(line)
            return
        self.console.print()
        for line in lines:
            style = ""
            if line.startswith("verdict"):
                style = "bold green" if outcome.winner else "bold red"
            elif "!= mismatch" in line:
                style = "red"
            self.console.print(Text(line, style=style), soft_wrap=True)

    def plain(self, line: str) -> None:
        """A line exactly as given: no markup (a revert reason may hold brackets), no colour."""
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def _footer(self) -> Group | Spinner:
        move = self.last
        if move is None:
            return Spinner("dots", text="running the program and posting the claim...")
        n = self.trace_length
        width = move.hi - move.lo
        rounds = ceil_log2(n)
        done = ceil_log2(n) - ceil_log2(width) if width > 0 else rounds
        bar = interval_bar(move.lo, move.hi, n, FOOTER_BAR_WIDTH)
        return Group(
            Text(
                f"round {done}/{rounds}   interval [{move.lo:,}, {move.hi:,}]  "
                f"{width:,} step{'s' if width != 1 else ''} wide",
                style="bold",
            ),
            Text(f"0 {bar} {n:,}"),
            Text(
                f"clocks: proposer {clock_text(move.clocks[0])}, challenger "
                f"{clock_text(move.clocks[1])}; to move: {to_move(move)}"
            ),
            Text("gas: " + ", ".join(f"{actor} {amount:,}" for actor, amount in self.gas.items())),
        )
