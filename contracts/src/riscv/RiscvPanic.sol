// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ProofIO} from "../common/ProofIO.sol";
import {RiscvState} from "./RiscvState.sol";

/// @title RiscvPanic
/// @notice A deterministic end of the program inside a step: the Solidity side of
///         flexemu/isa/riscv/panic.py and of the `except StepPanic` clause of `step()` in
///         flexemu/isa/riscv/step.py (docs/spec.md section R10).
/// @dev As MIPS's StepPanic: Solidity cannot catch, so `raise` finishes the step itself and
///      ends the call frame with the post-state hash as the return value. The post-state is
///      rebuilt from the pre-state witness in calldata with only `status`, `exit_code` and
///      `step` changed. Only reachable from an external entry point returning that hash.
library RiscvPanic {
    uint8 internal constant ILLEGAL_INSTRUCTION = 1;
    uint8 internal constant EBREAK = 2;
    uint8 internal constant ADDRESS_OUT_OF_RANGE = 3;
    uint8 internal constant MISALIGNED_ATOMIC = 4;
    uint8 internal constant UNSUPPORTED_CSR = 5;
    uint8 internal constant READ_ONLY_CSR = 6;
    uint8 internal constant FLOATING_POINT = 7;

    /// @notice Panic with `reason`: status = 2, exit_code = reason, step + 1; return the hash.
    function raise(ProofIO.IO memory io, bytes memory state, uint8 reason) internal pure {
        ProofIO.requireConsumed(io);
        uint256 length = state.length;
        bytes memory w = new bytes(length);
        uint256 witnessAt = io.witness;
        assembly ("memory-safe") {
            calldatacopy(add(w, 32), witnessAt, length)
        }
        RiscvState.set(w, RiscvState.STATUS, 1, RiscvState.PANICKED);
        RiscvState.set(w, RiscvState.EXIT_CODE, 1, reason);
        unchecked {
            RiscvState.set(w, RiscvState.STEP, 8, uint64(RiscvState.get(w, RiscvState.STEP, 8) + 1));
        }
        bytes32 postStateHash = RiscvState.stateHash(w);
        assembly {
            mstore(0, postStateHash)
            return(0, 32)
        }
    }
}
