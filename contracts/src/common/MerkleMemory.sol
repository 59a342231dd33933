// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title MerkleMemory
/// @notice Merkle multi-proofs over a sparse binary keccak tree of 32-byte leaves: the Solidity
///         side of flexemu/multiproof.py (docs/spec.md section 10), for every ISA (the depth
///         comes in as an argument).
///
/// Tree: a leaf node IS its 32 raw bytes; an inner node is keccak256(left ‖ right); the root
/// of an empty subtree of height h is Z[h] (Z[0] = 0, Z[h+1] = keccak256(Z[h] ‖ Z[h])).
///
/// A tree section of `count` leaves is
///     count × uint32 index (ascending, below 2^depth) ‖ count × bytes32 leaf ‖
///     bytes32 bitmap ‖ the sent siblings (bytes32 each),
/// and it proves that those leaves fold to a root (`fold`). The fold runs level by level from
/// the leaves up, nodes in ascending order; a node whose sibling is not a node of the level
/// needs a sibling: the n-th such need reads bit 255 - n of the bitmap, 1 meaning Z[h] (not
/// sent) and 0 the next sent sibling.
library MerkleMemory {
    /// @notice The proof ends inside a tree section.
    error ProofTruncated();
    /// @notice A structural rule is broken at proof byte `offset`: the header, an index not
    ///         above the one before it or outside the tree, a bitmap bit beyond the needs.
    error ProofMalformed(uint256 offset);
    /// @notice The proven leaves of `tree` (0 memory, 1 input) do not fold to its root.
    error MerkleProofInvalid(uint256 tree);

    /// @notice Z[0..26], the empty-subtree hashes of the levels below a depth-27 root.
    bytes internal constant ZERO_HASHES =
        hex"0000000000000000000000000000000000000000000000000000000000000000ad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5b4c11951957c6f8f642c4af61cd6b24640fec6dc7fc607ee8206a99e92410d3021ddb9a356815c3fac1026b6dec5df3124afbadb485c9ba5a3e3398a04b7ba85e58769b32a1beaf1ea27375a44095a0d1fb664ce2dd358e7fcbfb78c26a193440eb01ebfc9ed27500cd4dfc979272d1f0913cc9f66540d7e8005811109e1cf2d887c22bd8750d34016ac3c66b5ff102dacdd73f6b014e710b51e8022af9a1968ffd70157e48063fc33c97a050f7f640233bf646cc98d9524c6b92bcf3ab56f839867cc5f7f196b93bae1e27e6320742445d290f2263827498b54fec539f756afcefad4e508c098b9a7e1d8feb19955fb02ba9675585078710969d3440f5054e0f9dc3e7fe016e050eff260334f18a5d4fe391d82092319f5964f2e2eb7c1c3a5f8b13a49e282f609c317a833fb8d976d11517c571d1221a265d25af778ecf8923490c6ceeb450aecdc82e28293031d10c7d73bf85e57bf041a97360aa2c5d99cc1df82d9c4b87413eae2ef048f94b4d3554cea73d92b0f7af96e0271c691e2bb5c67add7c6caf302256adedf7ab114da0acfe870d449a3a489f781d659e8beccda7bce9f4e8618b6bd2f4132ce798cdc7a60e7e1460a7299e3c6342a579626d22733e50f526ec2fa19a22b31e8ed50f23cd1fdf94c9154ed3a7609a2f1ff981fe1d3b5c807b281e4683cc6d6315cf95b9ade8641defcb32372f1c126e398ef7a5a2dce0a8a7f68bb74560f8f71837c2c2ebbcbf7fffb42ae1896f13f7c7479a0b46a28b6f55540f89444f63de0378e3d121be09e06cc9ded1c20e65876d36aa0c65e9645644786b620e2dd2ad648ddfcbf4a7e5b1a3a4ecfe7f64667a3f0b7e2f4418588ed35a2458cffeb39b93d26f18d2ab13bdce6aee58e7b99359ec2dfd95a9c16dc00d6ef18b7933a6f8dc65ccb55667138776f7dea101070dc8796e3774df84f40ae0c8229d0d6069e5c8f39a7c299677a09d367fc7b05e3bc380ee652cdc72595f74c7b1043d0e1ffbab734648c838dfb0527d971b602bc216c9619ef0abf5ac974a1ed57f4050aa510dd9c74f508277b39d7973bb2dfccc5eeb0618db8cd74046ff337f0a7bf2c8e03e10f642c1886798d71806ab1e888d9e5ee87d0";
    /// @notice The deepest tree ZERO_HASHES serves.
    uint256 internal constant MAX_DEPTH = 27;

    struct Tree {
        uint256 count; // leaves proven (0: the section is absent)
        uint256[] indices; // ascending leaf indices
        bytes32[] leaves; // the leaves' bytes: proven, then as written by the step
        uint256 bitmap; // the empty-sibling bitmap
        uint256 siblings; // absolute calldata position of the first sent sibling
        bytes32 root; // the root the proven leaves fold to
    }

    /// @notice Decode the section of `count` leaves at `proof[at:]` and fold it
    ///         (multiproof.decode_tree): its root is `t.root`, not yet compared with anything.
    /// @return t The section.
    /// @return next The offset just past it.
    function decode(bytes calldata proof, uint256 at, uint256 count, uint256 depth, bytes memory zeros)
        internal
        pure
        returns (Tree memory t, uint256 next)
    {
        if (count == 0) return (t, at);
        uint256 leavesAt = at + 4 * count;
        uint256 bitmapAt = leavesAt + 32 * count;
        if (proof.length < bitmapAt + 32) revert ProofTruncated();
        uint256 base;
        assembly ("memory-safe") {
            base := proof.offset
        }
        t.count = count;
        t.indices = new uint256[](count);
        t.leaves = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            uint256 index;
            bytes32 leaf;
            assembly ("memory-safe") {
                index := shr(224, calldataload(add(base, add(at, shl(2, i)))))
                leaf := calldataload(add(base, add(leavesAt, shl(5, i))))
            }
            if (index >> depth != 0 || (i > 0 && index <= t.indices[i - 1])) {
                revert ProofMalformed(at + 4 * i);
            }
            t.indices[i] = index;
            t.leaves[i] = leaf;
        }
        assembly ("memory-safe") {
            mstore(add(t, 0x60), calldataload(add(base, bitmapAt)))
        }
        t.siblings = base + bitmapAt + 32;
        (bytes32 root, uint256 unused, uint256 end) = fold(t, depth, zeros);
        if (end > base + proof.length) revert ProofTruncated();
        if (unused != 0) revert ProofMalformed(bitmapAt);
        t.root = root;
        next = end - base;
    }

    /// @notice The root over the section's leaves `t.leaves` (as proven, or as written since)
    ///         at its indices, with its siblings (multiproof.fold): leaf by leaf, each climbs
    ///         until its ancestor is the left sibling of the next leaf's ancestor and waits on
    ///         a stack; a climbing node takes the waiting node at its height, else a sibling.
    /// @return root The root.
    /// @return unused The bitmap shifted left by the number of needed siblings: its bits beyond
    ///         the needs (zero in a well-formed section).
    /// @return end The calldata position just past the last sent sibling it read.
    function fold(Tree memory t, uint256 depth, bytes memory zeros)
        internal
        pure
        returns (bytes32 root, uint256 unused, uint256 end)
    {
        end = t.siblings;
        uint256 bitmap = t.bitmap;
        assembly ("memory-safe") {
            // Climb leaf `a` (hash v) from the leaf level while shr(1, x) != 0, x shifting
            // right as it climbs: x is a xor the next leaf (they meet where it runs out), or
            // 2^depth for the last leaf (it climbs to the root). zp points to Z[h] of the
            // current height h, and stands for h: the stack of waiting (zp, hash) pairs below
            // `top` names each entry's height by its zp. The bitmap shifts left per needed
            // sibling, its top bit the current one's (1 = Z[h], 0 = the next sent at e).
            function climb(a, x, v, top, zp, bm, e) -> newTop, bmOut, eOut {
                for {} shr(1, x) {
                    x := shr(1, x)
                    a := shr(1, a)
                    zp := add(zp, 32)
                } {
                    switch eq(mload(top), zp)
                    case 1 {
                        mstore(0, mload(add(top, 32)))
                        mstore(32, v)
                        top := sub(top, 64)
                    }
                    default {
                        let sibling := mload(zp)
                        if iszero(shr(255, bm)) {
                            sibling := calldataload(e)
                            e := add(e, 32)
                        }
                        bm := shl(1, bm)
                        let s := shl(5, and(a, 1))
                        mstore(s, v)
                        mstore(xor(s, 32), sibling)
                    }
                    v := keccak256(0, 64)
                }
                newTop := add(top, 64)
                mstore(newTop, zp)
                mstore(add(newTop, 32), v)
                bmOut := bm
                eOut := e
            }
            // The stack lives past the free pointer (not allocated: only needed here), a
            // sentinel entry (zp 0, never a height) at its bottom.
            let top := mload(0x40)
            mstore(top, 0)
            let count := mload(t)
            let indices := add(mload(add(t, 0x20)), 32)
            let values := add(mload(add(t, 0x40)), 32)
            for { let j := 0 } lt(j, count) { j := add(j, 1) } {
                let a := mload(add(indices, shl(5, j)))
                let x := shl(depth, 1)
                if lt(add(j, 1), count) { x := xor(a, mload(add(indices, shl(5, add(j, 1))))) }
                top, bitmap, end := climb(a, x, mload(add(values, shl(5, j))), top, add(zeros, 32), bitmap, end)
            }
            root := mload(add(top, 32))
        }
        unused = bitmap;
    }
}
