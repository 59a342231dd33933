"""The RISC-V syscall ABI over the ISA-neutral kernel (flexemu/kernel/linux.py): numbers,
a0 = result or -errno, leaf-bounded short counts, and the deterministic answers of the
start-up calls of static glibc. Every call also runs in proof mode and must agree."""

from __future__ import annotations

import pytest

from flexemu.isa.mips.state import Status
from flexemu.isa.riscv.panic import Panic
from flexemu.isa.riscv.state import RiscvState
from flexemu.isa.riscv.syscalls import SYSCALLS
from flexemu.keccak import keccak256
from flexemu.kernel import linux
from flexemu.memory import Memory
from flexemu.multiproof import leaf_counts
from tests.riscv_support import Machine, prove_and_check

CODE, DATA = 0x10000, 0x20000
ECALL = (0x73).to_bytes(4, "little")
A0, A7 = 10, 17
STDIN = bytes(range(100, 170))  # 70 bytes: three input leaves


def call(
    number: int, *args: int, xlen: int = 64, data: dict[int, bytes] | None = None, **fields: object
) -> tuple[Machine, RiscvState, bytes]:
    """Run one ecall with a7 = number and a0.. = args; `data` preloads memory."""
    memory = Memory()
    memory.write_bytes(CODE, ECALL)
    for addr, blob in (data or {}).items():
        memory.write_bytes(addr, blob)
    input_memory = Memory()
    input_memory.write_bytes(0, STDIN)
    state = RiscvState(xlen=xlen, pc=CODE, brk=0x30000, mmap_next=0x40000000, input_len=len(STDIN))
    state.input_root = input_memory.root()
    for name, value in fields.items():
        setattr(state, name, value)
    state.x[A7] = number
    for i, value in enumerate(args):
        state.x[A0 + i] = value % (1 << xlen)
    state.mem_root = memory.root()
    m = Machine(state, memory, input_memory)
    full, checked, proof = prove_and_check(m)
    assert checked == full
    if full.status == Status.RUNNING:
        assert full.pc == CODE + 4
    return m, full, proof


def errno(value: int, xlen: int = 64) -> int:
    return (-value) % (1 << xlen)


def test_unknown_calls_fail_with_enosys() -> None:
    for number in (0, 56, 293, 1000, (1 << 64) - 1):
        _, state, _ = call(number)
        assert state.x[A0] == errno(38)


def test_newfstatat_is_rv64_only() -> None:
    _, state, _ = call(79, 1, DATA, DATA + 64, linux.AT_EMPTY_PATH, xlen=32)
    assert state.x[A0] == errno(38, 32)


def test_write_is_bounded_by_its_leaf_and_hashes_the_output() -> None:
    _, state, proof = call(64, 1, DATA + 30, 10)
    assert state.x[A0] == 2
    assert state.output_hash == keccak256(bytes(32) + b"\x01" + bytes(2))
    assert leaf_counts(proof) == (2, 0)


def test_write_to_other_fds_fails() -> None:
    for fd in (0, 3, -1):
        _, state, _ = call(64, fd, DATA, 4)
        assert state.x[A0] == errno(9)


def test_write_buffer_past_4_gib_panics() -> None:
    _, state, _ = call(64, 1, 1 << 32, 4)
    assert (state.status, state.exit_code) == (Status.PANICKED, Panic.ADDRESS_OUT_OF_RANGE)


def test_read_is_bounded_by_the_memory_and_the_input_leaf() -> None:
    m, state, proof = call(63, 0, DATA + 4, 100, input_pos=20)
    assert state.x[A0] == 12 and state.input_pos == 32  # stops at the input leaf's end
    assert m.memory.read_bytes(DATA + 4, 12) == STDIN[20:32]
    assert leaf_counts(proof) == (2, 1)  # fetch and the memory leaf; the input leaf
    m, state, _ = call(63, 0, DATA + 28, 100, input_pos=32)
    assert state.x[A0] == 4  # stops at the memory leaf's end
    _, state, _ = call(63, 0, DATA, 100, input_pos=70)
    assert state.x[A0] == 0  # end of input
    _, state, _ = call(63, 1, DATA, 100)
    assert state.x[A0] == errno(9)


def test_writev_writes_the_first_non_empty_iovec() -> None:
    memory_fields = []
    for xlen in (32, 64):
        w = xlen // 8
        iov = DATA + 64
        entries = [(DATA, 0), (DATA + 8, 5), (DATA + 16, 3)]
        blob = b"".join(base.to_bytes(w, "little") + n.to_bytes(w, "little") for base, n in entries)
        _, state, _ = call(66, 1, iov, 3, xlen=xlen, data={iov: blob, DATA + 8: b"hello"})
        assert state.x[A0] == 5
        assert state.output_hash == keccak256(bytes(32) + b"\x01hello")
        memory_fields.append(state.output_hash)
    assert memory_fields[0] == memory_fields[1]


