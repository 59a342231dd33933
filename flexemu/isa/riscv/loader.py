"""Static RISC-V ELF programs (RV32 and RV64) to an initial machine state.

The ELF class picks XLEN. The initial state is a pure function of (ELF bytes,
argv, env, stdin), laid out as for MIPS (docs/spec.md section 9) with
XLEN-sized little-endian words, and the whole image below 4 GiB so that RV64
runs in the same 32-bit committed memory as RV32 (docs/spec.md, section
R8). gp is left 0: the program's own `_start` sets it.
"""

from __future__ import annotations

from flexemu.elf_image import (
    ElfFormat,
    ElfProgram,
    build_stack,
    page_up,
    parse_elf,
    read_ident,
    segment_memory,
    standard_auxv,
)
from flexemu.errors import LoaderError
from flexemu.isa.riscv.io import ADDRESS_LIMIT
from flexemu.isa.riscv.state import RiscvState
from flexemu.program import Image, Program

EM_RISCV = 243
SP = 2  # x2

# Address-space layout below 4 GiB (the same numbers as MIPS).
STACK_TOP = 0x7FFF0000  # first byte above the initial stack
MMAP_BASE = 0x40000000  # anonymous mappings grow up from here

# e_flags (RISC-V ELF psABI)
EF_RISCV_RVC = 0x1
EF_RISCV_FLOAT_ABI = 0x6  # mask: 0 soft, 2 single, 4 double, 6 quad
EF_RISCV_FLOAT_ABI_QUAD = 0x6
EF_RISCV_RVE = 0x8

FORMATS = {
    xlen: ElfFormat(f"RV{xlen}", EM_RISCV, xlen // 8, "little", STACK_TOP)
    for xlen in (32, 64)
}


def is_riscv(elf: bytes) -> bool:
    """Whether `elf` claims to be a RISC-V ELF (it may still be one we refuse)."""
    try:
        return read_ident(elf).machine == EM_RISCV
    except LoaderError:
        return False


def parse_riscv_elf(elf: bytes, name: str = "program") -> tuple[int, ElfProgram]:
    """(XLEN, checked program) of a RISC-V static executable with an ABI we run."""
    ident = read_ident(elf, name)
    if ident.machine != EM_RISCV:
        raise LoaderError(f"{name}: wrong machine {ident.machine}, expected RISC-V ({EM_RISCV})")
    xlen = 8 * ident.word_bytes
    program = parse_elf(elf, FORMATS[xlen], name)
    if program.flags & EF_RISCV_RVE:
        raise LoaderError(f"{name}: RV{xlen}E (16-register ABI) is not supported, only RV{xlen}I")
    if program.flags & EF_RISCV_FLOAT_ABI == EF_RISCV_FLOAT_ABI_QUAD:
        raise LoaderError(f"{name}: the quad-precision float ABI is not supported")
    if program.flags & ~(EF_RISCV_RVC | EF_RISCV_FLOAT_ABI):
        raise LoaderError(f"{name}: unsupported RISC-V ELF flags {program.flags:#x}")
    if program.entry >= FORMATS[xlen].address_limit:
        raise LoaderError(f"{name}: entry point {program.entry:#x} is outside the address space")
    if program.entry % 2:
        raise LoaderError(f"{name}: entry point {program.entry:#x} is not 2-byte aligned")
    return xlen, program


def load_riscv(program: Program) -> Image:
    """Build the initial state of a RISC-V `program` (docs/spec.md, section R8)."""
    xlen, elf = parse_riscv_elf(program.elf, program.name)
    assert STACK_TOP <= ADDRESS_LIMIT
    memory = segment_memory(elf)
    state = RiscvState(xlen=xlen)
    state.pc = elf.entry
    state.brk = page_up(elf.end)
    state.mmap_next = MMAP_BASE
    state.x[SP] = build_stack(
        memory.write_bytes, STACK_TOP, xlen // 8, "little", program.argv, program.env,
        standard_auxv(elf),
    )  # fmt: skip
    return Image.sealed(state, memory, program.stdin)
