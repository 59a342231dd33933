"""The description of an ISA: what shared code receives instead of importing an ISA package.

Each ISA package fills one in (`flexemu/isa/<name>/isa.py`); the registry in
`flexemu/isa/__init__.py` collects them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol

from flexemu.keccak import keccak256
from flexemu.status import vm_status

if TYPE_CHECKING:
    from flexemu.memory import Memory
    from flexemu.program import Image, Program

ByteOrder = Literal["big", "little"]
Progress = Callable[[int], None]

#: Steps per unicorn run between two progress reports. Without a progress callback an engine
#: runs to its target in one unicorn run: each restart costs about 2 ms of native time (300M
#: MIPS steps in 72 runs took 0.15 s more CPU than in one, benchmarks/README.md).
PROGRESS_CHUNK = 1 << 22
UNBOUNDED_RUN = 1 << 62


def steps_per_run(progress: Progress | None) -> int:
    """How many steps an engine may run in one unicorn run (see PROGRESS_CHUNK)."""
    return PROGRESS_CHUNK if progress is not None else UNBOUNDED_RUN


class MachineState(Protocol):
    """What shared code reads of any ISA's state (each ISA's dataclass has more)."""

    mem_root: bytes
    input_root: bytes
    pc: int
    step: int
    status: int
    exit_code: int

    def copy(self) -> Any: ...

    def witness(self) -> bytes: ...

    def hash(self) -> bytes: ...


class Engine(Protocol):
    """The fast engine of an ISA: unicorn holding a state at a known step."""

    state: Any
    output: list[tuple[int, bytes]]

    def advance(self, target: int | None = None, progress: Progress | None = None) -> None: ...

    def pages(self) -> dict[int, bytes]: ...


@dataclass(frozen=True)
class SyscallAbi:
    """How a syscall reads its number and arguments and returns its result."""

    number_register: int
    argument_registers: tuple[int, ...]
    result_register: int
    errors: str  # how a failure is returned, e.g. "a0 = -errno"


@dataclass(frozen=True)
class Isa:
    """Everything shared code needs to know about one ISA (at one word size)."""

    name: str  # "mips32", "rv64", "rv32": the `isa` key of the CLI's JSON and proof files
    elf_machine: int  # e_machine
    elf_word_bytes: int  # 4 for ELFCLASS32, 8 for ELFCLASS64
    byte_order: ByteOrder  # of the ELF, of instructions and of data in memory
    word_bytes: int  # a general register's width
    address_bits: int  # the committed address space is 2**address_bits bytes
    tree_depth: int  # of the memory Merkle tree (32-byte leaves)
    witness_bytes: int
    witness_offsets: Mapping[str, int]  # named byte offsets of the packed witness
    state_class: type
    syscall_abi: SyscallAbi
    syscall_numbers: Mapping[int, str]  # number -> Linux name
    panic_codes: type[IntEnum]  # a panicked state's exit_code
    #: (instruction, pc) -> assembly text, the instruction as fetched (None: nothing fetched)
    disassemble: Callable[[int, int], str]
    #: the executable specification of one step: step(state, io)
    step: Callable[[Any, Any], None]
    load: Callable[[Program], Image]
    #: engine(state, pages, input_memory): the fast engine at `state`
    engine: Callable[[Any, Mapping[int, bytes], Memory], Engine]
    #: the instruction a step fetches, read from its first leaf proof (None: no fetch)
    fetched_instruction: Callable[[bytes, bytes], int | None]
    #: the instruction the next step of `state` fetches from full memory (None: no fetch)
    next_instruction: Callable[[Any, Memory], int | None]
    #: the vector class of a step pre -> post that fetched `instruction`
    classify: Callable[[Any, int | None, Any], str]
    #: a witness byte no check rejects when flipped (the low byte of register t0)
    forgery_byte: int
    #: the game's id of this state transition: a claim names it, the factory keeps one
    #: verifier per id and a game refuses a proof made for another (docs/game.md section 5)
    vm_id: int
    #: the name of the Solidity contract that verifies a step (`contracts/build/NAME.json`);
    #: several VM ids may share one contract when the witness says which one it is about
    verifier: str

    def from_witness(self, witness: bytes) -> Any:
        return self.state_class.from_witness(witness)

    def state_hash(self, witness: bytes) -> bytes:
        """keccak256(witness) with its top byte replaced by the VM status (any ISA)."""
        status = witness[self.witness_offsets["status"]]
        exit_code = witness[self.witness_offsets["exit_code"]]
        return bytes([vm_status(status, exit_code)]) + keccak256(witness)[1:]

    def instruction_text(self, pre: MachineState, instruction: int | None) -> str | None:
        """The disassembly of what a step from `pre` executes; None when it fetches nothing."""
        if instruction is None:
            return None
        return self.disassemble(instruction, pre.pc)
