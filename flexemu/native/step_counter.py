"""Exact instruction counting for unicorn MIPS runs via a native code hook.

Why: unicorn's ``count`` argument is ambiguous on MIPS. When the K-th
instruction is a branch, unicorn also runs its delay slot, so a count-limited
run executes K or K+1 instructions and the API does not say which. A Python
UC_HOOK_CODE callback could count exactly but is ~100x slower. So a tiny C
callback (``step_counter.c``) counts hook calls into a ctypes struct and calls
``uc_emu_stop`` once the count exceeds ``limit``; this module registers it and
turns the raw counters into an exact executed-instruction count.

Observed semantics (unicorn 2.1.4, MIPS32 24Kc; pinned by
tests/test_step_counter.py):

* The hook runs *before* each instruction executes, once per instruction,
  including a branch-likely's delay slot that is then nullified (not taken):
  like unicorn's own ``count``, a nullified delay slot counts as one
  instruction here.
* Stopped by the limit, normally hook call ``limit + 1`` happened but its
  instruction did not run: ``executed == hooked - 1``; the final PC is
  ``last_address``.
* If instruction ``limit`` is a branch or jump, hook call ``limit + 1`` is its
  delay slot, which unicorn runs before stopping: ``executed == hooked``; the
  final PC is the branch outcome. The PC alone cannot tell the two cases apart
  (a branch may target its own delay slot, ``beq $0,$0,0``), so the C hook
  captures the word at ``prev_address`` when it stops the run and
  ``is_delay_branch`` decodes it.
* Inside a UC_HOOK_INTR callback (syscall, intno 17; PC already past the
  syscall) the syscall has been hooked and executed: ``executed == hooked``.
  Setting ``counter.limit = counter.hooked`` there stops the run before the
  next instruction (a normal limit stop); ``uc.emu_stop()`` there stops it too,
  with ``executed == hooked`` and ``limit_hit`` false.
* A faulting instruction (unmapped access, ...) was hooked but not executed;
  ``run`` re-raises unicorn's error and the counters are only in ``struct``.
* A branch in a delay slot is UNPREDICTABLE in MIPS32 and not supported.
* With a ``CodeGuard`` attached, the hook also stops *before* any word the
  guard does not let unicorn run (``stop_reason == STOP_GUARD``): that word
  was hooked but did not run, ``executed == hooked - 1``, the PC is
  ``last_address``. The guard's scan keeps such words out of delay slots.
"""

from __future__ import annotations

import ctypes
import mmap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import unicorn
from unicorn.unicorn_py3 import unicorn as _ucmod

from flexemu.merkle import PAGE_BYTES
from flexemu.native import _step_counter

WORDS_PER_PAGE = PAGE_BYTES // 4
#: Whether a (big-endian) instruction word is a branch with a delay slot: given by the ISA.
DelayBranch = Callable[[int], bool]

_NO_LIMIT = 2**64 - 1
GUARD_BYTES = 1 << 30  # one flag byte per 4-byte word of the 32-bit address space
GUARD_USER_PAGES = 0x80000  # only user-segment pages are ever allowed
_MAP_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000)  # Linux's value; 3.11 lacks the name
STOP_NONE, STOP_LIMIT, STOP_GUARD = 0, 1, 2


def _uclib() -> Any:
    """The ctypes handle of libunicorn as loaded by the binding (2.1.x: ``uclib``)."""
    lib = getattr(_ucmod, "uclib", None) or getattr(_ucmod, "_uc", None)
    if lib is None:  # pragma: no cover - only on an unexpected binding layout
        raise RuntimeError("cannot find the libunicorn ctypes handle in the unicorn binding")
    return lib


def add_native_hook(uc: unicorn.Uc, kind: int, callback: int, user_data: ctypes.c_void_p) -> int:
    """Register the native `callback` (a C address) as a hook of `kind` on every address.

    uc_hook_add(uc, &hh, kind, callback, user_data, begin, end) is C-variadic, but the
    binding declares these fixed argtypes (callback is a c_void_p, so a raw C address passes
    straight through). begin=1 > end=0 means every address. Returns the hook handle.
    """
    handle = _ucmod.uc_hook_h()
    status = _uclib().uc_hook_add(
        uc._uch,
        ctypes.byref(handle),
        kind,
        ctypes.c_void_p(callback),
        user_data,
        ctypes.c_uint64(1),
        ctypes.c_uint64(0),
    )
    if status != unicorn.UC_ERR_OK:
        raise unicorn.UcError(status)
    return int(handle.value)


