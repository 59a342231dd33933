"""`rows.jsonl`: one JSON line per finished case, appended the moment it finishes.

An interrupted sweep loses no finished row: each row is one `write` of a whole line on a file
opened for appending, followed by `fsync`, before the next result is taken. A crash can at
worst leave a torn last line (a line without its newline); reading drops it and `RowLog`
truncates it away, so a resumed sweep reruns that case and the file stays one row per line.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from flexemu.files import FileError

ROWS_FILE = "rows.jsonl"
#: Row fields that depend on where and when a case ran, not on what it is.
PLACEMENT_FIELDS = ("wall_seconds", "worker")


def read_rows(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The complete rows of `path` and the byte length they occupy (a torn tail excluded)."""
    if not path.exists():
        return [], 0
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1  # 0 when there is no complete line
    rows = []
    for number, line in enumerate(data[:end].splitlines(), 1):
        try:
            row = json.loads(line)
        except ValueError:
            raise FileError(f"{path}: line {number} is not a JSON row") from None
        if not isinstance(row, dict) or not isinstance(row.get("id"), str):
            raise FileError(f"{path}: line {number} is not a sweep row (no id)")
        rows.append(row)
    return rows, end


class RowLog:
    """Appends rows durably; `done` holds the ids already in the file."""

    def __init__(self, path: Path, resume: bool) -> None:
        self.path = path
        rows, end = read_rows(path) if resume else ([], 0)
        self.rows: list[dict[str, Any]] = rows
        self.done = {row["id"] for row in rows}
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
            self.fd = os.open(path, flags if resume else flags | os.O_TRUNC, 0o644)
            if resume and os.fstat(self.fd).st_size > end:
                os.ftruncate(self.fd, end)  # the torn tail of an interrupted write
        except OSError as error:
            raise FileError(f"{path}: cannot write: {error.strerror}") from None

    def append(self, row: dict[str, Any]) -> None:
        if row["id"] in self.done:
            return  # a result delivered twice (a retried task) is one row
        line = (json.dumps(row, sort_keys=True) + "\n").encode()
        written = os.write(self.fd, line)
        if written != len(line):
            raise FileError(f"{self.path}: short write ({written} of {len(line)} bytes)")
        os.fsync(self.fd)
        self.done.add(row["id"])
        self.rows.append(row)

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> RowLog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


#: rows.csv's columns: the row's fields, nested ones flattened (strategies as JSON).
CSV_COLUMNS = (
    "id", "index", "program", "argv", "clock_seconds", "bond_wei", "proposer", "challengers",
    "trace_length", "expected_winner", "winner", "reason", "disputed_step", "moves",
    "gas_proposer", "gas_challenger", "gas_anyone", "gas_total", "per_challenger", "honest_won",
    "wall_seconds", "worker",
)  # fmt: skip


def rows_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV (standard library only), for a spreadsheet or a data frame."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in sorted(rows, key=lambda r: r["index"]):
        flat = dict(row)
        flat["argv"] = " ".join(row["argv"])
        flat["proposer"] = json.dumps(row["proposer"], sort_keys=True)
        for key in ("challengers", "per_challenger"):
            flat[key] = json.dumps(row.get(key), sort_keys=True)
        for party, gas in row["gas"].items():
            flat[f"gas_{party}"] = gas
        writer.writerow(["" if flat.get(c) is None else flat[c] for c in CSV_COLUMNS])
    return buffer.getvalue()
