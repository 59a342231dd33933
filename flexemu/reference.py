"""The reference stepper over full memory: the slow, obviously-correct way to run.

It is what the fast engine defers to for the steps unicorn cannot take
(exact positions inside a branch pair, anything unicorn raises an exception
on), what generates step proofs, and what the lockstep tests compare against.
"""

from __future__ import annotations

from flexemu.loader import Image
from flexemu.memory import Memory
from flexemu.mips.io import FullIO
from flexemu.mips.step import step
from flexemu.state import State, Status


class ReferenceMachine:
    """A state, its memory and the input, advanced one reference step at a time."""

    def __init__(self, state: State, memory: Memory, input_memory: Memory) -> None:
        self.state = state
        self.memory = memory
        self.input_memory = input_memory
        self._io = FullIO(memory, input_memory, record=False)

    @classmethod
    def from_image(cls, image: Image) -> ReferenceMachine:
        return cls(image.state.copy(), image.memory.copy(), image.input_memory)

    def step(self) -> None:
        step(self.state, self._io)

    def run(self, max_steps: int) -> int:
        """Step until the program ends or `max_steps` steps were taken; return the count."""
        taken = 0
        state, io = self.state, self._io
        while taken < max_steps and state.status == Status.RUNNING:
            step(state, io)
            taken += 1
        return taken

    def commit(self) -> State:
        """The state with `mem_root` brought up to date."""
        self.state.mem_root = self.memory.root()
        return self.state

    def state_hash(self) -> bytes:
        return self.commit().hash()

    def prove_step(self) -> bytes:
        """Take one step and return its proof: the leaf proofs in access order."""
        self.commit()
        io = FullIO(self.memory, self.input_memory, record=True)
        step(self.state, io)
        return b"".join(io.proofs)
