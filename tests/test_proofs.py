"""Step proofs: every proof the emulator generates checks, and every tampering is caught.

`prove(emulator, n)` proves step n -> n+1 from full memory; `check_file` replays
the step from the witness and the leaf proofs alone (the verifier's view) and
must arrive at the hash of `state_at(n + 1)`. The proof chain is also tied to
the reference stepper: its pre-state at n is the reference's state n.
"""

from __future__ import annotations

import json
import random

import pytest
from conftest import EVERY_STEP

from flexemu.errors import FlexEmuError, ProofError
from flexemu.isa.mips.state import WITNESS_BYTES, Panic, State, Status, state_hash
from flexemu.loader import load
from flexemu.merkle import DEPTH
from flexemu.multiproof import decode, encode, encode_tree, leaf_counts, spans
from flexemu.proof import FORMAT, StepProof, check, check_file, dumps, prove
from flexemu.reference import ReferenceMachine

RANDOM_STEPS = 100


def flip(data: bytes, position: int, mask: int = 0x01) -> bytes:
    return data[:position] + bytes([data[position] ^ mask]) + data[position + 1 :]


def fields(proof: bytes, kind: str, tree: int = 0) -> list:
    """The spans of one kind of field of a proof (flexemu.multiproof.spans)."""
    return [f for f in spans(proof, DEPTH) if f.kind == kind and f.tree == tree]


def replace(claim: StepProof, **changes) -> StepProof:
    fields = {
        "step": claim.step,
        "pre_state_hash": claim.pre_state_hash,
        "post_state_hash": claim.post_state_hash,
        "witness": claim.witness,
        "proof": claim.proof,
    }
    fields.update(changes)
    return StepProof(**fields)


def assert_rejected(claim: StepProof, *fragments: str) -> ProofError:
    """`check_file` raises a ProofError whose message names the problem."""
    with pytest.raises(ProofError) as caught:
        check_file(claim)
    message = str(caught.value)
    assert any(fragment in message for fragment in fragments), message
    return caught.value


# ------------------------------------------------------------------ every step


@pytest.mark.parametrize("name", EVERY_STEP)
def test_every_step_proves(name, make_program, finished_emulator):
    program = make_program(name)
    emulator = finished_emulator(name)
    end = emulator.final.step
    reference = ReferenceMachine.from_image(load(program))
    for n in range(end + 1):
        claim = prove(emulator, n)
        assert claim.step == n
        assert claim.pre_state_hash == reference.state_hash(), f"{name}: pre-state of step {n}"
        assert state_hash(claim.witness) == claim.pre_state_hash
        post = check_file(claim)
        assert post == claim.post_state_hash
        assert post == emulator.state_at(n + 1).hash(), f"{name}: post-state of step {n}"
        reference.step()
        assert post == reference.state_hash(), f"{name}: reference step {n}"


def test_trap_panic_step_and_terminal_fixed_point(finished_emulator):
    emulator = finished_emulator("trap")
    end = emulator.final.step
    assert end == 84

    panic = prove(emulator, end - 1)
    post = check(panic.witness, panic.proof)
    assert post.status == Status.PANICKED
    assert post.exit_code == Panic.TRAP
    assert post.step == end
    assert check_file(panic) == emulator.state_at(end).hash()
    # A panic changes nothing but status, exit code and step: pc stays on the teq.
    pre = State.from_witness(panic.witness)
    assert post.pc == pre.pc and post.regs == pre.regs and post.mem_root == pre.mem_root

    fixed = prove(emulator, end)
    assert fixed.proof == b""
    assert fixed.post_state_hash == fixed.pre_state_hash
    assert check(fixed.witness, fixed.proof).witness() == fixed.witness
    assert check_file(fixed) == fixed.pre_state_hash == emulator.final.hash()
    assert fixed.pre_state_hash[0] == 2  # VMStatus.PANICKED in the top byte


def test_exit_is_a_fixed_point(finished_emulator):
    emulator = finished_emulator("tiny_sum")
    fixed = prove(emulator, emulator.final.step)
    assert fixed.proof == b""
    assert check_file(fixed) == fixed.pre_state_hash == emulator.final.hash()
    assert fixed.pre_state_hash[0] == 1  # exited with a non-zero status (3)


