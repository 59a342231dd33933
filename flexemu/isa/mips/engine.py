"""The fast engine: unicorn fast-forwards the reference semantics, never decides them.

Unicorn runs count-limited chunks under a native step counter (exact counts
across delay slots, see `flexemu.native.step_counter`). Syscalls are
executed inside its interrupt hook by the reference `step` itself, over
unicorn's memory. Any other exception (a trap, an FPU instruction, a
misaligned or kernel address, ...) hands that one instruction to the
reference, which decides whether it panics. A state unicorn cannot hold
(inside a taken branch's delay slot, a nullified slot) is also stepped by
the reference until it can.

Code is guarded (docs/spec.md, "The fast engine"): unicorn runs only pages
the engine scanned with the reference's decoder (`flexemu.isa.mips.decode`), and
the native counter stops before every word unicorn would run differently,
which the reference then steps. Scanned pages are mapped read+execute (W^X):
a store to one faults, the reference takes that step, and the page drops
back to read+write with its translations flushed until unicorn executes from
it again and it is rescanned. So unicorn never runs a stale translation of
self-modifying code, never fetches from a kernel, odd or misaligned address,
and every stop leaves a state whose step count, pc and next_pc are exact.

Unicorn's CPU is a 24Kc (MIPS32r2 without FPU) in its reset state, pages are
mapped lazily on first touch, and unmapped memory reads as zero, like the
Merkle tree's memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from unicorn import (
    UC_ARCH_MIPS,
    UC_HOOK_INTR,
    UC_HOOK_MEM_UNMAPPED,
    UC_HOOK_MEM_WRITE_PROT,
    UC_MEM_FETCH_UNMAPPED,
    UC_MODE_BIG_ENDIAN,
    UC_MODE_MIPS32,
    UC_PROT_ALL,
    UC_PROT_EXEC,
    UC_PROT_READ,
    Uc,
    UcError,
)
from unicorn import mips_const as mc

from flexemu.isa.description import Progress, steps_per_run
from flexemu.isa.mips.bits import u32
from flexemu.isa.mips.decode import JUMP, RUN, STOP, is_delay_branch, page_flags, runnable_address
from flexemu.isa.mips.state import State, Status
from flexemu.isa.mips.step import step
from flexemu.isa.mips.unicorn_context import ReservationWindow
from flexemu.memory import Memory
from flexemu.merkle import LEAF_BYTES, PAGE_BYTES, PAGE_SHIFT
from flexemu.native.step_counter import CodeGuard, StepCounter

SYSCALL_INTERRUPT = 17
_GPRS = [getattr(mc, f"UC_MIPS_REG_{i}") for i in range(32)]



@dataclass(frozen=True)
class Position:
    """Where the native counter was when an instruction faulted (see `_fail_access`)."""

    hooked: int  # hook calls so far, the faulting instruction's included
    address: int  # the faulting instruction
    previous: int  # the instruction hooked before it (its branch, if it is a delay slot)


class UnicornIO:
    """`LeafIO` over unicorn's memory, for reference steps taken inside the engine."""

    def __init__(self, engine: FastEngine) -> None:
        self._engine = engine

    def read_leaf(self, index: int) -> bytes:
        paddr = index * LEAF_BYTES
        self._engine.ensure_mapped(paddr)
        return bytes(self._engine.uc.mem_read(paddr, LEAF_BYTES))

    def write_leaf(self, index: int, data: bytes) -> None:
        paddr = index * LEAF_BYTES
        self._engine.ensure_mapped(paddr)
        self._engine.make_writable(paddr >> PAGE_SHIFT)
        self._engine.uc.mem_write(paddr, data)

    def input_leaf(self, index: int) -> bytes:
        return self._engine.input_memory.leaf(index)

    def emit(self, fd: int, data: bytes) -> None:
        self._engine.output.append((fd, data))


