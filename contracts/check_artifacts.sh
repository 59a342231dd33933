#!/usr/bin/env bash
# Fails if contracts/build/*.json differ from a fresh compile of contracts/src (CI runs this).
# Installs the pinned solc-js from package-lock.json first if node_modules is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if [ ! -f node_modules/solc/package.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node compile.js --check
