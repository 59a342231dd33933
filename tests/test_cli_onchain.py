"""`flexemu-game check --onchain`: proof files judged by the Solidity verifier on py-evm.

Real proofs of the shipped programs must be accepted with the reference's post-state.
The gas figures must be consistent with calldata encoded here independently from
the ABI. Forged proofs must exit 1 with one line naming the verifier's custom error,
and bad files must exit 2. Neither may show a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector
from typer.testing import CliRunner

from arbitration.cli.app import app
from flexemu.emulator import Emulator
from flexemu.merkle import DEPTH
from flexemu.multiproof import leaf_counts, spans
from flexemu.proof import StepProof, dumps, prove

RUNNER = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    from arbitration.cli import emulator_commands  # noqa: F401  (registers check)

    result = RUNNER.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, name: str, data: dict[str, Any] | str) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def calldata(claim: StepProof) -> bytes:
    selector = function_signature_to_4byte_selector("stepFrom(bytes32,bytes,bytes)")
    return selector + encode(
        ["bytes32", "bytes", "bytes"], [claim.pre_state_hash, claim.witness, claim.proof]
    )


# (program, step): a write syscall, a store, glibc's SC, the trap panic, the exit syscall
# and the exited fixed point.
CASES = [("hello", 11), ("tiny_sum", 11), ("exitcode", 2734), ("trap", 83), ("hello", 16),
         ("hello", 17)]  # fmt: skip


@pytest.mark.parametrize(("name", "step"), CASES)
def test_real_proofs_are_accepted_with_consistent_gas(
    name: str, step: int, finished_emulator: Callable[[str], Emulator], tmp_path: Path
) -> None:
    claim = prove(finished_emulator(name), step)
    path = write(tmp_path, "proof.json", dumps(claim))
    code, out, err = invoke("check", "--onchain", str(path))
    assert code == 0, err
    report = json.loads(out)
    assert report["valid"] is True
    assert report["post_state_hash"] == "0x" + claim.post_state_hash.hex()
    # Same answer as the off-chain check of the same file.
    code, off_chain, _ = invoke("check", str(path))
    assert code == 0 and json.loads(off_chain)["post_state_hash"] == report["post_state_hash"]

    data = calldata(claim)
    zeros = data.count(0)
    nonzeros = len(data) - zeros
    gas = report["gas"]
    assert report["calldata_bytes"] == len(data)
    assert gas["eip7623_floor"] == 21_000 + 10 * (zeros + 4 * nonzeros)
    # Prague: the receipt pays the larger of execution + intrinsic and EIP-7623's floor
    intrinsic = 21_000 + 4 * zeros + 16 * nonzeros
    assert gas["transaction"] == max(gas["execution"] + intrinsic, gas["eip7623_floor"])
    assert 0 < gas["execution"] < 1_000_000
    assert report["chain"].startswith("py-evm ") and report["chain"].endswith(" prague")


@pytest.fixture(scope="module")
def write_proof(finished_emulator: Callable[[str], Emulator]) -> dict[str, Any]:
    """hello's write syscall: an instruction leaf and a data leaf."""
    claim = prove(finished_emulator("hello"), 11)
    assert leaf_counts(claim.proof) == (2, 0)
    return claim.to_json()


def flip(hex_text: str, byte: int) -> str:
    raw = bytearray.fromhex(hex_text[2:])
    raw[byte] ^= 0x01
    return "0x" + raw.hex()


def at(hex_text: str, kind: str, number: int = 0) -> int:
    """The first byte of a field of the proof (flexemu.multiproof.spans)."""
    proof = bytes.fromhex(hex_text[2:])
    return next(f.start for f in spans(proof, DEPTH) if f.kind == kind and f.number == number)


def outside(hex_text: str) -> str:
    """The first leaf index set beyond the tree (2^32 - 1)."""
    start = at(hex_text, "index")
    return hex_text[: 2 + 2 * start] + "ff" * 4 + hex_text[2 + 2 * start + 8 :]


FORGERIES: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = [
    ("MerkleProofInvalid", lambda d: {**d, "proof": flip(d["proof"], at(d["proof"], "sibling"))}),
    ("MerkleProofInvalid", lambda d: {**d, "proof": flip(d["proof"], at(d["proof"], "leaf") + 2)}),
    ("WrongPreState", lambda d: {**d, "witness": flip(d["witness"], 120)}),
    ("ProofMalformed", lambda d: {**d, "proof": outside(d["proof"])}),
    ("LeafNotProven", lambda d: {**d, "proof": "0x"}),
    ("ProofTruncated", lambda d: {**d, "proof": d["proof"][:-2]}),
    ("ProofOversized", lambda d: {**d, "proof": d["proof"] + "00"}),
    ("post-state mismatch", lambda d: {**d, "post_state_hash": flip(d["post_state_hash"], 31)}),
]


@pytest.mark.parametrize(("error", "forge"), FORGERIES, ids=[f[0] for f in FORGERIES])
def test_forged_proofs_exit_one_naming_the_error(
    error: str,
    forge: Callable[[dict[str, Any]], dict[str, Any]],
    write_proof: dict[str, Any],
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "forged.json", forge(write_proof))
    code, out, err = invoke("check", "--onchain", str(path))
    assert code == 1
    assert out == ""
    assert err.startswith(f"error: invalid proof: {error}")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert invoke("check", str(path))[0] == 1  # the off-chain check rejects it too


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No such file"),
        ("{not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ({"format": "flexemu-step-proof/2", "step": 1}, "pre_state_hash"),
        ("short-hash", "must be 32 bytes"),
        ("bad-hex", "not valid hex"),
    ],
)
def test_bad_files_exit_two(
    content: object, message: str, write_proof: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "bad.json"
    if content == "short-hash":
        content = {**write_proof, "pre_state_hash": write_proof["pre_state_hash"][:-2]}
    elif content == "bad-hex":
        content = {**write_proof, "witness": "0xzz"}
    if content is not None:
        write(tmp_path, "bad.json", content)  # type: ignore[arg-type]
    code, _, err = invoke("check", "--onchain", str(path))
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
