"""What a run is a function of (`Program`) and its initial image (`Image`), for any ISA."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexemu.errors import LoaderError
from flexemu.memory import Memory


@dataclass(frozen=True)
class Program:
    """What a run is a function of: the program, its arguments and its input."""

    elf: bytes
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    stdin: bytes = b""
    name: str = field(default="program", compare=False)

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        argv: list[str] | None = None,
        env: dict[str, str] | None = None,
        stdin: bytes = b"",
    ) -> Program:
        path = Path(path)
        try:
            elf = path.read_bytes()
        except OSError as error:
            raise LoaderError(f"{path}: cannot read program: {error.strerror}") from None
        arguments = tuple(argv) if argv is not None else (str(path),)
        return cls(elf, arguments, tuple(sorted((env or {}).items())), stdin, name=str(path))


@dataclass
class Image:
    """The initial state, its memory, and the input as a memory of its own."""

    state: Any  # the ISA's state class
    memory: Memory
    input_memory: Memory
