"""Zicsr on the few CSRs a user program may see.

Counters are deterministic functions of the step counter (the pre-state's
`step`): cycle = instret = step, time = step >> TIME_SHIFT; on RV32 the *h CSRs
read the high halves. They are read-only: any write attempt panics
(READ_ONLY_CSR). fflags, frm and fcsr are plain data views of the `fcsr` field.
Any other CSR panics (UNSUPPORTED_CSR), even for a read.

As the spec says, csrrs/csrrc with rs1 = x0 (csrrsi/csrrci with uimm = 0) do
not write, whatever the value; csrrw/csrrwi always write. (Reads have no side
effects here, so csrrw with rd = x0 needs no special case.)
"""

from __future__ import annotations

from flexemu.isa.riscv.decode import Instruction
from flexemu.isa.riscv.io import LeafIO
from flexemu.isa.riscv.panic import Panic, StepPanic
from flexemu.isa.riscv.registers import write_x
from flexemu.isa.riscv.state import RiscvState

INSTRUCTIONS = ("csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci")
TIME_SHIFT = 4  # one timer tick per 16 steps

FFLAGS, FRM, FCSR = 0x001, 0x002, 0x003
CYCLE, TIME, INSTRET = 0xC00, 0xC01, 0xC02
CYCLEH, TIMEH, INSTRETH = 0xC80, 0xC81, 0xC82

# Which bits of the fcsr field each FP CSR views: (shift, width).
FP_CSRS = {FFLAGS: (0, 5), FRM: (5, 3), FCSR: (0, 8)}


def counter(csr: int, step: int, xlen: int) -> int | None:
    """The value of a counter CSR at `step`, or None if `csr` is not a counter on this XLEN."""
    value = {CYCLE: step, INSTRET: step, TIME: step >> TIME_SHIFT}
    if csr in value:
        return value[csr] & ((1 << xlen) - 1)
    if xlen == 32 and csr - 0x80 in value:
        return (value[csr - 0x80] >> 32) & 0xFFFFFFFF
    return None


def csr_access(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> None:
    immediate = ins.name.endswith("i")
    source = ins.rs1 if immediate else state.x[ins.rs1]
    kind = ins.name[:5]  # csrrw, csrrs, csrrc
    writes = kind == "csrrw" or ins.rs1 != 0
    count = counter(ins.csr, state.step, state.xlen)
    if count is not None:
        if writes:
            raise StepPanic(Panic.READ_ONLY_CSR)
        write_x(state, ins.rd, count)
        return
    if ins.csr not in FP_CSRS:
        raise StepPanic(Panic.UNSUPPORTED_CSR)
    shift, width = FP_CSRS[ins.csr]
    field_mask = (1 << width) - 1
    old = (state.fcsr >> shift) & field_mask
    if kind == "csrrw":
        new = source
    elif kind == "csrrs":
        new = old | source
    else:
        new = old & ~source
    if writes:
        state.fcsr = (state.fcsr & ~(field_mask << shift)) | ((new & field_mask) << shift)
    write_x(state, ins.rd, old)