class StepCounterStruct(ctypes.Structure):
    """ctypes mirror of ``flexemu_step_counter`` in step_counter.c (keep in sync)."""

    _fields_ = (
        ("hooked", ctypes.c_uint64),  # number of hook calls so far
        ("limit", ctypes.c_uint64),  # stop once hooked exceeds this
        # addresses[hooked & 1]: the most recent hook call, the other one: the call before it
        ("addresses", ctypes.c_uint64 * 2),
        ("stop", ctypes.c_void_p),  # uc_emu_stop
        ("mem_read", ctypes.c_void_p),  # uc_mem_read
        ("reg_read", ctypes.c_void_p),  # uc_reg_read
        ("code", ctypes.c_void_p),  # the CodeGuard table, or NULL
        ("stop_reason", ctypes.c_uint32),  # STOP_* of the stop the hook requested
        ("prev_word", ctypes.c_uint8 * 4),  # bytes at prev_address when the limit stopped the run
    )


if ctypes.sizeof(StepCounterStruct) != _step_counter.struct_size():  # pragma: no cover
    raise ImportError("StepCounterStruct does not match the C struct layout")


def _lazy_table(size: int) -> tuple[mmap.mmap, memoryview, int]:
    """A zero-filled anonymous mapping that takes memory only where written, its view and
    its address (for the native hooks)."""
    table = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_NORESERVE)
    return table, memoryview(table), ctypes.addressof(ctypes.c_char.from_buffer(table))


class CodeGuard:
    """The flags the guarded native hook reads: one byte per word of the address space.

    A lazily zero-filled 1 GiB anonymous mapping (address >> 2 indexes it), so
    the hook needs one load per instruction and only scanned pages take memory
    (1 KiB each). Zero is STOP: every page starts not runnable. See step_counter.c.
    """

    def __init__(self, blocks: bool = False) -> None:
        """`blocks`: also keep, per word, what the block hook needs (`runs`, `targets`)."""
        self._map, self._view, self._address = _lazy_table(GUARD_BYTES)
        self._pages: set[int] = set()
        self.blocks = blocks
        if blocks:
            self._runs, self._runs_view, self.runs_address = _lazy_table(GUARD_BYTES)
            self._targets, self._targets_view, self.targets_address = _lazy_table(4 * GUARD_BYTES)

    @property
    def address(self) -> int:
        return self._address

    def allows(self, page: int) -> bool:
        return page in self._pages

    def allow(self, page: int, flags: bytes, runs: bytes = b"", targets: bytes = b"") -> None:
        """Let unicorn run `page` under `flags` (one byte per word, see decode.word_flag);
        in block mode also its `runs` and `targets` (decode.page_runs, decode.page_targets)."""
        if len(flags) != WORDS_PER_PAGE or not 0 <= page < GUARD_USER_PAGES:
            raise ValueError(f"bad guard entry for page {page:#x}")
        start = page * WORDS_PER_PAGE
        if self.blocks:
            if len(runs) != WORDS_PER_PAGE or len(targets) != PAGE_BYTES:
                raise ValueError(f"bad block entry for page {page:#x}")
            self._runs_view[start : start + WORDS_PER_PAGE] = runs
            self._targets_view[4 * start : 4 * start + PAGE_BYTES] = targets
        self._view[start : start + WORDS_PER_PAGE] = flags
        self._pages.add(page)

    def revoke(self, page: int) -> bool:
        """Stop unicorn running `page`; True if it was allowed."""
        if page not in self._pages:
            return False
        start = page * WORDS_PER_PAGE
        self._view[start : start + WORDS_PER_PAGE] = bytes(WORDS_PER_PAGE)
        if self.blocks:
            self._runs_view[start : start + WORDS_PER_PAGE] = bytes(WORDS_PER_PAGE)
        self._pages.discard(page)
        return True

    def run(self, address: int) -> int:
        """Block mode: the run byte of the word at `address` (0 unless its page is allowed)."""
        return self._runs_view[(address & 0xFFFF_FFFF) >> 2] if self.blocks else 0

    def flag(self, address: int) -> int:
        """The flag of the word at `address`."""
        return self._view[(address & 0xFFFF_FFFF) >> 2]

    def pages(self) -> list[int]:
        return sorted(self._pages)


@dataclass(frozen=True)
class RunResult:
    """Counters after one ``StepCounter.run``; ``executed`` is the number to use."""

    hooked: int
    limit: int
    last_address: int
    prev_address: int
    prev_word: int  # big-endian word at prev_address, captured at a limit stop
    final_pc: int
    stop_reason: int = STOP_NONE
    prev_is_delay_branch: bool = False  # the word at prev_address has a delay slot

    @property
    def guard_stop(self) -> bool:
        """True when the guard stopped the run before the word at ``last_address``."""
        return self.stop_reason == STOP_GUARD

    @property
    def limit_hit(self) -> bool:
        """True when our hook stopped the run (hook call ``limit + 1`` happened)."""
        return self.hooked > self.limit

    @property
    def stopped_in_delay_slot(self) -> bool:
        """True when the limit stop landed on a delay slot, which unicorn then ran."""
        return (
            self.limit_hit
            and self.hooked >= 2  # prev_address was hooked (and executed) in this run
            and self.last_address == self.prev_address + 4
            and self.prev_is_delay_branch
        )

    @property
    def executed(self) -> int:
        """Exact number of instructions the run executed.

        A limit stop skips the last hooked instruction unless it is a delay
        slot. Any other stop (``emu_stop`` from an interrupt hook, ``until``)
        comes after the last hooked instruction completed.
        """
        if self.guard_stop or (self.limit_hit and not self.stopped_in_delay_slot):
            return self.hooked - 1
        return self.hooked


