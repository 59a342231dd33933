// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RiscvAlu} from "./RiscvAlu.sol";

/// @title RiscvControl
/// @notice Branch conditions: the Solidity side of `CONDITIONS` in
///         flexemu/isa/riscv/control.py (jal/jalr are in RiscvStep, as short as their text).
library RiscvControl {
    /// @notice Whether the branch with funct3 `kind` (beq bne - - blt bge bltu bgeu) is taken.
    function taken(uint256 kind, uint256 a, uint256 b, uint256 xlen) internal pure returns (bool) {
        if (kind == 0) return a == b;
        if (kind == 1) return a != b;
        if (kind == 4) return RiscvAlu.signed(a, xlen) < RiscvAlu.signed(b, xlen);
        if (kind == 5) return RiscvAlu.signed(a, xlen) >= RiscvAlu.signed(b, xlen);
        if (kind == 6) return a < b;
        return a >= b;
    }
}