# ------------------------------------------------------------------ random steps


@pytest.mark.parametrize("name", ["stdin_echo", "sort", "loop"])
def test_random_steps_prove(name, finished_emulator):
    emulator = finished_emulator(name)
    end = emulator.final.step
    rng = random.Random(f"flexemu-proofs-{name}")
    steps = sorted({rng.randrange(end) for _ in range(RANDOM_STEPS)} | {0, end - 1})
    for n in steps:
        claim = prove(emulator, n)
        assert claim.pre_state_hash == emulator.state_at(n).hash(), f"{name}: pre of step {n}"
        assert check_file(claim) == emulator.state_at(n + 1).hash(), f"{name}: step {n}"
    # Seeking to the last step lands on the final state of the full run.
    assert emulator.state_at(end).hash() == emulator.final.hash(), f"{name}: state_at(end)"


def test_input_read_step_proves(finished_emulator):
    """A read(0) step consumes an input leaf proof, checked against input_root."""
    emulator = finished_emulator("stdin_echo")
    claim = _input_step(emulator)
    post = check(claim.witness, claim.proof)
    assert post.input_pos > State.from_witness(claim.witness).input_pos
    assert check_file(claim) == emulator.state_at(claim.step + 1).hash()


# ------------------------------------------------------------------ tampering


@pytest.fixture(scope="module")
def store_claim(finished_emulator) -> StepProof:
    """A proof of a tiny_sum step that fetches and then stores: two memory leaves."""
    emulator = finished_emulator("tiny_sum")
    for n in range(emulator.final.step):
        claim = prove(emulator, n)
        pre = State.from_witness(claim.witness)
        post = check(claim.witness, claim.proof)
        if leaf_counts(claim.proof)[0] >= 2 and post.mem_root != pre.mem_root:
            return claim
    raise AssertionError("tiny_sum has no store step")


def _input_step(emulator) -> StepProof:
    machine = emulator.machine_at(0)
    while machine.state.input_pos == 0:
        machine.step()
        assert machine.state.status == Status.RUNNING
    state = emulator.state_at(machine.state.step - 1)
    assert state.input_pos == 0
    return prove(emulator, state.step)


def test_valid_claim_checks(store_claim):
    assert check_file(store_claim) == store_claim.post_state_hash


def test_flipped_witness_byte_is_a_wrong_pre_state(store_claim):
    for position in (0, 100, 160, WITNESS_BYTES - 1):  # mem_root, pc, a register, an FPR
        assert_rejected(
            replace(store_claim, witness=flip(store_claim.witness, position)), "wrong pre-state"
        )


def test_forged_pre_state_cannot_reuse_the_proof(store_claim):
    """A witness edited together with its pre hash does not prove the original post."""
    pre = State.from_witness(store_claim.witness)
    for change in ("pc", "mem_root", "register"):
        forged = pre.copy()
        if change == "pc":
            forged.pc ^= 0x20  # another leaf: the proof does not carry the fetched leaf
            forged.next_pc ^= 0x20
        elif change == "mem_root":
            forged.mem_root = flip(forged.mem_root, 5)
        else:
            forged.regs[2] ^= 1 << 7
            forged.regs[29] ^= 1 << 12
        witness = forged.witness()
        claim = replace(store_claim, witness=witness, pre_state_hash=state_hash(witness))
        assert_rejected(claim, "LeafNotProven", "MerkleProofInvalid", "post-state mismatch")


def test_flipped_leaf_byte(store_claim):
    for leaf in fields(store_claim.proof, "leaf"):
        tampered = flip(store_claim.proof, leaf.start + 17)
        assert_rejected(replace(store_claim, proof=tampered), "MerkleProofInvalid(0)")


def test_flipped_sibling_byte(store_claim):
    siblings = fields(store_claim.proof, "sibling")
    assert siblings, "the store step sends siblings"
    for sibling in siblings:
        tampered = flip(store_claim.proof, sibling.start + 9, 0x80)
        assert_rejected(replace(store_claim, proof=tampered), "MerkleProofInvalid(0)")


