"""Single steps built from scratch, proven by the reference, and replayed by the verifiers.

Why: the verifier tests compare the EVM with the reference stepper on steps no
shipped program reaches (every encoding, every syscall error path, kernel and
misaligned addresses). A `StepCase` is a pre-state (registers, other witness
fields, memory, input) built here; `prove` takes one reference step over full
memory (`ReferenceMachine.prove_step`, i.e. `FullIO` recording the leaf proofs),
which yields the witness, the leaf proofs in access order and the expected
post-state: everything the EVM is given and everything it must arrive at comes
from the oracle, never from the contract.

`evm_outcome` and `python_outcome` reduce a replay to one comparable value: the
post-state hash, or the reason it was rejected (the decoded custom error name on
the EVM; `REJECTED` for `flexemu.proof.check`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from arbitration.chain.errors import ChainError
from arbitration.chain.in_process import InProcessChain
from arbitration.contracts import deploy
from arbitration.contracts.verifier import Verifier
from flexemu.errors import FlexEmuError
from flexemu.isa.mips.address import StepPanic, translate
from flexemu.isa.mips.bits import u32
from flexemu.isa.mips.state import State
from flexemu.memory import Memory
from flexemu.multiproof import leaf_counts
from flexemu.proof import check
from flexemu.reference import ReferenceMachine

CODE = 0x0040_0000
DATA = 0x1000_0000
KSEG0 = 0x8000_0000
KSEG1 = 0xA000_0000
KSEG2 = 0xC000_0000

#: What `python_outcome` returns for a proof `flexemu.proof.check` rejects.
REJECTED = "rejected"

#: Reverts that mean "this proof does not prove a step", by the interface's names.
PROOF_ERRORS = frozenset({
    "MerkleProofInvalid", "ProofTruncated", "ProofOversized", "ProofMalformed",
    "LeafNotProven", "LeafUnused",
})
WITNESS_ERRORS = frozenset({"WitnessLength", "InvalidWitness"})


@dataclass
class StepCase:
    """A pre-state: `words` at the physical address pc fetches from, then one step.

    `regs` pins registers by number (the rest are 0); `memory` maps physical
    addresses to bytes; `fields` sets any other `State` field (`hi`, `status`,
    `input_pos`, ...). `next_pc` defaults to the word after pc. `input_root` and
    `input_len` follow from `input` unless `fields` overrides them.
    """

    words: Sequence[int] = ()
    pc: int = CODE
    next_pc: int | None = None
    regs: Mapping[int, int] = field(default_factory=dict)
    memory: Mapping[int, bytes] = field(default_factory=dict)
    input: bytes = b""
    fields: Mapping[str, object] = field(default_factory=dict)

    def build(self) -> tuple[State, Memory, Memory]:
        memory = Memory()
        for address, data in self.memory.items():
            memory.write_bytes(address, data)
        try:
            code = translate(self.pc & ~3)
        except StepPanic:  # a kseg2 pc fetches nothing: its step panics first
            code = None
        if code is not None and self.words:
            memory.write_bytes(code, b"".join(w.to_bytes(4, "big") for w in self.words))
        inputs = Memory()
        inputs.write_bytes(0, self.input)
        regs = [0] * 32
        for number, value in self.regs.items():
            if number:
                regs[number] = u32(value)
        next_pc = u32((self.pc & ~3) + 4) if self.next_pc is None else self.next_pc
        state = State(
            pc=self.pc, next_pc=next_pc, regs=regs,
            input_root=inputs.root(), input_len=len(self.input),
        )
        for name, value in self.fields.items():
            if not hasattr(state, name):
                raise AttributeError(f"State has no field {name!r}")
            setattr(state, name, value)
        state.mem_root = memory.root()
        return state, memory, inputs


@dataclass(frozen=True)
class ProvenStep:
    """One reference step: what a verifier gets (witness, proof) and must return."""

    witness: bytes
    proof: bytes
    pre_hash: bytes
    post: State

    @property
    def post_hash(self) -> bytes:
        return self.post.hash()

    @property
    def leaf_count(self) -> int:
        return sum(leaf_counts(self.proof))


def prove(case: StepCase) -> ProvenStep:
    """Take the step with the reference over full memory, recording its proof."""
    state, memory, inputs = case.build()
    machine = ReferenceMachine(state, memory, inputs)
    pre = machine.commit().copy()
    proof = machine.prove_step()
    return ProvenStep(pre.witness(), proof, pre.hash(), machine.commit().copy())


# ---------------------------------------------------------------- replaying


def evm_outcome(call: Callable[[], bytes]) -> bytes | str:
    """The post-state hash a verifier call returns, or the name of its custom error."""
    try:
        return call()
    except ChainError as error:
        return error.name or f"unnamed revert: {error}"


def python_outcome(witness: bytes, proof: bytes) -> bytes | str:
    """What `flexemu.proof.check` (the off-chain verifier) makes of a witness and proof."""
    try:
        return check(witness, proof).hash()
    except FlexEmuError:
        return REJECTED


def deploy_verifier() -> Verifier:
    """A fresh in-process chain with one MipsVerifier: one per test module."""
    return deploy.deploy_verifier(InProcessChain.fresh(num_accounts=1))


def assert_evm_agrees(verifier: Verifier, proven: ProvenStep, context: object) -> None:
    """The EVM proves the reference's post-state from the reference's witness and proof."""
    result = evm_outcome(lambda: verifier.step_from(proven.pre_hash, proven.witness, proven.proof))
    if result != proven.post_hash:
        shown = result.hex() if isinstance(result, bytes) else result
        raise AssertionError(
            f"EVM and reference disagree on {context}:\n"
            f"  EVM       {shown}\n  reference {proven.post_hash.hex()}\n"
            f"  reference post-state: {describe(proven.post)}\n"
            f"  witness 0x{proven.witness.hex()}\n  proof ({proven.leaf_count} leaves)"
        )


def assert_exact_proof(verifier: Verifier, proven: ProvenStep) -> None:
    """The EVM reads exactly the proof the reference recorded, no byte more, no byte less."""
    witness, proof = proven.witness, proven.proof
    assert evm_outcome(lambda: verifier.step(witness, proof + bytes(32))) == (
        "ProofOversized" if proof else "ProofMalformed"
    )
    if proof:
        shorter = proof[:-1]
        assert evm_outcome(lambda: verifier.step(witness, shorter)) == "ProofTruncated"


def describe(state: State) -> str:
    """The fields of a state that a step changes, short enough for a failure message."""
    regs = ", ".join(f"${i}={v:#x}" for i, v in enumerate(state.regs) if v)
    fpr = ", ".join(f"f{i}={v:#x}" for i, v in enumerate(state.fpr) if v)
    return (
        f"status={state.status} code={state.exit_code} pc={state.pc:#x} "
        f"next_pc={state.next_pc:#x} hi={state.hi:#x} lo={state.lo:#x} "
        f"ll=({state.ll_addr:#x}, {state.ll_value:#x}) brk={state.brk:#x} "
        f"mmap_next={state.mmap_next:#x} tls={state.tls:#x} input_pos={state.input_pos} "
        f"fcsr={state.fcsr:#x} regs[{regs}] fpr[{fpr}]"
    )
