// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ProofIO} from "./common/ProofIO.sol";
import {RiscvState} from "./riscv/RiscvState.sol";
import {RiscvStep} from "./riscv/RiscvStep.sol";

/// @title RiscvVerifier
/// @notice flexEmu's one-step verifier for RISC-V (RV32 and RV64, chosen by the witness's ISA
///         tag): executes one step from a state witness and the Merkle proofs of the leaves it
///         touches, and returns the post-state hash. Stateless and pure; agrees byte for byte
///         with the reference (flexemu/isa/riscv/proof.py `check_step`). Encodings and
///         semantics: docs/spec.md (R sections); ABI, errors and gas: docs/spec.md section R13.
/// @dev Invalid input reverts with a named error, as MipsVerifier: WitnessLength,
///      InvalidWitness, WrongPreState, ProofIO's ProofOversized, LeafNotProven, LeafUnused,
///      and MerkleMemory's ProofTruncated, ProofMalformed, MerkleProofInvalid. A panic of the program is a valid step.
contract RiscvVerifier {
    /// @notice The witness does not hash to the pre-state the caller agreed on.
    error WrongPreState(bytes32 expected, bytes32 actual);

    /// @notice The post-state hash of one step from `witness`, proven by `proof`.
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

    /// @notice The state hash of a witness; only its tag and length are checked.
    function stateHash(bytes calldata witness) public pure returns (bytes32) {
        RiscvState.checkedLength(witness);
        return RiscvState.stateHash(witness);
    }

    /// @dev check_step: decode and validate, step over the proofs, require them all used.
    function _step(bytes calldata witness, bytes calldata proof) private pure returns (bytes32) {
        bytes memory w = RiscvState.fromWitness(witness);
        ProofIO.IO memory io = ProofIO.init(bytes32(RiscvState.get(w, RiscvState.MEM_ROOT, 32)),
            bytes32(RiscvState.get(w, RiscvState.INPUT_ROOT, 32)), witness, proof, RiscvState.TREE_DEPTH);
        RiscvStep.step(w, io);
        RiscvState.set(w, RiscvState.MEM_ROOT, 32, uint256(ProofIO.finish(io)));
        return RiscvState.stateHash(w);
    }
}
