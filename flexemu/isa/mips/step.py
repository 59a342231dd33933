"""The MIPS32 step: the executable specification of one state transition.

`step(state, io)` executes exactly one instruction (a branch delay slot is a
step of its own, reached through `next_pc`) or, for an exited or panicked
state, nothing at all: terminal states are fixed points. It reads and writes
memory only through `io`, so the same code checks a proof (see `ProofIO`).

Conventions, mirrored by the Solidity verifier function by function:
- Every instruction computes its results first and commits them last, so a
  panic leaves the state as it was except for status, exit_code and step.
- The encodings accepted are a superset of what unicorn executes with the
  same results: where unicorn raises an exception, the fast engine defers to
  this function, so leniency here is safe and strictness would not be.
"""

from __future__ import annotations

from collections.abc import Callable

from flexemu.isa.mips.address import StepPanic, aligned, translate
from flexemu.isa.mips.bits import MASK32, join64, s32, sext8, sext16, split64, u32
from flexemu.isa.mips.state import Panic, State
from flexemu.isa.mips.syscalls import syscall
from flexemu.isa.mips.words import read_word, write_word
from flexemu.leafio import LeafIO
from flexemu.stepping import take_step

RA = 31

# What a handler returns to say how control flows after it.
FALL_THROUGH = None
NULLIFY = -1  # a branch-likely not taken: its delay slot becomes a step that does nothing
NULLIFIED = 1  # bit 0 of pc: the delay slot at pc & ~3 is nullified


def step(state: State, io: LeafIO) -> None:
    """Advance `state` by one step. `mem_root` is left to the caller (see module doc)."""
    take_step(state, io, _execute)


def _execute(state: State, io: LeafIO) -> None:
    pc = state.pc
    if pc & NULLIFIED:
        state.pc, state.next_pc = state.next_pc, u32(state.next_pc + 4)
        return
    word = read_word(io, aligned(pc, 4))
    handler = OPCODES.get(word >> 26, _reserved)
    target = handler(state, io, word)
    if target is FALL_THROUGH:
        state.pc, state.next_pc = state.next_pc, u32(state.next_pc + 4)
    elif target == NULLIFY:
        state.pc, state.next_pc = u32(pc + 4) | NULLIFIED, u32(pc + 8)
    else:
        state.pc, state.next_pc = state.next_pc, target


# ---------------------------------------------------------------- helpers


def _rs(word: int) -> int:
    return (word >> 21) & 31


def _rt(word: int) -> int:
    return (word >> 16) & 31


def _rd(word: int) -> int:
    return (word >> 11) & 31


def _sa(word: int) -> int:
    return (word >> 6) & 31


def _set(state: State, reg: int, value: int) -> None:
    if reg:
        state.regs[reg] = value


def _reserved(state: State, io: LeafIO, word: int) -> int | None:
    raise StepPanic(Panic.RESERVED_INSTRUCTION)


def _nop(state: State, io: LeafIO, word: int) -> int | None:
    return FALL_THROUGH


def _rotr(value: int, amount: int) -> int:
    amount &= 31
    return u32((value >> amount) | (value << (32 - amount))) if amount else value


def _branch_check(state: State) -> None:
    """A branch in the delay slot of a taken branch or jump is not executed."""
    if state.next_pc != u32(state.pc + 4):
        raise StepPanic(Panic.BRANCH_IN_DELAY_SLOT)


def _branch_target(state: State, word: int) -> int:
    return u32(state.pc + 4 + (sext16(word) << 2))


def _conditional(state: State, word: int, taken: bool, likely: bool, link: bool) -> int | None:
    _branch_check(state)
    if link:
        state.regs[RA] = u32(state.pc + 8)
    if taken:
        return _branch_target(state, word)
    return NULLIFY if likely else FALL_THROUGH


# ---------------------------------------------------------------- SPECIAL (opcode 0)


def _checked(result: int) -> int:
    """ADD, ADDI, SUB: a signed result outside 32 bits is an overflow exception."""
    if not -(1 << 31) <= result < (1 << 31):
        raise StepPanic(Panic.INTEGER_OVERFLOW)
    return u32(result)


