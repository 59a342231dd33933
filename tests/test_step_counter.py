"""StepCounter against a reference trace taken with a plain Python code hook.

Why: the engine trusts ``RunResult.executed`` to be the exact number of MIPS
instructions run, including when a limit lands on a branch (unicorn then also
runs the delay slot) and around syscalls handled in a UC_HOOK_INTR hook.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
import unicorn
from unicorn.mips_const import (
    UC_CPU_MIPS32_24KC,
    UC_MIPS_REG_0,
    UC_MIPS_REG_HI,
    UC_MIPS_REG_LO,
    UC_MIPS_REG_PC,
)

from flexemu.isa.mips.decode import JUMP, STOP, is_delay_branch, page_flags
from flexemu.native import CodeGuard, StepCounter

BASE = 0x400000
SYSCALL_INTNO = 17
ZERO, V0, A3, T0, T1, T2, S0, S1, S2, S3, RA = 0, 2, 7, 8, 9, 10, 16, 17, 18, 19, 31


def i_type(op: int, rs: int, rt: int, imm: int) -> int:
    return (op << 26) | (rs << 21) | (rt << 16) | (imm & 0xFFFF)


def addiu(rt: int, rs: int, imm: int) -> int:
    return i_type(9, rs, rt, imm)


def andi(rt: int, rs: int, imm: int) -> int:
    return i_type(12, rs, rt, imm)


def branch(op: int, rs: int, rt: int, at: int, target: int) -> int:
    """BEQ=4, BNE=5, BEQL=20 at address ``at`` to ``target`` (offset from the delay slot)."""
    return i_type(op, rs, rt, (target - at - 4) // 4)


def jal(target: int) -> int:
    return (3 << 26) | ((target >> 2) & 0x3FFFFFF)


def jr(rs: int) -> int:
    return (rs << 21) | 8


def addu(rd: int, rs: int, rt: int) -> int:
    return (rs << 21) | (rt << 16) | (rd << 11) | 0x21


SYSCALL = 0x0000000C
NOP = 0

# Offsets from BASE. Loop of 6 with: beql taken (even i, delay slot runs) and
# not taken (odd i, delay slot nullified), jal/jr with delay slots, a syscall
# per iteration, bne with a delay slot, a branch whose target is its own delay
# slot, and a final self-loop so every limit terminates.
LOOP, EVEN, TAIL, END, FUNC = 0x0C, 0x1C, 0x30, 0x40, 0x48
PROGRAM: dict[int, int] = {
    0x00: addiu(T0, ZERO, 6),
    0x04: addiu(T1, ZERO, 0),
    0x08: addiu(S0, ZERO, 0),
    LOOP: andi(T2, T1, 1),
    0x10: branch(20, T2, ZERO, BASE + 0x10, BASE + EVEN),  # beql t2, zero, even
    0x14: addiu(S0, S0, 10),  # beql delay slot: runs only when taken
    0x18: addiu(S0, S0, 1),  # odd path
    EVEN: jal(BASE + FUNC),
    0x20: addiu(S0, S0, 100),  # jal delay slot
    0x24: addiu(T1, T1, 1),
    0x28: branch(5, T1, T0, BASE + 0x28, BASE + LOOP),  # bne t1, t0, loop
    0x2C: addiu(S0, S0, 1000),  # bne delay slot
    TAIL: branch(4, ZERO, ZERO, BASE + TAIL, BASE + TAIL + 4),  # beq $0,$0,0: target = own slot
    0x34: addiu(S1, S1, 1),  # runs twice: as the delay slot, then as the target
    0x38: addiu(V0, ZERO, 4004),
    0x3C: SYSCALL,
    END: branch(4, ZERO, ZERO, BASE + END, BASE + END),  # b end
    0x44: addiu(S2, S2, 1),  # its delay slot
    FUNC: addiu(V0, ZERO, 4020),
    0x4C: SYSCALL,
    0x50: jr(RA),
    0x54: addu(S3, S3, V0),  # jr delay slot, uses the syscall result
}
BRANCHES = {BASE + off for off in (0x10, EVEN, 0x28, TAIL, END, 0x50)}
SYSCALLS = {BASE + 0x3C, BASE + 0x4C}
REGS = [*range(UC_MIPS_REG_0 + 1, UC_MIPS_REG_0 + 32), UC_MIPS_REG_HI, UC_MIPS_REG_LO]
TRACE_LEN = 200

Snapshot = tuple[int, ...]


def snapshot(uc: unicorn.Uc) -> Snapshot:
    return tuple(uc.reg_read(r) for r in REGS)


def on_syscall(uc: unicorn.Uc, intno: int, _user: object) -> None:
    """Deterministic stand-in for a kernel: v0 += 1, a3 = 0; execution continues."""
    assert intno == SYSCALL_INTNO
    uc.reg_write(UC_MIPS_REG_0 + V0, uc.reg_read(UC_MIPS_REG_0 + V0) + 1)
    uc.reg_write(UC_MIPS_REG_0 + A3, 0)


def make_uc(intr: Callable[[unicorn.Uc, int, object], None] = on_syscall) -> unicorn.Uc:
    uc = unicorn.Uc(unicorn.UC_ARCH_MIPS, unicorn.UC_MODE_MIPS32 | unicorn.UC_MODE_BIG_ENDIAN)
    uc.ctl_set_cpu_model(UC_CPU_MIPS32_24KC)
    uc.mem_map(BASE, 0x1000)
    code = bytearray(0x60)
    for off, word in PROGRAM.items():
        code[off : off + 4] = struct.pack(">I", word)
    uc.mem_write(BASE, bytes(code))
    uc.hook_add(unicorn.UC_HOOK_INTR, intr)
    return uc


@pytest.fixture(scope="module")
def reference() -> tuple[list[int], list[Snapshot]]:
    """trace[i]: address of instruction i; snaps[i]: registers after i instructions."""
    uc = make_uc()
    trace: list[int] = []
    snaps: list[Snapshot] = []

    def on_code(uc: unicorn.Uc, address: int, _size: int, _user: object) -> None:
        if len(trace) == TRACE_LEN:
            uc.emu_stop()
            return
        trace.append(address)
        snaps.append(snapshot(uc))

    uc.hook_add(unicorn.UC_HOOK_CODE, on_code)
    uc.emu_start(BASE, 0)
    assert len(trace) == TRACE_LEN
    return trace, snaps


def expected_executed(trace: list[int], limit: int) -> int:
    """A limit landing on a branch also runs the delay slot."""
    return limit + 1 if limit >= 1 and trace[limit - 1] in BRANCHES else limit


def test_program_covers_the_cases(reference: tuple[list[int], list[Snapshot]]) -> None:
    trace, snaps = reference
    pairs = list(zip(trace, trace[1:], trace[2:], strict=False))
    beql, slot = BASE + 0x10, BASE + 0x14
    assert (beql, slot, BASE + EVEN) in pairs  # beql taken
    assert (beql, slot, BASE + 0x18) in pairs  # beql not taken: slot hooked, then skipped
    i = next(n for n, p in enumerate(pairs) if p == (beql, slot, BASE + 0x18))
    assert snaps[i + 1] == snaps[i + 2]  # ...and the nullified slot changed nothing
    assert (BASE + TAIL, BASE + 0x34, BASE + 0x34) in pairs  # branch to its own slot
    assert sum(a in SYSCALLS for a in trace) == 7
    assert trace[-1] in {BASE + END, BASE + 0x44}  # reached the final loop


@pytest.mark.parametrize("limit", range(TRACE_LEN - 2))
def test_every_limit_is_exact(reference: tuple[list[int], list[Snapshot]], limit: int) -> None:
    trace, snaps = reference
    uc = make_uc()
    with StepCounter(uc, delay_branch=is_delay_branch, pc_register=UC_MIPS_REG_PC) as counter:
        result = counter.run(uc, BASE, limit)
    executed = expected_executed(trace, limit)
    assert result.limit_hit
    assert result.executed == executed
    assert result.final_pc == trace[executed]
    assert snapshot(uc) == snaps[executed]


def test_unicorn_count_is_ambiguous(reference: tuple[list[int], list[Snapshot]]) -> None:
    """Why StepCounter exists: count=K stops after K or K+1 instructions."""
    trace, _ = reference
    overshoots = 0
    for limit in range(1, 60):
        uc = make_uc()
        uc.emu_start(BASE, 0, count=limit)
        pc = uc.reg_read(UC_MIPS_REG_PC)
        assert pc == trace[expected_executed(trace, limit)]
        overshoots += pc != trace[limit]
    assert overshoots > 5


def test_chained_runs_resume_exactly(reference: tuple[list[int], list[Snapshot]]) -> None:
    trace, snaps = reference
    uc = make_uc()
    counter = StepCounter(uc, delay_branch=is_delay_branch, pc_register=UC_MIPS_REG_PC)
    total, pc, n = 0, BASE, 0
    while total < TRACE_LEN - 10:
        result = counter.run(uc, pc, 1 + n % 5)
        total += result.executed
        pc = result.final_pc
        assert pc == trace[total]
        assert snapshot(uc) == snaps[total]
        n += 1
    counter.close()


def test_counter_added_after_code_was_translated(
    reference: tuple[list[int], list[Snapshot]],
) -> None:
    trace, snaps = reference
    uc = make_uc()
    uc.emu_start(BASE, 0, count=100)  # fills unicorn's translation cache without our hook
    for r in REGS:
        uc.reg_write(r, 0)
    counter = StepCounter(uc, delay_branch=is_delay_branch, pc_register=UC_MIPS_REG_PC)
    result = counter.run(uc, BASE, 57)
    assert result.final_pc == trace[result.executed]
    assert snapshot(uc) == snaps[result.executed]


def test_syscall_hook_reads_exact_count(reference: tuple[list[int], list[Snapshot]]) -> None:
    trace, snaps = reference
    seen: list[tuple[int, int, int]] = []
    counter: StepCounter | None = None

    def intr(uc: unicorn.Uc, intno: int, user: object) -> None:
        assert counter is not None
        seen.append((counter.hooked, counter.last_address, uc.reg_read(UC_MIPS_REG_PC)))
        on_syscall(uc, intno, user)

    uc = make_uc(intr)
    counter = StepCounter(uc, delay_branch=is_delay_branch, pc_register=UC_MIPS_REG_PC)
    result = counter.run(uc, BASE, 150)
    assert len(seen) == sum(a in SYSCALLS for a in trace[: result.executed])
    for hooked, last, pc in seen:
        assert last in SYSCALLS
        assert trace[hooked - 1] == last  # the syscall was the hooked-th instruction...
        assert pc == last + 4  # ...has executed, and the PC moved past it
    assert result.final_pc == trace[result.executed]
    assert snapshot(uc) == snaps[result.executed]


def test_limit_set_from_syscall_hook_stops_right_after_it(
    reference: tuple[list[int], list[Snapshot]],
) -> None:
    trace, snaps = reference
    counter: StepCounter | None = None

    def intr(uc: unicorn.Uc, intno: int, user: object) -> None:
        assert counter is not None
        on_syscall(uc, intno, user)
        counter.limit = counter.hooked  # stop before the next instruction

    uc = make_uc(intr)
    counter = StepCounter(uc, delay_branch=is_delay_branch, pc_register=UC_MIPS_REG_PC)
    syscall_ends = [n + 1 for n, a in enumerate(trace) if a in SYSCALLS]
    total, pc = 0, BASE
    for end in syscall_ends[:5]:  # each run stops right after the next syscall
        result = counter.run(uc, pc, 10_000)
        assert result.limit_hit
        assert result.prev_address in SYSCALLS
        total += result.executed
        pc = result.final_pc
        assert total == end
        assert pc == result.last_address == trace[total]
        assert snapshot(uc) == snaps[total]


def test_emu_stop_from_syscall_hook(reference: tuple[list[int], list[Snapshot]]) -> None:
    trace, snaps = reference

    def intr(uc: unicorn.Uc, intno: int, user: object) -> None:
        on_syscall(uc, intno, user)
        uc.emu_stop()

    uc = make_uc(intr)
    counter = StepCounter(uc, delay_branch=is_delay_branch, pc_register=UC_MIPS_REG_PC)
    total, pc = 0, BASE
    for _ in range(4):
        result = counter.run(uc, pc, 10_000)
        assert not result.limit_hit
        assert result.last_address in SYSCALLS
        total += result.executed
        pc = result.final_pc
        assert trace[total - 1] == result.last_address
        assert pc == trace[total] == result.last_address + 4
        assert snapshot(uc) == snaps[total]


def test_close_removes_hook() -> None:
    uc = make_uc()
    counter = StepCounter(uc, delay_branch=is_delay_branch, pc_register=UC_MIPS_REG_PC)
    counter.run(uc, BASE, 5)
    counter.close()
    counter.close()
    uc.emu_start(BASE, 0, count=20)
    assert counter.hooked == 6
    with pytest.raises(RuntimeError):
        counter.run(uc, BASE, 5)


def test_is_delay_branch() -> None:
    branches = [PROGRAM[o] for o in (0x10, EVEN, 0x28, TAIL, END, 0x50)]
    assert all(is_delay_branch(w) for w in branches)
    others = [w for off, w in PROGRAM.items() if BASE + off not in BRANCHES]
    assert not any(is_delay_branch(w) for w in others)
    assert is_delay_branch((1 << 26) | (17 << 16))  # bgezal
    assert is_delay_branch((RA << 21) | (RA << 11) | 9)  # jalr


# ------------------------------------------------------------------ the code guard


def guarded(words: dict[int, int], regs: dict[int, int] | None = None) -> tuple[
    unicorn.Uc, StepCounter, CodeGuard
]:
    """A Uc with `words` (offset -> word) at BASE, its page allowed under the scan's flags."""
    uc = unicorn.Uc(unicorn.UC_ARCH_MIPS, unicorn.UC_MODE_MIPS32 | unicorn.UC_MODE_BIG_ENDIAN)
    uc.ctl_set_cpu_model(UC_CPU_MIPS32_24KC)
    uc.mem_map(BASE, 0x2000)
    page = bytearray(0x1000)
    for off, word in words.items():
        page[off : off + 4] = struct.pack(">I", word)
    uc.mem_write(BASE, bytes(page))
    for number, value in (regs or {}).items():
        uc.reg_write(UC_MIPS_REG_0 + number, value)
    guard = CodeGuard()
    guard.allow(BASE >> 12, page_flags(BASE, bytes(page)))
    return uc, StepCounter(uc, guard, is_delay_branch, pc_register=UC_MIPS_REG_PC), guard


