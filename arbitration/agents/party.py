"""The parties of a dispute, each an independent actor on the chain: one proposer and any
number of challengers.

An agent owns its emulator (it loads the program itself), its trace view (its strategy), its
account and its own handles on the contracts; it learns about the game only from the chain: the
factory's ``GameCreated`` log, the game's logs, and the events of its own receipts. Nothing
passes between agents except through transactions.

``act()`` looks at the game, sends at most one transaction and returns the :class:`Move` it
made (``Move.index`` is left 0: the simulator numbers moves), or ``None`` when it has nothing
to do now: not its turn anywhere, waiting for a clock, resolved, or a silent strategy.

The proposer defends every challenge against its claim: each ``act()`` makes the first move
due over the live challenges, in the order they came. A challenger plays its own challenge
only; it challenges a claim it disagrees with whoever has already challenged it (the claim is
tied to its value, not to who came first). A ``collude`` challenger challenges whatever the
claim and then throws its game: it agrees with every midpoint and never proves a step.

Step phase policy (both parties): a party submits the proof of step ``lo`` only when the step
decides for it, which it checks locally first (``flexemu.proof.check``): the proposer when the
post-state equals its hash at ``hi``, the challenger when it does not. A ``forged_proof`` party
submits one forged proof instead (the verifier rejects it) and then stays silent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from arbitration.agents.move import Move
from arbitration.agents.strategy import DEFAULT_MAX_STEPS, Strategy
from arbitration.agents.views import TraceView
from arbitration.chain.base import Chain
from arbitration.chain.errors import ChainError
from arbitration.chain.receipt import Receipt
from arbitration.contracts.enums import GameStatus, Party
from arbitration.contracts.events import GameEvent
from arbitration.contracts.game import Game, GameFactory, GameWatcher
from arbitration.contracts.verifier import vm_name
from arbitration.contracts.view import ChallengeView, GameView
from flexemu.emulator import Emulator
from flexemu.errors import FlexEmuError
from flexemu.loader import Program
from flexemu.merkle import DEPTH
from flexemu.multiproof import spans
from flexemu.proof import StepProof, check, prove

#: Moves that open a party's part in the game; silent_after does not count them.
OPENING_ACTIONS = ("propose", "challenge")


class WrongVmError(FlexEmuError):
    """A game bound to another VM than the party's program (its ELF's ISA)."""


def tamper_proof(proof: bytes, depth: int = DEPTH) -> bytes:
    """A step proof the verifier must reject: a byte of the first proven leaf changed (the
    leaves no longer fold to the root), or, for a step that touches no leaf, a byte where
    none belongs."""
    leaf = next((span for span in spans(proof, depth) if span.kind == "leaf"), None)
    if leaf is None:
        return proof + b"\0"
    return proof[: leaf.start] + bytes([proof[leaf.start] ^ 0xFF]) + proof[leaf.start + 1 :]


class Agent:
    """What the proposer and the challengers share: emulator, view, watcher, move sending."""

    role: Party = Party.NONE

    def __init__(
        self,
        chain: Chain,
        account: str,
        program: Program,
        strategy: Strategy,
        factory_address: str,
        max_steps: int = DEFAULT_MAX_STEPS,
        emulator: Emulator | None = None,
    ) -> None:
        self.chain = chain
        self.max_steps = max_steps
        self.from_block = chain.block_number()  # games created from now on are ours
        self.account = account
        self.strategy = strategy
        # The simulator hands in a trace already run (to `max_steps`, of this program): this
        # party's own, started before the chain was set up (simulation/tracing.py), or in a
        # sweep one trace every party reads (a worker traces each program once).
        self.emulator = emulator if emulator is not None else Emulator(program)
        self.traced = emulator is not None
        self.trace = TraceView(self.emulator, strategy, self.role.label)
        self.factory = GameFactory(chain, factory_address)
        self.game: Game | None = None
        self.watcher: GameWatcher | None = None
        self.sent = 0  # transactions sent after the opening move (what silent_after counts)
        self.forged = False
        self.out_of_time: set[int] = set()  # challenges where a move of ours was too late
        self._proofs: dict[int, StepProof] = {}

    # ---- lifecycle --------------------------------------------------------------------------

    def prepare(self) -> None:
        """Run the program once (checkpointing). Safe to run in a thread: unicorn releases the
        GIL while it runs."""
        if not self.traced:
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
        if self.silent:
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

    @property
    def vm(self) -> int:
        """The game VM id of this party's program (its ELF's ISA)."""
        return int(self.emulator.isa.vm_id)

    def check_vm(self, view: GameView) -> None:
        """Refuse a game for another VM than this party's program: no step of it could be
        proven by the game's verifier, so playing it is a bet on clocks, not on the truth."""
        if view.vm != self.vm:
            raise WrongVmError(
                f"the game at {view.address} is for VM {vm_name(view.vm)}, but "
                f"{self.emulator.program.name} is {self.emulator.isa.name} "
                f"(VM {self.vm}): refused"
            )

    def follow(self, event: GameEvent) -> GameView:
        """Point this party at the game `event` created (WrongVmError if it is for another VM
        than this party's program); return its view, brought up to date."""
        view = GameView.created(event)
        self.check_vm(view)
        self.game = Game(self.chain, view.address, self.factory.decoder)
        self.watcher = GameWatcher(self.game, view, event.block_number + 1)
        view = self.watcher.refresh()
        if self.strategy.kind == "forged_proof" and self.trace.lie_step is None:
            self.trace.lie_step = view.trace_length
        return view

    def decide(self, view: GameView) -> Move | None:
        raise NotImplementedError

    def leave(self) -> None:
        """Forget the game this party plays (its emulator stays): ready to follow another."""
        self.game = None
        self.watcher = None
        self.sent = 0
        self.forged = False
        self.out_of_time = set()

    def settle(self) -> list[Move]:
        """After the claim is resolved: close this party's moot challenges (`reclaim`) and pull
        whatever the game credited it (`withdraw`). Bonds are never pushed."""
        assert self.game is not None and self.watcher is not None
        view = self.watcher.refresh()
        moves = []
        if view.status == GameStatus.CHALLENGER_WON:
            for c in view.challenges_of(self.account):
                if c.in_progress:
                    moves.append(self.reclaim(c))
        if self.game.credit(self.account) > 0:
            game = self.game
            moves.append(self.send("withdraw", lambda: game.withdraw(self.account)))
        return moves

    # ---- shared decisions -------------------------------------------------------------------

    def opponent_expired(self, c: ChallengeView) -> bool:
        return c.turn == self.role.other and c.running_clock_left(self.chain.now()) <= 0

    def try_step(self, view: GameView, c: ChallengeView) -> Move | None:
        """In the step phase of `c`: prove step lo if that wins (or forge once, for a forger)."""
        if self.strategy.kind == "forged_proof":
            if self.forged:
                return None
            self.forged = True
            witness, proof = self.step_inputs(c) or (self.trace.state(c.lo).witness(), b"")
            return self.step(view, c, witness, tamper_proof(proof, self.emulator.isa.tree_depth))
        if self.strategy.kind == "collude":
            return None  # throws its game: never proves the proposer wrong
        inputs = self.step_inputs(c)
        if inputs is None:
            return None
        witness, proof = inputs
        try:
            post = check(witness, proof).hash()
        except FlexEmuError:
            return None
        if (post == c.hash_hi) != (self.role == Party.PROPOSER):
            return None
        return self.step(view, c, witness, proof)

    def step_inputs(self, c: ChallengeView) -> tuple[bytes, bytes] | None:
        """A witness hashing to the agreed hash at lo, and the leaf proofs of that step: from
        this party's own view when it is a real witness, else from the true trace."""
        proof = self._proofs.get(c.lo)
        if proof is None:
            proof = self._proofs[c.lo] = prove(self.emulator, c.lo)
        for witness in (self.trace.witness_at(c.lo), proof.witness):
            if witness is not None and self.emulator.isa.state_hash(witness) == c.hash_lo:
                return witness, proof.proof
        return None

    # ---- sending ----------------------------------------------------------------------------

    def step(self, view: GameView, c: ChallengeView, witness: bytes, proof: bytes) -> Move:
        assert self.game is not None
        game, vm = self.game, view.vm
        return self.send(
            "step", lambda: game.step(self.account, c.id, vm, witness, proof), c, c.lo
        )

    def reclaim(self, c: ChallengeView) -> Move:
        assert self.game is not None
        game = self.game
        return self.send("reclaim", lambda: game.reclaim(self.account, c.id), c)

    def timeout(self, c: ChallengeView) -> Move:
        assert self.game is not None
        game = self.game
        return self.send("timeout", lambda: game.timeout(self.account, c.id), c)

    def send(
        self,
        action: str,
        transaction: Callable[[], Receipt],
        challenge: ChallengeView | None = None,
        position: int | None = None,
        state_hash: bytes | None = None,
        agree: bool | None = None,
    ) -> Move:
        """Send one transaction and describe it as a Move, from its receipt's events (or from
        the failed receipt and the decoded revert reason)."""
        if action not in OPENING_ACTIONS:
            self.sent += 1
        assert self.watcher is not None
        id = challenge.id if challenge is not None else None
        try:
            receipt = transaction()
        except ChainError as error:
            if error.name == "ClockExpired" and id is not None:
                self.out_of_time.add(id)
            failed = error.receipt
            timestamp = self.watcher.view.updated_at
            if failed is not None:
                timestamp = self.chain.block_timestamp(failed.block_number)
            return replace(
                self.describe(action, self.watcher.view, id, failed, timestamp),
                position=position,
                state_hash=state_hash,
                agree=agree,
                reverted=str(error),
            )
        events = self.watcher.record(receipt)
        view = self.watcher.view
        if action == "challenge":
            id = next(e.args["id"] for e in events if e.name == "Challenged")
        if action == "step":
            proven = next(e for e in events if e.name == "StepProven")
            state_hash = proven.args["postStateHash"]
        return replace(
            self.describe(action, view, id, receipt, view.updated_at),
            position=position,
            state_hash=state_hash,
            agree=agree,
        )

    def describe(
        self,
        action: str,
        view: GameView,
        id: int | None,
        receipt: Receipt | None,
        timestamp: int,
    ) -> Move:
        """A move by this party as the chain left it: `view` is the game after the move, `id`
        the challenge it was about (None: the claim as a whole)."""
        c = view.challenges[id] if id is not None and id < len(view.challenges) else None
        return Move(
            index=0,
            actor=self.role.label,
            action=action,
            lo=c.lo if c else 0,
            hi=c.hi if c else view.trace_length,
            gas=receipt.gas_used if receipt else 0,
            clocks=c.clocks if c else (view.clock_seconds, view.clock_seconds),
            timestamp=timestamp,
            tx_hash=receipt.tx_hash if receipt else b"",
            challenge=id,
            account=self.account,
        )


