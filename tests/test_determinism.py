"""A trace is a pure function of (ELF, argv, env, stdin).

Independent runs with different checkpoint intervals agree on every state they
are asked about, a state reached through a checkpoint restore is the state of
a straight run, and the initial state moves with its inputs and nothing else
(not the path, the working directory, the process, the host environment).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap

import pytest

from flexemu.emulator import DEFAULT_INTERVAL, Emulator
from flexemu.isa.mips.state import Status
from flexemu.loader import Program, load
from flexemu.reference import ReferenceMachine

# A second checkpoint interval per program: small enough to take several checkpoints,
# large enough to keep the page copies cheap. Odd values land anywhere in the code.
INTERVALS = {
    "hello": 5,
    "tiny_sum": 64,
    "trap": 7,
    "exitcode": 1_000,
    "stdin_echo": 2_001,
    "sort": 100_003,
    "loop": 1_000_003,
}
SAMPLES = 6


def sample_steps(name: str, end: int) -> list[int]:
    rng = random.Random(f"determinism-{name}")
    return sorted({rng.randrange(1, end) for _ in range(SAMPLES)} | {end})


@pytest.mark.parametrize("name", list(INTERVALS))
def test_independent_runs_agree(name, make_program):
    first = Emulator(make_program(name))
    second = Emulator(make_program(name), interval=INTERVALS[name])
    a, b = first.run(), second.run()
    assert a.status != Status.RUNNING
    assert len(second.checkpoints) > 1, "the small interval took no checkpoint"
    ends = (a.step, b.step)
    assert ends[0] == ends[1], f"{name}: the runs end at different steps"
    assert a.hash() == b.hash(), f"{name}: final states differ"
    assert first.stdout() == second.stdout()
    differ = [
        n
        for n in sample_steps(name, a.step)
        if first.state_at(n).hash() != second.state_at(n).hash()
    ]
    assert not differ, f"{name}: the two runs differ at steps {differ}"


@pytest.mark.parametrize("name", ["tiny_sum", "exitcode", "stdin_echo", "sort", "loop"])
def test_checkpoint_restore_equals_straight_run(name, make_program):
    program = make_program(name)
    interval = INTERVALS[name]
    checkpointed = Emulator(program, interval=interval)
    end = checkpointed.run().step
    # Steps past a few checkpoints, not on one, and one exactly on one.
    targets = [3 * interval + interval // 3, end - interval // 2 - 1, 2 * interval]
    targets = sorted({t for t in targets if 0 < t < end})
    assert targets
    for target in targets:
        restored = checkpointed.state_at(target)
        assert restored.step == target
        straight = Emulator(program, interval=DEFAULT_INTERVAL).run(max_steps=target)
        assert straight.step == target
        assert restored.hash() == straight.hash(), f"{name}: step {target}"
    # Seeking backwards (restore) and forwards again gives the same states.
    again = {t: checkpointed.state_at(t).hash() for t in reversed(targets)}
    assert again == {t: checkpointed.state_at(t).hash() for t in targets}


@pytest.mark.parametrize("name", ["tiny_sum", "exitcode", "stdin_echo"])
def test_checkpoint_restore_equals_reference(name, make_program):
    """The same, against the reference stepper run straight from step 0."""
    program = make_program(name)
    interval = INTERVALS[name]
    checkpointed = Emulator(program, interval=interval)
    end = checkpointed.run().step
    targets = sorted({3 * interval + interval // 3, end - interval // 2 - 1, end})
    reference = ReferenceMachine.from_image(load(program))
    for target in targets:
        reference.run(target - reference.state.step)
        assert checkpointed.state_at(target).hash() == reference.state_hash(), f"{name}: {target}"


def test_run_twice_on_one_emulator(make_program):
    emulator = Emulator(make_program("stdin_echo"), interval=INTERVALS["stdin_echo"])
    first = emulator.run()
    emulator.state_at(123)
    second = emulator.run()
    assert first.hash() == second.hash()
    assert emulator.stdout() == b"".join(d for fd, d in emulator.output if fd == 1)


# ------------------------------------------------------------------ the initial state


def flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 1]) + data[position + 1 :]


def initial_hash(program: Program) -> bytes:
    return load(program).state.hash()


def test_initial_state_is_a_function_of_its_inputs(tmp_path, programs_dir, make_program):
    base = make_program("stdin_echo")
    reference = initial_hash(base)
    assert initial_hash(make_program("stdin_echo")) == reference
    # Not of the file's name or location, nor of Program.name.
    copy = tmp_path / "elsewhere" / "renamed"
    copy.parent.mkdir()
    copy.write_bytes(base.elf)
    assert initial_hash(Program.from_file(copy, list(base.argv), {}, base.stdin)) == reference
    assert initial_hash(Program(base.elf, base.argv, (), base.stdin, name="other")) == reference
    # But of each input.
    variants = {
        "stdin": make_program("stdin_echo", stdin=b"hello world\nflexemu reads stdin!"),
        "stdin, same length": make_program("stdin_echo", stdin=base.stdin.upper()),
        "stdin, empty": make_program("stdin_echo", stdin=b""),
        "argv": make_program("stdin_echo", argv=["stdin_echo", "a", "c"]),
        "argv[0]": make_program("stdin_echo", argv=["stdin_ech0", "a", "b"]),
        "argc": make_program("stdin_echo", argv=["stdin_echo", "a"]),
        "env": make_program("stdin_echo", env={"LANG": "C"}),
        "elf": Program(flip(base.elf, 0x1000), base.argv, (), base.stdin),  # in the text
    }
    hashes = {what: initial_hash(program) for what, program in variants.items()}
    for what, value in hashes.items():
        assert value != reference, f"changing {what} does not change the initial state"
    assert len(set(hashes.values())) == len(hashes)


_CHILD = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from conftest import build_program
    from flexemu.emulator import Emulator
    from flexemu.loader import load
    out = {}
    for name in ("hello", "stdin_echo", "exitcode"):
        program = build_program(name)
        emulator = Emulator(program, interval=int(sys.argv[2]))
        out[name] = [load(program).state.hash().hex(), emulator.run().hash().hex(),
                     emulator.state_at(777).hash().hex()]
    print(json.dumps(out))
    """
)


def _hashes_in_child(cwd, interval: int, extra_env: dict[str, str]) -> dict[str, list[str]]:
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ, **extra_env}
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, tests_dir, str(interval)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_same_hashes_in_another_process(tmp_path):
    """No host state (cwd, hash seed, time zone, environment, time) leaks into the trace."""
    one = _hashes_in_child(tmp_path, DEFAULT_INTERVAL, {"PYTHONHASHSEED": "1", "TZ": "UTC"})
    other = tmp_path / "other"
    other.mkdir()
    two = _hashes_in_child(
        other,
        DEFAULT_INTERVAL,
        {"PYTHONHASHSEED": "987", "TZ": "Asia/Tokyo", "LANG": "C", "X": "1"},
    )
    assert one == two
