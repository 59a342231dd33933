"""What a `flexemu-game` command costs as a whole process: start-up, and a long run end to end.

Why: a command that only runs a guest must not pay for the chain (py-evm and web3 took about
1.2 s to import), and a long `flexemu-game run` must cost about what unicorn alone costs on
the same ELF. Both are whole-process figures, measured here in one run:

1. start-up: `python -c pass`, `flexemu-game --help` and `flexemu-game run` on the
   freestanding `hello`, each as its own process (target: <= 0.35 s each);
2. a CPU-bound guest of about 300M steps (`scenarios/programs/loop.c` built with a larger
   ITERS, into a temporary directory, with build.sh's freestanding flags):
   `flexemu-game run` against a process that runs raw count-limited unicorn on the same ELF
   (`benchmarks/raw_unicorn.py`, which imports unicorn and little else), speed ratio raw
   time / flexemu time (target: >= 0.9). The raw process also reports its run alone, for a
   second ratio.

Every figure is given as wall time and as the process's own CPU time (rusage): on a machine
shared with other work the CPU time moves far less. Runs alternate between the sides; the
best of `--repeats` is kept for each. It only reports: nothing here asserts on a timing.

Usage: python benchmarks/startup.py [--repeats 3] [--iters 5260000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROGRAMS = REPO / "scenarios" / "programs"
HELLO = PROGRAMS / "hello"
FLEXEMU_GAME = Path(sys.executable).with_name("flexemu-game")

#: loop.c's default ITERS (600,000) runs 34,200,902 steps; this many run about 300M.
DEFAULT_ITERS = 5_260_000
#: scenarios/programs/build.sh's flags for a freestanding guest (COMMON + FREE there).
FREESTANDING_FLAGS = (
    "-O2", "-march=mips32r2", "-static", "-Wall", "-Wextra", "-Wl,--build-id=none",
    "-mno-abicalls", "-fno-pic", "-msoft-float", "-nostdlib", "-ffreestanding",
    "-fno-builtin", "-Wl,-e,__start",
)  # fmt: skip

TARGET_STARTUP_SECONDS = 0.35
TARGET_RUN_RATIO = 0.9

#: The raw side's process: load the ELF, run raw_unicorn, print the run time alone.
RAW_PROCESS = """
import sys
sys.path.insert(0, sys.argv[3])
from raw_unicorn import raw_unicorn
timing = raw_unicorn(open(sys.argv[1], "rb").read(), int(sys.argv[2]))
sys.stdout.buffer.write(timing.stdout)
print(f"RUN {timing.run}", file=sys.stderr)
"""


@dataclass(frozen=True)
class Finished:
    """One whole process: wall seconds, CPU seconds (user + system, its own), and output."""

    wall: float
    cpu: float
    stdout: bytes
    stderr: bytes


def run_process(command: list[str]) -> Finished:
    """Run `command` to the end, output captured (so no terminal I/O is timed). CPU time is
    the process's own rusage: on a machine shared with other work it moves far less than
    wall time, so both are reported."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Finished(seconds, usage.ru_utime + usage.ru_stime, out.read(), err.read())


def best(samples: dict[str, list[Finished]]) -> dict[str, tuple[float, float]]:
    """Per name: the best wall time and the best CPU time over the samples."""
    return {
        name: (min(f.wall for f in values), min(f.cpu for f in values))
        for name, values in samples.items()
    }


def measure_startup(repeats: int) -> dict[str, tuple[float, float]]:
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "flexemu-game --help": [str(FLEXEMU_GAME), "--help"],
        "flexemu-game run hello": [str(FLEXEMU_GAME), "run", str(HELLO)],
    }
    samples: dict[str, list[Finished]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            finished = run_process(command)
            if name.endswith("hello") and finished.stdout != b"hello, flexemu\n":
                sys.exit(f"{name}: unexpected output {finished.stdout!r}")
            samples[name].append(finished)
    return best(samples)


def build_loop(iters: int, out: Path) -> Path:
    """loop.c with ITERS = `iters`, built as build.sh builds the freestanding guests."""
    compiler = shutil.which(os.environ.get("CC", "mips-linux-gnu-gcc"))
    if compiler is None:
        sys.exit("mips-linux-gnu-gcc not found (Debian: gcc-mips-linux-gnu)")
    elf = out / f"loop-{iters}"
    subprocess.run(
        [compiler, *FREESTANDING_FLAGS, f"-DITERS={iters}u", "-o", str(elf), "loop.c"],
        cwd=PROGRAMS,
        check=True,
    )
    return elf


def steps_of(elf: Path) -> int:
    finished = run_process([str(FLEXEMU_GAME), "run", "--json", str(elf)])
    return int(json.loads(finished.stdout)["steps"])


def measure_long_run(elf: Path, steps: int, repeats: int) -> dict[str, tuple[float, float]]:
    raw = [sys.executable, "-c", RAW_PROCESS, str(elf), str(steps), str(REPO / "benchmarks")]
    flexemu = [str(FLEXEMU_GAME), "run", str(elf)]
    samples: dict[str, list[Finished]] = {"raw process": [], "raw run alone": [], "flexemu": []}
    outputs = set()
    for _ in range(repeats):
        finished = run_process(raw)
        samples["raw process"].append(finished)
        run_line = next(x for x in finished.stderr.decode().splitlines() if x.startswith("RUN "))
        alone = float(run_line.removeprefix("RUN "))  # wall time; its CPU time is not taken
        samples["raw run alone"].append(Finished(alone, alone, b"", b""))
        outputs.add(finished.stdout)
        finished = run_process(flexemu)
        samples["flexemu"].append(finished)
        outputs.add(finished.stdout)
    if len(outputs) != 1:
        sys.exit(f"raw unicorn and flexemu-game wrote different output: {outputs}")
    return best(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iters", type=int, default=DEFAULT_ITERS)
    options = parser.parse_args()

    startup_repeats = max(options.repeats, 5)
    startup = measure_startup(startup_repeats)
    base_wall, base_cpu = startup["python -c pass"]
    print(f"start-up, whole processes, best of {startup_repeats} (wall s / CPU s):")
    for name, (wall, cpu) in startup.items():
        line = f"  {name:<24} {wall:6.3f} / {cpu:6.3f}"
        if name != "python -c pass":
            mark = "pass" if wall <= TARGET_STARTUP_SECONDS else "FAIL"
            line += f"   +{wall - base_wall:.3f} / +{cpu - base_cpu:.3f} over python   {mark}"
        print(line)

    with tempfile.TemporaryDirectory(prefix="flexemu-startup-") as tmp:
        elf = build_loop(options.iters, Path(tmp))
        steps = steps_of(elf)
        run = measure_long_run(elf, steps, options.repeats)
    print(f"\nloop with ITERS={options.iters:,}: {steps:,} steps, best of {options.repeats}:")
    for name, (wall, cpu) in run.items():
        cpu_text = "" if name == "raw run alone" else f" / {cpu:6.3f} CPU s"
        print(f"  {name:<24} {wall:6.3f} wall s{cpu_text}  ({steps / wall / 1e6:,.1f} M steps/s)")
    for clock, index in (("wall", 0), ("CPU", 1)):
        ratio = run["raw process"][index] / run["flexemu"][index]
        mark = "pass" if ratio >= TARGET_RUN_RATIO else "FAIL"
        print(f"  speed flexemu / raw, whole processes, {clock} time: {ratio:.3f}   {mark}")
    alone = run["raw run alone"][0] / run["flexemu"][0]
    print(f"  speed flexemu process / raw run alone (wall): {alone:.3f}")

if __name__ == "__main__":
    main()
