"""`flexemu-game vectors`: the step test vectors verifier developers run elsewhere.

The vectors of the shipped programs must check out off-chain (the reference replays
them, `flexemu.proof.check_file`) and through the Solidity verifier on py-evm. Their
class must be what the proof alone says (`classify_proof`) and what the
instruction's encoding says. The forged ones must be rejected with exactly the
error they name. The files are deterministic, and bad arguments exit 2 without a
traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from arbitration.chain.errors import ChainError
from arbitration.chain.in_process import InProcessChain
from arbitration.cli.app import app
from arbitration.contracts.deploy import deploy_verifier
from arbitration.contracts.verifier import Verifier
from flexemu.errors import ProofError
from flexemu.isa.mips.isa import classify, panic_class
from flexemu.isa.mips.state import Panic, State, Status
from flexemu.multiproof import leaf_counts
from flexemu.proof import StepProof, check_file
from flexemu.vectors import (
    EXPECTED_ERRORS,
    FORMAT,
    INDEX_FORMAT,
    classify_proof,
)

PROGRAMS = Path(__file__).resolve().parents[1] / "scenarios" / "programs"
RUNNER = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    from arbitration.cli import verifier_commands  # noqa: F401  (registers vectors)

    result = RUNNER.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@cache
def _generated(name: str, root: str, *extra: str) -> Path:
    out = Path(root) / name
    code, _, err = invoke("vectors", "--out", str(out), *extra, str(PROGRAMS / name))
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def vectors_of(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    root = str(tmp_path_factory.mktemp("vectors"))
    return lambda name: _generated(name, root)


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def claim_of(data: dict[str, Any]) -> StepProof:
    return StepProof.from_json(data, FORMAT)


def valid_vectors(out: Path) -> list[dict[str, Any]]:
    return [load(out / entry["file"]) for entry in load(out / "index.json")["vectors"]]


def invalid_vectors(out: Path) -> list[dict[str, Any]]:
    return [load(out / entry["file"]) for entry in load(out / "index.json")["invalid"]]


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return deploy_verifier(InProcessChain.fresh())


PROGRAM_NAMES = ["hello", "tiny_sum", "exitcode", "trap", "likely"]


@pytest.mark.parametrize("name", PROGRAM_NAMES)
def test_vectors_check_out_off_chain(name: str, vectors_of: Callable[[str], Path]) -> None:
    out = vectors_of(name)
    index = load(out / "index.json")
    assert index["format"] == INDEX_FORMAT
    vectors = valid_vectors(out)
    assert vectors
    for data in vectors:
        assert data["format"] == FORMAT
        claim = claim_of(data)
        assert check_file(claim) == claim.post_state_hash
        # The class and text in the file are what the proof alone says.
        assert classify_proof(claim) == (data["class"], data["instruction"])
    per_class: dict[str, int] = {}
    for data in vectors:
        per_class[data["class"]] = per_class.get(data["class"], 0) + 1
    assert max(per_class.values()) <= 3
    assert per_class == index["classes"]


def test_likely_yields_the_branch_likely_classes(vectors_of: Callable[[str], Path]) -> None:
    """The one shipped program with branch-likely: taken ones and nullified slots."""
    classes = load(vectors_of("likely") / "index.json")["classes"]
    assert classes["branch-likely"] == 3 and classes["nullified-slot"] == 3
    for data in valid_vectors(vectors_of("likely")):
        if data["class"] == "nullified-slot":
            assert data["proof"] == "0x" and data["instruction"] is None
            assert State.from_witness(bytes.fromhex(data["witness"][2:])).pc & 1


@pytest.mark.parametrize("name", PROGRAM_NAMES)
def test_vectors_check_out_on_the_evm(
    name: str, vectors_of: Callable[[str], Path], verifier: Verifier
) -> None:
    for data in valid_vectors(vectors_of(name)):
        claim = claim_of(data)
        assert verifier.step_from(claim.pre_state_hash, claim.witness, claim.proof) == (
            claim.post_state_hash
        ), (name, data["class"], data["step"])


@pytest.mark.parametrize("name", PROGRAM_NAMES)
def test_invalid_vectors_are_rejected_with_the_named_error(
    name: str, vectors_of: Callable[[str], Path], verifier: Verifier
) -> None:
    invalid = invalid_vectors(vectors_of(name))
    assert sorted(d["expect_error"] for d in invalid) == sorted(EXPECTED_ERRORS)
    for data in invalid:
        claim = claim_of(data)
        with pytest.raises(ProofError):
            check_file(claim)
        with pytest.raises(ChainError) as rejected:
            verifier.step_from(claim.pre_state_hash, claim.witness, claim.proof)
        assert rejected.value.name == data["expect_error"], (str(rejected.value), data)


def test_the_expected_kinds_of_step_are_there(vectors_of: Callable[[str], Path]) -> None:
    hello = load(vectors_of("hello") / "index.json")["classes"]
    assert {"syscall-write", "syscall-exit", "fixed-point", "alu", "alu-imm", "jump"} <= set(
        hello
    )
    trap = {d["class"]: d for d in valid_vectors(vectors_of("trap"))}
    assert State.from_witness(bytes.fromhex(trap["fixed-point"]["witness"][2:])).status == (
        Status.PANICKED
    )
    panicked = trap[panic_class(Panic.TRAP)]
    assert panicked["post_state_hash"][2:4] == "02"  # vm_status panicked
    assert panicked["instruction"].startswith("t")  # a trap instruction (teq, tne, ...)
    glibc = set(load(vectors_of("exitcode") / "index.json")["classes"])
    assert {
        "load", "store", "branch", "ll-sc", "special3", "fpu-memory", "syscall-exit_group",
        "syscall-brk", "syscall-set_thread_area", "load-unaligned",
    } <= glibc  # fmt: skip


def test_index_lists_exactly_the_files_written(vectors_of: Callable[[str], Path]) -> None:
    out = vectors_of("tiny_sum")
    index = load(out / "index.json")
    listed = {e["file"] for e in index["vectors"] + index["invalid"]} | {"index.json"}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert listed == on_disk
    for entry in index["vectors"]:
        assert entry["file"] == f"{entry['class']}/{entry['step']}.json"
    assert index["trace_length"] == 307
    assert index["initial_state_hash"] == valid_vectors(out)[0]["pre_state_hash"]


def test_forgeries_start_from_a_multi_leaf_step(vectors_of: Callable[[str], Path]) -> None:
    for data in invalid_vectors(vectors_of("exitcode")):
        if data["expect_error"] == "ProofOversized":
            proof = bytes.fromhex(data["proof"][2:])
            assert sum(leaf_counts(proof)) >= 2 and proof[-1] == 0  # a real step, one byte more


def test_output_is_deterministic_and_reruns_replace_stale_files(tmp_path: Path) -> None:
    program = str(PROGRAMS / "hello")
    first, second = tmp_path / "a", tmp_path / "b"
    assert invoke("vectors", "--out", str(first), program)[0] == 0
    assert invoke("vectors", "--out", str(second), program)[0] == 0
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes()
    # A rerun with fewer vectors per class removes what it no longer lists.
    assert invoke("vectors", "--out", str(first), "--per-class", "1", program)[0] == 0
    index = load(first / "index.json")
    assert set(index["classes"].values()) == {1}
    on_disk = {p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file()}
    assert on_disk == {e["file"] for e in index["vectors"] + index["invalid"]} | {"index.json"}


def test_classify_steps_still_includes_the_exit_and_the_fixed_point(tmp_path: Path) -> None:
    out = tmp_path / "v"
    code, _, err = invoke("vectors", "--out", str(out), "--classify-steps", "50",
                          str(PROGRAMS / "exitcode"))  # fmt: skip
    assert code == 0, err
    index = load(out / "index.json")
    assert index["steps_classified"] == 50
    end = index["trace_length"]  # ~7,300: glibc's start-up depends on the argv[0] given
    assert end > 7000
    steps = {e["class"]: e["step"] for e in index["vectors"]}
    assert steps["fixed-point"] == end
    assert steps["syscall-exit_group"] == end - 1
    assert max(e["step"] for e in index["vectors"] if e["step"] < end - 1) < 50


def test_classify_names_the_steps_no_shipped_program_takes() -> None:
    running = State(pc=0x1000, next_pc=0x1004)
    nullified = State(pc=0x1005, next_pc=0x1008)
    assert classify(nullified, None, nullified) == "nullified-slot"
    beql = (0x14 << 26) | 2
    assert classify(running, beql, running) == "branch-likely"
    assert classify(running, 0x0000000C, running) == "syscall-0"
    overflowed = State(status=Status.PANICKED, exit_code=Panic.INTEGER_OVERFLOW)
    assert classify(running, 0, overflowed) == "panic-integer-overflow"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["vectors", str(PROGRAMS / "hello")], "--out"),
        (["vectors", "--out", "{tmp}/v", "--per-class", "0", str(PROGRAMS / "hello")], "per-class"),
        (["vectors", "--out", "{tmp}/v", "{tmp}/missing-program"], "missing-program"),
        (["vectors", "--out", "{tmp}/v", str(PROGRAMS / "hello.c")], "hello.c"),
        (["vectors", "--out", "{tmp}/file", str(PROGRAMS / "hello")], "not a directory"),
        (["vectors", "--out", "{tmp}/full", str(PROGRAMS / "hello")], "not empty"),
        (["vectors", "--out", "{tmp}/v", "--stdin", "{tmp}/none", str(PROGRAMS / "hello")], "none"),
    ],
)
def test_bad_arguments_exit_two(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    code, _, err = invoke(*(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert (tmp_path / "full" / "notes.txt").read_text() == "mine"
