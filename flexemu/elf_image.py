"""Static ELF executables and the Linux initial stack, for any word size and byte order.

ISA-neutral: an ISA states what it accepts as an `ElfFormat` (machine, class,
byte order, the highest user address) and receives the checked program
headers, then lays out its initial stack with `build_stack`. Nothing here
knows a register or an instruction, so MIPS and RISC-V (RV32 and RV64) share
one parser and one stack layout (docs/spec.md sections 9 and R8).

The headers are read with `struct` alone: a static executable needs only the ELF
header and its program headers, and a parser library (pyelftools took ~25 ms to
import) would be most of a short command's start-up.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from flexemu.errors import LoaderError
from flexemu.keccak import keccak256
from flexemu.memory import Memory

ByteOrder = Literal["little", "big"]

RANDOM_BYTES = keccak256(b"flexemu AT_RANDOM")[:16]
UID = GID = 1000
PAGE_SIZE = 4096

# auxv tags
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ = 0, 3, 4, 5, 6
AT_BASE, AT_FLAGS, AT_ENTRY = 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID = 11, 12, 13, 14
AT_HWCAP, AT_CLKTCK, AT_SECURE, AT_RANDOM, AT_EXECFN = 16, 17, 23, 25, 31

# e_type and p_type values
ET_EXEC = 2
ET_NAMES = {0: "ET_NONE", 1: "ET_REL", 2: "ET_EXEC", 3: "ET_DYN", 4: "ET_CORE"}
PT_LOAD, PT_INTERP = 1, 3
PF_X = 1

_CLASS_BYTES = {1: 4, 2: 8}  # e_ident[EI_CLASS] -> word bytes
_ORDER = {1: "little", 2: "big"}  # e_ident[EI_DATA]
#: The ELF identification values and how each reads in a message.
ELF_CLASSES = {1: "32-bit", 2: "64-bit"}
ELF_ENCODINGS = {1: "little-endian", 2: "big-endian"}

#: Per word size: the ELF header after e_ident (e_type .. e_shstrndx), and one program
#: header's fields in file order.
_HEADER = {4: "HHIIIIIHHHHHH", 8: "HHIQQQIHHHHHH"}
_PHDR = {4: "IIIIIIII", 8: "IIQQQQQQ"}
_HEADER_BYTES = {4: 52, 8: 64}


@dataclass(frozen=True)
class ElfIdent:
    """The first bytes of an ELF: enough to pick the ISA that must load it."""

    word_bytes: int  # 4 (ELFCLASS32) or 8 (ELFCLASS64)
    byteorder: ByteOrder
    machine: int  # e_machine


@dataclass(frozen=True)
class ElfFormat:
    """What one ISA (at one word size) accepts."""

    isa: str  # for messages, e.g. "RV64", "MIPS32"
    machine: int  # e_machine
    word_bytes: int
    byteorder: ByteOrder
    address_limit: int  # every segment must end at or below this address


@dataclass(frozen=True)
class Segment:
    vaddr: int
    data: bytes
    memsz: int
    executable: bool


@dataclass(frozen=True)
class ElfProgram:
    """A checked static executable: what the loader needs from its headers."""

    entry: int
    segments: tuple[Segment, ...]
    phdr: int  # address of the program headers (0 if no PT_LOAD holds them)
    phnum: int
    phentsize: int
    flags: int  # e_flags, for ISA-specific ABI checks

    @property
    def end(self) -> int:
        """One past the highest loaded byte."""
        return max(s.vaddr + s.memsz for s in self.segments)


@dataclass(frozen=True)
class _ProgramHeader:
    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int


def read_ident(elf: bytes, name: str = "program") -> ElfIdent:
    """Class, byte order and machine of an ELF, each checked to be a defined value."""
    if elf[:4] != b"\x7fELF":
        raise LoaderError(f"{name}: not an ELF file (bad magic)")
    if len(elf) < 52:
        raise LoaderError(f"{name}: truncated ELF header ({len(elf)} bytes)")
    word_bytes, byteorder = _CLASS_BYTES.get(elf[4]), _ORDER.get(elf[5])
    if word_bytes is None:
        raise LoaderError(f"{name}: invalid ELF class {elf[4]} (EI_CLASS must be 1 or 2)")
    if byteorder is None:
        raise LoaderError(f"{name}: invalid ELF data encoding {elf[5]} (EI_DATA must be 1 or 2)")
    machine = int.from_bytes(elf[18:20], byteorder)
    return ElfIdent(word_bytes, byteorder, machine)  # type: ignore[arg-type]


def _program_headers(
    elf: bytes, ident: ElfIdent, phoff: int, phentsize: int, phnum: int, name: str
) -> list[_ProgramHeader]:
    order = ">" if ident.byteorder == "big" else "<"
    layout = struct.Struct(order + _PHDR[ident.word_bytes])
    if phnum and phentsize < layout.size:
        raise LoaderError(
            f"{name}: malformed ELF: e_phentsize {phentsize} is smaller than a program "
            f"header ({layout.size} bytes)"
        )
    if phnum and phoff + phnum * phentsize > len(elf):
        raise LoaderError(
            f"{name}: truncated: the program headers ({phnum} at offset {phoff:#x}) extend "
            f"past the end of the file ({len(elf)} bytes)"
        )
    headers = []
    for index in range(phnum):
        fields = layout.unpack_from(elf, phoff + index * phentsize)
        if ident.word_bytes == 4:  # type offset vaddr paddr filesz memsz flags align
            kind, offset, vaddr, _, filesz, memsz, flags, _ = fields
        else:  # type flags offset vaddr paddr filesz memsz align
            kind, flags, offset, vaddr, _, filesz, memsz, _ = fields
        headers.append(_ProgramHeader(kind, flags, offset, vaddr, filesz, memsz))
    return headers


def parse_elf(elf: bytes, fmt: ElfFormat, name: str = "program") -> ElfProgram:
    """Check that `elf` is a static executable of `fmt` and return its loadable parts."""
    ident = read_ident(elf, name)
    if ident.machine != fmt.machine:
        raise LoaderError(f"{name}: wrong machine {ident.machine}, expected {fmt.isa}")
    if ident.word_bytes != fmt.word_bytes:
        bits = 8 * ident.word_bytes
        raise LoaderError(f"{name}: wrong ELF class: {bits}-bit, expected {fmt.isa}")
    if ident.byteorder != fmt.byteorder:
        raise LoaderError(f"{name}: wrong endianness: {ident.byteorder}-endian, expected {fmt.isa}")
    order = ">" if ident.byteorder == "big" else "<"
    if len(elf) < _HEADER_BYTES[ident.word_bytes]:
        raise LoaderError(f"{name}: truncated ELF header ({len(elf)} bytes)")
    (
        e_type, _, _, entry, phoff, shoff, flags, _, phentsize, phnum, shentsize, shnum, _,
    ) = struct.unpack_from(order + _HEADER[ident.word_bytes], elf, 16)  # fmt: skip
    headers = _program_headers(elf, ident, phoff, phentsize, phnum, name)
    if e_type != ET_EXEC:
        raise LoaderError(
            f"{name}: not a static executable (type {ET_NAMES.get(e_type, e_type)})"
        )
    if any(header.type == PT_INTERP for header in headers):
        raise LoaderError(f"{name}: dynamically linked (has PT_INTERP); build it with -static")
    if shoff and shoff + shnum * shentsize > len(elf):
        raise LoaderError(f"{name}: truncated: section headers extend past the end of the file")
    loads = [header for header in headers if header.type == PT_LOAD]
    if not loads:
        raise LoaderError(f"{name}: no loadable segment")
    result = []
    for seg in loads:
        # A segment with no file bytes (bss only) reads nothing: ld may give it an offset
        # past the end of the file, and Linux and qemu load it.
        if seg.filesz and seg.offset + seg.filesz > len(elf):
            raise LoaderError(
                f"{name}: truncated: segment at {seg.vaddr:#x} extends past the file"
            )
        if seg.filesz > seg.memsz:
            raise LoaderError(
                f"{name}: malformed segment at {seg.vaddr:#x}: p_filesz {seg.filesz:#x} is "
                f"larger than p_memsz {seg.memsz:#x}"
            )
        if seg.vaddr + seg.memsz > fmt.address_limit:
            raise LoaderError(
                f"{name}: segment at {seg.vaddr:#x} is outside the user address space"
            )
        data = elf[seg.offset : seg.offset + seg.filesz]
        result.append(Segment(seg.vaddr, data, seg.memsz, bool(seg.flags & PF_X)))
    phdr = next(
        (s.vaddr + phoff - s.offset for s in loads if s.offset <= phoff < s.offset + s.filesz),
        0,
    )
    return ElfProgram(entry, tuple(result), phdr, phnum, phentsize, flags)


def segment_memory(program: ElfProgram) -> Memory:
    """A memory holding every loadable segment's bytes at its address (bss is zero already)."""
    memory = Memory()
    for segment in program.segments:
        memory.write_bytes(segment.vaddr, segment.data)
    return memory


