// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MipsAddress} from "./MipsAddress.sol";
import {MipsState} from "./MipsState.sol";
import {ProofIO} from "../common/ProofIO.sol";

/// @title MipsSyscalls
/// @notice The deterministic kernel: the Solidity side of flexemu/mips/syscalls.py, with the
///         constants of flexemu/mips/abi.py (docs/spec.md section 7).
/// @dev Every call touches at most one memory leaf and one input leaf. Python handlers return
///      a value or raise SyscallError(errno); here they return (value, errno), errno 0 meaning
///      success. exit is handled apart because it leaves the registers alone.
library MipsSyscalls {
    using MipsState for MipsState.State;

    uint256 private constant LEAF = 32;

    // Registers by o32 name.
    uint256 private constant V0 = 2;
    uint256 private constant A0 = 4;
    uint256 private constant A1 = 5;
    uint256 private constant A2 = 6;
    uint256 private constant A3 = 7;

    // Address space.
    uint256 private constant MMAP_LIMIT = 0x7F000000;
    uint256 private constant BRK_LIMIT = 0x40000000;
    uint256 private constant PAGE_SIZE = 4096;

    // Syscall numbers (o32: 4000 + the Linux number).
    uint256 private constant SYS_EXIT = 4001;
    uint256 private constant SYS_READ = 4003;
    uint256 private constant SYS_WRITE = 4004;
    uint256 private constant SYS_GETPID = 4020;
    uint256 private constant SYS_BRK = 4045;
    uint256 private constant SYS_FCNTL = 4055;
    uint256 private constant SYS_MMAP = 4090;
    uint256 private constant SYS_MUNMAP = 4091;
    uint256 private constant SYS_MPROTECT = 4125;
    uint256 private constant SYS_MMAP2 = 4210;
    uint256 private constant SYS_FCNTL64 = 4220;
    uint256 private constant SYS_MADVISE = 4218;
    uint256 private constant SYS_GETTID = 4222;
    uint256 private constant SYS_EXIT_GROUP = 4246;
    uint256 private constant SYS_SET_TID_ADDRESS = 4252;
    uint256 private constant SYS_SET_THREAD_AREA = 4283;

    // errno values (MIPS numbering).
    uint32 private constant EBADF = 9;
    uint32 private constant ENOMEM = 12;
    uint32 private constant EFAULT = 14;
    uint32 private constant EINVAL = 22;
    uint32 private constant ENOSYS = 89;

    // fcntl commands and access modes (the same numbers on MIPS).
    uint32 private constant F_GETFD = 1;
    uint32 private constant F_SETFD = 2;
    uint32 private constant F_GETFL = 3;
    uint32 private constant O_RDONLY = 0;
    uint32 private constant O_WRONLY = 1;

    // mmap flags (MIPS values).
    uint32 private constant MAP_FIXED = 0x010;
    uint32 private constant MAP_ANONYMOUS = 0x800;

    /// @notice The pid and tid every program sees.
    uint32 private constant PID = 1;

    /// @notice Execute the syscall the registers describe; updates registers, not pc.
    function syscall(MipsState.State memory s, ProofIO.IO memory io) internal pure {
        uint256 number = s.reg(V0);
        (uint32 a0, uint32 a1, uint32 a2, uint32 a3) = (s.reg(A0), s.reg(A1), s.reg(A2), s.reg(A3));
        if (number == SYS_EXIT || number == SYS_EXIT_GROUP) {
            sysExit(s, a0);
            return;
        }
        uint32 result;
        uint32 errno;
        if (number == SYS_READ) {
            (result, errno) = sysRead(s, io, a0, a1, a2);
        } else if (number == SYS_WRITE) {
            (result, errno) = sysWrite(s, io, a0, a1, a2);
        } else if (number == SYS_BRK) {
            result = sysBrk(s, a0);
        } else if (number == SYS_FCNTL || number == SYS_FCNTL64) {
            (result, errno) = sysFcntl(a0, a1);
        } else if (number == SYS_MMAP || number == SYS_MMAP2) {
            (result, errno) = sysMmap(s, a0, a1, a3);
        } else if (number == SYS_MUNMAP || number == SYS_MPROTECT || number == SYS_MADVISE) {
            result = 0;
        } else if (number == SYS_SET_THREAD_AREA) {
            result = sysSetThreadArea(s, a0);
        } else if (
            number == SYS_SET_TID_ADDRESS || number == SYS_GETPID || number == SYS_GETTID
        ) {
            result = PID;
        } else {
            errno = ENOSYS;
        }
        if (errno != 0) {
            s.setReg(V0, errno);
            s.setReg(A3, 1);
        } else {
            s.setReg(V0, result);
            s.setReg(A3, 0);
        }
    }

    function sysExit(MipsState.State memory s, uint32 code) internal pure {
        s.status = MipsState.EXITED;
        s.exitCode = uint8(code & 0xFF);
    }

    function sysRead(
        MipsState.State memory s,
        ProofIO.IO memory io,
        uint32 fd,
        uint32 buf,
        uint32 count
    ) internal pure returns (uint32, uint32) {
        if (fd != 0) return (0, EBADF);
        if (count == 0 || s.inputPos >= s.inputLen) return (0, 0);
        (uint256 paddr, uint32 errno) = _buffer(buf);
        if (errno != 0) return (0, errno);
        uint256 pos = s.inputPos;
        uint256 n = _min(
            _min(count, LEAF - (paddr % LEAF)), _min(LEAF - (pos % LEAF), s.inputLen - pos)
        );
        bytes32 leaf = ProofIO.inputLeaf(io, pos / LEAF);
        writeLeafBytes(io, paddr, leaf << (8 * (pos % LEAF)), n);
        s.inputPos = uint32(pos + n);
        return (uint32(n), 0);
    }

    function sysWrite(
        MipsState.State memory s,
        ProofIO.IO memory io,
        uint32 fd,
        uint32 buf,
        uint32 count
    ) internal pure returns (uint32, uint32) {
        if (fd != 1 && fd != 2) return (0, EBADF);
        if (count == 0) return (0, 0);
        (uint256 paddr, uint32 errno) = _buffer(buf);
        if (errno != 0) return (0, errno);
        uint256 n = _min(count, LEAF - (paddr % LEAF));
        bytes memory data = readLeafBytes(io, paddr, n);
        s.outputHash = keccak256(abi.encodePacked(s.outputHash, uint8(fd), data));
        return (uint32(n), 0);
    }

    /// @dev The break never shrinks: memory given back and taken again would not be zero.
    function sysBrk(MipsState.State memory s, uint32 addr) internal pure returns (uint32) {
        if (s.brk < addr && addr <= BRK_LIMIT) s.brk = addr;
        return s.brk;
    }

    function sysMmap(MipsState.State memory s, uint32 addr, uint32 length, uint32 flags)
        internal
        pure
        returns (uint32, uint32)
    {
        if (flags & MAP_ANONYMOUS == 0) return (0, ENOSYS);
        if (length == 0) return (0, EINVAL);
        uint256 size = (uint256(length) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1); // may be 2^32
        if (flags & MAP_FIXED != 0) {
            if (addr & (PAGE_SIZE - 1) != 0) return (0, EINVAL);
            return (addr, 0);
        }
        uint256 start = s.mmapNext;
        if (start + size > MMAP_LIMIT) return (0, ENOMEM); // size > MMAP_LIMIT - start
        s.mmapNext = uint32(start + size);
        return (uint32(start), 0);
    }

    /// @dev The deterministic subset for the three standard descriptors: no FD_CLOEXEC,
    ///      F_SETFD changes nothing, stdin read-only, stdout and stderr write-only.
    function sysFcntl(uint32 fd, uint32 command) internal pure returns (uint32, uint32) {
        if (fd > 2) return (0, EBADF);
        if (command == F_GETFD || command == F_SETFD) return (0, 0);
        if (command == F_GETFL) return (fd == 0 ? O_RDONLY : O_WRONLY, 0);
        return (0, EINVAL);
    }

    function sysSetThreadArea(MipsState.State memory s, uint32 addr) internal pure returns (uint32) {
        s.tls = addr;
        return 0;
    }

    /// @notice `length` bytes from `paddr`, all inside one leaf, read word by word.
    function readLeafBytes(ProofIO.IO memory io, uint256 paddr, uint256 length)
        internal
        pure
        returns (bytes memory data)
    {
        data = new bytes(length);
        uint256 end = paddr + length;
        for (uint256 addr = paddr & ~uint256(3); addr < end; addr += 4) {
            uint32 word = ProofIO.readWord(io, addr);
            for (uint256 i = 0; i < 4; ++i) {
                if (paddr <= addr + i && addr + i < end) {
                    data[addr + i - paddr] = bytes1(uint8(word >> (24 - 8 * i)));
                }
            }
        }
    }

    /// @notice Write the first `length` bytes of `data` inside one leaf at `paddr`, merging
    ///         partial words.
    function writeLeafBytes(ProofIO.IO memory io, uint256 paddr, bytes32 data, uint256 length)
        internal
        pure
    {
        uint256 end = paddr + length;
        for (uint256 addr = paddr & ~uint256(3); addr < end; addr += 4) {
            uint32 word = ProofIO.readWord(io, addr);
            for (uint256 i = 0; i < 4; ++i) {
                if (paddr <= addr + i && addr + i < end) {
                    uint256 shift = 24 - 8 * i;
                    uint32 value = uint32(uint8(data[addr + i - paddr]));
                    word = uint32((word & ~(uint256(0xFF) << shift)) | (uint256(value) << shift));
                }
            }
            ProofIO.writeWord(io, addr, word);
        }
    }

    /// @dev Physical address of a user buffer; kernel addresses fail with EFAULT.
    function _buffer(uint32 vaddr) private pure returns (uint256 paddr, uint32 errno) {
        if (vaddr >= MipsAddress.KSEG2) return (0, EFAULT);
        paddr = MipsAddress.unmapped(vaddr);
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
