"""RISC-V step proofs: what the shared `check` accepts and rejects, and the witness encoding."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexemu.errors import ProofError, WitnessError
from flexemu.isa.mips.state import State, VMStatus
from flexemu.isa.riscv import state as layout
from flexemu.isa.riscv.compressed import i_type
from flexemu.isa.riscv.decode import ENCODINGS
from flexemu.isa.riscv.state import RiscvState, state_hash
from flexemu.memory import Memory
from flexemu.multiproof import leaf_counts
from flexemu.proof import check as check_step
from flexemu.reference import ReferenceMachine

CODE, DATA = 0x10000, 0x20000


def proved_load() -> tuple[bytes, bytes, RiscvState]:
    """A ld crossing a leaf boundary: three leaf proofs."""
    memory = Memory()
    memory.write_bytes(CODE, i_type(0x03, 3, 10, 5, 0).to_bytes(4, "little"))
    memory.write_bytes(DATA + 28, bytes(range(1, 9)))
    state = RiscvState(xlen=64, pc=CODE)
    state.x[5] = DATA + 28
    state.mem_root = memory.root()
    witness = state.witness()
    proof = ReferenceMachine(state, memory, Memory()).prove_step()
    return witness, proof, state


def test_check_step_reproduces_the_post_state() -> None:
    witness, proof, post = proved_load()
    assert leaf_counts(proof) == (3, 0)
    assert check_step(witness, proof) == post


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p[:-1], "ProofTruncated"),
        (lambda p: p + p[:32], "ProofOversized"),
        (lambda p: p[:20] + bytes([p[20] ^ 1]) + p[21:], "MerkleProofInvalid"),  # a leaf byte
        (lambda p: p[:1] + (1 << 27).to_bytes(4, "big") + p[5:], r"ProofMalformed\(1\)"),
        (lambda p: p[:1] + p[1:5] + p[5:9] + p[5:9] + p[13:], r"ProofMalformed\(9\)"),
        (lambda p: p[:1] + p[5:9] + p[1:5] + p[9:], r"ProofMalformed\(5\)"),
        (lambda p: bytes([0x30 | 1]) + p[1:], "ProofTruncated"),  # an input leaf more
    ],
)
def test_bad_proofs_are_rejected(mutate: object, message: str) -> None:
    witness, proof, _ = proved_load()
    with pytest.raises(ProofError, match=message):
        check_step(witness, mutate(proof))  # type: ignore[operator]


def test_witness_layout_and_tags() -> None:
    for xlen, size in ((32, 520), (64, 652)):
        state = RiscvState(xlen=xlen, pc=0x1234, step=7)
        state.x[31] = (1 << xlen) - 1
        state.f[31] = 0xFFFFFFFF_00000001
        w = state.witness()
        assert len(w) == size == layout.WITNESS_BYTES[xlen]
        assert w[layout.ISA] == layout.ISA_TAGS[xlen]
        word = xlen // 8
        assert int.from_bytes(w[layout.PC : layout.PC + word], "big") == 0x1234
        assert int.from_bytes(w[layout.STEP : layout.STEP + 8], "big") == 7
        x31 = layout.LAYOUTS[xlen].x + 31 * word
        assert w[x31 : x31 + word] == b"\xff" * word
        assert w[-8:] == bytes.fromhex("ffffffff00000001")
        assert RiscvState.from_witness(w) == state


def test_the_state_hash_frames_the_status() -> None:
    state = RiscvState(xlen=64)
    assert state.hash()[0] == VMStatus.UNFINISHED
    state.status, state.exit_code = 1, 3
    assert state.hash()[0] == VMStatus.EXITED_NONZERO
    assert state.hash()[1:] == state_hash(state.witness())[1:]
    # the same registers under the other XLEN are another claim
    assert RiscvState(xlen=32).hash() != RiscvState(xlen=64).hash()


@pytest.mark.parametrize(
    ("witness", "message"),
    [
        (b"", "empty"),
        (State().witness(), "ISA tag"),  # a MIPS witness
        (RiscvState(xlen=32).witness() + bytes(132), "RV32 witness is 520"),
        (bytes([2, 3]) + RiscvState(xlen=64).witness()[2:], "status"),
        (bytes([1, 0, 0, 8]) + RiscvState(xlen=32).witness()[4:], "reservation"),
    ],
)
def test_malformed_witnesses_are_rejected(witness: bytes, message: str) -> None:
    with pytest.raises(WitnessError, match=message):
        RiscvState.from_witness(witness)


def test_x0_reservation_and_fcsr_must_be_canonical() -> None:
    state = RiscvState(xlen=64)
    state.x[0] = 1
    with pytest.raises(WitnessError, match="x0"):
        RiscvState.from_witness(state.witness())
    state = RiscvState(xlen=64, reservation_addr=0x20000)
    with pytest.raises(WitnessError, match="reservation address"):
        RiscvState.from_witness(state.witness())
    state = RiscvState(xlen=64, fcsr=0x100)
    with pytest.raises(WitnessError, match="fcsr"):
        RiscvState.from_witness(state.witness())


def test_the_spec_lists_exactly_the_decode_table() -> None:
    """docs/spec.md section R6.2 is the table the step decodes with, row for row."""
    spec = (Path(__file__).parent.parent / "docs" / "spec.md").read_text()
    doc = spec[spec.index("# RISC-V (RV64 and RV32)") :]
    rows = []
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 5 and cells[1].startswith("0x") and cells[2].startswith("0x"):
            rows.append((cells[0], int(cells[1], 16), int(cells[2], 16), cells[3], cells[4]))
    expected = [
        (e.name, e.mask, e.match, e.format.value, "both" if len(e.xlens) == 2 else str(e.xlens[0]))
        for e in ENCODINGS
    ]
    assert rows == expected
