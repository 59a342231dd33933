"""An ISA as a plug-in: the description shared code receives, and the registry that picks one.

Shared code (the trace, the reference machine, proofs, vectors, the CLI) is written once and
handed an `Isa`; it never imports `flexemu.isa.<name>`. Each ISA package describes itself in
its `isa.py` (`flexemu/isa/mips/isa.py`, `flexemu/isa/riscv/isa.py`), and only this registry
imports those, lazily, so that an ISA module importing shared code never closes a circle.

The ELF picks the ISA (`isa_for_elf`); a witness names its own (`isa_named` from a proof
file's `isa`, `mips32` when a file predates the key).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from flexemu.errors import LoaderError
from flexemu.isa.description import ByteOrder, Engine, Isa, MachineState, Progress, SyscallAbi

__all__ = [
    "LISTINGS", "ByteOrder", "Engine", "Isa", "Listing", "MachineState", "Progress",
    "SyscallAbi", "isa_for_elf", "isa_named", "isa_of_state", "isa_of_witness_size",
    "listing_named", "listing_of_vm", "names", "registry",
]  # fmt: skip


@dataclass(frozen=True)
class Listing:
    """What the registry knows of an ISA before importing it: enough to pick it for an ELF
    or a witness, so that a command loads only the ISA it runs (start-up time)."""

    name: str
    elf_machine: int
    elf_word_bytes: int
    byte_order: ByteOrder
    witness_bytes: int
    vm_id: int  # the game's VM id (Isa.vm_id)
    verifier: str  # the verifier contract's name (Isa.verifier)

    def load(self) -> Isa:
        return _load(self.name)


#: Every ISA flexEmu runs (tests/test_isa_plugin.py checks each against its loaded Isa).
LISTINGS = (
    Listing("mips32", 8, 4, "big", 410, 1, "MipsVerifier"),
    Listing("rv64", 243, 8, "little", 652, 2, "RiscvVerifier"),
    Listing("rv32", 243, 4, "little", 520, 3, "RiscvVerifier"),
)


@cache
def _load(name: str) -> Isa:
    """The only place that imports the ISA packages, each when first asked for."""
    if name == "mips32":
        from flexemu.isa.mips.isa import MIPS32

        return MIPS32
    from flexemu.isa.riscv.isa import RV32, RV64

    return {"rv64": RV64, "rv32": RV32}[name]


def registry() -> tuple[Isa, ...]:
    """Every ISA flexEmu runs, loaded."""
    return tuple(listing.load() for listing in LISTINGS)


def names() -> tuple[str, ...]:
    return tuple(listing.name for listing in LISTINGS)


def isa_named(name: str) -> Isa:
    return listing_named(name).load()


def listing_named(name: str) -> Listing:
    """The listing of ISA `name`, without loading it (what the game side needs to deploy)."""
    for listing in LISTINGS:
        if listing.name == name:
            return listing
    raise ValueError(f"unknown ISA {name!r} (flexEmu runs {', '.join(names())})")


def listing_of_vm(vm_id: int) -> Listing | None:
    """The ISA whose game VM id is `vm_id`, or None (no ISA has it)."""
    for listing in LISTINGS:
        if listing.vm_id == vm_id:
            return listing
    return None


def isa_of_witness_size(size: int) -> Isa | None:
    """The ISA whose witness is `size` bytes (each ISA's size differs), or None."""
    for listing in LISTINGS:
        if listing.witness_bytes == size:
            return listing.load()
    return None


def isa_of_state(state: Any) -> Isa:
    """The ISA whose state class `state` is (its word size decides between RV32 and RV64)."""
    for isa in registry():
        if isinstance(state, isa.state_class) and (
            getattr(state, "xlen", 8 * isa.word_bytes) == 8 * isa.word_bytes
        ):
            return isa
    raise TypeError(f"no ISA has the state class {type(state).__name__}")


#: Names of common e_machine values, for the message that refuses them.
MACHINE_NAMES = {
    3: "EM_386", 8: "EM_MIPS", 20: "EM_PPC", 21: "EM_PPC64", 40: "EM_ARM", 62: "EM_X86_64",
    183: "EM_AARCH64", 243: "EM_RISCV",
}  # fmt: skip


def isa_for_elf(elf: bytes, name: str = "program") -> Isa:
    """The ISA that runs `elf`, picked by e_machine, ELF class and byte order.

    An ELF of a machine flexEmu runs but of another class or byte order goes to that
    machine's loader, whose message names what is wrong; any other machine is refused here.
    """
    if elf[:4] != b"\x7fELF":
        raise LoaderError(f"{name}: not an ELF file (bad magic)")
    if len(elf) < 52:
        raise LoaderError(f"{name}: truncated ELF header ({len(elf)} bytes)")
    orders: tuple[ByteOrder, ...] = {1: ("little",), 2: ("big",)}.get(elf[5], ("big", "little"))
    for order in orders:
        machine = int.from_bytes(elf[18:20], order)
        candidates = [listing for listing in LISTINGS if listing.elf_machine == machine]
        if candidates:
            word_bytes = {1: 4, 2: 8}.get(elf[4])
            exact = [
                listing for listing in candidates
                if listing.elf_word_bytes == word_bytes and listing.byte_order == order
            ]  # fmt: skip
            return (exact or candidates)[0].load()
    machine = int.from_bytes(elf[18:20], orders[0])
    known: dict[int, list[str]] = {listing.elf_machine: [] for listing in LISTINGS}
    for listing in LISTINGS:
        known[listing.elf_machine].append(listing.name)
    runs = " and ".join(
        f"{MACHINE_NAMES.get(m, m)} ({', '.join(names)})" for m, names in known.items()
    )
    shape = f"{ {1: '32-bit', 2: '64-bit'}.get(elf[4], 'unknown class') } {orders[0]}-endian"
    raise LoaderError(
        f"{name}: wrong machine {MACHINE_NAMES.get(machine, 'unknown')} ({machine}, {shape}): "
        f"flexEmu runs {runs}"
    )
