// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MerkleMemory} from "../common/MerkleMemory.sol";

/// @title MerkleHarness
/// @notice Test-only wrapper exposing MerkleMemory to off-chain tests. Not for deployment.
contract MerkleHarness {
    /// @notice Decode the tree section of `count` leaves at `proof[0:]` (depth 27) and return
    ///         its indices, leaves, root and the offset just past it.
    function decode(bytes calldata proof, uint256 count)
        external
        pure
        returns (uint256[] memory indices, bytes32[] memory leaves, bytes32 root, uint256 next)
    {
        MerkleMemory.Tree memory t;
        (t, next) = MerkleMemory.decode(proof, 0, count, 27, MerkleMemory.ZERO_HASHES);
        return (t.indices, t.leaves, t.root, next);
    }

    /// @notice The root after replacing the section's leaves by `newLeaves` (same siblings).
    function update(bytes calldata proof, uint256 count, bytes32[] memory newLeaves)
        external
        pure
        returns (bytes32 root)
    {
        bytes memory zeros = MerkleMemory.ZERO_HASHES;
        (MerkleMemory.Tree memory t,) = MerkleMemory.decode(proof, 0, count, 27, zeros);
        t.leaves = newLeaves;
        (root,,) = MerkleMemory.fold(t, 27, zeros);
    }

    /// @notice The first leaf of the section of `count` leaves at `proof[0:]`, after decoding.
    function peek(bytes calldata proof, uint256 count) external pure returns (uint32 leafIndex, bytes32 leaf) {
        (MerkleMemory.Tree memory t,) = MerkleMemory.decode(proof, 0, count, 27, MerkleMemory.ZERO_HASHES);
        return (uint32(t.indices[0]), t.leaves[0]);
    }

    /// @notice Library-only gas of decoding (and folding) one section: gasleft() around the call.
    function decodeGas(bytes calldata proof, uint256 count) external view returns (bytes32 root, uint256 gasUsed) {
        uint256 g = gasleft();
        (MerkleMemory.Tree memory t,) = MerkleMemory.decode(proof, 0, count, 27, MerkleMemory.ZERO_HASHES);
        root = t.root;
        gasUsed = g - gasleft();
    }

    /// @notice Library-only gas of one fold of a decoded section (what `finish` pays after a write).
    function foldGas(bytes calldata proof, uint256 count) external view returns (bytes32 root, uint256 gasUsed) {
        bytes memory zeros = MerkleMemory.ZERO_HASHES;
        (MerkleMemory.Tree memory t,) = MerkleMemory.decode(proof, 0, count, 27, zeros);
        uint256 g = gasleft();
        (root,,) = MerkleMemory.fold(t, 27, zeros);
        gasUsed = g - gasleft();
    }
}
