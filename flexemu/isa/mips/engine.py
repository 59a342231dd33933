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

import struct
from collections.abc import Mapping
from dataclasses import dataclass

from unicorn import (
    UC_ARCH_MIPS,
    UC_HOOK_INTR,
    UC_HOOK_MEM_UNMAPPED,
    UC_HOOK_MEM_WRITE_PROT,
    UC_MEM_FETCH_UNMAPPED,
    UC_MEM_WRITE_PROT,
    UC_MEM_WRITE_UNMAPPED,
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
from flexemu.isa.mips.decode import (
    BLOCK_STOP,
    JUMP,
    MAX_BLOCK_RUN,
    NO_FALL_THROUGH,
    STOP,
    accesses,
    is_delay_branch,
    page_flags,
    page_runs,
    page_targets,
    runnable_address,
)
from flexemu.isa.mips.state import State, Status
from flexemu.isa.mips.step import step
from flexemu.isa.mips.unicorn_context import ReservationWindow
from flexemu.memory import Memory
from flexemu.merkle import LEAF_BYTES, PAGE_BYTES, PAGE_SHIFT
from flexemu.native.block_counter import STOP_GUARD, BlockCounter, BlockRun
from flexemu.native.step_counter import CodeGuard, StepCounter

SYSCALL_INTERRUPT = 17
#: Block mode gives way to the per-instruction counter once the block hook has refused at
#: least MIN_REFUSALS blocks at fewer than STEPS_PER_REFUSAL steps each on average: each
#: refusal costs a unicorn stop and a few reference steps (~20 us), which a per-instruction
#: hook (~5 ns a step) repays within a few thousand steps.
MIN_REFUSALS = 256
STEPS_PER_REFUSAL = 4096
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
    """One unicorn instance holding a machine state at a known step.

    `blocks`: count whole translation blocks (`flexemu.native.block_counter`) instead of
    single instructions. Every count stays exact: what a block hook cannot admit whole is
    stepped by the reference, and an exception whose position inside a block is lost
    (anything but a syscall or a memory fault: in practice a panic) makes the engine run
    again from where it was created, per instruction, which stops exactly.
    """

    def __init__(
        self,
        state: State,
        pages: Mapping[int, bytes],
        input_memory: Memory,
        *,
        blocks: bool = False,
    ) -> None:
        self.state = state.copy()
        self.input_memory = input_memory
        self.output: list[tuple[int, bytes]] = []
        self.io = UnicornIO(self)
        self._fault = False
        self._fault_at: Position | None = None
        self._lost = False
        self._access: tuple[int, int] | None = None
        self._chunk_base = 0
        self.blocks = blocks
        self.replays = 0  # how often block mode lost a position and ran again per instruction
        self._guard_refusals = 0
        self.revoked = 0  # pages made writable again so far
        self._origin_step = state.step
        # Where a replay starts: the state and pages this engine was created with.
        self._origin = (state.copy(), {n: bytes(d) for n, d in pages.items()}) if blocks else None
        self._create(pages)

    def _create(self, pages: Mapping[int, bytes]) -> None:
        """A fresh unicorn holding `pages` and the state's registers."""
        self.uc = Uc(UC_ARCH_MIPS, UC_MODE_MIPS32 | UC_MODE_BIG_ENDIAN)
        self.uc.ctl_set_cpu_model(mc.UC_CPU_MIPS32_24KC)
        self.mapped: set[int] = set()
        for number, data in pages.items():
            self._map(number)
            self.uc.mem_write(number << PAGE_SHIFT, bytes(data))
        self.guard = CodeGuard(blocks=self.blocks)
        if self.blocks:
            self.block_counter = BlockCounter(self.uc, self.guard)
        else:
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
        self._access = (access, address)
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
        self._access = (access, address)
        return self._fail_access()

    def _position(self) -> Position:
        if self.blocks:
            if self._access is None:  # pragma: no cover - every block-mode caller sets it
                self._lost = True
                return Position(0, 0, 0)
            return self._access_position(*self._access)
        counter = self.counter
        return Position(counter.hooked, counter.last_address, counter.prev_address)

    def _access_position(self, access: int, address: int) -> Position:
        """Block mode: the position of the instruction whose memory access faulted.

        Unicorn's PC is not always exact inside a memory hook, so the instruction is found
        from the access itself: the words of the running block that access memory the same
        way (load or store) at the faulting word with today's registers. The faulting one is
        among them (nothing after it ran, so its operands are current); if it is not alone,
        the position is lost and the engine replays (`_replay`).
        """
        counter = self.block_counter.struct
        start, words = int(counter.block_start), int(counter.block_words)
        store = access in (UC_MEM_WRITE_UNMAPPED, UC_MEM_WRITE_PROT)
        code = bytes(self.uc.mem_read(start, 4 * words)) if words else b""
        found = [
            index
            for index, (word,) in enumerate(struct.iter_unpack(">I", code))
            if accesses(word, store, address, self._register)
        ]
        if len(found) != 1:
            self._lost = True
            return Position(0, address, address)
        return self._block_position(u32(start + 4 * found[0]))

    def _register(self, number: int) -> int:
        return self.uc.reg_read(_GPRS[number]) if number else 0

    def _block_position(self, address: int) -> Position:
        """The position of the instruction at `address` in the running block.

        Unicorn reads the PC exactly in memory hooks (a delay slot's own address) and
        as the syscall's address + 4 in a syscall's interrupt hook. Outside the block
        the position is lost (`_lost`); the returned one then says "nothing ran".
        """
        done = self.block_counter.at(address)
        if done is None:
            self._lost = True
            return Position(0, address, address)
        index = self.block_counter.block_index(address)
        return Position(done + 1, address, address - 4 if index else address)

    def _fail_access(self) -> bool:
        """Fail the access being made, and let nothing run after its instruction.

        Unicorn finishes a store made byte by byte (SWL, SWR) after a failed
        byte and reports the error only after the next instruction ran, so the
        position is taken here, at the first failure, and the counter's limit
        stops the run before the next instruction.
        """
        if self._fault_at is None:
            self._fault_at = self._position()
            if not self.blocks:  # in block mode unicorn stops at the failed access itself
                self.counter.limit = self.counter.hooked
        return False

    # ------------------------------------------------------------ code guard

    def make_runnable(self, number: int) -> None:
        """Scan page `number` and let unicorn run it; its stores fault from now on."""
        if self.guard.allows(number):
            return
        base = number << PAGE_SHIFT
        self.ensure_mapped(base)
        data = bytes(self.uc.mem_read(base, PAGE_BYTES))
        flags = page_flags(base, data)
        self.uc.ctl_remove_cache(base, base + PAGE_BYTES)
        self.uc.mem_protect(base, PAGE_BYTES, UC_PROT_READ | UC_PROT_EXEC)
        if self.blocks:
            self.guard.allow(number, flags, page_runs(data), page_targets(base, data))
        else:
            self.guard.allow(number, flags)

    def make_writable(self, number: int) -> None:
        """Page `number` is about to change: unicorn stops running it and forgets its code."""
        if self.guard.revoke(number):
            self.revoked += 1
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
        if self.blocks and not 0 < self.guard.run(pc) & ~NO_FALL_THROUGH <= MAX_BLOCK_RUN:
            return False  # unicorn may not translate the block starting here (a long run)
        flag = self.guard.flag(pc)
        if flag < JUMP or flag == BLOCK_STOP:
            return flag != STOP
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
        while self.state.status == Status.RUNNING and (
            target is None or self.state.step < target
        ):
            state = self.state  # a replay (block mode) replaces it
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
                progress(self.state.step)

    def _skip_nullified(self, count: int) -> None:
        """`count` steps of an odd pc with no branch pending (e.g. an odd entry point).

        The reference treats such a pc as a nullified slot: each step only
        moves pc and next_pc on by 4, and the next pc is odd again.
        """
        state = self.state
        state.pc = u32(state.pc + 4 * count)
        state.next_pc = u32(state.pc + 4)
        state.step += count

    def _begin_run(self) -> State:
        """Clear what the hooks record about one unicorn run; the state it starts from."""
        self._fault = False
        self._fault_at = None
        self._lost = False
        self._access = None
        self._chunk_base = self.state.step
        return self.state

    def _run_chunk(self, limit: int) -> None:
        """Take at least one and at most `limit` steps (plus a delay slot), unicorn permitting."""
        if self.blocks:
            self._run_blocks(limit)
            return
        if not self._can_run_unicorn():
            self.reference_step()
            return
        state = self._begin_run()
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

    def _run_blocks(self, limit: int) -> None:
        """Take at least one and at most `limit` steps: unicorn by whole blocks, the reference
        for what the block hook refuses (a replay goes back to the engine's origin instead)."""
        start, replays = self.state.step, self.replays
        while self.blocks and self.state.status == Status.RUNNING and self.state.step == start:
            self._run_blocks_once(limit)
            if self.replays != replays:
                return
        if self.state.status == Status.RUNNING and self.state.step == start:
            self._run_chunk(limit)  # block mode was left: go on per instruction (same contract)

    def _run_blocks_once(self, limit: int) -> None:
        if not self._can_run_unicorn():
            self.reference_step()
            return
        state = self._begin_run()
        result = None
        try:
            result = self.block_counter.run(self.uc, state.pc, limit)
        except UcError:
            self._fault = True
        if self._lost:
            self._replay()
            return
        if result is None or self._fault_at is not None or state.status != Status.RUNNING:
            self._after_event()
            return
        if not result.refused:  # pragma: no cover - only an exit (handled above) does that
            self._replay()  # unicorn stopped on its own (its `until`?): trust nothing
            return
        self._pull(result.stop_address)
        state.step = self._chunk_base + result.executed
        if result.stop_reason == STOP_GUARD:
            self._guard_refusals += 1
            ran = state.step - self._origin_step
            refusals = self._guard_refusals
            if refusals >= MIN_REFUSALS and ran < STEPS_PER_REFUSAL * refusals:
                # Code that keeps the block hook refusing (calls through a register set
                # in the same block, say) runs faster per instruction: go on that way.
                self._leave_block_mode()
                return
        self._after_refusal(result, limit - result.executed)

    def _leave_block_mode(self) -> None:
        """Go on with the per-instruction counter from the current (exact) state."""
        pages = self.pages()
        self.blocks = False
        self._create(pages)

    def _after_refusal(self, result: BlockRun, remaining: int) -> None:
        """Unicorn stopped before a block it could not admit whole: make progress past it.

        A block refused for a word or JR target on a page never scanned is retried once the
        page is scanned. Otherwise the reference steps the words the hook named: the block's
        first words up to the one it refused (or up to the last that may write a JR's
        register, so that the next block can check the jump), or up to the limit.
        """
        check = result.check_address
        if (
            result.stop_reason == STOP_GUARD
            and runnable_address(check)
            and not self.guard.allows(check >> PAGE_SHIFT)
        ):
            self.make_runnable(check >> PAGE_SHIFT)
            return
        for _ in range(min(result.step_words, remaining)):
            if self.state.status != Status.RUNNING:
                return
            self.reference_step()

    def _replay(self) -> None:
        """Block mode lost the position inside a block: run again from this engine's origin
        with the per-instruction counter, which stops exactly at the same event."""
        assert self._origin is not None
        origin, pages = self._origin
        self.blocks = False
        self._lost = False
        self.replays += 1
        self.state = origin.copy()
        self.output = []
        self._create(pages)

    def _on_interrupt(self, uc: Uc, number: int, _: object) -> None:
        if self.blocks:
            address = u32(self.uc.reg_read(mc.UC_MIPS_REG_PC) - 4)  # past a syscall
            at = self._block_position(address)
            counter = self.block_counter.struct
            if address != u32(counter.block_start + 4 * counter.block_words - 4):
                self._lost = True  # a syscall always ends its block
        else:
            address = self.counter.last_address
            at = self._position()
        if number != SYSCALL_INTERRUPT or self._lost or self._in_delay_slot(at):
            if self.blocks:
                self._lost = True  # an exception: its position in the block is lost
            else:
                self._fail_access()
            uc.emu_stop()
            return
        # The syscall was hooked and has not changed anything yet: replay it in the reference.
        self._pull(address)
        self.state.step = self._chunk_base + at.hooked - 1
        revoked = self.revoked
        step(self.state, self.io)
        self._push()
        if self.state.status != Status.RUNNING:
            uc.emu_stop()
        elif self.blocks and self.revoked != revoked:
            # The syscall wrote code (a read into a scanned page): the next block may no
            # longer be admissible, so refuse it, as a limit does (an emu_stop here would
            # let the next block's hook count it before unicorn stops).
            self.block_counter.struct.limit = self.block_counter.struct.count

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
        if self.blocks and self._lost:
            self._replay()
            return
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
