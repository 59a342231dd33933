"""A program's trace, reachable at any step: the object agents and the CLI use.

The ISA comes from the program's ELF (or is given); everything here works through it.
The first run takes checkpoints (state plus page contents) every `interval`
steps (more often at first, see `next_checkpoint`), so the state at step N
costs a restore and a run of less than one interval, never a replay from step 0.
Commitments are incremental: one Merkle cache follows the engine and rehashes only
the pages that differ.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flexemu.isa import Isa, MachineState, Progress, isa_for_elf
from flexemu.loader import Image, Program
from flexemu.memory import Memory
from flexemu.status import Status

if TYPE_CHECKING:
    from flexemu.reference import ReferenceMachine

DEFAULT_INTERVAL = 1 << 20

#: An interval that takes no checkpoint past step 0, for a run that never seeks back (the
#: `run` command): over a 300M-step run checkpoints cost ~5% of the time; the trace is the same.
NO_CHECKPOINTS = 1 << 62


@dataclass(frozen=True)
class Checkpoint:
    state: MachineState
    pages: dict[int, bytes]


class Emulator:
    """Run a program once, then answer "what is the state at step N?" cheaply."""

    def __init__(
        self, program: Program, interval: int = DEFAULT_INTERVAL, isa: Isa | None = None
    ) -> None:
        self.program = program
        self.isa = isa if isa is not None else isa_for_elf(program.elf, program.name)
        self.image: Image = self.isa.load(program)
        self.interval = interval
        pages = {n: bytes(p) for n, p in self.image.memory.pages.items()}
        self.checkpoints: list[Checkpoint] = [Checkpoint(self.image.state.copy(), pages)]
        self.engine = self.isa.engine(self.image.state, pages, self.image.input_memory)
        self._memory = self.image.memory.copy()
        self.final: MachineState | None = None
        self.output: list[tuple[int, bytes]] = []

    @property
    def input_memory(self) -> Memory:
        return self.image.input_memory

    def next_checkpoint(self, step: int) -> int:
        """Where the first run takes its next checkpoint after `step`.

        Every `interval` steps, and four times as often during the first interval: start-up
        code (a static glibc program's whole trace, often) runs an order of magnitude fewer
        steps per second than a hot loop, so a seek there would otherwise cost tens of
        milliseconds (benchmarks/emulator.py, step proofs in `sort`); a checkpoint costs
        about a third of a millisecond, so three more are cheap even for a short hot loop.
        """
        spacing = self.interval if step >= self.interval else max(self.interval // 4, 1)
        return (step // spacing + 1) * spacing

    def run(self, max_steps: int | None = None, progress: Progress | None = None) -> MachineState:
        """Run from the start to the end (or `max_steps`), checkpointing on the way."""
        self._restore(self.checkpoints[0])
        engine = self.engine
        while engine.state.status == Status.RUNNING:
            checkpoint = self.next_checkpoint(engine.state.step)
            goal = checkpoint if max_steps is None else min(checkpoint, max_steps)
            engine.advance(goal, progress)
            at = engine.state.step
            if at == checkpoint and at > self.checkpoints[-1].state.step:
                self.checkpoints.append(Checkpoint(engine.state.copy(), engine.pages()))
            if max_steps is not None and engine.state.step >= max_steps:
                break
        self.output = list(engine.output)
        final = self.commit()
        if final.status != Status.RUNNING:
            self.final = final
        return final

    def stdout(self) -> bytes:
        return b"".join(data for fd, data in self.output if fd == 1)

    def stderr(self) -> bytes:
        return b"".join(data for fd, data in self.output if fd == 2)

    def _restore(self, checkpoint: Checkpoint) -> None:
        self.engine = self.isa.engine(checkpoint.state, checkpoint.pages, self.image.input_memory)

    def seek(self, step: int, progress: Progress | None = None) -> None:
        """Put the engine at `step` (or at the end, if the trace is shorter)."""
        if self.final is not None and step >= self.final.step:
            step = self.final.step
        current = self.engine.state.step
        index = bisect.bisect_right([c.state.step for c in self.checkpoints], step) - 1
        checkpoint = self.checkpoints[max(index, 0)]
        if not checkpoint.state.step <= current <= step:
            self._restore(checkpoint)
        self.engine.advance(step, progress)

    def commit(self) -> MachineState:
        """The engine's state with its memory root, hashing only pages that changed."""
        pages = self.engine.pages()
        self._memory.replace_pages(pages, set(pages) | set(self._memory.pages))
        state = self.engine.state.copy()
        state.mem_root = self._memory.root()
        return state

    def state_at(self, step: int) -> MachineState:
        """The committed state after `step` steps; terminal states are fixed points."""
        self.seek(step)
        return self.commit()

    def machine_at(self, step: int) -> ReferenceMachine:
        """A reference machine over full memory at `step`, e.g. to prove the next step."""
        from flexemu.reference import ReferenceMachine  # the proof path only: not `run`'s

        state = self.state_at(step)
        return ReferenceMachine(state, self._memory.copy(), self.image.input_memory, self.isa)