class FastEngine:
    """One unicorn instance holding a machine state at a known step."""

    def __init__(self, state: State, pages: Mapping[int, bytes], input_memory: Memory) -> None:
        self.state = state.copy()
        self.input_memory = input_memory
        self.output: list[tuple[int, bytes]] = []
        self.io = UnicornIO(self)
        self._fault = False
        self._fault_at: Position | None = None
        self._chunk_base = 0
        self._create(pages)

    def _create(self, pages: Mapping[int, bytes]) -> None:
        """A fresh unicorn holding `pages` and the state's registers."""
        self.uc = Uc(UC_ARCH_MIPS, UC_MODE_MIPS32 | UC_MODE_BIG_ENDIAN)
        self.uc.ctl_set_cpu_model(mc.UC_CPU_MIPS32_24KC)
        self.mapped: set[int] = set()
        for number, data in pages.items():
            self._map(number)
            self.uc.mem_write(number << PAGE_SHIFT, bytes(data))
        self.guard = CodeGuard()
        self.counter = StepCounter(
            self.uc, self.guard, is_delay_branch, pc_register=mc.UC_MIPS_REG_PC
        )
        self.uc.hook_add(UC_HOOK_MEM_UNMAPPED, self._on_unmapped)
        self.uc.hook_add(UC_HOOK_MEM_WRITE_PROT, self._on_write_protected)
        self.uc.hook_add(UC_HOOK_INTR, self._on_interrupt)
        # The CPU as created: no branch pending. `_after_event` returns to it after a fault in
        # a delay slot (then pushes the state's registers again).
        self._clean_cpu = self.uc.context_save()
        self._reservation = ReservationWindow(self.uc)
        self._push(reservation=True)

    # ------------------------------------------------------------ memory

    def _map(self, number: int) -> None:
        self.uc.mem_map(number << PAGE_SHIFT, PAGE_BYTES)
        self.mapped.add(number)

    def ensure_mapped(self, paddr: int) -> None:
        number = paddr >> PAGE_SHIFT
        if number not in self.mapped:
            self._map(number)

    def _on_unmapped(
        self, uc: Uc, access: int, address: int, size: int, value: int, _: object
    ) -> bool:
        if address >= 0xC0000000:
            return self._fail_access()  # kseg2/3: the reference panics
        physical = address & 0x1FFFFFFF if address >= 0x80000000 else address
        first, last = physical >> PAGE_SHIFT, (physical + max(size, 1) - 1) >> PAGE_SHIFT
        for number in range(first, last + 1):
            self.ensure_mapped(number << PAGE_SHIFT)
        if access == UC_MEM_FETCH_UNMAPPED:
            # Translating the next block, after the last hooked instruction
            # completed: retrying is exact, and the guard stops before any
            # instruction of the (unscanned) page.
            return True
        # Retrying a faulted access inside a delay slot leaves unicorn's branch
        # flags set, and it then runs the branch target twice. Fail it instead:
        # the reference takes that step and the engine is rebuilt afterwards.
        if self._in_delay_slot(self._position()):
            return self._fail_access()
        return True

    def _on_write_protected(
        self, uc: Uc, access: int, address: int, size: int, value: int, _: object
    ) -> bool:
        """A store to a page unicorn runs code from: the reference takes that step."""
        return self._fail_access()

    def _position(self) -> Position:
        counter = self.counter
        return Position(counter.hooked, counter.last_address, counter.prev_address)

    def _fail_access(self) -> bool:
        """Fail the access being made, and let nothing run after its instruction.

        Unicorn finishes a store made byte by byte (SWL, SWR) after a failed
        byte and reports the error only after the next instruction ran, so the
        position is taken here, at the first failure, and the counter's limit
        stops the run before the next instruction.
        """
        if self._fault_at is None:
            self._fault_at = self._position()
            self.counter.limit = self.counter.hooked
        return False

    # ------------------------------------------------------------ code guard

    def make_runnable(self, number: int) -> None:
        """Scan page `number` and let unicorn run it; its stores fault from now on."""
        if self.guard.allows(number):
            return
        base = number << PAGE_SHIFT
        self.ensure_mapped(base)
        flags = page_flags(base, bytes(self.uc.mem_read(base, PAGE_BYTES)))
        self.uc.ctl_remove_cache(base, base + PAGE_BYTES)
        self.uc.mem_protect(base, PAGE_BYTES, UC_PROT_READ | UC_PROT_EXEC)
        self.guard.allow(number, flags)

    def make_writable(self, number: int) -> None:
        """Page `number` is about to change: unicorn stops running it and forgets its code."""
        if self.guard.revoke(number):
            base = number << PAGE_SHIFT
            self.uc.mem_protect(base, PAGE_BYTES, UC_PROT_ALL)
            self.uc.ctl_remove_cache(base, base + PAGE_BYTES)

    def pages(self) -> dict[int, bytes]:
        """The contents of every page unicorn holds (all other memory is zero)."""
        return {n: bytes(self.uc.mem_read(n << PAGE_SHIFT, PAGE_BYTES)) for n in self.mapped}

    # ------------------------------------------------------------ registers

    def _push(self, reservation: bool = False) -> None:
        """Write the state's registers into unicorn; the reservation only outside a run."""
        uc, state = self.uc, self.state
        if reservation:
            self._reservation.write(state.ll_addr, state.ll_value)
        for index in range(1, 32):
            uc.reg_write(_GPRS[index], state.regs[index])
        uc.reg_write(mc.UC_MIPS_REG_HI, state.hi)
        uc.reg_write(mc.UC_MIPS_REG_LO, state.lo)
        uc.reg_write(mc.UC_MIPS_REG_CP0_USERLOCAL, state.tls)
        uc.reg_write(mc.UC_MIPS_REG_PC, state.pc)

    def _pull(self, pc: int) -> None:
        uc, state = self.uc, self.state
        state.regs = [0] + [uc.reg_read(_GPRS[index]) for index in range(1, 32)]
        state.hi = uc.reg_read(mc.UC_MIPS_REG_HI)
        state.lo = uc.reg_read(mc.UC_MIPS_REG_LO)
        state.pc, state.next_pc = pc, (pc + 4) & 0xFFFFFFFF
        state.ll_addr, state.ll_value = self._reservation.read()

    # ------------------------------------------------------------ running

    def _can_run_unicorn(self) -> bool:
        """May unicorn start at the state's pc? Scans its page first if needed."""
        state, pc = self.state, self.state.pc
        if state.next_pc != u32(pc + 4) or not runnable_address(pc):
            return False
        self.make_runnable(pc >> PAGE_SHIFT)
        flag = self.guard.flag(pc)
        if flag in (RUN, STOP):
            return flag == RUN
        # A JR/JALR: the hook lets it run if its target's flag is not STOP (the rule in
        # step_counter.c), so scan the target's page now and apply the same rule.
        target = state.regs[flag - JUMP]
        if not runnable_address(target):
            return False
        self.make_runnable(target >> PAGE_SHIFT)
        return self.guard.flag(target) != STOP

    def reference_step(self) -> None:
        """One step by the reference; unicorn then gets what the step changed.

        Unicorn holds the state's registers before the step (every path here pulls or
        pushes first), so writing only the fields that differ, and the pc, leaves it
        equal to a full push at a fraction of the cost (~35 register writes and two
        context copies per step: the steps at chunk ends, syscalls, guarded words).
        """
        state = self.state
        regs, hi, lo, tls = list(state.regs), state.hi, state.lo, state.tls
        reservation = (state.ll_addr, state.ll_value)
        step(state, self.io)
        uc = self.uc
        for index in range(1, 32):
            if state.regs[index] != regs[index]:
                uc.reg_write(_GPRS[index], state.regs[index])
        if state.hi != hi:
            uc.reg_write(mc.UC_MIPS_REG_HI, state.hi)
        if state.lo != lo:
            uc.reg_write(mc.UC_MIPS_REG_LO, state.lo)
        if state.tls != tls:
            uc.reg_write(mc.UC_MIPS_REG_CP0_USERLOCAL, state.tls)
        if (state.ll_addr, state.ll_value) != reservation:
            self._reservation.write(state.ll_addr, state.ll_value)
        uc.reg_write(mc.UC_MIPS_REG_PC, state.pc)

    def advance(self, target: int | None = None, progress: Progress | None = None) -> None:
        """Run until the program ends or, if given, until step `target`."""
        state = self.state
        while state.status == Status.RUNNING and (target is None or state.step < target):
            span = steps_per_run(progress)
            remaining = span if target is None else min(span, target - state.step)
            if state.pc & 1 and state.next_pc == u32(state.pc + 4):
                self._skip_nullified(remaining)
            elif remaining == 1:
                self.reference_step()
            else:
                # One step of slack: a limit that lands on a branch also runs its delay slot.
                self._run_chunk(remaining - 1 if target is not None else remaining)
            if progress is not None:
                progress(state.step)

    def _skip_nullified(self, count: int) -> None:
        """`count` steps of an odd pc with no branch pending (e.g. an odd entry point).

        The reference treats such a pc as a nullified slot: each step only
        moves pc and next_pc on by 4, and the next pc is odd again.
        """
        state = self.state
        state.pc = u32(state.pc + 4 * count)
        state.next_pc = u32(state.pc + 4)
        state.step += count

    def _run_chunk(self, limit: int) -> None:
        """Take at least one and at most `limit` steps (plus a delay slot), unicorn permitting."""
        if not self._can_run_unicorn():
            self.reference_step()
            return
        state = self.state
        self._fault = False
        self._fault_at = None
        self._chunk_base = state.step
        try:
            result = self.counter.run(self.uc, state.pc, limit)
            executed = result.executed
            # After a guard stop the PC register may still read the start address.
            pc = result.last_address if result.guard_stop else self.uc.reg_read(mc.UC_MIPS_REG_PC)
        except UcError:
            self._fault = True
        if self._fault or self._fault_at is not None or state.status != Status.RUNNING:
            self._after_event()
            return
        self._pull(pc)
        state.step = self._chunk_base + executed

    def _on_interrupt(self, uc: Uc, number: int, _: object) -> None:
        counter = self.counter
        address = counter.last_address
        if number != SYSCALL_INTERRUPT or self._in_delay_slot(self._position()):
            self._fail_access()
            uc.emu_stop()
            return
        # The syscall was hooked and has not changed anything yet: replay it in the reference.
        self._pull(address)
        self.state.step = self._chunk_base + counter.hooked - 1
        step(self.state, self.io)
        self._push()
        if self.state.status != Status.RUNNING:
            uc.emu_stop()

    def _in_delay_slot(self, at: Position) -> bool:
        if at.hooked < 2 or at.previous != at.address - 4:
            return False
        return is_delay_branch(int.from_bytes(self.uc.mem_read(at.previous, 4), "big"))

    def _after_event(self) -> None:
        """Unicorn stopped on an exception or an exit: set the exact state, then step it."""
        state = self.state
        if state.status != Status.RUNNING:  # exit inside the syscall hook
            return
        at = self._fault_at or self._position()
        self._pull(at.address)
        state.step = self._chunk_base + at.hooked - 1  # the faulting instruction did not run
        in_delay_slot = self._in_delay_slot(at)
        if in_delay_slot:
            self._resolve_delay_slot(at.previous)
        self.reference_step()
        if in_delay_slot:
            # A fault in a delay slot leaves stale branch state in unicorn's CPU (its hflags and
            # branch target): go back to the CPU as created, then push the state. Memory, the
            # guard and the translations stay (rebuilding the whole unicorn cost ~10 ms).
            self.uc.context_restore(self._clean_cpu)
            self._push(reservation=True)

    def _resolve_delay_slot(self, branch: int) -> None:
        """Recover next_pc for a fault in a delay slot by re-evaluating its branch.

        The branch already ran, so its link register is written; evaluating it
        again writes the same link and yields the same target. The UNPREDICTABLE
        forms whose condition or target register is their own link register
        would not, but the code guard never lets unicorn run them.
        """
        probe = self.state.copy()
        probe.pc, probe.next_pc = branch, (branch + 4) & 0xFFFFFFFF
        step(probe, self.io)
        self.state.next_pc = probe.next_pc
        self.state.regs = probe.regs
