"""The RISC-V fast engine: unicorn fast-forwards the reference semantics, never decides them.

Unicorn runs count-limited chunks under the native step counter (one C callback
per instruction, no Python on the hot path; it gives the exact count when a run
stops early). It stops, without executing it, before:

- every instruction not on the whitelist of `scan` (CSRs, FP arithmetic and
  moves, lr/sc, ebreak, privileged and reserved encodings, ...): unicorn
  "exits" (`ctl_set_exits`) at each flagged address of each code page;
- an ecall (interrupt 8), an illegal instruction (interrupt 2), ebreak, and a
  load or store outside the 32-bit space.

That one instruction is then taken by the reference `step` over unicorn's
memory, and unicorn resumes after it. Code pages are found by W^X page modes:
every page starts readable and writable but not executable; the first fetch
from it faults, the engine scans it and makes it read+execute; a store to it
faults, the engine makes it writable again and drops its translations, so
self-modifying code is rescanned (unicorn alone would run stale translations).

Unicorn's CPU is a SiFive U54 (RV64GC) or U34 (RV32GC) in machine mode with
mstatus.FS on, so that fld/fsd (and their compressed forms) move data instead of
running as no-ops. Unicorn never executes lr or sc, so it never holds a
reservation: the reservation lives only in the witness. Facts this relies on
are pinned in tests/test_unicorn_riscv_facts.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from unicorn import (
    UC_ARCH_RISCV,
    UC_ERR_FETCH_PROT,
    UC_ERR_FETCH_UNMAPPED,
    UC_HOOK_INTR,
    UC_HOOK_MEM_FETCH_PROT,
    UC_HOOK_MEM_FETCH_UNMAPPED,
    UC_HOOK_MEM_READ_UNMAPPED,
    UC_HOOK_MEM_WRITE_PROT,
    UC_HOOK_MEM_WRITE_UNMAPPED,
    UC_MODE_RISCV32,
    UC_MODE_RISCV64,
    UC_PROT_EXEC,
    UC_PROT_READ,
    UC_PROT_WRITE,
    Uc,
    UcError,
)
from unicorn import riscv_const as rc

from flexemu.isa.description import Progress, steps_per_run
from flexemu.isa.riscv.io import ADDRESS_LIMIT
from flexemu.isa.riscv.scan import flagged_offsets
from flexemu.isa.riscv.state import RiscvState
from flexemu.isa.riscv.step import step as reference_step
from flexemu.memory import Memory
from flexemu.merkle import LEAF_BYTES, PAGE_BYTES, PAGE_SHIFT
from flexemu.native.step_counter import StepCounter
from flexemu.status import Status

MSTATUS_FS_DIRTY = 3 << 13
INTERRUPT_ECALL = 8
CPU_MODELS = {64: rc.UC_CPU_RISCV64_SIFIVE_U54, 32: rc.UC_CPU_RISCV32_SIFIVE_U34}
MODES = {64: UC_MODE_RISCV64, 32: UC_MODE_RISCV32}
_X = [getattr(rc, f"UC_RISCV_REG_X{i}") for i in range(32)]
_F = [getattr(rc, f"UC_RISCV_REG_F{i}") for i in range(32)]
_RW = UC_PROT_READ | UC_PROT_WRITE
_RX = UC_PROT_READ | UC_PROT_EXEC

Step = Callable[[RiscvState, object], None]


class UnicornLeafIO:
    """`LeafIO` over unicorn's memory, for reference steps taken inside the engine."""

    def __init__(self, engine: RiscvEngine) -> None:
        self._engine = engine

    def read_leaf(self, index: int) -> bytes:
        address = index * LEAF_BYTES
        if address >> PAGE_SHIFT not in self._engine.mapped:
            return bytes(LEAF_BYTES)
        return bytes(self._engine.uc.mem_read(address, LEAF_BYTES))

    def write_leaf(self, index: int, data: bytes) -> None:
        address = index * LEAF_BYTES
        self._engine.make_writable(address >> PAGE_SHIFT)
        self._engine.uc.mem_write(address, data)

    def input_leaf(self, index: int) -> bytes:
        return self._engine.input_memory.leaf(index)

    def emit(self, fd: int, data: bytes) -> None:
        self._engine.output.append((fd, data))


