"""The deterministic kernel: a small Linux subset, each call a bounded function of the state.

Every call touches at most one memory leaf and one input leaf, so a verifier
can replay it from a fixed-size proof. Reads and writes therefore stop at the
end of the 32-byte leaf they start in and return a short count; libc loops.
Nothing from the host enters the state: no clock, no randomness, no files.
Results follow the MIPS o32 convention: v0 = value and a3 = 0 on success,
v0 = errno and a3 = 1 on failure. Unknown calls fail with ENOSYS.
"""

from __future__ import annotations

from collections.abc import Callable

from flexemu.keccak import keccak256
from flexemu.mips import abi
from flexemu.mips.address import StepPanic, translate
from flexemu.mips.bits import u32
from flexemu.mips.io import StepIO
from flexemu.state import State, Status

LEAF = 32


class SyscallError(Exception):
    def __init__(self, errno: int) -> None:
        super().__init__(errno)
        self.errno = errno


def _buffer(vaddr: int) -> int:
    """Physical address of a user buffer; kernel addresses fail with EFAULT."""
    try:
        return translate(vaddr)
    except StepPanic:
        raise SyscallError(abi.EFAULT) from None


def read_leaf_bytes(io: StepIO, paddr: int, length: int) -> bytes:
    """`length` bytes from `paddr`, all inside one leaf, read word by word."""
    first = paddr & ~3
    words = b"".join(
        io.read_word(addr).to_bytes(4, "big") for addr in range(first, paddr + length, 4)
    )
    start = paddr - first
    return words[start : start + length]


def write_leaf_bytes(io: StepIO, paddr: int, data: bytes) -> None:
    """Write `data` inside one leaf, merging partial words."""
    first = paddr & ~3
    end = paddr + len(data)
    for addr in range(first, end, 4):
        word = bytearray(io.read_word(addr).to_bytes(4, "big"))
        for i in range(4):
            if paddr <= addr + i < end:
                word[i] = data[addr + i - paddr]
        io.write_word(addr, int.from_bytes(word, "big"))


def sys_exit(state: State, io: StepIO, a: list[int]) -> int | None:
    state.status = Status.EXITED
    state.exit_code = a[0] & 0xFF
    return None


def sys_read(state: State, io: StepIO, a: list[int]) -> int:
    fd, buf, count = a[0], a[1], a[2]
    if fd != 0:
        raise SyscallError(abi.EBADF)
    if count == 0 or state.input_pos >= state.input_len:
        return 0
    paddr = _buffer(buf)
    pos = state.input_pos
    n = min(count, LEAF - (paddr % LEAF), LEAF - (pos % LEAF), state.input_len - pos)
    leaf = io.input_leaf(pos // LEAF)
    write_leaf_bytes(io, paddr, leaf[pos % LEAF : pos % LEAF + n])
    state.input_pos = pos + n
    return n


def sys_write(state: State, io: StepIO, a: list[int]) -> int:
    fd, buf, count = a[0], a[1], a[2]
    if fd not in (1, 2):
        raise SyscallError(abi.EBADF)
    if count == 0:
        return 0
    paddr = _buffer(buf)
    n = min(count, LEAF - (paddr % LEAF))
    data = read_leaf_bytes(io, paddr, n)
    state.output_hash = keccak256(state.output_hash + bytes([fd]) + data)
    io.emit(fd, data)
    return n


def sys_brk(state: State, io: StepIO, a: list[int]) -> int:
    # The break never shrinks: memory given back and taken again would not be zero.
    if state.brk < a[0] <= abi.BRK_LIMIT:
        state.brk = a[0]
    return state.brk


def sys_mmap(state: State, io: StepIO, a: list[int]) -> int:
    addr, length, flags = a[0], a[1], a[3]
    if not flags & abi.MAP_ANONYMOUS:
        raise SyscallError(abi.ENOSYS)
    if length == 0:
        raise SyscallError(abi.EINVAL)
    size = (length + abi.PAGE_SIZE - 1) & ~(abi.PAGE_SIZE - 1)
    if flags & abi.MAP_FIXED:
        if addr & (abi.PAGE_SIZE - 1):
            raise SyscallError(abi.EINVAL)
        return addr
    start = state.mmap_next
    if size > abi.MMAP_LIMIT - start:
        raise SyscallError(abi.ENOMEM)
    state.mmap_next = start + size
    return start


def sys_fcntl(state: State, io: StepIO, a: list[int]) -> int:
    """The deterministic subset for the three standard descriptors.

    No descriptor carries FD_CLOEXEC (there is no exec) and F_SETFD changes nothing, since
    the witness holds no descriptor flags. The access mode is what the kernel allows on
    the descriptor: stdin is read-only, stdout and stderr write-only.
    """
    fd, command = a[0], a[1]
    if fd > 2:
        raise SyscallError(abi.EBADF)
    if command in (abi.F_GETFD, abi.F_SETFD):
        return 0
    if command == abi.F_GETFL:
        return abi.O_RDONLY if fd == 0 else abi.O_WRONLY
    raise SyscallError(abi.EINVAL)


def sys_set_thread_area(state: State, io: StepIO, a: list[int]) -> int:
    state.tls = a[0]
    return 0


def _constant(value: int) -> Callable[[State, StepIO, list[int]], int]:
    def call(state: State, io: StepIO, a: list[int]) -> int:
        return value

    return call


SYSCALLS: dict[int, Callable[[State, StepIO, list[int]], int | None]] = {
    abi.SYS_EXIT: sys_exit,
    abi.SYS_EXIT_GROUP: sys_exit,
    abi.SYS_READ: sys_read,
    abi.SYS_WRITE: sys_write,
    abi.SYS_BRK: sys_brk,
    abi.SYS_FCNTL: sys_fcntl,
    abi.SYS_MMAP: sys_mmap,
    abi.SYS_MMAP2: sys_mmap,
    abi.SYS_MUNMAP: _constant(0),
    abi.SYS_MPROTECT: _constant(0),
    abi.SYS_MADVISE: _constant(0),
    abi.SYS_SET_THREAD_AREA: sys_set_thread_area,
    abi.SYS_SET_TID_ADDRESS: _constant(abi.PID),
    abi.SYS_GETPID: _constant(abi.PID),
    abi.SYS_GETTID: _constant(abi.PID),
}


def syscall(state: State, io: StepIO) -> None:
    """Execute the syscall the registers describe; updates registers, not pc."""
    regs = state.regs
    handler = SYSCALLS.get(regs[abi.V0])
    args = regs[abi.A0 : abi.A3 + 1]
    try:
        result = handler(state, io, args) if handler else _fail(abi.ENOSYS)
    except SyscallError as error:
        regs[abi.V0], regs[abi.A3] = error.errno, 1
        return
    if result is not None:
        regs[abi.V0], regs[abi.A3] = u32(result), 0


def _fail(errno: int) -> int:
    raise SyscallError(errno)
