"""flexEmu: a verifiable emulator for optimistic-rollup fault proofs.

One state transition, three implementations that agree byte for byte: the
unicorn fast engine (`flexemu.engine`), the pure-Python reference stepper
(`flexemu.mips.step`) and the Solidity verifier (`contracts/`). The encodings
they share are written down in `docs/spec.md`.
"""

__version__ = "0.1.0"
