"""Unit tests of the RISC-V step where qemu cannot be the oracle: flexEmu's own rules
(counters from the step counter, the CSR and FP policies, the 32-bit physical space,
the LR/SC width rule, panics) and the proof shape of single steps. Every step here
also runs in proof mode and must agree (tests/riscv_support.prove_and_check)."""

from __future__ import annotations

import json

import pytest

from flexemu.isa.mips.state import Status
from flexemu.isa.riscv.compressed import i_type, r_type, s_type
from flexemu.isa.riscv.csr import TIME_SHIFT
from flexemu.isa.riscv.panic import Panic
from flexemu.isa.riscv.state import NO_RESERVATION, RESERVED_DOUBLE, RESERVED_WORD, RiscvState
from flexemu.memory import Memory
from flexemu.multiproof import leaf_counts
from tests.riscv_support import RISCV_TESTS, Machine, prove_and_check

CODE = 0x10000
DATA = 0x20000
SYSTEM, AMO, LOAD, STORE, OP_IMM = 0x73, 0x2F, 0x03, 0x23, 0x13
T0, T1, T2, A0 = 5, 6, 7, 10


def csr(funct3: int, rd: int, number: int, rs1: int) -> int:
    return i_type(SYSTEM, funct3, rd, rs1, number)


def amo(funct5: int, width: int, rd: int, rs1: int, rs2: int) -> int:
    return r_type(AMO, 2 if width == 4 else 3, funct5 << 2, rd, rs1, rs2)


def machine(xlen: int = 64, code: bytes = b"", pc: int = CODE, **fields: object) -> Machine:
    memory = Memory()
    memory.write_bytes(pc, code)
    regs = fields.pop("x", {})
    state = RiscvState(xlen=xlen, pc=pc, **fields)  # type: ignore[arg-type]
    for reg, value in regs.items():  # type: ignore[attr-defined]
        state.x[reg] = value
    state.mem_root = memory.root()
    return Machine(state, memory, Memory())


def word(*words: int) -> bytes:
    return b"".join(w.to_bytes(4, "little") for w in words)


def run1(m: Machine) -> tuple[RiscvState, bytes]:
    full, checked, proof = prove_and_check(m)
    assert checked == full
    return full, proof


def panics(m: Machine) -> Panic:
    state, _ = run1(m)
    assert state.status == Status.PANICKED
    return Panic(state.exit_code)


# ---------------------------------------------------------------- counters and CSRs


@pytest.mark.parametrize("xlen", [32, 64])
def test_counters_read_the_step_counter(xlen: int) -> None:
    step = (5 << 32) + 0x12345
    for number, expected in [(0xC00, step), (0xC02, step), (0xC01, step >> TIME_SHIFT)]:
        state, _ = run1(machine(xlen, word(csr(2, A0, number, 0)), step=step))
        assert state.x[A0] == expected % (1 << xlen)
        assert state.step == step + 1 and state.pc == CODE + 4
    if xlen == 32:
        for number, expected in [(0xC80, 5), (0xC82, 5), (0xC81, step >> TIME_SHIFT >> 32)]:
            state, _ = run1(machine(xlen, word(csr(2, A0, number, 0)), step=step))
            assert state.x[A0] == expected


def test_high_counters_do_not_exist_on_rv64() -> None:
    assert panics(machine(64, word(csr(2, A0, 0xC80, 0)))) == Panic.UNSUPPORTED_CSR


@pytest.mark.parametrize(
    "instruction",
    [
        csr(1, A0, 0xC00, T0),  # csrrw
        csr(1, 0, 0xC02, 0),  # csrrw x0, instret, x0: still a write
        csr(2, A0, 0xC00, T0),  # csrrs with rs1 != x0, even though t0 = 0
        csr(3, A0, 0xC01, T0),  # csrrc
        csr(5, A0, 0xC00, 0),  # csrrwi with uimm 0: still a write
        csr(6, A0, 0xC00, 1),  # csrrsi with uimm 1
    ],
)
def test_counters_are_read_only(instruction: int) -> None:
    assert panics(machine(64, word(instruction))) == Panic.READ_ONLY_CSR


