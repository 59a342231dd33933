"""Property tests of the RISC-V reference step on random instructions and states.

Random 32-bit words (half of them steered onto real encodings of the decode
table) and random 16-bit parcels run from random registers, a random pc (also
at leaf offset 30, so a 4-byte fetch spans two leaves) and random memory. For
every one: the step raises nothing but a defined panic, a panic changes only
status/exit_code/step, and the proof-mode replay equals the full-memory step
(post-state, hash, consumed proof bytes).
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flexemu.isa.mips.state import Status
from flexemu.isa.riscv.decode import ENCODINGS
from flexemu.isa.riscv.panic import Panic
from flexemu.isa.riscv.state import NO_RESERVATION, RESERVED_DOUBLE, RESERVED_WORD, RiscvState
from flexemu.isa.riscv.syscalls import SYSCALLS
from flexemu.memory import Memory
from tests.riscv_support import Machine, prove_and_check

CODE = 0x0001_0000
DATA = 0x0002_0000
INPUT = b"random stdin bytes for read(0, ...), longer than one leaf: 0123456789"

ECALL = 0x00000073


def xlen_values(xlen: int) -> st.SearchStrategy[int]:
    top = (1 << xlen) - 1
    edges = [0, 1, 2, 3, 4, 7, 8, 31, 32, 63, 64, top, top - 1, 1 << (xlen - 1),
             (1 << (xlen - 1)) - 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
             0x100000000 & top]  # fmt: skip
    pointers = st.integers(DATA - 64, DATA + 4096 + 64)
    return st.one_of(
        st.sampled_from(edges), st.integers(0, top), pointers, st.integers(0, 0xFFFF_FFFF)
    )


@st.composite
def instruction(draw: st.DrawFn, xlen: int) -> tuple[int, int]:
    """(raw, length): a random word, a steered encoding, an ecall, or a 16-bit parcel."""
    kind = draw(st.sampled_from(["word", "encoding", "encoding", "ecall", "parcel", "parcel"]))
    if kind == "parcel":
        half = draw(st.integers(0, 0xFFFF))
        return (half if half & 3 != 3 else half & ~1), 2
    if kind == "ecall":
        return ECALL, 4
    if kind == "word":
        return draw(st.integers(0, 0xFFFFFFFF)) | 3, 4
    encodings = [e for e in ENCODINGS if xlen in e.xlens]
    encoding = draw(st.sampled_from(encodings))
    return encoding.match | (draw(st.integers(0, 0xFFFFFFFF)) & ~encoding.mask), 4


@st.composite
def machines(draw: st.DrawFn) -> tuple[Machine, int, int]:
    xlen = draw(st.sampled_from([32, 64]))
    raw, length = draw(instruction(xlen))
    offset = (
        draw(st.sampled_from([0, 2, 28, 30])) if length == 4 else draw(st.sampled_from([0, 30]))
    )
    pc = CODE + 32 * draw(st.integers(0, 3)) + offset
    memory = Memory()
    # random data around DATA, from a drawn seed (small examples, reproducible)
    memory.write_bytes(DATA - 64, random.Random(draw(st.integers(0, 2**32))).randbytes(4096 + 128))
    memory.write_bytes(pc, raw.to_bytes(length, "little"))
    if length == 2:  # what follows a parcel is never read
        memory.write_bytes(pc + 2, draw(st.binary(min_size=2, max_size=2)))
    input_memory = Memory()
    input_memory.write_bytes(0, INPUT)
    regs = [0] + [draw(xlen_values(xlen)) for _ in range(31)]
    if raw == ECALL:
        regs[17] = draw(st.sampled_from([*SYSCALLS[xlen], 0, 1000]))
        regs[10] = draw(st.sampled_from([0, 1, 2, 3, regs[10]]))
    reservation = draw(
        st.sampled_from([NO_RESERVATION, RESERVED_WORD] + ([RESERVED_DOUBLE] if xlen == 64 else []))
    )
    reservation_addr = draw(
        st.sampled_from([DATA, DATA + 8, regs[draw(st.integers(1, 31))] & 0xFFFFFFFF])
    )
    state = RiscvState(
        xlen=xlen,
        pc=pc,
        x=regs,
        f=[draw(st.integers(0, (1 << 64) - 1)) for _ in range(32)],
        fcsr=draw(st.integers(0, 0xFF)),
        reservation=reservation,
        reservation_addr=reservation_addr if reservation != NO_RESERVATION else 0,
        brk=0x30000,
        mmap_next=0x40000000,
        step=draw(st.sampled_from([0, 1, 12345, (1 << 64) - 1, (1 << 32) + 17])),
        input_len=len(INPUT),
        input_pos=draw(st.integers(0, len(INPUT))),
        input_root=input_memory.root(),
        mem_root=memory.root(),
    )
    return Machine(state, memory, input_memory), raw, length


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machines())
def test_random_step_proves_and_panics_cleanly(drawn: tuple[Machine, int, int]) -> None:
    machine, _, _ = drawn
    pre = machine.state.copy()
    full, checked, _ = prove_and_check(machine)
    assert checked == full
    assert checked.hash() == full.hash()
    assert full.step == (pre.step + 1) % (1 << 64)
    if full.status == Status.PANICKED:
        assert full.exit_code in set(Panic)
        unchanged = pre.copy()
        unchanged.status, unchanged.exit_code, unchanged.step = (
            full.status,
            full.exit_code,
            full.step,
        )
        unchanged.mem_root = full.mem_root
        assert full == unchanged, "a panic changed more than status, exit_code and step"
        assert full.mem_root == pre.mem_root
    assert full.x[0] == 0
    assert all(0 <= v < (1 << pre.xlen) for v in full.x)
    assert all(0 <= v < (1 << 64) for v in full.f)
    assert full.fcsr <= 0xFF
    assert RiscvState.from_witness(full.witness()) == full


@settings(max_examples=200, deadline=None)
@given(machines())
def test_terminal_states_are_fixed_points(drawn: tuple[Machine, int, int]) -> None:
    machine, _, _ = drawn
    machine.state.status = Status.EXITED
    pre = machine.state.copy()
    pre.mem_root = machine.memory.root()
    full, checked, proof = prove_and_check(machine)
    assert proof == b""
    assert full == checked == pre
