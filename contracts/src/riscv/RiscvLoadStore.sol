// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ProofIO} from "../common/ProofIO.sol";
import {RiscvDecode} from "./RiscvDecode.sol";
import {RiscvIO} from "./RiscvIO.sol";
import {RiscvPanic} from "./RiscvPanic.sol";
import {RiscvState} from "./RiscvState.sol";

/// @title RiscvLoadStore
/// @notice Integer loads and stores of every width at any address: the Solidity side of
///         flexemu/isa/riscv/loadstore.py. Kinds of loads are funct3 (width 1 << (f3 & 3),
///         sign-extended when f3 < 4).
library RiscvLoadStore {
    /// @notice `addr` if all `width` bytes lie in the physical space, else a panic.
    function checked(bytes memory w, ProofIO.IO memory io, uint256 addr, uint256 width)
        internal
        pure
        returns (uint256)
    {
        if (!RiscvIO.fits(addr, width)) RiscvPanic.raise(io, w, RiscvPanic.ADDRESS_OUT_OF_RANGE);
        return addr;
    }

    /// @notice x[rs1] + imm wrapped to XLEN, checked to fit the physical space.
    function effective(bytes memory w, ProofIO.IO memory io, RiscvDecode.Instruction memory ins)
        internal
        pure
        returns (uint256)
    {
        uint256 xlen = RiscvState.xlen(w);
        uint256 addr;
        unchecked {
            addr = (RiscvState.x(w, ins.rs1) + ins.imm) & ((1 << xlen) - 1);
        }
        return checked(w, io, addr, ins.width);
    }

    function load(bytes memory w, ProofIO.IO memory io, RiscvDecode.Instruction memory ins) internal pure {
        uint256 value = RiscvIO.load(io, effective(w, io, ins), ins.width);
        RiscvState.setX(w, ins.rd, ins.kind < 4 ? RiscvDecode.sext(value, 8 * ins.width) : value);
    }

    function store(bytes memory w, ProofIO.IO memory io, RiscvDecode.Instruction memory ins) internal pure {
        RiscvIO.store(io, effective(w, io, ins), ins.width, RiscvState.x(w, ins.rs2));
    }
}
