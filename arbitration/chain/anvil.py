"""A local anvil node for tests, benchmarks and the docs' examples, always torn down.

anvil comes from npm (`@foundry-rs/anvil-linux-amd64`, pinned in contracts/package.json: the
`@foundry-rs/anvil` wrapper lists optional binaries for every platform, which this registry
does not all serve, so its lock file would not `npm ci`), found in `contracts/node_modules/.bin/`
after `npm ci`. `$FLEXEMU_ANVIL` names another binary; an `anvil` on PATH (foundryup, other
platforms) is the last resort. It listens on 127.0.0.1 only,
on a port the kernel picks (`--port 0`; anvil prints the port it bound, which avoids the race
of probing for a free port first), and runs the Cancun fork so its gas figures are comparable
with the in-process py-evm chain (`arbitration.chain.artifacts.EVM_FORK`).

The node runs in its own process group and its output goes to a log file, not a pipe: anvil
logs every request, and an undrained pipe would eventually block it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from arbitration.chain.artifacts import CONTRACTS_DIR, EVM_FORK
from flexemu.errors import FlexEmuError

ANVIL_ENV = "FLEXEMU_ANVIL"
NPM_ANVIL = CONTRACTS_DIR / "node_modules" / ".bin" / "anvil"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0

_LISTENING = re.compile(rb"Listening on ([0-9.]+):(\d+)")


class AnvilError(FlexEmuError):
    """anvil is missing or did not start."""


@dataclass(frozen=True)
class AnvilNode:
    """A running anvil: where to reach it and where it logs."""

    url: str
    port: int
    pid: int
    log: Path


def find_anvil() -> Path | None:
    """The anvil binary to run, or None when there is none on this machine."""
    override = os.environ.get(ANVIL_ENV)
    if override:  # as named, or none: never another anvil than the one asked for
        return Path(override) if Path(override).is_file() else None
    if NPM_ANVIL.exists():
        return NPM_ANVIL
    on_path = shutil.which("anvil")
    return Path(on_path) if on_path else None


def anvil_command(
    binary: Path, port: int = 0, *, accounts: int = 10, extra: Sequence[str] = ()
) -> list[str]:
    return [
        str(binary),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--hardfork",
        EVM_FORK,
        "--accounts",
        str(accounts),
        *extra,
    ]


@contextmanager
def running_anvil(
    port: int = 0,
    *,
    accounts: int = 10,
    seconds_per_block: int | None = None,
    extra: Sequence[str] = (),
) -> Iterator[AnvilNode]:
    """Start anvil, yield it once it listens, and kill its process group on the way out.

    `seconds_per_block` stamps each block that many seconds after its parent instead of with
    the wall clock, as the in-process chain does (1): clocks then run identically on both, and
    so does the gas of every move (a clock slot written with an unchanged value is cheaper)."""
    binary = find_anvil()
    if binary is None:
        raise AnvilError(
            "anvil is not installed: run `npm ci` in contracts/ (or set $FLEXEMU_ANVIL)"
        )
    with tempfile.TemporaryDirectory(prefix="flexemu-anvil-") as tmp:
        log = Path(tmp) / "anvil.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                anvil_command(binary, port, accounts=accounts, extra=extra),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            bound = _wait_listening(process, log)
            node = AnvilNode(f"http://127.0.0.1:{bound}", bound, process.pid, log)
            if seconds_per_block is not None:
                _request(node.url, "anvil_setBlockTimestampInterval", seconds_per_block)
            yield node
        finally:
            stop_process_group(process)


def _wait_listening(process: subprocess.Popen, log: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        found = _LISTENING.search(log.read_bytes())
        if found:
            return int(found.group(2))
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            raise AnvilError(f"anvil exited with {process.returncode}: {' | '.join(tail)}")
        time.sleep(0.05)
    raise AnvilError(f"anvil did not listen within {START_TIMEOUT_SECONDS:.0f} s")


def _request(url: str, method: str, *params: object) -> object:
    reply = requests.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=30
    ).json()
    if "error" in reply:
        raise AnvilError(f"{method}: {reply['error']}")
    return reply.get("result")


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM the process's group, SIGKILL it if it lingers; never raises for a dead one."""
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT_SECONDS), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    process.poll()
