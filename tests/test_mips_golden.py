"""Every MIPS state hash, proof and vector is byte-identical to the committed record.

The record (`tests/data/mips_golden.json`, written by `tests/mips_golden.py` before the ISA
plug-in move) covers every shipped MIPS program: the final state hash, the hashes at a spread
of steps, the stdout, the proofs of every step of `hello` and of syscall and memory steps
elsewhere, and each file `flexemu-game vectors` writes for tiny_sum. Each part is compared on
its own so that a failure names what moved.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from tests.mips_golden import GOLDEN, compute


@cache
def recorded() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text())


@cache
def now() -> dict[str, Any]:
    return compute()


@pytest.mark.parametrize("name", sorted(recorded()["traces"]))
def test_trace_hashes_unchanged(name: str) -> None:
    assert now()["traces"][name] == recorded()["traces"][name]


def test_proofs_unchanged() -> None:
    record, current = recorded()["proofs"], now()["proofs"]
    assert sorted(current) == sorted(record)
    moved = [key for key in record if current[key] != record[key]]
    assert moved == []


def test_vectors_unchanged() -> None:
    assert now()["vectors"] == recorded()["vectors"]


def test_the_record_covers_every_shipped_mips_program() -> None:
    """A program added later must be recorded too, or this test proves less than it says."""
    from tests.mips_golden import HOSTILE_CASES, NAMES, PROGRAMS

    shipped = {p.name for p in PROGRAMS.iterdir() if p.is_file() and "." not in p.name}
    assert shipped == {*NAMES, "hostile_end"}
    assert {f"hostile_end:{c}" for c in HOSTILE_CASES} <= set(recorded()["traces"])
