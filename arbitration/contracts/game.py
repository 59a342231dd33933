"""Python binding of the dispute game contracts (contracts/src/game/DisputeGame*.sol, docs/game.md).

Three pieces, all on top of :class:`arbitration.chain.base.Chain` and only web3 calls a
JSON-RPC node also serves (``eth_sendTransaction`` with explicit gas, ``eth_getTransactionReceipt``,
``eth_getLogs``, ``eth_call``; never ``eth_estimateGas``):

* :class:`GameFactory` attaches to the factory bound to a step verifier (deployed by
  `arbitration.contracts.deploy`) and creates games; :class:`Game` sends the moves and reads
  the views of one game.
* `arbitration.contracts.events` turns receipt logs into :class:`GameEvent` records by their
  topic, for both contracts.
* `arbitration.contracts.view`'s :class:`GameView` is the game state an agent decides on, and
  :func:`GameView.apply` folds one event into it. An agent keeps its view current from the
  events of its own receipts plus one ``eth_getLogs`` per decision (:class:`GameWatcher`),
  instead of a view call per decision: a log query costs a fraction of executing the
  ``gameState()`` view in py-evm.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from arbitration.chain.abi_codec import encode as abi_encode
from arbitration.chain.abi_codec import function_selector, input_types
from arbitration.chain.abi_contract import AbiCall
from arbitration.chain.base import Chain
from arbitration.chain.hexdata import to_checksum_address
from arbitration.chain.receipt import Receipt
from arbitration.contracts.enums import ChallengeStatus, GameStatus, Reason
from arbitration.contracts.events import FACTORY_ARTIFACT, GAME_ARTIFACT, EventDecoder, GameEvent
from arbitration.contracts.verifier import DEFAULT_ISA, VM_IDS
from arbitration.contracts.view import ChallengeView, GameView

#: Gas limits per call (explicit, never estimated). Moves use < 100k; creating a game deploys
#: a 45-byte clone and initializes it (~0.3M); a step runs the verifier (proof-size
#: dependent, < 2M measured).
MOVE_GAS = 300_000
CREATE_GAS = 1_000_000
STEP_GAS = 10_000_000


# --------------------------------------------------------------------------------------------
# Contracts
# --------------------------------------------------------------------------------------------


class GameFactory:
    """The deployed DisputeGameFactory (one step verifier per VM id)."""

    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.address = to_checksum_address(address)
        self.contract = chain.at(FACTORY_ARTIFACT, self.address)
        self.decoder = EventDecoder()

    def verifier(self, vm: int) -> str:
        """The step verifier of VM `vm` (the zero address if none)."""
        return self.chain.call(self.contract.functions.verifiers(vm))

    def create(
        self,
        sender: str,
        absolute_pre_state: bytes,
        claim: bytes,
        trace_length: int,
        clock_seconds: int,
        bond: int,
        vm: int = VM_IDS[DEFAULT_ISA],
    ) -> tuple[Game, GameView, Receipt]:
        """Create a game; returns its handle, its initial view and the receipt."""
        receipt = self.chain.transact(
            self.contract.functions.create(
                vm, absolute_pre_state, claim, trace_length, clock_seconds
            ),
            sender=sender,
            value=bond,
            gas=CREATE_GAS,
        )
        created = next(e for e in self.decoder.decode_all(receipt.logs) if e.name == "GameCreated")
        view = GameView.created(created)
        return Game(self.chain, view.address, self.decoder), view, receipt

    def created_events(self, from_block: int = 0) -> list[GameEvent]:
        """GameCreated events from `from_block` on (how a challenger finds new claims)."""
        logs = self.chain.get_logs(self.address, from_block)
        return [e for e in self.decoder.decode_all(logs) if e.name == "GameCreated"]


class Game:
    """One DisputeGame: its moves (each returns the :class:`Receipt`, ChainError on revert;
    every move but `challenge`, `resolve` and `withdraw` names its challenge `id`) and its
    views."""

    def __init__(self, chain: Chain, address: str, decoder: EventDecoder | None = None) -> None:
        self.chain = chain
        self.address = to_checksum_address(address)
        self.contract = chain.at(GAME_ARTIFACT, self.address)
        self.decoder = decoder or EventDecoder()
        self._fn = self.contract.functions
        self._encoders = {
            entry["name"]: (function_selector(entry), input_types(entry))
            for entry in self.contract.abi
            if entry.get("type") == "function"
        }

    def _call(self, name: str, *args: Any) -> AbiCall:
        """A move's call, encoded here for every backend: web3's per-call ABI matching costs
        12 us against 240 us to build and encode a bisect (measured), which adds up over the
        ~2 log2 N moves of a game."""
        selector, types = self._encoders[name]
        return AbiCall(self.chain, self.address, selector + abi_encode(types, args), [])

    def _send(self, sender: str, name: str, *args: Any, gas: int = MOVE_GAS) -> Receipt:
        return self.chain.transact(self._call(name, *args), sender, gas=gas)

    # ---- moves ------------------------------------------------------------------------------

    def challenge(self, sender: str, bond: int) -> Receipt:
        """Open a new challenge (its id is in the receipt's ``Challenged`` event)."""
        return self.chain.transact(self._call("challenge"), sender=sender, value=bond, gas=MOVE_GAS)

    def bisect(self, sender: str, id: int, position: int, state_hash: bytes) -> Receipt:
        return self._send(sender, "bisect", id, position, state_hash)

    def respond(self, sender: str, id: int, position: int, agree: bool) -> Receipt:
        return self._send(sender, "respond", id, position, agree)

    def step(self, sender: str, id: int, vm: int, witness: bytes, proof: bytes) -> Receipt:
        return self._send(sender, "step", id, vm, witness, proof, gas=STEP_GAS)

    def timeout(self, sender: str, id: int) -> Receipt:
        return self._send(sender, "timeout", id)

    def resolve(self, sender: str) -> Receipt:
        return self._send(sender, "resolve")

    def reclaim(self, sender: str, id: int) -> Receipt:
        return self._send(sender, "reclaim", id)

    def withdraw(self, sender: str) -> Receipt:
        return self._send(sender, "withdraw")

    # ---- views ------------------------------------------------------------------------------

    def challenge_state(self, id: int) -> dict[str, Any]:
        """The ``challengeState(id)`` view as a dict (field names as in the Solidity struct)."""
        values = self.chain.call(self._fn.challengeState(id))
        names = [c["name"] for c in _view_components(self.contract.abi)]
        return dict(zip(names, values, strict=True))

    def view(self, known: GameView | None = None) -> GameView:
        """The :class:`GameView` from the contract's views: the claim's status and every
        challenge's state on top of `known` (a view of this game whose claim fields are right,
        e.g. a watcher's), else also the claim's getters (for attaching to a game; agents fold
        events instead)."""
        fn = self._fn
        call = self.chain.call
        if known is None:
            created_at = call(fn.createdAt())
            known = GameView(
                address=self.address,
                proposer=call(fn.proposer()),
                vm=call(fn.vm()),
                absolute_pre_state=call(fn.absolutePreState()),
                claim=call(fn.claim()),
                trace_length=call(fn.traceLength()),
                clock_seconds=call(fn.clockSeconds()),
                proposer_bond=call(fn.proposerBond()),
                created_at=created_at,
                updated_at=created_at,
            )
        challenges = []
        for id in range(call(fn.challengeCount())):
            s = self.challenge_state(id)
            challenges.append(
                ChallengeView(
                    id=id,
                    challenger=s["challenger"],
                    bond=s["bond"],
                    lo=s["lo"],
                    hi=s["hi"],
                    hash_lo=s["hashLo"],
                    hash_hi=s["hashHi"],
                    proposer_clock=s["proposerClock"],
                    challenger_clock=s["challengerClock"],
                    last_move_at=s["lastMoveAt"],
                    status=ChallengeStatus(s["status"]),
                    reason=Reason(s["reason"]),
                    mid_posted=s["midPosted"],
                    mid_hash=s["midHash"],
                )
            )
        status = GameStatus(call(fn.status()))
        return replace(
            known,
            status=status,
            reason=Reason(call(fn.reason())),
            challenges=tuple(challenges),
            winning_challenge=(
                call(fn.winningChallenge()) if status == GameStatus.CHALLENGER_WON else None
            ),
            updated_at=max([known.updated_at] + [c.last_move_at for c in challenges]),
        )

    def clocks(self, id: int) -> tuple[int, int]:
        """Seconds left on (proposer, challenger) of challenge `id` at the latest block."""
        return tuple(self.chain.call(self._fn.clocks(id)))

    def credit(self, account: str) -> int:
        return self.chain.call(self._fn.credit(account))

    def events(self, receipt: Receipt) -> list[GameEvent]:
        return self.decoder.decode_all(receipt.logs)

    def logs(self, from_block: int, to_block: int | str = "latest") -> list[GameEvent]:
        return self.decoder.decode_all(self.chain.get_logs(self.address, from_block, to_block))


def _view_components(abi: list[dict]) -> list[dict]:
    entry = next(e for e in abi if e.get("type") == "function" and e["name"] == "challengeState")
    return entry["outputs"][0]["components"]


class GameWatcher:
    """Keeps one party's :class:`GameView` current from logs: its own receipts' events, plus
    ``eth_getLogs`` over the blocks it has not seen yet for everyone else's moves.

    ``next_block`` is the first block that may hold a log not seen yet: every block below it
    was covered by a log query, or held one's own transaction exactly at ``next_block``. A
    query runs from there to the latest block, so no log is missed; the few blocks it may scan
    twice (those after the last log it returned) are deduplicated by (block, index). Scanning
    only new blocks matters on eth-tester, whose log query reads every block of the range.
    """

    def __init__(self, game: Game, view: GameView, next_block: int) -> None:
        self.game = game
        self.view = view
        self.next_block = next_block
        self._seen: set[tuple[int, int]] = set()

    def fold(self, events: list[GameEvent]) -> list[GameEvent]:
        """Apply the events not seen yet (in order); returns those."""
        fresh = [e for e in events if e.key not in self._seen and e.name != "GameCreated"]
        for event in fresh:
            self._seen.add(event.key)
            self.view = self.view.apply(event)
        return fresh

    def refresh(self) -> GameView:
        events = self.game.logs(self.next_block)
        if events:
            self.next_block = max(self.next_block, events[-1].block_number + 1)
        self.fold(events)
        return self.view

    def record(self, receipt: Receipt) -> list[GameEvent]:
        """Fold the events of one's own transaction; returns them."""
        if receipt.block_number == self.next_block:
            self.next_block += 1
        return self.fold(self.game.events(receipt))
