"""SYSTEM and MISC-MEM: ecall (a syscall), ebreak (a panic), and the fences, which are
no-ops on one hart whose reference fetches every instruction from memory."""

from __future__ import annotations

from flexemu.isa.riscv.decode import Instruction
from flexemu.isa.riscv.io import LeafIO
from flexemu.isa.riscv.panic import Panic, StepPanic
from flexemu.isa.riscv.state import RiscvState
from flexemu.isa.riscv.syscalls import syscall


def ecall(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> None:
    syscall(state, io)


def ebreak(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> None:
    raise StepPanic(Panic.EBREAK)


def fence(state: RiscvState, io: LeafIO, ins: Instruction, length: int) -> None:
    pass
