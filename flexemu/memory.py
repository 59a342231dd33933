"""Paged, zero-initialised physical memory with an incremental Merkle commitment.

Pages are created on first write; reads of absent pages are zero. Every write
marks its page dirty, and `root()` rehashes only dirty pages, which is what a
commitment after a short run needs. The same class backs the reference
stepper's full-memory mode and the checkpoints of the fast engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from flexemu.merkle import (
    LEAF_BYTES,
    PAGE_BYTES,
    PAGE_SHIFT,
    MerkleCache,
)

PAGE_MASK = PAGE_BYTES - 1


_ZERO_LEAF = bytes(LEAF_BYTES)


class Memory:
    """Byte-addressed 32-bit physical memory; big-endian word access."""

    def __init__(self, pages: Mapping[int, bytes] | None = None) -> None:
        self.pages: dict[int, bytearray] = {}
        self._cache = MerkleCache()
        self._dirty: set[int] = set()
        if pages:
            for number, data in pages.items():
                self.pages[number] = bytearray(data)
            self._dirty.update(self.pages)

    def copy(self) -> Memory:
        clone = Memory()
        clone.pages = {number: bytearray(data) for number, data in self.pages.items()}
        clone._cache = self._cache.copy()
        clone._dirty = set(self._dirty)
        return clone

    def _page(self, number: int) -> bytearray:
        page = self.pages.get(number)
        if page is None:
            page = self.pages[number] = bytearray(PAGE_BYTES)
        self._dirty.add(number)
        return page

    def read_word(self, addr: int, byteorder: Literal["big", "little"]) -> int:
        """The 32-bit word at a 4-aligned address, in the byte order its ISA names."""
        page = self.pages.get(addr >> PAGE_SHIFT)
        if page is None:
            return 0
        offset = addr & PAGE_MASK
        return int.from_bytes(page[offset : offset + 4], byteorder)

    def write_word(self, addr: int, value: int, byteorder: Literal["big", "little"]) -> None:
        offset = addr & PAGE_MASK
        self._page(addr >> PAGE_SHIFT)[offset : offset + 4] = value.to_bytes(4, byteorder)

    def read_bytes(self, addr: int, length: int) -> bytes:
        out = bytearray()
        while length > 0:
            offset = addr & PAGE_MASK
            chunk = min(length, PAGE_BYTES - offset)
            page = self.pages.get(addr >> PAGE_SHIFT)
            out += page[offset : offset + chunk] if page is not None else bytes(chunk)
            addr += chunk
            length -= chunk
        return bytes(out)

    def write_bytes(self, addr: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            offset = addr & PAGE_MASK
            chunk = min(len(view), PAGE_BYTES - offset)
            self._page(addr >> PAGE_SHIFT)[offset : offset + chunk] = view[:chunk]
            addr += chunk
            view = view[chunk:]

    def replace_pages(self, pages: Mapping[int, bytes], numbers: Iterable[int]) -> None:
        """Overwrite whole pages (e.g. copied back from the fast engine)."""
        for number in numbers:
            data = pages.get(number)
            if data is None:
                if number in self.pages:
                    del self.pages[number]
                    self._dirty.add(number)
            elif self.pages.get(number) != data:
                self.pages[number] = bytearray(data)
                self._dirty.add(number)

    def root(self) -> bytes:
        """The Merkle root, rehashing only the pages written since the last call."""
        if self._dirty:
            self._cache.update(self.pages, self._dirty)
            self._dirty.clear()
        return self._cache.root

    def leaf(self, leaf_index: int) -> bytes:
        """The 32 bytes of one leaf: a page slice (a leaf never crosses a page), since every
        reference access, word or buffer, goes through a leaf."""
        addr = leaf_index * LEAF_BYTES
        page = self.pages.get(addr >> PAGE_SHIFT)
        if page is None:
            return _ZERO_LEAF
        offset = addr & PAGE_MASK
        return bytes(page[offset : offset + LEAF_BYTES])

    def write_leaf(self, leaf_index: int, data: bytes) -> None:
        """Replace one leaf's 32 bytes."""
        if len(data) != LEAF_BYTES:
            raise ValueError(f"a leaf is {LEAF_BYTES} bytes, got {len(data)}")
        addr = leaf_index * LEAF_BYTES
        offset = addr & PAGE_MASK
        self._page(addr >> PAGE_SHIFT)[offset : offset + LEAF_BYTES] = data

    def path(self, leaf_index: int) -> list[bytes]:
        """The siblings of one leaf against `root()`, bottom first."""
        self.root()
        number = (leaf_index * LEAF_BYTES) >> PAGE_SHIFT
        page = self.pages.get(number)
        return self._cache.siblings(leaf_index, bytes(page) if page is not None else None)
