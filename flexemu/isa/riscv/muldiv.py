"""The M extension. Division never traps: by zero the quotient is all ones and the
remainder the dividend; the overflowing MIN / -1 gives MIN and remainder 0. Division
rounds toward zero. The *W forms (RV64) work on the low 32 bits and sign-extend.
"""

from __future__ import annotations

from flexemu.isa.riscv.alu import Operation
from flexemu.isa.riscv.bits import MASK32, sext, sext32, signed, unsigned
from flexemu.isa.riscv.decode import Instruction
from flexemu.isa.riscv.io import LeafIO
from flexemu.isa.riscv.registers import write_x
from flexemu.isa.riscv.state import RiscvState


def quotient(n: int, d: int) -> int:
    """Signed division rounding toward zero, with RISC-V's results for d = 0."""
    if d == 0:
        return -1
    q = abs(n) // abs(d)
    return q if (n < 0) == (d < 0) else -q


def remainder(n: int, d: int) -> int:
    """The remainder matching `quotient` (sign of the dividend); n for d = 0."""
    if d == 0:
        return n
    return n - d * quotient(n, d)


def mul(a: int, b: int, xlen: int) -> int:
    return unsigned(a * b, xlen)


def mulh(a: int, b: int, xlen: int) -> int:
    return unsigned((signed(a, xlen) * signed(b, xlen)) >> xlen, xlen)


def mulhsu(a: int, b: int, xlen: int) -> int:
    return unsigned((signed(a, xlen) * b) >> xlen, xlen)


def mulhu(a: int, b: int, xlen: int) -> int:
    return (a * b) >> xlen


def div(a: int, b: int, xlen: int) -> int:
    # MIN / -1 = 2^(xlen-1), which wraps back to MIN.
    return unsigned(quotient(signed(a, xlen), signed(b, xlen)), xlen)


def divu(a: int, b: int, xlen: int) -> int:
    return unsigned(quotient(a, b), xlen)


def rem(a: int, b: int, xlen: int) -> int:
    return unsigned(remainder(signed(a, xlen), signed(b, xlen)), xlen)


def remu(a: int, b: int, xlen: int) -> int:
    return unsigned(remainder(a, b), xlen)


def mulw(a: int, b: int, xlen: int) -> int:
    return sext32(a * b, xlen)


def divw(a: int, b: int, xlen: int) -> int:
    return sext32(quotient(sext(a, 32), sext(b, 32)), xlen)


def divuw(a: int, b: int, xlen: int) -> int:
    return sext32(quotient(a & MASK32, b & MASK32), xlen)


def remw(a: int, b: int, xlen: int) -> int:
    return sext32(remainder(sext(a, 32), sext(b, 32)), xlen)


def remuw(a: int, b: int, xlen: int) -> int:
    return sext32(remainder(a & MASK32, b & MASK32), xlen)


OPERATIONS: dict[str, Operation] = {
    "mul": mul, "mulh": mulh, "mulhsu": mulhsu, "mulhu": mulhu,
    "div": div, "divu": divu, "rem": rem, "remu": remu,
    "mulw": mulw, "divw": divw, "divuw": divuw, "remw": remw, "remuw": remuw,
}  # fmt: skip


def muldiv(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> None:
    a, b = state.x[ins.rs1], state.x[ins.rs2]
    write_x(state, ins.rd, OPERATIONS[ins.name](a, b, state.xlen))
