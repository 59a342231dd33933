"""The ELF loader: every unusable ELF gets an error naming the problem; the initial
stack is the documented Linux-like layout."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from flexemu.elf_image import (
    AT_BASE,
    AT_CLKTCK,
    AT_EGID,
    AT_ENTRY,
    AT_EUID,
    AT_EXECFN,
    AT_FLAGS,
    AT_GID,
    AT_HWCAP,
    AT_NULL,
    AT_PAGESZ,
    AT_PHDR,
    AT_PHENT,
    AT_PHNUM,
    AT_RANDOM,
    AT_SECURE,
    AT_UID,
    RANDOM_BYTES,
)
from flexemu.emulator import Emulator
from flexemu.errors import LoaderError
from flexemu.isa.mips import abi
from flexemu.isa.mips.state import NO_RESERVATION, Status
from flexemu.loader import Program, load
from flexemu.memory import Memory
from flexemu.merkle import bytes_root

PT_NULL, PT_LOAD, PT_INTERP, PT_TLS = 0, 1, 3, 7
DATA_DIR = Path(__file__).resolve().parent / "data"


# ------------------------------------------------------------------ ELF surgery


def header(elf: bytes) -> dict[str, int]:
    e_type, e_machine, _, e_entry, e_phoff = struct.unpack_from(">HHIII", elf, 16)
    e_phentsize, e_phnum = struct.unpack_from(">HH", elf, 42)
    return {
        "type": e_type,
        "machine": e_machine,
        "entry": e_entry,
        "phoff": e_phoff,
        "phentsize": e_phentsize,
        "phnum": e_phnum,
    }


def program_headers(elf: bytes) -> list[tuple[int, ...]]:
    """(p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags, p_align) each."""
    h = header(elf)
    return [struct.unpack_from(">8I", elf, h["phoff"] + 32 * i) for i in range(h["phnum"])]


def patched(elf: bytes, offset: int, fmt: str, value: int) -> bytes:
    data = bytearray(elf)
    struct.pack_into(fmt, data, offset, value)
    return bytes(data)


def with_phdr_type(elf: bytes, index: int, p_type: int) -> bytes:
    return patched(elf, header(elf)["phoff"] + 32 * index, ">I", p_type)


def load_error(tmp_path: Path, data: bytes, name: str = "guest.elf") -> str:
    """Load `data` as the file `name` and return the LoaderError's message."""
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoaderError) as caught:
        load(Program.from_file(path, ["guest"]))
    message = str(caught.value)
    assert str(path) in message, f"the error does not name the file: {message}"
    return message


@pytest.fixture(scope="module")
def hello_elf(programs_dir) -> bytes:
    return (programs_dir / "hello").read_bytes()


@pytest.fixture(scope="module")
def glibc_elf(programs_dir) -> bytes:
    return (programs_dir / "exitcode").read_bytes()


def test_shipped_programs_are_what_the_loader_expects(hello_elf, glibc_elf):
    for elf in (hello_elf, glibc_elf):
        assert elf[:6] == b"\x7fELF\x01\x02"
        assert header(elf)["type"] == 2 and header(elf)["machine"] == 8
        types = [p[0] for p in program_headers(elf)]
        assert PT_LOAD in types and PT_INTERP not in types
    assert PT_TLS in [p[0] for p in program_headers(glibc_elf)]


# ------------------------------------------------------------------ rejections


def test_not_an_elf(tmp_path, programs_dir):
    message = load_error(tmp_path, (programs_dir / "hello.c").read_bytes())
    assert "not an ELF" in message
    assert "not an ELF" in load_error(tmp_path, b"MZ\x90\x00" + bytes(200))
    assert "not an ELF" in load_error(tmp_path, b"\x7fELG" + bytes(200))


def test_empty_file(tmp_path):
    message = load_error(tmp_path, b"", "empty.elf")
    assert "not an ELF" in message or "empty" in message


def test_missing_file(tmp_path):
    with pytest.raises(LoaderError, match="cannot read program"):
        Program.from_file(tmp_path / "absent")
    with pytest.raises(LoaderError, match="cannot read program"):
        Program.from_file(tmp_path)  # a directory


@pytest.mark.parametrize("cut", [4, 30, 51])
def test_truncated_header(tmp_path, hello_elf, cut):
    message = load_error(tmp_path, hello_elf[:cut])
    assert "truncated" in message
    assert f"{cut} bytes" in message


