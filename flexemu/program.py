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

    @classmethod
    def sealed(cls, state: Any, memory: Memory, stdin: bytes) -> Image:
        """The image of a loaded state: the input laid out as a memory of its own, and the
        state's commitments to both (`mem_root`, `input_root`, `input_len`) filled in. Every
        ISA's loader ends here, so the roots of an initial state mean the same for all."""
        input_memory = Memory()
        input_memory.write_bytes(0, stdin)
        state.input_root = input_memory.root()
        state.input_len = len(stdin)
        state.mem_root = memory.root()
        return cls(state, memory, input_memory)
