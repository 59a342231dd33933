"""The memory commitment: a sparse binary keccak Merkle tree over 32-byte leaves.

The tree has depth 27, so its 2^27 leaves of 32 bytes cover a 4 GiB space and
a leaf index is simply ``address >> 5``. A leaf node is the raw 32 bytes; an
inner node is ``keccak256(left || right)``. Untouched memory is zero, so an
empty subtree of height h has the precomputed hash ``ZERO_HASHES[h]`` and the
tree never materialises more than the pages a program touched.

Pages (4 KiB = 128 leaves = a subtree of height 7) are the caching unit: the
cache keeps each page's root and the inner nodes above the pages, and a
commitment rehashes only the pages that changed since the last one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flexemu.keccak import keccak256

DEPTH = 27
LEAF_BYTES = 32
PAGE_BYTES = 4096
PAGE_SHIFT = 12
PAGE_HEIGHT = 7  # log2(PAGE_BYTES // LEAF_BYTES)
UPPER_HEIGHT = DEPTH - PAGE_HEIGHT  # levels from a page root up to the root
LEAVES_PER_PAGE = PAGE_BYTES // LEAF_BYTES


def _zero_hashes() -> tuple[bytes, ...]:
    hashes = [bytes(32)]
    for _ in range(DEPTH):
        hashes.append(keccak256(hashes[-1] * 2))
    return tuple(hashes)


ZERO_HASHES = _zero_hashes()
ZERO_PAGE = bytes(PAGE_BYTES)
EMPTY_ROOT = ZERO_HASHES[DEPTH]


def page_levels(page: bytes) -> list[list[bytes]]:
    """All levels of a page's subtree, leaves first, the page root last."""
    level = [page[i : i + LEAF_BYTES] for i in range(0, PAGE_BYTES, LEAF_BYTES)]
    levels = [level]
    while len(level) > 1:
        level = [keccak256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        levels.append(level)
    return levels


def page_root(page: bytes) -> bytes:
    """Root of one 4 KiB page's subtree (height 7)."""
    if page == ZERO_PAGE:
        return ZERO_HASHES[PAGE_HEIGHT]
    return page_levels(page)[-1][0]


def root_from_proof(leaf_index: int, leaf: bytes, siblings: list[bytes]) -> bytes:
    """Fold a leaf up its full sibling path to the root; bit i of the index says the side at
    level i (a one-leaf fold; step proofs use flexemu.multiproof)."""
    node = leaf
    for level, sibling in enumerate(siblings):
        if (leaf_index >> level) & 1:
            node = keccak256(sibling + node)
        else:
            node = keccak256(node + sibling)
    return node


class MerkleCache:
    """Page roots and the inner nodes above them, kept in step with a page store.

    `update` takes the pages that changed and rehashes only their paths, which
    is what makes a commitment after a short run cost little.
    """

    def __init__(self) -> None:
        self._page_roots: dict[int, bytes] = {}
        # _upper[h] maps a node index at height PAGE_HEIGHT + h to its hash.
        self._upper: list[dict[int, bytes]] = [{} for _ in range(UPPER_HEIGHT + 1)]

    def copy(self) -> MerkleCache:
        clone = MerkleCache()
        clone._page_roots = dict(self._page_roots)
        clone._upper = [dict(level) for level in self._upper]
        return clone

    def _node(self, height: int, index: int) -> bytes:
        return self._upper[height].get(index, ZERO_HASHES[PAGE_HEIGHT + height])

    def update(self, pages: Mapping[int, bytes], dirty: Iterable[int]) -> bytes:
        """Rehash the `dirty` page numbers from `pages` and return the new root."""
        changed = set()
        for number in dirty:
            data = pages.get(number)
            new = page_root(bytes(data)) if data is not None else ZERO_HASHES[PAGE_HEIGHT]
            if self._page_roots.get(number, ZERO_HASHES[PAGE_HEIGHT]) != new:
                self._page_roots[number] = new
                self._upper[0][number] = new
                changed.add(number)
        for height in range(1, UPPER_HEIGHT + 1):
            parents = {index >> 1 for index in changed}
            level = self._upper[height]
            for parent in parents:
                left = self._node(height - 1, parent * 2)
                right = self._node(height - 1, parent * 2 + 1)
                level[parent] = keccak256(left + right)
            changed = parents
        return self.root

    @property
    def root(self) -> bytes:
        return self._node(UPPER_HEIGHT, 0)

    def siblings(self, leaf_index: int, page: bytes | None) -> list[bytes]:
        """Siblings of a leaf, bottom first; `page` is the bytes of its page."""
        in_page = leaf_index % LEAVES_PER_PAGE
        levels = page_levels(page if page is not None else ZERO_PAGE)
        result = []
        for height in range(PAGE_HEIGHT):
            result.append(levels[height][(in_page >> height) ^ 1])
        page_index = leaf_index // LEAVES_PER_PAGE
        for height in range(UPPER_HEIGHT):
            result.append(self._node(height, (page_index >> height) ^ 1))
        return result


def bytes_root(data: bytes) -> bytes:
    """Root of the tree holding `data` at address 0 (used for the input)."""
    cache = MerkleCache()
    pages = {
        number: data[number * PAGE_BYTES : (number + 1) * PAGE_BYTES].ljust(PAGE_BYTES, b"\0")
        for number in range((len(data) + PAGE_BYTES - 1) // PAGE_BYTES)
    }
    return cache.update(pages, pages.keys())