class StepCounter:
    """Native per-instruction counter attached to one ``unicorn.Uc``.

    Create it once per ``Uc``; call ``run`` as often as needed (each run
    resumes exactly where the previous one stopped); ``close`` removes the
    hook. ``hooked`` / ``last_address`` can be read, and ``limit`` written,
    from other hooks during a run.
    """

    def __init__(
        self,
        uc: unicorn.Uc,
        guard: CodeGuard | None = None,
        delay_branch: DelayBranch | None = None,
        *,
        pc_register: int,
    ) -> None:
        """`pc_register` is the ISA's unicorn id of the pc (read into `RunResult.final_pc`);
        `delay_branch` and `guard` are for an ISA with delay slots (MIPS)."""
        lib = _uclib()
        self._pc_register = pc_register
        self._delay_branch = delay_branch
        self._uc = uc
        self._lib = lib
        self.struct = StepCounterStruct()
        self.struct.stop = ctypes.cast(lib.uc_emu_stop, ctypes.c_void_p).value
        self.struct.mem_read = ctypes.cast(lib.uc_mem_read, ctypes.c_void_p).value
        self.struct.reg_read = ctypes.cast(lib.uc_reg_read, ctypes.c_void_p).value
        self.struct.code = guard.address if guard is not None else None
        self.guard = guard  # kept alive as long as the hook may read it
        callback = (
            _step_counter.callback_address()
            if guard is None
            else _step_counter.guarded_callback_address()
        )
        self.struct.limit = _NO_LIMIT
        # The hook keeps a raw pointer to self.struct: both live as long as self.
        self._user_data = ctypes.cast(ctypes.pointer(self.struct), ctypes.c_void_p)
        self._handle: int | None = add_native_hook(
            uc, unicorn.UC_HOOK_CODE, callback, self._user_data
        )

    @property
    def hooked(self) -> int:
        """Hook calls so far in this run; inside a syscall hook this is the executed count."""
        return int(self.struct.hooked)

    @property
    def last_address(self) -> int:
        """Address of the most recent hook call (the syscall, inside a syscall hook)."""
        s = self.struct
        return int(s.addresses[s.hooked & 1])

    @property
    def prev_address(self) -> int:
        """Address of the hook call before the most recent one."""
        s = self.struct
        return int(s.addresses[(s.hooked - 1) & 1])

    @property
    def limit(self) -> int:
        """Stop once ``hooked`` exceeds this; set it to ``hooked`` to stop before the next one."""
        return int(self.struct.limit)

    @limit.setter
    def limit(self, value: int) -> None:
        self.struct.limit = value

    def run(self, uc: unicorn.Uc, begin_pc: int, limit: int) -> RunResult:
        """Run from ``begin_pc`` until ``limit`` instructions ran or something else stops it.

        ``until=0`` and ``count=0``: our hook is the only limit (unicorn then
        adds no count hook of its own). One more instruction runs when the
        limit lands on a branch (its delay slot); ``RunResult.executed`` says.
        """
        if uc is not self._uc:
            raise ValueError("StepCounter belongs to another Uc instance")
        if self._handle is None:
            raise RuntimeError("StepCounter is closed")
        s = self.struct
        s.limit = limit
        s.hooked = 0
        s.stop_reason = STOP_NONE
        s.addresses[0] = s.addresses[1] = begin_pc
        ctypes.memset(s.prev_word, 0, 4)
        uc.emu_start(begin_pc, 0, count=0)
        prev_word = int.from_bytes(bytes(s.prev_word), "big")
        return RunResult(
            hooked=int(s.hooked),
            limit=int(s.limit),
            last_address=self.last_address,
            prev_address=self.prev_address,
            prev_word=prev_word,
            final_pc=uc.reg_read(self._pc_register),
            stop_reason=int(s.stop_reason),
            prev_is_delay_branch=self._delay_branch is not None and self._delay_branch(prev_word),
        )

    def close(self) -> None:
        """Remove the hook (idempotent); ``struct`` stays readable."""
        if self._handle is not None:
            status = self._lib.uc_hook_del(self._uc._uch, _ucmod.uc_hook_h(self._handle))
            self._handle = None
            if status != unicorn.UC_ERR_OK:
                raise unicorn.UcError(status)

    def __enter__(self) -> StepCounter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
