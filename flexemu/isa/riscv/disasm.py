"""RISC-V disassembly from the decode table the step uses, in the GNU objdump
`-M no-aliases` syntax: `name operands` with comma-separated operands, branch and
jump targets as absolute hex addresses, U-type and shift immediates in hex.
A compressed instruction prints its 32-bit expansion followed by `# c.name`.
"""

from __future__ import annotations

from flexemu.isa.riscv.bits import bit, field
from flexemu.isa.riscv.compressed import expand
from flexemu.isa.riscv.decode import Format, Instruction, decode, is_fp_computation

# ABI register names: x0..x31 and f0..f31 in order.
X_NAMES = (
    *("zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1"),
    *(f"a{i}" for i in range(8)),
    *(f"s{i}" for i in range(2, 12)),
    *(f"t{i}" for i in range(3, 7)),
)
F_NAMES = (
    *(f"ft{i}" for i in range(8)),
    *("fs0", "fs1"),
    *(f"fa{i}" for i in range(8)),
    *(f"fs{i}" for i in range(2, 12)),
    *(f"ft{i}" for i in range(8, 12)),
)
CSR_NAMES = {
    0x001: "fflags", 0x002: "frm", 0x003: "fcsr",
    0xC00: "cycle", 0xC01: "time", 0xC02: "instret",
    0xC80: "cycleh", 0xC81: "timeh", 0xC82: "instreth",
}  # fmt: skip
LOADS = {"lb", "lh", "lw", "ld", "lbu", "lhu", "lwu", "flw", "fld", "jalr"}


def disassemble(raw: int, length: int, xlen: int, pc: int = 0) -> str:
    """One instruction as text; undecodable ones say why instead of raising."""
    word, suffix = raw, ""
    if length == 2:
        expansion = expand(raw, xlen)
        if expansion is None:
            return f".half 0x{raw:04x} # illegal"
        name, word = expansion
        suffix = f" # {name}"
    ins = decode(word, xlen)
    if ins is None:
        why = "unsupported floating point" if is_fp_computation(word) else "illegal"
        return f".word 0x{word:08x} # {why}"
    operands = _operands(ins, word, pc)
    name = ins.name + (_ordering(word) if ins.format is Format.AMO else "")
    return (f"{name} {operands}" if operands else name) + suffix


def _ordering(word: int) -> str:
    return {0: "", 1: ".rl", 2: ".aq", 3: ".aqrl"}[(bit(word, 26) << 1) | bit(word, 25)]


def _fence_set(bits: int) -> str:
    return "".join(c for c, b in zip("iorw", (8, 4, 2, 1), strict=True) if bits & b) or "0"


def _operands(ins: Instruction, word: int, pc: int) -> str:
    x = X_NAMES
    rd, rs1, rs2 = ins.rd, ins.rs1, ins.rs2
    fp = ins.name[0] == "f" and ins.name not in ("fence", "fence.i")
    fmt = ins.format
    if fmt is Format.R:
        return f"{x[rd]},{x[rs1]},{x[rs2]}"
    if fmt is Format.I:
        dest = F_NAMES[rd] if fp else x[rd]
        if ins.name in LOADS:
            return f"{dest},{ins.imm}({x[rs1]})"
        return f"{dest},{x[rs1]},{ins.imm}"
    if fmt is Format.S:
        return f"{F_NAMES[rs2] if fp else x[rs2]},{ins.imm}({x[rs1]})"
    if fmt is Format.B:
        return f"{x[rs1]},{x[rs2]},{(pc + ins.imm) & ((1 << 64) - 1):x}"
    if fmt is Format.U:
        return f"{x[rd]},0x{(ins.imm >> 12) & 0xFFFFF:x}"
    if fmt is Format.J:
        return f"{x[rd]},{(pc + ins.imm) & ((1 << 64) - 1):x}"
    if fmt is Format.SHIFT:
        return f"{x[rd]},{x[rs1]},0x{ins.imm:x}"
    if fmt is Format.CSR:
        csr = CSR_NAMES.get(ins.csr, f"0x{ins.csr:x}")
        source = str(rs1) if ins.name.endswith("i") else x[rs1]
        return f"{x[rd]},{csr},{source}"
    if fmt is Format.AMO:
        if ins.name.startswith("lr"):
            return f"{x[rd]},({x[rs1]})"
        return f"{x[rd]},{x[rs2]},({x[rs1]})"
    if fmt is Format.FMV:
        to_x = ".x." in ins.name
        return f"{x[rd]},{F_NAMES[rs1]}" if to_x else f"{F_NAMES[rd]},{x[rs1]}"
    if ins.name == "fence":
        return f"{_fence_set(field(word, 27, 24))},{_fence_set(field(word, 23, 20))}"
    return ""
