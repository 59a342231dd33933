"""The RISC-V ELF loader: RV32 and RV64 static programs to their initial state, every ELF
we do not run refused with one line naming why, and the shared ELF/stack code
(`flexemu.elf_image`) reproducing the MIPS loader's stack byte for byte."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from flexemu.elf_image import (
    AT_ENTRY,
    AT_EXECFN,
    AT_NULL,
    AT_PAGESZ,
    AT_PHDR,
    AT_PHENT,
    AT_PHNUM,
    AT_RANDOM,
    RANDOM_BYTES,
    build_stack,
)
from flexemu.errors import LoaderError
from flexemu.isa.riscv.loader import MMAP_BASE, STACK_TOP, is_riscv, load_riscv
from flexemu.isa.riscv.state import RiscvState
from flexemu.loader import Program, load
from flexemu.memory import Memory

PROGRAMS = Path(__file__).resolve().parent.parent / "scenarios" / "programs"
RISCV_PROGRAMS = sorted(p.name for p in PROGRAMS.glob("*.rv[36][24]"))


def program(name: str, argv: list[str] | None = None, env: dict[str, str] | None = None,
            elf: bytes | None = None) -> Program:
    data = elf if elf is not None else (PROGRAMS / name).read_bytes()
    return Program(data, tuple(argv if argv is not None else [name]),
                   tuple(sorted((env or {}).items())), b"", name)


def words(memory: Memory, addr: int, count: int, xlen: int) -> list[int]:
    size = xlen // 8
    data = memory.read_bytes(addr, size * count)
    return [int.from_bytes(data[i : i + size], "little") for i in range(0, len(data), size)]


def c_string(memory: Memory, addr: int) -> str:
    data = memory.read_bytes(addr, 256)
    return data[: data.index(0)].decode()


def patched(name: str, offset: int, fmt: str, value: int) -> bytes:
    elf = bytearray((PROGRAMS / name).read_bytes())
    struct.pack_into(fmt, elf, offset, value)
    return bytes(elf)


def test_shipped_riscv_programs_exist_for_both_xlens():
    assert {"hello.rv64", "hello.rv32", "loop.rv64", "loop.rv32", "sort.rv64",
            "stdin_echo.rv64", "trap.rv64", "trap.rv32"} <= set(RISCV_PROGRAMS)


@pytest.mark.parametrize("name", RISCV_PROGRAMS)
def test_xlen_entry_break_and_memory_follow_the_elf(name):
    elf = (PROGRAMS / name).read_bytes()
    image = load_riscv(program(name))
    state = image.state
    parsed = ELFFile(open(PROGRAMS / name, "rb"))  # noqa: SIM115 - closed with the test
    assert state.xlen == (64 if name.endswith("64") else 32) == parsed.elfclass
    assert state.pc == parsed.header["e_entry"]
    loads = [s for s in parsed.iter_segments() if s["p_type"] == "PT_LOAD"]
    end = max(s["p_vaddr"] + s["p_memsz"] for s in loads)
    assert state.brk == (end + 4095) // 4096 * 4096
    assert state.mmap_next == MMAP_BASE
    for segment in loads:
        data = elf[segment["p_offset"] : segment["p_offset"] + segment["p_filesz"]]
        assert image.memory.read_bytes(segment["p_vaddr"], len(data)) == data
    assert [i for i, value in enumerate(state.x) if value] == [2]  # only sp
    assert state.f == [0] * 32 and state.fcsr == 0 and state.reservation == 0
    assert state.step == 0 and state.status == 0 and state.mem_root == image.memory.root()


@pytest.mark.parametrize("name", ["hello.rv64", "hello.rv32"])
def test_stack_holds_argv_envp_and_auxv_in_xlen_words(name):
    image = load_riscv(program(name, ["prog", "first arg"], {"B": "2", "A": "1"}))
    xlen, sp, memory = image.state.xlen, image.state.x[2], image.memory
    assert sp % 16 == 0 and STACK_TOP - 4096 < sp < STACK_TOP
    argc, argv0, argv1, null, env0, env1, null2 = words(memory, sp, 7, xlen)
    assert (argc, null, null2) == (2, 0, 0)
    assert [c_string(memory, p) for p in (argv0, argv1, env0, env1)] == [
        "prog", "first arg", "A=1", "B=2"]
    flat = words(memory, sp + 7 * xlen // 8, 40, xlen)
    auxv = dict(zip(flat[0::2], flat[1::2], strict=True))
    assert flat[: flat.index(AT_NULL) + 1][-1] == AT_NULL
    assert auxv[AT_PHENT] == (56 if xlen == 64 else 32)
    assert auxv[AT_PAGESZ] == 4096 and auxv[AT_ENTRY] == image.state.pc
    assert memory.read_bytes(auxv[AT_RANDOM], 16) == RANDOM_BYTES
    assert c_string(memory, auxv[AT_EXECFN]) == "prog"
    elf = (PROGRAMS / name).read_bytes()
    phoff = int.from_bytes(elf[0x20:0x28] if xlen == 64 else elf[0x1C:0x20], "little")
    size = auxv[AT_PHENT] * auxv[AT_PHNUM]
    assert memory.read_bytes(auxv[AT_PHDR], size) == elf[phoff : phoff + size]


def test_initial_state_is_a_pure_function_of_its_inputs():
    hashes = {load_riscv(program("sort.rv64", ["sort", "7"])).state.hash() for _ in range(2)}
    other = load_riscv(program("sort.rv64", ["sort", "8"])).state.hash()
    assert len(hashes) == 1 and other not in hashes


def test_witness_tag_names_the_xlen():
    rv64 = load_riscv(program("hello.rv64")).state
    rv32 = load_riscv(program("hello.rv32")).state
    assert RiscvState.from_witness(rv64.witness()) == rv64
    assert rv64.witness()[0] == 2 and rv32.witness()[0] == 1


def test_is_riscv_tells_the_isa_apart():
    assert is_riscv((PROGRAMS / "hello.rv32").read_bytes())
    assert not is_riscv((PROGRAMS / "hello").read_bytes())
    assert not is_riscv(b"not an elf")


# e_flags sits at 0x30 in ELF64 headers and 0x24 in ELF32 ones; e_machine at 0x12, e_type at 0x10.
@pytest.mark.parametrize(
    ("name", "offset", "fmt", "value", "message"),
    [
        ("hello.rv64", 0x30, "<I", 0x9, "RV64E (16-register ABI) is not supported"),
        ("hello.rv32", 0x24, "<I", 0x9, "RV32E (16-register ABI) is not supported"),
        ("sort.rv64", 0x30, "<I", 0x7, "quad-precision float ABI is not supported"),
        ("hello.rv64", 0x30, "<I", 0x11, "unsupported RISC-V ELF flags 0x11"),
        ("hello.rv64", 0x12, "<H", 62, "wrong machine 62, expected RISC-V (243)"),
        ("hello.rv64", 0x10, "<H", 3, "not a static executable (type ET_DYN)"),
        ("hello.rv64", 0x18, "<Q", 0x1_0000_0000, "entry point 0x100000000 is outside"),
        ("hello.rv64", 0x18, "<Q", 0x10101, "entry point 0x10101 is not 2-byte aligned"),
    ],
)
def test_refused_elfs_get_one_line_naming_the_problem(name, offset, fmt, value, message):
    with pytest.raises(LoaderError) as error:
        load_riscv(program(name, elf=patched(name, offset, fmt, value)))
    text = str(error.value)
    assert message in text and "\n" not in text and text.startswith(name)


def test_big_endian_riscv_is_refused():
    elf = bytearray((PROGRAMS / "hello.rv32").read_bytes())
    elf[5] = 2
    elf[0x12:0x14] = (243).to_bytes(2, "big")
    with pytest.raises(LoaderError, match="wrong endianness: big-endian, expected RV32"):
        load_riscv(program("x", elf=bytes(elf)))


def test_mips_elf_is_refused():
    with pytest.raises(LoaderError, match="wrong machine 8"):
        load_riscv(program("hello", elf=(PROGRAMS / "hello").read_bytes()))


def test_segment_above_the_stack_is_refused():
    # hello.rv32's second program header is its PT_LOAD: p_vaddr at e_phoff + 32 + 8 (ELF32).
    elf = (PROGRAMS / "hello.rv32").read_bytes()
    phoff = int.from_bytes(elf[0x1C:0x20], "little")
    bad = patched("hello.rv32", phoff + 32 + 8, "<I", 0x7FFF_F000)
    with pytest.raises(LoaderError, match="outside the user address space"):
        load_riscv(program("hello.rv32", elf=bad))


@pytest.mark.parametrize("name", ["hello", "stdin_echo", "sort"])
def test_shared_stack_builder_reproduces_the_mips_stack(name):
    """MIPS can move onto flexemu.elf_image: its stack comes out byte-identical."""
    argv, env = (name, "x"), (("A", "1"), ("HOME", "/"))
    image = load(Program((PROGRAMS / name).read_bytes(), argv, env, b"", name))
    sp = image.state.regs[29]
    vector_words = (STACK_TOP - sp) // 4
    auxv_flat = struct.unpack(f">{vector_words}I", image.memory.read_bytes(sp, 4 * vector_words))
    start = 1 + len(argv) + 1 + len(env) + 1
    auxv, i = [], start
    while auxv_flat[i] not in (AT_RANDOM,):
        auxv.append((auxv_flat[i], auxv_flat[i + 1]))
        i += 2
    mine = Memory()
    assert build_stack(mine.write_bytes, STACK_TOP, 4, "big", argv, env, auxv) == sp
    assert mine.read_bytes(sp, STACK_TOP - sp) == image.memory.read_bytes(sp, STACK_TOP - sp)