def test_brk_grows_never_shrinks_and_stops_at_the_mmap_area() -> None:
    assert call(214, 0)[1].x[A0] == 0x30000
    assert call(214, 0x35000)[1].brk == 0x35000
    assert call(214, 0x20000)[1].brk == 0x30000
    assert call(214, 0x40000001)[1].brk == 0x30000


def test_mmap() -> None:
    anonymous, fixed = 0x20, 0x10
    _, state, _ = call(222, 0, 5000, 3, anonymous | 0x02, -1, 0)
    assert state.x[A0] == 0x40000000 and state.mmap_next == 0x40002000
    assert call(222, 0, 4096, 3, 0x02, 3, 0)[1].x[A0] == errno(38)  # file mappings
    assert call(222, 0, 0, 3, anonymous)[1].x[A0] == errno(22)
    assert call(222, 0x50000, 4096, 3, anonymous | fixed)[1].x[A0] == 0x50000
    assert call(222, 0x50001, 4096, 3, anonymous | fixed)[1].x[A0] == errno(22)
    assert call(222, 0, 1 << 40, 3, anonymous)[1].x[A0] == errno(12)


def test_exit_group_and_exit() -> None:
    for number in (93, 94):
        _, state, _ = call(number, 0x1234)
        assert (state.status, state.exit_code) == (Status.EXITED, 0x34)
        assert state.vm_status == 1


def test_getrandom_is_deterministic_non_zero_and_leaf_bounded() -> None:
    m, state, _ = call(278, DATA + 20, 64, 0, step=99)
    assert state.x[A0] == 12
    data = m.memory.read_bytes(DATA + 20, 12)
    assert all(data) and data == bytes(
        b | 1 for b in keccak256(b"flexemu getrandom" + (99).to_bytes(8, "big"))[:12]
    )
    other, _, _ = call(278, DATA + 20, 64, 0, step=100)
    assert other.memory.read_bytes(DATA + 20, 12) != data


def test_newfstatat_of_stdout_is_a_pipe() -> None:
    m, state, proof = call(79, 1, DATA, DATA + 64, linux.AT_EMPTY_PATH)
    assert state.x[A0] == 0
    stat = m.memory.read_bytes(DATA + 64, 128)
    assert int.from_bytes(stat[16:20], "little") == 0o010600
    assert int.from_bytes(stat[56:60], "little") == 4096
    assert leaf_counts(proof) == (5, 0)  # fetch + 4 leaves of struct stat
    assert call(79, -100 % (1 << 64), DATA, DATA + 64, 0)[1].x[A0] == errno(2)


@pytest.mark.parametrize("xlen", [32, 64])
def test_sysinfo(xlen: int) -> None:
    w = xlen // 8
    m, state, _ = call(179, DATA, xlen=xlen)
    info = m.memory.read_bytes(DATA, 112 if w == 8 else 64)
    assert state.x[A0] == 0
    assert int.from_bytes(info[4 * w : 5 * w], "little") == linux.TOTAL_RAM
    assert int.from_bytes(info[10 * w : 10 * w + 2], "little") == 1  # procs
    assert int.from_bytes(info[13 * w : 13 * w + 4], "little") == 1  # mem_unit


def test_prlimit64_reads_limits_and_refuses_changes() -> None:
    m, state, _ = call(261, 0, 3, 0, DATA)
    assert state.x[A0] == 0
    assert m.memory.read_bytes(DATA, 16) == (8 << 20).to_bytes(8, "little") + b"\xff" * 8
    assert call(261, 0, 7, DATA, 0)[1].x[A0] == errno(1)
    assert call(261, 0, 99, 0, DATA)[1].x[A0] == errno(22)


def test_small_calls() -> None:
    assert call(96, DATA)[1].x[A0] == 1  # set_tid_address
    assert call(99, DATA, 24)[1].x[A0] == 0  # set_robust_list
    assert call(226, DATA, 4096, 1)[1].x[A0] == 0  # mprotect
    assert call(215, DATA, 4096)[1].x[A0] == 0  # munmap
    assert call(78, -100 % (1 << 64), DATA, DATA, 64)[1].x[A0] == errno(2)  # readlinkat
    assert call(25, 1, 3)[1].x[A0] == 1  # fcntl F_GETFL
    assert call(25, 0, 3)[1].x[A0] == 0
    assert call(25, 1, 1)[1].x[A0] == 0  # F_GETFD
    assert call(25, 5, 1)[1].x[A0] == errno(9)
    assert call(25, 1, 1030)[1].x[A0] == errno(22)


def test_every_listed_number_is_implemented() -> None:
    listed = {214, 96, 99, 261, 78, 278, 226, 79, 63, 64, 66, 179, 222, 215, 93, 94, 25}
    assert listed <= set(SYSCALLS[64])
    assert listed - {79} <= set(SYSCALLS[32])