def test_csrrsi_and_csrrci_with_zero_only_read_a_counter() -> None:
    for funct3 in (6, 7):
        state, _ = run1(machine(64, word(csr(funct3, A0, 0xC00, 0)), step=77))
        assert state.x[A0] == 77


@pytest.mark.parametrize("number", [0x300, 0x305, 0x341, 0x180, 0xC03, 0xB00, 0x7C0, 0x004])
def test_other_csrs_panic(number: int) -> None:
    assert panics(machine(64, word(csr(2, A0, number, 0)))) == Panic.UNSUPPORTED_CSR


def test_fcsr_views() -> None:
    # csrrw frm, t0 with t0 = 0xFF: frm keeps 3 bits, fflags untouched, old frm returned
    state, _ = run1(machine(64, word(csr(1, A0, 0x002, T0)), fcsr=0b101_10011, x={T0: 0xFF}))
    assert state.x[A0] == 0b101 and state.fcsr == 0b111_10011
    state, _ = run1(machine(32, word(csr(7, A0, 0x001, 0b00011)), fcsr=0xFF))
    assert state.x[A0] == 0x1F and state.fcsr == 0b111_11100


# ---------------------------------------------------------------- panics


@pytest.mark.parametrize(
    ("code", "xlen", "reason"),
    [
        (word(0x00100073), 64, Panic.EBREAK),
        ((0x9002).to_bytes(2, "little"), 64, Panic.EBREAK),  # c.ebreak
        (bytes(4), 64, Panic.ILLEGAL_INSTRUCTION),  # the all-zero parcel
        (word(0xFFFFFFFF), 64, Panic.ILLEGAL_INSTRUCTION),
        (word(0x10500073), 64, Panic.ILLEGAL_INSTRUCTION),  # wfi
        (word(0x30200073), 64, Panic.ILLEGAL_INSTRUCTION),  # mret
        (word(0x10200073), 64, Panic.ILLEGAL_INSTRUCTION),  # sret
        (word(0x12000073), 64, Panic.ILLEGAL_INSTRUCTION),  # sfence.vma
        (word(0x00000053), 64, Panic.FLOATING_POINT),  # fadd.s
        (word(0x02000053), 32, Panic.FLOATING_POINT),  # fadd.d
        (word(0x00000043), 64, Panic.FLOATING_POINT),  # fmadd.s
        (word(0xA0000053), 64, Panic.FLOATING_POINT),  # fle.s
        (word(0xE2000553), 32, Panic.FLOATING_POINT),  # fmv.x.d does not exist on RV32
        (word(0xE0001553), 64, Panic.FLOATING_POINT),  # fclass.s (fmv.x.w with funct3 1)
        (word(i_type(LOAD, 3, A0, 0, 0)), 32, Panic.ILLEGAL_INSTRUCTION),  # ld on RV32
        (word(i_type(LOAD, 7, A0, 0, 0)), 64, Panic.ILLEGAL_INSTRUCTION),  # no 16-byte load
        (word(i_type(0x1B, 0, A0, 0, 0)), 32, Panic.ILLEGAL_INSTRUCTION),  # addiw on RV32
        (word(i_type(OP_IMM, 1, A0, A0, 32)), 32, Panic.ILLEGAL_INSTRUCTION),  # slli 32 on RV32
        (word(i_type(0x1B, 1, A0, A0, 32)), 64, Panic.ILLEGAL_INSTRUCTION),  # slliw 32
        (word(amo(0x02, 4, A0, T0, T1)), 64, Panic.ILLEGAL_INSTRUCTION),  # lr.w with rs2 != 0
        (word(r_type(AMO, 4, 0, A0, T0, T1)), 64, Panic.ILLEGAL_INSTRUCTION),  # amoadd width 16
        (word(i_type(0x07, 1, A0, 0, 0)), 64, Panic.ILLEGAL_INSTRUCTION),  # flh (no Zfh)
        (word(0x0000201F), 64, Panic.ILLEGAL_INSTRUCTION),  # a 48-bit encoding prefix
    ],
)
def test_panics(code: bytes, xlen: int, reason: Panic) -> None:
    m = machine(xlen, code, x={T0: DATA})
    pre = m.state.copy()
    state, _ = run1(m)
    assert (state.status, Panic(state.exit_code)) == (Status.PANICKED, reason)
    assert state.pc == pre.pc and state.x == pre.x and state.step == pre.step + 1


