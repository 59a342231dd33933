"""The ISA is chosen by the ELF: every emulator command runs MIPS, RV64 and RV32 alike.

Why: shared code (the checkpointed trace, proofs, vectors, the CLI) receives an `Isa` and must
work for each one without knowing it. These tests drive the real commands on the shipped
programs of every ISA and compare with what each ISA's own pieces say (the qemu records, the
reference stepper, the proof check), and check that a foreign ELF or an ISA-less proof file is
handled as documented.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arbitration.cli import emulator_commands, verifier_commands  # noqa: F401  (registers them)
from arbitration.cli.app import app
from arbitration.contracts.verifier import verifier_built
from flexemu.emulator import Emulator
from flexemu.errors import LoaderError, ProofError
from flexemu.isa import LISTINGS, isa_for_elf, isa_named, isa_of_state, registry
from flexemu.program import Program
from flexemu.proof import StepProof, check_file, isa_of_witness
from flexemu.reference import ReferenceMachine
from flexemu.vectors import FORMAT, classify_proof
from tests.conftest import PROGRAMS_DIR, build_program

RUNNER = CliRunner()
#: One program per ISA, small enough to prove every step.
HELLO = {"mips32": "hello", "rv64": "hello.rv64", "rv32": "hello.rv32"}


def invoke(*args: str) -> tuple[int, str, str]:
    result = RUNNER.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), text
    return lines[0]


@pytest.mark.parametrize(("isa", "name"), sorted(HELLO.items()))
def test_the_elf_picks_the_isa(isa: str, name: str) -> None:
    assert isa_for_elf((PROGRAMS_DIR / name).read_bytes()).name == isa


def test_the_registry_names_each_isa_once_with_its_own_witness_size() -> None:
    names = [isa.name for isa in registry()]
    assert sorted(names) == ["mips32", "rv32", "rv64"]
    sizes = {isa.witness_bytes for isa in registry()}
    assert len(sizes) == len(names)  # a witness's size names its ISA (isa_of_witness)
    for isa in registry():
        assert isa_named(isa.name) is isa
        assert isa.witness_offsets["status"] < isa.witness_bytes
    vm_ids = [isa.vm_id for isa in registry()]
    assert len(set(vm_ids)) == len(vm_ids) and 0 not in vm_ids  # a game's VM names one ISA


def test_the_listings_match_the_loaded_isas() -> None:
    """The registry picks an ISA from its listing before importing it: the two must agree."""
    for listing, isa in zip(LISTINGS, registry(), strict=True):
        facts = (
            isa.name, isa.elf_machine, isa.elf_word_bytes, isa.byte_order, isa.witness_bytes,
            isa.vm_id, isa.verifier,
        )  # fmt: skip
        assert facts == (
            listing.name, listing.elf_machine, listing.elf_word_bytes, listing.byte_order,
            listing.witness_bytes, listing.vm_id, listing.verifier,
        )  # fmt: skip
        initial = isa.load(Program.from_file(PROGRAMS_DIR / HELLO[isa.name])).state
        assert len(initial.witness()) == listing.witness_bytes


@pytest.mark.parametrize("name", ["tiny_sum", "tiny_sum.rv64", "tiny_sum.rv32", "sort.rv64"])
def test_run_json_names_the_isa_and_matches_qemu(name: str) -> None:
    record = json.loads((PROGRAMS_DIR / f"{name}.expected.json").read_text())
    argv = record["argv"][1:] if record["argv"] else []
    code, out, err = invoke("run", "--json", str(PROGRAMS_DIR / name), *argv)
    report = json.loads(out)
    assert report["isa"] == isa_for_elf((PROGRAMS_DIR / name).read_bytes()).name
    assert report["stdout"] == record["stdout"]
    assert code == report["exit_code"] == record["exit_code"], err


@pytest.mark.parametrize(("isa", "name"), sorted(HELLO.items()))
def test_state_prove_and_check_through_the_cli(isa: str, name: str, tmp_path: Path) -> None:
    """Every step of hello: the state command's hash is the reference's, and the proof of each
    step checks out to the next step's state hash."""
    program = str(PROGRAMS_DIR / name)
    machine = ReferenceMachine.of_program(Program.from_file(program))  # the CLI's argv
    assert machine.isa.name == isa
    step = 0
    while True:
        code, out, err = invoke("state", "--step", str(step), program)
        assert code == 0, err
        state = json.loads(out)
        assert (state["isa"], state["state_hash"]) == (isa, "0x" + machine.state_hash().hex())
        proof = tmp_path / f"{step}.json"
        code, out, err = invoke("prove", "--step", str(step), "-o", str(proof), program)
        assert code == 0 and json.loads(out)["isa"] == isa, err
        assert json.loads(proof.read_text())["isa"] == isa
        machine.step()
        code, out, err = invoke("check", str(proof))
        assert code == 0, err
        checked = json.loads(out)
        assert checked["isa"] == isa
        assert checked["post_state_hash"] == "0x" + machine.state_hash().hex()
        if state["status"] != "running":
            break
        step += 1


def test_a_mips_proof_file_without_isa_stays_valid(tmp_path: Path) -> None:
    proof = tmp_path / "p.json"
    assert invoke("prove", "--step", "7", "-o", str(proof), str(PROGRAMS_DIR / "hello"))[0] == 0
    data = json.loads(proof.read_text())
    del data["isa"]
    proof.write_text(json.dumps(data))
    code, out, err = invoke("check", str(proof))
    assert code == 0 and json.loads(out)["isa"] == "mips32", err


