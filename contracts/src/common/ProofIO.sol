// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MerkleMemory} from "./MerkleMemory.sol";

/// @title ProofIO
/// @notice Memory and input access for one step, served by Merkle proofs only: the Solidity
///         side of `ProofIO` in flexemu/mips/io.py (docs/spec.md section 10), shared by every
///         ISA: MIPS reads aligned big-endian words, RISC-V whole leaves (`LeafIO`).
/// @dev The proof is the concatenation of 900-byte leaf proofs in access order. One "current"
///      proven leaf is kept per tree (memory, input); an access to it reuses it, an access to
///      another leaf consumes the next proof, which must name that leaf and verify against the
///      tree's root at that moment. A write changes the current memory leaf; the new memory
///      root is folded from the same siblings. Folding is deferred until the root is needed
///      (the next memory proof, or the end of the step): that gives the same roots as
///      rehashing after every write, once per leaf instead of once per word.
library ProofIO {
    /// @notice Proof bytes left over after the step, or a proof length that is not a multiple
    ///         of 900 (then `unusedBytes` is the remainder `length % 900`).
    error ProofOversized(uint256 unusedBytes);

    /// @notice "No current leaf" (leaf indices are below 2^27).
    uint256 private constant NONE = type(uint256).max;

    struct IO {
        bytes32 memRoot; // memory root after the writes folded so far
        bytes32 inputRoot;
        uint256 witness; // calldata offset of the witness (a panic rebuilds the post-state from it)
        uint256 proof; // calldata offset of the proof bytes
        uint256 length; // proof length in bytes
        uint256 offset; // proof bytes consumed
        uint256 memIndex; // current memory leaf: index (NONE before the first access) ...
        bytes32 memLeaf; // ... its bytes, as written so far ...
        uint256 memProof; // ... offset of its leaf proof ...
        bytes32 memProofRoot; // ... the root that proof verified against ...
        bool memDirty; // ... and whether it was written since
        uint256 inputIndex; // current input leaf: index (NONE before the first access) ...
        bytes32 inputLeaf; // ... and its bytes
    }

    /// @notice Start a step over `proof` (ProofIO.__init__).
    function init(bytes32 memRoot, bytes32 inputRoot, bytes calldata witness, bytes calldata proof)
        internal
        pure
        returns (IO memory io)
    {
        uint256 remainder = proof.length % MerkleMemory.PROOF_SIZE;
        if (remainder != 0) revert ProofOversized(remainder);
        io.memRoot = memRoot;
        io.inputRoot = inputRoot;
        io.length = proof.length;
        io.memIndex = NONE;
        io.inputIndex = NONE;
        uint256 witnessAt;
        uint256 proofAt;
        assembly ("memory-safe") {
            witnessAt := witness.offset
            proofAt := proof.offset
        }
        io.witness = witnessAt;
        io.proof = proofAt;
    }

    /// @notice The aligned word at physical address `paddr` (ProofIO.read_word).
    function readWord(IO memory io, uint256 paddr) internal pure returns (uint32) {
        _memLeaf(io, paddr >> 5);
        return uint32(uint256(io.memLeaf) >> (224 - 8 * (paddr & 31)));
    }

    /// @notice Store the aligned word at `paddr` (ProofIO.write_word).
    function writeWord(IO memory io, uint256 paddr, uint32 value) internal pure {
        _memLeaf(io, paddr >> 5);
        uint256 shift = 224 - 8 * (paddr & 31);
        io.memLeaf = bytes32(
            (uint256(io.memLeaf) & ~(uint256(0xFFFFFFFF) << shift)) | (uint256(value) << shift)
        );
        io.memDirty = true;
    }

    /// @notice The 32 bytes of memory leaf `index` (ProofIO.read_leaf).
    function readLeaf(IO memory io, uint256 index) internal pure returns (bytes32) {
        _memLeaf(io, index);
        return io.memLeaf;
    }

    /// @notice Replace memory leaf `index` with `leaf` (ProofIO.write_leaf).
    function writeLeaf(IO memory io, uint256 index, bytes32 leaf) internal pure {
        _memLeaf(io, index);
        io.memLeaf = leaf;
        io.memDirty = true;
    }

    /// @notice The 32-byte input leaf `index` (ProofIO.input_leaf).
    function inputLeaf(IO memory io, uint256 index) internal pure returns (bytes32) {
        if (io.inputIndex != index) {
            (io.inputLeaf,) = _next(io, index, io.inputRoot);
            io.inputIndex = index;
        }
        return io.inputLeaf;
    }

    /// @notice End the step: the final memory root; every proof byte must have been used
    ///         (ProofIO.finish, plus `state.mem_root = io.mem_root` in proof.check).
    function finish(IO memory io) internal pure returns (bytes32) {
        _fold(io);
        requireConsumed(io);
        return io.memRoot;
    }

    /// @notice A proof with unused leaf proofs is not the proof of this step.
    function requireConsumed(IO memory io) internal pure {
        if (io.offset != io.length) revert ProofOversized(io.length - io.offset);
    }

    function _memLeaf(IO memory io, uint256 index) private pure {
        if (io.memIndex == index) return;
        _fold(io);
        (io.memLeaf, io.memProof) = _next(io, index, io.memRoot);
        io.memIndex = index;
        io.memProofRoot = io.memRoot;
    }

    /// @dev Bring memRoot up to date with the writes to the current memory leaf.
    function _fold(IO memory io) private pure {
        if (!io.memDirty) return;
        (io.memRoot,) = MerkleMemory.update(
            io.memProofRoot, uint32(io.memIndex), _proofs(io), io.memProof, io.memLeaf
        );
        io.memDirty = false;
    }

    /// @dev Consume the next leaf proof: it must be for leaf `index` and verify against `root`.
    function _next(IO memory io, uint256 index, bytes32 root)
        private
        pure
        returns (bytes32 leaf, uint256 at)
    {
        at = io.offset;
        (leaf, io.offset) = MerkleMemory.verify(root, uint32(index), _proofs(io), at);
    }

    function _proofs(IO memory io) private pure returns (bytes calldata proofs) {
        uint256 at = io.proof;
        uint256 length = io.length;
        assembly ("memory-safe") {
            proofs.offset := at
            proofs.length := length
        }
    }
}