def _divide(state: State, x: int, y: int, signed: bool) -> None:
    """DIV/DIVU as unicorn's QEMU core computes them, including the undefined cases.

    A zero divisor, or INT_MIN / -1 for DIV, is replaced by 1: LO = dividend, HI = 0.
    """
    if signed:
        a, b = s32(x), s32(y)
        if b == 0 or (a == -(1 << 31) and b == -1):
            b = 1
        quotient = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
        state.lo, state.hi = u32(quotient), u32(a - quotient * b)
    else:
        b = y or 1
        state.lo, state.hi = x // b, x % b


def _trap_condition(funct: int, x: int, y: int) -> bool:
    return {
        0x30: s32(x) >= s32(y),  # TGE
        0x31: x >= y,  # TGEU
        0x32: s32(x) < s32(y),  # TLT
        0x33: x < y,  # TLTU
        0x34: x == y,  # TEQ
        0x36: x != y,  # TNE
    }[funct]


def _special(state: State, io: LeafIO, word: int) -> int | None:
    funct = word & 63
    rs, rt, rd, sa = _rs(word), _rt(word), _rd(word), _sa(word)
    regs = state.regs
    x, y = regs[rs], regs[rt]
    if funct == 0x00:  # SLL (also NOP, SSNOP, EHB)
        _set(state, rd, u32(y << sa))
    elif funct == 0x02:  # SRL, or ROTR when bit 21 is set
        _set(state, rd, _rotr(y, sa) if rs & 1 else y >> sa)
    elif funct == 0x03:  # SRA
        _set(state, rd, u32(s32(y) >> sa))
    elif funct == 0x04:  # SLLV
        _set(state, rd, u32(y << (x & 31)))
    elif funct == 0x06:  # SRLV, or ROTRV when bit 6 is set
        _set(state, rd, _rotr(y, x) if sa & 1 else y >> (x & 31))
    elif funct == 0x07:  # SRAV
        _set(state, rd, u32(s32(y) >> (x & 31)))
    elif funct in (0x08, 0x09):  # JR, JALR
        _branch_check(state)
        if x & 1:  # an odd target would enter MIPS16 mode, which flexEmu does not run
            raise StepPanic(Panic.RESERVED_INSTRUCTION)
        if funct == 0x09:
            _set(state, rd, u32(state.pc + 8))
        return x
    elif funct == 0x0A:  # MOVZ
        if y == 0:
            _set(state, rd, x)
    elif funct == 0x0B:  # MOVN
        if y != 0:
            _set(state, rd, x)
    elif funct == 0x0C:  # SYSCALL
        syscall(state, io)
    elif funct == 0x0D:  # BREAK
        raise StepPanic(Panic.BREAK)
    elif funct == 0x0F:  # SYNC
        pass
    elif funct == 0x10:  # MFHI
        _set(state, rd, state.hi)
    elif funct == 0x11:  # MTHI
        state.hi = x
    elif funct == 0x12:  # MFLO
        _set(state, rd, state.lo)
    elif funct == 0x13:  # MTLO
        state.lo = x
    elif funct == 0x18:  # MULT
        state.hi, state.lo = split64(s32(x) * s32(y))
    elif funct == 0x19:  # MULTU
        state.hi, state.lo = split64(x * y)
    elif funct in (0x1A, 0x1B):  # DIV, DIVU
        _divide(state, x, y, signed=funct == 0x1A)
    elif funct == 0x20:  # ADD
        _set(state, rd, _checked(s32(x) + s32(y)))
    elif funct == 0x21:  # ADDU
        _set(state, rd, u32(x + y))
    elif funct == 0x22:  # SUB
        _set(state, rd, _checked(s32(x) - s32(y)))
    elif funct == 0x23:  # SUBU
        _set(state, rd, u32(x - y))
    elif funct == 0x24:  # AND
        _set(state, rd, x & y)
    elif funct == 0x25:  # OR
        _set(state, rd, x | y)
    elif funct == 0x26:  # XOR
        _set(state, rd, x ^ y)
    elif funct == 0x27:  # NOR
        _set(state, rd, ~(x | y) & MASK32)
    elif funct == 0x2A:  # SLT
        _set(state, rd, int(s32(x) < s32(y)))
    elif funct == 0x2B:  # SLTU
        _set(state, rd, int(x < y))
    elif funct in (0x30, 0x31, 0x32, 0x33, 0x34, 0x36):  # TGE ... TNE
        if _trap_condition(funct, x, y):
            raise StepPanic(Panic.TRAP)
    else:
        raise StepPanic(Panic.RESERVED_INSTRUCTION)
    return FALL_THROUGH


