// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MipsAddress} from "./MipsAddress.sol";
import {MipsState} from "./MipsState.sol";
import {MipsSyscalls} from "./MipsSyscalls.sol";
import {ProofIO} from "../common/ProofIO.sol";
import {StepPanic} from "./StepPanic.sol";

/// @title MipsStep
/// @notice The MIPS32 step: the Solidity side of flexemu/mips/step.py, function by function
///         (`_special` there is `special` here, and so on; docs/spec.md section 6).
/// @dev Arithmetic is on uint32 inside `unchecked` blocks, so it wraps modulo 2^32 exactly
///      where the Python applies `u32()`. A handler returns how control flows on: FALL_THROUGH,
///      NULLIFY or a branch target (below 2^32). A panic ends the call in StepPanic.raise.
library MipsStep {
    using MipsState for MipsState.State;

    uint256 private constant RA = 31;
    uint256 private constant MASK32 = 0xFFFFFFFF;

    // What a handler returns to say how control flows after it (targets are below 2^32).
    uint256 private constant FALL_THROUGH = 1 << 32;
    uint256 private constant NULLIFY = (1 << 32) + 1; // a branch-likely not taken
    uint32 private constant NULLIFIED = 1; // bit 0 of pc: the delay slot at pc & ~3 is nullified

    /// @notice Advance `s` by one step; `memRoot` is left to the caller (ProofIO.finish).
    function step(MipsState.State memory s, ProofIO.IO memory io) internal pure {
        if (s.status != MipsState.RUNNING) return;
        execute(s, io);
        unchecked {
            s.step += 1; // modulo 2^64 (docs/spec.md section 6)
        }
    }

    function execute(MipsState.State memory s, ProofIO.IO memory io) internal pure {
        unchecked {
            uint32 pc = s.pc;
            if (pc & NULLIFIED != 0) {
                s.pc = s.nextPc;
                s.nextPc = s.nextPc + 4;
                return;
            }
            uint32 word = ProofIO.readWord(io, MipsAddress.aligned(io, pc, 4));
            uint256 target = dispatch(s, io, word);
            if (target == FALL_THROUGH) {
                s.pc = s.nextPc;
                s.nextPc = s.nextPc + 4;
            } else if (target == NULLIFY) {
                s.pc = (pc + 4) | NULLIFIED;
                s.nextPc = pc + 8;
            } else {
                s.pc = s.nextPc;
                s.nextPc = uint32(target);
            }
        }
    }

    /// @notice The OPCODES table of step.py.
    function dispatch(MipsState.State memory s, ProofIO.IO memory io, uint32 word)
        internal
        pure
        returns (uint256)
    {
        uint256 op = word >> 26;
        if (op == 0x00) return special(s, io, word);
        if (op == 0x01) return regimm(s, io, word);
        if (op == 0x02 || op == 0x03) return jump(s, io, word);
        if ((op >= 0x04 && op <= 0x07) || (op >= 0x14 && op <= 0x17)) {
            return branchCompare(s, io, word);
        }
        if (op >= 0x08 && op <= 0x0F) return immediate(s, io, word);
        if (op == 0x11) return cop1(s, io, word);
        if (op == 0x1C) return special2(s, io, word);
        if (op == 0x1F) return special3(s, io, word);
        if (op >= 0x20 && op <= 0x26) return load(s, io, word);
        if (op == 0x28 || op == 0x29 || op == 0x2A || op == 0x2B || op == 0x2E) {
            return store(s, io, word);
        }
        if (op == 0x2F || op == 0x33) return FALL_THROUGH; // CACHE, PREF: no caches, a hint
        if (op == 0x30) return loadLinked(s, io, word);
        if (op == 0x38) return storeConditional(s, io, word);
        if (op == 0x31 || op == 0x35 || op == 0x39 || op == 0x3D) return fpuMemory(s, io, word);
        return reserved(io);
    }

    // ------------------------------------------------------------ helpers

    function _rs(uint32 word) private pure returns (uint256) {
        return (word >> 21) & 31;
    }

    function _rt(uint32 word) private pure returns (uint256) {
        return (word >> 16) & 31;
    }

    function _rd(uint32 word) private pure returns (uint256) {
        return (word >> 11) & 31;
    }

    function _sa(uint32 word) private pure returns (uint256) {
        return (word >> 6) & 31;
    }

    function sext16(uint32 value) internal pure returns (uint32) {
        return uint32(int32(int16(uint16(value))));
    }

    function sext8(uint32 value) internal pure returns (uint32) {
        return uint32(int32(int8(uint8(value))));
    }

    /// @notice (hi, lo) words of a 64-bit value.
    function split64(uint64 value) internal pure returns (uint32, uint32) {
        return (uint32(value >> 32), uint32(value));
    }

    function reserved(ProofIO.IO memory io) internal pure returns (uint256) {
        StepPanic.raise(io, StepPanic.RESERVED_INSTRUCTION);
    }

    function rotr(uint32 value, uint256 amount) internal pure returns (uint32) {
        amount &= 31;
        return amount != 0 ? uint32((value >> amount) | (uint256(value) << (32 - amount))) : value;
    }

    /// @notice A branch in the delay slot of a taken branch or jump is not executed.
    function branchCheck(MipsState.State memory s, ProofIO.IO memory io) internal pure {
        unchecked {
            if (s.nextPc != s.pc + 4) StepPanic.raise(io, StepPanic.BRANCH_IN_DELAY_SLOT);
        }
    }

    function branchTarget(MipsState.State memory s, uint32 word) internal pure returns (uint32) {
        unchecked {
            return s.pc + 4 + (sext16(word) << 2);
        }
    }

    function conditional(
        MipsState.State memory s,
        ProofIO.IO memory io,
        uint32 word,
        bool taken,
        bool likely,
        bool link
    ) internal pure returns (uint256) {
        branchCheck(s, io);
        unchecked {
            if (link) s.setReg(RA, s.pc + 8);
        }
        if (taken) return branchTarget(s, word);
        return likely ? NULLIFY : FALL_THROUGH;
    }

    // ------------------------------------------------------------ SPECIAL (opcode 0)

    /// @notice ADD, ADDI, SUB: a signed result outside 32 bits is an overflow exception.
    function checked(ProofIO.IO memory io, int256 result) internal pure returns (uint32) {
        if (result < type(int32).min || result > type(int32).max) {
            StepPanic.raise(io, StepPanic.INTEGER_OVERFLOW);
        }
        return uint32(int32(result));
    }

    /// @notice DIV/DIVU as unicorn's QEMU core computes them, including the undefined cases:
    ///         a zero divisor, or INT_MIN / -1 for DIV, is replaced by 1.
    function divide(MipsState.State memory s, uint32 x, uint32 y, bool signed) internal pure {
        if (signed) {
            int256 a = int32(x);
            int256 b = int32(y);
            if (b == 0 || (a == type(int32).min && b == -1)) b = 1;
            int256 quotient = a / b; // truncates toward zero
            s.lo = uint32(uint256(quotient));
            s.hi = uint32(uint256(a - quotient * b));
        } else {
            uint32 b = y == 0 ? 1 : y;
            s.lo = x / b;
            s.hi = x % b;
        }
    }

    function trapCondition(uint256 funct, uint32 x, uint32 y) internal pure returns (bool) {
        if (funct == 0x30) return int32(x) >= int32(y); // TGE
        if (funct == 0x31) return x >= y; // TGEU
        if (funct == 0x32) return int32(x) < int32(y); // TLT
        if (funct == 0x33) return x < y; // TLTU
        if (funct == 0x34) return x == y; // TEQ
        return x != y; // TNE (0x36)
    }

    function special(MipsState.State memory s, ProofIO.IO memory io, uint32 word)
        internal
        pure
        returns (uint256)
    {
        uint256 funct = word & 63;
        (uint256 rs, uint256 rt, uint256 rd, uint256 sa) = (_rs(word), _rt(word), _rd(word), _sa(word));
        uint32 x = s.reg(rs);
        uint32 y = s.reg(rt);
        unchecked {
            if (funct == 0x00) {
                s.setReg(rd, uint32(uint256(y) << sa)); // SLL (also NOP, SSNOP, EHB)
            } else if (funct == 0x02) {
                s.setReg(rd, rs & 1 != 0 ? rotr(y, sa) : y >> sa); // SRL, or ROTR if bit 21
            } else if (funct == 0x03) {
                s.setReg(rd, uint32(int32(y) >> sa)); // SRA
            } else if (funct == 0x04) {
                s.setReg(rd, y << (x & 31)); // SLLV
            } else if (funct == 0x06) {
                s.setReg(rd, sa & 1 != 0 ? rotr(y, x) : y >> (x & 31)); // SRLV, or ROTRV if bit 6
            } else if (funct == 0x07) {
                s.setReg(rd, uint32(int32(y) >> (x & 31))); // SRAV
            } else if (funct == 0x08 || funct == 0x09) {
                // JR, JALR
                branchCheck(s, io);
                // an odd target would enter MIPS16 mode, which flexEmu does not run
                if (x & 1 != 0) reserved(io);
                if (funct == 0x09) s.setReg(rd, s.pc + 8);
                return x;
            } else if (funct == 0x0A) {
                if (y == 0) s.setReg(rd, x); // MOVZ
            } else if (funct == 0x0B) {
                if (y != 0) s.setReg(rd, x); // MOVN
            } else if (funct == 0x0C) {
                MipsSyscalls.syscall(s, io); // SYSCALL
            } else if (funct == 0x0D) {
                StepPanic.raise(io, StepPanic.BREAK); // BREAK
            } else if (funct == 0x0F) {
                // SYNC
            } else if (funct == 0x10) {
                s.setReg(rd, s.hi); // MFHI
            } else if (funct == 0x11) {
                s.hi = x; // MTHI
            } else if (funct == 0x12) {
                s.setReg(rd, s.lo); // MFLO
            } else if (funct == 0x13) {
                s.lo = x; // MTLO
            } else if (funct == 0x18) {
                (s.hi, s.lo) = split64(uint64(int64(int32(x)) * int32(y))); // MULT
            } else if (funct == 0x19) {
                (s.hi, s.lo) = split64(uint64(x) * y); // MULTU
            } else if (funct == 0x1A || funct == 0x1B) {
                divide(s, x, y, funct == 0x1A); // DIV, DIVU
            } else if (funct == 0x20) {
                s.setReg(rd, checked(io, int256(int32(x)) + int32(y))); // ADD
            } else if (funct == 0x21) {
                s.setReg(rd, x + y); // ADDU
            } else if (funct == 0x22) {
                s.setReg(rd, checked(io, int256(int32(x)) - int32(y))); // SUB
            } else if (funct == 0x23) {
                s.setReg(rd, x - y); // SUBU
            } else if (funct == 0x24) {
                s.setReg(rd, x & y); // AND
            } else if (funct == 0x25) {
                s.setReg(rd, x | y); // OR
            } else if (funct == 0x26) {
                s.setReg(rd, x ^ y); // XOR
            } else if (funct == 0x27) {
                s.setReg(rd, ~(x | y)); // NOR
            } else if (funct == 0x2A) {
                s.setReg(rd, int32(x) < int32(y) ? 1 : 0); // SLT
            } else if (funct == 0x2B) {
                s.setReg(rd, x < y ? 1 : 0); // SLTU
            } else if ((funct >= 0x30 && funct <= 0x34) || funct == 0x36) {
                // TGE TGEU TLT TLTU TEQ TNE
                if (trapCondition(funct, x, y)) StepPanic.raise(io, StepPanic.TRAP);
            } else {
                reserved(io);
            }
        }
        return FALL_THROUGH;
    }

    // ------------------------------------------------------------ REGIMM (opcode 1)

    function regimm(MipsState.State memory s, ProofIO.IO memory io, uint32 word)
        internal
        pure
        returns (uint256)
    {
        uint256 rt = _rt(word);
        int32 x = int32(s.reg(_rs(word)));
        uint32 imm = sext16(word);
        if (rt <= 0x03 || (rt >= 0x10 && rt <= 0x13)) {
            // BLTZ BGEZ BLTZL BGEZL BLTZAL BGEZAL BLTZALL BGEZALL
            bool taken = rt & 1 != 0 ? x >= 0 : x < 0;
            return conditional(s, io, word, taken, rt & 2 != 0, rt & 0x10 != 0);
        }
        if (rt >= 0x08 && rt <= 0x0E && rt != 0x0D) {
            // TGEI TGEIU TLTI TLTIU TEQI TNEI
            uint32 ux = uint32(x);
            bool condition;
            if (rt == 0x08) condition = x >= int32(imm);
            else if (rt == 0x09) condition = ux >= imm;
            else if (rt == 0x0A) condition = x < int32(imm);
            else if (rt == 0x0B) condition = ux < imm;
            else if (rt == 0x0C) condition = ux == imm;
            else condition = ux != imm;
            if (condition) StepPanic.raise(io, StepPanic.TRAP);
            return FALL_THROUGH;
        }
        if (rt == 0x1F) return FALL_THROUGH; // SYNCI: there is no instruction cache
        return reserved(io);
    }

    // ------------------------------------------------------------ jumps and branches

    /// @notice J, JAL.
    function jump(MipsState.State memory s, ProofIO.IO memory io, uint32 word)
        internal
        pure
        returns (uint256)
    {
        branchCheck(s, io);
        unchecked {
            if (word >> 26 == 0x03) s.setReg(RA, s.pc + 8);
            return ((s.pc + 4) & 0xF0000000) | ((word & 0x03FFFFFF) << 2);
        }
    }

    /// @notice BEQ BNE BLEZ BGTZ and their -likely forms (opcodes 4-7, 20-23).
    function branchCompare(MipsState.State memory s, ProofIO.IO memory io, uint32 word)
        internal
        pure
        returns (uint256)
    {
        uint256 op = word >> 26;
        uint32 x = s.reg(_rs(word));
        uint32 y = s.reg(_rt(word));
        uint256 kind = op & 3;
        bool taken;
        if (kind == 0) taken = x == y;
        else if (kind == 1) taken = x != y;
        else if (kind == 2) taken = int32(x) <= 0;
        else taken = int32(x) > 0;
        return conditional(s, io, word, taken, op >= 0x14, false);
    }

    // ------------------------------------------------------------ immediate arithmetic

    /// @notice ADDI ADDIU SLTI SLTIU ANDI ORI XORI LUI (opcodes 8-15).
    function immediate(MipsState.State memory s, ProofIO.IO memory io, uint32 word)
        internal
        pure
        returns (uint256)
    {
        uint256 op = word >> 26;
        uint32 x = s.reg(_rs(word));
        uint32 imm = word & 0xFFFF;
        uint32 value;
        unchecked {
            if (op == 0x08) value = checked(io, int256(int32(x)) + int32(sext16(imm)));
            else if (op == 0x09) value = x + sext16(imm);
            else if (op == 0x0A) value = int32(x) < int32(sext16(imm)) ? 1 : 0;
            else if (op == 0x0B) value = x < sext16(imm) ? 1 : 0;
            else if (op == 0x0C) value = x & imm;
            else if (op == 0x0D) value = x | imm;
            else if (op == 0x0E) value = x ^ imm;
            else value = imm << 16;
        }
        s.setReg(_rt(word), value);
        return FALL_THROUGH;
    }

    // ------------------------------------------------------------ SPECIAL2 (opcode 28)

    function countLeading(uint32 value, uint32 bit) internal pure returns (uint32 count) {
        for (uint256 shift = 32; shift > 0; --shift) {
            if ((value >> (shift - 1)) & 1 != bit) break;
            ++count;
        }
    }

    function special2(MipsState.State memory s, ProofIO.IO memory io, uint32 word)
        internal
        pure
        returns (uint256)
    {
        uint256 funct = word & 63;
        uint32 x = s.reg(_rs(word));
        uint32 y = s.reg(_rt(word));
        unchecked {
            uint64 acc = (uint64(s.hi) << 32) | s.lo;
            uint64 signedProduct = uint64(int64(int32(x)) * int32(y));
            uint64 product = uint64(x) * y;
            if (funct == 0x00) {
                (s.hi, s.lo) = split64(acc + signedProduct); // MADD
            } else if (funct == 0x01) {
                (s.hi, s.lo) = split64(acc + product); // MADDU
            } else if (funct == 0x02) {
                s.setReg(_rd(word), uint32(signedProduct)); // MUL: HI and LO are left alone
            } else if (funct == 0x04) {
                (s.hi, s.lo) = split64(acc - signedProduct); // MSUB
            } else if (funct == 0x05) {
                (s.hi, s.lo) = split64(acc - product); // MSUBU
            } else if (funct == 0x20) {
                s.setReg(_rd(word), countLeading(x, 0)); // CLZ
            } else if (funct == 0x21) {
                s.setReg(_rd(word), countLeading(x, 1)); // CLO
            } else {
                reserved(io);
            }
        }
        return FALL_THROUGH;
    }

    // ------------------------------------------------------------ SPECIAL3 (opcode 31)

    function special3(MipsState.State memory s, ProofIO.IO memory io, uint32 word)
        internal
        pure
        returns (uint256)
    {
        uint256 funct = word & 63;
        (uint256 rs, uint256 rt, uint256 rd, uint256 sa) = (_rs(word), _rt(word), _rd(word), _sa(word));
        uint256 x = s.reg(rs);
        uint32 y = s.reg(rt);
        if (funct == 0x00) {
            // EXT: rd holds msbd, sa holds lsb
            if (sa + rd > 31) reserved(io);
            s.setReg(rt, uint32((x >> sa) & ((1 << (rd + 1)) - 1)));
        } else if (funct == 0x04) {
            // INS: rd holds msb, sa holds lsb
            if (rd < sa) reserved(io);
            uint256 mask = ((1 << (rd - sa + 1)) - 1) << sa;
            s.setReg(rt, uint32((y & ~mask & MASK32) | ((x << sa) & mask)));
        } else if (funct == 0x20) {
            // BSHFL
            uint32 value;
            if (sa == 0x02) value = ((y & 0x00FF00FF) << 8) | ((y >> 8) & 0x00FF00FF); // WSBH
            else if (sa == 0x10) value = sext8(y); // SEB
            else if (sa == 0x18) value = sext16(y); // SEH
            else reserved(io);
            s.setReg(rd, value);
        } else if (funct == 0x3B) {
            // RDHWR: only the thread pointer (UserLocal, $29) exists
            if (rd != 29) reserved(io);
            s.setReg(rt, s.tls);
        } else {
            reserved(io);
        }
        return FALL_THROUGH;
    }

    // ------------------------------------------------------------ loads and stores

    function _address(MipsState.State memory s, uint32 word) private pure returns (uint32) {
        unchecked {
            return s.reg(_rs(word)) + sext16(word);
        }
    }

    /// @notice LB LH LWL LW LBU LHU LWR (opcodes 32-38).
    function load(MipsState.State memory s, ProofIO.IO memory io, uint32 word)
        internal
        pure
        returns (uint256)
    {
        uint256 op = word >> 26;
        uint32 vaddr = _address(s, word);
        uint256 rt = _rt(word);
        uint32 value;
        if (op == 0x21 || op == 0x25) {
            // LH, LHU
            uint32 paddr = MipsAddress.aligned(io, vaddr, 2);
            uint32 half = (ProofIO.readWord(io, paddr & ~uint32(3)) >> (16 - 8 * (paddr & 2))) & 0xFFFF;
            value = op == 0x21 ? sext16(half) : half;
        } else if (op == 0x23) {
            value = ProofIO.readWord(io, MipsAddress.aligned(io, vaddr, 4)); // LW
        } else if (op == 0x20 || op == 0x24) {
            // LB, LBU
            uint32 paddr = MipsAddress.translate(io, vaddr);
            uint32 b = (ProofIO.readWord(io, paddr & ~uint32(3)) >> (24 - 8 * (paddr & 3))) & 0xFF;
            value = op == 0x20 ? sext8(b) : b;
        } else {
            // LWL, LWR: the unaligned halves, big-endian
            uint32 paddr = MipsAddress.translate(io, vaddr);
            uint256 memoryWord = ProofIO.readWord(io, paddr & ~uint32(3));
            uint256 old = s.reg(rt);
            uint256 shift = 8 * (paddr & 3);
            if (op == 0x22) {
                value = uint32((memoryWord << shift) | (old & ((1 << shift) - 1)));
            } else {
                shift = 24 - shift;
                value = uint32((memoryWord >> shift) | (old & ~(MASK32 >> shift) & MASK32));
            }
        }
        s.setReg(rt, value);
        return FALL_THROUGH;
    }

    /// @notice SB SH SWL SW SWR (opcodes 40-43, 46).
    function store(MipsState.State memory s, ProofIO.IO memory io, uint32 word)
        internal
        pure
        returns (uint256)
    {
        uint256 op = word >> 26;
        uint32 vaddr = _address(s, word);
        uint256 value = s.reg(_rt(word));
        if (op == 0x2B) {
            ProofIO.writeWord(io, MipsAddress.aligned(io, vaddr, 4), uint32(value)); // SW
            return FALL_THROUGH;
        }
        uint32 paddr = op == 0x29 ? MipsAddress.aligned(io, vaddr, 2) : MipsAddress.translate(io, vaddr);
        uint32 base = paddr & ~uint32(3);
        uint256 memoryWord = ProofIO.readWord(io, base);
        uint256 shift = 8 * (paddr & 3);
        uint256 mask;
        uint256 merged;
        if (op == 0x28) {
            // SB
            mask = 0xFF000000 >> shift;
            merged = (memoryWord & ~mask) | ((value & 0xFF) << (24 - shift));
        } else if (op == 0x29) {
            // SH
            mask = 0xFFFF0000 >> shift;
            merged = (memoryWord & ~mask) | ((value & 0xFFFF) << (16 - shift));
        } else if (op == 0x2A) {
            // SWL
            mask = MASK32 >> shift;
            merged = (memoryWord & ~mask) | (value >> shift);
        } else {
            // SWR
            mask = (MASK32 << (24 - shift)) & MASK32;
            merged = (memoryWord & ~mask) | ((value << (24 - shift)) & MASK32);
        }
        ProofIO.writeWord(io, base, uint32(merged & MASK32));
        return FALL_THROUGH;
    }

    /// @notice LL: load and remember (address, value) as the reservation.
    function loadLinked(MipsState.State memory s, ProofIO.IO memory io, uint32 word)
        internal
        pure
        returns (uint256)
    {
        uint32 vaddr = _address(s, word);
        uint32 value = ProofIO.readWord(io, MipsAddress.aligned(io, vaddr, 4));
        (s.llAddr, s.llValue) = (vaddr, value);
        s.setReg(_rt(word), value);
        return FALL_THROUGH;
    }

    /// @notice SC: store only if the reservation's address matches and memory still holds its
    ///         value (unicorn's compare-and-swap rule, docs/spec.md 6.6). An address that is not
    ///         the reservation's fails without touching memory: no translation, no alignment
    ///         check, no proof consumed. The reservation stays.
    function storeConditional(MipsState.State memory s, ProofIO.IO memory io, uint32 word)
        internal
        pure
        returns (uint256)
    {
        uint32 vaddr = _address(s, word);
        uint256 rt = _rt(word);
        bool success = false;
        if (vaddr == s.llAddr) {
            uint32 paddr = MipsAddress.aligned(io, vaddr, 4);
            success = ProofIO.readWord(io, paddr) == s.llValue;
            if (success) ProofIO.writeWord(io, paddr, s.reg(rt));
        }
        s.setReg(rt, success ? 1 : 0);
        return FALL_THROUGH;
    }

    // ------------------------------------------------------------ FPU data movement
    //
    // Static glibc saves and restores the callee-saved FPU registers in setjmp and longjmp, so
    // the register file (FR=0: a double is an even/odd pair, the odd register holding the high
    // word) and FCSR are state. Moving data is supported; FPU arithmetic is reserved.

    function cop1(MipsState.State memory s, ProofIO.IO memory io, uint32 word)
        internal
        pure
        returns (uint256)
    {
        (uint256 fmt, uint256 rt, uint256 fs) = (_rs(word), _rt(word), _rd(word));
        if (fmt == 0x00) {
            s.setReg(rt, s.fpr(fs)); // MFC1
        } else if (fmt == 0x04) {
            s.setFpr(fs, s.reg(rt)); // MTC1
        } else if (fmt == 0x02 && fs == 31) {
            s.setReg(rt, s.fcsr); // CFC1 from FCSR
        } else if (fmt == 0x06 && fs == 31) {
            s.fcsr = s.reg(rt); // CTC1 to FCSR
        } else {
            reserved(io);
        }
        return FALL_THROUGH;
    }

    /// @notice LWC1 LDC1 SWC1 SDC1 (opcodes 49, 53, 57, 61).
    function fpuMemory(MipsState.State memory s, ProofIO.IO memory io, uint32 word)
        internal
        pure
        returns (uint256)
    {
        uint256 op = word >> 26;
        uint256 ft = _rt(word);
        uint32 vaddr = _address(s, word);
        bool isDouble = op == 0x35 || op == 0x3D;
        if (isDouble && ft & 1 != 0) reserved(io);
        uint32 paddr = MipsAddress.aligned(io, vaddr, isDouble ? 8 : 4);
        if (op == 0x31) {
            s.setFpr(ft, ProofIO.readWord(io, paddr)); // LWC1
        } else if (op == 0x35) {
            // LDC1: the high word is first in memory
            uint32 high = ProofIO.readWord(io, paddr);
            uint32 low = ProofIO.readWord(io, paddr + 4);
            s.setFpr(ft + 1, high);
            s.setFpr(ft, low);
        } else if (op == 0x39) {
            ProofIO.writeWord(io, paddr, s.fpr(ft)); // SWC1
        } else {
            // SDC1
            ProofIO.writeWord(io, paddr, s.fpr(ft + 1));
            ProofIO.writeWord(io, paddr + 4, s.fpr(ft));
        }
        return FALL_THROUGH;
    }
}
