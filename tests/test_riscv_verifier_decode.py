"""RiscvCompressed.expand and RiscvDecode.decode against the reference, in bulk.

Through contracts/src/test/RiscvDecodeHarness (batches of calls into the same internal
functions the verifier runs): parcels expand to the same 32-bit word as
flexemu/isa/riscv/compressed.py (or are reserved in both): random blocks here, all 2^16
with `-m slow`; those words, every table row of decode.py filled with random free bits, and
random words decode to the same handler group, operands, access width and immediate as
decode.py, on RV32 and RV64. The step tests then check what each group does.
"""

from __future__ import annotations

import random

import pytest
from eth_abi import decode as abi_decode

from arbitration.chain.in_process import InProcessChain
from flexemu.isa.riscv import alu, atomics, control, csr, loadstore, muldiv
from flexemu.isa.riscv.compressed import expand
from flexemu.isa.riscv.decode import ENCODINGS, decode, is_fp_computation

BATCH = 2048
RESERVED = 1 << 32
ILLEGAL, FP_COMPUTATION = 0, 1

# The handler group (RiscvDecode's constants) of each reference name, as step.py's table.
GROUPS: dict[str, int] = {"lui": 2, "auipc": 3, "jal": 7, "jalr": 8, "lr.w": 12, "lr.d": 12,
                          "sc.w": 13, "sc.d": 13, "flw": 15, "fld": 15, "fsw": 16, "fsd": 16,
                          "fence": 19, "fence.i": 19, "ecall": 20, "ebreak": 21}  # fmt: skip
GROUPS.update(dict.fromkeys(alu.REGISTER_OPERATIONS, 4))
GROUPS.update(dict.fromkeys(alu.IMMEDIATE_OPERATIONS, 5))
GROUPS.update(dict.fromkeys(muldiv.OPERATIONS, 6))
GROUPS.update(dict.fromkeys(control.CONDITIONS, 9))
GROUPS.update(dict.fromkeys(loadstore.LOADS, 10))
GROUPS.update(dict.fromkeys(loadstore.STORES, 11))
GROUPS.update({f"{name}.{w}": 14 for name in atomics.AMO_OPERATIONS for w in "wd"})
GROUPS.update(dict.fromkeys(("fmv.x.w", "fmv.w.x", "fmv.x.d", "fmv.d.x"), 17))
GROUPS.update(dict.fromkeys(csr.INSTRUCTIONS, 18))
WIDTHS = {**{n: w for n, (w, _) in loadstore.LOADS.items()}, **loadstore.STORES,
          "flw": 4, "fsw": 4, "fld": 8, "fsd": 8}  # fmt: skip


class Harness:
    def __init__(self) -> None:
        self.chain = InProcessChain.fresh(num_accounts=1)
        self.contract = self.chain.deploy("RiscvDecodeHarness")

    def _call(self, function: str, args: list[object], types: list[str]) -> tuple:
        data = bytes.fromhex(self.contract.encode_abi(function, args)[2:])
        return abi_decode(types, self.chain.raw_call(self.contract.address, data))

    def expand(self, parcels: list[int], xlen: int) -> list[int]:
        return list(self._call("expandBatch", [parcels, xlen], ["uint256[]"])[0])

    def decode(self, words: list[int], xlen: int) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for start in range(0, len(words), BATCH):
            fields, imms = self._call("decodeBatch", [words[start : start + BATCH], xlen],
                                      ["uint256[]", "uint256[]"])  # fmt: skip
            out += zip(fields, imms, strict=True)
        return out


@pytest.fixture(scope="module")
def harness() -> Harness:
    return Harness()


def expected_fields(word: int, xlen: int) -> tuple[int, int, int, int, int, int] | int:
    """(group, width, rd, rs1, rs2, csr) and the immediate, or the decoding panic's group."""
    ins = decode(word, xlen)
    if ins is None:
        return FP_COMPUTATION if is_fp_computation(word) else ILLEGAL
    width = WIDTHS.get(ins.name, 0)
    if ins.name.startswith(("lr.", "sc.", "amo")):
        width = 4 if ins.name.endswith(".w") else 8
    return GROUPS[ins.name], width, ins.rd, ins.rs1, ins.rs2, ins.csr


def check_words(harness: Harness, words: list[int], xlen: int) -> int:
    """Compare the decoding of `words`; returns how many decoded to an instruction."""
    legal = 0
    for word, (fields, imm) in zip(words, harness.decode(words, xlen), strict=True):
        want = expected_fields(word, xlen)
        group = fields & 0xFF
        if isinstance(want, int):
            assert group == want, f"RV{xlen} word {word:#010x}: group {group}, want panic {want}"
            continue
        legal += 1
        got = (group, (fields >> 16) & 0xFF, (fields >> 24) & 0xFF, (fields >> 32) & 0xFF,
               (fields >> 40) & 0xFF, (fields >> 48) & 0xFFF)  # fmt: skip
        assert got == want, f"RV{xlen} word {word:#010x}: {got} != {want}"
        ins = decode(word, xlen)
        assert ins is not None
        assert imm == ins.imm % (1 << 256), f"RV{xlen} word {word:#010x}: immediate"
    return legal


def check_parcels(harness: Harness, parcels: list[int], xlen: int) -> int:
    """Expansion of `parcels`, then decoding of the expansions; returns the legal count."""
    expanded = []
    for start in range(0, len(parcels), BATCH):
        chunk = parcels[start : start + BATCH]
        for half, got in zip(chunk, harness.expand(chunk, xlen), strict=True):
            want = expand(half, xlen)
            assert got == (RESERVED if want is None else want[1]), f"RV{xlen} parcel {half:#06x}"
            if want is not None:
                expanded.append(want[1])
    return check_words(harness, sorted(set(expanded)), xlen)


def _stratified(xlen: int) -> list[int]:
    """16 random parcels from each (quadrant, funct3, bit 12, bits 11:10) bucket."""
    rng = random.Random(xlen)
    parcels = set()
    for quadrant in range(3):
        for top in range(64):  # funct3 (3 bits) ‖ bit 12 ‖ bits 11:10
            for _ in range(16):
                parcels.add((top << 10) | (rng.getrandbits(8) << 2) | quadrant)
    return sorted(parcels)


@pytest.mark.parametrize("xlen", [32, 64])
def test_parcels_expand_as_the_reference(harness: Harness, xlen: int) -> None:
    """Every compressed form, sampled by its distinguishing bits (all 2^16: the slow test)."""
    parcels = _stratified(xlen)
    assert check_parcels(harness, parcels, xlen) > 1500


@pytest.mark.slow
@pytest.mark.parametrize("xlen", [32, 64])
def test_every_parcel_expands_as_the_reference(harness: Harness, xlen: int) -> None:
    parcels = [p for p in range(1 << 16) if p & 3 != 3]
    assert check_parcels(harness, parcels, xlen) > 20_000


@pytest.mark.parametrize("xlen", [32, 64])
def test_table_rows_and_random_words_decode_as_the_reference(harness: Harness, xlen: int) -> None:
    rng = random.Random(xlen)
    words = [rng.getrandbits(32) | 3 for _ in range(2000)]
    for encoding in ENCODINGS:
        words += [encoding.match | (rng.getrandbits(32) & ~encoding.mask) for _ in range(12)]
    legal = check_words(harness, words, xlen)
    assert legal > 12 * len([e for e in ENCODINGS if xlen in e.xlens]) * 0.9
