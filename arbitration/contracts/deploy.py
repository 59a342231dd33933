"""One deployment of the game for every ISA: that ISA's step verifier and a factory bound to it.

Every caller deploys through here (the simulator, `flexemu-game deploy`, `check --onchain`
for the verifier alone), so gas limits and artifact names live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from arbitration.chain.base import Chain
from arbitration.contracts.events import FACTORY_ARTIFACT
from arbitration.contracts.game import GameFactory
from arbitration.contracts.verifier import DEFAULT_ISA, Verifier, verifier_artifact

#: Creation gas limit: the MIPS verifier takes 3,145,365 and the factory 2,062,780 on Cancun.
DEPLOY_GAS = 8_000_000


@dataclass(frozen=True)
class Deployment:
    """The contracts one game needs, deployed."""

    verifier: Verifier
    factory: GameFactory

    @property
    def addresses(self) -> dict[str, str]:
        return {"verifier": self.verifier.address, "factory": self.factory.address}


def deploy_verifier(chain: Chain, isa: str = DEFAULT_ISA, sender: str | None = None) -> Verifier:
    """Deploy `isa`'s step verifier from its committed artifact."""
    return Verifier(chain, chain.deploy(verifier_artifact(isa), sender=sender, gas=DEPLOY_GAS))


def deploy_game(chain: Chain, isa: str = DEFAULT_ISA, sender: str | None = None) -> Deployment:
    """Deploy `isa`'s verifier and a DisputeGameFactory bound to it."""
    verifier = deploy_verifier(chain, isa, sender)
    factory = chain.deploy(FACTORY_ARTIFACT, verifier.address, sender=sender, gas=DEPLOY_GAS)
    return Deployment(verifier, GameFactory(chain, factory.address))
