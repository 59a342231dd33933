"""MIPS32 (big-endian, o32 Linux) described for the shared code: the `Isa` it receives.

The step-level facts shared code must not hard-code live here: where the status sits in the
witness, how an instruction is found in a proof, how a step is classified for the vectors.
"""

from __future__ import annotations

from collections.abc import Mapping

from flexemu.isa.description import Isa, SyscallAbi
from flexemu.isa.mips import abi
from flexemu.isa.mips.abi import SYSCALL_NAMES, syscall_name
from flexemu.isa.mips.address import StepPanic, aligned
from flexemu.isa.mips.engine import FastEngine
from flexemu.isa.mips.loader import load
from flexemu.isa.mips.state import WITNESS_BYTES, Panic, State
from flexemu.isa.mips.step import step
from flexemu.memory import Memory
from flexemu.merkle import DEPTH, LEAF_BYTES
from flexemu.multiproof import memory_leaf
from flexemu.status import Status


def block_engine(state: State, pages: Mapping[int, bytes], input_memory: Memory) -> FastEngine:
    """The fast engine shared code gets: block mode (docs/spec.md, section 11.1)."""
    return FastEngine(state, pages, input_memory, blocks=True)


#: Named offsets of the 410-byte witness (docs/spec.md, "State witness").
WITNESS_OFFSETS = {
    "mem_root": 0, "input_root": 32, "output_hash": 64, "input_len": 96, "input_pos": 100,
    "pc": 104, "next_pc": 108, "lo": 112, "hi": 116, "brk": 120, "mmap_next": 124, "tls": 128,
    "ll_addr": 132, "ll_value": 136, "step": 140, "status": 148, "exit_code": 149,
    "registers": 150, "fcsr": 278, "fpr": 282,
}  # fmt: skip
T0 = 8


def fetched_instruction(witness: bytes, proof: bytes) -> int | None:
    """The word a step fetches, read from the fetched leaf in its proof (docs/spec.md
    section 10); None when the step fetches nothing (a terminal state, a nullified delay
    slot, a fetch that panics) or the proof does not carry the fetched leaf."""
    state = State.from_witness(witness)
    if state.status != Status.RUNNING or state.pc & 1:
        return None
    try:
        paddr = aligned(state.pc, 4)
    except StepPanic:
        return None
    leaf = memory_leaf(proof, DEPTH, paddr // LEAF_BYTES)
    if leaf is None:
        return None
    offset = paddr % LEAF_BYTES
    return int.from_bytes(leaf[offset : offset + 4], "big")


def next_instruction(state: State, memory: Memory) -> int | None:
    """The word the next step fetches, or None (nullified slot, terminal, bad pc)."""
    if state.status != Status.RUNNING or state.pc & 1:
        return None
    try:
        return memory.read_word(aligned(state.pc, 4), "big")
    except StepPanic:
        return None


def disassemble(word: int, pc: int) -> str:
    """The assembly text of `word` at `pc` (the disassembler loads on first use: a command
    that only runs a program never needs it, and it is a tenth of `run`'s start-up)."""
    from flexemu.isa.mips.disasm import disassemble as text

    return text(word, pc)


def instruction_class(word: int) -> str:
    """The vector class of an instruction word (see `flexemu.isa.mips.disasm`)."""
    from flexemu.isa.mips.disasm import instruction_class as vector_class

    return vector_class(word)


def panic_class(code: int) -> str:
    """`panic-trap`, `panic-address-error`, ... (section 8's names, lower case)."""
    return "panic-" + Panic(code).name.lower().replace("_", "-")


def classify(pre: State, word: int | None, post: State) -> str:
    """The vector class of the step pre -> post that executed `word` (None: no fetch)."""
    if pre.status != Status.RUNNING:
        return "fixed-point"
    if pre.pc & 1:
        return "nullified-slot"
    if post.status == Status.PANICKED:
        return panic_class(post.exit_code)
    cls = instruction_class(word) if word is not None else "reserved"
    if cls == "syscall":
        return "syscall-" + syscall_name(pre.regs[abi.V0])
    return cls


MIPS32 = Isa(
    name="mips32",
    elf_machine=8,
    elf_word_bytes=4,
    byte_order="big",
    word_bytes=4,
    address_bits=32,
    tree_depth=DEPTH,
    witness_bytes=WITNESS_BYTES,
    witness_offsets=WITNESS_OFFSETS,
    state_class=State,
    syscall_abi=SyscallAbi(abi.V0, (abi.A0, abi.A1, abi.A2, abi.A3), abi.V0, "v0 = errno, a3 = 1"),
    syscall_numbers=SYSCALL_NAMES,
    panic_codes=Panic,
    disassemble=disassemble,
    step=step,
    load=load,
    engine=block_engine,
    fetched_instruction=fetched_instruction,
    next_instruction=next_instruction,
    classify=classify,
    forgery_byte=WITNESS_OFFSETS["registers"] + 4 * T0 + 3,
    vm_id=1,
    verifier="MipsVerifier",
)
