"""Which RISC-V instructions unicorn may run on its own, checked per code page.

Unicorn runs some encodings differently from the reference (docs/spec.md section
R11): counter CSRs read the host clock, compressed FP loads and stores
are silent no-ops while mstatus.FS is off, fmv.w.x does not NaN-box, FP
arithmetic would run instead of panicking, the LR/SC reservation is hidden CPU
state whose success rule (address *and* unchanged value) differs from the
witness's, and some reserved encodings run. Every encoding is in one of three
classes:

- native: on the whitelist below; unicorn runs it exactly as the reference;
- traps: unicorn raises illegal instruction (or stops on ebreak) by itself, and
  the engine hands the instruction to the reference then;
- flagged: everything else; the engine stops unicorn *before* it (an exit).

The whitelist is deliberately narrow: a wrongly flagged instruction only costs
one reference step, a wrongly whitelisted one is a consensus bug. The classes
are checked against unicorn and the reference by tests/test_riscv_whitelist.py.

Instruction boundaries are not known when a page is scanned (compressed
instructions mix 2- and 4-byte lengths), so every 2-byte parcel is classified
as if an instruction started there. An address inside another instruction is
never reached as a pc, so flagging it is harmless; it only costs time, since
every unicorn run pays about 0.06 us per exit (hence the "traps" class).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

# 32-bit opcodes (bits 6..0) whose every listed form unicorn runs exactly as the reference.
LUI, AUIPC, JAL, JALR, BRANCH = 0x37, 0x17, 0x6F, 0x67, 0x63
LOAD, STORE, OP_IMM, OP, OP_IMM_32, OP_32 = 0x03, 0x23, 0x13, 0x33, 0x1B, 0x3B
MISC_MEM, SYSTEM, AMO, LOAD_FP, STORE_FP = 0x0F, 0x73, 0x2F, 0x07, 0x27

ECALL = 0x00000073
FENCE_I = 0x0000100F
# amoadd amoswap amoxor amoor amoand amomin amomax amominu amomaxu (not lr 2 / sc 3)
_AMO_FUNCT5 = frozenset({0x00, 0x01, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x1C})


def native_word(word: int, xlen: int) -> bool:
    """Whether unicorn runs the 32-bit instruction `word` exactly as the reference."""
    opcode, rd, funct3 = word & 0x7F, (word >> 7) & 0x1F, (word >> 12) & 7
    rs1, funct7 = (word >> 15) & 0x1F, word >> 25
    rv64 = xlen == 64
    if opcode in (LUI, AUIPC, JAL):
        return True
    if opcode == JALR:
        return funct3 == 0
    if opcode == BRANCH:
        return funct3 not in (2, 3)
    if opcode == LOAD:
        return funct3 in (0, 1, 2, 4, 5) or (rv64 and funct3 in (3, 6))
    if opcode == STORE:
        return funct3 in (0, 1, 2) or (rv64 and funct3 == 3)
    if opcode == OP_IMM:
        return funct3 not in (1, 5) or _shift_ok(word, funct3, xlen)
    if opcode == OP:
        return funct7 in (0, 1) or (funct7 == 0x20 and funct3 in (0, 5))
    if opcode == OP_IMM_32:
        return rv64 and (funct3 == 0 or _shift_ok(word, funct3, 32))
    if opcode == OP_32:
        return rv64 and (
            (funct7 == 0 and funct3 in (0, 1, 5))
            or (funct7 == 0x20 and funct3 in (0, 5))
            or (funct7 == 1 and funct3 in (0, 4, 5, 6, 7))
        )
    if opcode == MISC_MEM:  # fence with fm = 0 and rd = rs1 = 0, or the canonical fence.i
        return word == FENCE_I or (funct3 == 0 and rd == 0 and rs1 == 0 and word >> 28 == 0)
    if opcode == AMO:
        return (funct3 == 2 or (rv64 and funct3 == 3)) and (word >> 27) in _AMO_FUNCT5
    if opcode in (LOAD_FP, STORE_FP):  # flw (NaN-boxed by unicorn too), fld, fsw, fsd
        return funct3 in (2, 3)
    return word == ECALL  # SYSTEM: ecall arrives as interrupt 8; everything else is flagged


# Major opcodes on which unicorn (RV64GC / RV32GC) executes encodings outside the whitelist;
# on every other opcode a non-whitelisted word raises illegal instruction by itself.
_EXECUTES_OFF_WHITELIST = frozenset({AMO, MISC_MEM, SYSTEM, 0x43, 0x47, 0x4B, 0x4F, 0x53})
EBREAK = 0x00100073


def traps_word(word: int, xlen: int) -> bool:
    """Whether unicorn itself stops on the non-whitelisted 32-bit `word` (illegal
    instruction, or ebreak), so that it needs no exit."""
    return word == EBREAK or (word & 0x7F) not in _EXECUTES_OFF_WHITELIST


def _shift_ok(word: int, funct3: int, width: int) -> bool:
    """slli/srli/srai (or their W forms with width 32) with a shift amount below `width`."""
    high = word >> 26 if width == 64 else word >> 25  # the bits above the shift amount
    if funct3 == 1:
        return high == 0
    return high in ((0, 0x10) if width == 64 else (0, 0x20))


def native_parcel(parcel: int, xlen: int) -> bool:
    """Whether unicorn runs the compressed instruction `parcel` exactly as the reference.

    HINTs run as their expansions in both (docs/spec.md R6.3), so they are native.
    """
    quadrant, funct3 = parcel & 3, parcel >> 13
    bit12, rd, rs2 = (parcel >> 12) & 1, (parcel >> 7) & 0x1F, (parcel >> 2) & 0x1F
    imm6_zero = bit12 == 0 and rs2 == 0  # the 6-bit immediate of CI forms
    rv64 = xlen == 64
    if quadrant == 0:
        if funct3 == 0:  # c.addi4spn, nzuimm != 0
            return (parcel >> 5) & 0xFF != 0
        # c.fld c.lw c.ld/(c.flw) - c.fsd c.sw c.sd/c.fsw; funct3 4 is reserved
        return funct3 in (1, 2, 5, 6, 7) or (funct3 == 3 and rv64)
    if quadrant == 1:
        if funct3 in (0, 2, 5, 6, 7):  # c.addi/c.nop c.li c.j c.beqz c.bnez
            return True
        if funct3 == 1:  # c.addiw (rd != 0) on RV64, c.jal on RV32
            return rd != 0 or not rv64
        if funct3 == 3:  # c.addi16sp / c.lui with a nonzero immediate
            return not imm6_zero
        return _misc_alu_ok(parcel, xlen)
    if quadrant == 2:
        if funct3 == 0:  # c.slli, shamt < XLEN
            return rv64 or bit12 == 0
        if funct3 in (1, 5, 6, 7):  # c.fldsp c.fsdsp c.swsp c.sdsp/c.fswsp
            return True
        if funct3 == 2:  # c.lwsp
            return rd != 0
        if funct3 == 3:  # c.ldsp on RV64 (c.flwsp on RV32 is flagged)
            return rv64 and rd != 0
        # funct3 == 4: c.jr c.mv c.ebreak c.jalr c.add
        return rd != 0 or rs2 != 0  # not c.jr x0 (reserved), not c.ebreak
    return False


def traps_parcel(parcel: int, xlen: int) -> bool:
    """Whether unicorn itself stops on the compressed `parcel` (illegal instruction, or
    ebreak): reserved encodings that need no exit, since the trap hands them over."""
    quadrant, funct3 = parcel & 3, parcel >> 13
    bit12, rd, rs2 = (parcel >> 12) & 1, (parcel >> 7) & 0x1F, (parcel >> 2) & 0x1F
    imm6_zero = bit12 == 0 and rs2 == 0
    rv64 = xlen == 64
    if quadrant == 0:
        return funct3 == 0 and (parcel >> 5) & 0xFF == 0  # c.addi4spn 0 (the zero parcel)
    if quadrant == 1:
        return (funct3 == 1 and rv64 and rd == 0) or (funct3 == 3 and imm6_zero)
    if quadrant == 2:
        if funct3 == 2 or (funct3 == 3 and rv64):  # c.lwsp / c.ldsp to x0
            return rd == 0
        return funct3 == 4 and rs2 == 0 and rd == 0  # c.jr x0, c.ebreak
    return False


def _misc_alu_ok(parcel: int, xlen: int) -> bool:
    """c.srli c.srai (shamt < XLEN) c.andi c.sub c.xor c.or c.and c.subw c.addw."""
    bit12, kind = (parcel >> 12) & 1, (parcel >> 10) & 3
    if kind in (0, 1):
        return xlen == 64 or bit12 == 0
    if kind == 2:
        return True
    funct2 = (parcel >> 5) & 3
    return bit12 == 0 or (xlen == 64 and funct2 in (0, 1))


#: Code pages whose scan is remembered (a 4 KiB key each: at most ~2 MiB held).
SCANNED_PAGES = 512


def flagged(parcel: int, next_parcel: Callable[[], int], xlen: int) -> bool:
    """Whether unicorn must be stopped before the instruction starting with `parcel`: it is
    neither whitelisted nor one unicorn traps on. `next_parcel` is read only for a 32-bit
    instruction. 48-bit and longer encodings trap (unicorn reads them as reserved opcodes)."""
    if parcel & 3 != 3:
        return not (native_parcel(parcel, xlen) or traps_parcel(parcel, xlen))
    if parcel & 0x1C == 0x1C:
        return False
    word = parcel | next_parcel() << 16
    return not (native_word(word, xlen) or traps_word(word, xlen))


@lru_cache(maxsize=SCANNED_PAGES)
def flagged_offsets(code: bytes, following: bytes, xlen: int) -> tuple[int, ...]:
    """Offsets of every 2-byte parcel of `code` that starts a flagged instruction.

    `following` is the first parcel after `code` (for a 32-bit instruction in its last
    two bytes); pass two zero bytes if nothing follows.

    Memoized by content: a pure function of the bytes, and a page scan (~15 ms in Python)
    would otherwise be repeated by every engine a seek creates from a checkpoint (it was
    most of a RISC-V seek into glibc code, ~40% of one on loop.rv64).
    """
    data = code + following
    out = []
    for offset in range(0, len(code), 2):
        parcel = data[offset] | data[offset + 1] << 8
        if flagged(parcel, lambda o=offset: data[o + 2] | data[o + 3] << 8, xlen):
            out.append(offset)
    return tuple(out)
