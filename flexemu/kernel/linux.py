"""The deterministic Linux subset, written once for every ISA.

Each call is a function of the state, its arguments and at most a few memory
and input leaves, so a verifier can replay it from a bounded proof. Reads and
writes stop at the end of the 32-byte leaf their buffer starts in and return a
short count (libc loops). Nothing from the host enters the state: no clock, no
randomness, no files. An ISA brings its numbers, its register ABI and a
`LinuxAbi` (errno values, flag bits, layout limits, word size, byte order, how
a user buffer becomes a physical address); the semantics here never change
with the ISA. A call returns its non-negative result, None when it ended the
program, or raises `SyscallError` with an errno value for the ISA to encode.

Memory is reached through leaf-level IO (`read_leaf`/`write_leaf`, see
flexemu/leafio.py) in ascending address order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from flexemu.keccak import keccak256
from flexemu.leafio import LeafIO, read_bytes, write_bytes
from flexemu.merkle import LEAF_BYTES
from flexemu.status import Status


class KernelState(Protocol):
    """The witness fields the kernel reads and writes (every ISA's state has them)."""

    input_len: int
    input_pos: int
    output_hash: bytes
    brk: int
    mmap_next: int
    step: int
    status: int
    exit_code: int


@dataclass(frozen=True)
class Errno:
    EPERM: int = 1
    ENOENT: int = 2
    EBADF: int = 9
    ENOMEM: int = 12
    EFAULT: int = 14
    EINVAL: int = 22
    ENOSYS: int = 38


@dataclass(frozen=True)
class LinuxAbi:
    """What the kernel semantics need to know about an ISA."""

    word_bytes: int  # sizeof(long): 4 or 8
    byteorder: Literal["little", "big"]
    buffer: Callable[[int, int], int]  # (user address, length) -> physical address, or raise
    errno: Errno = Errno()
    map_fixed: int = 0x10
    map_anonymous: int = 0x20
    brk_limit: int = 0x40000000  # the break may not grow into the mmap area
    mmap_limit: int = 0x7F000000  # mappings stop below the stack area
    page_size: int = 4096


class SyscallError(Exception):
    def __init__(self, errno: int) -> None:
        super().__init__(errno)
        self.errno = errno


PID = 1  # the pid and tid every program sees
FD_STDIN, FD_STDOUT, FD_STDERR = 0, 1, 2
WRITEV_SCAN = 4  # writev looks at most at its first 4 iovecs
IOV_MAX = 1024
RLIM_INFINITY = (1 << 64) - 1
RLIMIT_STACK, RLIM_NLIMITS = 3, 16
STACK_LIMIT = 8 << 20
AT_EMPTY_PATH = 0x1000
S_IFIFO = 0o010000
F_GETFD, F_SETFD, F_GETFL = 1, 2, 3
O_RDONLY, O_WRONLY = 0, 1
TOTAL_RAM = 1 << 30  # what sysinfo reports
FREE_RAM = 1 << 29
UID = GID = 1000

Call = Callable[[KernelState, LeafIO, LinuxAbi, list[int]], int | None]


def _pack(abi: LinuxAbi, *fields: tuple[int, int]) -> bytes:
    """(value, size) pairs, each in the ISA's byte order."""
    return b"".join(value.to_bytes(size, abi.byteorder) for value, size in fields)


def _put(io: LeafIO, abi: LinuxAbi, addr: int, data: bytes) -> None:
    write_bytes(io, abi.buffer(addr, len(data)), data)


def sys_exit(state: KernelState, io: LeafIO, abi: LinuxAbi, a: list[int]) -> None:
    state.status = Status.EXITED
    state.exit_code = a[0] & 0xFF


def sys_read(state: KernelState, io: LeafIO, abi: LinuxAbi, a: list[int]) -> int:
    fd, buf, count = a[0], a[1], a[2]
    if fd != FD_STDIN:
        raise SyscallError(abi.errno.EBADF)
    if count == 0 or state.input_pos >= state.input_len:
        return 0
    paddr = abi.buffer(buf, 1)
    pos = state.input_pos
    n = min(
        count,
        LEAF_BYTES - paddr % LEAF_BYTES,
        LEAF_BYTES - pos % LEAF_BYTES,
        state.input_len - pos,
    )
    leaf = io.input_leaf(pos // LEAF_BYTES)
    write_bytes(io, paddr, leaf[pos % LEAF_BYTES : pos % LEAF_BYTES + n])
    state.input_pos = pos + n
    return n


def sys_write(state: KernelState, io: LeafIO, abi: LinuxAbi, a: list[int]) -> int:
    fd, buf, count = a[0], a[1], a[2]
    if fd not in (FD_STDOUT, FD_STDERR):
        raise SyscallError(abi.errno.EBADF)
    if count == 0:
        return 0
    paddr = abi.buffer(buf, 1)
    data = read_bytes(io, paddr, min(count, LEAF_BYTES - paddr % LEAF_BYTES))
    state.output_hash = keccak256(state.output_hash + bytes([fd]) + data)
    io.emit(fd, data)
    return len(data)


def sys_writev(state: KernelState, io: LeafIO, abi: LinuxAbi, a: list[int]) -> int:
    """write() of the first non-empty iovec among the first WRITEV_SCAN; a short count."""
    fd, iov, iovcnt = a[0], a[1], a[2]
    if fd not in (FD_STDOUT, FD_STDERR):
        raise SyscallError(abi.errno.EBADF)
    if iovcnt > IOV_MAX:
        raise SyscallError(abi.errno.EINVAL)
    w = abi.word_bytes
    for i in range(min(iovcnt, WRITEV_SCAN)):
        entry = read_bytes(io, abi.buffer(iov + 2 * w * i, 2 * w), 2 * w)
        base = int.from_bytes(entry[:w], abi.byteorder)
        length = int.from_bytes(entry[w:], abi.byteorder)
        if length:
            return sys_write(state, io, abi, [fd, base, length])
    return 0


def sys_brk(state: KernelState, io: LeafIO, abi: LinuxAbi, a: list[int]) -> int:
    # The break never shrinks: memory given back and taken again would not be zero.
    if state.brk < a[0] <= abi.brk_limit:
        state.brk = a[0]
    return state.brk


def sys_mmap(state: KernelState, io: LeafIO, abi: LinuxAbi, a: list[int]) -> int:
    addr, length, flags = a[0], a[1], a[3]
    if not flags & abi.map_anonymous:
        raise SyscallError(abi.errno.ENOSYS)
    if length == 0:
        raise SyscallError(abi.errno.EINVAL)
    size = (length + abi.page_size - 1) // abi.page_size * abi.page_size
    if flags & abi.map_fixed:
        if addr % abi.page_size:
            raise SyscallError(abi.errno.EINVAL)
        return addr
    start = state.mmap_next
    if size > abi.mmap_limit - start:
        raise SyscallError(abi.errno.ENOMEM)
    state.mmap_next = start + size
    return start


def sys_prlimit64(state: KernelState, io: LeafIO, abi: LinuxAbi, a: list[int]) -> int:
    """Limits cannot change; reading gives an 8 MiB stack and no other limit."""
    resource, new, old = a[1], a[2], a[3]
    if resource >= RLIM_NLIMITS:
        raise SyscallError(abi.errno.EINVAL)
    if new:
        raise SyscallError(abi.errno.EPERM)
    if old:
        current = STACK_LIMIT if resource == RLIMIT_STACK else RLIM_INFINITY
        _put(io, abi, old, _pack(abi, (current, 8), (RLIM_INFINITY, 8)))
    return 0


def sys_getrandom(state: KernelState, io: LeafIO, abi: LinuxAbi, a: list[int]) -> int:
    """Deterministic bytes, never zero: keccak256("flexemu getrandom" ‖ uint64 step) | 0x01."""
    buf, count = a[0], a[1]
    if count == 0:
        return 0
    paddr = abi.buffer(buf, 1)
    n = min(count, LEAF_BYTES - paddr % LEAF_BYTES)
    digest = keccak256(b"flexemu getrandom" + state.step.to_bytes(8, "big"))
    write_bytes(io, paddr, bytes(byte | 1 for byte in digest[:n]))
    return n


def sys_newfstatat(state: KernelState, io: LeafIO, abi: LinuxAbi, a: list[int]) -> int:
    """fstat of fd 0-2 (AT_EMPTY_PATH): a pipe; any path: ENOENT (there is no file system).

    The 128-byte asm-generic 64-bit `struct stat`: mode S_IFIFO|0600, nlink 1,
    uid/gid 1000, blksize 4096, everything else 0. The path is not read.
    """
    dirfd, statbuf, flags = a[0], a[2], a[3]
    if not flags & AT_EMPTY_PATH or dirfd not in (FD_STDIN, FD_STDOUT, FD_STDERR):
        raise SyscallError(abi.errno.ENOENT)
    stat = _pack(
        abi,
        (0, 8),  # st_dev
        (0, 8),  # st_ino
        (S_IFIFO | 0o600, 4),  # st_mode
        (1, 4),  # st_nlink
        (UID, 4),  # st_uid
        (GID, 4),  # st_gid
        (0, 8),  # st_rdev
        (0, 8),  # __pad1
        (0, 8),  # st_size
        (4096, 4),  # st_blksize
        (0, 4),  # __pad2
    ) + bytes(64)  # st_blocks, the three timestamps, __unused4/5
    _put(io, abi, statbuf, stat)
    return 0


def sys_sysinfo(state: KernelState, io: LeafIO, abi: LinuxAbi, a: list[int]) -> int:
    """1 GiB of RAM, half of it free, one process, uptime 0, no swap."""
    w = abi.word_bytes
    head = _pack(abi, *[(0, w)] * 4, (TOTAL_RAM, w), (FREE_RAM, w), *[(0, w)] * 4)
    tail = _pack(abi, (1, 2), (0, 2)) + bytes(w - 4) + _pack(abi, (0, w), (0, w), (1, 4))
    info = head + tail
    _put(io, abi, a[0], info + bytes((112 if w == 8 else 64) - len(info)))
    return 0


def sys_fcntl(state: KernelState, io: LeafIO, abi: LinuxAbi, a: list[int]) -> int:
    fd, cmd = a[0], a[1]
    if fd not in (FD_STDIN, FD_STDOUT, FD_STDERR):
        raise SyscallError(abi.errno.EBADF)
    if cmd in (F_GETFD, F_SETFD):
        return 0
    if cmd == F_GETFL:
        return O_RDONLY if fd == FD_STDIN else O_WRONLY
    raise SyscallError(abi.errno.EINVAL)


def returns(value: int) -> Call:
    """A call with no effect that returns `value`."""

    def call(state: KernelState, io: LeafIO, abi: LinuxAbi, a: list[int]) -> int:
        return value

    return call


def fails(errno_name: str) -> Call:
    """A call with no effect that fails with the named errno."""

    def call(state: KernelState, io: LeafIO, abi: LinuxAbi, a: list[int]) -> int:
        raise SyscallError(getattr(abi.errno, errno_name))

    return call