# ---------------------------------------------------------------- REGIMM (opcode 1)


def _regimm(state: State, io: LeafIO, word: int) -> int | None:
    rt = _rt(word)
    x = s32(state.regs[_rs(word)])
    imm = sext16(word)
    if rt in (0x00, 0x01, 0x02, 0x03, 0x10, 0x11, 0x12, 0x13):
        # BLTZ BGEZ BLTZL BGEZL BLTZAL BGEZAL BLTZALL BGEZALL
        taken = x >= 0 if rt & 1 else x < 0
        return _conditional(state, word, taken, likely=bool(rt & 2), link=bool(rt & 0x10))
    if rt in (0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0E):  # TGEI TGEIU TLTI TLTIU TEQI TNEI
        ux = u32(x)
        condition = {
            0x08: x >= s32(imm),
            0x09: ux >= imm,
            0x0A: x < s32(imm),
            0x0B: ux < imm,
            0x0C: ux == imm,
            0x0E: ux != imm,
        }[rt]
        if condition:
            raise StepPanic(Panic.TRAP)
        return FALL_THROUGH
    if rt == 0x1F:  # SYNCI: there is no instruction cache to synchronise
        return FALL_THROUGH
    raise StepPanic(Panic.RESERVED_INSTRUCTION)


# ---------------------------------------------------------------- jumps and branches


def _jump(state: State, io: LeafIO, word: int) -> int | None:  # J, JAL
    _branch_check(state)
    if word >> 26 == 0x03:
        state.regs[RA] = u32(state.pc + 8)
    return (u32(state.pc + 4) & 0xF0000000) | ((word & 0x03FFFFFF) << 2)


def _branch_compare(state: State, io: LeafIO, word: int) -> int | None:
    """BEQ BNE BLEZ BGTZ and their -likely forms (opcodes 4-7, 20-23)."""
    op = word >> 26
    x, y = state.regs[_rs(word)], state.regs[_rt(word)]
    kind = op & 3
    if kind == 0:
        taken = x == y
    elif kind == 1:
        taken = x != y
    elif kind == 2:
        taken = s32(x) <= 0
    else:
        taken = s32(x) > 0
    return _conditional(state, word, taken, likely=op >= 0x14, link=False)


# ---------------------------------------------------------------- immediate arithmetic


def _immediate(state: State, io: LeafIO, word: int) -> int | None:
    """ADDI ADDIU SLTI SLTIU ANDI ORI XORI LUI (opcodes 8-15)."""
    op = word >> 26
    x = state.regs[_rs(word)]
    imm = word & 0xFFFF
    if op == 0x08:
        value = _checked(s32(x) + s32(sext16(imm)))
    elif op == 0x09:
        value = u32(x + sext16(imm))
    elif op == 0x0A:
        value = int(s32(x) < s32(sext16(imm)))
    elif op == 0x0B:
        value = int(x < sext16(imm))
    elif op == 0x0C:
        value = x & imm
    elif op == 0x0D:
        value = x | imm
    elif op == 0x0E:
        value = x ^ imm
    else:
        value = imm << 16
    _set(state, _rt(word), value)
    return FALL_THROUGH


# ---------------------------------------------------------------- SPECIAL2 (opcode 28)


def _count_leading(value: int, bit: int) -> int:
    count = 0
    for shift in range(31, -1, -1):
        if (value >> shift) & 1 != bit:
            break
        count += 1
    return count


def _special2(state: State, io: LeafIO, word: int) -> int | None:
    funct = word & 63
    x, y = state.regs[_rs(word)], state.regs[_rt(word)]
    acc = join64(state.hi, state.lo)
    if funct == 0x00:  # MADD
        state.hi, state.lo = split64(acc + s32(x) * s32(y))
    elif funct == 0x01:  # MADDU
        state.hi, state.lo = split64(acc + x * y)
    elif funct == 0x02:  # MUL: HI and LO are left alone
        _set(state, _rd(word), u32(s32(x) * s32(y)))
    elif funct == 0x04:  # MSUB
        state.hi, state.lo = split64(acc - s32(x) * s32(y))
    elif funct == 0x05:  # MSUBU
        state.hi, state.lo = split64(acc - x * y)
    elif funct == 0x20:  # CLZ
        _set(state, _rd(word), _count_leading(x, 0))
    elif funct == 0x21:  # CLO
        _set(state, _rd(word), _count_leading(x, 1))
    else:
        raise StepPanic(Panic.RESERVED_INSTRUCTION)
    return FALL_THROUGH