class Proposer(Agent):
    """Claims the final state of its run, and defends its claim in every challenge."""

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
        emulator: Emulator | None = None,
    ) -> None:
        super().__init__(chain, account, program, strategy, factory_address, max_steps, emulator)
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
            self.account, self.pre_state, claim, n, self.clock_seconds, self.bond, self.vm
        )
        self.game = game
        self.watcher = GameWatcher(game, view, receipt.block_number + 1)
        move = self.describe("propose", view, None, receipt, view.created_at)
        return replace(move, position=n, state_hash=claim)

    def decide(self, view: GameView) -> Move | None:
        """The first move due over the live challenges, in the order they came; once none is
        live and the window has closed, accept the claim."""
        assert self.game is not None
        live = view.live
        if not live:
            if self.chain.now() >= view.window_closes_at:
                game = self.game
                return self.send("resolve", lambda: game.resolve(self.account))
            return None
        for c in live:
            if c.id in self.out_of_time:
                continue
            move = self.defend(view, c)
            if move is not None:
                return move
        return None

    def defend(self, view: GameView, c: ChallengeView) -> Move | None:
        assert self.game is not None
        if c.turn == Party.PROPOSER:
            game, position = self.game, c.mid
            claimed = self.trace.hash_at(position)
            return self.send(
                "bisect",
                lambda: game.bisect(self.account, c.id, position, claimed),
                c,
                position,
                claimed,
            )
        if self.opponent_expired(c):
            return self.timeout(c)
        if c.step_phase:
            return self.try_step(view, c)
        return None


