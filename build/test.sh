#!/usr/bin/env bash
# `npm test`: everything, from a fresh clone, installing what is missing by itself.
#   1. npm dependencies (npm ci when node_modules is missing or older than package-lock.json)
#   2. build dist/session.js and dist/test-harness.js
#   3. type-check (Node side and njs side)
#   4. unit tests of the core on Node
#   5. every t/*.t in a real nginx + njs, once per engine (build/prove.sh provisions the rootfs), the
#      auth_request files again through the check server (TEST_NGINX_SESSION_MODE=check_server), then
#      with a front before it (known_front), and
#      the CLI against that nginx (test/cli/), and Node ↔ nginx: sessions of the Node package open in nginx and back (build/interop.sh)
#   6. the njs floor: the t/ files that apply under Debian trixie's nginx 1.26 + njs 0.8.9 (own rootfs),
#      and what `nginx -t` says on the host's older njs (build/below-floor.sh; skipped where it cannot run)
#   7. the short fuzz run (build/fuzz.sh): hostile cookies and login verdicts, both engines
#   8. the Dockerfile, built with podman from that rootfs (build/docker-test.sh)
#   9. the release package (build/test-package.sh)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n===== %s =====\n' "$*"; }

if [[ -L node_modules ]]; then
    # A work tree sharing another's node_modules: npm ci would empty the folder the link points to.
    echo "npm test: node_modules is a link; using it as it is (run npm ci where it points, if needed)" >&2
elif [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
    step "installing npm dependencies"
    npm ci --no-audit --no-fund
fi

step "build"
node build/build.mjs

step "type-check"
npx tsc --noEmit -p tsconfig.json
npx tsc --noEmit -p tsconfig.njs.json

step "unit tests (Node)"
# The spec reporter's closing "# pass N / # fail N" counts every test that ran; a failure stops here,
# saying so, instead of skipping the nginx and browser tests without a word.
if ! node --import tsx --test --test-reporter=spec test/unit/*.test.ts; then
    printf '\nnpm test: unit tests failed (see "# fail" above); the nginx and browser tests were not run\n' >&2
    exit 1
fi

step "integration tests (nginx, both engines)"
bash build/prove.sh

step "the check server: t/060 and the files that hold in every mode, through it (both engines)"
TEST_NGINX_SESSION_MODE=check_server bash build/prove.sh t/060-auth-request.t t/070-login-logout.t \
    t/100-shm-storage.t t/110-file-storage.t t/120-registry.t t/130-verified-cache.t t/135-known-answers.t

step "the check server with a front: the same files, js_access session.accessKnown before each auth_request (both engines)"
TEST_NGINX_SESSION_MODE=known_front bash build/prove.sh t/060-auth-request.t t/070-login-logout.t \
    t/100-shm-storage.t t/110-file-storage.t t/120-registry.t t/130-verified-cache.t t/135-known-answers.t

step "the CLI against nginx (both engines): minted cookies, inspect, the admin API client"
node --import tsx --test --test-reporter=spec test/cli/*.test.ts

step "Node ↔ nginx: the same sessions both ways, both engines, every shared storage"
bash build/interop.sh

step "integration tests on the njs floor (Debian trixie: nginx 1.26 + njs 0.8.9, njs engine)"
NJS_SESSION_FLOOR=1 bash build/prove.sh

step "below the floor: nginx -t on the host's Debian nginx + njs"
bash build/below-floor.sh

step "fuzz: hostile cookies and login verdicts (short run, both engines)"
FUZZ_NO_BUILD=1 bash build/fuzz.sh

step "Docker image: the Dockerfile built with podman, checking itself"
bash build/docker-test.sh

step "the release package: npm pack, installed offline, loaded in nginx; npm run release"
bash build/test-package.sh

step "end to end: the npm start demo in Chromium"
bash build/ensure-chromium.sh
node --import tsx --test --test-reporter=spec test/e2e/*.test.ts
