"""Block mode (`FastEngine(blocks=True)`, `flexemu.native.block_counter`) against unicorn and
against the per-instruction engine.

Why: block mode counts whole translation blocks before they run, so it rests on unicorn
facts pinned here (a stop requested in a block hook runs nothing of the block, a memory
hook reads the faulting pc exactly, a syscall ends its block) and must reach exactly the
per-instruction engine's state on every shipped MIPS program.
"""

from __future__ import annotations

import json
import struct

import pytest
import unicorn
from conftest import EVERY_STEP, memory_diff, state_diff
from conftest import PROGRAMS_DIR as PROGRAMS
from hypothesis import HealthCheck, given, settings
from instruction_strategies import CODE
from test_differential_random import Case, Pair
from test_hostile import PROGRAM_EXAMPLES, random_programs
from test_step_counter import NOP, SYSCALL, addiu, addu, branch, i_type
from unicorn.mips_const import UC_CPU_MIPS32_24KC, UC_MIPS_REG_8, UC_MIPS_REG_9, UC_MIPS_REG_PC

from flexemu.isa import isa_for_elf
from flexemu.isa.mips.decode import page_runs
from flexemu.isa.mips.engine import FastEngine
from flexemu.isa.mips.state import Status
from flexemu.loader import load
from flexemu.memory import Memory
from flexemu.program import Program
from flexemu.reference import ReferenceMachine

BASE = 0x400000
T0, T1, T2, T3, T4 = 8, 9, 10, 11, 12


def machine(words: list[int]) -> unicorn.Uc:
    """Unicorn holding `words` at BASE, then a self-loop: a block never runs into the zero
    words after them (unicorn 2.1.4 crashes translating ~400 straight-line words under a
    block hook, see decode.MAX_BLOCK_RUN)."""
    words = [*words, branch(4, 0, 0, BASE + 4 * len(words), BASE + 4 * len(words)), NOP]
    uc = unicorn.Uc(unicorn.UC_ARCH_MIPS, unicorn.UC_MODE_MIPS32 | unicorn.UC_MODE_BIG_ENDIAN)
    uc.ctl_set_cpu_model(UC_CPU_MIPS32_24KC)
    uc.mem_map(BASE, 0x1000)
    uc.mem_write(BASE, b"".join(struct.pack(">I", w) for w in words))
    return uc


def test_a_stop_in_a_block_hook_runs_nothing_of_a_chained_block() -> None:
    # loop: t0 += 1; bne t0, 100, loop (slot: t1 += 1); then spin.
    uc = machine(
        [
            addiu(T0, T0, 1),
            branch(5, T0, T2, BASE + 4, BASE),
            addiu(T1, T1, 1),
            branch(4, 0, 0, BASE + 12, BASE + 12),
            NOP,
        ]
    )
    uc.reg_write(unicorn.mips_const.UC_MIPS_REG_10, 100)
    calls: list[tuple[int, int]] = []

    def on_block(uc: unicorn.Uc, address: int, size: int, _: object) -> None:
        calls.append((address, size))
        if len(calls) == 40:  # the 40th run of the (chained) loop block
            uc.emu_stop()

    uc.hook_add(unicorn.UC_HOOK_BLOCK, on_block)
    uc.emu_start(BASE, 0, count=0)
    assert calls[0] == (BASE, 12)  # the branch and its delay slot end the block
    assert uc.reg_read(UC_MIPS_REG_8) == 39 and uc.reg_read(UC_MIPS_REG_9) == 39
    assert uc.reg_read(UC_MIPS_REG_PC) == BASE


@pytest.mark.parametrize("in_slot", [False, True])
def test_a_memory_hook_reads_the_faulting_pc(in_slot: bool) -> None:
    load = i_type(0x23, T2, T1, 0)  # lw t1, 0(t2) from an unmapped page
    body = [branch(4, 0, 0, BASE + 8, BASE + 0x20), load] if in_slot else [load, NOP]
    uc = machine([i_type(0xF, 0, T2, 0x2000), addiu(T0, T0, 1), *body, NOP])
    seen: list[int] = []

    def on_unmapped(uc: unicorn.Uc, *_: object) -> bool:
        seen.append(uc.reg_read(UC_MIPS_REG_PC))
        return False

    uc.hook_add(unicorn.UC_HOOK_MEM_UNMAPPED, on_unmapped)
    with pytest.raises(unicorn.UcError):
        uc.emu_start(BASE, 0, count=0)
    assert seen == [BASE + 12 if in_slot else BASE + 8]


def test_a_syscall_ends_its_block_and_reads_pc_past_it() -> None:
    uc = machine([addiu(T0, T0, 1), SYSCALL, addiu(T0, T0, 1), NOP])
    blocks: list[tuple[int, int]] = []
    interrupts: list[int] = []
    uc.hook_add(unicorn.UC_HOOK_BLOCK, lambda uc, a, s, _: blocks.append((a, s)))

    def on_interrupt(uc: unicorn.Uc, number: int, _: object) -> None:
        interrupts.append(uc.reg_read(UC_MIPS_REG_PC))
        uc.emu_stop()

    uc.hook_add(unicorn.UC_HOOK_INTR, on_interrupt)
    uc.emu_start(BASE, 0, count=0)
    assert blocks == [(BASE, 8)] and interrupts == [BASE + 8]


