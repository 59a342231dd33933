"""RISC-V (RV32 and RV64 user mode) as a flexEmu ISA: one package parameterised by XLEN.

The state transition is specified in docs/spec.md (sections R1 to R12); `step.step` is its
executable form, written to be mirrored line by line by a Solidity verifier.
"""
