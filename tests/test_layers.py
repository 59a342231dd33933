"""The project's import structure: layers in order, no import circle, a command line that starts
without py-evm or web3.

Why: the game side is five layers (chain backends, contract bindings, agents, simulation, the
CLI) on top of the emulator, each allowed to use only the ones below it; a module that reaches
up, or two modules that need each other, make the layers a fiction again. And every command
that does not touch a chain must not pay the second py-evm and web3 cost to load.

The graph is read from the source with `ast`: every `import` and `from ... import` anywhere in
a module (inside functions too: an import deferred for speed is still a dependency).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from arbitration.cli.app import OneLineErrors

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("flexemu", "arbitration")

#: Bottom to top: a module may import its own layer and those before it, never one after.
LAYERS = (
    "flexemu",
    "arbitration.chain",
    "arbitration.contracts",
    "arbitration.agents",
    "arbitration.simulation",
    "arbitration.cli",
)

#: Top-level packages whose presence in sys.modules means py-evm or web3 was loaded.
CHAIN_STACK = ("eth", "web3", "eth_tester", "eth_account")
#: Top-level packages of Dask: only the sweep command may load them.
DASK = ("dask", "distributed")


def module_files() -> dict[str, Path]:
    """Every module of the project's packages, by dotted name (a package by its own name)."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def is_module(name: str) -> bool:
    """True if `name` is a module file (source or extension) or a package of the project."""
    base = REPO.joinpath(*name.split("."))
    return base.is_dir() or base.with_suffix(".py").is_file() or any(
        base.parent.glob(f"{base.name}.*.so")
    )


def imported_names(module: str, path: Path) -> set[str]:
    """The dotted names `module` imports: `from a import b` is `a.b` when that is a module of
    its own, else `a` (b is an attribute of a)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                candidate = f"{source}.{alias.name}"
                names.add(candidate if is_module(candidate) else source)
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (imports of other packages are dropped)."""
    modules = module_files()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for name in imported_names(module, path):
            if name in modules and name != module:
                targets.add(name)  # the rest: other packages, and native extension modules
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(module: str) -> int | None:
    """The index in LAYERS of `module`'s layer; None for a module above every layer (the
    bare `arbitration` package)."""
    for position, prefix in enumerate(LAYERS):
        if module == prefix or module.startswith(prefix + "."):
            return position
    return None


def test_the_graph_sees_deferred_and_relative_imports() -> None:
    """The checks below are only as good as the graph: it must see an import inside a
    function body and resolve `from package import module` to the module."""
    graph = import_graph()
    assert "arbitration.simulation.simulator" in graph["arbitration.cli.game_commands"]
    assert "arbitration.cli.emulator_commands" in graph["arbitration.cli.main"]
    assert "flexemu.native.step_counter" in graph["flexemu.native"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circle_anywhere() -> None:
    assert cycles(import_graph()) == []


def test_every_module_sits_in_a_layer() -> None:
    strays = [m for m in import_graph() if m != "arbitration" and layer_of(m) is None]
    assert strays == []


def test_layers_import_only_downwards() -> None:
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        for target in targets
        if (layer_of(target) or 0) > (layer_of(module) or len(LAYERS))
    )
    assert upward == []


def test_the_bare_arbitration_package_imports_nothing() -> None:
    """Importing any layer runs `arbitration/__init__.py` first: it must stay empty."""
    assert import_graph()["arbitration"] == set()


#: A command run in a fresh interpreter, then the chain-stack modules it left loaded.
PROBE = """
import json, sys
from arbitration.cli.main import main
args, watched = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
sys.argv = ["flexemu-game", *args]
try:
    main()
except SystemExit:
    pass
loaded = sorted({name.split(".")[0] for name in sys.modules} & watched)
print("LOADED " + json.dumps(loaded), file=sys.stderr)
"""


def chain_modules_after(
    args: list[str], cwd: Path, watched: tuple[str, ...] = CHAIN_STACK
) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(watched)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
    line = next(x for x in result.stderr.splitlines() if x.startswith("LOADED "))
    return json.loads(line.removeprefix("LOADED "))


HELLO = str(REPO / "scenarios" / "programs" / "hello")


@pytest.mark.parametrize(
    "args",
    [["--help"], ["run", HELLO], ["state", "--step", "3", HELLO]],
    ids=["help", "run", "state"],
)
def test_commands_without_a_chain_never_load_py_evm_or_web3(
    args: list[str], tmp_path: Path
) -> None:
    assert chain_modules_after(args, tmp_path) == []


def test_prove_and_check_never_load_py_evm_or_web3(tmp_path: Path) -> None:
    assert chain_modules_after(["prove", "--step", "3", "-o", "proof.json", HELLO], tmp_path) == []
    assert (tmp_path / "proof.json").is_file()  # so that `check` checks a real proof
    assert chain_modules_after(["check", "proof.json"], tmp_path) == []


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["run", HELLO],
        ["simulate", "--json", str(REPO / "scenarios" / "honest-hello.yaml")],
    ],
    ids=["help", "run", "simulate"],
)
def test_only_the_sweep_command_loads_dask(args: list[str], tmp_path: Path) -> None:
    assert chain_modules_after(args, tmp_path, DASK) == []


