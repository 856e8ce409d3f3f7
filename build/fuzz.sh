#!/usr/bin/env bash
# `npm run fuzz`: hostile cookies and login verdicts against a real nginx, both engines
# (test/fuzz/run.ts; what it sends and what fails it is described there).
#
#   npm run fuzz                              the short run (also a step of `npm test`): 20000 requests
#                                             per engine, seed 1, about 20 s per engine
#   FUZZ_REQUESTS=1000000 npm run fuzz        the long run of test/fuzz/RESULTS.md
#   FUZZ_SEED=7 FUZZ_CASE=4711 FUZZ_ENGINES=qjs npm run fuzz
#                                             one case, requests and answers printed (a reproducer)
#
# nginx runs in the project's rootfs (nginx/provision.sh; NJS_SESSION_ROOTFS as for build/prove.sh) on
# the host's network, ports FUZZ_PORT_BASE (19170) to +8, and stops with this command.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO"

bash nginx/provision.sh
# npm test has just built it.
[[ -n "${FUZZ_NO_BUILD:-}" ]] || node build/build.mjs
exec node --import tsx test/fuzz/run.ts
