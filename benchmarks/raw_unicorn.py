"""The ceiling every speed figure is compared with: the guest on a bare count-limited unicorn.

Shared by `emulator.py` (in process) and `startup.py` (as a whole process of its own, which is
why it imports no more than unicorn and the ELF parser: its start-up is part of the figure).
"""

from __future__ import annotations

import gc
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from unicorn import (
    UC_ARCH_MIPS,
    UC_ARCH_RISCV,
    UC_HOOK_INTR,
    UC_MODE_BIG_ENDIAN,
    UC_MODE_MIPS32,
    UC_MODE_RISCV32,
    UC_MODE_RISCV64,
    Uc,
)
from unicorn import mips_const as mc
from unicorn import riscv_const as rc

PAGE_SHIFT = 12
PAGE_BYTES = 1 << PAGE_SHIFT
PT_LOAD = 1


@dataclass(frozen=True)
class Segment:
    vaddr: int
    memsz: int
    data: bytes


def load_segments(elf: bytes) -> tuple[int, list[Segment]]:
    """The entry point and the PT_LOAD segments of a static ELF (32- or 64-bit, either byte
    order), read with struct alone (flexemu's loader checks far more, and its imports would
    count as start-up here)."""
    order = ">" if elf[5] == 2 else "<"
    if elf[4] == 2:  # ELFCLASS64
        entry, phoff = struct.unpack_from(order + "QQ", elf, 24)
        entry_size, count = struct.unpack_from(order + "HH", elf, 54)
        layout, fields = order + "IIQQQQQ", (0, 2, 3, 5, 6)  # type, offset, vaddr, filesz, memsz
    else:
        entry, phoff = struct.unpack_from(order + "II", elf, 24)
        entry_size, count = struct.unpack_from(order + "HH", elf, 42)
        layout, fields = order + "6I", (0, 1, 2, 4, 5)
    segments = []
    for index in range(count):
        values = struct.unpack_from(layout, elf, phoff + index * entry_size)
        kind, offset, vaddr, filesz, memsz = (values[i] for i in fields)
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


MIPS_STACK_TOP = 0x7FFF0000  # flexEmu's MIPS stack top (docs/spec.md section 9)


def raw_unicorn(elf: bytes, steps: int, argv: tuple[str, ...] = ()) -> RunTiming:
    """The ceiling: a bare count-limited unicorn, no Python work per instruction.

    PT_LOAD segments and a 1 MiB stack are mapped (argc and `argv` on it, for a guest such
    as `spin` that reads its count from argv[1]), and a tiny interrupt hook serves the
    guest's only syscalls (write, exit, exit_group).
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
    map_image(uc, segments, MIPS_STACK_TOP)
    uc.reg_write(mc.UC_MIPS_REG_SP, initial_stack(uc, MIPS_STACK_TOP, 4, "big", argv))
    uc.hook_add(UC_HOOK_INTR, on_interrupt)
    setup = time.perf_counter()
    uc.emu_start(entry, 0, count=steps)
    end = time.perf_counter()
    return RunTiming(setup - start, end - setup, steps, b"".join(out))


RISCV_STACK_TOP = 0x7FFF0000  # flexEmu's RISC-V stack top (docs/spec.md section R8)
RISCV_SYS_WRITE, RISCV_SYS_EXIT, RISCV_SYS_EXIT_GROUP = 64, 93, 94
RISCV_ENOSYS = 38


def raw_riscv(elf: bytes, steps: int, argv: tuple[str, ...] = ()) -> RunTiming:
    """The RISC-V ceiling: a bare count-limited unicorn (RV64 or RV32 by the ELF class),
    segments and a 1 MiB stack mapped, and an interrupt hook serving write, exit and
    exit_group (ecall is interrupt 8, pc already past it)."""
    out: list[bytes] = []
    a0, a1, a2, a7 = (getattr(rc, f"UC_RISCV_REG_A{i}") for i in (0, 1, 2, 7))

    def on_interrupt(uc: Uc, number: int, _: object) -> None:
        call = uc.reg_read(a7)
        if number != 8 or call in (RISCV_SYS_EXIT, RISCV_SYS_EXIT_GROUP):
            uc.emu_stop()
        elif call == RISCV_SYS_WRITE:
            n = uc.reg_read(a2)
            out.append(bytes(uc.mem_read(uc.reg_read(a1), n)))
            uc.reg_write(a0, n)
        else:
            uc.reg_write(a0, -RISCV_ENOSYS & ((1 << 64) - 1))

    entry, segments = load_segments(elf)
    xlen = 64 if elf[4] == 2 else 32
    gc.collect()
    start = time.perf_counter()
    uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV64 if xlen == 64 else UC_MODE_RISCV32)
    model = rc.UC_CPU_RISCV64_SIFIVE_U54 if xlen == 64 else rc.UC_CPU_RISCV32_SIFIVE_U34
    uc.ctl_set_cpu_model(model)
    map_image(uc, segments, RISCV_STACK_TOP)
    uc.reg_write(rc.UC_RISCV_REG_SP, initial_stack(uc, RISCV_STACK_TOP, xlen // 8, "little", argv))
    uc.hook_add(UC_HOOK_INTR, on_interrupt)
    setup = time.perf_counter()
    uc.emu_start(entry, 0, count=steps)
    end = time.perf_counter()
    return RunTiming(setup - start, end - setup, steps, b"".join(out))


def initial_stack(uc: Uc, top: int, word_bytes: int, byteorder: str, argv: tuple[str, ...]) -> int:
    """argc, the argv pointers, an empty envp and auxv, and the strings, one page below
    `top`; returns sp. Only what a freestanding guest reads (flexEmu lays out far more)."""
    sp = top - PAGE_BYTES
    strings, pointers = sp + 256, []
    for arg in argv:
        data = arg.encode() + b"\0"
        uc.mem_write(strings, data)
        pointers.append(strings)
        strings += len(data)
    words = [len(argv), *pointers, 0, 0, 0, 0]  # argc, argv..., NULL, envp NULL, AT_NULL 0
    order = "big" if byteorder == "big" else "little"
    uc.mem_write(sp, b"".join(word.to_bytes(word_bytes, order) for word in words))
    return sp


def raw_for(elf: bytes) -> Callable[..., RunTiming]:
    """The raw runner of the ELF's machine (EM_MIPS or EM_RISCV)."""
    machine = int.from_bytes(elf[18:20], "big" if elf[5] == 2 else "little")
    return raw_riscv if machine == 243 else raw_unicorn


def map_image(uc: Uc, segments: list[Segment], stack_top: int) -> None:
    """Map and fill the PT_LOAD segments, and map 1 MiB of stack below `stack_top`."""
    pages = {
        n
        for s in segments
        for n in range(s.vaddr >> PAGE_SHIFT, (s.vaddr + s.memsz + PAGE_BYTES - 1) >> PAGE_SHIFT)
    }
    for first, count in _runs(sorted(pages)):
        uc.mem_map(first << PAGE_SHIFT, count * PAGE_BYTES)
    for segment in segments:
        uc.mem_write(segment.vaddr, segment.data)
    uc.mem_map(stack_top - (1 << 20), 1 << 20)


def _runs(numbers: list[int]) -> Iterable[tuple[int, int]]:
    """Sorted page numbers as (first, count) runs of consecutive pages."""
    first = previous = numbers[0]
    for number in numbers[1:]:
        if number != previous + 1:
            yield first, previous - first + 1
            first = number
        previous = number
    yield first, previous - first + 1
