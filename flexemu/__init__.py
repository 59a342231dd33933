"""flexEmu: a verifiable emulator for optimistic-rollup fault proofs.

One state transition per ISA, three implementations that agree byte for byte: the
unicorn fast engine, the pure-Python reference stepper (each ISA's package under
`flexemu/isa/`) and the Solidity verifier (`contracts/`). The shared code around them
(trace, proofs, vectors) receives an `flexemu.isa.Isa`. The encodings are written down
in `docs/spec.md`.
"""

__version__ = "0.1.0"