def page_up(value: int) -> int:
    return (value + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


def standard_auxv(program: ElfProgram) -> list[tuple[int, int]]:
    """The auxiliary vector before AT_RANDOM/AT_EXECFN (which `build_stack` appends)."""
    return [
        (AT_PHDR, program.phdr), (AT_PHENT, program.phentsize), (AT_PHNUM, program.phnum),
        (AT_PAGESZ, PAGE_SIZE), (AT_BASE, 0), (AT_FLAGS, 0), (AT_ENTRY, program.entry),
        (AT_UID, UID), (AT_EUID, UID), (AT_GID, GID), (AT_EGID, GID),
        (AT_HWCAP, 0), (AT_CLKTCK, 100), (AT_SECURE, 0),
    ]  # fmt: skip


def guest_string(text: str) -> bytes:
    """The NUL-terminated bytes of an argument or environment string.

    Linux argv are bytes, and Python hands a non-UTF-8 argument over with surrogate
    escapes; encoding them back gives the guest the bytes the user typed.
    """
    return text.encode("utf-8", "surrogateescape") + b"\0"


def build_stack(
    write: Callable[[int, bytes], None],
    top: int,
    word_bytes: int,
    byteorder: ByteOrder,
    argv: tuple[str, ...],
    env: tuple[tuple[str, str], ...],
    auxv: list[tuple[int, int]],
) -> int:
    """Lay out strings, random bytes, argc/argv/envp/auxv below `top`; return sp.

    From `top` down: argv[0] (AT_EXECFN), the `KEY=VALUE` strings, the argv
    strings, the 16 AT_RANDOM bytes; then, at the next lower 16-byte aligned
    address that fits it, the vector of words argc, argv..., 0, envp..., 0,
    auxv pairs, AT_RANDOM, AT_EXECFN, AT_NULL.
    """
    cursor = top

    def push(data: bytes) -> int:
        nonlocal cursor
        cursor -= len(data)
        write(cursor, data)
        return cursor

    execfn = push(guest_string(argv[0] if argv else ""))
    env_ptrs = [push(guest_string(f"{key}={value}")) for key, value in reversed(env)][::-1]
    arg_ptrs = [push(guest_string(arg)) for arg in reversed(argv)][::-1]
    random = push(RANDOM_BYTES)
    vector = [len(argv), *arg_ptrs, 0, *env_ptrs, 0]
    for key, value in [*auxv, (AT_RANDOM, random), (AT_EXECFN, execfn), (AT_NULL, 0)]:
        vector += [key, value]
    sp = (cursor - word_bytes * len(vector)) & ~15
    write(sp, b"".join(word.to_bytes(word_bytes, byteorder) for word in vector))
    return sp
