// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LeafIO} from "../common/LeafIO.sol";
import {ProofIO} from "../common/ProofIO.sol";

/// @title RiscvIO
/// @notice How a RISC-V step touches memory: the Solidity side of flexemu/isa/riscv/io.py.
///         The physical space is 32 bits for RV32 and RV64 alike; values are little-endian
///         (bytes in address order) over the leaf-level access of LeafIO.
library RiscvIO {
    uint256 internal constant ADDRESS_LIMIT = 1 << 32;

    /// @notice Whether bytes addr .. addr+length-1 all lie in the 32-bit physical space.
    function fits(uint256 addr, uint256 length) internal pure returns (bool) {
        return addr < ADDRESS_LIMIT && addr + length <= ADDRESS_LIMIT;
    }

    /// @notice The unsigned little-endian value of `width` (<= 8) bytes at `addr`.
    function load(ProofIO.IO memory io, uint256 addr, uint256 width) internal pure returns (uint256) {
        return swap64(uint256(LeafIO.read(io, addr, width)) >> 192);
    }

    /// @notice Store the low `width` (<= 8) bytes of `value` little-endian at `addr`.
    function store(ProofIO.IO memory io, uint256 addr, uint256 width, uint256 value) internal pure {
        uint256 masked = width == 8 ? value & type(uint64).max : value & ((1 << (8 * width)) - 1);
        LeafIO.write(io, addr, width, bytes32(swap64(masked) << 192));
    }

    /// @notice The 8 bytes of `v` (< 2^64) in reverse order: little-endian <-> address order.
    function swap64(uint256 v) internal pure returns (uint256) {
        v = ((v & 0x00FF00FF00FF00FF) << 8) | ((v >> 8) & 0x00FF00FF00FF00FF);
        v = ((v & 0x0000FFFF0000FFFF) << 16) | ((v >> 16) & 0x0000FFFF0000FFFF);
        return ((v & 0xFFFFFFFF) << 32) | (v >> 32);
    }
}
