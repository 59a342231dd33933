// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ProofIO} from "../common/ProofIO.sol";
import {RiscvDecode} from "./RiscvDecode.sol";
import {RiscvIO} from "./RiscvIO.sol";
import {RiscvLoadStore} from "./RiscvLoadStore.sol";
import {RiscvPanic} from "./RiscvPanic.sol";
import {RiscvState} from "./RiscvState.sol";

/// @title RiscvAtomics
/// @notice The A extension on one hart, the reservation in the witness: the Solidity side of
///         flexemu/isa/riscv/atomics.py. Kinds of AMOs are funct5.
library RiscvAtomics {
    function _address(bytes memory w, ProofIO.IO memory io, RiscvDecode.Instruction memory ins)
        private
        pure
        returns (uint256 addr)
    {
        addr = RiscvState.x(w, ins.rs1);
        if (addr % ins.width != 0) RiscvPanic.raise(io, w, RiscvPanic.MISALIGNED_ATOMIC);
        return RiscvLoadStore.checked(w, io, addr, ins.width);
    }

    function lr(bytes memory w, ProofIO.IO memory io, RiscvDecode.Instruction memory ins) internal pure {
        uint256 addr = _address(w, io, ins);
        uint256 value = RiscvIO.load(io, addr, ins.width);
        RiscvState.set(w, RiscvState.RESERVATION, 1, ins.width);
        RiscvState.set(w, RiscvState.RESERVATION_ADDR, 4, addr);
        RiscvState.setX(w, ins.rd, RiscvDecode.sext(value, 8 * ins.width));
    }

    function sc(bytes memory w, ProofIO.IO memory io, RiscvDecode.Instruction memory ins) internal pure {
        uint256 addr = _address(w, io, ins);
        bool success = RiscvState.get(w, RiscvState.RESERVATION, 1) == ins.width
            && RiscvState.get(w, RiscvState.RESERVATION_ADDR, 4) == addr;
        if (success) RiscvIO.store(io, addr, ins.width, RiscvState.x(w, ins.rs2));
        RiscvState.set(w, RiscvState.RESERVATION, 1, RiscvState.NO_RESERVATION);
        RiscvState.set(w, RiscvState.RESERVATION_ADDR, 4, 0);
        RiscvState.setX(w, ins.rd, success ? 0 : 1);
    }

    function amo(bytes memory w, ProofIO.IO memory io, RiscvDecode.Instruction memory ins) internal pure {
        uint256 bits = 8 * ins.width;
        uint256 addr = _address(w, io, ins);
        uint256 old = RiscvIO.load(io, addr, ins.width);
        uint256 src = RiscvState.x(w, ins.rs2) & ((1 << bits) - 1);
        RiscvIO.store(io, addr, ins.width, operate(ins.kind, old, src, bits));
        RiscvState.setX(w, ins.rd, RiscvDecode.sext(old, bits));
    }

    /// @notice The value an AMO stores (AMO_OPERATIONS); operands are unsigned `bits`-bit values.
    function operate(uint256 funct5, uint256 old, uint256 src, uint256 bits) internal pure returns (uint256) {
        if (funct5 == 0x01) return src; // amoswap
        if (funct5 == 0x00) return old + src; // amoadd (stored modulo 2^bits)
        if (funct5 == 0x04) return old ^ src;
        if (funct5 == 0x0C) return old & src;
        if (funct5 == 0x08) return old | src;
        if (funct5 == 0x18) return old < src ? old : src; // amominu
        if (funct5 == 0x1C) return old > src ? old : src; // amomaxu
        int256 so = int256(RiscvDecode.sext(old, bits));
        int256 ss = int256(RiscvDecode.sext(src, bits));
        if (funct5 == 0x10) return so <= ss ? old : src; // amomin
        return so >= ss ? old : src; // amomax
    }
}
