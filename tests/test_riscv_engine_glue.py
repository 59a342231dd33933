"""The RISC-V unicorn glue on its own: which instructions it lets unicorn run, that it runs
them exactly as bare unicorn does, and that W^X page modes catch self-modifying code.
(Agreement with the reference stepper is tests/test_riscv_lockstep.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from unicorn import UC_ARCH_RISCV, Uc
from unicorn import riscv_const as rc

from flexemu.isa.riscv.engine import CPU_MODELS, MODES, MSTATUS_FS_DIRTY, RiscvEngine
from flexemu.isa.riscv.loader import load_riscv
from flexemu.isa.riscv.scan import (
    flagged,
    flagged_offsets,
    native_parcel,
    native_word,
    traps_parcel,
    traps_word,
)
from flexemu.isa.riscv.state import RiscvState
from flexemu.loader import Program
from flexemu.memory import Memory
from flexemu.merkle import PAGE_BYTES, PAGE_SHIFT

PROGRAMS = Path(__file__).resolve().parent.parent / "scenarios" / "programs"

def kind(first: int, second: int, xlen: int) -> str:
    """N (native), T (unicorn traps), F (flagged: an exit) for an instruction's parcels."""
    if first & 3 != 3:
        return "N" if native_parcel(first, xlen) else "T" if traps_parcel(first, xlen) else "F"
    word = first | second << 16
    if first & 0x1C == 0x1C:
        assert not flagged(first, lambda: second, xlen)
        return "T"
    result = "N" if native_word(word, xlen) else "T" if traps_word(word, xlen) else "F"
    assert flagged(first, lambda: second, xlen) == (result == "F")
    return result


WORDS = {  # name: (word, class on RV32, class on RV64)
    "addi x5, x5, 1": (0x00128293, "N", "N"),
    "lui x5, 0x12345": (0x123452B7, "N", "N"),
    "jalr x1, 0(x5)": (0x000280E7, "N", "N"),
    "bgeu x5, x6, 8": (0x0062F463, "N", "N"),
    "ld x5, 8(x2)": (0x00813283, "T", "N"),
    "lwu x5, 8(x2)": (0x00816283, "T", "N"),
    "sd x5, 8(x2)": (0x00513423, "T", "N"),
    "slli x5, x5, 63": (0x03F29293, "T", "N"),
    "srai x5, x5, 31": (0x41F2D293, "N", "N"),
    "sub x5, x6, x7": (0x407302B3, "N", "N"),
    "mulhu x5, x6, x7": (0x027332B3, "N", "N"),
    "remuw x5, x6, x7": (0x027372BB, "T", "N"),
    "addiw x5, x5, 1": (0x0012829B, "T", "N"),
    "amoswap.w x5, x7, (x6)": (0x0873A2AF, "N", "N"),
    "amomaxu.d x5, x7, (x6)": (0xE07332AF, "F", "N"),
    "fld f8, 0(x2)": (0x00013407, "N", "N"),
    "fsd f8, 0(x2)": (0x00813027, "N", "N"),
    "fence rw, rw": (0x0330000F, "N", "N"),
    "fence.i": (0x0000100F, "N", "N"),
    "ecall": (0x00000073, "N", "N"),
    "csrr a0, cycle": (0xC0002573, "F", "F"),
    "csrr a0, time": (0xC0102573, "F", "F"),
    "csrr a0, instret": (0xC0202573, "F", "F"),
    "frflags a0": (0x00102573, "F", "F"),
    "mret": (0x30200073, "F", "F"),
    "wfi": (0x10500073, "F", "F"),
    "sfence.vma": (0x12000073, "F", "F"),
    "lr.w x5, (x6)": (0x100322AF, "F", "F"),
    "sc.w x5, x7, (x6)": (0x1873A2AF, "F", "F"),
    "fadd.d f1, f2, f3": (0x023100D3, "F", "F"),
    "fmv.w.x f2, x6": (0xF0030153, "F", "F"),
    "fmv.x.d x5, f8": (0xE20402D3, "F", "F"),
    "fmadd.d f1, f2, f3, f4": (0x223100C3, "F", "F"),
    "fence.tso": (0x8330000F, "F", "F"),
    "fence with rd != 0": (0x0330028F, "F", "F"),
    "ebreak": (0x00100073, "T", "T"),
    "LOAD-FP funct3 4": (0x00014407, "T", "T"),
    "custom-0": (0x0000000B, "T", "T"),
    "48-bit (all ones)": (0xFFFFFFFF, "T", "T"),
}


@pytest.mark.parametrize("name", WORDS)
def test_word_classes(name):
    word, rv32, rv64 = WORDS[name]
    assert (kind(word & 0xFFFF, word >> 16, 32), kind(word & 0xFFFF, word >> 16, 64)) == (
        rv32, rv64)