@pytest.mark.parametrize(("program", "cut"), [("hello", 0x100), ("exitcode", 0.5)])
def test_truncated_inside_a_segment(tmp_path, programs_dir, program, cut):
    elf = (programs_dir / program).read_bytes()
    size = cut if isinstance(cut, int) else int(len(elf) * cut)
    assert "truncated" in load_error(tmp_path, elf[:size])


@pytest.mark.parametrize(("program", "fraction"), [("hello", 0.5), ("exitcode", 0.9)])
def test_truncated_after_the_segments(tmp_path, programs_dir, program, fraction):
    """Cut after the last loaded byte: the section header table lies past the end."""
    elf = (programs_dir / program).read_bytes()
    cut = int(len(elf) * fraction)
    shoff = struct.unpack_from(">I", elf, 32)[0]
    loads = [p for p in program_headers(elf) if p[0] == PT_LOAD]
    assert max(p[1] + p[4] for p in loads) <= cut < shoff
    assert "truncated" in load_error(tmp_path, elf[:cut])


def test_truncated_program_headers(tmp_path, hello_elf):
    h = header(hello_elf)
    message = load_error(tmp_path, hello_elf[: h["phoff"] + 40])  # inside the second phdr
    assert "truncated" in message


def test_64_bit_elf_by_patch(tmp_path, hello_elf):
    message = load_error(tmp_path, patched(hello_elf, 4, "B", 2))
    assert "64-bit" in message and "class" in message


def test_64_bit_host_binary(tmp_path):
    host = Path(shutil.which("true") or "/bin/true").read_bytes()
    assert host[4] == 2, "expected a 64-bit host binary"
    assert "64-bit" in load_error(tmp_path, host)


def test_little_endian(tmp_path, hello_elf):
    message = load_error(tmp_path, patched(hello_elf, 5, "B", 1))
    assert "little-endian" in message


@pytest.mark.parametrize(("machine", "name"), [(40, "EM_ARM"), (62, "EM_X86_64"), (3, "EM_386")])
def test_wrong_machine(tmp_path, hello_elf, machine, name):
    message = load_error(tmp_path, patched(hello_elf, 18, ">H", machine))
    assert "wrong machine" in message and name in message and "EM_MIPS" in message


def test_dynamically_linked(tmp_path, hello_elf, glibc_elf):
    # Turn the first non-PT_LOAD program header into a PT_INTERP.
    for elf in (hello_elf, glibc_elf):
        index = next(i for i, p in enumerate(program_headers(elf)) if p[0] != PT_LOAD)
        message = load_error(tmp_path, with_phdr_type(elf, index, PT_INTERP))
        assert "dynamically linked" in message and "PT_INTERP" in message


def test_no_loadable_segment(tmp_path, hello_elf, glibc_elf):
    for elf in (hello_elf, glibc_elf):
        for index, phdr in enumerate(program_headers(elf)):
            if phdr[0] == PT_LOAD:
                elf = with_phdr_type(elf, index, PT_NULL)
        assert "no loadable segment" in load_error(tmp_path, elf)


@pytest.mark.parametrize(("e_type", "name"), [(3, "ET_DYN"), (1, "ET_REL"), (4, "ET_CORE")])
def test_not_an_executable(tmp_path, hello_elf, e_type, name):
    message = load_error(tmp_path, patched(hello_elf, 16, ">H", e_type))
    assert "not a static executable" in message and name in message


def test_segment_in_kernel_space(tmp_path, hello_elf):
    index = next(i for i, p in enumerate(program_headers(hello_elf)) if p[0] == PT_LOAD)
    offset = header(hello_elf)["phoff"] + 32 * index + 8  # p_vaddr
    message = load_error(tmp_path, patched(hello_elf, offset, ">I", 0x80000000))
    assert "outside the user address space" in message


def test_segment_past_end_of_file(tmp_path, hello_elf):
    index = next(i for i, p in enumerate(program_headers(hello_elf)) if p[0] == PT_LOAD)
    offset = header(hello_elf)["phoff"] + 32 * index + 16  # p_filesz
    message = load_error(tmp_path, patched(hello_elf, offset, ">I", len(hello_elf) + 1))
    assert "truncated" in message


