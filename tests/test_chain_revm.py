"""The revm host against py-evm: the same games, gas, hashes and errors.

Real contracts on both EVMs, nothing mocked. Shipped scenarios covering both ISAs, both
winners, clocks and timeouts, forged proofs and several challengers are played on py-evm and
on revm, and their reports must be identical but for the chain's description and the
timings (every move's transaction hash, gas, block time and state hash is in a report). Then
the pieces one by one: EIP-7623's floor (`prague_gas_used`), a verifier step's gas measured
on both hosts, a forged proof's named error through revm, and what the host refuses.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from arbitration.chain.base import calldata_floor_gas, prague_gas_used
from arbitration.chain.errors import ChainError
from arbitration.chain.in_process import InProcessChain
from arbitration.chain.revm_host import INSTALL_HINT, RevmChain
from arbitration.contracts.deploy import deploy_verifier
from arbitration.simulation.report import build_report
from arbitration.simulation.scenario import load_scenario
from arbitration.simulation.simulator import default_chain, simulate
from arbitration.simulation.sweep_run import run_case, traced
from arbitration.simulation.sweep_spec import expand, load_sweep
from flexemu.proof import prove

REPO = Path(__file__).resolve().parents[1]

#: MIPS and both RISC-V widths; proposer and challenger winners; a step, timeouts (silent
#: parties: clocks run out) and an accepted claim; forged proofs from either side; three
#: challengers at once.
SCENARIOS = [
    "forged-proof-challenger",  # MIPS, a forged step proof reverts, the proposer wins
    "forged-proof-proposer",  # MIPS, the proposer's forged proof, the challenger wins
    "silent-proposer",  # MIPS, the proposer's clock runs out: timeout
    "honest-proposer-many-liars",  # MIPS, several lying challengers, all lose
    "rv32-forged-proof-challenger",  # RV32
    "rv64-lying-challenger",  # RV64, the proposer wins at the step
    "both-dishonest",
]


def report_without_host(scenario_name: str, host: str) -> dict[str, Any]:
    scenario = load_scenario(REPO / "scenarios" / f"{scenario_name}.yaml")
    outcome = simulate(scenario, chain=default_chain(len(scenario.lineup), host))
    document = build_report(scenario, outcome)
    document.pop("timings_seconds")
    chain = document.pop("chain")
    assert chain.startswith("revm " if host == "revm" else "py-evm ")
    return document


@pytest.mark.parametrize("scenario_name", SCENARIOS)
def test_a_game_on_revm_reports_what_it_reports_on_py_evm(scenario_name: str) -> None:
    reference = report_without_host(scenario_name, "pyevm")
    fast = report_without_host(scenario_name, "revm")
    assert reference["matched"], reference["mismatches"]
    # Field by field first, so that a failure names what differs.
    assert [m["gas"] for m in fast["moves"]] == [m["gas"] for m in reference["moves"]]
    assert [m["tx_hash"] for m in fast["moves"]] == [m["tx_hash"] for m in reference["moves"]]
    assert [m["timestamp"] for m in fast["moves"]] == [
        m["timestamp"] for m in reference["moves"]
    ]
    assert fast == reference


# ---- EIP-7623 outside revm -----------------------------------------------------------------


def test_the_floor_binds_on_calldata_heavy_transactions_only() -> None:
    calldata = b"\x01" * 100 + b"\x00" * 10  # 410 tokens: floor 25,100
    floor = 21_000 + 10 * (4 * 100 + 10)
    assert calldata_floor_gas(calldata) == floor
    assert prague_gas_used(22_990, calldata, 30_000) == floor  # Cancun's figure is below it
    assert prague_gas_used(60_000, calldata, 100_000) == 60_000
    assert prague_gas_used(0, b"", 21_000) == 21_000


def test_a_gas_limit_below_the_floor_is_invalid() -> None:
    calldata = b"\x01" * 100  # floor 25,000, Cancun intrinsic 22,600
    with pytest.raises(ValueError, match="below the EIP-7623 calldata floor 25000"):
        prague_gas_used(22_600, calldata, 24_999)
    assert prague_gas_used(22_600, calldata, 25_000) == 25_000


def plain_transfer(chain: Any, gas: int) -> Any:
    to = chain.accounts[1]
    return chain.transact(SimpleNamespace(to=to, data=b"\x01" * 100), gas=gas)


@pytest.mark.parametrize("host", [InProcessChain, RevmChain])
def test_a_calldata_heavy_transfer_pays_the_floor_and_one_below_it_is_refused(
    host: Callable[..., Any],
) -> None:
    """pyrevm's own "Prague" spec charges 22,600 here; both hosts charge Prague's 25,000 and
    refuse a gas limit between the two, mining nothing (py-evm 0.12.1b1 alone would mine it
    and charge 25,000 over a 24,000 limit)."""
    chain = host.fresh()
    assert plain_transfer(chain, 30_000).gas_used == 25_000
    head = chain.block_number()
    with pytest.raises(ChainError, match="invalid transaction"):
        plain_transfer(chain, 24_000)
    assert chain.block_number() == head


# ---- verifier steps and their errors -------------------------------------------------------


@pytest.fixture(scope="module")
def verifiers() -> dict[str, Any]:
    """The RV64 verifier on each host, deployed by the same account at the same nonce."""
    return {
        name: deploy_verifier(host.fresh(), "rv64")
        for name, host in (("pyevm", InProcessChain), ("revm", RevmChain))
    }


def test_a_verifier_step_costs_the_same_gas_on_both_hosts(
    verifiers: dict[str, Any], finished_emulator: Callable[[str], Any]
) -> None:
    emulator = finished_emulator("tiny_sum.rv64")
    for step in (0, emulator.final.step // 2, emulator.final.step - 1):
        proof = prove(emulator, step)
        measured = {
            name: verifier.measure(proof.pre_state_hash, proof.witness, proof.proof)
            for name, verifier in verifiers.items()
        }
        assert measured["revm"] == measured["pyevm"]
        assert measured["revm"].post_state_hash == proof.post_state_hash


def test_a_forged_witness_reverts_with_its_named_error_through_revm(
    verifiers: dict[str, Any], finished_emulator: Callable[[str], Any]
) -> None:
    emulator = finished_emulator("tiny_sum.rv64")
    proof = prove(emulator, 3)
    forged = bytes([proof.witness[0] ^ 0xFF]) + proof.witness[1:]
    errors = {}
    for name, verifier in verifiers.items():
        with pytest.raises(ChainError) as raised:
            verifier.step_from(proof.pre_state_hash, forged, proof.proof)
        errors[name] = (raised.value.name, raised.value.error_args, str(raised.value))
    assert errors["revm"] == errors["pyevm"]
    assert errors["revm"][0] == "InvalidWitness"


# ---- what the host refuses -----------------------------------------------------------------


def test_what_revm_does_not_model_is_refused_by_name() -> None:
    chain = RevmChain.fresh()
    with pytest.raises(ChainError, match="snapshots"):
        chain.snapshot()
    with pytest.raises(ChainError, match="web3"):
        _ = chain.w3
    view = deploy_verifier(chain, "rv64").contract.functions.stateHash(b"")
    with pytest.raises(ChainError, match="past blocks"):
        chain.call(view, block=0)


@pytest.mark.parametrize("command", ["simulate", "sweep"])
def test_choosing_revm_without_pyrevm_exits_2_with_how_to_install_it(
    command: str, tmp_path: Path
) -> None:
    """pyrevm made unimportable (a None entry in sys.modules) in a real `flexemu-game`
    process: one line, exit 2, no traceback, nothing played."""
    code = (
        "import sys; sys.modules['pyrevm'] = None; "
        "from arbitration.cli.main import main; main()"
    )
    if command == "simulate":
        scenario = REPO / "scenarios" / "forged-proof-proposer.yaml"
        args = ["simulate", "--chain", "revm", str(scenario)]
    else:
        sweep = REPO / "scenarios" / "sweeps" / "quick-sweep.yaml"
        args = ["sweep", "--chain", "revm", "--out", str(tmp_path / "out"), str(sweep)]
    finished = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    assert finished.returncode == 2
    assert finished.stderr.strip() == f"error: {INSTALL_HINT}"


def test_a_sweep_row_is_the_same_on_both_hosts() -> None:
    """Sweeps choose the host per game (`run_case(case, host)`): every case of the quick
    sweep's RV32 program gives the same row on both, but for its wall time and worker."""
    sweep = load_sweep(REPO / "scenarios" / "sweeps" / "quick-sweep.yaml")
    programs = [p for p in sweep.programs if p.label == "tiny_sum-rv32"]
    cases = expand(replace(sweep, programs=programs), {p.label: traced(p.spec) for p in programs})
    assert len(cases) >= 5
    for case in cases:
        rows = [run_case(case, host) for host in ("pyevm", "revm")]
        for row in rows:
            del row["wall_seconds"], row["worker"]
        assert rows[1] == rows[0]


@pytest.mark.parametrize("command", ["simulate", "sweep"])
def test_help_names_the_hosts_and_how_to_install_revm(command: str) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "from arbitration.cli.main import main; main()", command, "--help"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert finished.returncode == 0
    assert "--chain" in finished.stdout
    assert "pip install -e '.[revm]'" in finished.stdout
