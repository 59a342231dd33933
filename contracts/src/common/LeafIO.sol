// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ProofIO} from "./ProofIO.sol";

/// @title LeafIO
/// @notice Byte-range access over leaf-level memory: the Solidity side of `read_bytes` and
///         `write_bytes` in flexemu/leafio.py. A range is split into the 32-byte leaves it
///         covers, in ascending address order; each leaf is read (and, for a write, merged
///         and written back) whole, so the proof framing of ProofIO sees exactly the leaf
///         accesses the reference makes.
/// @dev Ranges are at most 32 bytes (so they cover one or two leaves) and travel as a
///      `bytes32` whose first `length` bytes are the data in address order, the rest zero.
///      Longer buffers are written 32 bytes at a time with `writeBuffer`.
library LeafIO {
    /// @notice The `length` (<= 32) bytes at physical `addr`, left-aligned (read_bytes).
    function read(ProofIO.IO memory io, uint256 addr, uint256 length) internal pure returns (bytes32 data) {
        uint256 offset = addr & 31;
        uint256 chunk = 32 - offset;
        data = ProofIO.readLeaf(io, addr >> 5) << (8 * offset);
        if (length > chunk) data |= ProofIO.readLeaf(io, (addr >> 5) + 1) >> (8 * chunk);
        data &= _head(length);
    }

    /// @notice Write the first `length` (<= 32) bytes of `data` at physical `addr`
    ///         (write_bytes): each covered leaf is read, merged and written back.
    function write(ProofIO.IO memory io, uint256 addr, uint256 length, bytes32 data) internal pure {
        data &= _head(length);
        uint256 offset = addr & 31;
        uint256 chunk = 32 - offset;
        uint256 index = addr >> 5;
        uint256 first = length < chunk ? length : chunk;
        bytes32 mask = _head(first) >> (8 * offset);
        ProofIO.writeLeaf(io, index, (ProofIO.readLeaf(io, index) & ~mask) | (data >> (8 * offset)));
        if (length > chunk) {
            mask = _head(length - chunk);
            bytes32 leaf = ProofIO.readLeaf(io, index + 1);
            ProofIO.writeLeaf(io, index + 1, (leaf & ~mask) | (data << (8 * chunk)));
        }
    }

    /// @notice Write all of `buffer` at physical `addr`, 32 bytes at a time in ascending order.
    function writeBuffer(ProofIO.IO memory io, uint256 addr, bytes memory buffer) internal pure {
        uint256 length = buffer.length;
        for (uint256 done = 0; done < length; done += 32) {
            bytes32 data;
            assembly ("memory-safe") {
                data := mload(add(add(buffer, 32), done))
            }
            uint256 left = length - done;
            write(io, addr + done, left < 32 ? left : 32, data);
        }
    }

    /// @dev A mask of the first `length` bytes of a word.
    function _head(uint256 length) private pure returns (bytes32) {
        return length >= 32 ? bytes32(type(uint256).max) : ~bytes32(type(uint256).max >> (8 * length));
    }
}