@pytest.mark.parametrize("ei_class", [0, 3, 0xFF])
def test_undefined_elf_class_is_called_invalid(tmp_path, hello_elf, ei_class):
    message = load_error(tmp_path, patched(hello_elf, 4, "B", ei_class))
    assert f"invalid ELF class {ei_class}" in message and "64-bit" not in message


@pytest.mark.parametrize("ei_data", [0, 3])
def test_undefined_elf_data_encoding_is_called_invalid(tmp_path, hello_elf, ei_data):
    message = load_error(tmp_path, patched(hello_elf, 5, "B", ei_data))
    assert f"invalid ELF data encoding {ei_data}" in message and "little" not in message


def test_file_size_above_memory_size(tmp_path, hello_elf):
    index, phdr = next((i, p) for i, p in enumerate(program_headers(hello_elf)) if p[0] == PT_LOAD)
    offset = header(hello_elf)["phoff"] + 32 * index + 20  # p_memsz
    message = load_error(tmp_path, patched(hello_elf, offset, ">I", phdr[4] - 4))
    assert f"p_filesz {phdr[4]:#x} is larger than p_memsz {phdr[4] - 4:#x}" in message
    assert "address space" not in message


@pytest.mark.parametrize("past", [0, 1, 1 << 20])
def test_program_headers_past_the_end_of_the_file(tmp_path, hello_elf, past):
    message = load_error(tmp_path, patched(hello_elf, 28, ">I", len(hello_elf) + past))
    assert "truncated" in message and "program headers" in message
    assert "no loadable segment" not in message


def test_bss_only_segment_with_its_offset_past_the_end_loads():
    """ld's output for .text + page-aligned .bss (tests/data/README.md); qemu-mips prints ok."""
    elf = (DATA_DIR / "bss_only").read_bytes()
    bss = [p for p in program_headers(elf) if p[0] == PT_LOAD and p[4] == 0]
    assert bss and bss[0][1] > len(elf), "the committed ELF no longer has the shape under test"
    emulator = Emulator(Program.from_file(DATA_DIR / "bss_only"))
    final = emulator.run()
    assert (final.status, final.exit_code) == (Status.EXITED, 0)
    assert emulator.stdout() == b"ok\n"


# ------------------------------------------------------------------ the initial state


def read_word(memory: Memory, address: int) -> int:
    return int.from_bytes(memory.read_bytes(address, 4), "big")


def read_string(memory: Memory, address: int) -> str:
    out = bytearray()
    while (byte := memory.read_bytes(address + len(out), 1)) != b"\0":
        out += byte
        assert len(out) < 4096
    return out.decode()


def parse_stack(memory: Memory, sp: int) -> tuple[list[str], list[str], list[tuple[int, int]]]:
    """argv strings, envp strings and the auxv pairs at `sp`, as a libc would read them."""
    argc = read_word(memory, sp)
    cursor = sp + 4
    argv = [read_string(memory, read_word(memory, cursor + 4 * i)) for i in range(argc)]
    cursor += 4 * argc
    assert read_word(memory, cursor) == 0, "argv is not NULL-terminated"
    cursor += 4
    envp = []
    while (pointer := read_word(memory, cursor)) != 0:
        envp.append(read_string(memory, pointer))
        cursor += 4
    cursor += 4
    auxv = []
    while True:
        key, value = read_word(memory, cursor), read_word(memory, cursor + 4)
        auxv.append((key, value))
        cursor += 8
        if key == AT_NULL:
            return argv, envp, auxv


@pytest.fixture(scope="module")
def loaded(programs_dir):
    program = Program.from_file(
        programs_dir / "exitcode",
        ["prog", "first", "", "third arg"],
        {"B": "2", "A": "x=y"},
        b"input!",
    )
    return program, load(program)


def test_stack_argc_argv_envp(loaded):
    _, image = loaded
    sp = image.state.regs[abi.SP]
    assert sp % 16 == 0
    assert 0x7F000000 < sp < abi.STACK_TOP
    argv, envp, _ = parse_stack(image.memory, sp)
    assert argv == ["prog", "first", "", "third arg"]
    assert envp == ["A=x=y", "B=2"]  # sorted by name


