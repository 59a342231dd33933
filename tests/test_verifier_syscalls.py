"""Every syscall of the kernel table (docs/spec.md section 7) on the EVM against the reference.

Why: a syscall is the one kind of step whose effect depends on proofs of two
trees (memory and input) and on bounds arithmetic (leaf boundaries, short
counts, limits) that is easy to get subtly different in Solidity. Each case
is one SYSCALL step from a built pre-state; the reference proves it and the
EVM's `stepFrom` must return the same post-state hash, consuming exactly the
leaf proofs the reference recorded (one less: ProofTruncated, one more:
ProofOversized).

Every case also states what the spec says the call returns (v0, a3 and the
fields it changes). That is checked against the reference first, so a case
that stopped reaching the path it names (a typo in a register, a boundary
off by one) fails loudly instead of silently testing something else.
"""

from __future__ import annotations

import random

import pytest
from step_cases import (
    CODE,
    DATA,
    KSEG0,
    KSEG1,
    KSEG2,
    StepCase,
    Verifier,
    assert_evm_agrees,
    assert_exact_proof,
    deploy_verifier,
    prove,
)

from flexemu.isa.mips import abi
from flexemu.isa.mips.state import State, Status
from flexemu.keccak import keccak256
from flexemu.merkle import PAGE_BYTES
from flexemu.proof import check

MASK32 = 0xFFFF_FFFF
SYSCALL = 0x0000_000C
BRK = 0x0050_0000
PAGE = random.Random("flexemu syscall page").randbytes(PAGE_BYTES)
STDIN = bytes(range(0x41, 0x41 + 70))  # 70 bytes: two full input leaves and 6 bytes
OUT = bytes.fromhex("5a" * 32)  # an output hash from earlier writes

EBADF, ENOMEM, EFAULT, EINVAL, ENOSYS = abi.EBADF, abi.ENOMEM, abi.EFAULT, abi.EINVAL, abi.ENOSYS
#: fcntl and fcntl64 (F_GETLK64 is 33 on o32): one subset, the same answers.
FCNTL_CALLS = (("fcntl", abi.SYS_FCNTL), ("fcntl64", abi.SYS_FCNTL64))


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return deploy_verifier()


def call(number: int, a0: int = 0, a1: int = 0, a2: int = 0, a3: int = 0x77, *,
         pc: int = CODE, next_pc: int | None = None, code: int = 0, **fields: object) -> StepCase:
    """A SYSCALL step with v0 = `number` and a0..a3 over the standard page and stdin."""
    regs = {abi.V0: number, abi.A0: a0, abi.A1: a1, abi.A2: a2, abi.A3: a3, 16: 0xC0FFEE}
    state_fields = {"brk": BRK, "mmap_next": abi.MMAP_BASE, "output_hash": OUT,
                    "tls": 0x1111_2222, **fields}
    stdin = state_fields.pop("stdin", STDIN)
    return StepCase([SYSCALL | (code << 6), 0], pc, next_pc, regs, {DATA: PAGE}, stdin,
                    state_fields)


def ok(value: int, **changes: object) -> dict[str, object]:
    return {"v0": value, "a3": 0, **changes}


def error(errno: int) -> dict[str, object]:
    return {"v0": errno, "a3": 1}


def read(n: int, pos: int = 0) -> dict[str, object]:
    return ok(n, input_pos=pos + n)


def written(fd: int, address: int, n: int) -> dict[str, object]:
    """What a write of `n` bytes of PAGE at physical `address` leaves: its hash chain."""
    data = PAGE[address - DATA : address - DATA + n]
    return ok(n, output_hash=keccak256(OUT + bytes([fd]) + data))


