// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MerkleMemory} from "./MerkleMemory.sol";

/// @title ProofIO
/// @notice Memory and input access for one step, served by the step proof only: the Solidity
///         side of `ProofIO` in flexemu/access.py (docs/spec.md section 10), shared by every
///         ISA: MIPS reads aligned big-endian words, RISC-V whole leaves (`LeafIO`).
/// @dev The proof is empty (the step touches no leaf) or a header byte (memory leaves << 4 |
///      input leaves) followed by one MerkleMemory tree section per tree. `init` decodes both
///      and checks their roots against the pre-state's; every access must hit a proven leaf;
///      `finish` requires every proven leaf accessed and folds the post-state memory root from
///      the written leaves and the same siblings.
library ProofIO {
    /// @notice Proof bytes left over after its tree sections.
    error ProofOversized(uint256 unusedBytes);
    /// @notice The step accesses leaf `leafIndex` of `tree` (0 memory, 1 input), which the
    ///         proof does not carry.
    error LeafNotProven(uint256 tree, uint256 leafIndex);
    /// @notice The proof carries leaf `leafIndex` of `tree`, which the step never accesses.
    error LeafUnused(uint256 tree, uint256 leafIndex);

    struct IO {
        bytes32 memRoot; // the pre-state's memory root
        uint256 witness; // calldata offset of the witness (a panic rebuilds the post-state from it)
        uint256 depth; // the ISA's tree depth
        bytes zeros; // MerkleMemory.ZERO_HASHES
        MerkleMemory.Tree mem;
        MerkleMemory.Tree input;
        uint256 memUsed; // bit j: memory leaf j was accessed
        uint256 inputUsed; // bit j: input leaf j was accessed
        bool memDirty; // a memory leaf was written
    }

    /// @notice Start a step over `proof` (ProofIO.__init__): decode it, check its roots.
    function init(bytes32 memRoot, bytes32 inputRoot, bytes calldata witness, bytes calldata proof, uint256 depth)
        internal
        pure
        returns (IO memory io)
    {
        io.memRoot = memRoot;
        io.depth = depth;
        uint256 witnessAt;
        assembly ("memory-safe") {
            witnessAt := witness.offset
        }
        io.witness = witnessAt;
        if (proof.length == 0) return io;
        io.zeros = MerkleMemory.ZERO_HASHES;
        uint256 header = uint8(proof[0]);
        uint256 limit = 256 / depth;
        if (limit > 15) limit = 15;
        if (header == 0 || header >> 4 > limit || header & 15 > limit) revert MerkleMemory.ProofMalformed(0);
        uint256 at;
        (io.mem, at) = MerkleMemory.decode(proof, 1, header >> 4, depth, io.zeros);
        (io.input, at) = MerkleMemory.decode(proof, at, header & 15, depth, io.zeros);
        if (at != proof.length) revert ProofOversized(proof.length - at);
        if (io.mem.count != 0 && io.mem.root != memRoot) revert MerkleMemory.MerkleProofInvalid(0);
        if (io.input.count != 0 && io.input.root != inputRoot) revert MerkleMemory.MerkleProofInvalid(1);
    }

    /// @notice The aligned word at physical address `paddr` (ProofIO.read_word).
    function readWord(IO memory io, uint256 paddr) internal pure returns (uint32) {
        bytes32 leaf = io.mem.leaves[_memSlot(io, paddr >> 5)];
        return uint32(uint256(leaf) >> (224 - 8 * (paddr & 31)));
    }

    /// @notice Store the aligned word at `paddr` (ProofIO.write_word).
    function writeWord(IO memory io, uint256 paddr, uint32 value) internal pure {
        uint256 slot = _memSlot(io, paddr >> 5);
        uint256 shift = 224 - 8 * (paddr & 31);
        io.mem.leaves[slot] = bytes32(
            (uint256(io.mem.leaves[slot]) & ~(uint256(0xFFFFFFFF) << shift)) | (uint256(value) << shift)
        );
        io.memDirty = true;
    }

    /// @notice The 32 bytes of memory leaf `index` (ProofIO.read_leaf).
    function readLeaf(IO memory io, uint256 index) internal pure returns (bytes32) {
        return io.mem.leaves[_memSlot(io, index)];
    }

    /// @notice Replace memory leaf `index` with `leaf` (ProofIO.write_leaf).
    function writeLeaf(IO memory io, uint256 index, bytes32 leaf) internal pure {
        io.mem.leaves[_memSlot(io, index)] = leaf;
        io.memDirty = true;
    }

    /// @notice The 32-byte input leaf `index` (ProofIO.input_leaf).
    function inputLeaf(IO memory io, uint256 index) internal pure returns (bytes32) {
        uint256 slot = _slot(io.input, 1, index);
        io.inputUsed |= 1 << slot;
        return io.input.leaves[slot];
    }

    /// @notice End the step: the final memory root; every proven leaf must have been used
    ///         (ProofIO.finish, plus `state.mem_root = io.mem_root` in proof.check).
    function finish(IO memory io) internal pure returns (bytes32) {
        requireConsumed(io);
        if (!io.memDirty) return io.memRoot;
        (bytes32 root,,) = MerkleMemory.fold(io.mem, io.depth, io.zeros);
        return root;
    }

    /// @notice A proof carrying a leaf the step never accessed is not the proof of this step
    ///         (ProofIO.require_used).
    function requireConsumed(IO memory io) internal pure {
        _requireUsed(io.mem, 0, io.memUsed);
        _requireUsed(io.input, 1, io.inputUsed);
    }

    function _memSlot(IO memory io, uint256 index) private pure returns (uint256 slot) {
        slot = _slot(io.mem, 0, index);
        io.memUsed |= 1 << slot;
    }

    /// @dev The position of leaf `index` among the tree's proven leaves.
    function _slot(MerkleMemory.Tree memory t, uint256 tree, uint256 index) private pure returns (uint256) {
        uint256[] memory indices = t.indices;
        uint256 count = t.count;
        for (uint256 j = 0; j < count; ++j) {
            if (indices[j] == index) return j;
        }
        revert LeafNotProven(tree, index);
    }

    function _requireUsed(MerkleMemory.Tree memory t, uint256 tree, uint256 used) private pure {
        uint256 count = t.count;
        for (uint256 j = 0; j < count; ++j) {
            if (used & (1 << j) == 0) revert LeafUnused(tree, t.indices[j]);
        }
    }
}
