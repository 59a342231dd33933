"""Random RISC-V code through the whole fast engine against the reference stepper.

Hypothesis draws a short program of random 32-bit words and 16-bit parcels (biased
towards real opcodes, so that loads, stores, jumps, atomics, CSRs, FP and system
instructions all appear) and random register values (small ones that address mapped
memory, and large ones past 4 GiB); the engine and the reference then take the same
number of steps. Everything the glue does is on this path: whitelisted instructions in
unicorn, flagged ones at exits, traps handed over, lazily mapped pages, stores into the
code page (W^X), jumps to unmapped or out-of-range code, syscalls, panics.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flexemu.isa.riscv.engine import RiscvEngine
from flexemu.isa.riscv.state import RiscvState
from flexemu.isa.riscv.step import step
from flexemu.memory import Memory
from flexemu.mips.io import FullIO
from flexemu.state import Status
from tests.conftest import memory_diff, state_diff

CODE = 0x10000
STEPS = 12
OPCODES = [0x03, 0x07, 0x0F, 0x13, 0x17, 0x1B, 0x23, 0x27, 0x2F, 0x33, 0x37, 0x3B, 0x43,
           0x53, 0x63, 0x67, 0x6F, 0x73]


CSRS = [0x001, 0x002, 0x003, 0xC00, 0xC01, 0xC02, 0xC80, 0xC81, 0xC82, 0x300, 0x7C0]


@st.composite
def instruction(draw: st.DrawFn) -> bytes:
    """Mostly legal encodings: random fields under a real opcode with a common funct7 (or a
    counter/FP CSR), some compressed parcels, and some words that are anything at all."""
    kind = draw(st.integers(0, 5))
    if kind <= 1:
        parcel = draw(st.integers(1, 0xFFFF).filter(lambda p: p & 3 != 3))
        return parcel.to_bytes(2, "little")
    if kind == 2:
        return draw(st.integers(0, (1 << 32) - 1)).to_bytes(4, "little")
    opcode = draw(st.sampled_from(OPCODES))
    word = draw(st.integers(0, (1 << 25) - 1)) << 7 | opcode
    if opcode in (0x33, 0x3B, 0x13, 0x1B):  # funct7 0, 0x20 (sub/sra) or 1 (M)
        word = word & 0x01FFFFFF | draw(st.sampled_from([0, 0x20, 1])) << 25
    if opcode == 0x73:
        word = word & 0x000FFFFF | draw(st.sampled_from(CSRS)) << 20
    if opcode == 0x2F:  # lr/sc/amo of a legal width
        word = word & ~0x7000 | draw(st.sampled_from([2, 3])) << 12
    return word.to_bytes(4, "little")


@st.composite
def register_value(draw: st.DrawFn, xlen: int) -> int:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.integers(0, (1 << xlen) - 1))
    if kind == 1:
        return CODE + draw(st.integers(-64, 256))  # around the code: stores into it
    return draw(st.integers(0, 1 << 20))


@st.composite
def machines(draw: st.DrawFn) -> tuple[RiscvState, Memory]:
    xlen = draw(st.sampled_from([32, 64]))
    code = b"".join(draw(st.lists(instruction(), min_size=3, max_size=STEPS)))
    memory = Memory()
    memory.write_bytes(CODE, code)
    state = RiscvState(xlen=xlen, pc=CODE, brk=0x20000, mmap_next=0x40000000)
    state.x = [0] + [draw(register_value(xlen)) for _ in range(31)]
    state.f = draw(st.lists(st.integers(0, (1 << 64) - 1), min_size=32, max_size=32))
    state.mem_root = memory.root()
    return state, memory


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machines())
def test_engine_equals_reference_on_random_code(machine):
    state, memory = machine
    engine = RiscvEngine(state, memory.pages, Memory())
    reference, reference_memory = state.copy(), memory.copy()
    io = FullIO(reference_memory, Memory(), record=False)
    for _ in range(STEPS):
        if reference.status != Status.RUNNING:
            break
        step(reference, io)
    engine.advance(reference.step)
    diff = state_diff(engine.state, reference)
    assert not diff, "; ".join(diff[:6])
    assert not memory_diff(engine.pages(), reference_memory.pages)
    assert engine.output == io.output
