"""Static MIPS32 big-endian ELF programs to an initial machine state.

The initial state is a pure function of (ELF bytes, argv, env, stdin): the
segments, a Linux-like initial stack and auxiliary vector with fixed ids and
fixed "random" bytes, and the input committed as its own Merkle tree. Every
way an ELF can be unusable gets an error that names it.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from flexemu.errors import LoaderError
from flexemu.keccak import keccak256
from flexemu.memory import Memory
from flexemu.mips import abi
from flexemu.state import State

EM_MIPS = 8
USER_LIMIT = 0x80000000
RANDOM_BYTES = keccak256(b"flexemu AT_RANDOM")[:16]
UID = GID = 1000

# auxv tags
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ = 0, 3, 4, 5, 6
AT_BASE, AT_FLAGS, AT_ENTRY = 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID = 11, 12, 13, 14
AT_HWCAP, AT_CLKTCK, AT_SECURE, AT_RANDOM, AT_EXECFN = 16, 17, 23, 25, 31


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

    state: State
    memory: Memory
    input_memory: Memory


@dataclass(frozen=True)
class Segment:
    vaddr: int
    data: bytes
    memsz: int
    executable: bool


def parse_elf(elf: bytes, name: str = "program") -> tuple[int, list[Segment], int, int]:
    """Check an ELF and return (entry, loadable segments, phdr address, phnum)."""
    if elf[:4] != b"\x7fELF":
        raise LoaderError(f"{name}: not an ELF file (bad magic)")
    if len(elf) < 52:
        raise LoaderError(f"{name}: truncated ELF header ({len(elf)} bytes)")
    _check_identity(elf, name)
    (phoff,) = struct.unpack_from(">I", elf, 28)
    phentsize, phnum = struct.unpack_from(">HH", elf, 42)
    if phnum and phoff + phnum * phentsize > len(elf):
        raise LoaderError(
            f"{name}: truncated: the program headers ({phnum} at offset {phoff:#x}) extend "
            f"past the end of the file ({len(elf)} bytes)"
        )
    try:
        parsed = ELFFile(io.BytesIO(elf))
        header = parsed.header
        if header["e_machine"] != "EM_MIPS":
            raise LoaderError(f"{name}: wrong machine {header['e_machine']}, expected EM_MIPS")
        segments = list(parsed.iter_segments())
    except (ELFError, struct.error, ValueError) as error:
        raise LoaderError(f"{name}: truncated or malformed ELF: {error}") from None
    if header["e_type"] != "ET_EXEC":
        raise LoaderError(f"{name}: not a static executable (type {header['e_type']})")
    if any(seg["p_type"] == "PT_INTERP" for seg in segments):
        raise LoaderError(f"{name}: dynamically linked (has PT_INTERP); build it with -static")
    section_end = header["e_shoff"] + header["e_shnum"] * header["e_shentsize"]
    if header["e_shoff"] and section_end > len(elf):
        raise LoaderError(f"{name}: truncated: section headers extend past the end of the file")
    loads = [seg for seg in segments if seg["p_type"] == "PT_LOAD"]
    if not loads:
        raise LoaderError(f"{name}: no loadable segment")
    result = []
    for seg in loads:
        offset, filesz, memsz, vaddr = (
            seg["p_offset"], seg["p_filesz"], seg["p_memsz"], seg["p_vaddr"]
        )
        # A segment with no file bytes (bss only) reads nothing: ld may give it an offset
        # past the end of the file, and Linux and qemu load it.
        if filesz and offset + filesz > len(elf):
            raise LoaderError(f"{name}: truncated: segment at {vaddr:#x} extends past the file")
        if filesz > memsz:
            raise LoaderError(
                f"{name}: malformed segment at {vaddr:#x}: p_filesz {filesz:#x} is larger "
                f"than p_memsz {memsz:#x}"
            )
        if vaddr + memsz > USER_LIMIT:
            raise LoaderError(f"{name}: segment at {vaddr:#x} is outside the user address space")
        executable = bool(seg["p_flags"] & 1)
        result.append(Segment(vaddr, elf[offset : offset + filesz], memsz, executable))
    phoff, phnum = header["e_phoff"], header["e_phnum"]
    phdr = next(
        (s["p_vaddr"] + phoff - s["p_offset"] for s in loads
         if s["p_offset"] <= phoff < s["p_offset"] + s["p_filesz"]),
        0,
    )
    return header["e_entry"], result, phdr, phnum


#: The ELF identification bytes flexEmu accepts, and how each other value reads.
ELF_CLASSES = {1: "32-bit", 2: "64-bit"}
ELF_ENCODINGS = {1: "little-endian", 2: "big-endian"}


def _check_identity(elf: bytes, name: str) -> None:
    """EI_CLASS and EI_DATA: a foreign value is named, an undefined one is called invalid."""
    if elf[4] != 1:
        if elf[4] in ELF_CLASSES:
            raise LoaderError(
                f"{name}: wrong ELF class: {ELF_CLASSES[elf[4]]}, flexEmu runs 32-bit MIPS"
            )
        raise LoaderError(f"{name}: invalid ELF class {elf[4]} (EI_CLASS must be 1, 32-bit)")
    if elf[5] != 2:
        if elf[5] in ELF_ENCODINGS:
            raise LoaderError(
                f"{name}: wrong endianness: {ELF_ENCODINGS[elf[5]]}, flexEmu runs big-endian MIPS"
            )
        raise LoaderError(
            f"{name}: invalid ELF data encoding {elf[5]} (EI_DATA must be 2, big-endian)"
        )


def load(program: Program) -> Image:
    """Build the initial state of `program` (docs/spec.md, "Initial state")."""
    entry, segments, phdr, phnum = parse_elf(program.elf, program.name)
    memory = Memory()
    for segment in segments:
        memory.write_bytes(segment.vaddr, segment.data)
    end = max(s.vaddr + s.memsz for s in segments)
    state = State()
    state.pc, state.next_pc = entry, (entry + 4) & 0xFFFFFFFF
    state.brk = (end + abi.PAGE_SIZE - 1) & ~(abi.PAGE_SIZE - 1)
    state.mmap_next = abi.MMAP_BASE
    auxv = [
        (AT_PHDR, phdr), (AT_PHENT, 32), (AT_PHNUM, phnum), (AT_PAGESZ, abi.PAGE_SIZE),
        (AT_BASE, 0), (AT_FLAGS, 0), (AT_ENTRY, entry),
        (AT_UID, UID), (AT_EUID, UID), (AT_GID, GID), (AT_EGID, GID),
        (AT_HWCAP, 0), (AT_CLKTCK, 100), (AT_SECURE, 0),
    ]
    state.regs[abi.SP] = build_stack(memory, program.argv, program.env, auxv)
    input_memory = Memory()
    input_memory.write_bytes(0, program.stdin)
    state.input_root = input_memory.root()
    state.input_len = len(program.stdin)
    state.mem_root = memory.root()
    return Image(state, memory, input_memory)


def guest_string(text: str) -> bytes:
    """The NUL-terminated bytes of an argument or environment string.

    Linux argv are bytes, and Python hands a non-UTF-8 argument over with surrogate
    escapes; encoding them back gives the guest the bytes the user typed.
    """
    return text.encode("utf-8", "surrogateescape") + b"\0"


def build_stack(
    memory: Memory,
    argv: tuple[str, ...],
    env: tuple[tuple[str, str], ...],
    auxv: list[tuple[int, int]],
) -> int:
    """Lay out strings, random bytes, argc/argv/envp/auxv below STACK_TOP; return sp."""
    cursor = abi.STACK_TOP

    def push(data: bytes) -> int:
        nonlocal cursor
        cursor -= len(data)
        memory.write_bytes(cursor, data)
        return cursor

    execfn = push(guest_string(argv[0] if argv else ""))
    env_ptrs = [push(guest_string(f"{key}={value}")) for key, value in reversed(env)][::-1]
    arg_ptrs = [push(guest_string(arg)) for arg in reversed(argv)][::-1]
    random = push(RANDOM_BYTES)
    vector = [len(argv), *arg_ptrs, 0, *env_ptrs, 0]
    for key, value in [*auxv, (AT_RANDOM, random), (AT_EXECFN, execfn), (AT_NULL, 0)]:
        vector += [key, value]
    sp = (cursor - 4 * len(vector)) & ~15
    memory.write_bytes(sp, struct.pack(f">{len(vector)}I", *vector))
    return sp