def test_panicked_state_is_a_fixed_point() -> None:
    m = machine(64, word(0x00100073))
    first, _ = run1(m)
    second, proof = run1(m)
    assert second == first and proof == b""


# ---------------------------------------------------------------- the 32-bit physical space


@pytest.mark.parametrize(
    ("xlen", "instruction", "base"),
    [
        (64, i_type(LOAD, 3, A0, T0, 0), 1 << 32),  # ld at 4 GiB
        (64, i_type(LOAD, 2, A0, T0, 0), 0xFFFFFFFE),  # lw crossing 4 GiB
        (64, i_type(LOAD, 0, A0, T0, -1), 0),  # lb at 2^64 - 1
        (64, s_type(STORE, 0, T0, A0, 0), 0xFFFF_FFFF_0000_0000),
        (32, i_type(LOAD, 2, A0, T0, 0), 0xFFFFFFFD),  # lw wrapping past 2^32 on RV32
        (32, s_type(STORE, 1, T0, A0, 0), 0xFFFFFFFF),
        (64, amo(0x02, 8, A0, T0, 0), 1 << 40),  # lr.d
    ],
)
def test_accesses_past_4_gib_panic(xlen: int, instruction: int, base: int) -> None:
    assert panics(machine(xlen, word(instruction), x={T0: base})) == Panic.ADDRESS_OUT_OF_RANGE


def test_the_last_byte_of_the_space_is_usable() -> None:
    state, proof = run1(
        machine(32, word(s_type(STORE, 0, T0, T1, 0)), x={T0: 0xFFFFFFFF, T1: 0xAB})
    )
    assert state.status == Status.RUNNING
    assert leaf_counts(proof) == (2, 0)  # the fetch leaf, then the last leaf


def test_fetch_past_4_gib_panics() -> None:
    assert panics(machine(64, b"", pc=1 << 32)) == Panic.ADDRESS_OUT_OF_RANGE
    # a 4-byte instruction in the last two bytes of the space
    assert panics(machine(32, b"\x13\x00", pc=0xFFFFFFFE)) == Panic.ADDRESS_OUT_OF_RANGE
    # but a 2-byte one runs (c.nop), and the pc wraps to 0 on RV32
    state, _ = run1(machine(32, b"\x01\x00", pc=0xFFFFFFFE))
    assert state.status == Status.RUNNING and state.pc == 0


def test_a_fetch_across_a_leaf_boundary_takes_two_proofs() -> None:
    nop = i_type(OP_IMM, 0, 0, 0, 0)
    state, proof = run1(machine(64, word(nop), pc=CODE + 30))
    assert state.pc == CODE + 34 and leaf_counts(proof) == (2, 0)


def test_a_load_across_a_leaf_boundary() -> None:
    m = machine(64, word(i_type(LOAD, 3, A0, T0, 0)), x={T0: DATA + 29})
    m.memory.write_bytes(DATA + 29, bytes(range(1, 9)))
    m.state.mem_root = m.memory.root()
    state, proof = run1(m)
    assert state.x[A0] == int.from_bytes(bytes(range(1, 9)), "little")
    assert leaf_counts(proof) == (3, 0)  # fetch, leaf of DATA, the next leaf


