"""The RISC-V machine state and its packed, fixed-size witness.

The witness is big-endian and has one layout per XLEN, both starting with the
same fixed head (named offsets below). Its first byte is the ISA tag, so the
state hash of a claim commits to the VM that must check it: a RV64 witness can
never be read as a RV32 (or MIPS) one. The state hash uses the MIPS framing:
keccak256 of the witness with its top byte replaced by the VM status. The
layout is specified in docs/spec.md, section R2.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from flexemu.errors import WitnessError
from flexemu.keccak import keccak256
from flexemu.merkle import EMPTY_ROOT
from flexemu.status import Status, VMStatus, vm_status

# ISA tags (witness byte 0).
ISA_RV32 = 0x01
ISA_RV64 = 0x02
ISA_TAGS = {32: ISA_RV32, 64: ISA_RV64}
XLEN_OF_TAG = {tag: xlen for xlen, tag in ISA_TAGS.items()}

# The LR/SC reservation flag (witness byte 3): none, or the width of the lr that made it.
NO_RESERVATION = 0
RESERVED_WORD = 4  # lr.w
RESERVED_DOUBLE = 8  # lr.d (RV64 only)

# Offsets of the fixed head, identical for both XLENs.
ISA = 0  # uint8
STATUS = 1  # uint8, flexemu.status.Status
EXIT_CODE = 2  # uint8 (the panic code when PANICKED)
RESERVATION = 3  # uint8, 0 / 4 / 8
MEM_ROOT = 4  # bytes32
INPUT_ROOT = 36  # bytes32
OUTPUT_HASH = 68  # bytes32
INPUT_LEN = 100  # uint32
INPUT_POS = 104  # uint32
STEP = 108  # uint64, wraps
BRK = 116  # uint32
MMAP_NEXT = 120  # uint32
RESERVATION_ADDR = 124  # uint32
FCSR = 128  # uint32, only bits 0..7 (fflags, frm) may be set
PC = 132  # XLEN/8 bytes; x0..x31 follow, then f0..f31 (8 bytes each)

_HEAD = struct.Struct(">BBBB32s32s32sIIQIIII")
assert _HEAD.size == PC


@dataclass(frozen=True)
class Layout:
    """The XLEN-dependent tail of the witness: pc, then x0..x31, then f0..f31."""

    xlen: int

    @property
    def word_bytes(self) -> int:
        return self.xlen // 8

    @property
    def x(self) -> int:
        """Offset of x0; xi is at x + i * word_bytes."""
        return PC + self.word_bytes

    @property
    def f(self) -> int:
        """Offset of f0; fi is at f + 8 * i."""
        return self.x + 32 * self.word_bytes

    @property
    def size(self) -> int:
        return self.f + 32 * 8

    @property
    def tail(self) -> struct.Struct:
        code = "Q" if self.xlen == 64 else "I"
        return struct.Struct(f">{code}32{code}32Q")


LAYOUTS = {32: Layout(32), 64: Layout(64)}
WITNESS_BYTES = {xlen: layout.size for xlen, layout in LAYOUTS.items()}  # 520 / 652


@dataclass
class RiscvState:
    """Everything but memory contents; mutable because a step updates it in place.

    `x` and `pc` hold unsigned XLEN-bit values, `f` unsigned 64-bit raw bits.
    """

    xlen: int = 64
    mem_root: bytes = EMPTY_ROOT
    input_root: bytes = EMPTY_ROOT
    output_hash: bytes = bytes(32)
    input_len: int = 0
    input_pos: int = 0
    pc: int = 0
    x: list[int] = field(default_factory=lambda: [0] * 32)
    f: list[int] = field(default_factory=lambda: [0] * 32)
    fcsr: int = 0
    reservation: int = NO_RESERVATION
    reservation_addr: int = 0
    brk: int = 0
    mmap_next: int = 0
    step: int = 0
    status: int = Status.RUNNING
    exit_code: int = 0

    def copy(self) -> RiscvState:
        clone = RiscvState(**{k: v for k, v in self.__dict__.items() if k not in ("x", "f")})
        clone.x = list(self.x)
        clone.f = list(self.f)
        return clone

    @property
    def vm_status(self) -> VMStatus:
        return vm_status(self.status, self.exit_code)

    def witness(self) -> bytes:
        """The packed witness (520 bytes on RV32, 652 on RV64)."""
        head = _HEAD.pack(
            ISA_TAGS[self.xlen],
            self.status,
            self.exit_code,
            self.reservation,
            self.mem_root,
            self.input_root,
            self.output_hash,
            self.input_len,
            self.input_pos,
            self.step,
            self.brk,
            self.mmap_next,
            self.reservation_addr,
            self.fcsr,
        )
        return head + LAYOUTS[self.xlen].tail.pack(self.pc, *self.x, *self.f)

    def hash(self) -> bytes:
        return state_hash(self.witness())

    @classmethod
    def from_witness(cls, data: bytes) -> RiscvState:
        """Decode a witness; anything an honest state can never hold is a WitnessError."""
        if not data:
            raise WitnessError("empty witness")
        xlen = XLEN_OF_TAG.get(data[ISA])
        if xlen is None:
            raise WitnessError(f"witness ISA tag 0x{data[ISA]:02x} is not RV32 (1) or RV64 (2)")
        layout = LAYOUTS[xlen]
        if len(data) != layout.size:
            raise WitnessError(f"a RV{xlen} witness is {layout.size} bytes, got {len(data)}")
        (
            _,
            status,
            exit_code,
            reservation,
            mem_root,
            input_root,
            output_hash,
            input_len,
            input_pos,
            step,
            brk,
            mmap_next,
            reservation_addr,
            fcsr,
        ) = _HEAD.unpack_from(data)
        pc, *rest = layout.tail.unpack_from(data, PC)
        state = cls(
            xlen=xlen, mem_root=mem_root, input_root=input_root, output_hash=output_hash,
            input_len=input_len, input_pos=input_pos, pc=pc, x=rest[:32], f=rest[32:],
            fcsr=fcsr, reservation=reservation, reservation_addr=reservation_addr, brk=brk,
            mmap_next=mmap_next, step=step, status=status, exit_code=exit_code,
        )  # fmt: skip
        if status not in set(Status):
            raise WitnessError(f"witness status {status} is not 0, 1 or 2")
        if state.x[0] != 0:
            raise WitnessError("witness register x0 is not zero")
        if reservation not in (NO_RESERVATION, RESERVED_WORD, RESERVED_DOUBLE) or (
            reservation == RESERVED_DOUBLE and xlen == 32
        ):
            raise WitnessError(f"witness reservation flag {reservation} is not valid on RV{xlen}")
        if reservation == NO_RESERVATION and reservation_addr != 0:
            raise WitnessError("witness has a reservation address but no reservation")
        if fcsr > 0xFF:
            raise WitnessError(f"witness fcsr 0x{fcsr:x} has bits above 7 set")
        return state


def state_hash(witness: bytes) -> bytes:
    """keccak256(witness) with the top byte replaced by the VM status."""
    return bytes([vm_status(witness[STATUS], witness[EXIT_CODE])]) + keccak256(witness)[1:]
