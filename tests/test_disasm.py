"""The disassembler against three independent oracles.

- Encodings built here from the manual's field layout (R: op rs rt rd sa funct, I: op
  rs rt imm16, J: op index26), with the text a reader expects for them.
- The reference stepper: an encoding is class "reserved" exactly when stepping it
  panics RESERVED_INSTRUCTION whatever the registers hold, so the tables cannot drift
  from the spec's 6.3 in either direction.
- GNU objdump (`mips-linux-gnu-objdump -M no-aliases`) over the .text of shipped ELFs,
  when it is installed: same mnemonic and operands after normalising notation.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import EVERY_STEP

from flexemu.access import FullIO
from flexemu.isa.mips.abi import SYSCALL_NAMES, syscall_name
from flexemu.isa.mips.disasm import (
    CLASSES,
    REGISTERS,
    disassemble,
    instruction_class,
    mnemonic,
)
from flexemu.isa.mips.state import Panic, State, Status
from flexemu.isa.mips.step import step
from flexemu.memory import Memory

PROGRAMS = Path(__file__).resolve().parents[1] / "scenarios" / "programs"
REG = {name: number for number, name in enumerate(REGISTERS)}


def r_type(op: int, rs: int, rt: int, rd: int, sa: int, funct: int) -> int:
    return (op << 26) | (rs << 21) | (rt << 16) | (rd << 11) | (sa << 6) | funct


def i_type(op: int, rs: int, rt: int, imm: int) -> int:
    return (op << 26) | (rs << 21) | (rt << 16) | (imm & 0xFFFF)


def j_type(op: int, index: int) -> int:
    return (op << 26) | (index & 0x03FFFFFF)


SP, V0, A0, A1, A2, T9, RA, ZERO = (
    REG[n] for n in ("sp", "v0", "a0", "a1", "a2", "t9", "ra", "zero")
)

CASES = [
    # (word, pc, text, mnemonic, class)
    (i_type(0x09, SP, SP, -32), 0, "addiu sp, sp, -32", "addiu", "alu-imm"),
    (i_type(0x0D, A0, V0, 0x8000), 0, "ori v0, a0, 0x8000", "ori", "alu-imm"),
    (i_type(0x0F, 0, REG["gp"], 0x42), 0, "lui gp, 0x42", "lui", "alu-imm"),
    (i_type(0x04, V0, ZERO, 7), 0x400104, "beq v0, zero, 0x400124", "beq", "branch"),
    (i_type(0x05, A0, A1, -1), 0x400100, "bne a0, a1, 0x400100", "bne", "branch"),
    (i_type(0x14, A0, ZERO, 2), 0x1000, "beql a0, zero, 0x100c", "beql", "branch-likely"),
    (i_type(0x01, A2, 0x11, 4), 0x2000, "bgezal a2, 0x2014", "bgezal", "branch"),
    (i_type(0x01, A2, 0x12, 4), 0x2000, "bltzall a2, 0x2014", "bltzall", "branch-likely"),
    (j_type(0x03, 0x0010003C), 0x400120, "jal 0x4000f0", "jal", "jump"),
    (j_type(0x02, 0x3FFFFFF), 0x80000000, "j 0x8ffffffc", "j", "jump"),
    (r_type(0, RA, 0, 0, 0, 0x08), 0, "jr ra", "jr", "jump"),
    (r_type(0, T9, 0, RA, 0, 0x09), 0, "jalr t9", "jalr", "jump"),
    (r_type(0, T9, 0, V0, 0, 0x09), 0, "jalr v0, t9", "jalr", "jump"),
    (0x0000000C, 0, "syscall", "syscall", "syscall"),
    (r_type(0, 0, 7, 0, 0, 0x0D), 0, "break 7", "break", "trap"),
    (r_type(0, A0, ZERO, 0, 7, 0x34), 0, "teq a0, zero, 7", "teq", "trap"),
    (i_type(0x01, A0, 0x0E, -3), 0, "tnei a0, -3", "tnei", "trap"),
    (0x00000000, 0, "nop", "nop", "shift"),
    (r_type(0, 0, A1, V0, 2, 0x00), 0, "sll v0, a1, 2", "sll", "shift"),
    (r_type(0, 1, V0, V0, 16, 0x02), 0, "rotr v0, v0, 16", "rotr", "shift"),
    (r_type(0, A0, V0, V0, 1, 0x06), 0, "rotrv v0, v0, a0", "rotrv", "shift"),
    (r_type(0, A0, V0, V0, 0, 0x07), 0, "srav v0, v0, a0", "srav", "shift"),
    (r_type(0, A0, A1, V0, 0, 0x21), 0, "addu v0, a0, a1", "addu", "alu"),
    (r_type(0, A0, A1, V0, 0, 0x0B), 0, "movn v0, a0, a1", "movn", "alu"),
    (r_type(0, A0, A1, 0, 0, 0x1B), 0, "divu a0, a1", "divu", "muldiv"),
    (r_type(0, 0, 0, V0, 0, 0x10), 0, "mfhi v0", "mfhi", "muldiv"),
    (r_type(0x1C, A0, A1, V0, 0, 0x02), 0, "mul v0, a0, a1", "mul", "special2"),
    (r_type(0x1C, A0, 0, V0, 0, 0x21), 0, "clo v0, a0", "clo", "special2"),
    (r_type(0x1F, A1, V0, 23, 0, 0x00), 0, "ext v0, a1, 0, 24", "ext", "special3"),
    (r_type(0x1F, A1, V0, 15, 8, 0x04), 0, "ins v0, a1, 8, 8", "ins", "special3"),
    (r_type(0x1F, 0, A1, V0, 0x10, 0x20), 0, "seb v0, a1", "seb", "special3"),
    (r_type(0x1F, 0, REG["v1"], 29, 0, 0x3B), 0, "rdhwr v1, $29", "rdhwr", "special3"),
    (i_type(0x23, SP, RA, 28), 0, "lw ra, 28(sp)", "lw", "load"),
    (i_type(0x20, A0, V0, -1), 0, "lb v0, -1(a0)", "lb", "load"),
    (i_type(0x22, A0, V0, 0), 0, "lwl v0, 0(a0)", "lwl", "load-unaligned"),
    (i_type(0x2B, SP, RA, 28), 0, "sw ra, 28(sp)", "sw", "store"),
    (i_type(0x2E, A0, V0, 3), 0, "swr v0, 3(a0)", "swr", "store-unaligned"),
    (i_type(0x30, A0, V0, 0), 0, "ll v0, 0(a0)", "ll", "ll-sc"),
    (i_type(0x38, A0, V0, 0), 0, "sc v0, 0(a0)", "sc", "ll-sc"),
    (i_type(0x33, A1, 4, 0), 0, "pref 4, 0(a1)", "pref", "hint"),
    (r_type(0, 0, 0, 0, 0, 0x0F), 0, "sync", "sync", "hint"),
    (i_type(0x35, A0, 20, 56), 0, "ldc1 $f20, 56(a0)", "ldc1", "fpu-memory"),
    (i_type(0x39, SP, 2, 8), 0, "swc1 $f2, 8(sp)", "swc1", "fpu-memory"),
    (r_type(0x11, 0x04, A0, 2, 0, 0), 0, "mtc1 a0, $f2", "mtc1", "fpu-move"),
    (r_type(0x11, 0x02, V0, 31, 0, 0), 0, "cfc1 v0, $31", "cfc1", "fpu-move"),
]

RESERVED_WORDS = [
    r_type(0x1F, A1, V0, 20, 12, 0x00),  # EXT with lsb + msbd = 32
    r_type(0x1F, A1, V0, 7, 8, 0x04),  # INS with msb < lsb
    r_type(0x1F, 0, V0, 2, 0, 0x3B),  # RDHWR $2
    r_type(0x1F, 0, A1, V0, 0x11, 0x20),  # BSHFL sa = 0x11
    r_type(0x11, 0x02, V0, 30, 0, 0),  # CFC1 from FCCR
    i_type(0x35, A0, 21, 0),  # LDC1 with an odd register
    0x46200031,  # c.un.d: FPU arithmetic
    r_type(0, 0, 0, 0, 0, 0x05),  # SPECIAL funct 05
    i_type(0x01, 0, 0x04, 0),  # REGIMM rt 04
    (0x3F << 26),  # opcode 3F
]


@pytest.mark.parametrize(("word", "pc", "text", "name", "cls"), CASES)
def test_hand_encoded_instructions(word: int, pc: int, text: str, name: str, cls: str) -> None:
    assert disassemble(word, pc) == text
    assert mnemonic(word) == name
    assert instruction_class(word) == cls


@pytest.mark.parametrize("word", RESERVED_WORDS)
def test_reserved_encodings(word: int) -> None:
    assert instruction_class(word) == "reserved"
    assert disassemble(word, 0x400000) == f".word {word:#010x}"


def test_every_class_is_reachable() -> None:
    seen = {c for *_, c in CASES} | {instruction_class(w) for w in RESERVED_WORDS}
    assert seen == set(CLASSES)


def test_syscall_names() -> None:
    assert syscall_name(4004) == "write"
    assert syscall_name(4246) == "exit_group"
    assert syscall_name(4367) == "rseq"
    assert syscall_name(4999) == "4999"


# ---------------------------------------------------------------- the stepper as the oracle


def _panics_reserved(word: int) -> bool:
    """Step `word` at 0x1000 with even, user-space registers and no delay slot."""
    memory = Memory()
    memory.write_word(0x1000, word, "big")
    state = State(pc=0x1000, next_pc=0x1004, regs=[0] + [0x2000 + 8 * i for i in range(1, 32)])
    step(state, FullIO(memory, Memory(), record=False))
    return state.status == Status.PANICKED and state.exit_code == Panic.RESERVED_INSTRUCTION


def _interesting_words(count: int, seed: int) -> list[int]:
    """Random words biased to the opcodes and function fields that carry the decoding."""
    rng = random.Random(seed)
    words = [rng.getrandbits(32) for _ in range(count // 2)]
    for _ in range(count - len(words)):
        op = rng.choice([0x00, 0x01, 0x11, 0x1C, 0x1F, rng.randrange(64)])
        words.append((op << 26) | rng.getrandbits(26))
    return words


def test_reserved_class_is_exactly_what_the_stepper_rejects() -> None:
    every_funct = [r_type(op, 1, 2, 3, sa, f) for op in (0, 0x1C, 0x1F) for f in range(64)
                   for sa in (0, 1, 2, 0x10, 0x18)]
    every_field = [i_type(op, rs, rt, 0) for op in range(64) for rs in (0, 2, 4, 6) for rt in
                   range(32)]
    for word in every_funct + every_field + _interesting_words(6000, seed=3):
        assert (instruction_class(word) == "reserved") == _panics_reserved(word), hex(word)


# ---------------------------------------------------------------- GNU objdump


OBJDUMP = shutil.which("mips-linux-gnu-objdump")
LINE = re.compile(r"^\s*([0-9a-f]+):\s+([0-9a-f]{8})\s+(\S+)\s*(.*)$")
# objdump spellings that keep an alias even under no-aliases, or put a zero register first.
RENAME = {"negu": "subu", "ror": "rotr", "rorv": "rotrv"}


def _normalise_objdump(name: str, operands: str) -> tuple[str, list[str]]:
    # A branch target is bare hex followed by its symbol: "400278 <_init+0x30>".
    operands = re.sub(r"([0-9a-f]+)\s*<[^>]*>", r"0x\1", operands)
    ops = [o for o in operands.split(",") if o]
    if name in ("negu",):
        ops.insert(1, "zero")
    if name in ("div", "divu") and ops[0] == "zero" and len(ops) == 3:
        ops = ops[1:]
    if name == "sll" and ops == ["zero", "zero", "0x0"]:
        return "nop", []
    ops = ["$31" if o == "c1_fcsr" else o.replace("s8", "fp") for o in ops]
    return RENAME.get(name, name), ops


def _number_or_text(token: str) -> object:
    """Numbers compare by value (objdump prints hex, flexEmu decimal); the rest by text."""
    match = re.fullmatch(r"(-?(?:0x[0-9a-f]+|[0-9]+))(\(.*\))?", token.strip())
    if not match:
        return token.strip()
    return (int(match.group(1), 0 if "0x" in match.group(1) else 10), match.group(2))


def _objdump(name: str) -> list[tuple[int, int, str, list[str]]]:
    out = subprocess.run(
        [OBJDUMP, "-d", "-M", "no-aliases", str(PROGRAMS / name)],
        check=True, capture_output=True, text=True,
    ).stdout
    rows = []
    for line in out.splitlines():
        match = LINE.match(line)
        if match:
            pc, word, name_, operands = match.groups()
            ops = operands.split("\t")[0] if operands else ""
            mnem, normal = _normalise_objdump(name_, ops)
            rows.append((int(pc, 16), int(word, 16), mnem, normal))
    return rows


@pytest.mark.skipif(OBJDUMP is None, reason="mips-linux-gnu-objdump is not installed")
@pytest.mark.parametrize("program", EVERY_STEP)
def test_agrees_with_objdump_on_shipped_elfs(program: str) -> None:
    rows = _objdump(program)
    assert len(rows) > 10
    reserved_names, supported_names = set(), set()
    for pc, word, their_name, their_ops in rows:
        if instruction_class(word) == "reserved":
            reserved_names.add(their_name)
            continue
        supported_names.add(their_name)
        ours = disassemble(word, pc).split(" ", 1)
        our_ops = ours[1].split(", ") if len(ours) > 1 else []
        assert ours[0] == their_name, (hex(pc), hex(word), ours, their_name)
        assert [_number_or_text(o) for o in our_ops] == [
            _number_or_text(o) for o in their_ops
        ], (hex(pc), hex(word), our_ops, their_ops)
    # objdump knows more than spec 6.3 (FPU arithmetic, BC1T, MTHC1): what we call reserved
    # has names of its own, never the name of an instruction we decode.
    assert not reserved_names & supported_names
    assert len(supported_names) >= 5


UNISTD = Path("/usr/mips-linux-gnu/include/asm/unistd_o32.h")


@pytest.mark.skipif(not UNISTD.is_file(), reason="the MIPS cross kernel headers are not installed")
def test_syscall_names_match_the_kernel_headers() -> None:
    numbers = {
        name: 4000 + int(offset)
        for name, offset in re.findall(r"#define __NR_(\w+)\s+\(__NR_Linux \+ (\d+)\)",
                                       UNISTD.read_text())
    }
    for number, name in SYSCALL_NAMES.items():
        assert numbers[name] == number, name
