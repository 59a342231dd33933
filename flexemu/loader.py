"""What a run is a function of (`Program`), and its initial image, for any ISA.

`load` hands the program to the loader of the ISA its ELF names (`flexemu.isa.isa_for_elf`);
the initial state is a pure function of (ELF bytes, argv, env, stdin).
"""

from __future__ import annotations

from flexemu.isa import isa_for_elf
from flexemu.program import Image, Program

__all__ = ["Image", "Program", "load"]


def load(program: Program) -> Image:
    """The initial image of `program`, built by the loader of the ISA its ELF names."""
    return isa_for_elf(program.elf, program.name).load(program)
