"""RISC-V fast-engine speed on the CPU-bound guest: raw count-limited unicorn vs flexEmu's glue.

Why: the engine's target is >= 0.85x raw unicorn (issue 10). Both sides run the same
instructions of `scenarios/programs/loop.rv64` (or the ELF given) from the loader's initial
state, in one process, best of 3, and the ratio is taken from that one run:

- raw: a bare Uc with the ELF's pages, `emu_start(entry, 0, count=N)`, nothing hooked;
- glue: `RiscvEngine.advance(N)`: native step counter, W^X code pages, exits before flagged
  instructions, a reference step for each of those.

N is the number of steps before the guest's first ecall (the loop's write at the end), so
raw unicorn needs no syscall handling. Then the bisection-query path (targets: <= 0.1x a run
from step 0; one step proof <= 50 ms): the whole run to the exit, a seek to step N/2 + 1
from a checkpoint taken 2^21 steps earlier (a new engine from the checkpoint's state and
pages), and one step proof made and checked there.
Usage: python benchmarks/riscv_raw.py [ELF]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from unicorn import UC_ARCH_RISCV, Uc
from unicorn import riscv_const as rc

from flexemu.isa.riscv.engine import CPU_MODELS, MODES, MSTATUS_FS_DIRTY, RiscvEngine
from flexemu.isa.riscv.loader import STACK_TOP, RiscvImage, load_riscv
from flexemu.isa.riscv.proof import check_step, prove_step
from flexemu.isa.riscv.state import RiscvState
from flexemu.loader import Program
from flexemu.memory import Memory
from flexemu.merkle import PAGE_BYTES, PAGE_SHIFT

DEFAULT = Path(__file__).resolve().parent.parent / "scenarios" / "programs" / "loop.rv64"


class _FirstEcall(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by `_stop_at_ecall` when the engine hands over its first instruction."""


def _stop_at_ecall(state: RiscvState, io: object) -> None:
    raise _FirstEcall(state.step)


def steps_before_first_ecall(image: RiscvImage) -> int:
    engine = RiscvEngine(image.state, image.memory.pages, image.input_memory, _stop_at_ecall)
    try:
        engine.advance()
    except _FirstEcall as stop:
        return int(stop.args[0])
    raise RuntimeError("the guest never handed an instruction to the reference")


def raw(image: RiscvImage, n: int) -> float:
    state = image.state
    uc = Uc(UC_ARCH_RISCV, MODES[state.xlen])
    uc.ctl_set_cpu_model(CPU_MODELS[state.xlen])
    uc.reg_write(rc.UC_RISCV_REG_MSTATUS, MSTATUS_FS_DIRTY)
    stack = range((STACK_TOP - STACK_BYTES) >> PAGE_SHIFT, STACK_TOP >> PAGE_SHIFT)
    program = range(min(image.memory.pages), state.brk >> PAGE_SHIFT)  # .bss included
    for number in sorted(set(image.memory.pages) | set(stack) | set(program)):
        uc.mem_map(number << PAGE_SHIFT, PAGE_BYTES)
    for number, data in image.memory.pages.items():
        uc.mem_write(number << PAGE_SHIFT, bytes(data))
    uc.reg_write(rc.UC_RISCV_REG_SP, state.x[2])
    start = time.perf_counter()
    uc.emu_start(state.pc, 0, count=n)
    return n / (time.perf_counter() - start)


def glue(image: RiscvImage, n: int) -> float:
    start = time.perf_counter()
    engine = RiscvEngine(image.state, image.memory.pages, image.input_memory, _stop_at_ecall)
    engine.advance(n)
    elapsed = time.perf_counter() - start
    assert engine.state.step == n
    return n / elapsed


CHECKPOINT_EVERY = 1 << 21
STACK_BYTES = 1 << 20  # mapped below the stack top for the raw run


def seek_and_prove(image: RiscvImage, target: int) -> tuple[float, float, float]:
    """(seconds for the whole run, for a seek from a checkpoint, for one proof + check)."""
    start = time.perf_counter()
    whole = RiscvEngine(image.state, image.memory.pages, image.input_memory)
    whole.advance()
    run = time.perf_counter() - start
    base = RiscvEngine(image.state, image.memory.pages, image.input_memory)
    base.advance(target - target % CHECKPOINT_EVERY)
    checkpoint = (base.state.copy(), base.pages())
    start = time.perf_counter()
    engine = RiscvEngine(checkpoint[0], checkpoint[1], image.input_memory)
    engine.advance(target)
    seek = time.perf_counter() - start
    start = time.perf_counter()
    state, memory = engine.state.copy(), Memory(engine.pages())
    pre = state.copy()
    pre.mem_root = memory.root()
    proof = prove_step(state, memory, image.input_memory)
    assert check_step(pre.witness(), proof).witness() == state.witness()
    return run, seek, time.perf_counter() - start


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    image = load_riscv(Program.from_file(path, [path.name]))
    n = steps_before_first_ecall(image)
    a = max(raw(image, n) for _ in range(3))
    b = max(glue(image, n) for _ in range(3))
    print(f"{path.name}: {n:,} steps before the first ecall")
    print(f"raw unicorn (count=N)   : {a / 1e6:8.1f} M instr/s")
    print(f"RiscvEngine.advance(N)  : {b / 1e6:8.1f} M instr/s")
    print(f"ratio glue / raw        : {b / a:8.3f}")
    run, seek, prove = seek_and_prove(image, n // 2 + 1)
    print(f"whole run to the exit   : {run * 1e3:8.1f} ms")
    print(f"seek from a checkpoint  : {seek * 1e3:8.1f} ms ({seek / run:.3f}x the whole run;"
          f" checkpoints every {CHECKPOINT_EVERY:,} steps)")
    print(f"one step proof + check  : {prove * 1e3:8.1f} ms (from the engine's pages)")


if __name__ == "__main__":
    main()
