// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title RiscvCompressed
/// @notice The C extension: every 16-bit form expanded to the 32-bit instruction it stands
///         for: the Solidity side of flexemu/isa/riscv/compressed.py (docs/spec.md R6.3).
/// @dev `expand` returns (false, 0) for a reserved encoding, which is an illegal instruction.
library RiscvCompressed {
    uint256 private constant SP = 2;
    uint256 private constant RA = 1;

    // Opcodes of the expansions.
    uint256 private constant LOAD = 0x03;
    uint256 private constant LOAD_FP = 0x07;
    uint256 private constant STORE = 0x23;
    uint256 private constant STORE_FP = 0x27;
    uint256 private constant OP_IMM = 0x13;
    uint256 private constant OP_IMM_32 = 0x1B;
    uint256 private constant OP = 0x33;
    uint256 private constant OP_32 = 0x3B;
    uint256 private constant LUI = 0x37;
    uint256 private constant JALR = 0x67;

    /// @notice The 32-bit expansion of the 16-bit instruction `half` on RV`xlen`.
    function expand(uint256 half, uint256 xlen) internal pure returns (bool ok, uint256 word) {
        uint256 quadrant = half & 3;
        uint256 funct3 = (half >> 13) & 7;
        if (quadrant == 0) return _quadrant0(half, funct3, xlen);
        if (quadrant == 1) return _quadrant1(half, funct3, xlen);
        return _quadrant2(half, funct3, xlen);
    }

    // ------------------------------------------------------------------ 32-bit encoders

    function iType(uint256 opcode, uint256 funct3, uint256 rd, uint256 rs1, uint256 imm)
        internal
        pure
        returns (uint256)
    {
        return ((imm & 0xFFF) << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode;
    }

    function rType(uint256 opcode, uint256 funct3, uint256 funct7, uint256 rd, uint256 rs1, uint256 rs2)
        internal
        pure
        returns (uint256)
    {
        return (funct7 << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode;
    }

    function sType(uint256 opcode, uint256 funct3, uint256 rs1, uint256 rs2, uint256 imm)
        internal
        pure
        returns (uint256)
    {
        return (((imm >> 5) & 0x7F) << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | ((imm & 31) << 7)
            | opcode;
    }

    function bType(uint256 funct3, uint256 rs1, uint256 rs2, uint256 imm) internal pure returns (uint256) {
        return (_bit(imm, 12) << 31) | (_field(imm, 10, 5) << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12)
            | (_field(imm, 4, 1) << 8) | (_bit(imm, 11) << 7) | 0x63;
    }

    function jType(uint256 rd, uint256 imm) internal pure returns (uint256) {
        return (_bit(imm, 20) << 31) | (_field(imm, 10, 1) << 21) | (_bit(imm, 11) << 20)
            | (_field(imm, 19, 12) << 12) | (rd << 7) | 0x6F;
    }

    // ------------------------------------------------------------------ quadrants

    function _quadrant0(uint256 half, uint256 funct3, uint256 xlen) private pure returns (bool, uint256) {
        uint256 rd = _prime(half, 2);
        uint256 rs1 = _prime(half, 7);
        if (funct3 == 0) {
            uint256 nzuimm =
                (_field(half, 12, 11) << 4) | (_field(half, 10, 7) << 6) | (_bit(half, 6) << 2) | (_bit(half, 5) << 3);
            if (nzuimm == 0) return (false, 0);
            return (true, iType(OP_IMM, 0, rd, SP, nzuimm));
        }
        if (funct3 == 4) return (false, 0);
        // funct3 1 c.fld, 2 c.lw, 3 c.flw (RV32) / c.ld, 5 c.fsd, 6 c.sw, 7 c.fsw (RV32) / c.sd
        uint256 form = funct3 & 3;
        bool fp = form == 1 || (form == 3 && xlen == 32);
        uint256 width = form == 2 || (form == 3 && xlen == 32) ? 2 : 3;
        uint256 offset = width == 2 ? _clWord(half) : _clDouble(half);
        if (funct3 < 4) return (true, iType(fp ? LOAD_FP : LOAD, width, rd, rs1, offset));
        return (true, sType(fp ? STORE_FP : STORE, width, rs1, rd, offset));
    }

    function _quadrant1(uint256 half, uint256 funct3, uint256 xlen) private pure returns (bool, uint256) {
        uint256 rd = _field(half, 11, 7);
        if (funct3 == 0) return (true, iType(OP_IMM, 0, rd, rd, _imm6(half)));
        if (funct3 == 1) {
            if (xlen == 32) return (true, jType(RA, _cj(half)));
            if (rd == 0) return (false, 0);
            return (true, iType(OP_IMM_32, 0, rd, rd, _imm6(half)));
        }
        if (funct3 == 2) return (true, iType(OP_IMM, 0, rd, 0, _imm6(half)));
        if (funct3 == 3) {
            if (rd == SP) {
                uint256 nzimm = _sext(
                    (_bit(half, 12) << 9) | (_bit(half, 6) << 4) | (_bit(half, 5) << 6) | (_field(half, 4, 3) << 7)
                        | (_bit(half, 2) << 5),
                    10
                );
                if (nzimm == 0) return (false, 0);
                return (true, iType(OP_IMM, 0, SP, SP, nzimm));
            }
            uint256 imm = _imm6(half);
            if (imm == 0) return (false, 0);
            return (true, ((imm << 12) & 0xFFFFF000) | (rd << 7) | LUI);
        }
        if (funct3 == 4) return _miscAlu(half, xlen);
        if (funct3 == 5) return (true, jType(0, _cj(half)));
        return (true, bType(funct3 - 6, _prime(half, 7), 0, _cb(half)));
    }

    function _miscAlu(uint256 half, uint256 xlen) private pure returns (bool, uint256) {
        uint256 rd = _prime(half, 7);
        uint256 kind = _field(half, 11, 10);
        if (kind < 2) {
            uint256 shamt = _shamt(half);
            if (xlen == 32 && shamt >= 32) return (false, 0);
            uint256 funct6 = kind == 1 ? 0x10 : 0; // srai sets bit 30
            return (true, iType(OP_IMM, 5, rd, rd, (funct6 << 6) | shamt));
        }
        if (kind == 2) return (true, iType(OP_IMM, 7, rd, rd, _imm6(half)));
        uint256 rs2 = _prime(half, 2);
        uint256 op = _field(half, 6, 5);
        if (_bit(half, 12) == 0) {
            // c.sub, c.xor, c.or, c.and
            uint256 funct3 = op == 0 ? 0 : op == 1 ? 4 : op == 2 ? 6 : 7;
            return (true, rType(OP, funct3, op == 0 ? 0x20 : 0, rd, rd, rs2));
        }
        if (xlen == 32 || op >= 2) return (false, 0);
        return (true, rType(OP_32, 0, op == 0 ? 0x20 : 0, rd, rd, rs2)); // c.subw, c.addw
    }

    function _quadrant2(uint256 half, uint256 funct3, uint256 xlen) private pure returns (bool, uint256) {
        uint256 rd = _field(half, 11, 7);
        uint256 rs2 = _field(half, 6, 2);
        if (funct3 == 0) {
            uint256 shamt = _shamt(half);
            if (xlen == 32 && shamt >= 32) return (false, 0);
            return (true, iType(OP_IMM, 1, rd, rd, shamt));
        }
        if (funct3 == 1) return (true, iType(LOAD_FP, 3, rd, SP, _ldsp(half)));
        if (funct3 == 2) return rd == 0 ? (false, 0) : (true, iType(LOAD, 2, rd, SP, _lwsp(half)));
        if (funct3 == 3) {
            if (xlen == 32) return (true, iType(LOAD_FP, 2, rd, SP, _lwsp(half)));
            return rd == 0 ? (false, 0) : (true, iType(LOAD, 3, rd, SP, _ldsp(half)));
        }
        if (funct3 == 4) return _jumpMoveAdd(half, rd, rs2);
        if (funct3 == 5) return (true, sType(STORE_FP, 3, SP, rs2, _sdsp(half)));
        if (funct3 == 6) return (true, sType(STORE, 2, SP, rs2, _swsp(half)));
        if (xlen == 32) return (true, sType(STORE_FP, 2, SP, rs2, _swsp(half)));
        return (true, sType(STORE, 3, SP, rs2, _sdsp(half)));
    }

    function _jumpMoveAdd(uint256 half, uint256 rd, uint256 rs2) private pure returns (bool, uint256) {
        if (_bit(half, 12) == 0) {
            if (rs2 == 0) return rd == 0 ? (false, 0) : (true, iType(JALR, 0, 0, rd, 0)); // c.jr
            return (true, rType(OP, 0, 0, rd, 0, rs2)); // c.mv
        }
        if (rs2 == 0) {
            if (rd == 0) return (true, 0x00100073); // c.ebreak
            return (true, iType(JALR, 0, RA, rd, 0)); // c.jalr
        }
        return (true, rType(OP, 0, 0, rd, rd, rs2)); // c.add
    }

    // ------------------------------------------------------------------ immediates

    function _prime(uint256 half, uint256 low) private pure returns (uint256) {
        return 8 + _field(half, low + 2, low);
    }

    function _imm6(uint256 half) private pure returns (uint256) {
        return _sext((_bit(half, 12) << 5) | _field(half, 6, 2), 6);
    }

    function _shamt(uint256 half) private pure returns (uint256) {
        return (_bit(half, 12) << 5) | _field(half, 6, 2);
    }

    function _clWord(uint256 half) private pure returns (uint256) {
        return (_field(half, 12, 10) << 3) | (_bit(half, 6) << 2) | (_bit(half, 5) << 6);
    }

    function _clDouble(uint256 half) private pure returns (uint256) {
        return (_field(half, 12, 10) << 3) | (_field(half, 6, 5) << 6);
    }

    function _lwsp(uint256 half) private pure returns (uint256) {
        return (_bit(half, 12) << 5) | (_field(half, 6, 4) << 2) | (_field(half, 3, 2) << 6);
    }

    function _ldsp(uint256 half) private pure returns (uint256) {
        return (_bit(half, 12) << 5) | (_field(half, 6, 5) << 3) | (_field(half, 4, 2) << 6);
    }

    function _swsp(uint256 half) private pure returns (uint256) {
        return (_field(half, 12, 9) << 2) | (_field(half, 8, 7) << 6);
    }

    function _sdsp(uint256 half) private pure returns (uint256) {
        return (_field(half, 12, 10) << 3) | (_field(half, 9, 7) << 6);
    }

    function _cj(uint256 half) private pure returns (uint256) {
        return _sext(
            (_bit(half, 12) << 11) | (_bit(half, 11) << 4) | (_field(half, 10, 9) << 8) | (_bit(half, 8) << 10)
                | (_bit(half, 7) << 6) | (_bit(half, 6) << 7) | (_field(half, 5, 3) << 1) | (_bit(half, 2) << 5),
            12
        );
    }

    function _cb(uint256 half) private pure returns (uint256) {
        return _sext(
            (_bit(half, 12) << 8) | (_field(half, 11, 10) << 3) | (_field(half, 6, 5) << 6)
                | (_field(half, 4, 3) << 1) | (_bit(half, 2) << 5),
            9
        );
    }

    function _sext(uint256 value, uint256 bits) private pure returns (uint256) {
        unchecked {
            uint256 sign = 1 << (bits - 1);
            return ((value & ((sign << 1) - 1)) ^ sign) - sign;
        }
    }

    function _bit(uint256 word, uint256 position) private pure returns (uint256) {
        return (word >> position) & 1;
    }

    function _field(uint256 word, uint256 high, uint256 low) private pure returns (uint256) {
        return (word >> low) & ((1 << (high - low + 1)) - 1);
    }
}
