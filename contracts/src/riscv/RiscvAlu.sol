// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RiscvDecode} from "./RiscvDecode.sol";

/// @title RiscvAlu
/// @notice Integer computation, LUI/AUIPC aside: the Solidity side of
///         flexemu/isa/riscv/alu.py. `a` and `b` are unsigned XLEN-bit operands (the
///         immediate forms pass the sign-extended immediate wrapped to XLEN as `b`).
library RiscvAlu {
    /// @notice The unsigned XLEN-bit result of operation `kind` (RiscvDecode.ADD ...).
    function operate(uint256 kind, uint256 a, uint256 b, uint256 xlen) internal pure returns (uint256 r) {
        uint256 mask = (1 << xlen) - 1;
        unchecked {
            if (kind == RiscvDecode.ADD) r = a + b;
            else if (kind == RiscvDecode.SUB) r = a - b;
            else if (kind == RiscvDecode.SLL) r = a << (b & (xlen - 1));
            else if (kind == RiscvDecode.SLT) r = signed(a, xlen) < signed(b, xlen) ? 1 : 0;
            else if (kind == RiscvDecode.SLTU) r = a < b ? 1 : 0;
            else if (kind == RiscvDecode.XOR) r = a ^ b;
            else if (kind == RiscvDecode.SRL) r = a >> (b & (xlen - 1));
            else if (kind == RiscvDecode.SRA) r = uint256(signed(a, xlen) >> (b & (xlen - 1)));
            else if (kind == RiscvDecode.OR) r = a | b;
            else if (kind == RiscvDecode.AND) r = a & b;
            else if (kind == RiscvDecode.ADDW) r = sext32(a + b);
            else if (kind == RiscvDecode.SUBW) r = sext32(a - b);
            else if (kind == RiscvDecode.SLLW) r = sext32(a << (b & 31));
            else if (kind == RiscvDecode.SRLW) r = sext32((a & 0xFFFFFFFF) >> (b & 31));
            else r = uint256(int256(int32(uint32(a))) >> (b & 31)); // SRAW
        }
        return r & mask;
    }

    /// @notice A register's unsigned XLEN-bit value read as two's complement.
    function signed(uint256 value, uint256 xlen) internal pure returns (int256) {
        return int256(RiscvDecode.sext(value, xlen));
    }

    /// @notice The low 32 bits sign-extended (to 256 bits; the caller wraps to XLEN).
    function sext32(uint256 value) internal pure returns (uint256) {
        return RiscvDecode.sext(value, 32);
    }
}
