#!/usr/bin/env bash
# `npm run bench`: installs what is missing, then runs bench/run.ts (see its header for the knobs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --no-audit --no-fund
fi
exec node --import tsx bench/run.ts
