// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title MipsState
/// @notice The machine state, its packed 410-byte witness and the state hash: the Solidity
///         side of flexemu/state.py (docs/spec.md sections 2 and 3).
/// @dev Gas decides the representation. The witness is copied from calldata into memory once
///      (`packed`); the scalar fields are decoded into struct fields the step reads and writes
///      by name, while the 64 register words stay where they are in `packed` and are accessed
///      through `reg`/`setReg` and `fpr`/`setFpr`. `witness` writes the scalars back, so the
///      post-state hash is one keccak over `packed`. Unpacking and repacking all 64 registers
///      on every step would cost about 40% of a typical step.
library MipsState {
    /// @notice A witness must be exactly WITNESS_BYTES long.
    error WitnessLength(uint256 length);
    /// @notice A witness field holds a value no state can have; `field` is its byte offset in
    ///         the witness (148: status > 2, 150: regs[0] != 0), as State.from_witness rejects.
    error InvalidWitness(uint256 field);

    uint256 internal constant WITNESS_BYTES = 410;
    /// @notice Depth of the memory Merkle tree (docs/spec.md section 4; isa.tree_depth).
    uint256 internal constant TREE_DEPTH = 27;

    // Byte offsets of witness fields (docs/spec.md section 2).
    uint256 internal constant STEP_OFFSET = 140;
    uint256 internal constant STATUS_OFFSET = 148;
    uint256 internal constant EXIT_CODE_OFFSET = 149;
    uint256 internal constant REGS_OFFSET = 150;
    uint256 internal constant FCSR_OFFSET = 278;
    uint256 internal constant FPR_OFFSET = 282;

    // `status` (Status in state.py).
    uint8 internal constant RUNNING = 0;
    uint8 internal constant EXITED = 1;
    uint8 internal constant PANICKED = 2;

    // The top byte of a state hash (VMStatus in state.py).
    uint8 internal constant VM_EXITED_ZERO = 0;
    uint8 internal constant VM_EXITED_NONZERO = 1;
    uint8 internal constant VM_PANICKED = 2;
    uint8 internal constant VM_UNFINISHED = 3;

    /// @notice Everything but memory contents. The scalar fields in witness order (the
    ///         assembly below relies on that order: field k lives at 32 * k), then the witness
    ///         bytes, which hold the registers (and, once `witness` ran, everything else).
    struct State {
        bytes32 memRoot; //         0x000
        bytes32 inputRoot; //       0x020
        bytes32 outputHash; //      0x040
        uint32 inputLen; //         0x060
        uint32 inputPos; //         0x080
        uint32 pc; //               0x0a0
        uint32 nextPc; //           0x0c0
        uint32 lo; //               0x0e0
        uint32 hi; //               0x100
        uint32 brk; //              0x120
        uint32 mmapNext; //         0x140
        uint32 tls; //              0x160
        uint32 llAddr; //           0x180
        uint32 llValue; //          0x1a0
        uint64 step; //             0x1c0
        uint8 status; //            0x1e0
        uint8 exitCode; //          0x200
        uint32 fcsr; //             0x220
        bytes packed; //            0x240 (pointer): the witness; regs[] and fpr[] live here
    }

    /// @notice Decode and validate a witness (State.from_witness).
    function fromWitness(bytes calldata data) internal pure returns (State memory s) {
        if (data.length != WITNESS_BYTES) revert WitnessLength(data.length);
        s.packed = data;
        assembly ("memory-safe") {
            let w := data.offset
            mstore(s, calldataload(w))
            mstore(add(s, 0x20), calldataload(add(w, 32)))
            mstore(add(s, 0x40), calldataload(add(w, 64)))
            // The eleven 4-byte fields input_len .. ll_value, then step, status and exit_code.
            let x := calldataload(add(w, 96))
            mstore(add(s, 0x60), shr(224, x))
            mstore(add(s, 0x80), and(shr(192, x), 0xffffffff))
            mstore(add(s, 0xa0), and(shr(160, x), 0xffffffff))
            mstore(add(s, 0xc0), and(shr(128, x), 0xffffffff))
            mstore(add(s, 0xe0), and(shr(96, x), 0xffffffff))
            mstore(add(s, 0x100), and(shr(64, x), 0xffffffff))
            mstore(add(s, 0x120), and(shr(32, x), 0xffffffff))
            mstore(add(s, 0x140), and(x, 0xffffffff))
            x := calldataload(add(w, 128))
            mstore(add(s, 0x160), shr(224, x))
            mstore(add(s, 0x180), and(shr(192, x), 0xffffffff))
            mstore(add(s, 0x1a0), and(shr(160, x), 0xffffffff))
            mstore(add(s, 0x1c0), and(shr(96, x), 0xffffffffffffffff))
            mstore(add(s, 0x1e0), and(shr(88, x), 0xff))
            mstore(add(s, 0x200), and(shr(80, x), 0xff))
            mstore(add(s, 0x220), shr(224, calldataload(add(w, 278)))) // fcsr
        }
        if (s.status > PANICKED) revert InvalidWitness(STATUS_OFFSET);
        if (reg(s, 0) != 0) revert InvalidWitness(REGS_OFFSET);
    }

    /// @notice The packed witness of `s` (State.witness): the scalar fields are written into
    ///         `s.packed`, which is returned (not a copy).
    function witness(State memory s) internal pure returns (bytes memory w) {
        w = s.packed;
        assembly ("memory-safe") {
            let p := add(w, 32)
            mstore(p, mload(s))
            mstore(add(p, 32), mload(add(s, 0x20)))
            mstore(add(p, 64), mload(add(s, 0x40)))
            let x := shl(224, mload(add(s, 0x60)))
            x := or(x, shl(192, mload(add(s, 0x80))))
            x := or(x, shl(160, mload(add(s, 0xa0))))
            x := or(x, shl(128, mload(add(s, 0xc0))))
            x := or(x, shl(96, mload(add(s, 0xe0))))
            x := or(x, shl(64, mload(add(s, 0x100))))
            x := or(x, shl(32, mload(add(s, 0x120))))
            mstore(add(p, 96), or(x, mload(add(s, 0x140))))
            // Offsets 128 .. 149; the word's last 10 bytes are regs[0..2] and stay.
            x := shl(224, mload(add(s, 0x160)))
            x := or(x, shl(192, mload(add(s, 0x180))))
            x := or(x, shl(160, mload(add(s, 0x1a0))))
            x := or(x, shl(96, mload(add(s, 0x1c0))))
            x := or(x, shl(88, mload(add(s, 0x1e0))))
            x := or(x, shl(80, mload(add(s, 0x200))))
            let q := add(p, 128)
            mstore(q, or(x, and(mload(q), 0xffffffffffffffffffff)))
            // fcsr at 278; the rest of the word is fpr[0..6].
            q := add(p, 278)
            mstore(q, or(shl(224, mload(add(s, 0x220))), and(mload(q), not(shl(224, 0xffffffff)))))
        }
    }

    /// @notice The state hash of `s` (State.hash).
    function hash(State memory s) internal pure returns (bytes32) {
        return stateHash(witness(s));
    }

    /// @notice keccak256(witness) with the top byte replaced by the VM status (state_hash).
    ///         Like state.py's `state_hash`, it does not validate the fields.
    function stateHash(bytes memory w) internal pure returns (bytes32) {
        uint8 status = uint8(w[STATUS_OFFSET]);
        uint8 exitCode = uint8(w[EXIT_CODE_OFFSET]);
        uint256 vm;
        if (status == RUNNING) {
            vm = VM_UNFINISHED;
        } else if (status == PANICKED) {
            vm = VM_PANICKED;
        } else {
            vm = exitCode == 0 ? VM_EXITED_ZERO : VM_EXITED_NONZERO;
        }
        return bytes32((vm << 248) | (uint256(keccak256(w)) & type(uint248).max));
    }

    // ---------------------------------------------------------- registers, in the witness

    /// @notice regs[i] (i < 32).
    function reg(State memory s, uint256 i) internal pure returns (uint32 value) {
        bytes memory w = s.packed;
        assembly ("memory-safe") {
            value := shr(224, mload(add(add(w, 182), shl(2, i)))) // 182 = 32 + REGS_OFFSET
        }
    }

    /// @notice regs[i] = value, except that writes to $zero are discarded (`_set` in step.py).
    function setReg(State memory s, uint256 i, uint32 value) internal pure {
        if (i != 0) _store32(s.packed, REGS_OFFSET + 4 * i, value);
    }

    /// @notice fpr[i] (i < 32).
    function fpr(State memory s, uint256 i) internal pure returns (uint32 value) {
        bytes memory w = s.packed;
        assembly ("memory-safe") {
            value := shr(224, mload(add(add(w, 314), shl(2, i)))) // 314 = 32 + FPR_OFFSET
        }
    }

    /// @notice fpr[i] = value.
    function setFpr(State memory s, uint256 i, uint32 value) internal pure {
        _store32(s.packed, FPR_OFFSET + 4 * i, value);
    }

    /// @dev Store a 4-byte big-endian value at byte `offset` of `w` (read-modify-write of
    ///      the 32-byte word there; past the end of `w` it rewrites what it read).
    function _store32(bytes memory w, uint256 offset, uint32 value) private pure {
        assembly ("memory-safe") {
            let p := add(add(w, 32), offset)
            mstore(p, or(shl(224, value), and(mload(p), not(shl(224, 0xffffffff)))))
        }
    }
}
