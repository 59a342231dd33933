"""The ceiling every speed figure is compared with: the guest on a bare count-limited unicorn.

Shared by `emulator.py` (in process) and `startup.py` (as a whole process of its own, which is
why it imports no more than unicorn and the ELF parser: its start-up is part of the figure).
"""

from __future__ import annotations

import gc
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass

from unicorn import UC_ARCH_MIPS, UC_HOOK_INTR, UC_MODE_BIG_ENDIAN, UC_MODE_MIPS32, Uc
from unicorn import mips_const as mc

from flexemu.mips import abi

PAGE_SHIFT = 12
PAGE_BYTES = 1 << PAGE_SHIFT
PT_LOAD = 1


@dataclass(frozen=True)
class Segment:
    vaddr: int
    memsz: int
    data: bytes


def load_segments(elf: bytes) -> tuple[int, list[Segment]]:
    """The entry point and the PT_LOAD segments of a 32-bit big-endian ELF, read with struct
    alone (flexemu's loader checks far more, and its imports would count as start-up here)."""
    entry, phoff = struct.unpack_from(">II", elf, 24)
    entry_size, count = struct.unpack_from(">HH", elf, 42)
    segments = []
    for index in range(count):
        kind, offset, vaddr, _, filesz, memsz = struct.unpack_from(
            ">6I", elf, phoff + index * entry_size
        )
        if kind == PT_LOAD:
            segments.append(Segment(vaddr, memsz, elf[offset : offset + filesz]))
    return entry, segments


@dataclass
class RunTiming:
    setup: float  # building the machine: Uc + mappings (and, for the emulator, the loader)
    run: float  # executing to the end (for the emulator: checkpoints and final commit too)
    steps: int
    stdout: bytes

    @property
    def total(self) -> float:
        return self.setup + self.run


def raw_unicorn(elf: bytes, steps: int) -> RunTiming:
    """The ceiling: a bare count-limited unicorn, no Python work per instruction.

    PT_LOAD segments and a 1 MiB stack are mapped, and a tiny interrupt hook
    serves the guest's only syscalls (write, exit, exit_group).
    """
    out: list[bytes] = []

    def on_interrupt(uc: Uc, number: int, _: object) -> None:
        v0 = uc.reg_read(mc.UC_MIPS_REG_V0)
        if number != 17 or v0 in (4001, 4246):  # not a syscall, exit, exit_group
            uc.emu_stop()
        elif v0 == 4004:  # write(fd, buf, n)
            n = uc.reg_read(mc.UC_MIPS_REG_A2)
            out.append(bytes(uc.mem_read(uc.reg_read(mc.UC_MIPS_REG_A1), n)))
            uc.reg_write(mc.UC_MIPS_REG_V0, n)
            uc.reg_write(mc.UC_MIPS_REG_A3, 0)
        else:  # ENOSYS
            uc.reg_write(mc.UC_MIPS_REG_V0, 89)
            uc.reg_write(mc.UC_MIPS_REG_A3, 1)

    entry, segments = load_segments(elf)
    gc.collect()
    start = time.perf_counter()
    uc = Uc(UC_ARCH_MIPS, UC_MODE_MIPS32 | UC_MODE_BIG_ENDIAN)
    uc.ctl_set_cpu_model(mc.UC_CPU_MIPS32_24KC)
    pages = {
        n
        for s in segments
        for n in range(s.vaddr >> PAGE_SHIFT, (s.vaddr + s.memsz + PAGE_BYTES - 1) >> PAGE_SHIFT)
    }
    for first, count in _runs(sorted(pages)):
        uc.mem_map(first << PAGE_SHIFT, count * PAGE_BYTES)
    for segment in segments:
        uc.mem_write(segment.vaddr, segment.data)
    uc.mem_map(abi.STACK_TOP - (1 << 20), 1 << 20)
    uc.reg_write(mc.UC_MIPS_REG_SP, abi.STACK_TOP - PAGE_BYTES)
    uc.hook_add(UC_HOOK_INTR, on_interrupt)
    setup = time.perf_counter()
    uc.emu_start(entry, 0, count=steps)
    end = time.perf_counter()
    return RunTiming(setup - start, end - setup, steps, b"".join(out))


def _runs(numbers: list[int]) -> Iterable[tuple[int, int]]:
    """Sorted page numbers as (first, count) runs of consecutive pages."""
    first = previous = numbers[0]
    for number in numbers[1:]:
        if number != previous + 1:
            yield first, previous - first + 1
            first = number
        previous = number
    yield first, previous - first + 1
