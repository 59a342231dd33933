"""Static MIPS32 big-endian ELF programs (the mips32 ISA's loader) to an initial machine state.

The ELF is parsed and checked by the shared `flexemu.elf_image` (which names every way an
ELF can be unusable) and the initial stack is its Linux-like layout with 4-byte big-endian
words; what is MIPS here is the format it accepts, the layout of the address space and
the registers the initial state sets. The initial state is a pure function of (ELF bytes,
argv, env, stdin); the input is committed as its own Merkle tree.
"""

from __future__ import annotations

from flexemu.elf_image import (
    ElfFormat,
    build_stack,
    page_up,
    parse_elf,
    segment_memory,
    standard_auxv,
)
from flexemu.isa.mips import abi
from flexemu.isa.mips.state import State
from flexemu.program import Image, Program

EM_MIPS = 8
USER_LIMIT = 0x80000000  # kuseg: every segment ends at or below it
FORMAT = ElfFormat("MIPS32 (big-endian)", EM_MIPS, 4, "big", USER_LIMIT)


def load(program: Program) -> Image:
    """Build the initial state of `program` (docs/spec.md, "Initial state")."""
    elf = parse_elf(program.elf, FORMAT, program.name)
    memory = segment_memory(elf)
    state = State()
    state.pc, state.next_pc = elf.entry, (elf.entry + 4) & 0xFFFFFFFF
    state.brk = page_up(elf.end)
    state.mmap_next = abi.MMAP_BASE
    state.regs[abi.SP] = build_stack(
        memory.write_bytes, abi.STACK_TOP, 4, "big", program.argv, program.env,
        standard_auxv(elf),
    )  # fmt: skip
    return Image.sealed(state, memory, program.stdin)
