"""The MIPS commitments as they are: state hashes, proofs and vectors of every shipped program.

Why: moving MIPS behind the ISA plug-in interface (or any refactor of the shared core) must not
change one byte of what MIPS commits to; a game in flight, a deployed verifier and every vector
a verifier developer holds depend on it. `compute()` derives the record through the public
surface only (`Program`, `Emulator`, `prove`, the `vectors` command), so it means the same before
and after a move. `tests/data/mips_golden.json` is its committed output; a deliberate encoding
change regenerates it in a commit of its own:

    .venv/bin/python -m tests.mips_golden --write
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from flexemu.emulator import Emulator
from flexemu.loader import Program
from flexemu.proof import prove

REPO = Path(__file__).resolve().parents[1]
PROGRAMS = REPO / "scenarios" / "programs"
GOLDEN = REPO / "tests" / "data" / "mips_golden.json"

#: Every shipped MIPS program, with the argv/stdin of its qemu record.
NAMES = (
    "hello", "tiny_sum", "likely", "trap", "exitcode", "stdin_echo", "sort", "smc", "slots",
    "loop", "spin",
)  # fmt: skip
#: hostile_end picks its ending from one stdin byte: every case.
HOSTILE_CASES = "a1kmoxchpbn"
#: (program, steps) whose proofs are recorded: every step of hello, syscalls and memory steps.
PROVEN = {"hello": range(0, 18), "tiny_sum": (0, 40, 150, 306), "stdin_echo": (0, 500, 9000)}
#: The program whose `vectors` output is recorded file by file.
VECTORS_OF = "tiny_sum"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def program(name: str, stdin: bytes | None = None) -> Program:
    record = json.loads((PROGRAMS / f"{name}.expected.json").read_text())
    data = record["stdin"].encode() if stdin is None else stdin
    return Program.from_file(PROGRAMS / name, record["argv"], {}, data)


def sample_steps(final: int) -> list[int]:
    """0..3, powers of three, the middle, the last two steps and one past the end."""
    steps = {0, 1, 2, 3, final // 2, max(final - 1, 0), final, final + 1}
    power = 9
    while power < final:
        steps.add(power)
        power *= 3
    return sorted(steps)


def trace_record(emulator: Emulator) -> dict[str, Any]:
    final = emulator.run()
    return {
        "steps": final.step,
        "final": final.hash().hex(),
        "stdout_sha256": sha256(emulator.stdout()),
        "at": {str(s): emulator.state_at(s).hash().hex() for s in sample_steps(final.step)},
    }


def vector_files(name: str) -> dict[str, str]:
    from typer.testing import CliRunner

    from arbitration.cli import verifier_commands  # noqa: F401  (registers vectors)
    from arbitration.cli.app import app

    # argv[0] is PROGRAM as given and lands on the guest's stack: give it relative to the
    # repository, so the record does not depend on where the checkout lives.
    program_arg = str((PROGRAMS / name).relative_to(PROGRAMS.parents[1]))
    with tempfile.TemporaryDirectory() as root:
        out = Path(root) / "v"
        cwd = Path.cwd()
        os.chdir(PROGRAMS.parents[1])
        try:
            result = CliRunner().invoke(app, ["vectors", "--out", str(out), program_arg])
        finally:
            os.chdir(cwd)
        assert result.exit_code == 0, result.output
        return {
            str(path.relative_to(out)): sha256(path.read_bytes())
            for path in sorted(out.rglob("*.json"))
        }


def compute() -> dict[str, Any]:
    traces: dict[str, Any] = {}
    emulators: dict[str, Emulator] = {}
    for name in NAMES:
        emulators[name] = Emulator(program(name))
        traces[name] = trace_record(emulators[name])
    for case in HOSTILE_CASES:
        traces[f"hostile_end:{case}"] = trace_record(
            Emulator(program("hostile_end", case.encode()))
        )
    proofs: dict[str, Any] = {}
    for name, steps in PROVEN.items():
        for step in steps:
            claim = prove(emulators[name], step)
            proofs[f"{name}:{step}"] = {
                "pre": claim.pre_state_hash.hex(),
                "post": claim.post_state_hash.hex(),
                "witness": claim.witness.hex(),
                "proof_sha256": sha256(claim.proof),
            }
    return {"traces": traces, "proofs": proofs, "vectors": vector_files(VECTORS_OF)}


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.mips_golden --write")
    GOLDEN.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n")