MFC0_T0 = 0x40086000  # COP0: the reference rejects it, unicorn would run it


def test_the_guard_stops_before_a_word_the_reference_rejects() -> None:
    uc, counter, _ = guarded({0x00: addiu(T0, ZERO, 1), 0x04: addiu(T0, T0, 2), 0x08: MFC0_T0})
    result = counter.run(uc, BASE, 100)
    assert (result.guard_stop, result.executed, result.last_address) == (True, 2, BASE + 8)
    assert uc.reg_read(UC_MIPS_REG_0 + T0) == 3  # mfc0 did not run


def test_the_guard_stops_before_a_branch_whose_slot_it_would_stop() -> None:
    words = {0x00: addiu(T0, ZERO, 1), 0x04: branch(4, ZERO, ZERO, BASE + 4, BASE + 0x40),
             0x08: MFC0_T0}
    uc, counter, _ = guarded(words)
    result = counter.run(uc, BASE, 100)
    assert (result.guard_stop, result.executed, result.last_address) == (True, 1, BASE + 4)


@pytest.mark.parametrize(
    ("target", "runs"),
    [(BASE + 0x40, True), (BASE + 0x41, False), (BASE + 0x1040, False), (0xC000_0000, False),
     (BASE + 0x80, False)],  # aligned, odd, an unscanned page, kseg2, a word flagged STOP
)
def test_a_jr_runs_only_to_a_target_the_guard_allows(target: int, runs: bool) -> None:
    words = {0x00: jr(T1), 0x04: addiu(T0, ZERO, 7), 0x40: addiu(T0, T0, 1), 0x80: MFC0_T0}
    uc, counter, guard = guarded(words, {T1: target})
    assert guard.flag(BASE) == JUMP + T1
    result = counter.run(uc, BASE, 3)
    if runs:
        assert not result.guard_stop and result.executed == 3
        assert uc.reg_read(UC_MIPS_REG_0 + T0) == 8
    else:
        assert (result.guard_stop, result.executed, result.last_address) == (True, 0, BASE)


def test_a_revoked_page_stops_at_its_first_instruction() -> None:
    uc, counter, guard = guarded({0x00: addiu(T0, ZERO, 1)})
    assert guard.revoke(BASE >> 12) and not guard.revoke(BASE >> 12)
    result = counter.run(uc, BASE, 10)
    assert (result.guard_stop, result.executed) == (True, 0)
    assert guard.flag(BASE) == STOP
