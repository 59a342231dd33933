// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IStepVerifier
/// @notice What a dispute game needs from a one-step verifier (MipsVerifier implements it):
///         execute one instruction from a proven pre-state and return the post-state hash.
interface IStepVerifier {
    /// @notice Replays one step from `witness` (which must hash to `preStateHash`) and the
    ///         leaf proofs in `proof`; reverts with the verifier's named error on any
    ///         inconsistency (wrong pre-state, bad Merkle proof, truncated/oversized proof).
    function stepFrom(bytes32 preStateHash, bytes calldata witness, bytes calldata proof)
        external
        pure
        returns (bytes32 postStateHash);
}
