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
from flexemu.proof import check
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
        return full, check(witness, proof), proof

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


# Syscalls at the edges of their rules (the reference's suite tests the rules, these the
# off-by-one neighbours): (number, arguments, extra state fields), RV64 and RV32.
IOV = 0x20000 + 64
BOUNDARY_CALLS: list[tuple[int, tuple[int, ...], dict[str, int]]] = [
    (66, (1, IOV, 1024), {}), (66, (1, IOV, 1025), {}), (66, (2, IOV, 0), {}),
    (66, (3, IOV, 1), {}), (64, (2, 0x20000 + 31, 5), {}), (64, (0, 0x20000, 5), {}),
    (63, (0, 0x20000, 1), {"input_pos": 69}), (63, (0, 0x20000, 5), {"input_pos": 31}),
    (63, (0, 0xFFFFFFFF, 1), {}), (63, (0, 0x100000000, 1), {}),
    (214, (0x40000000,), {}), (214, (0x30000,), {}), (214, (0x30001,), {}),
    (222, (0, 4096, 3, 0x22), {"mmap_next": 0x7F000000 - 4096}),
    (222, (0, 4097, 3, 0x22), {"mmap_next": 0x7F000000 - 4096}),
    (222, (0, 1, 3, 0x22), {"mmap_next": 0x7F000001}),
    (222, (0x1000, 1, 3, 0x32), {}), (222, (0xFFF, 1, 3, 0x32), {}),
    (261, (0, 15, 0, 0x20000 + 20), {}), (261, (0, 16, 0, 0), {}), (261, (0, 3, 0, 0), {}),
    (261, (0, 2, 0, 0x20000 + 24), {}), (261, (0, 2, 0, 0xFFFFFFF0), {}),
    (261, (0, 2, 0, 0xFFFFFFF1), {}), (278, (0x20000 + 31, 2, 0), {}), (278, (0x20000, 0, 0), {}),
    (278, (0xFFFFFFFF, 8, 0), {}), (79, (2, 0, 0x20000 + 3, 0x1000), {}),
    (79, (3, 0, 0x20000, 0x1000), {}), (79, (0, 0, 0xFFFFFF80, 0x1000), {}),
    (79, (0, 0, 0xFFFFFF81, 0x1000), {}), (179, (0x20000 + 17,), {}),
    (179, (0xFFFFFF90,), {}), (179, (0xFFFFFFC1,), {}), (25, (2, 3), {}), (25, (3, 1), {}),
    (25, (0, 4), {}), (25, (0, 2), {}), (93, (0x1FF,), {}), (94, (0,), {}),
]  # fmt: skip


@pytest.mark.parametrize("xlen", [32, 64])
@pytest.mark.parametrize(("number", "args", "fields"), BOUNDARY_CALLS)
def test_syscall_boundaries_agree_on_chain(
    verifier: Verifier,
    monkeypatch: pytest.MonkeyPatch,
    xlen: int,
    number: int,
    args: tuple[int, ...],
    fields: dict[str, int],
) -> None:
    def prove_and_check_on_chain(machine: Machine):
        full, witness, proof = evm_step(verifier, machine)
        return full, check(witness, proof), proof

    monkeypatch.setattr(test_riscv_syscalls, "prove_and_check", prove_and_check_on_chain)
    iovecs = b"".join(
        base.to_bytes(xlen // 8, "little") + n.to_bytes(xlen // 8, "little")
        for base, n in [(0x20000, 0), (0x20000 + 8, 5)]
    )
    test_riscv_syscalls.call(number, *args, xlen=xlen, data={IOV: iovecs}, **fields)
