"""The scanner's three classes against unicorn and the reference, instruction by instruction.

`flexemu.isa.riscv.scan` lets unicorn run "native" encodings and relies on unicorn
trapping on "traps" ones. Both are claims about two implementations, so they are
checked here by running each encoding once in a bare unicorn and once in the reference
from the same state: a native encoding must give the same registers, pc and memory (or
make unicorn stop before it changes anything, which hands it to the reference too); a
trapping one must make unicorn stop. Compressed parcels: a sample of every 13th parcel
plus every trapping one by default, all 65,536 under `-m slow`; 32-bit words: every
major opcode x funct3 x funct7 with random register fields.
"""

from __future__ import annotations

import random

import pytest
from unicorn import UC_ARCH_RISCV, UC_HOOK_INTR, Uc, UcError
from unicorn import riscv_const as rc

from flexemu.isa.riscv.engine import CPU_MODELS, MODES, MSTATUS_FS_DIRTY
from flexemu.isa.riscv.scan import native_parcel, native_word, traps_parcel, traps_word
from flexemu.isa.riscv.state import RiscvState
from flexemu.isa.riscv.step import step
from flexemu.memory import Memory
from flexemu.mips.io import FullIO
from flexemu.state import Status

CODE = 0x100000  # jal reaches +-1 MiB: [0, 0x200000) is mapped
DATA = 0x300000  # registers point at DATA + 0x1000 + 8 i; +-2 KiB offsets stay mapped
LOW = 0x1000
_X = [getattr(rc, f"UC_RISCV_REG_X{i}") for i in range(32)]
_F = [getattr(rc, f"UC_RISCV_REG_F{i}") for i in range(32)]


class Probe:
    """One instruction, once in a bare unicorn and once in the reference."""

    def __init__(self, xlen: int) -> None:
        self.xlen = xlen
        self.uc = Uc(UC_ARCH_RISCV, MODES[xlen])
        self.uc.ctl_set_cpu_model(CPU_MODELS[xlen])
        self.uc.mem_map(0, 0x200000)
        self.uc.mem_map(DATA, 0x2000)
        self.stopped = False
        self.uc.hook_add(UC_HOOK_INTR, self._on_interrupt)
        rng = random.Random(xlen)
        self.x = [0] + [DATA + 0x1000 + 8 * i for i in range(1, 32)]
        self.f = [rng.getrandbits(64) for _ in range(32)]
        self.data = bytes(rng.getrandbits(8) for _ in range(0x2000))

    def _on_interrupt(self, uc: Uc, number: int, _: object) -> None:
        self.stopped = True
        uc.emu_stop()

    def unicorn(self, code: bytes) -> tuple[list[int], list[int], int, bytes] | None:
        """(x, f, pc, data) after one instruction, or None if unicorn stopped on it."""
        uc = self.uc
        uc.mem_write(CODE, code)
        uc.ctl_remove_cache(CODE, CODE + 8)
        uc.mem_write(DATA, self.data)
        uc.mem_write(0, bytes(LOW))  # x0-based accesses reach [0, 2 KiB)
        uc.reg_write(rc.UC_RISCV_REG_MSTATUS, MSTATUS_FS_DIRTY)
        for i in range(1, 32):
            uc.reg_write(_X[i], self.x[i])
        for i in range(32):
            uc.reg_write(_F[i], self.f[i])
        self.stopped = False
        try:
            uc.emu_start(CODE, 0, count=1)
        except UcError:
            return None
        if self.stopped:
            return None
        x = [0] + [uc.reg_read(_X[i]) for i in range(1, 32)]
        f = [uc.reg_read(_F[i]) for i in range(32)]
        memory = bytes(uc.mem_read(0, LOW)) + bytes(uc.mem_read(DATA, 0x2000))
        return x, f, uc.reg_read(rc.UC_RISCV_REG_PC), memory

    def reference(self, code: bytes) -> tuple[list[int], list[int], int, bytes] | None:
        """The same from the reference, or None if it panics."""
        memory = Memory()
        memory.write_bytes(CODE, code)
        memory.write_bytes(DATA, self.data)
        state = RiscvState(xlen=self.xlen, pc=CODE, x=list(self.x), f=list(self.f))
        step(state, FullIO(memory, Memory(), record=False))
        if state.status != Status.RUNNING:
            return None
        touched = memory.read_bytes(0, LOW) + memory.read_bytes(DATA, 0x2000)
        return state.x, state.f, state.pc, touched


@pytest.fixture(scope="module")
def probes() -> dict[int, Probe]:
    return {64: Probe(64), 32: Probe(32)}


def check(probe: Probe, code: bytes, native: bool, traps: bool, name: str) -> None:
    got = probe.unicorn(code)
    if traps:
        assert got is None, f"RV{probe.xlen} {name}: unicorn ran it, expected a trap"
    if native and got is not None:
        want = probe.reference(code)
        assert want is not None, f"RV{probe.xlen} {name}: unicorn ran it, the reference panics"
        for label, a, b in zip(("x", "f", "pc", "memory"), got, want, strict=True):
            assert a == b, f"RV{probe.xlen} {name}: {label} differs (unicorn vs reference)"


def parcels(exhaustive: bool) -> list[int]:
    return [p for p in range(0x10000) if p & 3 != 3 and (exhaustive or p % 13 == 0
            or traps_parcel(p, 32) or traps_parcel(p, 64))]


def _check_parcels(probes: dict[int, Probe], chosen: list[int]) -> None:
    for xlen, probe in probes.items():
        for parcel in chosen:
            code = parcel.to_bytes(2, "little") + b"\x01\x00"  # c.nop after it
            check(probe, code, native_parcel(parcel, xlen), traps_parcel(parcel, xlen),
                  f"parcel {parcel:#06x}")


def test_compressed_classes_sampled(probes):
    _check_parcels(probes, parcels(exhaustive=False))


@pytest.mark.slow
def test_compressed_classes_exhaustive(probes):
    _check_parcels(probes, parcels(exhaustive=True))


@pytest.mark.parametrize("opcode", [op for op in range(3, 128, 4) if op & 0x1C != 0x1C])
def test_word_classes_per_major_opcode(probes, opcode):
    rng = random.Random(opcode)
    for xlen, probe in probes.items():
        for funct3 in range(8):
            for funct7 in range(128):
                fields = rng.getrandbits(15) << 15 & 0x01FF8000 | rng.getrandbits(5) << 7
                word = funct7 << 25 | fields | funct3 << 12 | opcode
                native = native_word(word, xlen)
                check(probe, word.to_bytes(4, "little"), native,
                      not native and traps_word(word, xlen), f"word {word:#010x}")
