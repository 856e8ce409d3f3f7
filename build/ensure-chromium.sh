#!/usr/bin/env bash
# Makes sure Debian's Chromium (/usr/bin/chromium) is installed: the browser the end-to-end test of the
# `npm start` demo (test/e2e/) drives through playwright-core. Playwright's own browser download does not
# work here (only Debian's and npm's registries are reachable), so the test uses the distribution's build.
# Idempotent and silent when Chromium is already there; needs root (or sudo) to install it.
set -euo pipefail

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"

if [[ -x "$CHROMIUM" ]]; then
    exit 0
fi

if [[ "$(id -u)" == 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "ensure-chromium: $CHROMIUM is missing and installing it needs root (apt-get install chromium)" >&2
    exit 1
fi

echo "ensure-chromium: installing Debian's chromium package" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null

[[ -x "$CHROMIUM" ]] || { echo "ensure-chromium: apt-get installed chromium but $CHROMIUM is missing" >&2; exit 1; }
echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")" >&2