def test_a_proof_file_naming_another_isa_is_invalid(tmp_path: Path) -> None:
    """An rv64 witness under `isa: rv32` fails the rv32 length check, like on chain."""
    proof = tmp_path / "p.json"
    invoke("prove", "--step", "3", "-o", str(proof), str(PROGRAMS_DIR / "hello.rv64"))
    data = json.loads(proof.read_text())
    proof.write_text(json.dumps({**data, "isa": "rv32"}))
    code, _, err = invoke("check", str(proof))
    assert code == 1 and "WitnessLength(652)" in one_line(err)
    proof.write_text(json.dumps({**data, "isa": "x86"}))
    code, _, err = invoke("check", str(proof))
    assert code == 2 and "'isa' must be one of" in one_line(err)


def test_riscv_onchain_check_uses_the_riscv_verifier(tmp_path: Path) -> None:
    """RiscvVerifier is built and committed: `check --onchain` runs an rv64 proof through it."""
    assert verifier_built("rv64") and verifier_built("rv32")
    proof = tmp_path / "p.json"
    invoke("prove", "--step", "3", "-o", str(proof), str(PROGRAMS_DIR / "hello.rv64"))
    code, out, err = invoke("check", "--onchain", str(proof))
    report = json.loads(out)
    assert code == 0 and report["isa"] == "rv64" and report["valid"], err
    assert report["post_state_hash"] == json.loads(proof.read_text())["post_state_hash"]


def test_foreign_elf_gets_one_line_and_exit_2(tmp_path: Path) -> None:
    host = Path("/bin/true").read_bytes()
    guest = tmp_path / "guest"
    guest.write_bytes(host)
    code, _, err = invoke("run", str(guest))
    line = one_line(err)
    assert code == 2 and "EM_X86_64" in line and "rv64" in line and "mips32" in line
    arm = bytearray((PROGRAMS_DIR / "hello.rv32").read_bytes())
    arm[18:20] = (40).to_bytes(2, "little")  # e_machine = EM_ARM
    guest.write_bytes(bytes(arm))
    for command in ("run", "state", "prove", "vectors"):
        extra = ["--out", str(tmp_path / "v")] if command == "vectors" else []
        code, _, err = invoke(command, *extra, str(guest))
        assert code == 2 and "wrong machine EM_ARM" in one_line(err), command


def test_riscv_with_an_unsupported_abi_gets_one_line_and_exit_2(tmp_path: Path) -> None:
    rve = bytearray((PROGRAMS_DIR / "hello.rv32").read_bytes())
    flags = int.from_bytes(rve[36:40], "little") | 0x8  # EF_RISCV_RVE
    rve[36:40] = flags.to_bytes(4, "little")
    guest = tmp_path / "guest"
    guest.write_bytes(bytes(rve))
    code, _, err = invoke("run", str(guest))
    assert code == 2 and "RV32E" in one_line(err)
    with pytest.raises(LoaderError, match="RV32E"):
        Emulator(Program.from_file(guest))


@pytest.mark.parametrize("name", ["tiny_sum.rv64", "tiny_sum.rv32"])
def test_riscv_vectors_check_out_and_classify_from_the_proof(name: str, tmp_path: Path) -> None:
    out = tmp_path / "v"
    code, _, err = invoke("vectors", "--out", str(out), str(PROGRAMS_DIR / name))
    assert code == 0, err
    index = json.loads((out / "index.json").read_text())
    assert index["isa"] == name.rsplit(".", 1)[1]
    assert {"syscall-write", "syscall-exit", "fixed-point"} <= set(index["classes"])
    assert any(cls.startswith("c.") for cls in index["classes"])  # compressed forms
    for entry in index["vectors"]:
        claim = StepProof.from_json(json.loads((out / entry["file"]).read_text()), FORMAT)
        assert isa_of_witness(claim.witness).name == name.rsplit(".", 1)[1]
        assert check_file(claim) == claim.post_state_hash
        assert classify_proof(claim) == (entry["class"], entry["instruction"])
    for entry in index["invalid"]:
        data = json.loads((out / entry["file"]).read_text())
        claim = StepProof.from_json(data, FORMAT)
        with pytest.raises(ProofError):  # the name is the verifier's; off-chain says why
            check_file(claim)


@pytest.mark.parametrize("name", ["tiny_sum.rv64", "stdin_echo.rv64", "tiny_sum"])
def test_checkpointed_trace_equals_the_reference_at_every_step(name: str) -> None:
    """The shared Emulator, with a checkpoint every 64 steps, seeks back and forth; each
    state equals the reference machine's after the same number of steps."""
    program = build_program(name)
    emulator = Emulator(program, interval=64)
    final = emulator.run()
    machine = ReferenceMachine.of_program(program)
    assert isa_of_state(machine.state) is emulator.isa
    wanted = sorted({*range(0, final.step + 2, max(1, final.step // 150)), final.step})
    hashes = {}
    for step in wanted:
        machine.run(step - machine.state.step)
        hashes[step] = machine.state_hash()
    for step in [*reversed(wanted), *wanted[::3]]:
        assert emulator.state_at(step).hash() == hashes[step], step
