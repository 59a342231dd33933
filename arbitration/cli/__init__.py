"""Layer 5, the command line `flexemu-game`: the typer app and its shared options (`app`), one
module per command group, and `main`, the only importer of the command modules, which loads
only the module of the command named on the command line. Commands import py-evm and web3
inside their bodies, only when they use a chain, so `run`, `state`, `prove`, `check` and
`--help` start fast."""