def test_auxv_values(loaded):
    program, image = loaded
    h = header(program.elf)
    _, _, auxv = parse_stack(image.memory, image.state.regs[abi.SP])
    keys = [key for key, _ in auxv]
    assert len(keys) == len(set(keys)), "duplicate auxv entries"
    assert keys[-1] == AT_NULL
    values = dict(auxv)
    assert values[AT_PHENT] == 32 == h["phentsize"]
    assert values[AT_PHNUM] == h["phnum"]
    assert values[AT_PAGESZ] == abi.PAGE_SIZE == 4096
    assert values[AT_ENTRY] == h["entry"] == image.state.pc
    assert values[AT_BASE] == 0 and values[AT_FLAGS] == 0
    assert values[AT_UID] == values[AT_EUID] == values[AT_GID] == values[AT_EGID] == 1000
    assert values[AT_HWCAP] == 0 and values[AT_SECURE] == 0 and values[AT_CLKTCK] == 100
    assert read_string(image.memory, values[AT_EXECFN]) == "prog"


def test_at_phdr_points_at_the_program_headers(loaded):
    program, image = loaded
    h = header(program.elf)
    values = dict(parse_stack(image.memory, image.state.regs[abi.SP])[2])
    size = h["phnum"] * h["phentsize"]
    table = program.elf[h["phoff"] : h["phoff"] + size]
    assert image.memory.read_bytes(values[AT_PHDR], size) == table
    # What glibc does with it: find PT_TLS through AT_PHDR/AT_PHNUM.
    types = [read_word(image.memory, values[AT_PHDR] + 32 * i) for i in range(values[AT_PHNUM])]
    assert PT_TLS in types


def test_at_random_is_16_fixed_bytes(loaded, programs_dir):
    _, image = loaded
    values = dict(parse_stack(image.memory, image.state.regs[abi.SP])[2])
    random = image.memory.read_bytes(values[AT_RANDOM], 16)
    assert random == RANDOM_BYTES and len(set(random)) > 4
    # The same bytes for another program, other arguments, another load.
    other = load(Program.from_file(programs_dir / "hello", ["x" * 37], {"K": "V"}, b"abc"))
    other_values = dict(parse_stack(other.memory, other.state.regs[abi.SP])[2])
    assert other.memory.read_bytes(other_values[AT_RANDOM], 16) == random


def test_registers_and_bookkeeping(loaded):
    program, image = loaded
    state = image.state
    assert state.pc == header(program.elf)["entry"]
    assert state.next_pc == state.pc + 4
    assert [r for i, r in enumerate(state.regs) if i != abi.SP] == [0] * 31
    assert state.hi == state.lo == state.tls == 0
    assert state.ll_addr == NO_RESERVATION
    assert state.fpr == [0] * 32 and state.fcsr == 0
    assert state.status == Status.RUNNING and state.step == 0 and state.exit_code == 0
    assert state.output_hash == bytes(32)
    assert state.input_len == len(program.stdin) == 6 and state.input_pos == 0
    assert state.input_root == bytes_root(b"input!") == image.input_memory.root()
    assert state.mem_root == image.memory.root()
    assert state.mmap_next == abi.MMAP_BASE


def test_segments_and_break(loaded):
    program, image = loaded
    loads = [p for p in program_headers(program.elf) if p[0] == PT_LOAD]
    for _, offset, vaddr, _, filesz, memsz, _, _ in loads:
        assert image.memory.read_bytes(vaddr, filesz) == program.elf[offset : offset + filesz]
        assert image.memory.read_bytes(vaddr + filesz, memsz - filesz) == bytes(memsz - filesz)
    end = max(p[2] + p[5] for p in loads)
    assert image.state.brk % abi.PAGE_SIZE == 0
    assert end <= image.state.brk < end + abi.PAGE_SIZE


def test_default_argv_is_the_path(programs_dir):
    path = programs_dir / "hello"
    image = load(Program.from_file(path))
    assert parse_stack(image.memory, image.state.regs[abi.SP])[0] == [str(path)]


def test_empty_argv_starts_with_argc_zero(programs_dir):
    """scenarios/programs/README.md: `argv: []` means flexEmu starts the guest with argc = 0."""
    elf = (programs_dir / "hello").read_bytes()
    for program in (Program(elf, ()), Program.from_file(programs_dir / "hello", [])):
        image = load(program)
        sp = image.state.regs[abi.SP]
        assert read_word(image.memory, sp) == 0
        argv, envp, auxv = parse_stack(image.memory, sp)
        assert argv == [] and envp == [] and dict(auxv)[AT_PHNUM] == 4
