"""RISC-V (RV32 and RV64 user mode) as a flexEmu ISA: one package parameterised by XLEN.

The state transition is specified in docs/riscv.md; `step.step` is its
executable form, written to be mirrored line by line by a Solidity verifier.
"""