class Challenger(Agent):
    """Watches the factory for a claim about its program, challenges a claim it disagrees
    with (whoever else has), answers every bisection of its own challenge with its own view,
    and proves the disputed step."""

    role = Party.CHALLENGER

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.challenge_id: int | None = None  # its own challenge, once it has challenged

    def enter(self) -> Move | None:
        event = self.newest_game(self.from_block)
        return None if event is None else self.challenge_if_wrong(self.follow(event))

    def leave(self) -> None:
        super().leave()
        self.challenge_id = None

    def follow(self, event: GameEvent) -> GameView:
        view = super().follow(event)
        own = view.challenges_of(self.account)
        if own:
            self.challenge_id = own[-1].id  # restarted: it already holds a challenge
        return view

    def disagrees(self, view: GameView) -> bool:
        """Whether this party challenges the claim: it disagrees with it, or colludes."""
        if self.strategy.kind == "collude":
            return True
        return self.trace.hash_at(view.trace_length) != view.claim

    def challenge_if_wrong(self, view: GameView) -> Move | None:
        """The opening move: challenge a claim this party disagrees with, while it may,
        whoever else has challenged it already."""
        if view.resolved or self.game is None or self.challenge_id is not None:
            return None
        if not self.disagrees(view):
            return None
        if self.chain.now() >= view.window_closes_at:
            return None  # too late
        game, bond = self.game, view.proposer_bond
        move = self.send("challenge", lambda: game.challenge(self.account, bond))
        if move.reverted is None:
            self.challenge_id = move.challenge
        return move

    def decide(self, view: GameView) -> Move | None:
        assert self.game is not None
        if self.challenge_id is None:
            return self.challenge_if_wrong(view)
        c = view.challenges[self.challenge_id]
        if not c.in_progress or c.id in self.out_of_time:
            return None
        if c.mid_posted:
            game, position = self.game, c.mid
            if self.strategy.kind == "collude":
                agree = True  # throws its game: agrees with every hash
            else:
                agree = self.trace.hash_at(position) == c.mid_hash
            return self.send(
                "respond",
                lambda: game.respond(self.account, c.id, position, agree),
                c,
                position,
                agree=agree,
            )
        if c.step_phase:
            return self.try_step(view, c)
        if self.opponent_expired(c):
            return self.timeout(c)
        return None
