"""What a `flexemu-game` command costs as a whole process: start-up, and a long run end to end.

Why: a command that only runs a guest must not pay for the chain (py-evm and web3 took about
1.2 s to import), and a long `flexemu-game run` must cost about what unicorn alone costs on
the same ELF. Both are whole-process figures, measured here in one run:

1. start-up: `python -c pass`, `flexemu-game --help` and `flexemu-game run` on the
   freestanding `hello`, each as its own process (target: <= 0.35 s each);
2. a CPU-bound guest of about 300M steps (`scenarios/programs/loop.c` built with a larger
   ITERS, into a temporary directory, with build.sh's freestanding flags):
   `flexemu-game run` against a process that runs raw count-limited unicorn on the same ELF
   (`benchmarks/emulator.py`'s `raw_unicorn`), speed ratio raw time / flexemu time (target:
   >= 0.9). The raw process also reports its run alone, for a second ratio.

Runs alternate between the sides; the best of `--repeats` is kept for each. It only
reports: nothing here asserts on a timing.

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
from emulator import raw_unicorn
timing = raw_unicorn(open(sys.argv[1], "rb").read(), int(sys.argv[2]))
sys.stdout.buffer.write(timing.stdout)
print(f"RUN {timing.run}", file=sys.stderr)
"""


def wall(command: list[str]) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    """Wall seconds of one whole process (output captured, so no terminal I/O is timed)."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, check=False)
    return time.perf_counter() - start, result


def best(samples: dict[str, list[float]]) -> dict[str, float]:
    return {name: min(values) for name, values in samples.items()}


def measure_startup(repeats: int) -> dict[str, float]:
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "flexemu-game --help": [str(FLEXEMU_GAME), "--help"],
        "flexemu-game run hello": [str(FLEXEMU_GAME), "run", str(HELLO)],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            seconds, result = wall(command)
            if name.endswith("hello") and result.stdout != b"hello, flexemu\n":
                sys.exit(f"{name}: unexpected output {result.stdout!r}")
            samples[name].append(seconds)
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
    _, result = wall([str(FLEXEMU_GAME), "run", "--json", str(elf)])
    return int(json.loads(result.stdout)["steps"])


def measure_long_run(elf: Path, steps: int, repeats: int) -> dict[str, float]:
    raw = [sys.executable, "-c", RAW_PROCESS, str(elf), str(steps), str(REPO / "benchmarks")]
    flexemu = [str(FLEXEMU_GAME), "run", str(elf)]
    samples: dict[str, list[float]] = {"raw process": [], "raw run alone": [], "flexemu": []}
    outputs = set()
    for _ in range(repeats):
        seconds, result = wall(raw)
        samples["raw process"].append(seconds)
        run_line = next(x for x in result.stderr.decode().splitlines() if x.startswith("RUN "))
        samples["raw run alone"].append(float(run_line.removeprefix("RUN ")))
        outputs.add(result.stdout)
        seconds, result = wall(flexemu)
        samples["flexemu"].append(seconds)
        outputs.add(result.stdout)
    if len(outputs) != 1:
        sys.exit(f"raw unicorn and flexemu-game wrote different output: {outputs}")
    return best(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iters", type=int, default=DEFAULT_ITERS)
    options = parser.parse_args()

    startup = measure_startup(max(options.repeats, 5))
    baseline = startup["python -c pass"]
    print(f"start-up (whole processes, best of {max(options.repeats, 5)}):")
    for name, seconds in startup.items():
        extra = "" if name == "python -c pass" else f"  (+{seconds - baseline:.3f} s over python)"
        mark = ""
        if name != "python -c pass":
            mark = "  pass" if seconds <= TARGET_STARTUP_SECONDS else "  FAIL"
        print(f"  {name:<24} {seconds:6.3f} s{extra}{mark}")

    with tempfile.TemporaryDirectory(prefix="flexemu-startup-") as tmp:
        elf = build_loop(options.iters, Path(tmp))
        steps = steps_of(elf)
        run = measure_long_run(elf, steps, options.repeats)
    print(f"\nloop with ITERS={options.iters:,}: {steps:,} steps (best of {options.repeats}):")
    for name, seconds in run.items():
        print(f"  {name:<24} {seconds:6.3f} s  ({steps / seconds / 1e6:,.1f} M steps/s)")
    whole = run["raw process"] / run["flexemu"]
    alone = run["raw run alone"] / run["flexemu"]
    mark = "pass" if whole >= TARGET_RUN_RATIO else "FAIL"
    print(f"  speed ratio flexemu / raw, whole processes: {whole:.3f}  (target >= 0.9: {mark})")
    print(f"  speed ratio flexemu process / raw run alone: {alone:.3f}")


if __name__ == "__main__":
    main()
