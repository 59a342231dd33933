"""The RISC-V Linux ABI: asm-generic syscall numbers, a7 = number, a0..a5 = arguments,
the result in a0, an error as -errno (wrapped to XLEN). The semantics are the
ISA-neutral ones of flexemu/kernel/linux.py; unknown numbers fail with -ENOSYS.
newfstatat exists on RV64 only (RV32 Linux has no 32-bit-time stat calls).
"""

from __future__ import annotations

from flexemu.isa.riscv.bits import unsigned
from flexemu.isa.riscv.io import fits
from flexemu.isa.riscv.panic import Panic, StepPanic
from flexemu.isa.riscv.state import RiscvState
from flexemu.kernel import linux
from flexemu.kernel.linux import LinuxAbi, SyscallError
from flexemu.leafio import LeafIO

A0, A7 = 10, 17
ARGUMENTS = range(A0, A0 + 6)

SYS_FCNTL = 25
SYS_READLINKAT = 78
SYS_NEWFSTATAT = 79
SYS_READ = 63
SYS_WRITE = 64
SYS_WRITEV = 66
SYS_EXIT = 93
SYS_EXIT_GROUP = 94
SYS_SET_TID_ADDRESS = 96
SYS_SET_ROBUST_LIST = 99
SYS_GETPID = 172
SYS_GETTID = 178
SYS_SYSINFO = 179
SYS_BRK = 214
SYS_MUNMAP = 215
SYS_MMAP = 222
SYS_MPROTECT = 226
SYS_MADVISE = 233
SYS_PRLIMIT64 = 261
SYS_GETRANDOM = 278


def user_buffer(vaddr: int, length: int) -> int:
    """A user buffer is its own physical address; one reaching past 2^32 panics."""
    if not fits(vaddr, length):
        raise StepPanic(Panic.ADDRESS_OUT_OF_RANGE)
    return vaddr


ABIS = {
    xlen: LinuxAbi(word_bytes=xlen // 8, byteorder="little", buffer=user_buffer)
    for xlen in (32, 64)
}

_COMMON: dict[int, linux.Call] = {
    SYS_FCNTL: linux.sys_fcntl,
    SYS_READLINKAT: linux.fails("ENOENT"),
    SYS_READ: linux.sys_read,
    SYS_WRITE: linux.sys_write,
    SYS_WRITEV: linux.sys_writev,
    SYS_EXIT: linux.sys_exit,
    SYS_EXIT_GROUP: linux.sys_exit,
    SYS_SET_TID_ADDRESS: linux.returns(linux.PID),
    SYS_SET_ROBUST_LIST: linux.returns(0),
    SYS_GETPID: linux.returns(linux.PID),
    SYS_GETTID: linux.returns(linux.PID),
    SYS_SYSINFO: linux.sys_sysinfo,
    SYS_BRK: linux.sys_brk,
    SYS_MUNMAP: linux.returns(0),
    SYS_MMAP: linux.sys_mmap,
    SYS_MPROTECT: linux.returns(0),
    SYS_MADVISE: linux.returns(0),
    SYS_PRLIMIT64: linux.sys_prlimit64,
    SYS_GETRANDOM: linux.sys_getrandom,
}

SYSCALLS: dict[int, dict[int, linux.Call]] = {
    32: _COMMON,
    64: {**_COMMON, SYS_NEWFSTATAT: linux.sys_newfstatat},
}


def syscall(state: RiscvState, io: LeafIO) -> None:
    """Execute the syscall in a7; sets a0 unless the program ended. Does not touch pc."""
    abi = ABIS[state.xlen]
    call = SYSCALLS[state.xlen].get(state.x[A7])
    args = [state.x[i] for i in ARGUMENTS]
    try:
        result = call(state, io, abi, args) if call else _no_such_call(abi)
    except SyscallError as error:
        state.x[A0] = unsigned(-error.errno, state.xlen)
        return
    if result is not None:
        state.x[A0] = unsigned(result, state.xlen)


def _no_such_call(abi: LinuxAbi) -> int:
    raise SyscallError(abi.errno.ENOSYS)
