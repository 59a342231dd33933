"""The frame of one step, the same for every ISA: terminal states are fixed points, a panic
is a deterministic end, and the step counter always advances (docs/spec.md sections 3 and 6).

Each ISA's `step` is `take_step(state, io, execute)` over its own `execute`, which raises
`StepPanic` before changing anything when the instruction cannot run.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Any

from flexemu.status import Status

MASK64 = (1 << 64) - 1


class StepPanic(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside a step to end the program deterministically with `reason` (the ISA's
    panic code, stored in `exit_code`)."""

    def __init__(self, reason: IntEnum) -> None:
        super().__init__(reason.name)
        self.reason = reason


def take_step(state: Any, io: Any, execute: Callable[[Any, Any], None]) -> None:
    """Advance `state` by one step of `execute`; nothing but the counter for a terminal one."""
    if state.status != Status.RUNNING:
        return
    try:
        execute(state, io)
    except StepPanic as panic:
        state.status = Status.PANICKED
        state.exit_code = panic.reason
    state.step = (state.step + 1) & MASK64  # wraps like every counter in the witness
