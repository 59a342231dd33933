// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MerkleMemory} from "../common/MerkleMemory.sol";

/// @title MerkleHarness
/// @notice Test-only wrapper exposing MerkleMemory to off-chain tests. Not for deployment.
contract MerkleHarness {
    /// @notice Verifies a single 900-byte proof at offset 0 and returns the proven leaf.
    function verify(bytes32 root, uint32 leafIndex, bytes calldata proof)
        external
        pure
        returns (bytes32 leaf)
    {
        (leaf,) = MerkleMemory.verify(root, leafIndex, proof, 0);
    }

    /// @notice Verifies a single proof at offset 0 and returns the root with `newLeaf` put in.
    function update(bytes32 root, uint32 leafIndex, bytes calldata proof, bytes32 newLeaf)
        external
        pure
        returns (bytes32 newRoot)
    {
        (newRoot,) = MerkleMemory.update(root, leafIndex, proof, 0, newLeaf);
    }

    /// @notice Unverified read of a proof's (index, leaf) header at `offset`.
    function peek(bytes calldata proofs, uint256 offset)
        external
        pure
        returns (uint32 leafIndex, bytes32 leaf)
    {
        return MerkleMemory.peek(proofs, offset);
    }

    /// @notice Walks consecutive proofs in one blob, exercising the offset API. Each proof is
    ///         verified against `root`; returns the leaves and the final offset.
    function verifyConsecutive(bytes32 root, uint32[] calldata leafIndices, bytes calldata proofs)
        external
        pure
        returns (bytes32[] memory leaves, uint256 next)
    {
        leaves = new bytes32[](leafIndices.length);
        for (uint256 i = 0; i < leafIndices.length; ++i) {
            (leaves[i], next) = MerkleMemory.verify(root, leafIndices[i], proofs, next);
        }
    }

    /// @notice Applies consecutive updates, threading the root: proof k must be valid against
    ///         the root produced by update k-1. Returns the final root and offset.
    function updateConsecutive(
        bytes32 root,
        uint32[] calldata leafIndices,
        bytes calldata proofs,
        bytes32[] calldata newLeaves
    ) external pure returns (bytes32 newRoot, uint256 next) {
        newRoot = root;
        for (uint256 i = 0; i < leafIndices.length; ++i) {
            (newRoot, next) = MerkleMemory.update(newRoot, leafIndices[i], proofs, next, newLeaves[i]);
        }
    }

    /// @notice Library-only gas of one verify (gasleft() delta around the library call, so
    ///         excluding tx intrinsic cost, calldata, ABI decoding and dispatch).
    function verifyGas(bytes32 root, uint32 leafIndex, bytes calldata proof)
        external
        view
        returns (bytes32 leaf, uint256 gasUsed)
    {
        uint256 g = gasleft();
        (leaf,) = MerkleMemory.verify(root, leafIndex, proof, 0);
        gasUsed = g - gasleft();
    }

    /// @notice Library-only gas of one update, measured like `verifyGas`.
    function updateGas(bytes32 root, uint32 leafIndex, bytes calldata proof, bytes32 newLeaf)
        external
        view
        returns (bytes32 newRoot, uint256 gasUsed)
    {
        uint256 g = gasleft();
        (newRoot,) = MerkleMemory.update(root, leafIndex, proof, 0, newLeaf);
        gasUsed = g - gasleft();
    }
}
