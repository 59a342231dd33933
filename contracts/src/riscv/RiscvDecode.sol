// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title RiscvDecode
/// @notice The 32-bit RISC-V encodings the step supports: the Solidity side of
///         flexemu/isa/riscv/decode.py (docs/spec.md section R6.2).
/// @dev decode.py matches a table of (mask, match) rows; here the same rows are tested by
///      major opcode, then funct3/funct7, which is what the masks select. An instruction is
///      named by its handler group (the handler module of step.py's table) and a kind within
///      the group; `imm` is the signed immediate as a two's-complement uint256.
library RiscvDecode {
    struct Instruction {
        uint256 group;
        uint256 kind;
        uint256 width; // bytes accessed by loads, stores, atomics and FP moves
        uint256 rd;
        uint256 rs1;
        uint256 rs2;
        uint256 imm;
        uint256 csr;
    }

    // Groups: 0 and 1 are the two decoding panics.
    uint256 internal constant ILLEGAL = 0;
    uint256 internal constant FP_COMPUTATION = 1;
    uint256 internal constant LUI = 2;
    uint256 internal constant AUIPC = 3;
    uint256 internal constant OP = 4; // alu.op
    uint256 internal constant OP_IMM = 5; // alu.op_imm
    uint256 internal constant MULDIV = 6;
    uint256 internal constant JAL = 7;
    uint256 internal constant JALR = 8;
    uint256 internal constant BRANCH = 9;
    uint256 internal constant LOAD = 10;
    uint256 internal constant STORE = 11;
    uint256 internal constant LR = 12;
    uint256 internal constant SC = 13;
    uint256 internal constant AMO = 14;
    uint256 internal constant FP_LOAD = 15;
    uint256 internal constant FP_STORE = 16;
    uint256 internal constant FMV = 17;
    uint256 internal constant CSR = 18;
    uint256 internal constant FENCE = 19;
    uint256 internal constant ECALL = 20;
    uint256 internal constant EBREAK = 21;

    // Kinds of OP / OP_IMM (alu.REGISTER_OPERATIONS, IMMEDIATE_OPERATIONS).
    uint256 internal constant ADD = 0;
    uint256 internal constant SUB = 1;
    uint256 internal constant SLL = 2;
    uint256 internal constant SLT = 3;
    uint256 internal constant SLTU = 4;
    uint256 internal constant XOR = 5;
    uint256 internal constant SRL = 6;
    uint256 internal constant SRA = 7;
    uint256 internal constant OR = 8;
    uint256 internal constant AND = 9;
    uint256 internal constant ADDW = 10;
    uint256 internal constant SUBW = 11;
    uint256 internal constant SLLW = 12;
    uint256 internal constant SRLW = 13;
    uint256 internal constant SRAW = 14;

    /// @notice funct3 -> OP kind for funct7 = 0 (add sll slt sltu xor srl or and).
    bytes8 private constant OP_KINDS = 0x0002030405060809;

    /// @notice The instruction `word` encodes on RV`xlen`; group ILLEGAL or FP_COMPUTATION if none.
    function decode(uint256 word, uint256 xlen) internal pure returns (Instruction memory ins) {
        uint256 opcode = word & 0x7F;
        uint256 f3 = (word >> 12) & 7;
        uint256 f7 = word >> 25;
        bool rv64 = xlen == 64;
        ins.rd = (word >> 7) & 31;
        ins.rs1 = (word >> 15) & 31;
        ins.rs2 = (word >> 20) & 31;
        ins.csr = word >> 20;
        if (opcode == 0x37 || opcode == 0x17) {
            ins.group = opcode == 0x37 ? LUI : AUIPC;
            ins.imm = sext(word & 0xFFFFF000, 32);
        } else if (opcode == 0x6F) {
            ins.group = JAL;
            ins.imm = sext(
                (((word >> 31) & 1) << 20) | (((word >> 12) & 0xFF) << 12) | (((word >> 20) & 1) << 11)
                    | (((word >> 21) & 0x3FF) << 1),
                21
            );
        } else if (opcode == 0x67) {
            if (f3 == 0) (ins.group, ins.imm) = (JALR, _i(word));
        } else if (opcode == 0x63) {
            if (f3 != 2 && f3 != 3) {
                (ins.group, ins.kind) = (BRANCH, f3);
                ins.imm = sext(
                    (((word >> 31) & 1) << 12) | (((word >> 7) & 1) << 11) | (((word >> 25) & 0x3F) << 5)
                        | (((word >> 8) & 0xF) << 1),
                    13
                );
            }
        } else if (opcode == 0x03) {
            if (f3 != 7 && (rv64 || (f3 != 3 && f3 != 6))) {
                (ins.group, ins.kind, ins.width, ins.imm) = (LOAD, f3, 1 << (f3 & 3), _i(word));
            }
        } else if (opcode == 0x23) {
            if (f3 < 3 || (rv64 && f3 == 3)) (ins.group, ins.width, ins.imm) = (STORE, 1 << f3, _s(word));
        } else if (opcode == 0x13) {
            _opImm(ins, word, f3, f7, rv64);
        } else if (opcode == 0x33) {
            _op(ins, f3, f7);
        } else if (opcode == 0x1B) {
            if (rv64) _opImm32(ins, word, f3, f7);
        } else if (opcode == 0x3B) {
            if (rv64) _op32(ins, f3, f7);
        } else if (opcode == 0x0F) {
            if (f3 < 2) ins.group = FENCE;
        } else if (opcode == 0x73) {
            if (word == 0x00000073) ins.group = ECALL;
            else if (word == 0x00100073) ins.group = EBREAK;
            else if (f3 != 0 && f3 != 4) (ins.group, ins.kind) = (CSR, f3);
        } else if (opcode == 0x2F) {
            _atomic(ins, word, f3, rv64);
        } else if (opcode == 0x07 || opcode == 0x27) {
            if (f3 == 2 || f3 == 3) {
                ins.width = 1 << f3;
                (ins.group, ins.imm) = opcode == 0x07 ? (FP_LOAD, _i(word)) : (FP_STORE, _s(word));
            }
        } else if (opcode == 0x53) {
            ins.group = FP_COMPUTATION;
            if (ins.rs2 == 0 && f3 == 0) {
                if (f7 == 0x70 || f7 == 0x78 || (rv64 && (f7 == 0x71 || f7 == 0x79))) {
                    // kind: bit 0 = to an f register (.w.x/.d.x), bit 1 = 64-bit (.d)
                    (ins.group, ins.kind) = (FMV, ((f7 >> 3) & 1) | ((f7 & 1) << 1));
                }
            }
        } else if (opcode == 0x43 || opcode == 0x47 || opcode == 0x4B || opcode == 0x4F) {
            ins.group = FP_COMPUTATION;
        }
    }

    function _opImm(Instruction memory ins, uint256 word, uint256 f3, uint256 f7, bool rv64) private pure {
        if (f3 == 1 || f3 == 5) {
            // SHIFT format: RV32 masks funct7 (so shamt < 32), RV64 funct6.
            uint256 top = rv64 ? f7 >> 1 : f7;
            uint256 arithmetic = rv64 ? 0x10 : 0x20;
            ins.imm = (word >> 20) & 63;
            if (top == 0) (ins.group, ins.kind) = (OP_IMM, f3 == 1 ? SLL : SRL);
            else if (f3 == 5 && top == arithmetic) (ins.group, ins.kind) = (OP_IMM, SRA);
            return;
        }
        (ins.group, ins.kind, ins.imm) = (OP_IMM, uint8(OP_KINDS[f3]), _i(word));
    }

    function _op(Instruction memory ins, uint256 f3, uint256 f7) private pure {
        if (f7 == 0) (ins.group, ins.kind) = (OP, uint8(OP_KINDS[f3]));
        else if (f7 == 0x20 && f3 == 0) (ins.group, ins.kind) = (OP, SUB);
        else if (f7 == 0x20 && f3 == 5) (ins.group, ins.kind) = (OP, SRA);
        else if (f7 == 1) (ins.group, ins.kind) = (MULDIV, f3);
    }

    function _opImm32(Instruction memory ins, uint256 word, uint256 f3, uint256 f7) private pure {
        if (f3 == 0) {
            (ins.group, ins.kind, ins.imm) = (OP_IMM, ADDW, _i(word));
        } else if (f3 == 1 && f7 == 0) {
            (ins.group, ins.kind, ins.imm) = (OP_IMM, SLLW, (word >> 20) & 63);
        } else if (f3 == 5 && (f7 == 0 || f7 == 0x20)) {
            (ins.group, ins.kind, ins.imm) = (OP_IMM, f7 == 0 ? SRLW : SRAW, (word >> 20) & 63);
        }
    }

    function _op32(Instruction memory ins, uint256 f3, uint256 f7) private pure {
        if (f7 == 0) {
            if (f3 == 0) (ins.group, ins.kind) = (OP, ADDW);
            else if (f3 == 1) (ins.group, ins.kind) = (OP, SLLW);
            else if (f3 == 5) (ins.group, ins.kind) = (OP, SRLW);
        } else if (f7 == 0x20) {
            if (f3 == 0) (ins.group, ins.kind) = (OP, SUBW);
            else if (f3 == 5) (ins.group, ins.kind) = (OP, SRAW);
        } else if (f7 == 1 && (f3 == 0 || f3 >= 4)) {
            (ins.group, ins.kind) = (MULDIV, 8 + f3); // mulw divw divuw remw remuw
        }
    }

    function _atomic(Instruction memory ins, uint256 word, uint256 f3, bool rv64) private pure {
        if (f3 != 2 && !(rv64 && f3 == 3)) return;
        ins.width = 1 << f3;
        uint256 funct5 = word >> 27;
        if (funct5 == 0x02) {
            if (ins.rs2 == 0) ins.group = LR;
        } else if (funct5 == 0x03) {
            ins.group = SC;
        } else if (
            funct5 == 0x00 || funct5 == 0x01 || funct5 == 0x04 || funct5 == 0x08 || funct5 == 0x0C
                || funct5 == 0x10 || funct5 == 0x14 || funct5 == 0x18 || funct5 == 0x1C
        ) {
            (ins.group, ins.kind) = (AMO, funct5);
        }
    }

    /// @notice The signed value of the low `bits` bits of `value`, as a two's-complement uint256.
    function sext(uint256 value, uint256 bits) internal pure returns (uint256) {
        unchecked {
            uint256 sign = 1 << (bits - 1);
            return ((value & ((sign << 1) - 1)) ^ sign) - sign;
        }
    }

    function _i(uint256 word) private pure returns (uint256) {
        return sext(word >> 20, 12);
    }

    function _s(uint256 word) private pure returns (uint256) {
        return sext(((word >> 25) << 5) | ((word >> 7) & 31), 12);
    }
}
