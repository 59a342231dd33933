"""Atomic file output and bounded JSON input for the commands that read and write files.

A report or proof is either complete on disk or not there. A file that cannot be
written or read is one error naming the path the user gave, never a temporary file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from flexemu.errors import FlexEmuError

#: JSON nesting a flexEmu file can need (proofs and indexes nest two or three levels).
#: Python's decoder recurses per level, and py-evm raises the recursion limit far above
#: what the C stack holds, so deeper input is refused before it is parsed.
MAX_JSON_DEPTH = 64

_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class FileError(FlexEmuError, ValueError):
    """A file the user named cannot be read or written; the message names it."""


def write_atomic(path: str | Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    if path.is_dir():
        raise FileError(f"{path}: cannot write: it is a directory")
    folder = path.parent
    if not folder.is_dir():
        raise FileError(f"{path}: cannot write: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise FileError(f"{path}: cannot write: {error.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise FileError(f"{path}: cannot write: {error.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in `text` (brackets inside strings do not count)."""
    depth = deepest = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def parse_json(text: str, name: str) -> Any:
    """Parse a JSON document named `name`; malformed or too deep input is one FileError."""
    if json_depth(text) > MAX_JSON_DEPTH:
        raise FileError(f"{name}: not JSON that flexEmu reads: nested deeper than {MAX_JSON_DEPTH}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise FileError(f"{name}: not JSON ({error.msg} at line {error.lineno})") from None


def read_json(path: str | Path) -> Any:
    """Read and parse a JSON file; unreadable, non-text, malformed or too deep is one line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise FileError(f"{path}: not a text file") from None
    except OSError as error:
        raise FileError(f"{path}: cannot read: {error.strerror}") from None
    return parse_json(text, str(path))
