"""Instructions/s of a tight MIPS loop: unicorn's own ``count`` vs the native StepCounter.

Why: StepCounter replaces unicorn's (ambiguous on MIPS) ``count`` limit; this
checks it costs about the same, unlike a Python code hook (~100x slower).
Usage: python benchmarks/step_counter_speed.py [instructions]
"""

from __future__ import annotations

import struct
import sys
import time

import unicorn
from unicorn.mips_const import UC_CPU_MIPS32_24KC

from flexemu.native import StepCounter

BASE = 0x400000
T0, T1, T2 = 8, 9, 10
LOOP = [  # t0 = 0x7fff0000; loop: t0 -= 1; t1 += t0; bne t0, $0, loop; t2 += 1 (delay slot)
    (15 << 26) | (T0 << 16) | 0x7FFF,  # lui t0, 0x7fff
    (9 << 26) | (T0 << 21) | (T0 << 16) | 0xFFFF,  # addiu t0, t0, -1
    (T1 << 21) | (T0 << 16) | (T1 << 11) | 0x21,  # addu t1, t1, t0
    (5 << 26) | (T0 << 21) | 0xFFFD,  # bne t0, $0, -3
    (9 << 26) | (T2 << 21) | (T2 << 16) | 1,  # addiu t2, t2, 1
]


def make_uc() -> unicorn.Uc:
    uc = unicorn.Uc(unicorn.UC_ARCH_MIPS, unicorn.UC_MODE_MIPS32 | unicorn.UC_MODE_BIG_ENDIAN)
    uc.ctl_set_cpu_model(UC_CPU_MIPS32_24KC)
    uc.mem_map(BASE, 0x1000)
    uc.mem_write(BASE, b"".join(struct.pack(">I", w) for w in LOOP))
    return uc


def unicorn_count(n: int) -> float:
    uc = make_uc()
    t = time.perf_counter()
    uc.emu_start(BASE, 0, count=n)
    return n / (time.perf_counter() - t)


def native_hook(n: int) -> float:
    uc = make_uc()
    counter = StepCounter(uc, pc_register=unicorn.mips_const.UC_MIPS_REG_PC)
    t = time.perf_counter()
    result = counter.run(uc, BASE, n)
    rate = result.executed / (time.perf_counter() - t)
    counter.close()
    return rate


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000_000
    a = max(unicorn_count(n) for _ in range(3))
    b = max(native_hook(n) for _ in range(3))
    print(f"unicorn count : {a / 1e6:8.1f} M instr/s")
    print(f"native hook   : {b / 1e6:8.1f} M instr/s")
    print(f"ratio native/unicorn: {b / a:.3f}")


if __name__ == "__main__":
    main()
