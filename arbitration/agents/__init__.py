"""Layer 3, agents: the parties of a dispute, a proposer and a challenger, each driven by the
chain and its own emulator (`party`), playing a strategy given as data (`strategy`) through
its view of the trace (`views`); `process` runs one party as its own process; `move` is what
a party's transaction did.

Importing this package loads nothing: `strategy` and `move` stay free of the chain.
"""
