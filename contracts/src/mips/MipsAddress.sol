// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ProofIO} from "../common/ProofIO.sol";
import {StepPanic} from "./StepPanic.sol";

/// @title MipsAddress
/// @notice Virtual to physical addresses as the emulated CPU (kernel mode) sees them: the
///         Solidity side of flexemu/mips/address.py (docs/spec.md section 5).
library MipsAddress {
    /// @notice First address of kseg0 (kseg0 and kseg1 map onto the low 512 MiB).
    uint32 internal constant KSEG0 = 0x80000000;
    /// @notice First address of kseg2: from here on an address needs a TLB flexEmu lacks.
    uint32 internal constant KSEG2 = 0xC0000000;

    /// @notice Physical address of `vaddr`, or a KERNEL_ADDRESS panic for kseg2/kseg3.
    function translate(ProofIO.IO memory io, uint32 vaddr) internal pure returns (uint32) {
        if (vaddr >= KSEG2) StepPanic.raise(io, StepPanic.KERNEL_ADDRESS);
        return unmapped(vaddr);
    }

    /// @notice The physical address of a kuseg, kseg0 or kseg1 address (`vaddr` < KSEG2).
    function unmapped(uint32 vaddr) internal pure returns (uint32) {
        return vaddr < KSEG0 ? vaddr : vaddr & 0x1FFFFFFF;
    }

    /// @notice Translate an access of `size` bytes, panicking if it is misaligned.
    function aligned(ProofIO.IO memory io, uint32 vaddr, uint32 size) internal pure returns (uint32) {
        if (vaddr & (size - 1) != 0) StepPanic.raise(io, StepPanic.ADDRESS_ERROR);
        return translate(io, vaddr);
    }
}
