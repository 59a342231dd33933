"""The reference stepper over full memory: the slow, obviously-correct way to run.

It is what the fast engine defers to for the steps unicorn cannot take
(exact positions inside a branch pair, anything unicorn raises an exception
on), what generates step proofs, and what the lockstep tests compare against.
"""

from __future__ import annotations

from typing import Any

from flexemu.access import FullIO
from flexemu.isa import Isa, isa_for_elf, isa_of_state
from flexemu.loader import Image, Program
from flexemu.memory import Memory
from flexemu.status import Status


class ReferenceMachine:
    """A state, its memory and the input, advanced one reference step at a time."""

    def __init__(
        self, state: Any, memory: Memory, input_memory: Memory, isa: Isa | None = None
    ) -> None:
        self.isa = isa if isa is not None else isa_of_state(state)
        self._step = self.isa.step
        self.state = state
        self.memory = memory
        self.input_memory = input_memory
        self._io = FullIO(memory, input_memory, record=False)

    @classmethod
    def from_image(cls, image: Image, isa: Isa | None = None) -> ReferenceMachine:
        return cls(image.state.copy(), image.memory.copy(), image.input_memory, isa)

    @classmethod
    def of_program(cls, program: Program) -> ReferenceMachine:
        """The initial machine of `program`, under the ISA its ELF names."""
        isa = isa_for_elf(program.elf, program.name)
        return cls.from_image(isa.load(program), isa)

    def step(self) -> None:
        self._step(self.state, self._io)

    def run(self, max_steps: int) -> int:
        """Step until the program ends or `max_steps` steps were taken; return the count."""
        taken = 0
        state, io, step = self.state, self._io, self._step
        while taken < max_steps and state.status == Status.RUNNING:
            step(state, io)
            taken += 1
        return taken

    def commit(self) -> Any:
        """The state with `mem_root` brought up to date."""
        self.state.mem_root = self.memory.root()
        return self.state

    def state_hash(self) -> bytes:
        return self.commit().hash()

    def prove_step(self) -> bytes:
        """Take one step and return its proof: a multi-proof of the leaves it touched."""
        self.commit()
        io = FullIO(self.memory, self.input_memory, record=True)
        self._step(self.state, io)
        self.commit()
        return io.proof(self.isa.tree_depth)
