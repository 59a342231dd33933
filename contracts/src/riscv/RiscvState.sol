// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title RiscvState
/// @notice The RISC-V machine state, its packed witness and the state hash: the Solidity side
///         of flexemu/isa/riscv/state.py (docs/spec.md sections R2 and R3).
/// @dev The state IS the witness, copied from calldata into memory once: every field is read
///      and written in place at its named offset (big-endian), so the post-state hash is one
///      keccak over the same bytes. Offsets after PC depend on XLEN (the ISA tag, byte 0).
library RiscvState {
    /// @notice A witness must be exactly as long as its ISA tag says (520 or 652 bytes).
    error WitnessLength(uint256 length);
    /// @notice A witness field holds a value no state can have; `field` is its byte offset
    ///         (0 tag, 1 status, 3 reservation, 124 reservation_addr, 128 fcsr, x0's offset).
    error InvalidWitness(uint256 field);

    // ISA tags (witness byte 0).
    /// @notice Depth of the memory Merkle tree (docs/spec.md section R4; isa.tree_depth).
    uint256 internal constant TREE_DEPTH = 27;
    uint8 internal constant ISA_RV32 = 0x01;
    uint8 internal constant ISA_RV64 = 0x02;

    // Reservation flag (byte 3).
    uint256 internal constant NO_RESERVATION = 0;
    uint256 internal constant RESERVED_WORD = 4;
    uint256 internal constant RESERVED_DOUBLE = 8;

    // Offsets of the fixed head.
    uint256 internal constant ISA = 0;
    uint256 internal constant STATUS = 1;
    uint256 internal constant EXIT_CODE = 2;
    uint256 internal constant RESERVATION = 3;
    uint256 internal constant MEM_ROOT = 4;
    uint256 internal constant INPUT_ROOT = 36;
    uint256 internal constant OUTPUT_HASH = 68;
    uint256 internal constant INPUT_LEN = 100;
    uint256 internal constant INPUT_POS = 104;
    uint256 internal constant STEP = 108;
    uint256 internal constant BRK = 116;
    uint256 internal constant MMAP_NEXT = 120;
    uint256 internal constant RESERVATION_ADDR = 124;
    uint256 internal constant FCSR = 128;
    uint256 internal constant PC = 132;

    uint256 internal constant WITNESS_BYTES_RV32 = 520;
    uint256 internal constant WITNESS_BYTES_RV64 = 652;

    // `status` (Status in flexemu/state.py).
    uint8 internal constant RUNNING = 0;
    uint8 internal constant EXITED = 1;
    uint8 internal constant PANICKED = 2;

    /// @notice XLEN of a witness whose tag was validated.
    function xlen(bytes memory w) internal pure returns (uint256) {
        return uint8(w[ISA]) == ISA_RV32 ? 32 : 64;
    }

    /// @notice The witness size for the tag at byte 0 of `witness`; reverts on a bad tag.
    function checkedLength(bytes calldata witness) internal pure returns (uint256 size) {
        if (witness.length == 0) revert WitnessLength(0);
        uint8 tag = uint8(witness[ISA]);
        if (tag == ISA_RV32) size = WITNESS_BYTES_RV32;
        else if (tag == ISA_RV64) size = WITNESS_BYTES_RV64;
        else revert InvalidWitness(ISA);
        if (witness.length != size) revert WitnessLength(witness.length);
    }

    /// @notice Decode and validate a witness (RiscvState.from_witness).
    function fromWitness(bytes calldata witness) internal pure returns (bytes memory w) {
        checkedLength(witness);
        w = witness;
        uint256 bits = xlen(w);
        if (get(w, STATUS, 1) > PANICKED) revert InvalidWitness(STATUS);
        if (x(w, 0) != 0) revert InvalidWitness(PC + bits / 8);
        uint256 reservation = get(w, RESERVATION, 1);
        if (
            (reservation != NO_RESERVATION && reservation != RESERVED_WORD && reservation != RESERVED_DOUBLE)
                || (reservation == RESERVED_DOUBLE && bits == 32)
        ) revert InvalidWitness(RESERVATION);
        if (reservation == NO_RESERVATION && get(w, RESERVATION_ADDR, 4) != 0) {
            revert InvalidWitness(RESERVATION_ADDR);
        }
        if (get(w, FCSR, 4) > 0xFF) revert InvalidWitness(FCSR);
    }

    /// @notice keccak256(witness) with the top byte replaced by the VM status (state_hash).
    function stateHash(bytes memory w) internal pure returns (bytes32) {
        uint256 status = get(w, STATUS, 1);
        uint256 vm;
        if (status == RUNNING) vm = 3;
        else if (status == PANICKED) vm = 2;
        else vm = get(w, EXIT_CODE, 1) == 0 ? 0 : 1;
        return bytes32((vm << 248) | (uint256(keccak256(w)) & type(uint248).max));
    }

    // ------------------------------------------------------------------ fields, in place

    /// @notice The big-endian `size`-byte field at `offset`.
    function get(bytes memory w, uint256 offset, uint256 size) internal pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := shr(sub(256, shl(3, size)), mload(add(add(w, 32), offset)))
        }
    }

    /// @notice Set the big-endian `size`-byte field at `offset` to `value` (< 2^(8 size)).
    function set(bytes memory w, uint256 offset, uint256 size, uint256 value) internal pure {
        assembly ("memory-safe") {
            let p := add(add(w, 32), offset)
            let shift := sub(256, shl(3, size))
            mstore(p, or(shl(shift, value), and(mload(p), not(shl(shift, sub(shl(shl(3, size), 1), 1))))))
        }
    }

    function pc(bytes memory w) internal pure returns (uint256) {
        return get(w, PC, xlen(w) / 8);
    }

    function setPc(bytes memory w, uint256 value) internal pure {
        set(w, PC, xlen(w) / 8, value);
    }

    /// @notice Integer register x[i] (an unsigned XLEN-bit value).
    function x(bytes memory w, uint256 i) internal pure returns (uint256) {
        uint256 size = xlen(w) / 8;
        return get(w, PC + size * (1 + i), size);
    }

    /// @notice x[i] = value wrapped to XLEN; writes to x0 are discarded (registers.write_x).
    function setX(bytes memory w, uint256 i, uint256 value) internal pure {
        if (i == 0) return;
        uint256 bits = xlen(w);
        set(w, PC + (bits / 8) * (1 + i), bits / 8, value & ((1 << bits) - 1));
    }

    /// @notice FP register f[i]: 64 raw bits.
    function f(bytes memory w, uint256 i) internal pure returns (uint256) {
        return get(w, PC + 33 * (xlen(w) / 8) + 8 * i, 8);
    }

    function setF(bytes memory w, uint256 i, uint256 value) internal pure {
        set(w, PC + 33 * (xlen(w) / 8) + 8 * i, 8, value & type(uint64).max);
    }
}
