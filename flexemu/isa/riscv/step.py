"""The RISC-V step: the executable specification of one state transition.

`step(state, io)` executes exactly one instruction (a 2-byte compressed one
included) or, for an exited or panicked state, nothing at all: terminal states
are fixed points. It touches memory only through `io` (leaf by leaf, see
io.py), so the same code runs over full memory and over a proof alone.
`mem_root` is left to the caller (FullIO's memory, or ProofIO's running root).

Conventions, for a verifier to mirror:
- Fetch: pc must leave 2 bytes below 2^32; the 16-bit parcel at pc decides the
  length (low bits 11: 4 bytes, which must also fit, else 2 bytes). The fetch is
  the first memory access of the step.
- A compressed instruction runs as its 32-bit expansion with length 2.
- Every check that can panic happens before any register, memory or
  reservation change, so a panic changes only status, exit_code and step.
"""

from __future__ import annotations

from functools import lru_cache

from flexemu.isa.riscv import alu, atomics, control, csr, fp, loadstore, muldiv, system
from flexemu.isa.riscv.bits import unsigned
from flexemu.isa.riscv.compressed import expand
from flexemu.isa.riscv.decode import Instruction, decode, is_fp_computation
from flexemu.isa.riscv.io import LeafIO, fits, load
from flexemu.isa.riscv.panic import Panic, StepPanic
from flexemu.isa.riscv.registers import Handler
from flexemu.isa.riscv.state import RiscvState
from flexemu.stepping import take_step


def _table() -> dict[str, Handler]:
    table: dict[str, Handler] = {"lui": alu.lui, "auipc": alu.auipc}
    table.update(dict.fromkeys(alu.REGISTER_OPERATIONS, alu.op))
    table.update(dict.fromkeys(alu.IMMEDIATE_OPERATIONS, alu.op_imm))
    table.update(dict.fromkeys(muldiv.OPERATIONS, muldiv.muldiv))
    table.update({"jal": control.jal, "jalr": control.jalr})
    table.update(dict.fromkeys(control.CONDITIONS, control.branch))
    table.update(dict.fromkeys(loadstore.LOADS, loadstore.load))
    table.update(dict.fromkeys(loadstore.STORES, loadstore.store))
    table.update({"lr.w": atomics.lr, "lr.d": atomics.lr, "sc.w": atomics.sc, "sc.d": atomics.sc})
    for name in atomics.AMO_OPERATIONS:
        table[f"{name}.w"] = table[f"{name}.d"] = atomics.amo
    table.update({"flw": fp.fp_load, "fld": fp.fp_load, "fsw": fp.fp_store, "fsd": fp.fp_store})
    table.update(dict.fromkeys(("fmv.x.w", "fmv.w.x", "fmv.x.d", "fmv.d.x"), fp.fmv))
    table.update(dict.fromkeys(csr.INSTRUCTIONS, csr.csr_access))
    table.update({"fence": system.fence, "fence.i": system.fence})
    table.update({"ecall": system.ecall, "ebreak": system.ebreak})
    return table


IMPLEMENTATIONS: dict[str, Handler] = _table()


def step(state: RiscvState, io: LeafIO) -> None:
    """Advance `state` by one step."""
    take_step(state, io, _execute)


def fetch(state: RiscvState, io: LeafIO) -> tuple[int, int]:
    """(raw instruction, length in bytes) at pc."""
    pc = state.pc
    if not fits(pc, 2):
        raise StepPanic(Panic.ADDRESS_OUT_OF_RANGE)
    parcel = load(io, pc, 2)
    if parcel & 3 != 3:
        return parcel, 2
    if not fits(pc, 4):
        raise StepPanic(Panic.ADDRESS_OUT_OF_RANGE)
    return parcel | (load(io, pc + 2, 2) << 16), 4


def instruction(raw: int, length: int, xlen: int) -> Instruction:
    """The decoded instruction, or the panic an undecodable one is."""
    decoded = _decoded(raw, length, xlen)
    if isinstance(decoded, Panic):
        raise StepPanic(decoded)
    return decoded


@lru_cache(maxsize=1 << 16)
def _decoded(raw: int, length: int, xlen: int) -> Instruction | Panic:
    """Decoding is a pure function of the raw bits, so it is memoised (a speed-up only)."""
    word = raw
    if length == 2:
        expansion = expand(raw, xlen)
        if expansion is None:
            return Panic.ILLEGAL_INSTRUCTION
        word = expansion[1]
    decoded = decode(word, xlen)
    if decoded is None:
        return Panic.FLOATING_POINT if is_fp_computation(word) else Panic.ILLEGAL_INSTRUCTION
    return decoded


def _execute(state: RiscvState, io: LeafIO) -> None:
    raw, length = fetch(state, io)
    ins = instruction(raw, length, state.xlen)
    target = IMPLEMENTATIONS[ins.name](state, io, ins, length)
    state.pc = unsigned(state.pc + length, state.xlen) if target is None else target
