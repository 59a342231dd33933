"""One RISC-V step in both proof modes, over the shared proof framing (docs/spec.md
section 10; FullIO/ProofIO of flexemu/mips/io.py at leaf level).

`prove_step` runs a step over full memory and returns the leaf proofs it touched,
in access order; `check_step` replays a step from a witness and those proofs
alone, exactly as a verifier does, and returns the post-state (its `mem_root`
recomputed from the proofs). The ISA-neutral prove/check commands will call these
through the Isa description once the plug-in refactor lands.
"""

from __future__ import annotations

from flexemu.isa.riscv.state import RiscvState
from flexemu.isa.riscv.step import step
from flexemu.memory import Memory
from flexemu.mips.io import FullIO, ProofIO


def prove_step(state: RiscvState, memory: Memory, input_memory: Memory) -> bytes:
    """Advance `state` (and `memory`) by one step; return the step's proof bytes.

    `state.mem_root` is brought up to date before and after the step."""
    state.mem_root = memory.root()
    io = FullIO(memory, input_memory, record=True)
    step(state, io)
    state.mem_root = memory.root()
    return b"".join(io.proofs)


def check_step(witness: bytes, proof: bytes) -> RiscvState:
    """The post-state of one step replayed from the witness and the proof alone.

    Raises WitnessError for a malformed witness and ProofError for a bad, foreign,
    truncated or oversized proof."""
    state = RiscvState.from_witness(witness)
    io = ProofIO(state.mem_root, state.input_root, proof)
    step(state, io)
    io.finish()
    state.mem_root = io.mem_root
    return state
