"""Why a RISC-V step panics: the code stored in `exit_code` of a panicked state.

A panic is deterministic and identical in every implementation; it changes only
`status` (PANICKED), `exit_code` (the code) and `step` (docs/spec.md section R10).
"""

from __future__ import annotations

from enum import IntEnum

from flexemu.stepping import StepPanic

__all__ = ["Panic", "StepPanic"]


class Panic(IntEnum):
    ILLEGAL_INSTRUCTION = 1  # an encoding outside the supported set (incl. privileged ones)
    EBREAK = 2  # ebreak, c.ebreak
    ADDRESS_OUT_OF_RANGE = 3  # an access (fetch, load, store, syscall buffer) past 2^32 - 1
    MISALIGNED_ATOMIC = 4  # lr/sc/amo at an address not a multiple of its width
    UNSUPPORTED_CSR = 5  # a CSR other than the counters and fflags/frm/fcsr
    READ_ONLY_CSR = 6  # a write to cycle/time/instret (or their high halves)
    FLOATING_POINT = 7  # FP arithmetic, compare, convert, FMA: anything on OP-FP but fmv