R, W = abi.SYS_READ, abi.SYS_WRITE
CASES: dict[str, tuple[StepCase, dict[str, object]]] = {
    # ---- exit, exit_group: status, exit_code = a0 & 0xFF, registers untouched
    **{f"exit {code}": (call(abi.SYS_EXIT, code), {"status": Status.EXITED,
                                                    "exit_code": code & 0xFF, "v0": 4001,
                                                    "a3": 0x77})
       for code in (0, 1, 7, 255, 256, 0x1_0001, MASK32)},
    **{f"exit_group {code}": (call(abi.SYS_EXIT_GROUP, code), {"status": Status.EXITED,
                                                                "exit_code": code & 0xFF})
       for code in (0, 1, 255, 256)},
    "exit in a delay slot": (call(abi.SYS_EXIT, 3, next_pc=CODE + 0x100),
                             {"status": Status.EXITED, "exit_code": 3}),
    # ---- read(fd, buf, count)
    "read fd 1": (call(R, 1, DATA + 0x40, 10), error(EBADF)),
    "read fd -1": (call(R, MASK32, DATA + 0x40, 10), error(EBADF)),
    "read fd 1 count 0": (call(R, 1, DATA + 0x40, 0), error(EBADF)),
    "read fd 1 kernel buf": (call(R, 1, KSEG2, 10), error(EBADF)),
    "read count 0": (call(R, 0, DATA + 0x40, 0), read(0)),
    "read count 0 kernel buf": (call(R, 0, KSEG2, 0), read(0)),
    "read exhausted": (call(R, 0, DATA + 0x40, 10, input_pos=70), read(0, 70)),
    "read exhausted kernel buf": (call(R, 0, KSEG2, 10, input_pos=70), read(0, 70)),
    "read past the end": (call(R, 0, DATA + 0x40, 10, input_pos=75), read(0, 75)),
    "read no input": (call(R, 0, DATA + 0x40, 10, stdin=b""), read(0)),
    "read 10": (call(R, 0, DATA + 0x40, 10), read(10)),
    "read 1": (call(R, 0, DATA + 0x40, 1), read(1)),
    "read a whole leaf": (call(R, 0, DATA + 0x40, 32), read(32)),
    "read count -1": (call(R, 0, DATA + 0x40, MASK32), read(32)),
    "read crossing a memory leaf": (call(R, 0, DATA + 0x5E, 10), read(2)),
    "read last byte of a memory leaf": (call(R, 0, DATA + 0x3F, 10), read(1)),
    "read crossing an input leaf": (call(R, 0, DATA + 0x40, 10, input_pos=30), read(2, 30)),
    "read last byte of an input leaf": (call(R, 0, DATA + 0x40, 10, input_pos=31), read(1, 31)),
    "read second input leaf": (call(R, 0, DATA + 0x40, 40, input_pos=32), read(32, 32)),
    "read to the end of input": (call(R, 0, DATA + 0x40, 10, input_pos=65), read(5, 65)),
    "read the last input byte": (call(R, 0, DATA + 0x40, 10, input_pos=69), read(1, 69)),
    "read both boundaries": (call(R, 0, DATA + 0x5B, 30, input_pos=60), read(4, 60)),
    "read odd buf and pos": (call(R, 0, DATA + 0x43, 7, input_pos=5), read(7, 5)),
    "read partial words": (call(R, 0, DATA + 0x45, 2, input_pos=1), read(2, 1)),
    "read into kseg0": (call(R, 0, KSEG0 + DATA + 0x40, 10), read(10)),
    "read into kseg1": (call(R, 0, KSEG1 + DATA + 0x47, 9, input_pos=3), read(9, 3)),
    "read into the last kseg1 byte": (call(R, 0, KSEG2 - 1, 9), read(1)),
    "read into the top of kuseg": (call(R, 0, KSEG0 - 2, 9), read(2)),
    "read into the instruction's leaf": (call(R, 0, CODE + 8, 16), read(16)),
    "read over the instruction": (call(R, 0, CODE, 4), read(4)),
    "read into address 0": (call(R, 0, 0, 8), read(8)),
    "read efault": (call(R, 0, KSEG2, 10), error(EFAULT)),
    "read efault top": (call(R, 0, MASK32, 1), error(EFAULT)),
    "read 33-byte input": (call(R, 0, DATA + 0x40, 32, input_pos=32, stdin=STDIN[:33]),
                           read(1, 32)),
    "read 32-byte input exhausted": (call(R, 0, DATA + 0x40, 32, input_pos=32,
                                          stdin=STDIN[:32]), read(0, 32)),
    # ---- write(fd, buf, count)
    "write fd 1": (call(W, 1, DATA + 0x40, 10), written(1, DATA + 0x40, 10)),
    "write fd 2": (call(W, 2, DATA + 0x40, 10), written(2, DATA + 0x40, 10)),
    "write fd 0": (call(W, 0, DATA + 0x40, 10), error(EBADF)),
    "write fd 3": (call(W, 3, DATA + 0x40, 10), error(EBADF)),
    "write fd -1": (call(W, MASK32, DATA + 0x40, 10), error(EBADF)),
    "write fd 257": (call(W, 257, DATA + 0x40, 10), error(EBADF)),
    "write fd 0 count 0": (call(W, 0, DATA + 0x40, 0), error(EBADF)),
    "write count 0": (call(W, 1, DATA + 0x40, 0), ok(0, output_hash=OUT)),
    "write count 0 kernel buf": (call(W, 2, KSEG2, 0), ok(0, output_hash=OUT)),
    "write 1": (call(W, 1, DATA + 0x47, 1), written(1, DATA + 0x47, 1)),
    "write a whole leaf": (call(W, 1, DATA + 0x40, 32), written(1, DATA + 0x40, 32)),
    "write count -1": (call(W, 2, DATA + 0x40, MASK32), written(2, DATA + 0x40, 32)),
    "write crossing a leaf": (call(W, 1, DATA + 0x5E, 10), written(1, DATA + 0x5E, 2)),
    "write last byte of a leaf": (call(W, 1, DATA + 0x3F, 10), written(1, DATA + 0x3F, 1)),
    "write odd start": (call(W, 2, DATA + 0x43, 6), written(2, DATA + 0x43, 6)),
    "write from kseg0": (call(W, 1, KSEG0 + DATA + 0x41, 5), written(1, DATA + 0x41, 5)),
    "write from kseg1": (call(W, 1, KSEG1 + DATA + 0x41, 31), written(1, DATA + 0x41, 31)),
    "write the instruction's leaf": (call(W, 1, CODE, 8), {"v0": 8, "a3": 0}),
    "write untouched memory": (call(W, 1, 0x0123_4560, 16), {"v0": 16, "a3": 0}),
    "write efault": (call(W, 1, KSEG2, 10), error(EFAULT)),
    "write efault top": (call(W, 2, 0xFFFF_FFF0, 10), error(EFAULT)),
    # ---- brk(addr): grows only, up to BRK_LIMIT; returns the break
    "brk 0": (call(abi.SYS_BRK, 0), ok(BRK, brk=BRK)),
    "brk below": (call(abi.SYS_BRK, BRK - 4096), ok(BRK, brk=BRK)),
    "brk at": (call(abi.SYS_BRK, BRK), ok(BRK, brk=BRK)),
    "brk above": (call(abi.SYS_BRK, BRK + 1), ok(BRK + 1, brk=BRK + 1)),
    "brk page above": (call(abi.SYS_BRK, BRK + 0x2_1000), ok(BRK + 0x2_1000, brk=BRK + 0x2_1000)),
    "brk at the limit": (call(abi.SYS_BRK, abi.BRK_LIMIT), ok(abi.BRK_LIMIT, brk=abi.BRK_LIMIT)),
    "brk above the limit": (call(abi.SYS_BRK, abi.BRK_LIMIT + 1), ok(BRK, brk=BRK)),
    "brk -1": (call(abi.SYS_BRK, MASK32), ok(BRK, brk=BRK)),
    "brk kseg0": (call(abi.SYS_BRK, KSEG0 + BRK + 4), ok(BRK, brk=BRK)),
    "brk from the limit": (call(abi.SYS_BRK, abi.BRK_LIMIT - 1, brk=abi.BRK_LIMIT),
                           ok(abi.BRK_LIMIT, brk=abi.BRK_LIMIT)),
    "brk from beyond the limit": (call(abi.SYS_BRK, abi.BRK_LIMIT, brk=0x5000_0000),
                                  ok(0x5000_0000, brk=0x5000_0000)),
    "brk from 0": (call(abi.SYS_BRK, 4, brk=0), ok(4, brk=4)),
}

