// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MipsState} from "./MipsState.sol";
import {ProofIO} from "../common/ProofIO.sol";

/// @title StepPanic
/// @notice A deterministic end of the program inside a step: the Solidity side of
///         `raise StepPanic(reason)` and of the `except StepPanic` clause of `step()` in
///         flexemu/mips/step.py (docs/spec.md sections 6 and 8).
/// @dev Python unwinds with an exception; Solidity has none that a pure function can catch,
///      so `raise` finishes the step itself and ends the call frame with the post-state hash
///      as the return value (ABI-encoded `bytes32`, what `step` and `stepFrom` return). The
///      post-state is rebuilt from the pre-state witness in calldata with only `step`,
///      `status` and `exit_code` changed, so "a panic changes nothing else" holds whatever the
///      instruction did to the in-memory state before it panicked. It must only be reached
///      from an external entry point whose return value is that post-state hash.
library StepPanic {
    // Panic codes (Panic in flexemu/state.py).
    uint8 internal constant RESERVED_INSTRUCTION = 1;
    uint8 internal constant TRAP = 2;
    uint8 internal constant BREAK = 3;
    uint8 internal constant ADDRESS_ERROR = 4;
    uint8 internal constant KERNEL_ADDRESS = 5;
    uint8 internal constant INTEGER_OVERFLOW = 6;
    uint8 internal constant BRANCH_IN_DELAY_SLOT = 7;

    /// @notice Panic with `reason`: status = 2, exit_code = reason, step + 1; return the hash.
    function raise(ProofIO.IO memory io, uint8 reason) internal pure {
        ProofIO.requireConsumed(io);
        bytes memory w = new bytes(MipsState.WITNESS_BYTES);
        uint256 witnessAt = io.witness;
        uint64 step;
        assembly ("memory-safe") {
            calldatacopy(add(w, 32), witnessAt, 410)
            step := shr(192, mload(add(w, 172))) // witness offset 140
        }
        unchecked {
            step += 1; // modulo 2^64 (docs/spec.md section 6)
        }
        uint256 tail = (uint256(step) << 192) | (uint256(MipsState.PANICKED) << 184)
            | (uint256(reason) << 176);
        assembly ("memory-safe") {
            let p := add(w, 172)
            mstore(p, or(and(mload(p), sub(shl(176, 1), 1)), tail))
        }
        bytes32 postStateHash = MipsState.stateHash(w);
        assembly {
            mstore(0, postStateHash)
            return(0, 32)
        }
    }
}
