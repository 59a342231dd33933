"""Why a RISC-V step panics: the code stored in `exit_code` of a panicked state.

A panic is deterministic and identical in every implementation; it changes only
`status` (PANICKED), `exit_code` (the code) and `step` (docs/riscv.md, "Panics").
"""

from __future__ import annotations

from enum import IntEnum


class Panic(IntEnum):
    ILLEGAL_INSTRUCTION = 1  # an encoding outside the supported set (incl. privileged ones)
    EBREAK = 2  # ebreak, c.ebreak
    ADDRESS_OUT_OF_RANGE = 3  # an access (fetch, load, store, syscall buffer) past 2^32 - 1
    MISALIGNED_ATOMIC = 4  # lr/sc/amo at an address not a multiple of its width
    UNSUPPORTED_CSR = 5  # a CSR other than the counters and fflags/frm/fcsr
    READ_ONLY_CSR = 6  # a write to cycle/time/instret (or their high halves)
    FLOATING_POINT = 7  # FP arithmetic, compare, convert, FMA: anything on OP-FP but fmv


class StepPanic(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside a step before any state change; the step turns it into a panicked state."""

    def __init__(self, reason: Panic) -> None:
        super().__init__(reason.name)
        self.reason = reason
