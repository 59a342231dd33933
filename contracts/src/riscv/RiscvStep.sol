// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ProofIO} from "../common/ProofIO.sol";
import {RiscvAlu} from "./RiscvAlu.sol";
import {RiscvAtomics} from "./RiscvAtomics.sol";
import {RiscvCompressed} from "./RiscvCompressed.sol";
import {RiscvControl} from "./RiscvControl.sol";
import {RiscvCsr} from "./RiscvCsr.sol";
import {RiscvDecode} from "./RiscvDecode.sol";
import {RiscvFp} from "./RiscvFp.sol";
import {RiscvIO} from "./RiscvIO.sol";
import {RiscvLoadStore} from "./RiscvLoadStore.sol";
import {RiscvMulDiv} from "./RiscvMulDiv.sol";
import {RiscvPanic} from "./RiscvPanic.sol";
import {RiscvState} from "./RiscvState.sol";
import {RiscvSystem} from "./RiscvSystem.sol";

/// @title RiscvStep
/// @notice One RISC-V step: the Solidity side of flexemu/isa/riscv/step.py (docs/spec.md
///         section R6). Fetch (the first memory access), expand a compressed parcel, decode,
///         execute through the handler of the instruction's group, advance pc. Exited and
///         panicked states are fixed points; a panic ends the call inside RiscvPanic.raise.
library RiscvStep {
    /// @notice Advance the state `w` by one step.
    function step(bytes memory w, ProofIO.IO memory io) internal pure {
        if (RiscvState.get(w, RiscvState.STATUS, 1) != RiscvState.RUNNING) return;
        _execute(w, io);
        unchecked {
            RiscvState.set(w, RiscvState.STEP, 8, uint64(RiscvState.get(w, RiscvState.STEP, 8) + 1));
        }
    }

    /// @notice (raw instruction, length in bytes) at pc.
    function fetch(bytes memory w, ProofIO.IO memory io) internal pure returns (uint256 raw, uint256 length) {
        uint256 pc = RiscvState.pc(w);
        if (!RiscvIO.fits(pc, 2)) RiscvPanic.raise(io, w, RiscvPanic.ADDRESS_OUT_OF_RANGE);
        uint256 parcel = RiscvIO.load(io, pc, 2);
        if (parcel & 3 != 3) return (parcel, 2);
        if (!RiscvIO.fits(pc, 4)) RiscvPanic.raise(io, w, RiscvPanic.ADDRESS_OUT_OF_RANGE);
        return (parcel | (RiscvIO.load(io, pc + 2, 2) << 16), 4);
    }

    /// @notice The decoded instruction, or the panic an undecodable one is.
    function instruction(bytes memory w, ProofIO.IO memory io, uint256 raw, uint256 length)
        internal
        pure
        returns (RiscvDecode.Instruction memory ins)
    {
        uint256 xlen = RiscvState.xlen(w);
        uint256 word = raw;
        if (length == 2) {
            bool ok;
            (ok, word) = RiscvCompressed.expand(raw, xlen);
            if (!ok) RiscvPanic.raise(io, w, RiscvPanic.ILLEGAL_INSTRUCTION);
        }
        ins = RiscvDecode.decode(word, xlen);
        if (ins.group == RiscvDecode.ILLEGAL) RiscvPanic.raise(io, w, RiscvPanic.ILLEGAL_INSTRUCTION);
        if (ins.group == RiscvDecode.FP_COMPUTATION) RiscvPanic.raise(io, w, RiscvPanic.FLOATING_POINT);
    }

    function _execute(bytes memory w, ProofIO.IO memory io) private pure {
        (uint256 raw, uint256 length) = fetch(w, io);
        RiscvDecode.Instruction memory ins = instruction(w, io, raw, length);
        uint256 group = ins.group;
        if (group == RiscvDecode.JAL || group == RiscvDecode.JALR || group == RiscvDecode.BRANCH) {
            RiscvState.setPc(w, _control(w, ins, length));
            return;
        }
        if (group == RiscvDecode.OP || group == RiscvDecode.OP_IMM || group == RiscvDecode.MULDIV) {
            _compute(w, ins);
        } else if (group == RiscvDecode.LOAD) {
            RiscvLoadStore.load(w, io, ins);
        } else if (group == RiscvDecode.STORE) {
            RiscvLoadStore.store(w, io, ins);
        } else if (group == RiscvDecode.LUI) {
            RiscvState.setX(w, ins.rd, ins.imm);
        } else if (group == RiscvDecode.AUIPC) {
            unchecked {
                RiscvState.setX(w, ins.rd, RiscvState.pc(w) + ins.imm);
            }
        } else if (group == RiscvDecode.LR) {
            RiscvAtomics.lr(w, io, ins);
        } else if (group == RiscvDecode.SC) {
            RiscvAtomics.sc(w, io, ins);
        } else if (group == RiscvDecode.AMO) {
            RiscvAtomics.amo(w, io, ins);
        } else if (group == RiscvDecode.FP_LOAD) {
            RiscvFp.fpLoad(w, io, ins);
        } else if (group == RiscvDecode.FP_STORE) {
            RiscvFp.fpStore(w, io, ins);
        } else if (group == RiscvDecode.FMV) {
            RiscvFp.fmv(w, ins);
        } else if (group == RiscvDecode.CSR) {
            RiscvCsr.csrAccess(w, io, ins);
        } else {
            RiscvSystem.execute(w, io, group); // fence, ecall, ebreak
        }
        unchecked {
            RiscvState.setPc(w, (RiscvState.pc(w) + length) & ((1 << RiscvState.xlen(w)) - 1));
        }
    }

    /// @dev alu.op, alu.op_imm and muldiv.muldiv: rd <- f(x[rs1], x[rs2] or the immediate).
    function _compute(bytes memory w, RiscvDecode.Instruction memory ins) private pure {
        uint256 xlen = RiscvState.xlen(w);
        uint256 a = RiscvState.x(w, ins.rs1);
        uint256 result;
        if (ins.group == RiscvDecode.OP_IMM) {
            result = RiscvAlu.operate(ins.kind, a, ins.imm & ((1 << xlen) - 1), xlen);
        } else if (ins.group == RiscvDecode.OP) {
            result = RiscvAlu.operate(ins.kind, a, RiscvState.x(w, ins.rs2), xlen);
        } else {
            result = RiscvMulDiv.operate(ins.kind, a, RiscvState.x(w, ins.rs2), xlen);
        }
        RiscvState.setX(w, ins.rd, result);
    }

    /// @dev control.jal, control.jalr, control.branch: the next pc.
    function _control(bytes memory w, RiscvDecode.Instruction memory ins, uint256 length)
        private
        pure
        returns (uint256 next)
    {
        uint256 mask = (1 << RiscvState.xlen(w)) - 1;
        uint256 pc = RiscvState.pc(w);
        unchecked {
            if (ins.group == RiscvDecode.BRANCH) {
                bool taken = RiscvControl.taken(
                    ins.kind, RiscvState.x(w, ins.rs1), RiscvState.x(w, ins.rs2), RiscvState.xlen(w)
                );
                return taken ? (pc + ins.imm) & mask : (pc + length) & mask;
            }
            // The jalr target is computed before the link is written: rd may equal rs1.
            next = ins.group == RiscvDecode.JAL
                ? (pc + ins.imm) & mask
                : ((RiscvState.x(w, ins.rs1) + ins.imm) & mask) & ~uint256(1);
        }
        RiscvState.setX(w, ins.rd, pc + length);
    }
}