MMAP_BASE, MMAP_LIMIT, ANON, FIXED = abi.MMAP_BASE, abi.MMAP_LIMIT, abi.MAP_ANONYMOUS, abi.MAP_FIXED
PRIVATE = 0x002
for number, name in ((abi.SYS_MMAP, "mmap"), (abi.SYS_MMAP2, "mmap2")):
    CASES.update({
        f"{name} 1 page": (call(number, 0, 4096, 3, ANON | PRIVATE),
                           ok(MMAP_BASE, mmap_next=MMAP_BASE + 4096)),
        f"{name} 1 byte": (call(number, 0, 1, 3, ANON), ok(MMAP_BASE, mmap_next=MMAP_BASE + 4096)),
        f"{name} page + 1": (call(number, 0x1234, 4097, 0, ANON),
                             ok(MMAP_BASE, mmap_next=MMAP_BASE + 8192)),
        f"{name} file-backed": (call(number, 0, 4096, 3, PRIVATE), error(ENOSYS)),
        f"{name} generic MAP_ANONYMOUS": (call(number, 0, 4096, 3, 0x20), error(ENOSYS)),
        f"{name} len 0": (call(number, 0, 0, 3, ANON), error(EINVAL)),
        f"{name} len 0 file-backed": (call(number, 0, 0, 3, 0), error(ENOSYS)),
        f"{name} fixed": (call(number, 0x5000_0000, 8192, 3, ANON | FIXED),
                          ok(0x5000_0000, mmap_next=MMAP_BASE)),
        f"{name} fixed at 0": (call(number, 0, 1, 3, ANON | FIXED), ok(0, mmap_next=MMAP_BASE)),
        f"{name} fixed unaligned": (call(number, 0x5000_0010, 8192, 3, ANON | FIXED),
                                    error(EINVAL)),
        f"{name} fixed len 0": (call(number, 0x5000_0000, 0, 3, ANON | FIXED), error(EINVAL)),
        f"{name} fixed huge": (call(number, 0x5000_0000, MASK32, 3, ANON | FIXED),
                               ok(0x5000_0000, mmap_next=MMAP_BASE)),
        f"{name} fixed kernel": (call(number, 0xF000_0000, 4096, 3, ANON | FIXED),
                                 ok(0xF000_0000)),
        f"{name} all flags": (call(number, 0x6000_0000, 4096, 3, MASK32), ok(0x6000_0000)),
        f"{name} up to the limit": (call(number, 0, MMAP_LIMIT - MMAP_BASE, 3, ANON),
                                    ok(MMAP_BASE, mmap_next=MMAP_LIMIT)),
        f"{name} one page over the limit": (call(number, 0, MMAP_LIMIT - MMAP_BASE + 1, 3, ANON),
                                            error(ENOMEM)),
        f"{name} last page": (call(number, 0, 4096, 3, ANON, mmap_next=MMAP_LIMIT - 4096),
                              ok(MMAP_LIMIT - 4096, mmap_next=MMAP_LIMIT)),
        f"{name} enomem": (call(number, 0, 8192, 3, ANON, mmap_next=MMAP_LIMIT - 4096),
                           error(ENOMEM)),
        f"{name} enomem at the limit": (call(number, 0, 1, 3, ANON, mmap_next=MMAP_LIMIT),
                                        error(ENOMEM)),
        f"{name} len -1": (call(number, 0, MASK32, 3, ANON), error(ENOMEM)),
        f"{name} len rounds to 4 GiB": (call(number, 0, 0xFFFF_F001, 3, ANON), error(ENOMEM)),
        f"{name} len 2 GiB": (call(number, 0, 0x8000_0000, 3, ANON), error(ENOMEM)),
        f"{name} from beyond the limit": (call(number, 0, 1, 3, ANON, mmap_next=MMAP_LIMIT + 4096),
                                          error(ENOMEM)),
        f"{name} from 0": (call(number, 0, 4096, 3, ANON, mmap_next=0),
                           ok(0, mmap_next=4096)),
    })

