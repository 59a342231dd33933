"""Native (C) helpers for the unicorn engine.

Why native: per-instruction bookkeeping in a Python unicorn hook runs at
~0.5M instructions/s; the same bookkeeping in C runs near unicorn's own speed.
"""

from flexemu.native.step_counter import (
    CodeGuard,
    RunResult,
    StepCounter,
    StepCounterStruct,
    is_delay_branch,
)

__all__ = ["CodeGuard", "RunResult", "StepCounter", "StepCounterStruct", "is_delay_branch"]