# ---------------------------------------------------------------- SPECIAL3 (opcode 31)


def _special3(state: State, io: LeafIO, word: int) -> int | None:
    funct = word & 63
    rs, rt, rd, sa = _rs(word), _rt(word), _rd(word), _sa(word)
    x, y = state.regs[rs], state.regs[rt]
    if funct == 0x00:  # EXT: rd holds msbd, sa holds lsb
        if sa + rd > 31:
            raise StepPanic(Panic.RESERVED_INSTRUCTION)
        _set(state, rt, (x >> sa) & ((1 << (rd + 1)) - 1))
    elif funct == 0x04:  # INS: rd holds msb, sa holds lsb
        if rd < sa:
            raise StepPanic(Panic.RESERVED_INSTRUCTION)
        mask = ((1 << (rd - sa + 1)) - 1) << sa
        _set(state, rt, (y & ~mask & MASK32) | ((x << sa) & mask))
    elif funct == 0x20:  # BSHFL
        if sa == 0x02:  # WSBH
            value = ((y & 0x00FF00FF) << 8) | ((y >> 8) & 0x00FF00FF)
        elif sa == 0x10:  # SEB
            value = sext8(y)
        elif sa == 0x18:  # SEH
            value = sext16(y)
        else:
            raise StepPanic(Panic.RESERVED_INSTRUCTION)
        _set(state, rd, value)
    elif funct == 0x3B:  # RDHWR: only the thread pointer (UserLocal, $29) exists
        if rd != 29:
            raise StepPanic(Panic.RESERVED_INSTRUCTION)
        _set(state, rt, state.tls)
    else:
        raise StepPanic(Panic.RESERVED_INSTRUCTION)
    return FALL_THROUGH


# ---------------------------------------------------------------- loads and stores


def _address(state: State, word: int) -> int:
    return u32(state.regs[_rs(word)] + sext16(word))


def _load(state: State, io: LeafIO, word: int) -> int | None:
    """LB LH LWL LW LBU LHU LWR (opcodes 32-38)."""
    op = word >> 26
    vaddr = _address(state, word)
    rt = _rt(word)
    if op in (0x21, 0x25):  # LH, LHU
        paddr = aligned(vaddr, 2)
        half = (read_word(io, paddr & ~3) >> (16 - 8 * (paddr & 2))) & 0xFFFF
        value = sext16(half) if op == 0x21 else half
    elif op == 0x23:  # LW
        value = read_word(io, aligned(vaddr, 4))
    elif op in (0x20, 0x24):  # LB, LBU
        paddr = translate(vaddr)
        byte = (read_word(io, paddr & ~3) >> (24 - 8 * (paddr & 3))) & 0xFF
        value = sext8(byte) if op == 0x20 else byte
    else:  # LWL, LWR: the unaligned halves, big-endian
        paddr = translate(vaddr)
        memory = read_word(io, paddr & ~3)
        old = state.regs[rt]
        shift = 8 * (paddr & 3)
        if op == 0x22:
            value = u32(memory << shift) | (old & ((1 << shift) - 1))
        else:
            shift = 24 - shift
            value = (memory >> shift) | (old & ~(MASK32 >> shift) & MASK32)
    _set(state, rt, value)
    return FALL_THROUGH


def _store(state: State, io: LeafIO, word: int) -> int | None:
    """SB SH SWL SW SWR (opcodes 40-43, 46)."""
    op = word >> 26
    vaddr = _address(state, word)
    value = state.regs[_rt(word)]
    if op == 0x2B:  # SW
        write_word(io, aligned(vaddr, 4), value)
        return FALL_THROUGH
    paddr = aligned(vaddr, 2) if op == 0x29 else translate(vaddr)
    base = paddr & ~3
    memory = read_word(io, base)
    shift = 8 * (paddr & 3)
    if op == 0x28:  # SB
        mask = 0xFF000000 >> shift
        merged = (memory & ~mask) | ((value & 0xFF) << (24 - shift))
    elif op == 0x29:  # SH
        mask = 0xFFFF0000 >> shift
        merged = (memory & ~mask) | ((value & 0xFFFF) << (16 - shift))
    elif op == 0x2A:  # SWL
        mask = MASK32 >> shift
        merged = (memory & ~mask) | (value >> shift)
    else:  # SWR
        mask = u32(MASK32 << (24 - shift))
        merged = (memory & ~mask) | u32(value << (24 - shift))
    write_word(io, base, merged & MASK32)
    return FALL_THROUGH


