"""The LL reservation inside unicorn's CPU state, which no register API exposes.

Unicorn's QEMU core keeps the address and value of the last LL in its CPU
state; SC succeeds only if both still match. That is machine state, so it is
in the witness, and the engine must read it after a run and restore it when
it resumes from a checkpoint. The only window onto it is the raw CPU context
(`context_save` / `context_restore`), whose layout is private to the build,
so the offsets are found once, by executing an LL with distinctive operands
and looking for them, and checked to be unique.
"""

from __future__ import annotations

import ctypes
import struct
from functools import cache

from unicorn import UC_ARCH_MIPS, UC_MODE_BIG_ENDIAN, UC_MODE_MIPS32, Uc
from unicorn import mips_const as mc

_PROBE_ADDRESS = 0x0123_4560
_PROBE_VALUE = 0x5A17_C0DE
_LL_A0 = 0xC0880000  # ll $t0, 0($a0)


def _raw(uc: Uc) -> bytes:
    return bytes(uc.context_save())


@cache
def reservation_offset() -> int:
    """Offset of (lladdr, llval), two adjacent little-endian words, in the raw context."""
    uc = Uc(UC_ARCH_MIPS, UC_MODE_MIPS32 | UC_MODE_BIG_ENDIAN)
    uc.ctl_set_cpu_model(mc.UC_CPU_MIPS32_24KC)
    uc.mem_map(0x400000, 0x1000)
    uc.mem_map(_PROBE_ADDRESS & ~0xFFF, 0x1000)
    uc.mem_write(0x400000, _LL_A0.to_bytes(4, "big"))
    uc.mem_write(_PROBE_ADDRESS, _PROBE_VALUE.to_bytes(4, "big"))
    uc.reg_write(mc.UC_MIPS_REG_A0, _PROBE_ADDRESS)
    uc.emu_start(0x400000, 0, count=1)
    raw = _raw(uc)
    pattern = struct.pack("<II", _PROBE_ADDRESS, _PROBE_VALUE)
    offset = raw.find(pattern)
    if offset < 0 or raw.find(pattern, offset + 1) >= 0:
        raise RuntimeError("cannot locate the LL reservation in unicorn's CPU context")
    return offset


class ReservationWindow:
    """Reads and writes the LL reservation of one `Uc` through one reused context buffer.

    Why: `context_save` allocates a new context (the MIPS CPU state is large) each time,
    about a millisecond, and the engine reads the reservation after every run and writes
    it before every resumption; saving into one buffer and touching only its 8 bytes costs
    a small fraction of that.
    """

    def __init__(self, uc: Uc) -> None:
        self._uc = uc
        self._context = uc.context_save()
        base = ctypes.cast(self._context.context, ctypes.c_void_p).value
        assert base is not None
        self._address = base + reservation_offset()

    def read(self) -> tuple[int, int]:
        self._uc.context_update(self._context)
        return struct.unpack("<II", ctypes.string_at(self._address, 8))

    def write(self, address: int, value: int) -> None:
        self._uc.context_update(self._context)
        ctypes.memmove(self._address, struct.pack("<II", address, value), 8)
        self._uc.context_restore(self._context)
