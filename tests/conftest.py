"""Shared fixtures: the shipped guest programs and their qemu-recorded expectations.

Each `scenarios/programs/NAME.expected.json` records the argv, stdin, stdout and
exit status of NAME under qemu-mips. `make_program(NAME)` builds the `Program`
the tests run: the ELF with that argv (as given; argv[0] is the program name)
and that stdin, and an empty environment like the reference runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from flexemu.emulator import Emulator
from flexemu.loader import Program
from flexemu.merkle import PAGE_BYTES, PAGE_SHIFT

PROGRAMS_DIR = Path(__file__).resolve().parent.parent / "scenarios" / "programs"

#: Freestanding programs: small enough to check every single step.
SMALL = ("hello", "tiny_sum", "trap", "likely")
#: Programs whose every step the EVM and proof tests check: the small ones plus the static
#: glibc start-up, exit and its syscalls (exitcode, ~7k steps).
EVERY_STEP = (*SMALL, "exitcode")
#: Static glibc programs.
GLIBC = ("exitcode", "stdin_echo", "sort")
#: All shipped programs, shortest first.
ALL = (*SMALL, *GLIBC, "loop")


def _show(name: str, value: object) -> str:
    if isinstance(value, int) and name not in ("status", "exit_code", "step"):
        return hex(value)
    return repr(value)


def state_diff(engine: Any, reference: Any) -> list[str]:
    """The fields but mem_root (which the engine does not track) that differ, one line each:
    what the engine-vs-reference tests print when the two implementations disagree. Any
    ISA's state dataclass (MIPS `State`, `RiscvState`); register files are lists."""
    out = []
    for item in fields(engine):
        name = item.name
        mine, theirs = getattr(engine, name), getattr(reference, name)
        if name == "mem_root" or mine == theirs:
            continue
        if isinstance(mine, list):
            out += [
                f"{name}[{i}]: engine {a:#x}, reference {b:#x}"
                for i, (a, b) in enumerate(zip(mine, theirs, strict=True))
                if a != b
            ]
        else:
            out.append(f"{name}: engine {_show(name, mine)}, reference {_show(name, theirs)}")
    return out


def memory_diff(engine: Mapping[int, bytes], reference: Mapping[int, bytes]) -> list[str]:
    """One line per page whose contents differ (absent pages are zero), naming its first
    differing word."""
    zero = bytes(PAGE_BYTES)
    out = []
    for number in sorted(set(engine) | set(reference)):
        a, b = bytes(engine.get(number, zero)), bytes(reference.get(number, zero))
        if a != b:
            offset = next(i for i in range(PAGE_BYTES) if a[i] != b[i]) & ~3
            address = (number << PAGE_SHIFT) + offset
            out.append(
                f"memory {address:#010x}: engine {a[offset:offset + 4].hex()}, "
                f"reference {b[offset:offset + 4].hex()}"
            )
    return out


@cache
def expectation(name: str) -> dict[str, Any]:
    """The qemu-mips record of program `name`."""
    return json.loads((PROGRAMS_DIR / f"{name}.expected.json").read_text())


def build_program(name: str, **overrides: Any) -> Program:
    """`Program` for a shipped program with its recorded argv and stdin (overridable)."""
    record = expectation(name)
    argv = overrides.pop("argv", record["argv"])
    stdin = overrides.pop("stdin", record["stdin"].encode())
    env = overrides.pop("env", {})
    if overrides:
        raise TypeError(f"unknown overrides: {sorted(overrides)}")
    return Program.from_file(PROGRAMS_DIR / name, argv, env, stdin)


@cache
def _finished(name: str) -> Emulator:
    emulator = Emulator(build_program(name))
    emulator.run()
    return emulator


@pytest.fixture(scope="session")
def programs_dir() -> Path:
    """Path of `scenarios/programs`."""
    return PROGRAMS_DIR


@pytest.fixture(scope="session")
def expected() -> Callable[[str], dict[str, Any]]:
    """`expected(name)`: the parsed `name.expected.json`."""
    return expectation


@pytest.fixture(scope="session")
def make_program() -> Callable[..., Program]:
    """`make_program(name, argv=..., stdin=..., env=...)`: a shipped program, ready to load."""
    return build_program


@pytest.fixture(scope="session")
def finished_emulator() -> Callable[[str], Emulator]:
    """`finished_emulator(name)`: a shared Emulator that already ran `name` to the end.

    Shared across tests: use it only through `state_at` / `machine_at` / `prove`,
    which reposition it as needed. Tests about independent runs build their own.
    """
    return _finished