PARCELS = {  # name: (parcel, class on RV32, class on RV64)
    "c.unimp (0)": (0x0000, "T", "T"),
    "c.addi4spn x8, 16": (0x0800, "N", "N"),
    "c.fld f8, 0(x8)": (0x2000, "N", "N"),
    "c.flw / c.ld": (0x6000, "F", "N"),
    "c.fsw / c.sd": (0xE000, "N", "N"),
    "reserved Q0 funct3 4": (0x8000, "F", "F"),
    "c.nop": (0x0001, "N", "N"),
    "c.addi x5, 1": (0x0285, "N", "N"),
    "c.addi x5, 0 (HINT)": (0x0281, "N", "N"),
    "c.jal / c.addiw x5, 1": (0x2285, "N", "N"),
    "c.jal / c.addiw x0 (reserved)": (0x2005, "N", "T"),
    "c.li x0, 1 (HINT)": (0x4005, "N", "N"),
    "c.lui x5, 0 (reserved)": (0x6281, "T", "T"),
    "c.addi16sp 16": (0x6141, "N", "N"),
    "c.srli x8, 32 (RV64 only)": (0x9001, "F", "N"),
    "c.srli x8, 0 (HINT)": (0x8001, "N", "N"),
    "c.subw x8, x9 (RV64 only)": (0x9C05, "F", "N"),
    "reserved misc-alu": (0x9C45, "F", "F"),
    "c.slli x5, 1": (0x0286, "N", "N"),
    "c.fldsp f8, 0(sp)": (0x2402, "N", "N"),
    "c.lwsp x0 (reserved)": (0x4002, "T", "T"),
    "c.flwsp / c.ldsp x5": (0x6282, "F", "N"),
    "c.jr x0 (reserved)": (0x8002, "T", "T"),
    "c.jr x1": (0x8082, "N", "N"),
    "c.mv x5, x6": (0x829A, "N", "N"),
    "c.mv x0, x6 (HINT)": (0x801A, "N", "N"),
    "c.ebreak": (0x9002, "T", "T"),
    "c.jalr x5": (0x9282, "N", "N"),
    "c.add x5, x6": (0x929A, "N", "N"),
    "c.fsdsp f8, 0(sp)": (0xA022, "N", "N"),
    "c.fswsp / c.sdsp": (0xE022, "N", "N"),
}


@pytest.mark.parametrize("name", PARCELS)
def test_compressed_classes(name):
    parcel, rv32, rv64 = PARCELS[name]
    assert (kind(parcel, 0, 32), kind(parcel, 0, 64)) == (rv32, rv64)


def test_the_second_parcel_is_read_only_for_32_bit_instructions():
    def boom() -> int:
        raise AssertionError("read the next parcel of a 16-bit instruction")

    assert not flagged(0x0285, boom, 64)
    assert flagged(0x2573, lambda: 0xC000, 64)  # csrr a0, cycle split into parcels


def test_page_scan_classifies_every_parcel_including_one_that_ends_on_the_next_page():
    code = bytearray(16)
    code[0:4] = (0x00128293).to_bytes(4, "little")  # addi: native (upper half 0x0012: HINT)
    code[4:6] = (0x8000).to_bytes(2, "little")  # reserved, and unicorn runs it: flagged
    code[6:8] = (0x0285).to_bytes(2, "little")  # c.addi
    code[14:16] = (0x2573).to_bytes(2, "little")  # csrr a0, <csr from the following parcel>
    assert flagged_offsets(bytes(code), (0xC000).to_bytes(2, "little"), 64) == (4, 14)
    assert flagged_offsets(bytes(code[:14]) + b"\x01\x00", b"\0\0", 64) == (4,)


def _never_step(state: RiscvState, io: object) -> None:
    raise AssertionError(f"reference step at {state.pc:#x} (step {state.step})")


@pytest.mark.parametrize("name", ["loop.rv64", "loop.rv32"])
def test_engine_chunks_equal_one_bare_unicorn_run(name):
    """Stopping and resuming under the glue changes nothing: the registers after 3,000,001
    steps (in 4 uneven advances) equal those of one bare count-limited unicorn run."""
    image = load_riscv(Program.from_file(PROGRAMS / name, [name]))
    engine = RiscvEngine(image.state, image.memory.pages, image.input_memory, _never_step)
    for target in (1, 777_777, 2_000_000, 3_000_001):
        engine.advance(target)
        assert engine.state.step == target
    state = image.state
    uc = Uc(UC_ARCH_RISCV, MODES[state.xlen])
    uc.ctl_set_cpu_model(CPU_MODELS[state.xlen])
    uc.reg_write(rc.UC_RISCV_REG_MSTATUS, MSTATUS_FS_DIRTY)
    for number, data in image.memory.pages.items():
        uc.mem_map(number << PAGE_SHIFT, PAGE_BYTES)
        uc.mem_write(number << PAGE_SHIFT, bytes(data))
    uc.reg_write(rc.UC_RISCV_REG_SP, state.x[2])
    uc.emu_start(state.pc, 0, count=3_000_001)
    expected = [0] + [uc.reg_read(getattr(rc, f"UC_RISCV_REG_X{i}")) for i in range(1, 32)]
    assert engine.state.x == expected
    assert engine.state.pc == uc.reg_read(rc.UC_RISCV_REG_PC)
    for number, data in engine.pages().items():  # the stack array included
        assert data == bytes(uc.mem_read(number << PAGE_SHIFT, PAGE_BYTES)), hex(number)


def test_self_modifying_code_is_rescanned():
    """A store that rewrites an instruction ahead of it in the same block: bare unicorn runs
    the stale one (tests/test_unicorn_riscv_facts.py); the engine runs the new one."""
    words = [
        0x29300393,  # addi x7, x0, 0x293 (the word of `addi x5, x0, 0`)
        0x00732A23,  # sw x7, 20(x6)
        0x00700293,  # addi x5, x0, 7
        0x00000013,  # nop
        0x00000013,  # nop
        0x00900293,  # addi x5, x0, 9 (rewritten to addi x5, x0, 0)
    ]
    base = 0x10000
    memory = Memory()
    memory.write_bytes(base, b"".join(w.to_bytes(4, "little") for w in words))
    state = RiscvState(xlen=64, pc=base)
    state.x[6] = base
    engine = RiscvEngine(state, memory.pages, Memory())  # the store is the reference's
    engine.advance(6)
    assert engine.state.x[5] == 0 and engine.state.pc == base + 24
    assert base >> PAGE_SHIFT in engine.code  # rescanned after the store made it data
