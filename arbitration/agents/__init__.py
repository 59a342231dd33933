"""The parties of a dispute: a proposer and a challenger, each driven by the chain and its own
emulator, playing a strategy given as data (`arbitration.scenario.Strategy`)."""

from arbitration.agents.party import Agent, Challenger, Proposer
from arbitration.agents.views import TraceView, lie

__all__ = ["Agent", "Challenger", "Proposer", "TraceView", "lie"]
