// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title MerkleMemory
/// @notice Merkle proofs over flexEmu's 4 GiB byte-addressed memory.
///
/// Encoding (fixed; it is the project's wire format, mirrored by flexemu/merkle.py):
///  - Binary keccak256 tree of depth 27 over 2^27 leaves of 32 bytes; leaf index = address >> 5.
///  - A leaf node IS its 32 raw bytes (not hashed). An internal node is
///    keccak256(left ‖ right). Empty memory is zero: Z0 = 32 zero bytes,
///    Z(i+1) = keccak256(Z(i) ‖ Z(i)).
///  - A proof is exactly PROOF_SIZE = 900 bytes:
///        uint32 leafIndex (4 bytes, big-endian) ‖ bytes32 leaf ‖ 27 × bytes32 siblings
///    sibling[0] is the leaf's sibling (bottom level), sibling[26] the child of the root.
///    At level i, bit i of leafIndex (bit 0 = least significant) set means the running
///    node is a right child: node = keccak256(sibling ‖ node); clear means
///    node = keccak256(node ‖ sibling).
///
/// Proofs are read from a `bytes calldata` at a byte offset, and every function returns the
/// offset just past the proof it consumed, so a caller can walk several consecutive proofs
/// packed into one calldata blob.
library MerkleMemory {
    /// @notice Tree depth: 2^27 leaves of 32 bytes = 4 GiB.
    uint256 internal constant DEPTH = 27;
    /// @notice Size in bytes of one encoded proof: 4 + 32 + 27 * 32.
    uint256 internal constant PROOF_SIZE = 900;
    /// @notice Number of leaves; a valid leaf index is strictly below this.
    uint256 internal constant LEAF_COUNT = 1 << 27;

    /// @notice The proof's leaf and siblings do not hash to the expected root.
    error MerkleProofInvalid(uint32 leafIndex);
    /// @notice The proof is for leaf `given`, but leaf `expected` is being accessed.
    error MerkleProofWrongLeaf(uint32 expected, uint32 given);
    /// @notice Fewer than PROOF_SIZE bytes remain in the proof data at the given offset.
    error ProofTruncated();
    /// @notice The accessed leaf index is not below 2^27 (caller bug: address >> 5 always is).
    error LeafIndexOutOfRange(uint32 leafIndex);

    /// @notice Verifies the proof at `proofs[offset:]` for leaf `leafIndex` against `root`.
    /// @return leaf The proven 32-byte leaf (raw memory bytes at leafIndex << 5).
    /// @return next `offset + PROOF_SIZE`, the start of the next proof.
    function verify(bytes32 root, uint32 leafIndex, bytes calldata proofs, uint256 offset)
        internal
        pure
        returns (bytes32 leaf, uint256 next)
    {
        uint256 p = _checkHeader(leafIndex, proofs, offset);
        bytes32 computed;
        assembly ("memory-safe") {
            // Fully unrolled fold over the 27 levels, bottom level (k = 0) first. Level k:
            // s = 32 * (bit k of the index), taken with a constant shift; the running node n
            // goes to scratch [s] and sibling k (calldata c + 32k) to [s ^ 32], so bit set =>
            // n = keccak(sibling ‖ n), bit clear => n = keccak(n ‖ sibling). Branch-free;
            // unrolling with scoped lets costs ~1/3 less gas than the equivalent loop.
            leaf := calldataload(add(p, 4))
            let i := leafIndex
            let c := add(p, 36)
            let n := leaf
            { let s := and(shl(5, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x00)))
              n := keccak256(0, 64) }
            { let s := and(shl(4, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x20)))
              n := keccak256(0, 64) }
            { let s := and(shl(3, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x40)))
              n := keccak256(0, 64) }
            { let s := and(shl(2, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x60)))
              n := keccak256(0, 64) }
            { let s := and(shl(1, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x80)))
              n := keccak256(0, 64) }
            { let s := and(i, 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0xa0)))
              n := keccak256(0, 64) }
            { let s := and(shr(1, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0xc0)))
              n := keccak256(0, 64) }
            { let s := and(shr(2, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0xe0)))
              n := keccak256(0, 64) }
            { let s := and(shr(3, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x100)))
              n := keccak256(0, 64) }
            { let s := and(shr(4, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x120)))
              n := keccak256(0, 64) }
            { let s := and(shr(5, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x140)))
              n := keccak256(0, 64) }
            { let s := and(shr(6, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x160)))
              n := keccak256(0, 64) }
            { let s := and(shr(7, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x180)))
              n := keccak256(0, 64) }
            { let s := and(shr(8, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x1a0)))
              n := keccak256(0, 64) }
            { let s := and(shr(9, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x1c0)))
              n := keccak256(0, 64) }
            { let s := and(shr(10, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x1e0)))
              n := keccak256(0, 64) }
            { let s := and(shr(11, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x200)))
              n := keccak256(0, 64) }
            { let s := and(shr(12, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x220)))
              n := keccak256(0, 64) }
            { let s := and(shr(13, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x240)))
              n := keccak256(0, 64) }
            { let s := and(shr(14, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x260)))
              n := keccak256(0, 64) }
            { let s := and(shr(15, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x280)))
              n := keccak256(0, 64) }
            { let s := and(shr(16, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x2a0)))
              n := keccak256(0, 64) }
            { let s := and(shr(17, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x2c0)))
              n := keccak256(0, 64) }
            { let s := and(shr(18, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x2e0)))
              n := keccak256(0, 64) }
            { let s := and(shr(19, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x300)))
              n := keccak256(0, 64) }
            { let s := and(shr(20, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x320)))
              n := keccak256(0, 64) }
            { let s := and(shr(21, i), 32) mstore(s, n) mstore(xor(s, 32), calldataload(add(c, 0x340)))
              n := keccak256(0, 64) }
            computed := n
        }
        if (computed != root) revert MerkleProofInvalid(leafIndex);
        unchecked {
            next = offset + PROOF_SIZE;
        }
    }

    /// @notice Verifies the proof at `proofs[offset:]` for leaf `leafIndex` against `root`
    ///         and returns the root after replacing that leaf by `newLeaf`, computed from the
    ///         same siblings. Both roots are folded in a single pass over the siblings.
    /// @return newRoot Root of the tree with leaf `leafIndex` set to `newLeaf`.
    /// @return next `offset + PROOF_SIZE`, the start of the next proof.
    function update(
        bytes32 root,
        uint32 leafIndex,
        bytes calldata proofs,
        uint256 offset,
        bytes32 newLeaf
    ) internal pure returns (bytes32 newRoot, uint256 next) {
        uint256 p = _checkHeader(leafIndex, proofs, offset);
        bytes32 oldRoot;
        assembly ("memory-safe") {
            // The unrolled fold of `verify`, done twice per level with the same sibling x: the
            // old node o is hashed in scratch space [0, 64), the new node n in the 64 bytes at
            // the free memory pointer m, used as temporary scratch without allocating
            // (memory-safe: memory past the free pointer is not assumed to survive).
            let m := mload(0x40)
            let i := leafIndex
            let c := add(p, 36)
            let o := calldataload(add(p, 4))
            let n := newLeaf
            { let s := and(shl(5, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x00))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shl(4, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x20))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shl(3, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x40))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shl(2, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x60))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shl(1, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x80))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(i, 32) let t := xor(s, 32) let x := calldataload(add(c, 0xa0))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(1, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0xc0))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(2, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0xe0))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(3, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x100))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(4, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x120))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(5, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x140))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(6, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x160))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(7, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x180))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(8, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x1a0))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(9, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x1c0))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(10, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x1e0))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(11, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x200))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(12, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x220))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(13, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x240))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(14, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x260))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(15, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x280))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(16, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x2a0))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(17, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x2c0))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(18, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x2e0))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(19, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x300))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(20, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x320))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            { let s := and(shr(21, i), 32) let t := xor(s, 32) let x := calldataload(add(c, 0x340))
              mstore(s, o) mstore(t, x) o := keccak256(0, 64)
              mstore(add(m, s), n) mstore(add(m, t), x) n := keccak256(m, 64) }
            oldRoot := o
            newRoot := n
        }
        if (oldRoot != root) revert MerkleProofInvalid(leafIndex);
        unchecked {
            next = offset + PROOF_SIZE;
        }
    }

    /// @notice Reads the (index, leaf) header of the proof at `proofs[offset:]` WITHOUT
    ///         verifying it. Use it to build a new leaf for a read-modify-write and then pass
    ///         the same proof to `update`, which verifies the old leaf (2 hashes per level
    ///         instead of 3 for verify + update).
    function peek(bytes calldata proofs, uint256 offset)
        internal
        pure
        returns (uint32 leafIndex, bytes32 leaf)
    {
        if (offset > proofs.length || proofs.length - offset < PROOF_SIZE) revert ProofTruncated();
        assembly ("memory-safe") {
            let p := add(proofs.offset, offset)
            leafIndex := shr(224, calldataload(p))
            leaf := calldataload(add(p, 4))
        }
    }

    /// @dev Bounds and index checks; returns the absolute calldata position of the proof.
    function _checkHeader(uint32 leafIndex, bytes calldata proofs, uint256 offset)
        private
        pure
        returns (uint256 p)
    {
        if (offset > proofs.length || proofs.length - offset < PROOF_SIZE) revert ProofTruncated();
        if (leafIndex >= LEAF_COUNT) revert LeafIndexOutOfRange(leafIndex);
        uint32 given;
        assembly ("memory-safe") {
            p := add(proofs.offset, offset)
            given := shr(224, calldataload(p))
        }
        if (given != leafIndex) revert MerkleProofWrongLeaf(leafIndex, given);
    }
}