def _load_linked(state: State, io: LeafIO, word: int) -> int | None:
    """LL: load and remember (address, value) as the reservation."""
    vaddr = _address(state, word)
    value = read_word(io, aligned(vaddr, 4))
    state.ll_addr, state.ll_value = vaddr, value
    _set(state, _rt(word), value)
    return FALL_THROUGH


def _store_conditional(state: State, io: LeafIO, word: int) -> int | None:
    """SC: store only if the reservation's address matches and memory still holds its value.

    This is the rule of unicorn's QEMU core (a compare-and-swap against the
    value LL read), not the hardware's "no intervening store" rule, and like
    that core SC leaves the reservation in place. As there, an address that is
    not the reservation's fails without touching memory, so it is neither
    translated nor checked for alignment (docs/spec.md 6.6).
    """
    vaddr = _address(state, word)
    rt = _rt(word)
    success = False
    if vaddr == state.ll_addr:
        paddr = aligned(vaddr, 4)
        success = read_word(io, paddr) == state.ll_value
        if success:
            write_word(io, paddr, state.regs[rt])
    _set(state, rt, int(success))
    return FALL_THROUGH


# ---------------------------------------------------------------- FPU data movement
#
# Static glibc saves and restores the callee-saved FPU registers in setjmp and
# longjmp, so the register file (32 x 32-bit, FR=0: a double lives in an even/odd
# pair, the odd register holding the high word) and FCSR are part of the state.
# Moving data is supported; FPU arithmetic is a reserved-instruction panic.


def _cop1(state: State, io: LeafIO, word: int) -> int | None:
    fmt, rt, fs = _rs(word), _rt(word), _rd(word)
    if fmt == 0x00:  # MFC1
        _set(state, rt, state.fpr[fs])
    elif fmt == 0x04:  # MTC1
        state.fpr[fs] = state.regs[rt]
    elif fmt == 0x02 and fs == 31:  # CFC1 from FCSR
        _set(state, rt, state.fcsr)
    elif fmt == 0x06 and fs == 31:  # CTC1 to FCSR
        state.fcsr = state.regs[rt]
    else:
        raise StepPanic(Panic.RESERVED_INSTRUCTION)
    return FALL_THROUGH


def _fpu_memory(state: State, io: LeafIO, word: int) -> int | None:
    """LWC1 LDC1 SWC1 SDC1 (opcodes 49, 53, 57, 61)."""
    op = word >> 26
    ft = _rt(word)
    vaddr = _address(state, word)
    double = op in (0x35, 0x3D)
    if double and ft & 1:
        raise StepPanic(Panic.RESERVED_INSTRUCTION)
    paddr = aligned(vaddr, 8 if double else 4)
    if op == 0x31:  # LWC1
        state.fpr[ft] = read_word(io, paddr)
    elif op == 0x35:  # LDC1: the high word is first in memory
        high, low = read_word(io, paddr), read_word(io, paddr + 4)
        state.fpr[ft + 1], state.fpr[ft] = high, low
    elif op == 0x39:  # SWC1
        write_word(io, paddr, state.fpr[ft])
    else:  # SDC1
        write_word(io, paddr, state.fpr[ft + 1])
        write_word(io, paddr + 4, state.fpr[ft])
    return FALL_THROUGH


Handler = Callable[[State, LeafIO, int], "int | None"]

OPCODES: dict[int, Handler] = {
    0x00: _special,
    0x01: _regimm,
    0x02: _jump,
    0x03: _jump,
    **{op: _branch_compare for op in (0x04, 0x05, 0x06, 0x07, 0x14, 0x15, 0x16, 0x17)},
    **{op: _immediate for op in range(0x08, 0x10)},
    0x11: _cop1,
    0x1C: _special2,
    0x1F: _special3,
    **{op: _load for op in range(0x20, 0x27)},
    **{op: _store for op in (0x28, 0x29, 0x2A, 0x2B, 0x2E)},
    0x2F: _nop,  # CACHE: no caches to manage
    0x30: _load_linked,
    0x33: _nop,  # PREF: a hint
    0x38: _store_conditional,
    **{op: _fpu_memory for op in (0x31, 0x35, 0x39, 0x3D)},
}
