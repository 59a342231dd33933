"""Verifier against the reference on every hand-written step case and on random steps.

The step and syscall cases of tests/test_riscv_step.py and tests/test_riscv_syscalls.py run
unchanged, with their `prove_and_check` replaced by one that also sends the step to the
compiled contract (tests/riscv_verifier_support.evm_step): every case is then a reference
vs EVM comparison too. The random steps reuse the hypothesis strategy of
tests/test_riscv_properties.py: random 32-bit words, steered encodings of every table row,
compressed parcels, ecalls of every listed number, random registers, FP registers, fcsr,
reservations and step counters.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings

from arbitration.contracts.verifier import Verifier
from flexemu.isa.riscv.proof import check_step
from tests import test_riscv_step, test_riscv_syscalls
from tests.riscv_support import Machine
from tests.riscv_verifier_support import deploy, evm_step
from tests.test_riscv_properties import machines

CASE_MODULES = (test_riscv_step, test_riscv_syscalls)

Case = tuple[ModuleType, Callable[..., None], dict[str, object]]


def _parameter_sets(function: Callable[..., None]) -> Iterator[dict[str, object]]:
    """Every keyword set pytest would call `function` with (its parametrize marks)."""
    grids = []
    for mark in getattr(function, "pytestmark", []):
        if mark.name != "parametrize":
            continue
        names, values = mark.args[0], mark.args[1]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        rows = []
        for value in values:
            value = getattr(value, "values", value)  # pytest.param(...)
            row = tuple(value) if len(names) > 1 else (value,)
            rows.append(dict(zip(names, row, strict=True)))
        grids.append(rows)
    for combination in itertools.product(*grids):
        merged: dict[str, object] = {}
        for part in combination:
            merged.update(part)
        yield merged


def _cases() -> Iterator[Case]:
    for module in CASE_MODULES:
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("test_") and function.__module__ == module.__name__:
                for kwargs in _parameter_sets(function):
                    yield module, function, kwargs


CASES = list(_cases())


def _case_id(case: Case) -> str:
    module, function, kwargs = case
    suffix = "-".join(f"{v:#x}" if isinstance(v, int) else str(v)[:20] for v in kwargs.values())
    return f"{module.__name__.rsplit('.', 1)[-1]}::{function.__name__}[{suffix}]"


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return deploy()


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_case_agrees_on_chain(
    case: Case, verifier: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, function, kwargs = case
    steps: list[int] = []

    def prove_and_check_on_chain(machine: Machine):
        full, witness, proof = evm_step(verifier, machine)
        steps.append(full.step)
        return full, check_step(witness, proof), proof

    monkeypatch.setattr(module, "prove_and_check", prove_and_check_on_chain)
    function(**kwargs)
    if not steps:
        pytest.skip("this case inspects tables and executes no step")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machines())
def test_random_steps_agree_on_chain(drawn: tuple[Machine, int, int]) -> None:
    machine, _, _ = drawn
    evm_step(_shared_verifier(), machine)


_VERIFIER: list[Verifier] = []


def _shared_verifier() -> Verifier:
    """One verifier for every hypothesis example (fixtures are not reset between them)."""
    if not _VERIFIER:
        _VERIFIER.append(deploy())
    return _VERIFIER[0]
