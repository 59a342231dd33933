"""How a machine stands, for every ISA: the witness's status field and the state hash's top byte.

Every ISA's witness carries a status and an exit code (at offsets of its own layout), and
every state hash replaces its top byte by the VM status derived from them, so a claim says
at a glance how the program ended whatever the ISA (docs/spec.md, "State hash").
"""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    """The `status` field of a witness."""

    RUNNING = 0
    EXITED = 1
    PANICKED = 2


class VMStatus(IntEnum):
    """The top byte of a state hash (the convention of Cannon's VM status)."""

    EXITED_ZERO = 0
    EXITED_NONZERO = 1
    PANICKED = 2
    UNFINISHED = 3


def vm_status(status: int, exit_code: int) -> VMStatus:
    """The state-hash status byte of a witness's status and exit code (every ISA)."""
    if status == Status.RUNNING:
        return VMStatus.UNFINISHED
    if status == Status.PANICKED:
        return VMStatus.PANICKED
    return VMStatus.EXITED_ZERO if exit_code == 0 else VMStatus.EXITED_NONZERO
