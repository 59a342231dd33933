"""The machine state and its packed witness.

The witness is a fixed 410-byte big-endian record: everything a verifier needs
to execute one step besides the memory leaves, which it receives as Merkle
proofs against `mem_root`. The state hash is keccak256 of the witness with its
top byte replaced by a status, so that a claim shows at a glance how the
program ended. The layout is specified in docs/spec.md, "State witness".
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

from flexemu.errors import InvalidWitnessError, WitnessError
from flexemu.keccak import keccak256
from flexemu.merkle import EMPTY_ROOT

WITNESS_BYTES = 410
NO_RESERVATION = 0xFFFFFFFF

_HEAD = struct.Struct(">32s32s32sIIIIIIIIIIIQBB")
_REGS = struct.Struct(">32I")
_FPU = struct.Struct(">I32I")
assert _HEAD.size + _REGS.size + _FPU.size == WITNESS_BYTES


class Status(IntEnum):
    """The `status` field of the witness."""

    RUNNING = 0
    EXITED = 1
    PANICKED = 2


class VMStatus(IntEnum):
    """The top byte of a state hash (the convention of Cannon's VM status)."""

    EXITED_ZERO = 0
    EXITED_NONZERO = 1
    PANICKED = 2
    UNFINISHED = 3


class Panic(IntEnum):
    """Why a step panicked; stored in `exit_code` of a panicked state."""

    RESERVED_INSTRUCTION = 1
    TRAP = 2
    BREAK = 3
    ADDRESS_ERROR = 4
    KERNEL_ADDRESS = 5
    INTEGER_OVERFLOW = 6
    BRANCH_IN_DELAY_SLOT = 7


@dataclass
class State:
    """Everything but memory contents; mutable because a step updates it in place."""

    mem_root: bytes = EMPTY_ROOT
    input_root: bytes = EMPTY_ROOT
    output_hash: bytes = bytes(32)
    input_len: int = 0
    input_pos: int = 0
    pc: int = 0
    next_pc: int = 4
    lo: int = 0
    hi: int = 0
    brk: int = 0
    mmap_next: int = 0
    tls: int = 0
    ll_addr: int = NO_RESERVATION
    ll_value: int = 0
    step: int = 0
    status: int = Status.RUNNING
    exit_code: int = 0
    regs: list[int] = field(default_factory=lambda: [0] * 32)
    fcsr: int = 0
    fpr: list[int] = field(default_factory=lambda: [0] * 32)

    def copy(self) -> State:
        clone = State(**{k: v for k, v in self.__dict__.items() if k not in ("regs", "fpr")})
        clone.regs = list(self.regs)
        clone.fpr = list(self.fpr)
        return clone

    @property
    def vm_status(self) -> VMStatus:
        return vm_status(self.status, self.exit_code)

    def witness(self) -> bytes:
        """The packed 278-byte witness (docs/spec.md, "State witness")."""
        return _HEAD.pack(
            self.mem_root,
            self.input_root,
            self.output_hash,
            self.input_len,
            self.input_pos,
            self.pc,
            self.next_pc,
            self.lo,
            self.hi,
            self.brk,
            self.mmap_next,
            self.tls,
            self.ll_addr,
            self.ll_value,
            self.step,
            self.status,
            self.exit_code,
        ) + _REGS.pack(*self.regs) + _FPU.pack(self.fcsr, *self.fpr)

    def hash(self) -> bytes:
        return state_hash(self.witness())

    @classmethod
    def from_witness(cls, data: bytes) -> State:
        if len(data) != WITNESS_BYTES:
            raise WitnessError(f"a witness is {WITNESS_BYTES} bytes, got {len(data)}")
        head = _HEAD.unpack_from(data)
        regs = list(_REGS.unpack_from(data, _HEAD.size))
        fcsr, *fpr = _FPU.unpack_from(data, _HEAD.size + _REGS.size)
        state = cls(*head, regs=regs, fcsr=fcsr, fpr=fpr)
        if state.status not in set(Status):
            raise InvalidWitnessError(148, f"witness status {state.status} is not 0, 1 or 2")
        if regs[0] != 0:
            raise InvalidWitnessError(150, "witness register $zero is not zero")
        return state


def vm_status(status: int, exit_code: int) -> VMStatus:
    """The state-hash status byte of a witness's status and exit code (every ISA)."""
    if status == Status.RUNNING:
        return VMStatus.UNFINISHED
    if status == Status.PANICKED:
        return VMStatus.PANICKED
    return VMStatus.EXITED_ZERO if exit_code == 0 else VMStatus.EXITED_NONZERO


def state_hash(witness: bytes) -> bytes:
    """keccak256(witness) with the top byte replaced by the VM status."""
    return bytes([vm_status(witness[148], witness[149])]) + keccak256(witness)[1:]