def test_page_runs_bound_every_block_a_word_starts() -> None:
    jump = branch(4, 0, 0, 0, 0x40)
    words = [NOP] * 10 + [jump, NOP] + [NOP] * 20 + [SYSCALL] + [NOP] * 990 + [jump]
    runs = page_runs(b"".join(struct.pack(">I", w) for w in words))
    assert runs[0] == 12 and runs[10] == 2 and runs[11] == 22 and runs[32] == 1
    assert runs[33] == 0 and runs[1023] == 0  # their blocks would reach into the next page
    assert runs[1022] == 0 and all(r == 0 for r in runs[33:])
    ends = [NOP] * 1023 + [SYSCALL]
    runs = page_runs(b"".join(struct.pack(">I", w) for w in ends))
    assert runs[0] == 127 and runs[1000] == 24 and runs[1023] == 1  # capped at 127


MIPS_PROGRAMS = [
    "exitcode", "hello", "hostile_end", "likely", "slots", "smc", "sort", "stdin_echo", "trap",
    "tiny_sum",
]  # fmt: skip


@pytest.mark.parametrize("name", MIPS_PROGRAMS)
def test_block_mode_reaches_the_per_instruction_state(name: str) -> None:
    expected = json.loads((PROGRAMS / f"{name}.expected.json").read_text())
    program = Program.from_file(PROGRAMS / name, expected["argv"], stdin=expected["stdin"].encode())
    isa = isa_for_elf(program.elf, name)
    finals = []
    for blocks in (False, True):
        image = isa.load(program)
        engine = FastEngine(image.state, image.memory.pages, image.input_memory, blocks=blocks)
        engine.advance(None)
        finals.append((engine.state.witness(), engine.output, engine.pages()))
    assert finals[0] == finals[1]


# ---------------------------------------------------------------- against the reference

STRIDES = (1, 2, 3, 7, 64, 997, 20_000)


@pytest.mark.parametrize("name", [*EVERY_STEP, "stdin_echo"])
def test_block_mode_agrees_with_the_reference_at_every_stop(name, make_program) -> None:
    """Advance a block-mode engine by strides that land anywhere in its blocks; the
    reference steps to the same count and every field and all memory must agree."""
    image = load(make_program(name))
    engine = FastEngine(image.state, image.memory.pages, image.input_memory, blocks=True)
    reference = ReferenceMachine.from_image(image)
    stops = 0
    while engine.state.status == Status.RUNNING:
        engine.advance(engine.state.step + STRIDES[stops % len(STRIDES)])
        reference.run(engine.state.step - reference.state.step)
        assert not state_diff(engine.state, reference.state), f"{name}: stop {stops}"
        if stops % 16 == 0 or engine.state.status != Status.RUNNING:
            assert not memory_diff(engine.pages(), reference.memory.pages), f"{name}: {stops}"
        stops += 1
    assert reference.state.status != Status.RUNNING  # the output hash is in state_diff


@settings(max_examples=PROGRAM_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(random_programs())
def test_block_mode_random_programs_agree_at_every_stop(
    drawn: tuple[list[int], list[int], list[int]],
) -> None:
    """test_hostile's random programs (jumps into rewritten code, stores into the running
    block, branches near branches, random words), with the engine in block mode."""
    words, regs, stops = drawn
    pair = Pair(Case(words, regs, seed=len(words)))
    state, pages = pair.reference.state.copy(), pair.engine.pages()
    pair.engine = FastEngine(state, pages, Memory(), blocks=True)
    for stop in stops:
        pair.advance(stop)
        pair.assert_agree()
        if pair.engine.state.status != Status.RUNNING:
            break


def test_a_hot_loop_runs_in_block_mode() -> None:
    """spin's mixing loop stays in block mode to its end: no replay, no fallback."""
    program = Program.from_file(PROGRAMS / "spin", ["spin", "2000"])
    image = load(program)
    engine = FastEngine(image.state, image.memory.pages, image.input_memory, blocks=True)
    engine.advance(None)
    assert engine.blocks and engine.replays == 0 and engine.state.exit_code == 0
    assert engine.state.step > 100_000


def block_pair(words: list[int], regs: list[int]) -> Pair:
    """A Pair (engine and reference from one case) whose engine runs in block mode."""
    pair = Pair(Case(words, regs))
    state, pages = pair.reference.state.copy(), pair.engine.pages()
    pair.engine = FastEngine(state, pages, Memory(), blocks=True)
    return pair


JUMP_TARGETS = {
    "odd": CODE + 0x21,
    "misaligned": CODE + 0x22,
    "unscanned page": CODE + 0x3000,
    "kseg0 alias": 0x8000_0000 + CODE + 0x20,
    "page 0": 0x10,
    "good": CODE + 0x20,
}


@pytest.mark.parametrize("written_in_block", [False, True])
@pytest.mark.parametrize("where", JUMP_TARGETS)
def test_block_mode_checks_a_jr_target_before_the_jump(where: str, written_in_block: bool) -> None:
    """A JR whose target the per-instruction hook would stop before (odd, misaligned, kseg,
    page 0, unscanned) must not run in unicorn either in block mode: the block hook reads the
    register before the jump, and refuses the block when an earlier word may write it."""
    jump = [i_type(0, T3, 0, 0x0008), NOP]  # jr t3; nop
    move = [addu(T3, T4, 0)] if written_in_block else []  # t3 = t4 in the same block
    words = [addiu(T0, T0, 1), *move, *jump]
    words += [NOP] * (8 - len(words)) + [addiu(T1, T1, 1), SYSCALL]
    regs = [0] * 32
    regs[T3 if not written_in_block else T4] = JUMP_TARGETS[where]
    regs[2] = 4001  # v0: exit
    pair = block_pair(words, regs)
    for stop in (1, 2, 3, 4, 5, 8, 20, 200):
        pair.advance(stop)
        pair.assert_agree()
    assert pair.engine.state.status != Status.RUNNING or pair.engine.state.step == 200
