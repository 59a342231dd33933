"""The RISC-V disassembler and decode table against GNU objdump (-M no-aliases), which
is independent of flexEmu: over every instruction of the instruction test programs,
32-bit ones must print identically and compressed ones must expand under objdump's
name. Also: together the programs contain every supported encoding and compressed
form of each XLEN (all but ebreak/c.ebreak, which panic)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import pytest
from elftools.elf.elffile import ELFFile

from flexemu.isa.riscv.compressed import expand
from flexemu.isa.riscv.decode import ENCODINGS, decode
from flexemu.isa.riscv.disasm import disassemble
from tests.riscv_support import RISCV_TESTS, program_names

OBJDUMP = shutil.which("riscv64-linux-gnu-objdump")


def text_instructions(name: str) -> list[tuple[int, int, int]]:
    """(address, raw, length) of every instruction in .text, by a linear sweep."""
    elf = ELFFile(io.BytesIO((RISCV_TESTS / "elf" / name).read_bytes()))
    text = elf.get_section_by_name(".text")
    data, base = text.data(), text["sh_addr"]
    out, offset = [], 0
    while offset < len(data):
        parcel = int.from_bytes(data[offset : offset + 2], "little")
        length = 4 if parcel & 3 == 3 else 2
        out.append(
            (base + offset, int.from_bytes(data[offset : offset + length], "little"), length)
        )
        offset += length
    return out


@pytest.mark.parametrize("xlen", [32, 64])
def test_programs_contain_every_supported_instruction(xlen: int) -> None:
    names, compressed = set(), set()
    for name in program_names():
        if not name.endswith(str(xlen)):
            continue
        for _, raw, length in text_instructions(name):
            word = raw
            if length == 2:
                cname, word = expand(raw, xlen)  # type: ignore[misc]
                compressed.add(cname)
            names.add(decode(word, xlen).name)  # type: ignore[union-attr]
    supported = {e.name for e in ENCODINGS if xlen in e.xlens}
    assert supported - names == {"ebreak"}
    forms = {
        "c.addi4spn", "c.fld", "c.lw", "c.fsd", "c.sw", "c.nop", "c.addi", "c.li", "c.addi16sp",
        "c.lui", "c.srli", "c.srai", "c.andi", "c.sub", "c.xor", "c.or", "c.and", "c.j", "c.beqz",
        "c.bnez", "c.slli", "c.fldsp", "c.lwsp", "c.jr", "c.mv", "c.jalr", "c.add", "c.fsdsp",
        "c.swsp",
    }  # fmt: skip
    forms |= (
        {"c.jal", "c.flw", "c.fsw", "c.flwsp", "c.fswsp"}
        if xlen == 32
        else {"c.addiw", "c.ld", "c.sd", "c.ldsp", "c.sdsp", "c.addw", "c.subw"}
    )
    assert forms - compressed == set()


@pytest.mark.skipif(OBJDUMP is None, reason="riscv64-linux-gnu-objdump is not installed")
@pytest.mark.parametrize("name", program_names())
def test_disassembly_matches_objdump(name: str) -> None:
    dump = subprocess.run(
        [OBJDUMP, "-d", "-M", "no-aliases", str(RISCV_TESTS / "elf" / name)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    theirs = {}
    for line in dump.splitlines():
        match = re.match(r"\s*([0-9a-f]+):\s+[0-9a-f]+\s+(\S+)\s*(\S*)", line)
        if match:
            address, mnemonic, operands = match.groups()
            theirs[int(address, 16)] = (mnemonic, operands)
    # filler that objdump shows as data (.word) is never executed: skip its parcels
    size = {".word": 4, ".short": 2, ".byte": 1}
    data = {a + i for a, (m, _) in theirs.items() if m in size for i in range(size[m])}
    xlen = int(name[-2:])
    matched = set()
    for address, raw, length in text_instructions(name):
        if address in data:
            continue
        mnemonic, operands = theirs[address]
        ours = disassemble(raw, length, xlen, pc=address)
        if length == 2:
            ours = ours.replace("# c.nop", "# c.addi")  # objdump -M no-aliases: c.addi zero,0
            assert ours.endswith(f"# {mnemonic}"), (hex(address), ours, mnemonic)
        else:
            assert ours == f"{mnemonic} {operands}".strip(), hex(address)
        matched.add(address)
    assert matched == {a for a, (m, _) in theirs.items() if not m.startswith(".")}


def test_undecodable_instructions_say_why() -> None:
    assert disassemble(0x0000, 2, 64) == ".half 0x0000 # illegal"
    assert disassemble(0x00000053, 4, 64) == ".word 0x00000053 # unsupported floating point"
    assert disassemble(0x10500073, 4, 64) == ".word 0x10500073 # illegal"
    assert disassemble(0x0505, 2, 64) == "addi a0,a0,1 # c.addi"
    assert disassemble(0x0EA5302F, 4, 64) == "amoswap.d.aqrl zero,a0,(a0)"


@pytest.mark.parametrize("xlen", [32, 64])
def test_every_compressed_expansion_is_a_supported_instruction(xlen: int) -> None:
    """Exhaustively over all 2^16 parcels: an expansion always decodes (so a compressed
    form is never silently an unsupported one), and the disassembler never raises."""
    legal = 0
    for half in range(1 << 16):
        if half & 3 == 3:
            continue
        expansion = expand(half, xlen)
        text = disassemble(half, 2, xlen)
        if expansion is None:
            assert text.endswith("# illegal")
            continue
        name, word = expansion
        assert decode(word, xlen) is not None, (hex(half), name)
        assert text.endswith(f"# {name}")
        legal += 1
    assert legal > 40000
