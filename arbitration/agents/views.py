"""A party's view of the trace: the state hash it believes in at every step.

The honest view is the emulator's. The adversarial strategies (docs/game.md, "Strategies")
are functions of the true state, so a liar is consistent with itself and deterministic:

* ``lie_at k`` / ``lie_from k`` / ``forged_proof k``: an opaque wrong hash at step k (or at
  every step >= k): the true hash's status byte followed by 31 bytes of
  ``keccak256("flexemu lie" ‖ role ‖ true hash)``. The role is in it so two lying parties never
  agree on a lie by accident.
* ``wrong_output``: every state whose output commitment is non-zero (the states after the first
  write) carries ``keccak256("flexemu wrong output" ‖ true output_hash)`` instead: a real
  witness with one field changed, so the liar can even build step proofs from it.
* ``wrong_exit_code``: exited states carry ``(exit_code + 1) mod 256``.

Programs without a write (or that panic instead of exiting) give the last two nothing to lie
about: those views are then honest.
"""

from __future__ import annotations

from arbitration.agents.strategy import Strategy
from flexemu.emulator import Emulator
from flexemu.keccak import keccak256
from flexemu.state import State, Status


def lie(true_hash: bytes, role: str) -> bytes:
    """The deterministic wrong hash a liar posts instead of `true_hash`."""
    return true_hash[:1] + keccak256(b"flexemu lie" + role.encode() + true_hash)[1:]


class TraceView:
    """h(i) for one party: its strategy applied to its own emulator's trace."""

    def __init__(self, emulator: Emulator, strategy: Strategy, role: str) -> None:
        self.emulator = emulator
        self.strategy = strategy
        self.role = role
        self.lie_step: int | None = strategy.step  # forged_proof's default is set by the game
        self._states: dict[int, State] = {}

    def true_state(self, step: int) -> State:
        """The committed true state after `step` steps (cached: bisection revisits steps)."""
        state = self._states.get(step)
        if state is None:
            state = self._states[step] = self.emulator.state_at(step)
        return state

    def lies_at(self, step: int) -> bool:
        kind, k = self.strategy.kind, self.lie_step
        if kind == "lie_at":
            return step == k
        if kind in ("lie_from", "forged_proof"):
            return k is not None and step >= k
        return False

    def state(self, step: int) -> State:
        """The state this party claims at `step`: the true one, or one with changed fields
        (wrong_output, wrong_exit_code). Opaque lies change only the hash (see hash_at)."""
        state = self.true_state(step)
        kind = self.strategy.kind
        if kind == "wrong_output" and state.output_hash != bytes(32):
            state = state.copy()
            state.output_hash = keccak256(b"flexemu wrong output" + state.output_hash)
        elif kind == "wrong_exit_code" and state.status == Status.EXITED:
            state = state.copy()
            state.exit_code = (state.exit_code + 1) & 0xFF
        return state

    def hash_at(self, step: int) -> bytes:
        true_hash = self.state(step).hash()
        return lie(true_hash, self.role) if self.lies_at(step) else true_hash

    def witness_at(self, step: int) -> bytes | None:
        """The witness behind hash_at(step), or None where the hash is an opaque lie."""
        return None if self.lies_at(step) else self.state(step).witness()
