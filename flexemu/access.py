"""What one step may touch besides the witness, in two modes over one interface.

The reference stepper reads and writes memory only through `StepIO`, an
aligned word or a whole 32-byte leaf at a time, and reads the input only as leaves. `FullIO`
serves those accesses from real memory and records the leaf proofs a verifier
will need; `ProofIO` serves them from the proofs alone, checking each against
the current root exactly as the Solidity verifier does. Proofs are consumed in
access order; an access to the leaf proven last (per tree) reuses its proof.
"""

from __future__ import annotations

from typing import Protocol

from flexemu.errors import ProofError
from flexemu.memory import Memory
from flexemu.merkle import LEAF_BYTES, PROOF_BYTES, decode_proof, root_from_proof


class StepIO(Protocol):
    """Memory and input access for one step: aligned words (the MIPS step's loads, stores
    and fetches) and whole leaves (the shared kernel's syscalls, and every RISC-V access)."""

    def read_word(self, paddr: int) -> int: ...

    def write_word(self, paddr: int, value: int) -> None: ...

    def read_leaf(self, index: int) -> bytes: ...

    def write_leaf(self, index: int, data: bytes) -> None: ...

    def input_leaf(self, index: int) -> bytes: ...

    def emit(self, fd: int, data: bytes) -> None:
        """See what a write syscall wrote; only its hash is part of the state."""


class FullIO:
    """Accesses served by real memory, recording the proofs in access order."""

    def __init__(self, memory: Memory, input_memory: Memory, record: bool = True) -> None:
        self.memory = memory
        self.input_memory = input_memory
        self.record = record
        self.proofs: list[bytes] = []
        self.output: list[tuple[int, bytes]] = []
        self._last_mem_leaf = -1
        self._last_input_leaf = -1

    def _touch(self, leaf: int) -> None:
        if self.record and leaf != self._last_mem_leaf:
            self.proofs.append(self.memory.proof(leaf))
        self._last_mem_leaf = leaf

    def read_word(self, paddr: int) -> int:
        self._touch(paddr >> 5)
        return self.memory.read_word(paddr)

    def write_word(self, paddr: int, value: int) -> None:
        self._touch(paddr >> 5)
        self.memory.write_word(paddr, value)

    def input_leaf(self, index: int) -> bytes:
        if self.record and index != self._last_input_leaf:
            self.proofs.append(self.input_memory.proof(index))
        self._last_input_leaf = index
        return self.input_memory.leaf(index)

    def emit(self, fd: int, data: bytes) -> None:
        self.output.append((fd, data))

    # Leaf-level access (the shared kernel's syscalls and the RISC-V step, flexemu/leafio.py).

    def read_leaf(self, index: int) -> bytes:
        self._touch(index)
        return self.memory.leaf(index)

    def write_leaf(self, index: int, data: bytes) -> None:
        self._touch(index)
        self.memory.write_bytes(index * LEAF_BYTES, data)


class _ProvenLeaf:
    """A leaf checked against a root, with the siblings to rehash it after a write."""

    def __init__(self, index: int, leaf: bytes, siblings: list[bytes]) -> None:
        self.index = index
        self.leaf = bytearray(leaf)
        self.siblings = siblings


class ProofIO:
    """Accesses served by Merkle proofs only: the mode the verifier mirrors."""

    def __init__(self, mem_root: bytes, input_root: bytes, proof: bytes) -> None:
        if len(proof) % PROOF_BYTES:
            raise ProofError(
                f"proof length {len(proof)} is not a multiple of {PROOF_BYTES} bytes"
            )
        self.mem_root = mem_root
        self.input_root = input_root
        self._proof = proof
        self._offset = 0
        self._mem: _ProvenLeaf | None = None
        self._input: _ProvenLeaf | None = None

    def _next(self, expected_index: int, root: bytes, what: str) -> _ProvenLeaf:
        if self._offset + PROOF_BYTES > len(self._proof):
            raise ProofError(f"proof truncated: no proof left for {what} leaf {expected_index}")
        index, leaf, siblings = decode_proof(self._proof[self._offset : self._offset + PROOF_BYTES])
        self._offset += PROOF_BYTES
        if index != expected_index:
            raise ProofError(
                f"proof for the wrong address: expected {what} leaf {expected_index}, got {index}"
            )
        if root_from_proof(index, leaf, siblings) != root:
            raise ProofError(f"bad Merkle proof for {what} leaf {index}")
        return _ProvenLeaf(index, leaf, siblings)

    def _mem_leaf(self, paddr: int) -> _ProvenLeaf:
        index = paddr >> 5
        if self._mem is None or self._mem.index != index:
            self._mem = self._next(index, self.mem_root, "memory")
        return self._mem

    def read_word(self, paddr: int) -> int:
        offset = paddr & (LEAF_BYTES - 1)
        return int.from_bytes(self._mem_leaf(paddr).leaf[offset : offset + 4], "big")

    def write_word(self, paddr: int, value: int) -> None:
        proven = self._mem_leaf(paddr)
        offset = paddr & (LEAF_BYTES - 1)
        proven.leaf[offset : offset + 4] = value.to_bytes(4, "big")
        self.mem_root = root_from_proof(proven.index, bytes(proven.leaf), proven.siblings)

    def read_leaf(self, index: int) -> bytes:
        return bytes(self._mem_leaf(index * LEAF_BYTES).leaf)

    def write_leaf(self, index: int, data: bytes) -> None:
        proven = self._mem_leaf(index * LEAF_BYTES)
        proven.leaf[:] = data
        self.mem_root = root_from_proof(proven.index, bytes(proven.leaf), proven.siblings)

    def input_leaf(self, index: int) -> bytes:
        if self._input is None or self._input.index != index:
            self._input = self._next(index, self.input_root, "input")
        return bytes(self._input.leaf)

    def emit(self, fd: int, data: bytes) -> None:
        pass

    def finish(self) -> None:
        """A proof with unused leaf proofs is rejected: it is not the proof of this step."""
        if self._offset != len(self._proof):
            unused = (len(self._proof) - self._offset) // PROOF_BYTES
            raise ProofError(f"proof oversized: {unused} leaf proof(s) left unused")