CASES.update({
    **{f"{name} {args}": (call(number, *args), ok(0))
       for number, name in ((abi.SYS_MUNMAP, "munmap"), (abi.SYS_MPROTECT, "mprotect"),
                            (abi.SYS_MADVISE, "madvise"))
       for args in ((MMAP_BASE, 4096, 3), (KSEG2, MASK32, MASK32))},
    # ---- fcntl(fd, cmd) and fcntl64 (glibc's fcntl on o32): the standard descriptors only;
    # no FD_CLOEXEC, fixed access modes
    **{f"{call_name} {fd} {name}": (call(number, fd, command, 1), ok(value))
       for call_name, number in FCNTL_CALLS
       for fd in (0, 1, 2)
       for name, command, value in (
           ("F_GETFD", abi.F_GETFD, 0), ("F_SETFD", abi.F_SETFD, 0),
           ("F_GETFL", abi.F_GETFL, abi.O_RDONLY if fd == 0 else abi.O_WRONLY))},
    **{f"{call_name} fd {fd}": (call(number, fd, abi.F_GETFL), error(EBADF))
       for call_name, number in FCNTL_CALLS for fd in (3, 257, MASK32)},
    **{f"{call_name} bad fd and bad command": (call(number, 3, 99), error(EBADF))
       for call_name, number in FCNTL_CALLS},
    **{f"{call_name} command {command}": (call(number, 1, command), error(EINVAL))
       for call_name, number in FCNTL_CALLS for command in (0, 4, 1030, 33, MASK32)},
    "set_thread_area": (call(abi.SYS_SET_THREAD_AREA, 0x7FFF_7000), ok(0, tls=0x7FFF_7000)),
    "set_thread_area 0": (call(abi.SYS_SET_THREAD_AREA, 0), ok(0, tls=0)),
    "set_thread_area -1": (call(abi.SYS_SET_THREAD_AREA, MASK32), ok(0, tls=MASK32)),
    "set_tid_address": (call(abi.SYS_SET_TID_ADDRESS, DATA), ok(abi.PID)),
    "getpid": (call(abi.SYS_GETPID), ok(abi.PID)),
    "gettid": (call(abi.SYS_GETTID, 5, 6, 7), ok(abi.PID)),
    **{f"unknown {number}": (call(number, 1, DATA, 10), error(ENOSYS))
       for number in (0, 1, 3, 4000, 4002, 4005, 4166, 4999, 5000, 0x1_0FA3, 0x1000_0FA3,
                      0xFFFF_0FA3, MASK32)},
    # ---- how the step around the call behaves
    "write in a delay slot": (call(W, 1, DATA + 0x40, 4, next_pc=CODE + 0x100),
                              written(1, DATA + 0x40, 4)),
    "read in a delay slot": (call(R, 0, DATA + 0x40, 4, next_pc=KSEG0 + 0x100), read(4)),
    "read fetched through kseg0": (call(R, 0, DATA + 0x40, 4, pc=KSEG0 + CODE), read(4)),
    "write fetched through kseg1": (call(W, 2, DATA + 0x40, 4, pc=KSEG1 + CODE),
                                    written(2, DATA + 0x40, 4)),
    "syscall with a code": (call(abi.SYS_GETPID, code=0xFFFFF), ok(abi.PID)),
    "syscall nullified": (call(abi.SYS_EXIT, 1, pc=CODE + 1), {"status": Status.RUNNING,
                                                               "pc": CODE + 4}),
    "syscall after exit": (call(abi.SYS_WRITE, 1, DATA, 4, status=Status.EXITED, exit_code=4),
                           {"status": Status.EXITED, "v0": W, "output_hash": OUT}),
})


def expect(post: State, expected: dict[str, object]) -> None:
    """The reference's post-state is what the spec says the call does."""
    registers = {"v0": abi.V0, "a3": abi.A3}
    for name, value in expected.items():
        actual = post.regs[registers[name]] if name in registers else getattr(post, name)
        assert actual == value, f"{name}: reference {actual!r}, spec {value!r}"
    if post.status == Status.RUNNING and "pc" not in expected:
        assert post.regs[16] == 0xC0FFEE  # no syscall touches other registers


@pytest.mark.parametrize("name", list(CASES))
def test_syscall(verifier: Verifier, name: str) -> None:
    case, expected = CASES[name]
    proven = prove(case)
    expect(proven.post, expected)
    assert check(proven.witness, proven.proof).hash() == proven.post_hash  # from the proof alone
    assert_evm_agrees(verifier, proven, name)
    assert_exact_proof(verifier, proven)
