"""The two parties of a dispute, each an independent actor on the chain.

An agent owns its emulator (it loads the program itself), its trace view (its strategy), its
account and its own handles on the contracts; it learns about the game only from the chain: the
factory's ``GameCreated`` log, the game's logs, and the events of its own receipts. Nothing
passes between the two agents except through transactions.

``act()`` looks at the game, sends at most one transaction and returns the :class:`Move` it
made (``Move.index`` is left 0: the simulator numbers moves), or ``None`` when it has nothing
to do now: not its turn, waiting for a clock, resolved, or a silent strategy.

Step phase policy (both parties): a party submits the proof of step ``lo`` only when the step
decides for it, which it checks locally first (``flexemu.proof.check``): the proposer when the
post-state equals its hash at ``hi``, the challenger when it does not. A ``forged_proof`` party
submits one forged proof instead (the verifier rejects it) and then stays silent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from arbitration.agents.move import Move
from arbitration.agents.strategy import DEFAULT_MAX_STEPS, Strategy
from arbitration.agents.views import TraceView
from arbitration.chain.base import Chain
from arbitration.chain.errors import ChainError
from arbitration.chain.receipt import Receipt
from arbitration.contracts.enums import GameStatus, Party
from arbitration.contracts.events import GameEvent
from arbitration.contracts.game import Game, GameFactory, GameWatcher
from arbitration.contracts.view import GameView
from flexemu.emulator import Emulator
from flexemu.errors import FlexEmuError
from flexemu.loader import Program
from flexemu.merkle import PROOF_BYTES
from flexemu.proof import StepProof, check, prove
from flexemu.state import state_hash

#: Moves that open a party's part in the game; silent_after does not count them.
OPENING_ACTIONS = ("propose", "challenge")


def tamper_proof(proof: bytes) -> bytes:
    """A step proof the verifier must reject: the first leaf's data changed (its Merkle path
    no longer reaches the root), or, for a step that consumes no leaf, one leaf too many."""
    if len(proof) >= PROOF_BYTES:
        return proof[:4] + bytes([proof[4] ^ 0xFF]) + proof[5:]
    return proof + bytes(PROOF_BYTES)


class Agent:
    """What the proposer and the challenger share: emulator, view, watcher, move sending."""

    role: Party = Party.NONE

    def __init__(
        self,
        chain: Chain,
        account: str,
        program: Program,
        strategy: Strategy,
        factory_address: str,
        max_steps: int = DEFAULT_MAX_STEPS,
    ) -> None:
        self.chain = chain
        self.max_steps = max_steps
        self.from_block = chain.w3.eth.block_number  # games created from now on are ours
        self.account = account
        self.strategy = strategy
        self.emulator = Emulator(program)
        self.trace = TraceView(self.emulator, strategy, self.role.label)
        self.factory = GameFactory(chain, factory_address)
        self.game: Game | None = None
        self.watcher: GameWatcher | None = None
        self.sent = 0  # transactions sent after the opening move (what silent_after counts)
        self.forged = False
        self.out_of_time = False  # a move of ours reverted ClockExpired: the game is lost
        self._proofs: dict[int, StepProof] = {}

    # ---- lifecycle --------------------------------------------------------------------------

    def prepare(self) -> None:
        """Run the program once (checkpointing). Safe to run in a thread: unicorn releases the
        GIL while it runs."""
        self.emulator.run(self.max_steps)

    @property
    def game_view(self) -> GameView | None:
        return self.watcher.view if self.watcher else None

    @property
    def silent(self) -> bool:
        moves = self.strategy.moves
        return moves is not None and self.sent >= moves  # silent_after, or a liar giving up

    @property
    def forges(self) -> bool:
        """A forger that has not yet sent its forged proof (the simulator lets it go first)."""
        return self.strategy.kind == "forged_proof" and not self.forged

    def act(self) -> Move | None:
        if self.watcher is None:
            return self.enter()
        if self.silent or self.out_of_time:
            return None
        view = self.watcher.refresh()
        if view.resolved:
            return None
        return self.decide(view)

    def enter(self) -> Move | None:
        raise NotImplementedError

    @property
    def pre_state(self) -> bytes:
        """The absolute pre-state: the hash of this party's program's initial state."""
        return self.emulator.checkpoints[0].state.hash()

    def newest_game(self, from_block: int) -> GameEvent | None:
        """The newest GameCreated on this party's factory about its program and input."""
        created = [
            e
            for e in self.factory.created_events(from_block)
            if e.args["absolutePreState"] == self.pre_state
        ]
        return created[-1] if created else None

    def follow(self, event: GameEvent) -> GameView:
        """Point this party at the game `event` created; return its view, brought up to date."""
        view = GameView.created(event)
        self.game = Game(self.chain, view.address, self.factory.decoder)
        self.watcher = GameWatcher(self.game, view, event.block_number + 1)
        view = self.watcher.refresh()
        if self.strategy.kind == "forged_proof" and self.trace.lie_step is None:
            self.trace.lie_step = view.trace_length
        return view

    def decide(self, view: GameView) -> Move | None:
        raise NotImplementedError

    # ---- shared decisions -------------------------------------------------------------------

    def opponent_expired(self, view: GameView) -> bool:
        return view.turn == self.role.other and view.running_clock_left(self.chain.now()) <= 0

    def try_step(self, view: GameView) -> Move | None:
        """In the step phase: prove step lo if that wins (or forge once, for a forger)."""
        if self.strategy.kind == "forged_proof":
            if self.forged:
                return None
            self.forged = True
            witness, proof = self.step_inputs(view) or (self.trace.state(view.lo).witness(), b"")
            return self.step(view, witness, tamper_proof(proof))
        inputs = self.step_inputs(view)
        if inputs is None:
            return None
        witness, proof = inputs
        try:
            post = check(witness, proof).hash()
        except FlexEmuError:
            return None
        if (post == view.hash_hi) != (self.role == Party.PROPOSER):
            return None
        return self.step(view, witness, proof)

    def step_inputs(self, view: GameView) -> tuple[bytes, bytes] | None:
        """A witness hashing to the agreed hash at lo, and the leaf proofs of that step: from
        this party's own view when it is a real witness, else from the true trace."""
        proof = self._proofs.get(view.lo)
        if proof is None:
            proof = self._proofs[view.lo] = prove(self.emulator, view.lo)
        for witness in (self.trace.witness_at(view.lo), proof.witness):
            if witness is not None and state_hash(witness) == view.hash_lo:
                return witness, proof.proof
        return None

    # ---- sending ----------------------------------------------------------------------------

    def step(self, view: GameView, witness: bytes, proof: bytes) -> Move:
        assert self.game is not None
        return self.send("step", lambda: self.game.step(self.account, witness, proof), view.lo)

    def timeout(self) -> Move:
        assert self.game is not None
        return self.send("timeout", lambda: self.game.timeout(self.account))

    def send(
        self,
        action: str,
        transaction: Callable[[], Receipt],
        position: int | None = None,
        state_hash: bytes | None = None,
        agree: bool | None = None,
    ) -> Move:
        """Send one transaction and describe it as a Move, from its receipt's events (or from
        the failed receipt and the decoded revert reason)."""
        if action not in OPENING_ACTIONS:
            self.sent += 1
        assert self.watcher is not None
        try:
            receipt = transaction()
        except ChainError as error:
            self.out_of_time = error.name == "ClockExpired"
            failed = error.receipt
            timestamp = self.watcher.view.updated_at
            if failed is not None:
                timestamp = int(self.chain.w3.eth.get_block(failed.block_number)["timestamp"])
            return replace(
                self.describe(action, self.watcher.view, failed, timestamp),
                position=position,
                state_hash=state_hash,
                agree=agree,
                reverted=str(error),
            )
        events = self.watcher.record(receipt)
        view = self.watcher.view
        if action == "step":
            proven = next(e for e in events if e.name == "StepProven")
            state_hash = proven.args["postStateHash"]
        return replace(
            self.describe(action, view, receipt, view.updated_at),
            position=position,
            state_hash=state_hash,
            agree=agree,
        )

    def describe(
        self, action: str, view: GameView, receipt: Receipt | None, timestamp: int
    ) -> Move:
        """A move by this party as the chain left it: `view` is the game after the move."""
        return Move(
            index=0,
            actor=self.role.label,
            action=action,
            lo=view.lo,
            hi=view.hi,
            gas=receipt.gas_used if receipt else 0,
            clocks=view.clocks,
            timestamp=timestamp,
            tx_hash=receipt.tx_hash if receipt else b"",
        )


