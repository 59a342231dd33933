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
from flexemu.isa.riscv.scan import flagged_offsets, native, native_parcel, native_word
from flexemu.isa.riscv.state import RiscvState
from flexemu.loader import Program
from flexemu.memory import Memory
from flexemu.merkle import PAGE_BYTES, PAGE_SHIFT

PROGRAMS = Path(__file__).resolve().parent.parent / "scenarios" / "programs"

NATIVE_WORDS = {  # name: (word, xlens where unicorn may run it)
    "addi x5, x5, 1": (0x00128293, (32, 64)),
    "lui x5, 0x12345": (0x123452B7, (32, 64)),
    "jalr x1, 0(x5)": (0x000280E7, (32, 64)),
    "bgeu x5, x6, 8": (0x0062F463, (32, 64)),
    "ld x5, 8(x2)": (0x00813283, (64,)),
    "lwu x5, 8(x2)": (0x00816283, (64,)),
    "sd x5, 8(x2)": (0x00513423, (64,)),
    "slli x5, x5, 63": (0x03F29293, (64,)),
    "srai x5, x5, 31": (0x41F2D293, (32, 64)),
    "sub x5, x6, x7": (0x407302B3, (32, 64)),
    "mulhu x5, x6, x7": (0x027332B3, (32, 64)),
    "remuw x5, x6, x7": (0x027372BB, (64,)),
    "sraiw x5, x5, 3": (0x4032D29B, (64,)),
    "amoswap.w x5, x7, (x6)": (0x0873A2AF, (32, 64)),
    "amomaxu.d x5, x7, (x6)": (0xE07332AF, (64,)),
    "fld f8, 0(x2)": (0x00013407, (32, 64)),
    "fsd f8, 0(x2)": (0x00813027, (32, 64)),
    "fence rw, rw": (0x0330000F, (32, 64)),
    "fence.i": (0x0000100F, (32, 64)),
    "ecall": (0x00000073, (32, 64)),
}
FLAGGED_WORDS = {  # name: word, flagged on both XLENs
    "csrr a0, cycle": 0xC0002573,
    "csrr a0, time": 0xC0102573,
    "csrr a0, instret": 0xC0202573,
    "frflags a0": 0x00102573,
    "ebreak": 0x00100073,
    "mret": 0x30200073,
    "wfi": 0x10500073,
    "sfence.vma": 0x12000073,
    "lr.w x5, (x6)": 0x100322AF,
    "sc.w x5, x7, (x6)": 0x1873A2AF,
    "lr.d x5, (x6)": 0x100332AF,
    "fadd.d f1, f2, f3": 0x023100D3,
    "fmv.w.x f2, x6": 0xF0030153,
    "fmv.x.d x5, f8": 0xE20402D3,
    "fmadd.d f1, f2, f3, f4": 0x223100C3,
    "fcvt.d.l f1, x5": 0xD222F0D3,
    "flq-like fp load funct3 4": 0x00014407,
    "fence.tso": 0x8330000F,
    "fence with rd != 0": 0x0330028F,
    "all ones": 0xFFFFFFFF,
}
RV64_ONLY_WORDS = {"addiw x5, x5, 1": 0x0012829B, "slli x5, x5, 32": 0x02029293}


@pytest.mark.parametrize("name", NATIVE_WORDS)
def test_whitelisted_words(name):
    word, xlens = NATIVE_WORDS[name]
    assert [native_word(word, xlen) for xlen in (32, 64)] == [32 in xlens, 64 in xlens]


@pytest.mark.parametrize("name", FLAGGED_WORDS)
def test_flagged_words(name):
    assert not native_word(FLAGGED_WORDS[name], 32) and not native_word(FLAGGED_WORDS[name], 64)


@pytest.mark.parametrize("name", RV64_ONLY_WORDS)
def test_rv64_only_words_are_flagged_on_rv32(name):
    assert native_word(RV64_ONLY_WORDS[name], 64) and not native_word(RV64_ONLY_WORDS[name], 32)


