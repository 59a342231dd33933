"""Exact MIPS step counting by whole translation blocks (the native UC_HOOK_BLOCK hook).

Why: the per-instruction hook (`step_counter`) costs unicorn a helper call per
instruction, about what unicorn's own `count` costs. A block hook is called once
per translation block, so a hot loop runs at unicorn's uncounted speed, while each
count stays exact: the C hook (``flexemu_block_step`` in step_counter.c) admits a
block only if all of it may run (every word RUN under the code guard, a JR/JALR
target checked before the jump, and the block fits below the limit) and counts
its words before it runs; otherwise it stops unicorn *before* the block.

Observed semantics (unicorn 2.1.4, MIPS32 24Kc; pinned by tests/test_block_counter.py):

* A block ends after a branch's delay slot (a branch-likely's nullified slot is
  in its block and counts as one step, as in the reference), at a syscall, at a
  page end, or after 512 instructions. The hook's ``size`` is the block's bytes.
* ``uc_emu_stop`` in the block hook stops unicorn before anything of the block
  ran, chained or not; the PC register then reads the block's start.
* Inside a memory hook (unmapped access, write to a protected page) the PC
  register reads the faulting instruction, a delay slot's own address included,
  so the executed count is ``count - block_words + (pc - block_start) / 4``.
* Inside the interrupt hook of a syscall the PC reads the syscall's address + 4,
  and the syscall is its block's last word. For any other exception the PC reads
  0: the position inside the block is lost (the engine then replays exactly, see
  `flexemu.isa.mips.engine`).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import unicorn

from flexemu.native import _step_counter
from flexemu.native.step_counter import (
    STOP_GUARD,
    STOP_LIMIT,
    STOP_NONE,
    CodeGuard,
    _uclib,
    add_native_hook,
)

#: The hook refused a block it cannot reason about (misaligned, empty, or 512 words long).
STOP_REFUSED = 3
_NO_LIMIT = 2**64 - 1

__all__ = ["STOP_GUARD", "STOP_LIMIT", "STOP_NONE", "STOP_REFUSED", "BlockCounter", "BlockRun"]


class BlockCounterStruct(ctypes.Structure):
    """ctypes mirror of ``flexemu_block_counter`` in step_counter.c (keep in sync)."""

    _fields_ = (
        ("count", ctypes.c_uint64),  # words of the blocks admitted so far
        ("limit", ctypes.c_uint64),  # admit a block only if count + its words <= limit
        ("block_start", ctypes.c_uint64),  # the block admitted last
        ("block_words", ctypes.c_uint64),
        ("stop_address", ctypes.c_uint64),  # the block refused
        ("step_words", ctypes.c_uint64),  # words the reference steps from stop_address
        ("check_address", ctypes.c_uint64),  # the word or JR target whose flag refused it
        ("stop", ctypes.c_void_p),  # uc_emu_stop
        ("mem_read", ctypes.c_void_p),  # uc_mem_read
        ("reg_read", ctypes.c_void_p),  # uc_reg_read
        ("code", ctypes.c_void_p),  # the CodeGuard table
        ("runs", ctypes.c_void_p),  # the CodeGuard's block runs per word
        ("targets", ctypes.c_void_p),  # the CodeGuard's branch targets per word
        ("stop_reason", ctypes.c_uint32),  # STOP_* of the refusal
    )


if ctypes.sizeof(BlockCounterStruct) != _step_counter.block_struct_size():  # pragma: no cover
    raise ImportError("BlockCounterStruct does not match the C struct layout")


@dataclass(frozen=True)
class BlockRun:
    """Counters after one `BlockCounter.run`.

    ``executed`` words ran, all of admitted blocks, when the run ended by a refusal
    (``stop_reason``) or by an ``emu_stop`` after a block's last word (a syscall's
    exit). A run that ended inside a block (a fault) is positioned by `BlockCounter.at`.
    """

    executed: int
    stop_reason: int
    stop_address: int  # the refused block's first word (unicorn's pc after a refusal)
    step_words: int  # after a refusal: words the reference must step from stop_address
    check_address: int  # after a guard refusal: the word or JR target that refused it

    @property
    def refused(self) -> bool:
        return self.stop_reason != STOP_NONE


class BlockCounter:
    """The native block hook attached to one ``unicorn.Uc`` with a code guard."""

    def __init__(self, uc: unicorn.Uc, guard: CodeGuard) -> None:
        lib = _uclib()
        self._uc = uc
        self._lib = lib
        self.guard = guard  # kept alive as long as the hook may read it
        self.struct = BlockCounterStruct()
        self.struct.stop = ctypes.cast(lib.uc_emu_stop, ctypes.c_void_p).value
        self.struct.mem_read = ctypes.cast(lib.uc_mem_read, ctypes.c_void_p).value
        self.struct.reg_read = ctypes.cast(lib.uc_reg_read, ctypes.c_void_p).value
        if not guard.blocks:
            raise ValueError("block mode needs a CodeGuard(blocks=True)")
        self.struct.code = guard.address
        self.struct.runs = guard.runs_address
        self.struct.targets = guard.targets_address
        self.struct.limit = _NO_LIMIT
        # The hook keeps a raw pointer to self.struct: both live as long as self.
        self._user_data = ctypes.cast(ctypes.pointer(self.struct), ctypes.c_void_p)
        add_native_hook(
            uc, unicorn.UC_HOOK_BLOCK, _step_counter.block_callback_address(), self._user_data
        )

    def at(self, pc: int) -> int | None:
        """Words executed before the instruction at `pc` of the block running now.

        None if `pc` is not a word of the last admitted block (the position is lost).
        """
        s = self.struct
        offset = (pc - s.block_start) & 0xFFFF_FFFF
        if offset & 3 or offset >> 2 >= s.block_words:
            return None
        return int(s.count - s.block_words + (offset >> 2))

    def block_index(self, pc: int) -> int:
        """Index of `pc` in the running block (`at` must have placed it)."""
        return ((pc - self.struct.block_start) & 0xFFFF_FFFF) >> 2

    def run(self, uc: unicorn.Uc, begin_pc: int, limit: int) -> BlockRun:
        """Run from `begin_pc` through whole blocks while at most `limit` words are admitted."""
        if uc is not self._uc:
            raise ValueError("BlockCounter belongs to another Uc instance")
        s = self.struct
        s.count = 0
        s.limit = limit
        s.block_start = begin_pc
        s.block_words = 0
        s.stop_reason = STOP_NONE
        s.step_words = 0
        uc.emu_start(begin_pc, 0, count=0)
        return self.result()

    def result(self) -> BlockRun:
        s = self.struct
        return BlockRun(
            executed=int(s.count),
            stop_reason=int(s.stop_reason),
            stop_address=int(s.stop_address),
            step_words=int(s.step_words),
            check_address=int(s.check_address),
        )
