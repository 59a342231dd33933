"""What one step may touch besides the witness, in two modes over one interface.

The reference stepper reads and writes memory only through `LeafIO`
(`flexemu.leafio`), a whole 32-byte leaf at a time (each ISA composes its words,
in its own byte order, from leaves), and reads the input only as 32-byte leaves.
`FullIO` serves those accesses from real memory and records the leaves a verifier
will need; `ProofIO` serves them from the step proof alone (one multi-proof per
tree, `flexemu.multiproof`, docs/spec.md section 10), exactly as the Solidity
verifier does: the proven leaves are checked against the pre-state roots before
the step, every access must hit a proven leaf, every proven leaf must be
accessed, and the post-state memory root is folded from the written leaves and
the same siblings.
"""

from __future__ import annotations

from flexemu.errors import ProofError
from flexemu.memory import Memory
from flexemu.merkle import DEPTH
from flexemu.multiproof import TREE_NAMES, TreeProof, decode, encode, encode_tree


class _Touched:
    """The leaves of one tree a step touched: each leaf's value and sibling path at its
    first touch (the pre-state's, since a leaf is first touched before it is written)."""

    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        self.leaves: dict[int, tuple[bytes, list[bytes]]] = {}

    def touch(self, index: int) -> None:
        if index not in self.leaves:
            self.leaves[index] = (self.memory.leaf(index), self.memory.path(index))

    def section(self, depth: int) -> bytes:
        indices = sorted(self.leaves)
        leaves = [self.leaves[i][0] for i in indices]
        paths = [self.leaves[i][1] for i in indices]
        return encode_tree(depth, indices, leaves, paths) if indices else b""


class FullIO:
    """Accesses served by real memory, recording the touched leaves for the step proof."""

    def __init__(self, memory: Memory, input_memory: Memory, record: bool = True) -> None:
        self.memory = memory
        self.input_memory = input_memory
        self.record = record
        self.output: list[tuple[int, bytes]] = []
        self._memory_leaves = _Touched(memory)
        self._input_leaves = _Touched(input_memory)

    def proof(self, depth: int = DEPTH) -> bytes:
        """The step proof of the accesses so far (docs/spec.md section 10)."""
        return encode(
            self._memory_leaves.section(depth),
            len(self._memory_leaves.leaves),
            self._input_leaves.section(depth),
            len(self._input_leaves.leaves),
        )

    def input_leaf(self, index: int) -> bytes:
        if self.record:
            self._input_leaves.touch(index)
        return self.input_memory.leaf(index)

    def emit(self, fd: int, data: bytes) -> None:
        self.output.append((fd, data))

    # Leaf-level access (the shared kernel's syscalls and the RISC-V step, flexemu/leafio.py).

    def read_leaf(self, index: int) -> bytes:
        if self.record:
            self._memory_leaves.touch(index)
        return self.memory.leaf(index)

    def write_leaf(self, index: int, data: bytes) -> None:
        if self.record:
            self._memory_leaves.touch(index)
        self.memory.write_leaf(index, data)


class _ProvenTree:
    """One tree's proven leaves during a step: their current bytes and which were used."""

    def __init__(self, tree: int, proof: TreeProof) -> None:
        self.tree = tree
        self.proof = proof
        self.leaves = {
            index: bytearray(leaf) for index, leaf in zip(proof.indices, proof.leaves, strict=True)
        }
        self.used: set[int] = set()
        self.written = False

    def leaf(self, index: int) -> bytearray:
        leaf = self.leaves.get(index)
        if leaf is None:
            raise ProofError(
                f"LeafNotProven({self.tree}, {index}): the step accesses {TREE_NAMES[self.tree]} "
                f"leaf {index}, which the proof does not carry"
            )
        self.used.add(index)
        return leaf

    def require_used(self) -> None:
        for index in self.proof.indices:
            if index not in self.used:
                raise ProofError(
                    f"LeafUnused({self.tree}, {index}): the proof carries "
                    f"{TREE_NAMES[self.tree]} leaf {index}, which the step never accesses"
                )


class ProofIO:
    """Accesses served by the step proof only: the mode the verifier mirrors."""

    def __init__(
        self, mem_root: bytes, input_root: bytes, proof: bytes, depth: int = DEPTH
    ) -> None:
        memory, input_tree = decode(proof, depth)
        for tree, (section, root) in enumerate(((memory, mem_root), (input_tree, input_root))):
            if section.indices and section.root != root:
                raise ProofError(
                    f"MerkleProofInvalid({tree}): the proven {TREE_NAMES[tree]} leaves do not "
                    "fold to the pre-state's root"
                )
        self.depth = depth
        self.mem_root = mem_root
        self._mem = _ProvenTree(0, memory)
        self._input = _ProvenTree(1, input_tree)

    def read_leaf(self, index: int) -> bytes:
        return bytes(self._mem.leaf(index))

    def write_leaf(self, index: int, data: bytes) -> None:
        self._mem.leaf(index)[:] = data
        self._mem.written = True

    def input_leaf(self, index: int) -> bytes:
        return bytes(self._input.leaf(index))

    def emit(self, fd: int, data: bytes) -> None:
        pass

    def require_used(self) -> None:
        """Every proven leaf was accessed: a proof carrying more is not this step's proof."""
        self._mem.require_used()
        self._input.require_used()

    def finish(self) -> None:
        """Require every leaf used; fold the post-state memory root from the written leaves."""
        self.require_used()
        if self._mem.written:
            proof = self._mem.proof
            self.mem_root = proof.root_with(
                self.depth, [bytes(self._mem.leaves[i]) for i in proof.indices]
            )
