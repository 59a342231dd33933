"""MIPS o32 Linux: its syscall numbers and register convention over the shared kernel.

The semantics of every call are written once in `flexemu.kernel.linux` (each call a
bounded function of the state: at most one memory leaf and one input leaf, short counts,
nothing from the host); what is MIPS here is the number table, `set_thread_area` (the TLS
pointer lives in the MIPS witness), the o32 errno and mmap flag values, how a user buffer
becomes a physical address (kseg0/1 translate, kseg2/3 fail with EFAULT) and the result
convention: v0 = value and a3 = 0 on success, v0 = errno and a3 = 1 on failure. Unknown
calls fail with ENOSYS.
"""

from __future__ import annotations

from flexemu.isa.mips import abi
from flexemu.isa.mips.address import StepPanic, translate
from flexemu.isa.mips.bits import u32
from flexemu.isa.mips.state import State
from flexemu.kernel import linux
from flexemu.kernel.linux import Errno, LinuxAbi, SyscallError
from flexemu.leafio import LeafIO


def user_buffer(vaddr: int, length: int) -> int:
    """Physical address of a user buffer; a kseg2/kseg3 address fails with EFAULT."""
    try:
        return translate(vaddr)
    except StepPanic:
        raise SyscallError(abi.EFAULT) from None


#: The o32 values where they differ from the generic ones (errno ENOSYS, MAP_ANONYMOUS).
ABI = LinuxAbi(
    word_bytes=4,
    byteorder="big",
    buffer=user_buffer,
    errno=Errno(ENOSYS=abi.ENOSYS),
    map_fixed=abi.MAP_FIXED,
    map_anonymous=abi.MAP_ANONYMOUS,
    brk_limit=abi.BRK_LIMIT,
    mmap_limit=abi.MMAP_LIMIT,
    page_size=abi.PAGE_SIZE,
)


def sys_set_thread_area(state: State, io: LeafIO, kernel: LinuxAbi, a: list[int]) -> int:
    state.tls = a[0]
    return 0


SYSCALLS: dict[int, linux.Call] = {
    abi.SYS_EXIT: linux.sys_exit,
    abi.SYS_EXIT_GROUP: linux.sys_exit,
    abi.SYS_READ: linux.sys_read,
    abi.SYS_WRITE: linux.sys_write,
    abi.SYS_BRK: linux.sys_brk,
    abi.SYS_FCNTL: linux.sys_fcntl,
    abi.SYS_FCNTL64: linux.sys_fcntl,
    abi.SYS_MMAP: linux.sys_mmap,
    abi.SYS_MMAP2: linux.sys_mmap,
    abi.SYS_MUNMAP: linux.returns(0),
    abi.SYS_MPROTECT: linux.returns(0),
    abi.SYS_MADVISE: linux.returns(0),
    abi.SYS_SET_THREAD_AREA: sys_set_thread_area,  # type: ignore[dict-item]
    abi.SYS_SET_TID_ADDRESS: linux.returns(abi.PID),
    abi.SYS_GETPID: linux.returns(abi.PID),
    abi.SYS_GETTID: linux.returns(abi.PID),
}


def syscall(state: State, io: LeafIO) -> None:
    """Execute the syscall the registers describe; updates registers, not pc."""
    regs = state.regs
    call = SYSCALLS.get(regs[abi.V0])
    args = regs[abi.A0 : abi.A3 + 1]
    try:
        if call is None:
            raise SyscallError(ABI.errno.ENOSYS)
        result = call(state, io, ABI, args)
    except SyscallError as error:
        regs[abi.V0], regs[abi.A3] = error.errno, 1
        return
    if result is not None:
        regs[abi.V0], regs[abi.A3] = u32(result), 0
