// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ProofIO} from "../common/ProofIO.sol";
import {RiscvDecode} from "./RiscvDecode.sol";
import {RiscvPanic} from "./RiscvPanic.sol";
import {RiscvState} from "./RiscvState.sol";

/// @title RiscvCsr
/// @notice Zicsr on the counters and the FP control CSRs: the Solidity side of
///         flexemu/isa/riscv/csr.py. Kinds are funct3 (1 csrrw, 2 csrrs, 3 csrrc, +4 the *i forms).
library RiscvCsr {
    uint256 internal constant TIME_SHIFT = 4;
    uint256 private constant CYCLE = 0xC00;
    uint256 private constant TIME = 0xC01;
    uint256 private constant INSTRET = 0xC02;

    /// @notice (is a counter, value) of counter `csr` at `step` on RV`xlen` (csr.counter).
    function counter(uint256 csr, uint256 step, uint256 xlen) internal pure returns (bool, uint256) {
        uint256 base = csr;
        if (xlen == 32 && csr >= 0xC80 && csr <= 0xC82) base = csr - 0x80;
        else if (csr < CYCLE || csr > INSTRET) return (false, 0);
        uint256 value = base == TIME ? step >> TIME_SHIFT : step;
        if (base != csr) return (true, (value >> 32) & 0xFFFFFFFF);
        return (true, value & ((1 << xlen) - 1));
    }

    function csrAccess(bytes memory w, ProofIO.IO memory io, RiscvDecode.Instruction memory ins) internal pure {
        uint256 kind = ins.kind & 3; // 1 csrrw, 2 csrrs, 3 csrrc
        uint256 source = ins.kind >= 4 ? ins.rs1 : RiscvState.x(w, ins.rs1);
        bool writes = kind == 1 || ins.rs1 != 0;
        (bool isCounter, uint256 count) = counter(ins.csr, RiscvState.get(w, RiscvState.STEP, 8), RiscvState.xlen(w));
        if (isCounter) {
            if (writes) RiscvPanic.raise(io, w, RiscvPanic.READ_ONLY_CSR);
            RiscvState.setX(w, ins.rd, count);
            return;
        }
        uint256 shift;
        uint256 fieldMask;
        if (ins.csr == 0x001) (shift, fieldMask) = (0, 0x1F); // fflags
        else if (ins.csr == 0x002) (shift, fieldMask) = (5, 0x7); // frm
        else if (ins.csr == 0x003) (shift, fieldMask) = (0, 0xFF); // fcsr
        else RiscvPanic.raise(io, w, RiscvPanic.UNSUPPORTED_CSR);
        uint256 fcsr = RiscvState.get(w, RiscvState.FCSR, 4);
        uint256 old = (fcsr >> shift) & fieldMask;
        uint256 value = kind == 1 ? source : kind == 2 ? old | source : old & ~source;
        if (writes) {
            RiscvState.set(w, RiscvState.FCSR, 4, (fcsr & ~(fieldMask << shift)) | ((value & fieldMask) << shift));
        }
        RiscvState.setX(w, ins.rd, old);
    }
}
