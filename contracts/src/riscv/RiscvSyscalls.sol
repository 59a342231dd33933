// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LeafIO} from "../common/LeafIO.sol";
import {ProofIO} from "../common/ProofIO.sol";
import {RiscvIO} from "./RiscvIO.sol";
import {RiscvPanic} from "./RiscvPanic.sol";
import {RiscvState} from "./RiscvState.sol";

/// @title RiscvSyscalls
/// @notice The deterministic Linux subset with the RISC-V ABI: the Solidity side of
///         flexemu/isa/riscv/syscalls.py and the semantics of flexemu/kernel/linux.py
///         (docs/spec.md section R7). a7 = number, a0..a5 = arguments, the result in a0, an
///         error as -errno wrapped to XLEN.
/// @dev Python handlers return a value or raise SyscallError(errno); here they return
///      (value, errno), errno 0 meaning success. exit leaves the registers alone.
library RiscvSyscalls {
    uint256 private constant A0 = 10;
    uint256 private constant A7 = 17;
    uint256 private constant LEAF = 32;

    uint256 private constant SYS_FCNTL = 25;
    uint256 private constant SYS_READ = 63;
    uint256 private constant SYS_WRITE = 64;
    uint256 private constant SYS_WRITEV = 66;
    uint256 private constant SYS_READLINKAT = 78;
    uint256 private constant SYS_NEWFSTATAT = 79;
    uint256 private constant SYS_EXIT = 93;
    uint256 private constant SYS_EXIT_GROUP = 94;
    uint256 private constant SYS_SET_TID_ADDRESS = 96;
    uint256 private constant SYS_SET_ROBUST_LIST = 99;
    uint256 private constant SYS_GETPID = 172;
    uint256 private constant SYS_GETTID = 178;
    uint256 private constant SYS_SYSINFO = 179;
    uint256 private constant SYS_BRK = 214;
    uint256 private constant SYS_MUNMAP = 215;
    uint256 private constant SYS_MMAP = 222;
    uint256 private constant SYS_MPROTECT = 226;
    uint256 private constant SYS_MADVISE = 233;
    uint256 private constant SYS_PRLIMIT64 = 261;
    uint256 private constant SYS_GETRANDOM = 278;

    // Generic errno values.
    uint256 private constant EPERM = 1;
    uint256 private constant ENOENT = 2;
    uint256 private constant EBADF = 9;
    uint256 private constant ENOMEM = 12;
    uint256 private constant EINVAL = 22;
    uint256 private constant ENOSYS = 38;

    uint256 private constant MAP_FIXED = 0x10;
    uint256 private constant MAP_ANONYMOUS = 0x20;
    uint256 private constant BRK_LIMIT = 0x40000000;
    uint256 private constant MMAP_LIMIT = 0x7F000000;
    uint256 private constant PAGE_SIZE = 4096;
    uint256 private constant PID = 1;
    uint256 private constant IOV_MAX = 1024;
    uint256 private constant WRITEV_SCAN = 4;
    uint256 private constant RLIMIT_STACK = 3;
    uint256 private constant RLIM_NLIMITS = 16;
    uint256 private constant STACK_LIMIT = 8 << 20;
    uint256 private constant AT_EMPTY_PATH = 0x1000;

    struct Args {
        uint256 a0;
        uint256 a1;
        uint256 a2;
        uint256 a3;
    }

    /// @notice Execute the syscall in a7; sets a0 unless the program ended. Does not touch pc.
    function syscall(bytes memory w, ProofIO.IO memory io) internal pure {
        uint256 number = RiscvState.x(w, A7);
        Args memory a = Args(RiscvState.x(w, A0), RiscvState.x(w, A0 + 1), RiscvState.x(w, A0 + 2), RiscvState.x(w, A0 + 3));
        if (number == SYS_EXIT || number == SYS_EXIT_GROUP) {
            RiscvState.set(w, RiscvState.STATUS, 1, RiscvState.EXITED);
            RiscvState.set(w, RiscvState.EXIT_CODE, 1, a.a0 & 0xFF);
            return;
        }
        uint256 result;
        uint256 errno;
        if (number == SYS_READ) {
            (result, errno) = sysRead(w, io, a);
        } else if (number == SYS_WRITE) {
            (result, errno) = sysWrite(w, io, a.a0, a.a1, a.a2);
        } else if (number == SYS_WRITEV) {
            (result, errno) = sysWritev(w, io, a);
        } else if (number == SYS_BRK) {
            result = sysBrk(w, a.a0);
        } else if (number == SYS_MMAP) {
            (result, errno) = sysMmap(w, a);
        } else if (number == SYS_MUNMAP || number == SYS_MPROTECT || number == SYS_MADVISE) {
            result = 0;
        } else if (number == SYS_SET_TID_ADDRESS || number == SYS_GETPID || number == SYS_GETTID) {
            result = PID;
        } else if (number == SYS_SET_ROBUST_LIST) {
            result = 0;
        } else if (number == SYS_PRLIMIT64) {
            (result, errno) = sysPrlimit64(w, io, a);
        } else if (number == SYS_READLINKAT) {
            errno = ENOENT;
        } else if (number == SYS_GETRANDOM) {
            result = sysGetrandom(w, io, a.a0, a.a1);
        } else if (number == SYS_NEWFSTATAT && RiscvState.xlen(w) == 64) {
            (result, errno) = sysNewfstatat(w, io, a);
        } else if (number == SYS_SYSINFO) {
            sysSysinfo(w, io, a.a0);
        } else if (number == SYS_FCNTL) {
            (result, errno) = sysFcntl(a.a0, a.a1);
        } else {
            errno = ENOSYS;
        }
        unchecked {
            RiscvState.setX(w, A0, errno != 0 ? 0 - errno : result);
        }
    }

    /// @notice A user buffer is its own physical address; one reaching past 2^32 panics.
    function userBuffer(bytes memory w, ProofIO.IO memory io, uint256 vaddr, uint256 length)
        internal
        pure
        returns (uint256)
    {
        if (!RiscvIO.fits(vaddr, length)) RiscvPanic.raise(io, w, RiscvPanic.ADDRESS_OUT_OF_RANGE);
        return vaddr;
    }

    function sysRead(bytes memory w, ProofIO.IO memory io, Args memory a) internal pure returns (uint256, uint256) {
        if (a.a0 != 0) return (0, EBADF);
        uint256 pos = RiscvState.get(w, RiscvState.INPUT_POS, 4);
        uint256 inputLen = RiscvState.get(w, RiscvState.INPUT_LEN, 4);
        if (a.a2 == 0 || pos >= inputLen) return (0, 0);
        uint256 paddr = userBuffer(w, io, a.a1, 1);
        uint256 n = _min(_min(a.a2, LEAF - paddr % LEAF), _min(LEAF - pos % LEAF, inputLen - pos));
        bytes32 leaf = ProofIO.inputLeaf(io, pos / LEAF);
        LeafIO.write(io, paddr, n, leaf << (8 * (pos % LEAF)));
        RiscvState.set(w, RiscvState.INPUT_POS, 4, pos + n);
        return (n, 0);
    }

    function sysWrite(bytes memory w, ProofIO.IO memory io, uint256 fd, uint256 buf, uint256 count)
        internal
        pure
        returns (uint256, uint256)
    {
        if (fd != 1 && fd != 2) return (0, EBADF);
        if (count == 0) return (0, 0);
        uint256 paddr = userBuffer(w, io, buf, 1);
        uint256 n = _min(count, LEAF - paddr % LEAF);
        bytes32 data = LeafIO.read(io, paddr, n);
        bytes32 outputHash = bytes32(RiscvState.get(w, RiscvState.OUTPUT_HASH, 32));
        bytes32 digest;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, outputHash)
            mstore8(add(p, 32), fd)
            mstore(add(p, 33), data)
            digest := keccak256(p, add(33, n))
        }
        RiscvState.set(w, RiscvState.OUTPUT_HASH, 32, uint256(digest));
        return (n, 0);
    }

    /// @notice write() of the first non-empty iovec among the first WRITEV_SCAN.
    function sysWritev(bytes memory w, ProofIO.IO memory io, Args memory a) internal pure returns (uint256, uint256) {
        if (a.a0 != 1 && a.a0 != 2) return (0, EBADF);
        if (a.a2 > IOV_MAX) return (0, EINVAL);
        uint256 wb = RiscvState.xlen(w) / 8;
        uint256 scan = _min(a.a2, WRITEV_SCAN);
        for (uint256 i = 0; i < scan; i++) {
            uint256 entryAt = userBuffer(w, io, a.a1 + 2 * wb * i, 2 * wb);
            uint256 entry = uint256(LeafIO.read(io, entryAt, 2 * wb));
            // RV64: base ‖ len, 8 bytes each. RV32: the first 8 bytes reversed are len ‖ base.
            uint256 base = RiscvIO.swap64(entry >> 192);
            uint256 length;
            if (wb == 4) (base, length) = (base & 0xFFFFFFFF, base >> 32);
            else length = RiscvIO.swap64((entry >> 128) & type(uint64).max);
            if (length != 0) return sysWrite(w, io, a.a0, base, length);
        }
        return (0, 0);
    }

    /// @notice The break never shrinks: memory given back and taken again would not be zero.
    function sysBrk(bytes memory w, uint256 addr) internal pure returns (uint256) {
        uint256 brk = RiscvState.get(w, RiscvState.BRK, 4);
        if (brk < addr && addr <= BRK_LIMIT) {
            RiscvState.set(w, RiscvState.BRK, 4, addr);
            return addr;
        }
        return brk;
    }

    function sysMmap(bytes memory w, Args memory a) internal pure returns (uint256, uint256) {
        uint256 flags = a.a3;
        if (flags & MAP_ANONYMOUS == 0) return (0, ENOSYS);
        if (a.a1 == 0) return (0, EINVAL);
        uint256 size = (a.a1 + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE;
        if (flags & MAP_FIXED != 0) {
            if (a.a0 % PAGE_SIZE != 0) return (0, EINVAL);
            return (a.a0, 0);
        }
        uint256 start = RiscvState.get(w, RiscvState.MMAP_NEXT, 4);
        if (start > MMAP_LIMIT || size > MMAP_LIMIT - start) return (0, ENOMEM);
        RiscvState.set(w, RiscvState.MMAP_NEXT, 4, start + size);
        return (start, 0);
    }

    /// @notice Limits cannot change; reading gives an 8 MiB stack and no other limit.
    function sysPrlimit64(bytes memory w, ProofIO.IO memory io, Args memory a)
        internal
        pure
        returns (uint256, uint256)
    {
        if (a.a1 >= RLIM_NLIMITS) return (0, EINVAL);
        if (a.a2 != 0) return (0, EPERM);
        if (a.a3 != 0) {
            uint256 current = a.a1 == RLIMIT_STACK ? STACK_LIMIT : type(uint64).max;
            bytes32 data = bytes32((RiscvIO.swap64(current) << 192) | (uint256(type(uint64).max) << 128));
            LeafIO.write(io, userBuffer(w, io, a.a3, 16), 16, data);
        }
        return (0, 0);
    }

    /// @notice Deterministic bytes, never zero: keccak256("flexemu getrandom" ‖ uint64 step) | 0x01.
    function sysGetrandom(bytes memory w, ProofIO.IO memory io, uint256 buf, uint256 count)
        internal
        pure
        returns (uint256)
    {
        if (count == 0) return 0;
        uint256 paddr = userBuffer(w, io, buf, 1);
        uint256 n = _min(count, LEAF - paddr % LEAF);
        bytes32 digest = keccak256(abi.encodePacked("flexemu getrandom", uint64(RiscvState.get(w, RiscvState.STEP, 8))));
        LeafIO.write(io, paddr, n, digest | bytes32(0x0101010101010101010101010101010101010101010101010101010101010101));
        return n;
    }

    /// @notice fstat of fd 0-2 (AT_EMPTY_PATH): a pipe; any path: ENOENT. 128-byte struct stat.
    function sysNewfstatat(bytes memory w, ProofIO.IO memory io, Args memory a)
        internal
        pure
        returns (uint256, uint256)
    {
        if (a.a3 & AT_EMPTY_PATH == 0 || a.a0 > 2) return (0, ENOENT);
        bytes memory stat = new bytes(128);
        _putLE(stat, 16, 4, 0x1180); // st_mode S_IFIFO | 0600
        _putLE(stat, 20, 4, 1); // st_nlink
        _putLE(stat, 24, 4, 1000); // st_uid
        _putLE(stat, 28, 4, 1000); // st_gid
        _putLE(stat, 56, 4, 4096); // st_blksize
        LeafIO.writeBuffer(io, userBuffer(w, io, a.a2, 128), stat);
        return (0, 0);
    }

    /// @notice 1 GiB of RAM, half of it free, one process, uptime 0, no swap.
    function sysSysinfo(bytes memory w, ProofIO.IO memory io, uint256 addr) internal pure {
        uint256 wb = RiscvState.xlen(w) / 8;
        bytes memory info = new bytes(wb == 8 ? 112 : 64);
        _putLE(info, 4 * wb, wb, 1 << 30); // totalram
        _putLE(info, 5 * wb, wb, 1 << 29); // freeram
        _putLE(info, 10 * wb, 2, 1); // procs
        _putLE(info, 13 * wb, 4, 1); // mem_unit
        LeafIO.writeBuffer(io, userBuffer(w, io, addr, info.length), info);
    }

    function sysFcntl(uint256 fd, uint256 cmd) internal pure returns (uint256, uint256) {
        if (fd > 2) return (0, EBADF);
        if (cmd == 1 || cmd == 2) return (0, 0); // F_GETFD, F_SETFD
        if (cmd == 3) return (fd == 0 ? 0 : 1, 0); // F_GETFL: O_RDONLY / O_WRONLY
        return (0, EINVAL);
    }

    /// @dev Store `value` as `size` little-endian bytes at `offset` of `buffer`.
    function _putLE(bytes memory buffer, uint256 offset, uint256 size, uint256 value) private pure {
        for (uint256 i = 0; i < size; i++) {
            buffer[offset + i] = bytes1(uint8(value >> (8 * i)));
        }
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