def test_the_probe_sees_the_sweep_command_load_dask(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        f"name: probe\nprograms: [{{path: {HELLO}}}]\n"
        "proposer: {strategy: honest}\nchallengers: {strategy: honest}\n"
    )
    loaded = chain_modules_after(
        ["sweep", str(sweep), "--out", "o", "--workers", "1"], tmp_path, DASK
    )
    assert "distributed" in loaded


COMMAND_TABLES = (
    "EMULATOR_COMMANDS",
    "GAME_COMMANDS",
    "NODE_COMMANDS",
    "VERIFIER_COMMANDS",
    "SWEEP_COMMANDS",
)


def command_names() -> list[str]:
    from arbitration.cli import main

    return [name for table in COMMAND_TABLES for name in getattr(main, table)]


@pytest.mark.parametrize("command", command_names())
def test_main_loads_the_module_of_each_command(command: str) -> None:
    """`main` loads only the named command's module: each name must be found there."""
    result = subprocess.run(
        [sys.executable, "-c", "from arbitration.cli.main import main; main()", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert f"flexemu-game {command}" in result.stdout


def test_main_lists_every_command_in_help() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from arbitration.cli.main import main; main()", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    box = lines[next(i for i, line in enumerate(lines) if "Commands" in line) + 1 :]
    box = box[: next(i for i, line in enumerate(box) if line.startswith("╰"))]
    listed = {line.split()[1] for line in box if line.startswith("│ ") and line[2] != " "}
    assert listed == set(command_names())


def test_the_probe_sees_a_command_that_loads_the_chain(tmp_path: Path) -> None:
    """`simulate` plays on py-evm: the probe must report it, or the test above proves nothing."""
    scenario = str(REPO / "scenarios" / "honest-hello.yaml")
    assert "eth" in chain_modules_after(["simulate", "--json", scenario], tmp_path)


def isa_package(module: str) -> str | None:
    """`flexemu.isa.mips` for any module inside it; None outside the ISA packages."""
    parts = module.split(".")
    if len(parts) >= 3 and parts[:2] == ["flexemu", "isa"] and parts[2] != "description":
        return ".".join(parts[:3])
    return None


def test_shared_emulator_code_never_imports_an_isa_package() -> None:
    """The ISA is a plug-in: only the registry (`flexemu.isa`) imports the ISA packages;
    every other `flexemu` module outside them receives an `Isa`."""
    reaching = sorted(
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        if module.startswith("flexemu") and module != "flexemu.isa" and isa_package(module) is None
        for target in targets
        if isa_package(target) is not None
    )
    assert reaching == []


def test_an_isa_package_never_imports_another() -> None:
    crossing = sorted(
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        if isa_package(module) is not None
        for target in targets
        if isa_package(target) not in (None, isa_package(module))
    )
    assert crossing == []


def test_the_isa_check_sees_the_registry_import() -> None:
    assert "flexemu.isa.mips.isa" in import_graph()["flexemu.isa"]


#: What `run` must not import: typer's pydantic coercion, rich (no terminal here) and an ELF
#: library; each costs tens of milliseconds of start-up (benchmarks/startup.py).
STARTUP_WEIGHTS = ("pydantic", "pydantic_core", "rich", "elftools")


@pytest.mark.parametrize(
    "args",
    [["run", HELLO], ["run", HELLO + ".rv64"], ["run", "--json", HELLO, "a", "b"]],
    ids=["mips", "rv64", "json-with-guest-args"],
)
def test_run_loads_no_pydantic_rich_or_elf_library(args: list[str], tmp_path: Path) -> None:
    assert chain_modules_after(args, tmp_path, STARTUP_WEIGHTS) == []


def test_the_probe_sees_an_option_value_coerced_by_typer(tmp_path: Path) -> None:
    """A given int option still goes through typer's own coercion (its range check)."""
    loaded = chain_modules_after(["run", "--max-steps", "5", HELLO], tmp_path, STARTUP_WEIGHTS)
    assert "pydantic" in loaded


def test_a_path_and_a_flag_are_coerced_without_pydantic(tmp_path: Path) -> None:
    """`simulate --json SCENARIO` and `run --stdin FILE`: typer's path checks, no pydantic
    (it would load before the parties' runs could start)."""
    (tmp_path / "input").write_bytes(b"x")
    assert chain_modules_after(["run", "--stdin", "input", HELLO], tmp_path, STARTUP_WEIGHTS) == []
    missing = ["simulate", "--json", "missing.yaml"]  # fails reading it: after the coercion
    assert chain_modules_after(missing, tmp_path, ("pydantic", "typer._adapters")) == []


def test_a_path_option_keeps_typers_checks_and_type(tmp_path: Path) -> None:
    """The path shortcut still runs typer's checks (here `exists`) and hands the command a
    `Path`; a flag arrives as the bool it is."""
    seen: list[object] = []
    probe = typer.Typer(cls=OneLineErrors)

    @probe.command()
    def check(
        where: Annotated[Path, typer.Argument(exists=True)],
        flag: Annotated[bool, typer.Option("--flag")] = False,
    ) -> None:
        seen.extend((where, flag))

    @probe.command()
    def other() -> None:  # two commands: `check` stays a subcommand
        pass

    missing = CliRunner().invoke(probe, ["check", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert CliRunner().invoke(probe, ["check", "--flag", str(tmp_path)]).exit_code == 0
    assert seen == [tmp_path, True] and isinstance(seen[0], Path)