class RiscvEngine:
    """One unicorn instance holding a RISC-V machine state at a known step."""

    def __init__(
        self,
        state: RiscvState,
        pages: Mapping[int, bytes],
        input_memory: Memory,
        step: Step = reference_step,
    ) -> None:
        self.state = state.copy()
        self.xlen = state.xlen
        self.input_memory = input_memory
        self.output: list[tuple[int, bytes]] = []
        self.io = UnicornLeafIO(self)
        self._step = step
        self.uc = Uc(UC_ARCH_RISCV, MODES[self.xlen])
        self.uc.ctl_set_cpu_model(CPU_MODELS[self.xlen])
        self.uc.reg_write(rc.UC_RISCV_REG_MSTATUS, MSTATUS_FS_DIRTY)
        self.mapped: set[int] = set()
        self.code: dict[int, list[int]] = {}  # executable page -> its flagged addresses
        for number, data in pages.items():
            self._map(number)
            self.uc.mem_write(number << PAGE_SHIFT, bytes(data))
        self.uc.ctl_exits_enabled(True)
        self._sync_exits()
        self.counter = StepCounter(self.uc, pc_register=rc.UC_RISCV_REG_PC)
        self._interrupt: int | None = None
        self._fault_address = 0
        self.uc.hook_add(UC_HOOK_MEM_READ_UNMAPPED | UC_HOOK_MEM_WRITE_UNMAPPED, self._on_unmapped)
        self.uc.hook_add(
            UC_HOOK_MEM_FETCH_UNMAPPED | UC_HOOK_MEM_FETCH_PROT | UC_HOOK_MEM_WRITE_PROT,
            self._on_protection,
        )
        self.uc.hook_add(UC_HOOK_INTR, self._on_interrupt)
        self._push()

    # ------------------------------------------------------------ memory

    def _map(self, number: int) -> None:
        self.uc.mem_map(number << PAGE_SHIFT, PAGE_BYTES, _RW)
        self.mapped.add(number)

    def _on_unmapped(
        self, uc: Uc, access: int, address: int, size: int, value: int, _: object
    ) -> bool:
        """Map the pages of a load or store in the 32-bit space; refuse any other."""
        if address + size > ADDRESS_LIMIT:
            return False  # the reference panics
        for number in range(address >> PAGE_SHIFT, ((address + size - 1) >> PAGE_SHIFT) + 1):
            if number not in self.mapped:
                self._map(number)
        return True

    def _on_protection(
        self, uc: Uc, access: int, address: int, size: int, value: int, _: object
    ) -> bool:
        """A fetch from a data page or a store to a code page: handled after the run stops."""
        self._fault_address = address
        return False  # page modes cannot change inside this hook (unicorn crashes)

    def _scan(self, number: int) -> None:
        base = number << PAGE_SHIFT
        code = bytes(self.uc.mem_read(base, PAGE_BYTES))
        following = b"\0\0"
        if number + 1 in self.mapped:
            following = bytes(self.uc.mem_read(base + PAGE_BYTES, 2))
        self.code[number] = [base + o for o in flagged_offsets(code, following, self.xlen)]

    def _make_executable(self, number: int) -> None:
        """Scan a page that is about to run and make it read+execute."""
        if number not in self.mapped:
            self._map(number)
        self._scan(number)
        if number - 1 in self.code:  # its last parcel may start an instruction ending here
            self._scan(number - 1)
        self.uc.mem_protect(number << PAGE_SHIFT, PAGE_BYTES, _RX)
        self._sync_exits()

    def make_writable(self, number: int) -> None:
        """Before a store to a page: map it, or turn a code page back into data."""
        if number not in self.mapped:
            self._map(number)
        elif number in self.code:
            del self.code[number]
            base = number << PAGE_SHIFT
            self.uc.mem_protect(base, PAGE_BYTES, _RW)
            self.uc.ctl_remove_cache(base, base + PAGE_BYTES)
            self._sync_exits()

    def _sync_exits(self) -> None:
        exits = [address for flagged in self.code.values() for address in flagged]
        self.uc.ctl_set_exits(exits or [ADDRESS_LIMIT << 1])  # never reached: not a valid pc

    def pages(self) -> dict[int, bytes]:
        """The contents of every page unicorn holds (all other memory is zero)."""
        return {n: bytes(self.uc.mem_read(n << PAGE_SHIFT, PAGE_BYTES)) for n in self.mapped}

    def flagged(self, address: int) -> bool:
        flagged = self.code.get(address >> PAGE_SHIFT)
        return flagged is not None and address in flagged

    # ------------------------------------------------------------ registers

    def _push(self) -> None:
        uc, state = self.uc, self.state
        for index in range(1, 32):
            uc.reg_write(_X[index], state.x[index])
        for index in range(32):
            uc.reg_write(_F[index], state.f[index])
        uc.reg_write(rc.UC_RISCV_REG_PC, state.pc)

    def _pull(self, pc: int) -> None:
        uc, state = self.uc, self.state
        state.x = [0] + [uc.reg_read(_X[index]) for index in range(1, 32)]
        state.f = [uc.reg_read(_F[index]) for index in range(32)]
        state.pc = pc

    # ------------------------------------------------------------ running

    def reference_step(self) -> None:
        self._step(self.state, self.io)
        self._push()

    def advance(self, target: int | None = None, progress: Progress | None = None) -> None:
        """Run until the program ends or, if given, until step `target`."""
        state = self.state
        while state.status == Status.RUNNING and (target is None or state.step < target):
            span = steps_per_run(progress)
            remaining = span if target is None else min(span, target - state.step)
            if self.flagged(state.pc) or state.pc + 4 > ADDRESS_LIMIT:
                self.reference_step()
            else:
                self._run_chunk(remaining)
            if progress is not None:
                progress(state.step)

    def _run_chunk(self, limit: int) -> None:
        """Run up to `limit` steps in unicorn; take the instruction it stopped before, if any."""
        state, counter = self.state, self.counter
        base = state.step
        self._interrupt = None
        error = None
        try:
            counter.run(self.uc, state.pc, limit)
        except UcError as caught:
            error = caught.errno
        hooked = counter.hooked
        if error in (UC_ERR_FETCH_PROT, UC_ERR_FETCH_UNMAPPED):
            # The fetch of the next instruction faulted: everything hooked ran.
            self._pull(self.uc.reg_read(rc.UC_RISCV_REG_PC))
            state.step = base + hooked
            page = self._fault_address >> PAGE_SHIFT
            if self._fault_address < ADDRESS_LIMIT and page not in self.code:
                self._make_executable(page)
            elif hooked < limit:
                self.reference_step()  # the reference decides (a fetch past 2^32 panics)
            return
        if hooked == 0:  # stopped before anything was hooked: the reference takes the first
            self.reference_step()
            return
        if error is not None or self._interrupt is not None or hooked > limit:
            # Stopped before (limit) or inside (ecall, exception) instruction number `hooked`:
            # its effects, if any, are replayed by the reference from the state before it.
            self._pull(counter.last_address)
            state.step = base + hooked - 1
            if hooked <= limit:
                # ecall, an exception, or a store to a code page: the reference's store turns
                # the page into data (it cannot become data while it runs in unicorn).
                self.reference_step()
            return
        # Stopped at an exit: a flagged instruction, not executed; take it if the limit allows.
        self._pull(self.uc.reg_read(rc.UC_RISCV_REG_PC))
        state.step = base + hooked
        if hooked < limit:
            self.reference_step()

    def _on_interrupt(self, uc: Uc, number: int, _: object) -> None:
        self._interrupt = number
        uc.emu_stop()
