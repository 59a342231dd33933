"""RISC-V fast-engine speed on the CPU-bound guest: raw count-limited unicorn vs flexEmu's glue.

Why: the engine's target is >= 0.85x raw unicorn (issue 10). Both sides run the same
instructions of `scenarios/programs/loop.rv64` (or the ELF given) from the loader's initial
state, in one process, best of 3, and the ratio is taken from that one run:

- raw: a bare Uc with the ELF's pages, `emu_start(entry, 0, count=N)`, nothing hooked;
- glue: `RiscvEngine.advance(N)`: native step counter, W^X code pages, exits before flagged
  instructions, a reference step for each of those.

N is the number of steps before the guest's first ecall (the loop's write at the end), so
raw unicorn needs no syscall handling. Usage: python benchmarks/riscv_raw.py [ELF]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from unicorn import UC_ARCH_RISCV, Uc
from unicorn import riscv_const as rc

from flexemu.isa.riscv.engine import CPU_MODELS, MODES, MSTATUS_FS_DIRTY, RiscvEngine
from flexemu.isa.riscv.loader import RiscvImage, load_riscv
from flexemu.isa.riscv.state import RiscvState
from flexemu.loader import Program
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
    for number, data in image.memory.pages.items():
        uc.mem_map(number << PAGE_SHIFT, PAGE_BYTES)
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


if __name__ == "__main__":
    main()