def test_flipped_bitmap_bits(store_claim):
    """A needed sibling's bit changes what is read (a wrong root or a wrong length); a bit
    beyond the needed siblings is malformed."""
    bitmap = fields(store_claim.proof, "bitmap")[0]
    needed = len(decode(store_claim.proof, DEPTH)[0].siblings)
    for bit in range(256):
        at = bitmap.start + bit // 8
        tampered = flip(store_claim.proof, at, 0x80 >> (bit % 8))
        if bit < needed:
            assert_rejected(
                replace(store_claim, proof=tampered),
                "MerkleProofInvalid",
                "ProofTruncated",
                "ProofOversized",
            )
        else:
            assert_rejected(replace(store_claim, proof=tampered), f"ProofMalformed({bitmap.start})")


def test_leaf_index_rules(store_claim):
    """Indices must ascend strictly and lie in the tree; any other change is another fold."""
    proof = store_claim.proof
    first, second = fields(proof, "index")[:2]
    duplicate = proof[: second.start] + proof[first.start : first.end] + proof[second.end :]
    assert_rejected(replace(store_claim, proof=duplicate), f"ProofMalformed({second.start})")
    outside = proof[: first.start] + (1 << DEPTH).to_bytes(4, "big") + proof[first.end :]
    assert_rejected(replace(store_claim, proof=outside), f"ProofMalformed({first.start})")
    for index in (first, second):
        tampered = flip(proof, index.end - 1)  # the neighbouring leaf: another fold
        assert_rejected(
            replace(store_claim, proof=tampered),
            "MerkleProofInvalid",
            "ProofMalformed",
            "ProofTruncated",
            "ProofOversized",
        )


def test_genuine_proof_of_other_leaves_is_rejected(store_claim, finished_emulator):
    """Proofs that fold to the right root but carry a leaf fewer or a leaf more."""
    emulator = finished_emulator("tiny_sum")
    machine = emulator.machine_at(store_claim.step)
    memory = machine.memory
    indices = list(decode(store_claim.proof, DEPTH)[0].indices)

    def proof_of(leaves: list[int]) -> bytes:
        section = encode_tree(
            DEPTH, leaves, [memory.leaf(i) for i in leaves], [memory.path(i) for i in leaves]
        )
        return encode(section, len(leaves), b"", 0)

    assert proof_of(indices) == store_claim.proof
    assert_rejected(
        replace(store_claim, proof=proof_of(indices[1:])), f"LeafNotProven(0, {indices[0]})"
    )
    extra = sorted({*indices, indices[-1] + 1})
    assert_rejected(
        replace(store_claim, proof=proof_of(extra)), f"LeafUnused(0, {indices[-1] + 1})"
    )


def test_truncated_proof(store_claim):
    proof = store_claim.proof
    for cut in (1, 10, fields(proof, "bitmap")[0].start + 5, len(proof) - 32, len(proof) - 1):
        assert_rejected(replace(store_claim, proof=proof[:cut]), "ProofTruncated")
    assert_rejected(replace(store_claim, proof=b""), "LeafNotProven")


def test_oversized_proof(store_claim):
    proof = store_claim.proof
    assert_rejected(replace(store_claim, proof=proof + b"\0"), "ProofOversized(1)")
    assert_rejected(replace(store_claim, proof=proof + proof), f"ProofOversized({len(proof)})")


def test_header_rules(store_claim):
    proof = store_claim.proof
    assert_rejected(replace(store_claim, proof=b"\0" + proof[1:]), "ProofMalformed(0)")
    assert_rejected(replace(store_claim, proof=b"\xa0" + proof[1:]), "ProofMalformed(0)")


def test_forged_post_hash(store_claim):
    assert_rejected(
        replace(store_claim, post_state_hash=flip(store_claim.post_state_hash, 31)),
        "post-state mismatch",
    )
    # The pre-state is not a valid post-state either.
    assert_rejected(
        replace(store_claim, post_state_hash=store_claim.pre_state_hash), "post-state mismatch"
    )


def test_proof_of_another_step_is_rejected(store_claim, finished_emulator):
    emulator = finished_emulator("tiny_sum")
    neighbour = prove(emulator, store_claim.step + 1)
    assert neighbour.proof != store_claim.proof
    with pytest.raises(ProofError):
        check_file(replace(store_claim, proof=neighbour.proof))