PARCELS = {  # name: (parcel, native on RV32, native on RV64)
    "c.unimp (0)": (0x0000, False, False),
    "c.addi4spn x8, 16": (0x0800, True, True),
    "c.fld f8, 0(x8)": (0x2000, True, True),
    "c.flw / c.ld": (0x6000, False, True),
    "c.fsw / c.sd": (0xE000, True, True),
    "reserved Q0 funct3 4": (0x8000, False, False),
    "c.nop": (0x0001, True, True),
    "c.addi x5, 1": (0x0285, True, True),
    "c.addi x5, 0 (HINT)": (0x0281, False, False),
    "c.jal / c.addiw x5, 1": (0x2285, True, True),
    "c.addiw x0 (reserved) / c.jal": (0x2005, True, False),
    "c.li x0, 1 (HINT)": (0x4005, False, False),
    "c.lui x5, 0 (reserved)": (0x6281, False, False),
    "c.addi16sp 16": (0x6141, True, True),
    "c.srli x8, 32": (0x9001, False, True),
    "c.srli x8, 0 (HINT)": (0x8001, False, False),
    "c.subw x8, x9": (0x9C05, False, True),
    "reserved misc-alu": (0x9C45 | 0x40, False, False),
    "c.slli x5, 1": (0x0286, True, True),
    "c.fldsp f8, 0(sp)": (0x2402, True, True),
    "c.lwsp x0 (reserved)": (0x4002, False, False),
    "c.flwsp / c.ldsp x5": (0x6282, False, True),
    "c.jr x0 (reserved)": (0x8002, False, False),
    "c.jr x1": (0x8082, True, True),
    "c.mv x5, x6": (0x829A, True, True),
    "c.mv x0, x6 (HINT)": (0x801A, False, False),
    "c.ebreak": (0x9002, False, False),
    "c.jalr x5": (0x9282, True, True),
    "c.add x5, x6": (0x929A, True, True),
    "c.fsdsp f8, 0(sp)": (0xA022, True, True),
    "c.fswsp / c.sdsp": (0xE022, True, True),
}


@pytest.mark.parametrize("name", PARCELS)
def test_compressed_parcels(name):
    parcel, rv32, rv64 = PARCELS[name]
    assert (native_parcel(parcel, 32), native_parcel(parcel, 64)) == (rv32, rv64)


def test_48_bit_encodings_are_flagged_and_the_second_parcel_is_read_only_for_32_bits():
    def boom() -> int:
        raise AssertionError("read the next parcel of a 16-bit instruction")

    assert not native(0x001F, lambda: 0, 64)
    assert native(0x0285, boom, 64)
    assert native(0x0293, lambda: 0x0012, 64)  # addi x5, x5, 1 split into parcels


def test_page_scan_classifies_every_parcel_including_one_that_ends_on_the_next_page():
    code = bytearray(16)
    code[0:4] = (0x00128293).to_bytes(4, "little")  # addi: native (and its upper half 0x0012)
    code[4:6] = (0x9002).to_bytes(2, "little")  # c.ebreak
    code[6:8] = (0x0285).to_bytes(2, "little")  # c.addi
    code[14:16] = (0x2573).to_bytes(2, "little")  # csrr a0, <csr from the following parcel>
    flagged = flagged_offsets(bytes(code), (0xC000).to_bytes(2, "little"), 64)
    # 2: the parcel 0x0012 is c.slli x0 (a HINT); 8..12: c.unimp; 14: csrr a0, cycle
    assert flagged == [2, 4, 8, 10, 12, 14]
    assert 14 not in flagged_offsets(bytes(code[:14]) + b"\x01\x00", b"\0\0", 64)


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
    engine = RiscvEngine(state, memory.pages, Memory(), _never_step)
    engine.advance(6)
    assert engine.state.x[5] == 0 and engine.state.pc == base + 24
    assert base >> PAGE_SHIFT in engine.code  # rescanned after the store made it data