class Proposer(Agent):
    """Claims the final state of its run, bisects, and defends its claim."""

    role = Party.PROPOSER

    def __init__(
        self,
        chain: Chain,
        account: str,
        program: Program,
        strategy: Strategy,
        factory_address: str,
        *,
        clock_seconds: int,
        bond: int,
        max_steps: int = DEFAULT_MAX_STEPS,
    ) -> None:
        super().__init__(chain, account, program, strategy, factory_address, max_steps)
        self.clock_seconds = clock_seconds
        self.bond = bond

    def enter(self) -> Move:
        """Create the game: the claim is this party's hash at its trace's last step N."""
        final = self.emulator.final  # None: still running at max_steps, which is then N
        n = max(final.step if final is not None else self.max_steps, 1)
        if self.strategy.kind == "forged_proof" and self.trace.lie_step is None:
            self.trace.lie_step = n
        claim = self.trace.hash_at(n)
        game, view, receipt = self.factory.create(
            self.account, self.pre_state, claim, n, self.clock_seconds, self.bond
        )
        self.game = game
        self.watcher = GameWatcher(game, view, receipt.block_number + 1)
        move = self.describe("propose", view, receipt, view.created_at)
        return replace(move, position=n, state_hash=claim)

    def decide(self, view: GameView) -> Move | None:
        assert self.game is not None
        if view.status == GameStatus.UNCHALLENGED:
            if self.chain.now() >= view.window_closes_at:
                return self.send("resolve", lambda: self.game.resolve(self.account))
            return None
        if view.turn == Party.PROPOSER:
            position = view.mid
            claimed = self.trace.hash_at(position)
            return self.send(
                "bisect",
                lambda: self.game.bisect(self.account, position, claimed),
                position,
                claimed,
            )
        if self.opponent_expired(view):
            return self.timeout()
        if view.step_phase:
            return self.try_step(view)
        return None


