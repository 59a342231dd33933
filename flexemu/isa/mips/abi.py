"""The o32 Linux ABI facts flexEmu relies on, and the address-space layout.

The layout is part of the specification: the initial state and the results
of brk and mmap depend on it, so changing a number here changes state hashes.
"""

# Registers by o32 name.
ZERO, AT, V0, V1, A0, A1, A2, A3 = 0, 1, 2, 3, 4, 5, 6, 7
SP, RA = 29, 31

# Address space (all below 0x80000000, the user segment).
STACK_TOP = 0x7FFF0000  # first byte above the initial stack
MMAP_BASE = 0x40000000  # anonymous mappings grow up from here
MMAP_LIMIT = 0x7F000000  # ... and stop below the stack area
BRK_LIMIT = MMAP_BASE  # the program break may not grow into the mmap area
PAGE_SIZE = 4096

# Syscall numbers (o32: 4000 + the Linux number).
SYS_EXIT = 4001
SYS_READ = 4003
SYS_WRITE = 4004
SYS_GETPID = 4020
SYS_BRK = 4045
SYS_FCNTL = 4055
SYS_MMAP = 4090
SYS_MUNMAP = 4091
SYS_MPROTECT = 4125
SYS_MMAP2 = 4210
SYS_FCNTL64 = 4220  # on o32, glibc's fcntl(); the same subset as 4055
SYS_MADVISE = 4218
SYS_GETTID = 4222
SYS_EXIT_GROUP = 4246
SYS_SET_TID_ADDRESS = 4252
SYS_SET_THREAD_AREA = 4283

# errno values (MIPS numbering where it differs from generic Linux).
EBADF = 9
ENOMEM = 12
EFAULT = 14
EINVAL = 22
ENOSYS = 89

# fcntl commands, the descriptor flag and the access modes (the same numbers on MIPS).
F_GETFD, F_SETFD, F_GETFL = 1, 2, 3
O_RDONLY, O_WRONLY = 0, 1

# mmap flags (MIPS values).
MAP_FIXED = 0x010
MAP_ANONYMOUS = 0x800

# The pid and tid every program sees: nothing from the host enters the state.
PID = 1


_KERNEL_CALLS = {value: name[4:].lower() for name, value in globals().items() if name[:4] == "SYS_"}
#: Syscall names by number: the kernel's own calls (the `SYS_*` above), then calls it answers
#: with ENOSYS that static glibc makes (numbers from Linux's asm/unistd_o32.h).
SYSCALL_NAMES: dict[int, str] = {
    **_KERNEL_CALLS,
    4005: "open", 4006: "close", 4019: "lseek", 4024: "getuid", 4037: "kill",
    4049: "geteuid", 4054: "ioctl", 4076: "getrlimit", 4085: "readlink", 4108: "fstat",
    4116: "sysinfo", 4122: "uname", 4140: "_llseek", 4146: "writev", 4194: "rt_sigaction",
    4195: "rt_sigprocmask", 4215: "fstat64", 4263: "clock_gettime",
    4266: "tgkill", 4288: "openat", 4293: "fstatat64", 4309: "set_robust_list",
    4338: "prlimit64", 4353: "getrandom", 4366: "statx", 4367: "rseq", 4403: "clock_gettime64",
}  # fmt: skip


def syscall_name(number: int) -> str:
    """The Linux name of an o32 syscall number, or the number when it is not known."""
    return SYSCALL_NAMES.get(number, str(number))
