"""Scenario files: which program, which game settings, which strategy each party plays.

A scenario is data. `load_scenario` (below) parses and validates the YAML
file, naming the file and the bad key on any error, and resolves program and
stdin paths relative to the scenario file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from arbitration.agents.strategy import (
    SILENT_AFTER,
    STRATEGIES,
    STRATEGY_PARAMETERS,
    Strategy,
)
from flexemu.errors import FlexEmuError

PARTIES = ("proposer", "challenger")
#: How a game can end (`Outcome.reason`).
REASONS = ("step", "timeout", "unchallenged")

DEFAULT_CLOCK_SECONDS = 3600
DEFAULT_BOND_WEI = 10**18
#: The game contract keeps clocks as uint64 seconds.
MAX_CLOCK_SECONDS = 2**64 - 1
#: What each account of the in-process chain is funded with (`InProcessChain.fresh`:
#: 1,000,000 ether). The bond leaves 1 ether of it for the gas of the game's moves.
FUNDED_WEI = 10**24
MAX_BOND_WEI = FUNDED_WEI - 10**18


@dataclass(frozen=True)
class ProgramSpec:
    path: Path  # absolute, resolved against the scenario file's directory
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    stdin: bytes = b""
    # Where the trace ends if the program has not exited by then: the claim is then about the
    # (unfinished) state at this step. None: run to the exit, at most the agents'
    # DEFAULT_MAX_STEPS (arbitration.agents.strategy).
    max_steps: int | None = None


@dataclass(frozen=True)
class GameSettings:
    clock_seconds: int = DEFAULT_CLOCK_SECONDS
    bond_wei: int = DEFAULT_BOND_WEI


@dataclass(frozen=True)
class Expectation:
    winner: str | None = None  # "proposer" | "challenger"
    disputed_step: int | None = None
    reason: str | None = None  # "step" | "timeout" | "unchallenged"


@dataclass(frozen=True)
class Scenario:
    name: str
    source: Path | None  # the YAML file it came from, if any
    program: ProgramSpec
    game: GameSettings = field(default_factory=GameSettings)
    proposer: Strategy = field(default_factory=Strategy)
    challenger: Strategy = field(default_factory=Strategy)
    expect: Expectation | None = None
    description: str = ""  # one line for humans (the scenario table, the narration header)


class ScenarioError(FlexEmuError, ValueError):
    """A scenario file that cannot be played; the message names the file and the key."""


# --- reading YAML ------------------------------------------------------------------------


#: Nesting a scenario can need (it uses three levels). PyYAML composes nodes recursively,
#: so deeper input is refused before it can exhaust Python's stack.
MAX_YAML_DEPTH = 64


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys: PyYAML keeps the last one silently, which
    would let a typo'd second `proposer:` block override the first without a word. It
    also refuses nesting deeper than MAX_YAML_DEPTH."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", mark
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a UTF-8 text file") from None
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read scenario: {error.strerror}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = error.problem or error.context or "syntax error"
        raise ScenarioError(f"{path}: invalid YAML: {problem}{where}") from None
    except yaml.YAMLError as error:
        raise ScenarioError(f"{path}: invalid YAML: {error}") from None


# --- validation --------------------------------------------------------------------------


def _describe(value: Any) -> str:
    """How a bad value reads in an error: strings quoted, YAML's null as `null`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


