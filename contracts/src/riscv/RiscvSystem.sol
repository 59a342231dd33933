// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ProofIO} from "../common/ProofIO.sol";
import {RiscvDecode} from "./RiscvDecode.sol";
import {RiscvPanic} from "./RiscvPanic.sol";
import {RiscvSyscalls} from "./RiscvSyscalls.sol";

/// @title RiscvSystem
/// @notice SYSTEM and MISC-MEM: ecall (a syscall), ebreak (a panic) and the fences, no-ops on
///         one hart whose every fetch reads memory: the Solidity side of flexemu/isa/riscv/system.py.
library RiscvSystem {
    function execute(bytes memory w, ProofIO.IO memory io, uint256 group) internal pure {
        if (group == RiscvDecode.ECALL) RiscvSyscalls.syscall(w, io);
        else if (group == RiscvDecode.EBREAK) RiscvPanic.raise(io, w, RiscvPanic.EBREAK);
        // RiscvDecode.FENCE: nothing
    }
}
