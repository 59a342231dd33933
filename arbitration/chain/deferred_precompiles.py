"""py-evm's elliptic-curve precompiles, loaded when one first runs instead of when `eth` loads.

Why: importing py-evm imports every precompile of every fork, and two families of them do
heavy work at import time that a dispute never needs: the BLS12-381 ones of Prague
(`eth.precompiles.bls12_381` imports py_ecc's BLS ciphersuites, whose pairing module computes
its tables: ~0.22 s, a third of loading the whole chain stack) and the alt_bn128 ones
(`ecadd`, `ecmul`, `ecpairing`: py_ecc's bn128 pairing, ~0.03 s). Our contracts call
neither (the verifiers hash with keccak alone), yet `flexemu-game simulate` paid for both on
every run, more than half of a plain `flexemu-game run`.

How: :func:`install` puts a stand-in module under each of those names into `sys.modules`
before `eth` is imported. A stand-in holds, for every precompile function the real module
exports, a forwarder with the same name; py-evm's fork tables take the forwarders. The
first call of any forwarder loads the real module from its own file under its own name
(replacing the stand-in in `sys.modules` and on its parent package) and every forwarder
then calls the real function: same arguments, same result, same exceptions, same gas.
A process that imported `eth` before :func:`install` keeps the real modules (nothing to
defer any more), so the stand-ins never meet a half-loaded py-evm.

Only the names below are deferred; each must be a plain module or package of py-evm whose
listed functions are all its importers take from it (checked by the tests, which run a real
BLS12-381 and a real bn128 precompile through the in-process chain).
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

#: Deferred module -> the functions py-evm's other modules import from it.
DEFERRED: dict[str, tuple[str, ...]] = {
    "eth.precompiles.bls12_381": (
        "bls12_g1_add",
        "bls12_g1_msm",
        "bls12_map_fp_to_g1",
        "bls12_g2_add",
        "bls12_g2_msm",
        "bls12_map_fp2_to_g2",
        "bls12_pairing_check",
    ),
    "eth.precompiles.ecadd": ("ecadd",),
    "eth.precompiles.ecmul": ("ecmul",),
    "eth.precompiles.ecpairing": ("ecpairing",),
}

_loading = threading.Lock()


class DeferredModule(ModuleType):
    """A stand-in for one deferred module: forwarders now, the real module on first call."""

    def __init__(self, name: str, location: Path, functions: tuple[str, ...]) -> None:
        super().__init__(name, f"Stand-in for {name}, loaded on first use (see {__name__}).")
        self.__file__ = str(location)
        if location.name == "__init__.py":  # a package: its submodules stay importable
            self.__path__ = [str(location.parent)]
        self._location = location
        self._real: ModuleType | None = None
        for function in functions:
            setattr(self, function, self._forwarder(function))

    def _forwarder(self, function: str, **bound: Any) -> Callable[..., Any]:
        """`function` of the real module, with the keyword arguments `bound` so far.

        py-evm's bn128 precompiles are curried (toolz): Istanbul's table binds their gas
        costs at import time (`ecadd(gas_cost=150)`) and py-evm calls the result with the
        computation. A call with keywords alone is that binding: it returns another
        forwarder, without loading anything."""

        def forward(*args: Any, **kwargs: Any) -> Any:
            if not args:
                return self._forwarder(function, **bound, **kwargs)
            return getattr(self.real(), function)(*args, **bound, **kwargs)

        forward.__name__ = forward.__qualname__ = function
        forward.__module__ = self.__name__
        return forward

    def real(self) -> ModuleType:
        """The real module, loaded (once, whichever thread asks first) from its own file."""
        with _loading:
            if self._real is None:
                self._real = _load(self.__name__, self._location, self)
            return self._real


def _load(name: str, location: Path, stand_in: ModuleType) -> ModuleType:
    """Execute `location` as module `name`, in `sys.modules` and on its parent package as
    an ordinary import would leave it (where the parent's own code bound the name to
    something else, `eth.precompiles.ecadd` to the function, that stays)."""
    package = [str(location.parent)] if location.name == "__init__.py" else None
    spec = importlib.util.spec_from_file_location(
        name, location, submodule_search_locations=package
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    parent, _, child = name.rpartition(".")
    owner = sys.modules.get(parent)
    if owner is not None and getattr(owner, child, stand_in) is stand_in:
        setattr(owner, child, module)
    return module


def install() -> bool:
    """Defer the modules of :data:`DEFERRED`, if `eth` is not loaded yet (else nothing is
    left to defer); True when the stand-ins are in place."""
    if "eth" in sys.modules:
        return isinstance(sys.modules.get(next(iter(DEFERRED))), DeferredModule)
    spec = importlib.util.find_spec("eth")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return False
    root = Path(next(iter(spec.submodule_search_locations)))
    locations = {name: _location(root, name) for name in DEFERRED}
    if any(location is None for location in locations.values()):
        return False  # a py-evm laid out otherwise: leave it alone
    for name, functions in DEFERRED.items():
        location = locations[name]
        assert location is not None
        sys.modules[name] = DeferredModule(name, location, functions)
    return True


def _location(root: Path, name: str) -> Path | None:
    """The file that defines module `name` of the package at `root` (`eth`)."""
    relative = Path(*name.split(".")[1:])
    for candidate in (root / relative / "__init__.py", root / relative.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None
