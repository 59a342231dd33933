"""RISC-V user mode (RV64 and RV32, little-endian, asm-generic Linux) described for the
shared code: one `Isa` per XLEN over the one package (docs/spec.md, the RISC-V sections).
"""

from __future__ import annotations

from flexemu.isa.description import Isa, SyscallAbi
from flexemu.isa.riscv import state as layout
from flexemu.isa.riscv import syscalls
from flexemu.isa.riscv.compressed import expand
from flexemu.isa.riscv.decode import decode
from flexemu.isa.riscv.disasm import disassemble as disassemble_raw
from flexemu.isa.riscv.engine import RiscvEngine
from flexemu.isa.riscv.io import fits
from flexemu.isa.riscv.loader import load_riscv
from flexemu.isa.riscv.panic import Panic
from flexemu.isa.riscv.state import RiscvState
from flexemu.isa.riscv.step import step
from flexemu.memory import Memory
from flexemu.merkle import DEPTH, LEAF_BYTES
from flexemu.multiproof import memory_leaf
from flexemu.status import Status

T0 = 5
SYSCALL_NAMES = {
    value: name[4:].lower() for name, value in vars(syscalls).items() if name.startswith("SYS_")
}


def length_of(parcel: int) -> int:
    """Bytes of the instruction whose first 16-bit parcel is `parcel`."""
    return 4 if parcel & 3 == 3 else 2


def fetched_instruction(witness: bytes, proof: bytes) -> int | None:
    """The raw instruction (a 16-bit parcel for a compressed one) a step fetches, read from
    the fetched leaves in its proof: a 4-byte instruction in the last two bytes of a leaf
    continues in the next leaf. None when nothing is fetched or a fetched leaf is missing."""
    state = RiscvState.from_witness(witness)
    if state.status != Status.RUNNING or not fits(state.pc, 2):
        return None
    offset, parts = state.pc % LEAF_BYTES, b""
    index = state.pc // LEAF_BYTES
    while len(parts) < 4:
        leaf = memory_leaf(proof, DEPTH, index)
        if leaf is None:
            return None
        parts += leaf[offset:]
        if length_of(int.from_bytes(parts[:2], "little")) == 2 and len(parts) >= 2:
            return int.from_bytes(parts[:2], "little")
        offset, index = 0, index + 1
    return int.from_bytes(parts[:4], "little")


def next_instruction(state: RiscvState, memory: Memory) -> int | None:
    """The raw instruction the next step fetches, or None (terminal, pc out of range)."""
    if state.status != Status.RUNNING or not fits(state.pc, 2):
        return None
    parcel = int.from_bytes(memory.read_bytes(state.pc, 2), "little")
    if length_of(parcel) == 2:
        return parcel
    if not fits(state.pc, 4):
        return None
    return int.from_bytes(memory.read_bytes(state.pc, 4), "little")


def mnemonic(raw: int, xlen: int) -> str:
    """The instruction's name (`c.addi`, `ld`, ...), or `reserved` for an undecodable one."""
    if length_of(raw) == 2:
        expansion = expand(raw, xlen)
        return expansion[0] if expansion is not None else "reserved"
    decoded = decode(raw, xlen)
    return decoded.name if decoded is not None else "reserved"


def panic_class(code: int) -> str:
    return "panic-" + Panic(code).name.lower().replace("_", "-")


def classify(pre: RiscvState, raw: int | None, post: RiscvState) -> str:
    """The vector class of the step pre -> post that executed `raw` (None: no fetch)."""
    if pre.status != Status.RUNNING:
        return "fixed-point"
    if post.status == Status.PANICKED:
        return panic_class(post.exit_code)
    name = mnemonic(raw, pre.xlen) if raw is not None else "reserved"
    if name == "ecall":
        number = pre.x[syscalls.A7]
        return "syscall-" + SYSCALL_NAMES.get(number, str(number))
    return name


#: The game's VM id of each XLEN: RV64 and RV32 are two state transitions (an agent compares
#: the id with its ELF's class), verified by one contract (docs/game.md section 5).
VM_IDS = {64: 2, 32: 3}


def riscv_isa(xlen: int) -> Isa:
    word = xlen // 8
    shape = layout.LAYOUTS[xlen]
    offsets = {
        "isa": layout.ISA, "status": layout.STATUS, "exit_code": layout.EXIT_CODE,
        "reservation": layout.RESERVATION, "mem_root": layout.MEM_ROOT,
        "input_root": layout.INPUT_ROOT, "output_hash": layout.OUTPUT_HASH,
        "input_len": layout.INPUT_LEN, "input_pos": layout.INPUT_POS, "step": layout.STEP,
        "brk": layout.BRK, "mmap_next": layout.MMAP_NEXT,
        "reservation_addr": layout.RESERVATION_ADDR, "fcsr": layout.FCSR, "pc": layout.PC,
        "registers": shape.x, "fpr": shape.f,
    }  # fmt: skip
    return Isa(
        name=f"rv{xlen}",
        elf_machine=243,
        elf_word_bytes=word,
        byte_order="little",
        word_bytes=word,
        address_bits=32,
        tree_depth=DEPTH,
        witness_bytes=layout.WITNESS_BYTES[xlen],
        witness_offsets=offsets,
        state_class=RiscvState,
        syscall_abi=SyscallAbi(syscalls.A7, tuple(syscalls.ARGUMENTS), syscalls.A0, "a0 = -errno"),
        syscall_numbers=SYSCALL_NAMES,
        panic_codes=Panic,
        disassemble=lambda raw, pc: disassemble_raw(raw, length_of(raw), xlen, pc),
        step=step,
        load=load_riscv,
        engine=RiscvEngine,
        fetched_instruction=fetched_instruction,
        next_instruction=next_instruction,
        classify=classify,
        forgery_byte=shape.x + word * T0 + word - 1,
        vm_id=VM_IDS[xlen],
        verifier="RiscvVerifier",  # reads XLEN from the witness's ISA tag
    )


RV64 = riscv_isa(64)
RV32 = riscv_isa(32)
