"""What the fast engine needs to know about a MIPS32 word before unicorn may run it.

Why: unicorn (QEMU) and the reference disagree on some encodings (it runs COP0,
RDHWR of other registers, JALX, PMON and DSP forms the reference rejects; it
folds constant branches into NOPs or skips their slots) and on some control
flow (MIPS16 through an odd target, a fault or a `syscall` in a delay slot,
a branch whose slot lies on another page). The engine scans every page before
unicorn executes from it and flags each word unicorn must not run; the native
step counter stops before a flagged word and the reference steps it.

Whether the reference supports a word is asked of the reference itself: its
opcode table, and for the handlers that decode sub-fields one probe step over
zero registers and zero memory (cached per word). So the scan cannot drift
from the specification. Only register-dependent rejections
(a JR/JALR to an odd address) remain, and those are checked by the native
hook on the target register (flag JUMP + r).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from functools import lru_cache

from flexemu.isa.mips import step as spec
from flexemu.isa.mips.state import Panic, State, Status
from flexemu.isa.mips.step import OPCODES, step
from flexemu.merkle import PAGE_BYTES

WORDS_PER_PAGE = PAGE_BYTES // 4
# Guard flags, one byte per word, as the native hook reads them (step_counter.c).
STOP = 0  # the native hook stops before it and the reference steps it
RUN = 1  # unicorn may run the word
JUMP = 2  # JUMP + r: a JR/JALR through register r, checked by the hook at run time
# Unicorn may run it under the per-instruction hook, never inside a block admitted whole
# (`block_unsafe`): the block hook refuses the block and the reference steps the word.
BLOCK_STOP = JUMP + 32
USER_TOP = 0x8000_0000  # kseg0/1/2 code is never run by unicorn (aliases, TLB)

_SPECIAL, _REGIMM = 0x00, 0x01
_JR, _JALR, _SYSCALL, _BREAK = 0x08, 0x09, 0x0C, 0x0D
_TRAPS = frozenset((0x30, 0x31, 0x32, 0x33, 0x34, 0x36))
_REGIMM_BRANCHES = frozenset((0x00, 0x01, 0x02, 0x03, 0x10, 0x11, 0x12, 0x13))
_REGIMM_TRAPS = frozenset((0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0E))
_REGIMM_LINKS = frozenset((0x10, 0x11, 0x12, 0x13))
_COMPARE_BRANCHES = frozenset((0x04, 0x05, 0x06, 0x07, 0x14, 0x15, 0x16, 0x17))


def is_delay_branch(word: int) -> bool:
    """True if `word` is a branch or jump with a delay slot (as QEMU decodes it)."""
    op = word >> 26
    if op in (0x02, 0x03) or op in _COMPARE_BRANCHES:  # J JAL BEQ BNE BLEZ BGTZ (+ likely)
        return True
    if op == _SPECIAL:  # JR, JALR (and .HB forms)
        return word & 0x3F in (_JR, _JALR)
    if op == _REGIMM:  # BLTZ BGEZ BLTZL BGEZL BLTZAL BGEZAL BLTZALL BGEZALL
        return (word >> 16) & 0x1F in _REGIMM_BRANCHES
    if op in (0x11, 0x12):  # COP1/COP2 BC1x/BC2x
        return (word >> 21) & 0x1F == 8
    return False


_PROBE_PC = 0x0040_0000
# Handlers of the reference that decode no sub-field and so never raise a reserved
# panic: their opcodes need no probe (tests/test_hostile.py checks the claim).
NEVER_RESERVED = frozenset(
    (spec._immediate, spec._load, spec._store, spec._branch_compare, spec._jump,
     spec._load_linked, spec._store_conditional, spec._nop)
)


class _ProbeIO:
    """Memory holding one word at the probe pc and zeros elsewhere; writes are dropped."""

    def __init__(self, word: int) -> None:
        self.word = word

    def read_leaf(self, index: int) -> bytes:
        if index != _PROBE_PC >> 5:
            return bytes(32)
        offset = _PROBE_PC & 31
        return bytes(offset) + self.word.to_bytes(4, "big") + bytes(28 - offset)

    def write_leaf(self, index: int, data: bytes) -> None:
        pass

    def input_leaf(self, index: int) -> bytes:
        return bytes(32)

    def emit(self, fd: int, data: bytes) -> None:
        pass


@lru_cache(maxsize=1 << 16)
def reference_supports(word: int) -> bool:
    """False if the reference rejects `word` as a reserved instruction whatever the registers."""
    handler = OPCODES.get(word >> 26)
    if handler is None:
        return False
    return handler in NEVER_RESERVED or probe_supports(word)


def probe_supports(word: int) -> bool:
    """One reference step of `word` over zero registers and memory: not a reserved panic?"""
    if word >> 26 == _SPECIAL and word & 0x3F == _SYSCALL:
        return True  # its effect depends on the registers, never a reserved panic
    state = State(pc=_PROBE_PC, next_pc=_PROBE_PC + 4)
    step(state, _ProbeIO(word))
    return not (state.status == Status.PANICKED and state.exit_code == Panic.RESERVED_INSTRUCTION)


def _rs(word: int) -> int:
    return (word >> 21) & 31


def _rt(word: int) -> int:
    return (word >> 16) & 31


def _folded_by_qemu(word: int) -> bool:
    """A branch whose condition is constant and never true: QEMU translates it as a NOP
    or skips its delay slot without counting it; the reference runs the slot as a step."""
    op, rs, rt = word >> 26, _rs(word), _rt(word)
    if op in (0x05, 0x15):  # BNE, BNEL rs, rs
        return rs == rt
    if op in (0x07, 0x17):  # BGTZ, BGTZL $0
        return rs == 0
    if op == _REGIMM:  # BLTZ, BLTZL, BLTZAL, BLTZALL $0
        return rs == 0 and rt in (0x00, 0x02, 0x10, 0x12)
    return False


def _links_its_condition(word: int) -> bool:
    """UNPREDICTABLE forms whose condition or target register is the link register."""
    op = word >> 26
    if op == _REGIMM:
        return _rt(word) in _REGIMM_LINKS and _rs(word) == 31
    if op == _SPECIAL and word & 0x3F == _JALR:
        rd = (word >> 11) & 31
        return rd != 0 and rd == _rs(word)
    return False


def _static_target(word: int, address: int) -> int | None:
    """The target of a PC-relative branch or a J/JAL, None for JR/JALR."""
    op = word >> 26
    if op in (0x02, 0x03):
        return ((address + 4) & 0xF000_0000) | ((word & 0x03FF_FFFF) << 2)
    if op == _SPECIAL:
        return None
    offset = word & 0xFFFF
    offset -= (offset & 0x8000) << 1
    return (address + 4 + (offset << 2)) & 0xFFFF_FFFF


def runnable_address(address: int) -> bool:
    """Can unicorn execute at `address` at all: user segment, aligned, not page 0?

    Page 0 is excluded because address 0 is unicorn's `until` (it stops there
    on its own); kseg0/1 code runs through aliases unicorn maps differently.
    """
    return address & 3 == 0 and PAGE_BYTES <= address < USER_TOP


def _slot_safe(word: int) -> bool:
    """May `word` (supported, not a branch) sit in the delay slot of a branch unicorn runs?

    Anything that stops or diverts the run (a branch, a syscall, a trap, a
    break, a word unicorn and the reference treat differently) may not: a stop
    inside a slot would leave unicorn's hidden branch state behind.
    """
    op, funct = word >> 26, word & 0x3F
    if op == _SPECIAL and (funct in (_SYSCALL, _BREAK) or funct in _TRAPS):
        return False
    return not (op == _REGIMM and _rt(word) in _REGIMM_TRAPS)


# What a word is, independent of where it lies (`_traits`, cached per word).
_SUPPORTED = 1  # the reference does not reject it as reserved
_BRANCH = 2  # a branch or jump with a delay slot
_SLOT_SAFE = 4  # may sit in the delay slot of a branch unicorn runs
_NEVER_IN_UNICORN = 8  # a branch QEMU folds or whose link register is its condition


@lru_cache(maxsize=1 << 17)
def _traits(word: int) -> int:
    if not reference_supports(word):
        return 0
    if not is_delay_branch(word):
        return _SUPPORTED | (_SLOT_SAFE if _slot_safe(word) else 0)
    if _folded_by_qemu(word) or _links_its_condition(word):
        return _SUPPORTED | _BRANCH | _NEVER_IN_UNICORN
    return _SUPPORTED | _BRANCH


# Opcodes whose words unicorn cannot run inside a block admitted whole (see `block_unsafe`).
_SWL, _SWR = 0x2A, 0x2E
_COPROCESSOR_OPS = frozenset((0x11, 0x12, 0x13, 0x31, 0x32, 0x35, 0x36, 0x39, 0x3A, 0x3D, 0x3E))


def block_unsafe(word: int) -> bool:
    """May a fault of `word` leave block mode without an exact position? (docs/spec.md 11)

    In block mode nothing stops unicorn between instructions, so a word whose fault
    unicorn reports late (SWL/SWR: one instruction after a failed byte) or whose
    exception the reference does not turn into a panic (the coprocessor words: no FPU
    in unicorn's CPU, data moves in the reference) is left to the reference.
    """
    op = word >> 26
    return op in (_SWL, _SWR) or op in _COPROCESSOR_OPS


#: The most words a translation block may hold for unicorn to translate it in block mode.
#: Unicorn 2.1.4 crashes translating a block of ~400 instructions under a UC_HOOK_BLOCK
#: hook, and skips the hook of a block it cut for a full op buffer; both need far longer
#: blocks. The block hook lets unicorn go on only to blocks within this bound.
MAX_BLOCK_RUN = 48
#: In a word's run byte: the word is an unconditional jump (its block has no fall-through).
NO_FALL_THROUGH = 0x80
_RUN_CAP = 0x7F


@lru_cache(maxsize=4096)
def page_runs(data: bytes) -> bytes:
    """Per word of a page: how many words a translation block starting there holds (capped at
    127; 0 if that block would reach into the next page: a branch in the last word), plus
    NO_FALL_THROUGH on J/JAL/JR/JALR. A block ends after a branch's delay slot, after a
    syscall, or at the page's end (QEMU's MIPS translator)."""
    words = _PAGE_WORDS.unpack(data)
    runs = bytearray(WORDS_PER_PAGE)
    following = 0  # the run of the next word; 0 = crosses into the next page
    last = WORDS_PER_PAGE - 1
    for index in range(last, -1, -1):
        word = words[index]
        op = word >> 26
        if is_delay_branch(word):
            run = 2 if index < last else 0
        elif (op == _SPECIAL and word & 0x3F == _SYSCALL) or index == last:
            run = 1
        else:
            run = min(following + 1, _RUN_CAP) if following else 0
        following = run
        unconditional = op in (0x02, 0x03) or (op == _SPECIAL and word & 0x3F in (_JR, _JALR))
        runs[index] = run | (NO_FALL_THROUGH if unconditional and is_delay_branch(word) else 0)
    return bytes(runs)


@lru_cache(maxsize=4096)
def page_targets(base: int, data: bytes) -> bytes:
    """Per word of the page at `base`: the static target of a branch or J/JAL (big-endian
    32-bit), 0 for any other word and for JR/JALR."""
    words = _PAGE_WORDS.unpack(data)
    targets = [
        (_static_target(word, base + 4 * index) or 0) if is_delay_branch(word) else 0
        for index, word in enumerate(words)
    ]
    return _PAGE_WORDS.pack(*targets)


_LOADS = frozenset((0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x30))  # LB LH LWL LW LBU LHU LWR LL
_STORES = frozenset((0x28, 0x29, 0x2A, 0x2B, 0x2E, 0x38))  # SB SH SWL SW SWR SC


def accesses(word: int, store: bool, address: int, register: Callable[[int], int]) -> bool:
    """Could `word` (a load, or a store if `store`) access the word at `address`, with the
    registers `register` reads? (Block mode finds a faulting instruction by its access.)"""
    op = word >> 26
    if op not in (_STORES if store else _LOADS):
        return False
    offset = word & 0xFFFF
    offset -= (offset & 0x8000) << 1
    effective = (register(_rs(word)) + offset) & 0xFFFF_FFFF
    return effective & ~3 == address & 0xFFFF_FFFC


def word_flag(word: int, address: int, slot: int | None) -> int:
    """The guard flag of `word` at `address` whose next word is `slot` (None: another page)."""
    traits = _traits(word)
    if not traits & _SUPPORTED:
        return STOP
    if not traits & _BRANCH:
        return RUN
    if slot is None or traits & _NEVER_IN_UNICORN or not _traits(slot) & _SLOT_SAFE:
        return STOP
    target = _static_target(word, address)
    if target is None:  # JR/JALR: the native hook checks the register at run time
        return JUMP + _rs(word) if _rs(word) else STOP
    return RUN if runnable_address(target) else STOP


_PAGE_WORDS = struct.Struct(f">{WORDS_PER_PAGE}I")


@lru_cache(maxsize=4096)
def page_flags(base: int, data: bytes) -> bytes:
    """Guard flags of the 1024 words of the page at `base` holding `data` (cached by content)."""
    words = _PAGE_WORDS.unpack(data)
    flags = bytearray(WORDS_PER_PAGE)
    last = WORDS_PER_PAGE - 1
    for index, word in enumerate(words):
        traits = _traits(word)
        if traits & _BRANCH:
            slot = words[index + 1] if index < last else None
            flags[index] = word_flag(word, base + 4 * index, slot)
        elif traits:
            flags[index] = BLOCK_STOP if block_unsafe(word) else RUN
    return bytes(flags)