class _Checker:
    """Validates one parsed file; every error carries the file and the dotted key path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> NoReturn:
        raise ScenarioError(
            f"{self.path}: {where}: {message}" if where else f"{self.path}: {message}"
        )

    def mapping(
        self, value: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(where or "top level", f"expected a mapping, got {_describe(value)}")
        for key in value:
            if not isinstance(key, str):
                self.fail(where or "top level", f"keys must be strings, got {_describe(key)}")
            if key not in required and key not in optional:
                allowed = ", ".join((*required, *optional))
                self.fail(_join(where, key), f"unknown key (expected one of: {allowed})")
        for key in required:
            if key not in value:
                self.fail(_join(where, key), "missing required key")
        return value

    def string(self, value: Any, where: str, allow_empty: bool = False) -> str:
        if not isinstance(value, str):
            self.fail(where, f"expected a string, got {_describe(value)}")
        if not allow_empty and not value:
            self.fail(where, "expected a non-empty string")
        return value

    def natural(
        self, value: Any, where: str, minimum: int = 0, maximum: tuple[int, str] | None = None
    ) -> int:
        """A whole number >= `minimum` and, if given, <= maximum[0] (maximum[1] says why)."""
        # bool is an int in Python; YAML's `yes` must not become 1 step.
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            kind = "a non-negative integer" if minimum == 0 else f"an integer >= {minimum}"
            self.fail(where, f"expected {kind}, got {_describe(value)}")
        if maximum is not None and value > maximum[0]:
            self.fail(where, f"expected at most {maximum[0]} ({maximum[1]}), got {value}")
        return value

    def choice(self, value: Any, where: str, choices: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value not in choices:
            self.fail(where, f"expected one of {', '.join(choices)}; got {_describe(value)}")
        return value

    def file(self, value: Any, where: str, what: str) -> Path:
        relative = Path(self.string(value, where))
        resolved = (self.path.parent / relative).resolve()
        if not resolved.is_file():
            self.fail(where, f"{what} not found: {relative} (looked for {resolved})")
        return resolved


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _program(check: _Checker, raw: Any) -> ProgramSpec:
    data = check.mapping(
        raw, "program", ("path",), ("argv", "env", "stdin", "stdin_file", "max_steps")
    )
    path = check.file(data["path"], "program.path", "program")
    if "argv" in data:
        argv_raw = data["argv"]
        if not isinstance(argv_raw, list):
            check.fail("program.argv", f"expected a list of strings, got {_describe(argv_raw)}")
        argv = tuple(
            check.string(item, f"program.argv[{i}]", allow_empty=True)
            for i, item in enumerate(argv_raw)
        )
    else:
        argv = (path.name,)
    env_raw = data.get("env", {})
    if not isinstance(env_raw, dict):
        check.fail("program.env", f"expected a mapping, got {_describe(env_raw)}")
    env: dict[str, str] = {}
    for key, value in env_raw.items():
        name = check.string(key, "program.env")
        if "=" in name:
            check.fail(f"program.env.{name}", "a variable name cannot contain '='")
        env[name] = check.string(value, f"program.env.{name}", allow_empty=True)
    if "stdin" in data and "stdin_file" in data:
        check.fail("program", "give either stdin or stdin_file, not both")
    stdin = b""
    if "stdin" in data:
        stdin = check.string(data["stdin"], "program.stdin", allow_empty=True).encode("utf-8")
    elif "stdin_file" in data:
        stdin = check.file(data["stdin_file"], "program.stdin_file", "stdin file").read_bytes()
    max_steps = None
    if "max_steps" in data:
        max_steps = check.natural(data["max_steps"], "program.max_steps", minimum=1)
    return ProgramSpec(path=path, argv=argv, env=env, stdin=stdin, max_steps=max_steps)


def _game(check: _Checker, raw: Any) -> GameSettings:
    data = check.mapping(raw, "game", (), ("clock_seconds", "bond_wei"))
    return GameSettings(
        clock_seconds=check.natural(
            data.get("clock_seconds", DEFAULT_CLOCK_SECONDS),
            "game.clock_seconds",
            minimum=1,
            maximum=(MAX_CLOCK_SECONDS, "the game keeps clocks as uint64 seconds"),
        ),
        bond_wei=check.natural(
            data.get("bond_wei", DEFAULT_BOND_WEI),
            "game.bond_wei",
            maximum=(MAX_BOND_WEI, "a party's funded balance, less 1 ether for gas"),
        ),
    )


def _strategy(check: _Checker, raw: Any, party: str) -> Strategy:
    if not isinstance(raw, dict):
        check.fail(party, f"expected a mapping with a strategy, got {_describe(raw)}")
    kind = check.choice(raw.get("strategy"), f"{party}.strategy", STRATEGIES)
    parameter = STRATEGY_PARAMETERS[kind]
    # Any other strategy may also go silent: `{strategy: lie_from, step: 9, silent_after: 3}`
    # is a liar that abandons the game, the way a losing party would.
    optional = () if kind == "silent_after" else (SILENT_AFTER,)
    if parameter is None:
        check.mapping(raw, party, ("strategy",), optional)
        fields: dict[str, int | None] = {}
    else:
        name, required = parameter
        check.mapping(
            raw, party, ("strategy", name) if required else ("strategy",), (name, *optional)
        )
        value = raw.get(name)
        if value is not None or required:
            value = check.natural(value, f"{party}.{name}")
        fields = {name: value}
    if SILENT_AFTER in raw and optional:
        fields["moves"] = check.natural(raw[SILENT_AFTER], f"{party}.{SILENT_AFTER}")
    return Strategy(kind=kind, **fields)


def _expectation(check: _Checker, raw: Any) -> Expectation:
    data = check.mapping(raw, "expect", (), ("winner", "disputed_step", "reason"))
    if not data:
        check.fail("expect", "expected at least one of winner, disputed_step, reason")
    winner = data.get("winner")
    step = data.get("disputed_step")
    reason = data.get("reason")
    return Expectation(
        winner=None if winner is None else check.choice(winner, "expect.winner", PARTIES),
        disputed_step=None if step is None else check.natural(step, "expect.disputed_step"),
        reason=None if reason is None else check.choice(reason, "expect.reason", REASONS),
    )


def parse_scenario(data: Any, path: Path) -> Scenario:
    """Validate parsed YAML; relative paths resolve against `path`'s directory."""
    check = _Checker(path)
    if data is None:
        check.fail("", "empty scenario file")
    top = check.mapping(
        data,
        "",
        ("name", "program", "proposer", "challenger"),
        ("description", "game", "expect"),
    )
    name = check.string(top["name"], "name")
    if not NAME_PATTERN.match(name):
        check.fail("name", f"expected letters, digits, '.', '_' or '-', got {_describe(name)}")
    return Scenario(
        name=name,
        source=path,
        program=_program(check, top["program"]),
        game=_game(check, top.get("game", {})),
        proposer=_strategy(check, top["proposer"], "proposer"),
        challenger=_strategy(check, top["challenger"], "challenger"),
        expect=_expectation(check, top["expect"]) if "expect" in top else None,
        description=check.string(top.get("description", ""), "description", allow_empty=True),
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; any problem is a `ScenarioError` naming the key."""
    path = Path(path)
    return parse_scenario(_read_yaml(path), path)
