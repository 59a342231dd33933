"""The fast engine (unicorn) against the reference stepper, step by step.

Unicorn only fast-forwards the reference semantics, so after every unicorn
step the engine's state must equal the reference machine's at the same step
count: all registers, pc/next_pc, hi/lo, the LL reservation, the FPU, brk,
status, step, ... and, checked every few hundred steps and at the end (reading
every page each step would dominate the run time), memory.

`engine._run_chunk(1)` lets unicorn take one step; when that step is a branch,
unicorn also runs its delay slot, so it moves two steps and the reference is
brought to the same count.
"""

from __future__ import annotations

import pytest
from conftest import ALL, EVERY_STEP, memory_diff, state_diff

from flexemu.emulator import Emulator
from flexemu.isa.mips.engine import FastEngine
from flexemu.isa.mips.state import Panic, Status
from flexemu.loader import load
from flexemu.reference import ReferenceMachine

MEMORY_EVERY = 500
WINDOW = 2_000

# Exact instruction counts from scenarios/programs/README.md (unicorn and qemu agree
# for the freestanding programs; the glibc counts depend on argv[0] and the path).
FREESTANDING_STEPS = {"hello": 17, "tiny_sum": 307, "trap": 84, "loop": 34_200_902}


def lockstep(
    engine: FastEngine, reference: ReferenceMachine, label: str, max_steps: int | None = None
) -> int:
    """Step `engine` one unicorn step at a time, checking it against `reference`.

    Returns the number of steps taken. Stops at the end of the program or after
    `max_steps` steps.
    """
    start = engine.state.step
    assert engine.state.step == reference.state.step
    assert not state_diff(engine.state, reference.state), f"{label}: differ before lockstep"
    assert not memory_diff(engine.pages(), reference.memory.pages), f"{label}: memory at start"
    memory_checked = start
    while engine.state.status == Status.RUNNING and (
        max_steps is None or engine.state.step - start < max_steps
    ):
        before = engine.state.copy()
        if engine._can_run_unicorn():
            engine._run_chunk(1)
            how = "unicorn"
        else:  # inside a taken branch's pair (e.g. after a delay-slot fault): reference only
            engine.reference_step()
            how = "engine reference step"
        taken = engine.state.step - before.step
        where = f"{label}: {how} from step {before.step} (pc {before.pc:#x})"
        assert taken in (1, 2), f"{where}: moved {taken} steps"
        assert reference.run(taken) == taken, f"{where}: reference stopped early"
        diff = state_diff(engine.state, reference.state)
        assert not diff, f"{where} -> {engine.state.step}: " + "; ".join(diff)
        if engine.state.step - memory_checked >= MEMORY_EVERY:
            problems = memory_diff(engine.pages(), reference.memory.pages)
            assert not problems, f"{where} -> {engine.state.step}: " + "; ".join(problems)
            memory_checked = engine.state.step
    problems = memory_diff(engine.pages(), reference.memory.pages)
    assert not problems, f"{label}: at the end (step {engine.state.step}): " + "; ".join(problems)
    return engine.state.step - start


def fresh_pair(program) -> tuple[FastEngine, ReferenceMachine]:
    image = load(program)
    pages = {number: bytes(page) for number, page in image.memory.pages.items()}
    engine = FastEngine(image.state, pages, image.input_memory)
    return engine, ReferenceMachine.from_image(image)


# ------------------------------------------------------------------ every step


@pytest.mark.parametrize("name", (*EVERY_STEP, "stdin_echo"))
def test_every_step_in_lockstep(name, make_program, expected):
    engine, reference = fresh_pair(make_program(name))
    taken = lockstep(engine, reference, name)
    final = reference.state
    assert final.status != Status.RUNNING
    assert taken == final.step
    if name in FREESTANDING_STEPS:
        assert final.step == FREESTANDING_STEPS[name]
    # The engine's own output, produced by the syscalls it executed, is qemu's.
    stdout = b"".join(data for fd, data in engine.output if fd == 1)
    assert stdout == expected(name)["stdout"].encode()


# ------------------------------------------------------------------ sampled windows


@pytest.mark.parametrize("name", ["loop", "sort"])
def test_sampled_windows_in_lockstep(name, finished_emulator):
    emulator = finished_emulator(name)
    end = emulator.final.step
    # Spread over the trace, plus one window that runs into the final syscall.
    starts = sorted(
        {end // 10, end * 3 // 8, end * 5 // 8 + 1, end * 9 // 10 + 3, end - WINDOW // 2}
    )
    for start in starts:
        reference = emulator.machine_at(start)
        assert reference.state.step == start
        engine = FastEngine(emulator.engine.state, emulator.engine.pages(), emulator.input_memory)
        taken = lockstep(engine, reference, f"{name} window at {start}", max_steps=WINDOW)
        assert taken >= min(WINDOW, end - start)


# ------------------------------------------------------------------ the emulator's seek


def _reference_hashes(program, steps: list[int]) -> dict[int, bytes]:
    machine = ReferenceMachine.from_image(load(program))
    out = {}
    for target in sorted(steps):
        machine.run(target - machine.state.step)
        assert machine.state.step == target
        out[target] = machine.commit().hash()
    return out


@pytest.mark.parametrize(
    ("name", "limit"), [("exitcode", None), ("stdin_echo", None), ("sort", None), ("loop", 600_000)]
)
def test_state_at_matches_reference(name, limit, make_program, finished_emulator):
    """`Emulator.state_at(n)` (fast engine, count-limited runs) is the reference's state n."""
    emulator = finished_emulator(name)
    end = min(emulator.final.step, limit or emulator.final.step)
    steps = sorted({1, 2, 3, 813, 814, *range(37, end, max(end // 23, 1)), end - 1, end})
    truth = _reference_hashes(make_program(name), steps)
    wrong = [n for n in steps if emulator.state_at(n).hash() != truth[n]]
    assert not wrong, f"{name}: state_at differs from the reference at steps {wrong}"


@pytest.mark.slow
def test_loop_state_at_matches_reference_across_the_trace(make_program, finished_emulator):
    emulator = finished_emulator("loop")
    end = emulator.final.step
    steps = sorted({end // 7 * k + k for k in range(1, 7)} | {end})
    truth = _reference_hashes(make_program("loop"), steps)
    wrong = [n for n in steps if emulator.state_at(n).hash() != truth[n]]
    assert not wrong, f"loop: state_at differs from the reference at steps {wrong}"


# ------------------------------------------------------------------ whole runs


@pytest.mark.parametrize("name", ALL)
def test_run_matches_qemu(name, make_program, expected):
    record = expected(name)
    emulator = Emulator(make_program(name))
    final = emulator.run()
    assert emulator.final is final
    assert emulator.stdout() == record["stdout"].encode()
    assert emulator.stderr() == b""
    if record["signal"] == "SIGTRAP":
        assert final.status == Status.PANICKED
        assert final.exit_code == Panic.TRAP
    else:
        assert record["signal"] is None
        assert final.status == Status.EXITED
        assert final.exit_code == record["exit_code"]
    if name in FREESTANDING_STEPS:
        assert final.step == FREESTANDING_STEPS[name]


@pytest.mark.parametrize("name", ALL[:-1])  # all but loop
def test_final_hash_matches_reference(name, make_program):
    program = make_program(name)
    final = Emulator(program).run()
    reference = ReferenceMachine.from_image(load(program))
    reference.run(10_000_000)
    assert reference.state.status != Status.RUNNING
    assert final.step == reference.state.step
    assert final.hash() == reference.state_hash()
    assert final.witness() == reference.state.witness()