# ---------------------------------------------------------------- LR/SC rules


def test_sc_needs_the_same_width() -> None:
    m = machine(64, word(amo(0x03, 8, A0, T0, T1)), x={T0: DATA, T1: 7})
    m.state.reservation, m.state.reservation_addr = RESERVED_WORD, DATA
    state, proof = run1(m)
    assert state.x[A0] == 1 and state.reservation == NO_RESERVATION
    assert leaf_counts(proof) == (1, 0)  # a failing sc touches no memory


def test_sc_succeeds_on_its_reservation_and_clears_it() -> None:
    m = machine(64, word(amo(0x03, 8, A0, T0, T1)), x={T0: DATA, T1: 7})
    m.state.reservation, m.state.reservation_addr = RESERVED_DOUBLE, DATA
    state, _ = run1(m)
    assert state.x[A0] == 0 and state.reservation == NO_RESERVATION
    assert m.memory.read_bytes(DATA, 8) == (7).to_bytes(8, "little")


def test_amo_keeps_the_reservation() -> None:
    m = machine(64, word(amo(0x00, 4, A0, T0, T1)), x={T0: DATA, T1: 1})
    m.state.reservation, m.state.reservation_addr = RESERVED_WORD, DATA
    state, _ = run1(m)
    assert (state.reservation, state.reservation_addr) == (RESERVED_WORD, DATA)


@pytest.mark.parametrize(("funct5", "width", "offset"), [(0x02, 4, 2), (0x03, 8, 4), (0x01, 4, 1)])
def test_misaligned_atomics_panic(funct5: int, width: int, offset: int) -> None:
    rs2 = 0 if funct5 == 0x02 else T1  # lr has no rs2
    m = machine(64, word(amo(funct5, width, A0, T0, rs2)), x={T0: DATA + offset})
    assert panics(m) == Panic.MISALIGNED_ATOMIC


# ---------------------------------------------------------------- FP data moves


def test_flw_nan_boxes_and_fsw_stores_the_low_half() -> None:
    m = machine(64, word(i_type(0x07, 2, 1, T0, 0)), x={T0: DATA})
    m.memory.write_bytes(DATA, bytes.fromhex("78563412"))
    m.state.mem_root = m.memory.root()
    state, _ = run1(m)
    assert state.f[1] == 0xFFFFFFFF_12345678
    m = machine(
        32,
        word(s_type(0x27, 2, T0, 3, 1)),
        x={T0: DATA},
        f=[0, 0, 0, 0xAABBCCDD_11223344] + [0] * 28,
    )
    run1(m)
    assert m.memory.read_bytes(DATA + 1, 5) == bytes.fromhex("4433221100")


# ---------------------------------------------------------------- legality against qemu

LEGALITY = json.loads(
    (RISCV_TESTS / "cases" / "legality.json").read_text()
)  # (label, xlen, raw, length)
QEMU_VERDICT = dict(
    line.split() for line in (RISCV_TESTS / "expected" / "legality.txt").read_text().splitlines()
)


@pytest.mark.parametrize("index", range(len(LEGALITY)))
def test_legality_agrees_with_qemu(index: int) -> None:
    """Reserved encodings are illegal and hints run, exactly where qemu says so."""
    label, xlen, raw, length = LEGALITY[index]
    qemu = {"0": "runs", "132": "illegal", "133": "ebreak"}.get(
        QEMU_VERDICT[f"{index:03d}"], "other"
    )
    m = machine(xlen, raw.to_bytes(length, "little"), x={10: 0x55, 17: 172})
    state, _ = run1(m)
    ours = "runs"
    if state.status == Status.PANICKED:
        ours = {Panic.ILLEGAL_INSTRUCTION: "illegal", Panic.EBREAK: "ebreak"}.get(
            Panic(state.exit_code), "other"
        )
    assert ours == qemu, label
