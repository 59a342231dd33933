"""Facts about unicorn 2.1.4 RISCV64/RISCV32 that flexemu/isa/riscv/engine.py relies on.

Each test pins one behaviour, measured on this machine, with exact values, so that a
unicorn upgrade that changes it fails here, by name, instead of as a lockstep
divergence somewhere in a guest program.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from unicorn import (
    UC_ARCH_RISCV,
    UC_ERR_FETCH_PROT,
    UC_ERR_INSN_INVALID,
    UC_ERR_READ_UNMAPPED,
    UC_ERR_WRITE_PROT,
    UC_HOOK_INTR,
    UC_HOOK_MEM_READ_UNMAPPED,
    UC_MODE_RISCV32,
    UC_MODE_RISCV64,
    UC_PROT_EXEC,
    UC_PROT_READ,
    UC_PROT_WRITE,
    Uc,
    UcError,
)
from unicorn import riscv_const as rc

from flexemu.native.step_counter import StepCounter

BASE, DATA = 0x10000, 0x11000
X5, X6, X7, X8 = rc.UC_RISCV_REG_X5, rc.UC_RISCV_REG_X6, rc.UC_RISCV_REG_X7, rc.UC_RISCV_REG_X8
A0, A1, PC = rc.UC_RISCV_REG_A0, rc.UC_RISCV_REG_A1, rc.UC_RISCV_REG_PC


def addi(rd: int, rs1: int, imm: int) -> int:
    return (imm & 0xFFF) << 20 | rs1 << 15 | rd << 7 | 0x13


def csrr(rd: int, csr: int) -> int:
    return csr << 20 | 2 << 12 | rd << 7 | 0x73


def amo(funct5: int, rd: int, rs1: int, rs2: int = 0, width: int = 2) -> int:
    return funct5 << 27 | rs2 << 20 | rs1 << 15 | width << 12 | rd << 7 | 0x2F


def store(rs2: int, rs1: int, imm: int, funct3: int) -> int:
    return (imm >> 5) << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | (imm & 31) << 7 | 0x23


def load(rd: int, rs1: int, imm: int, funct3: int, opcode: int = 0x03) -> int:
    return (imm & 0xFFF) << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode


ECALL, EBREAK, C_EBREAK, C_NOP, C_UNIMP = 0x00000073, 0x00100073, 0x9002, 0x0001, 0x0000
C_ADDI_X5_1 = 0x0285  # c.addi x5, 1
C_FSDSP_F8_0, C_FLDSP_F8_0 = 0xA022, 0x2402  # c.fsdsp f8, 0(sp); c.fldsp f8, 0(sp)
FMV_W_X_F2_X6 = 0xF0030153


def encode(*instructions: int) -> bytes:
    return b"".join(i.to_bytes(4 if i & 3 == 3 else 2, "little") for i in instructions)


def machine(*instructions: int, xlen: int = 64, fs: bool = False) -> Uc:
    uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV64 if xlen == 64 else UC_MODE_RISCV32)
    uc.ctl_set_cpu_model(
        rc.UC_CPU_RISCV64_SIFIVE_U54 if xlen == 64 else rc.UC_CPU_RISCV32_SIFIVE_U34
    )
    uc.mem_map(BASE, 0x2000)
    uc.mem_write(BASE, encode(*instructions))
    if fs:
        uc.reg_write(rc.UC_RISCV_REG_MSTATUS, 3 << 13)
    return uc


class Run:
    """One counted run: the native counter, the interrupts seen (number, pc), the error."""

    def __init__(self, uc: Uc, limit: int, begin: int = BASE) -> None:
        counter = StepCounter(uc, pc_register=PC)
        self.interrupts: list[tuple[int, int]] = []

        def on_interrupt(uc: Uc, number: int, _: object) -> None:
            self.interrupts.append((number, uc.reg_read(PC)))
            uc.emu_stop()

        uc.hook_add(UC_HOOK_INTR, on_interrupt)
        self.error: int | None = None
        try:
            counter.run(uc, begin, limit)
        except UcError as error:
            self.error = error.errno
        self.hooked, self.last = counter.hooked, counter.last_address
        counter.close()


@pytest.mark.parametrize("xlen", [64, 32])
@pytest.mark.parametrize("count", [1, 2, 3, 7, 13, 20])
def test_count_limit_is_exact_over_mixed_lengths(xlen, count):
    uc = machine(*[C_ADDI_X5_1, addi(5, 5, 1)] * 10, xlen=xlen)
    uc.emu_start(BASE, 0, count=count)
    assert uc.reg_read(X5) == count
    assert uc.reg_read(PC) == BASE + 6 * (count // 2) + 2 * (count % 2)


def test_ecall_is_interrupt_8_with_pc_past_it_and_counted():
    run = Run(machine(addi(5, 0, 1), ECALL, addi(5, 5, 1)), 10)
    assert run.interrupts == [(8, BASE + 8)]
    assert (run.hooked, run.last, run.error) == (2, BASE + 4, None)


@pytest.mark.parametrize("xlen", [64, 32])
def test_illegal_instruction_is_interrupt_2_reporting_pc_plus_4_even_after_2_bytes(xlen):
    run = Run(machine(addi(5, 0, 1), C_NOP, C_UNIMP, xlen=xlen), 10)
    assert run.interrupts == [(2, BASE + 6 + 4)]
    assert (run.hooked, run.last) == (3, BASE + 6)  # the faulting parcel was hooked


@pytest.mark.parametrize("word", [EBREAK, C_EBREAK])
def test_ebreak_stops_with_insn_invalid_at_its_own_pc(word):
    uc = machine(addi(5, 0, 1), word)
    run = Run(uc, 10)
    assert (run.error, run.interrupts, run.hooked) == (UC_ERR_INSN_INVALID, [], 2)
    assert uc.reg_read(PC) == run.last == BASE + 4


def test_x0_holds_a_written_value_but_instructions_read_zero():
    uc = machine(addi(0, 0, 5), addi(5, 0, 7))
    uc.reg_write(rc.UC_RISCV_REG_X0, 9)
    uc.emu_start(BASE, 0, count=2)
    assert uc.reg_read(rc.UC_RISCV_REG_X0) == 9  # so the engine never writes or reads x0
    assert uc.reg_read(X5) == 7


def test_cycle_and_instret_read_the_host_clock_and_time_traps():
    for csr in (0xC00, 0xC02):  # cycle, instret
        uc = machine(csrr(10, csr), csrr(11, csr))
        uc.emu_start(BASE, 0, count=2)
        first, second = uc.reg_read(A0), uc.reg_read(A1)
        assert 1_000_000 < first < second  # a free-running host counter, not a step count
    run = Run(machine(csrr(10, 0xC01)), 1)  # time
    assert run.interrupts == [(2, BASE + 4)]


def test_fpu_starts_off_and_compressed_fp_stores_and_loads_are_silent_no_ops():
    uc = machine(C_FSDSP_F8_0, C_FLDSP_F8_0)
    assert uc.reg_read(rc.UC_RISCV_REG_MSTATUS) == 0
    uc.reg_write(rc.UC_RISCV_REG_SP, DATA)
    uc.mem_write(DATA, b"\xaa" * 8)
    uc.reg_write(rc.UC_RISCV_REG_F8, 0x1122334455667788)
    uc.emu_start(BASE, 0, count=1)
    assert bytes(uc.mem_read(DATA, 8)) == b"\xaa" * 8 and uc.reg_read(PC) == BASE + 2
    uc.emu_start(BASE + 2, 0, count=1)
    assert uc.reg_read(rc.UC_RISCV_REG_F8) == 0x1122334455667788 and uc.reg_read(PC) == BASE + 4


def test_with_fs_on_compressed_fp_stores_and_loads_move_data():
    uc = machine(C_FSDSP_F8_0, C_FLDSP_F8_0, fs=True)
    uc.reg_write(rc.UC_RISCV_REG_SP, DATA)
    uc.reg_write(rc.UC_RISCV_REG_F8, 0x1122334455667788)
    uc.emu_start(BASE, 0, count=1)
    assert bytes(uc.mem_read(DATA, 8)) == bytes.fromhex("8877665544332211")
    uc.reg_write(rc.UC_RISCV_REG_F8, 0)
    uc.emu_start(BASE + 2, 0, count=1)
    assert uc.reg_read(rc.UC_RISCV_REG_F8) == 0x1122334455667788


def test_flw_nan_boxes_but_fmv_w_x_does_not():
    uc = machine(load(1, 6, 0, 2, opcode=0x07), FMV_W_X_F2_X6, fs=True)
    uc.reg_write(X6, DATA)
    uc.mem_write(DATA, b"\x01\x02\x03\x04")
    uc.emu_start(BASE, 0, count=1)
    assert uc.reg_read(rc.UC_RISCV_REG_F1) == 0xFFFFFFFF_04030201
    uc.reg_write(X6, 0x12345678)
    uc.emu_start(BASE + 4, 0, count=1)
    assert uc.reg_read(rc.UC_RISCV_REG_F2) == 0x12345678  # the spec NaN-boxes: flagged


def test_reservation_is_hidden_state_that_survives_runs_and_compares_values():
    lr_w, sc_w = amo(0b00010, 5, 6), amo(0b00011, 7, 6, 8)
    uc = machine(lr_w, sc_w)
    uc.reg_write(X6, DATA)
    uc.reg_write(X8, 42)
    uc.emu_start(BASE, 0, count=1)
    uc.emu_start(BASE + 4, 0, count=1)
    assert uc.reg_read(X7) == 0 and bytes(uc.mem_read(DATA, 4)) == (42).to_bytes(4, "little")
    fresh = machine(lr_w, sc_w)
    fresh.reg_write(X6, DATA)
    fresh.emu_start(BASE + 4, 0, count=1)
    assert fresh.reg_read(X7) == 1  # no reservation in a new Uc
    # Memory changed between lr and sc: unicorn fails the sc (the witness rule would not).
    changed = machine(lr_w, store(8, 6, 0, 2), sc_w)
    changed.reg_write(X6, DATA)
    changed.reg_write(X8, 42)
    changed.emu_start(BASE, 0, count=3)
    assert changed.reg_read(X7) == 1


def test_exits_stop_before_the_address_without_counting_it():
    uc = machine(*[addi(5, 5, 1)] * 10)
    uc.ctl_exits_enabled(True)
    uc.ctl_set_exits([BASE + 24])
    run = Run(uc, 100)
    assert (run.hooked, uc.reg_read(X5), uc.reg_read(PC), run.error) == (6, 6, BASE + 24, None)
    start_at_exit = Run(uc, 100, begin=BASE + 24)
    assert (start_at_exit.hooked, uc.reg_read(X5)) == (0, 6)  # nothing runs from an exit
    uc.ctl_set_exits([BASE + 36])
    resumed = Run(uc, 100, begin=BASE + 24)
    assert (resumed.hooked, uc.reg_read(X5), uc.reg_read(PC)) == (3, 9, BASE + 36)
    uc.emu_start(BASE, 0, count=2)  # the count limit still works with exits enabled
    assert uc.reg_read(X5) == 11 and uc.reg_read(PC) == BASE + 8


def test_limit_stop_counts_the_next_instruction_but_does_not_run_it():
    uc = machine(*[addi(5, 5, 1)] * 10)
    run = Run(uc, 4)
    assert (run.hooked, run.last, uc.reg_read(X5)) == (5, BASE + 16, 4)


def test_fetch_from_a_data_page_faults_after_the_jump_ran():
    jal_next_page = 0x6F | (((0xFFC >> 1) & 0x3FF) << 21) | ((0xFFC >> 11 & 1) << 20)
    uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV64)
    uc.ctl_set_cpu_model(rc.UC_CPU_RISCV64_SIFIVE_U54)
    uc.mem_map(BASE, 0x1000, UC_PROT_READ | UC_PROT_EXEC)
    uc.mem_map(DATA, 0x1000, UC_PROT_READ | UC_PROT_WRITE)
    uc.mem_write(BASE, encode(addi(5, 5, 1), jal_next_page))
    uc.mem_write(DATA, encode(addi(5, 5, 1)))
    run = Run(uc, 10)
    assert (run.error, run.hooked, uc.reg_read(PC), uc.reg_read(X5)) == (
        UC_ERR_FETCH_PROT, 2, DATA, 1)
    uc.mem_protect(DATA, 0x1000, UC_PROT_READ | UC_PROT_EXEC)
    again = Run(uc, 1, begin=DATA)
    assert (again.error, uc.reg_read(X5)) == (None, 2)


def test_store_to_a_code_page_faults_before_it_runs():
    uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV64)
    uc.ctl_set_cpu_model(rc.UC_CPU_RISCV64_SIFIVE_U54)
    uc.mem_map(BASE, 0x1000, UC_PROT_READ | UC_PROT_EXEC)
    uc.mem_write(BASE, encode(addi(0, 0, 0), addi(5, 0, 1), store(5, 6, 0x100, 3)))
    uc.reg_write(X6, BASE)
    run = Run(uc, 10)
    assert (run.error, run.hooked, run.last, uc.reg_read(PC)) == (
        UC_ERR_WRITE_PROT, 3, BASE + 8, BASE + 8)
    assert bytes(uc.mem_read(BASE + 0x100, 8)) == bytes(8)


def test_self_modifying_code_runs_stale_translations_until_the_cache_is_dropped():
    # sd x7 -> BASE+20 replaces `addi x5, x0, 9` with `addi x5, x0, 0` in the same block.
    program = [addi(7, 0, 0x293), store(7, 6, 20, 3), addi(5, 0, 7), addi(5, 0, 9)]
    uc = machine(*program, 0x00000013, addi(5, 0, 9))
    uc.reg_write(X6, BASE)
    uc.emu_start(BASE, 0, count=6)
    assert uc.reg_read(X5) == 9  # stale: unicorn does not see the store to its code
    assert bytes(uc.mem_read(BASE + 20, 4)) == (0x293).to_bytes(4, "little")
    uc.ctl_remove_cache(BASE, BASE + 0x1000)
    uc.emu_start(BASE + 20, 0, count=1)
    assert uc.reg_read(X5) == 0


def test_misaligned_loads_and_stores_run_even_across_pages():
    uc = machine(store(8, 6, 0, 3), load(5, 6, 0, 3))
    uc.mem_map(DATA + 0x1000, 0x1000)
    uc.reg_write(X6, DATA + 0xFFD)
    uc.reg_write(X8, 0x0102030405060708)
    run = Run(uc, 2)
    assert (run.error, run.interrupts, uc.reg_read(X5)) == (None, [], 0x0102030405060708)
    assert bytes(uc.mem_read(DATA + 0xFFD, 8)) == bytes.fromhex("0807060504030201")


def test_misaligned_amo_is_interrupt_4_load_misaligned():
    uc = machine(amo(0b00000, 5, 6, 8))  # amoadd.w
    uc.reg_write(X6, DATA + 2)
    run = Run(uc, 1)
    assert run.interrupts == [(4, BASE + 4)] and run.hooked == 1


def test_load_above_4_gib_is_refused_by_the_unmapped_hook():
    uc = machine(load(5, 6, 0, 3))
    seen: list[int] = []
    uc.hook_add(UC_HOOK_MEM_READ_UNMAPPED, lambda uc, access, addr, *_: seen.append(addr))
    uc.reg_write(X6, 1 << 32)
    run = Run(uc, 1)
    assert (run.error, run.hooked, run.last, seen) == (UC_ERR_READ_UNMAPPED, 1, BASE, [1 << 32])


def test_host_writes_to_translated_code_leave_the_stale_translation():
    uc = machine(addi(5, 0, 1))
    uc.emu_start(BASE, 0, count=1)
    uc.mem_write(BASE, encode(addi(5, 0, 2)))
    uc.emu_start(BASE, 0, count=1)
    assert uc.reg_read(X5) == 1  # so the engine drops a code page's translations itself
    uc.ctl_remove_cache(BASE, BASE + 4)
    uc.emu_start(BASE, 0, count=1)
    assert uc.reg_read(X5) == 2


_PROTECT_IN_FETCH_HOOK = """
from unicorn import *
from unicorn import riscv_const as rc
uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV64)
uc.ctl_set_cpu_model(rc.UC_CPU_RISCV64_SIFIVE_U54)
uc.mem_map(0x10000, 0x1000, UC_PROT_READ | UC_PROT_WRITE)
uc.mem_write(0x10000, (0x00128293).to_bytes(4, "little") * 4)
def on_fetch(uc, access, address, size, value, _):
    uc.mem_protect(address & ~0xFFF, 0x1000, UC_PROT_READ | UC_PROT_EXEC)
    return True
uc.hook_add(UC_HOOK_MEM_FETCH_PROT, on_fetch)
uc.emu_start(0x10000, 0, count=4)
print(uc.reg_read(rc.UC_RISCV_REG_X5))
"""


def test_changing_page_modes_inside_a_fetch_hook_crashes_the_process():
    """Why the engine makes a page executable only after the run has stopped."""
    result = subprocess.run([sys.executable, "-c", _PROTECT_IN_FETCH_HOOK],
                            capture_output=True, timeout=60, check=False)
    assert result.returncode < 0 and result.stdout == b""  # killed by a signal (SIGSEGV)
