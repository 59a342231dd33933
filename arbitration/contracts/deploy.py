"""One deployment of the game for every ISA: each ISA's step verifier and one factory that
keeps them by VM id.

Every caller deploys through here (the simulator, `flexemu-game deploy`, `check --onchain`
for the verifier alone), so gas limits and artifact names live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from arbitration.chain.base import Chain
from arbitration.contracts.events import FACTORY_ARTIFACT
from arbitration.contracts.game import GameFactory
from arbitration.contracts.verifier import DEFAULT_ISA, Verifier, verifier_artifact
from flexemu.isa import LISTINGS

#: Creation gas limit: the factory with its game implementation takes 2,470,934 (Prague); the
#: MIPS verifier about 3.1M.
DEPLOY_GAS = 8_000_000


@dataclass(frozen=True)
class Deployment:
    """The contracts every game needs, deployed: one verifier per ISA (ISAs whose witness names
    them share one contract: rv64 and rv32) and the factory."""

    verifiers: dict[str, Verifier]  # by ISA name
    factory: GameFactory

    @property
    def addresses(self) -> dict[str, object]:
        verifiers = {isa: verifier.address for isa, verifier in self.verifiers.items()}
        return {"factory": self.factory.address, "verifiers": verifiers}


def deploy_verifier(chain: Chain, isa: str = DEFAULT_ISA, sender: str | None = None) -> Verifier:
    """Deploy `isa`'s step verifier from its committed artifact."""
    return Verifier(chain, chain.deploy(verifier_artifact(isa), sender=sender, gas=DEPLOY_GAS))


def deploy_game(chain: Chain, sender: str | None = None) -> Deployment:
    """Deploy every ISA's verifier (each contract once) and a DisputeGameFactory that keeps
    each as the verifier of its ISA's VM id."""
    contracts: dict[str, Verifier] = {}
    for listing in LISTINGS:
        if listing.verifier not in contracts:
            contracts[listing.verifier] = deploy_verifier(chain, listing.name, sender)
    verifiers = {listing.name: contracts[listing.verifier] for listing in LISTINGS}
    factory = chain.deploy(
        FACTORY_ARTIFACT,
        [listing.vm_id for listing in LISTINGS],
        [verifiers[listing.name].address for listing in LISTINGS],
        sender=sender,
        gas=DEPLOY_GAS,
    )
    return Deployment(verifiers, GameFactory(chain, factory.address))
