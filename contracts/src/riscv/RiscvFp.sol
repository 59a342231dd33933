// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ProofIO} from "../common/ProofIO.sol";
import {RiscvAlu} from "./RiscvAlu.sol";
import {RiscvDecode} from "./RiscvDecode.sol";
import {RiscvIO} from "./RiscvIO.sol";
import {RiscvLoadStore} from "./RiscvLoadStore.sol";
import {RiscvState} from "./RiscvState.sol";

/// @title RiscvFp
/// @notice F/D data moves over raw bits: the Solidity side of flexemu/isa/riscv/fp.py.
///         A 32-bit value written to an f register is NaN-boxed. FMV kinds: bit 0 set = to an
///         f register, bit 1 set = the 64-bit form.
library RiscvFp {
    uint256 internal constant NAN_BOX = 0xFFFFFFFF00000000;

    function nanBox(uint256 value) internal pure returns (uint256) {
        return NAN_BOX | (value & 0xFFFFFFFF);
    }

    function fpLoad(bytes memory w, ProofIO.IO memory io, RiscvDecode.Instruction memory ins) internal pure {
        uint256 value = RiscvIO.load(io, RiscvLoadStore.effective(w, io, ins), ins.width);
        RiscvState.setF(w, ins.rd, ins.width == 4 ? nanBox(value) : value);
    }

    function fpStore(bytes memory w, ProofIO.IO memory io, RiscvDecode.Instruction memory ins) internal pure {
        RiscvIO.store(io, RiscvLoadStore.effective(w, io, ins), ins.width, RiscvState.f(w, ins.rs2));
    }

    function fmv(bytes memory w, RiscvDecode.Instruction memory ins) internal pure {
        if (ins.kind == 0) RiscvState.setX(w, ins.rd, RiscvAlu.sext32(RiscvState.f(w, ins.rs1))); // fmv.x.w
        else if (ins.kind == 1) RiscvState.setF(w, ins.rd, nanBox(RiscvState.x(w, ins.rs1))); // fmv.w.x
        else if (ins.kind == 2) RiscvState.setX(w, ins.rd, RiscvState.f(w, ins.rs1)); // fmv.x.d
        else RiscvState.setF(w, ins.rd, RiscvState.x(w, ins.rs1)); // fmv.d.x
    }
}
