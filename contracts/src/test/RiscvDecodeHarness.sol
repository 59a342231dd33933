// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RiscvCompressed} from "../riscv/RiscvCompressed.sol";
import {RiscvDecode} from "../riscv/RiscvDecode.sol";

/// @title RiscvDecodeHarness
/// @notice Test-only wrapper exposing RiscvCompressed.expand and RiscvDecode.decode in
///         batches, so that tests can compare every 16-bit parcel and many 32-bit words with
///         the reference in a few calls. Not for deployment.
contract RiscvDecodeHarness {
    /// @notice The expansion of each parcel on RV`xlen`; 2^32 for a reserved one.
    function expandBatch(uint256[] calldata parcels, uint256 xlen) external pure returns (uint256[] memory words) {
        words = new uint256[](parcels.length);
        for (uint256 i = 0; i < parcels.length; i++) {
            (bool ok, uint256 word) = RiscvCompressed.expand(parcels[i], xlen);
            words[i] = ok ? word : 1 << 32;
        }
    }

    /// @notice For each word: group | kind << 8 | width << 16 | rd << 24 | rs1 << 32 |
    ///         rs2 << 40 | csr << 48, and the immediate.
    function decodeBatch(uint256[] calldata words, uint256 xlen)
        external
        pure
        returns (uint256[] memory fields, uint256[] memory imms)
    {
        fields = new uint256[](words.length);
        imms = new uint256[](words.length);
        for (uint256 i = 0; i < words.length; i++) {
            RiscvDecode.Instruction memory ins = RiscvDecode.decode(words[i], xlen);
            fields[i] = ins.group | (ins.kind << 8) | (ins.width << 16) | (ins.rd << 24) | (ins.rs1 << 32)
                | (ins.rs2 << 40) | (ins.csr << 48);
            imms[i] = ins.imm;
        }
    }
}
