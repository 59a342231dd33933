"""Static ELF executables and the Linux initial stack, for any word size and byte order.

ISA-neutral: an ISA states what it accepts as an `ElfFormat` (machine, class,
byte order, the highest user address) and receives the checked program
headers, then lays out its initial stack with `build_stack`. Nothing here
knows a register or an instruction, so MIPS and RISC-V (RV32 and RV64) share
one parser and one stack layout (docs/spec.md section 9; docs/riscv.md).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from flexemu.errors import LoaderError
from flexemu.keccak import keccak256

ByteOrder = Literal["little", "big"]

RANDOM_BYTES = keccak256(b"flexemu AT_RANDOM")[:16]
UID = GID = 1000
PAGE_SIZE = 4096

# auxv tags
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ = 0, 3, 4, 5, 6
AT_BASE, AT_FLAGS, AT_ENTRY = 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID = 11, 12, 13, 14
AT_HWCAP, AT_CLKTCK, AT_SECURE, AT_RANDOM, AT_EXECFN = 16, 17, 23, 25, 31

_CLASS_BYTES = {1: 4, 2: 8}  # e_ident[EI_CLASS] -> word bytes
_ORDER = {1: "little", 2: "big"}  # e_ident[EI_DATA]


@dataclass(frozen=True)
class ElfIdent:
    """The first bytes of an ELF: enough to pick the ISA that must load it."""

    word_bytes: int  # 4 (ELFCLASS32) or 8 (ELFCLASS64)
    byteorder: ByteOrder
    machine: int  # e_machine


@dataclass(frozen=True)
class ElfFormat:
    """What one ISA (at one word size) accepts."""

    isa: str  # for messages, e.g. "RV64"
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


def read_ident(elf: bytes, name: str = "program") -> ElfIdent:
    """Class, byte order and machine of an ELF, each checked to be a known value."""
    if elf[:4] != b"\x7fELF":
        raise LoaderError(f"{name}: not an ELF file (bad magic)")
    if len(elf) < 52:
        raise LoaderError(f"{name}: truncated ELF header ({len(elf)} bytes)")
    word_bytes, byteorder = _CLASS_BYTES.get(elf[4]), _ORDER.get(elf[5])
    if word_bytes is None:
        raise LoaderError(f"{name}: unknown ELF class {elf[4]}")
    if byteorder is None:
        raise LoaderError(f"{name}: unknown ELF data encoding {elf[5]}")
    machine = int.from_bytes(elf[18:20], byteorder)
    return ElfIdent(word_bytes, byteorder, machine)  # type: ignore[arg-type]


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
    try:
        parsed = ELFFile(io.BytesIO(elf))
        header = parsed.header
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
        )  # fmt: skip
        if offset + filesz > len(elf):
            raise LoaderError(f"{name}: truncated: segment at {vaddr:#x} extends past the file")
        if vaddr + memsz > fmt.address_limit or filesz > memsz:
            raise LoaderError(f"{name}: segment at {vaddr:#x} is outside the user address space")
        executable = bool(seg["p_flags"] & 1)
        result.append(Segment(vaddr, elf[offset : offset + filesz], memsz, executable))
    phoff = header["e_phoff"]
    phdr = next(
        (s["p_vaddr"] + phoff - s["p_offset"] for s in loads
         if s["p_offset"] <= phoff < s["p_offset"] + s["p_filesz"]),
        0,
    )  # fmt: skip
    entry = header["e_entry"]
    if entry >= fmt.address_limit:
        raise LoaderError(f"{name}: entry point {entry:#x} is outside the address space")
    return ElfProgram(
        header["e_entry"], tuple(result), phdr, header["e_phnum"], header["e_phentsize"],
        header["e_flags"],
    )  # fmt: skip


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

    execfn = push((argv[0] if argv else "").encode() + b"\0")
    env_ptrs = [push(f"{key}={value}".encode() + b"\0") for key, value in reversed(env)][::-1]
    arg_ptrs = [push(arg.encode() + b"\0") for arg in reversed(argv)][::-1]
    random = push(RANDOM_BYTES)
    vector = [len(argv), *arg_ptrs, 0, *env_ptrs, 0]
    for key, value in [*auxv, (AT_RANDOM, random), (AT_EXECFN, execfn), (AT_NULL, 0)]:
        vector += [key, value]
    sp = (cursor - word_bytes * len(vector)) & ~15
    write(sp, b"".join(word.to_bytes(word_bytes, byteorder) for word in vector))
    return sp