class Challenger(Agent):
    """Watches the factory for a claim about its program, challenges a claim it disagrees
    with, answers every bisection with its own view, and proves the disputed step."""

    role = Party.CHALLENGER

    def enter(self) -> Move | None:
        event = self.newest_game(self.from_block)
        return None if event is None else self.challenge_if_wrong(self.follow(event))

    def challenge_if_wrong(self, view: GameView) -> Move | None:
        """The opening move: challenge a claim this party disagrees with, while it may."""
        if view.status != GameStatus.UNCHALLENGED or self.game is None:
            return None  # someone else got there first, or not attached yet
        if self.trace.hash_at(view.trace_length) == view.claim:
            return None  # agrees with the claim
        if self.chain.now() >= view.window_closes_at:
            return None  # too late
        game, bond = self.game, view.proposer_bond
        return self.send("challenge", lambda: game.challenge(self.account, bond))

    def decide(self, view: GameView) -> Move | None:
        assert self.game is not None
        if view.status != GameStatus.IN_PROGRESS:
            return None
        if view.mid_posted:
            position = view.mid
            agree = self.trace.hash_at(position) == view.mid_hash
            return self.send(
                "respond",
                lambda: self.game.respond(self.account, position, agree),
                position,
                agree=agree,
            )
        if view.step_phase:
            return self.try_step(view)
        if self.opponent_expired(view):
            return self.timeout()
        return None