def test_tampered_input_leaf(finished_emulator):
    emulator = finished_emulator("stdin_echo")
    claim = _input_step(emulator)
    assert leaf_counts(claim.proof)[1] == 1, "the read step has exactly one input leaf"
    leaf = fields(claim.proof, "leaf", tree=1)[0]
    tampered = flip(claim.proof, leaf.start + 3)
    assert_rejected(replace(claim, proof=tampered), "MerkleProofInvalid(1)")
    # Dropping the input section: the read then touches an input leaf the proof lacks.
    section = fields(claim.proof, "index", tree=1)[0].start
    dropped = bytes([claim.proof[0] & 0xF0]) + claim.proof[1:section]
    assert_rejected(replace(claim, proof=dropped), "LeafNotProven(1, 0)")


def test_short_witness_is_rejected_with_a_named_error(store_claim):
    """A witness of the wrong size is named as such, never an IndexError or the like."""
    for size in (0, 10, 149, WITNESS_BYTES - 1, WITNESS_BYTES + 1):
        witness = (store_claim.witness * 2)[:size]
        for pre in (store_claim.pre_state_hash, state_hash(witness) if size > 149 else None):
            if pre is None:
                continue
            with pytest.raises(FlexEmuError) as caught:
                check_file(replace(store_claim, witness=witness, pre_state_hash=pre))
            assert "witness" in str(caught.value) or "pre-state" in str(caught.value)


def test_invalid_witness_status_is_rejected(store_claim):
    pre = State.from_witness(store_claim.witness)
    witness = bytearray(pre.witness())
    witness[148] = 7  # status
    with pytest.raises(FlexEmuError, match="status"):
        check_file(
            replace(store_claim, witness=bytes(witness), pre_state_hash=state_hash(bytes(witness)))
        )


# ------------------------------------------------------------------ the file format


def test_json_round_trip(store_claim):
    text = dumps(store_claim)
    data = json.loads(text)
    assert data["format"] == FORMAT
    assert data["step"] == store_claim.step
    assert data["proof"] == "0x" + store_claim.proof.hex()
    again = StepProof.from_json(data)
    assert again == store_claim
    assert check_file(again) == store_claim.post_state_hash
    assert dumps(again) == text


def test_json_round_trip_of_an_empty_proof(finished_emulator):
    emulator = finished_emulator("trap")
    claim = prove(emulator, emulator.final.step)
    again = StepProof.from_json(json.loads(dumps(claim)))
    assert again == claim and again.proof == b""
    assert check_file(again) == claim.pre_state_hash


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: [d], "JSON object"),
        (lambda d: "0x00", "JSON object"),
        (lambda d: None, "JSON object"),
        (lambda d: {k: v for k, v in d.items() if k != "proof"}, "'proof'"),
        (lambda d: {k: v for k, v in d.items() if k != "step"}, "'step'"),
        (lambda d: {k: v for k, v in d.items() if k != "witness"}, "'witness'"),
        (lambda d: {**d, "step": -1}, "'step'"),
        (lambda d: {**d, "step": "12"}, "'step'"),
        (lambda d: {**d, "step": True}, "'step'"),
        (lambda d: {**d, "step": 1.5}, "'step'"),
        (lambda d: {**d, "pre_state_hash": d["pre_state_hash"][2:]}, "'pre_state_hash'"),
        (lambda d: {**d, "pre_state_hash": d["pre_state_hash"][:-2]}, "'pre_state_hash'"),
        (lambda d: {**d, "post_state_hash": d["post_state_hash"] + "00"}, "'post_state_hash'"),
        (lambda d: {**d, "post_state_hash": 12}, "'post_state_hash'"),
        (lambda d: {**d, "witness": d["witness"] + "0"}, "'witness'"),
        (lambda d: {**d, "witness": "0xzz"}, "'witness'"),
        (lambda d: {**d, "proof": None}, "'proof'"),
        (lambda d: {**d, "proof": "0x0g"}, "'proof'"),
    ],
)
def test_malformed_json_is_a_value_error(store_claim, mutate, fragment):
    data = mutate(json.loads(dumps(store_claim)))
    with pytest.raises(ValueError) as caught:
        StepProof.from_json(data)
    assert fragment in str(caught.value)
