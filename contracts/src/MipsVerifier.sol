// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MipsState} from "./mips/MipsState.sol";
import {MipsStep} from "./mips/MipsStep.sol";
import {ProofIO} from "./common/ProofIO.sol";

/// @title MipsVerifier
/// @notice flexEmu's one-step verifier: executes one MIPS32 step from a state witness and the
///         Merkle proofs of the leaves it touches, and returns the post-state hash. Stateless
///         and pure; agrees byte for byte with the reference stepper (flexemu/proof.py
///         `check`). Encodings: docs/spec.md sections 2-4 and 10; this contract: section 12.
/// @dev Invalid input reverts with a named error: WitnessLength, InvalidWitness,
///      WrongPreState, ProofIO's ProofOversized, LeafNotProven, LeafUnused, and
///      MerkleMemory's ProofTruncated, ProofMalformed, MerkleProofInvalid. A panic of the program is not an error: it
///      is a valid step to a panicked state.
contract MipsVerifier {
    /// @notice The witness does not hash to the pre-state the caller agreed on.
    error WrongPreState(bytes32 expected, bytes32 actual);

    /// @notice The post-state hash of one step from `witness`, proven by `proof`. The caller
    ///         must check that `witness` is the agreed pre-state (or use `stepFrom`).
    function step(bytes calldata witness, bytes calldata proof) external pure returns (bytes32) {
        return _step(witness, proof);
    }

    /// @notice `step`, after checking that `witness` hashes to `preStateHash`.
    function stepFrom(bytes32 preStateHash, bytes calldata witness, bytes calldata proof)
        external
        pure
        returns (bytes32)
    {
        bytes32 actual = stateHash(witness);
        if (actual != preStateHash) revert WrongPreState(preStateHash, actual);
        return _step(witness, proof);
    }

    /// @notice The state hash of a witness: keccak256 with the top byte replaced by the VM
    ///         status. Only the length is checked (like state.py's `state_hash`).
    function stateHash(bytes calldata witness) public pure returns (bytes32) {
        if (witness.length != MipsState.WITNESS_BYTES) revert MipsState.WitnessLength(witness.length);
        return MipsState.stateHash(witness);
    }

    /// @dev proof.check: decode and validate, step over the proofs, require them all used.
    ///      A panic returns from inside MipsStep.step (see StepPanic).
    function _step(bytes calldata witness, bytes calldata proof) private pure returns (bytes32) {
        MipsState.State memory s = MipsState.fromWitness(witness);
        ProofIO.IO memory io = ProofIO.init(s.memRoot, s.inputRoot, witness, proof, MipsState.TREE_DEPTH);
        MipsStep.step(s, io);
        s.memRoot = ProofIO.finish(io);
        return MipsState.hash(s);
    }
}
