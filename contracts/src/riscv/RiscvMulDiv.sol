// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RiscvAlu} from "./RiscvAlu.sol";
import {RiscvDecode} from "./RiscvDecode.sol";

/// @title RiscvMulDiv
/// @notice The M extension: the Solidity side of flexemu/isa/riscv/muldiv.py. Division
///         never traps: by zero the quotient is all ones and the remainder the dividend;
///         MIN / -1 gives MIN and remainder 0. Kinds 0-7 are funct3 of the XLEN forms
///         (mul mulh mulhsu mulhu div divu rem remu), 8 + funct3 the RV64 *W forms.
library RiscvMulDiv {
    /// @notice Signed division rounding toward zero, -1 for d = 0 (muldiv.quotient).
    function quotient(int256 n, int256 d) internal pure returns (int256) {
        if (d == 0) return -1;
        return n / d; // operands are at most 64-bit: no int256 overflow
    }

    /// @notice The remainder matching `quotient` (sign of the dividend); n for d = 0.
    function remainder(int256 n, int256 d) internal pure returns (int256) {
        if (d == 0) return n;
        return n % d;
    }

    /// @notice The unsigned XLEN-bit result of operation `kind`.
    function operate(uint256 kind, uint256 a, uint256 b, uint256 xlen) internal pure returns (uint256 r) {
        uint256 mask = (1 << xlen) - 1;
        unchecked {
            if (kind >= 8) {
                // *W: on the low 32 bits, result sign-extended.
                int256 wa = int256(RiscvAlu.sext32(a));
                int256 wb = int256(RiscvAlu.sext32(b));
                uint256 ua = a & 0xFFFFFFFF;
                uint256 ub = b & 0xFFFFFFFF;
                if (kind == 8) r = a * b;
                else if (kind == 12) r = uint256(quotient(wa, wb));
                else if (kind == 13) r = uint256(quotient(int256(ua), int256(ub)));
                else if (kind == 14) r = uint256(remainder(wa, wb));
                else r = uint256(remainder(int256(ua), int256(ub)));
                return RiscvAlu.sext32(r) & mask;
            }
            int256 sa = RiscvAlu.signed(a, xlen);
            int256 sb = RiscvAlu.signed(b, xlen);
            if (kind == 0) r = a * b;
            else if (kind == 1) r = uint256((sa * sb) >> xlen);
            else if (kind == 2) r = uint256((sa * int256(b)) >> xlen);
            else if (kind == 3) r = (a * b) >> xlen;
            else if (kind == 4) r = uint256(quotient(sa, sb));
            else if (kind == 5) r = uint256(quotient(int256(a), int256(b)));
            else if (kind == 6) r = uint256(remainder(sa, sb));
            else r = uint256(remainder(int256(a), int256(b)));
        }
        return r & mask;
    }
}
