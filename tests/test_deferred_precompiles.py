"""py-evm's elliptic-curve precompiles behind `arbitration.chain.deferred_precompiles`: a
simulated dispute, through the command, never loads py_ecc, and a precompile that does run
on the in-process chain loads the real module and gives the real result at the real gas,
whether the stand-ins were installed (a fresh process) or not (pytest imported py-evm first)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from arbitration.chain.in_process import InProcessChain

REPO = Path(__file__).resolve().parents[1]

BLS12_G1ADD = "0x000000000000000000000000000000000000000b"
ECADD = "0x0000000000000000000000000000000000000006"
ECMUL = "0x0000000000000000000000000000000000000007"


def _g1_bls(point: tuple) -> bytes:
    """An EIP-2537 G1 point: x and y, each 48 bytes padded to 64."""
    from py_ecc.optimized_bls12_381 import normalize

    x, y = normalize(point)
    return b"".join(int(c).to_bytes(64, "big") for c in (x, y))


def _g1_bn128(point: tuple) -> bytes:
    return b"".join(int(c).to_bytes(32, "big") for c in point)


def bls_g1_add_case() -> tuple[bytes, bytes]:
    """(input, expected output) of BLS12_G1ADD for G + 2G, from py_ecc directly."""
    from py_ecc.optimized_bls12_381 import G1, add, multiply

    return _g1_bls(G1) + _g1_bls(multiply(G1, 2)), _g1_bls(add(G1, multiply(G1, 2)))


def test_a_bls12_381_precompile_gives_the_real_result_and_gas() -> None:
    chain = InProcessChain.fresh()
    data, expected = bls_g1_add_case()
    assert chain.raw_call(BLS12_G1ADD, data) == expected
    assert chain.call_gas(BLS12_G1ADD, data) == 375  # EIP-2537's G1ADD price
    assert type(sys.modules["eth.precompiles.bls12_381"]).__name__ == "module"  # the real one


def test_bn128_precompiles_keep_istanbuls_gas_and_their_results() -> None:
    from py_ecc.bn128 import G1, add, multiply

    chain = InProcessChain.fresh()
    double = multiply(G1, 2)
    data = _g1_bn128((int(G1[0]), int(G1[1]))) + _g1_bn128((int(double[0]), int(double[1])))
    three = add(G1, double)
    assert chain.raw_call(ECADD, data) == _g1_bn128((int(three[0]), int(three[1])))
    assert chain.call_gas(ECADD, data) == 150  # Istanbul's price, bound through the curry
    scaled = multiply(G1, 7)
    assert chain.raw_call(ECMUL, data[:64] + (7).to_bytes(32, "big")) == _g1_bn128(
        (int(scaled[0]), int(scaled[1]))
    )
    assert chain.call_gas(ECMUL, data[:64] + (7).to_bytes(32, "big")) == 6000


SCRIPT = """
import json, sys
from arbitration.cli.main import main
sys.argv = ["flexemu-game", "simulate", "--json", sys.argv[1]]
try:
    main()
except SystemExit as done:
    code = done.code
curves = sorted(m for m in sys.modules if m.startswith("py_ecc"))
from arbitration.chain.deferred_precompiles import DeferredModule
deferred = isinstance(sys.modules["eth.precompiles.bls12_381"], DeferredModule)
from arbitration.chain.in_process import InProcessChain
from tests.test_deferred_precompiles import BLS12_G1ADD, bls_g1_add_case
data, expected = bls_g1_add_case()
chain = InProcessChain.fresh()
result = chain.raw_call(BLS12_G1ADD, data)
print(json.dumps({
    "code": code, "curves": curves, "deferred": deferred, "matches": result == expected,
    "gas": chain.call_gas(BLS12_G1ADD, data),
    "loaded": type(sys.modules["eth.precompiles.bls12_381"]).__name__,
}), file=sys.stderr)
"""


def test_simulate_loads_no_curve_and_a_later_bls_call_is_real() -> None:
    scenario = REPO / "scenarios" / "lying-proposer-first-step.yaml"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(scenario)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    facts = json.loads(done.stderr.strip().splitlines()[-1])
    assert json.loads(done.stdout)["winner"] == "challenger"
    assert facts["code"] == 0
    assert facts["curves"] == []  # neither BLS12-381 nor bn128 was loaded by the dispute
    assert facts["deferred"] is True
    assert facts["matches"] is True and facts["gas"] == 375
    assert facts["loaded"] == "module"  # the stand-in gave way to the real module
