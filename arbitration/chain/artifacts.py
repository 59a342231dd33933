"""The committed contract artifacts (`contracts/build/NAME.json`, written by
`contracts/compile.js`) and the fork they are compiled for.

Plain files and JSON: nothing here loads web3 or py-evm, so the anvil launcher and the
artifact checks stay light.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = REPO_ROOT / "contracts"
BUILD_DIR = CONTRACTS_DIR / "build"
SRC_DIR = CONTRACTS_DIR / "src"

#: The fork the contracts are compiled for (`evmVersion` in contracts/compile.js), which every
#: in-process chain runs from block 0 and the test anvil is started with.
EVM_FORK = "cancun"


def load_artifact(name: str, build_dir: Path = BUILD_DIR) -> dict:
    """Load ``contracts/build/NAME.json`` (written by ``contracts/compile.js``)."""
    path = build_dir / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"no artifact {path}; run `node contracts/compile.js` (see contracts/README.md)"
        )
    return json.loads(path.read_text())


def current_source_hash(src_dir: Path = SRC_DIR) -> str:
    """sha256 of every ``src/**/*.sol`` concatenated in sorted relative-path order.

    Same definition as compile.js; compare with an artifact's ``sourceHash`` to detect stale
    artifacts without node.
    """
    files = sorted(p.relative_to(src_dir).as_posix() for p in src_dir.rglob("*.sol"))
    h = hashlib.sha256()
    for rel in files:
        h.update((src_dir / rel).read_bytes())
    return h.hexdigest()


def all_error_abis(build_dir: Path = BUILD_DIR) -> list[dict]:
    out = []
    if build_dir.is_dir():
        for p in sorted(build_dir.glob("*.json")):
            try:
                abi = json.loads(p.read_text()).get("abi", [])
            except (OSError, ValueError):
                continue
            out.extend(e for e in abi if e.get("type") == "error")
    return out

