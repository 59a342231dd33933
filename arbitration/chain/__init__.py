"""Layer 1, chain backends: one `Chain` surface (`base`) over py-evm in process (`in_process`)
and any JSON-RPC node (`rpc`, with `anvil` to start one), plus what they share: the committed
contract artifacts (`artifacts`) and revert decoding (`errors`); `connect` picks a backend.

Importing this package is free: py-evm and web3 load only with the modules that use them, so
commands that never touch a chain start fast.
"""

import os

# py-evm, web3 and eth-tester hash through eth-hash, whose automatic choice prefers the
# pycryptodome backend; the pysha3 one (safe-pysha3, a dependency) is ~4x faster per hash and
# makes each in-process transaction ~8% cheaper (5.9 -> 5.45 ms median, measured on game
# moves). eth-hash picks its backend at the first hash, so this must precede any: every chain
# module is imported through this package, which runs first. An explicit ETH_HASH_BACKEND is
# left alone.
os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")

# py-evm's BLS12-381 and bn128 precompiles load their curve tables at import time (~0.25 s,
# half of loading py-evm), for precompiles our contracts never call: they load on first call
# instead. Like the hash backend, this must precede the first `import eth`.
from arbitration.chain.deferred_precompiles import install as _defer_precompiles

_defer_precompiles()
