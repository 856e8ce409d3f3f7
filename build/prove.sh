#!/usr/bin/env bash
# Run the Test::Nginx integration tests (t/*.t) against a real nginx + njs,
# once per JavaScript engine of njs.
#
# Usage:
#   bash build/prove.sh                 # prove -r t, under js_engine njs, then qjs
#   bash build/prove.sh t/000-smoke.t   # only these files
#   bash build/prove.sh -v t/000-smoke.t   # arguments are passed to prove
#
# Environment:
#   NJS_SESSION_ENGINES  engines to run, space or comma separated (default "njs qjs")
#   NGINX_BIN            use this host nginx (njs >= 0.9.9, checked by
#                        nginx/provision.sh) instead of the rootfs; prove then
#                        runs on the host, which needs `prove` and Test::Nginx
#                        (Debian: apt-get install libtest-nginx-perl)
#   NGINX_MODULES_DIR    with NGINX_BIN: where ngx_http_js_module.so is
#                        (default: --modules-path of `$NGINX_BIN -V`)
#   TEST_NGINX_*         passed through to Test::Nginx (e.g. TEST_NGINX_PORT,
#                        TEST_NGINX_NO_CLEAN=1 to keep nginx running after a test)
#   NJS_SESSION_NETNS    1 (default): each engine's run gets its own
#                        loopback-only network namespace (see nginx/in-rootfs.sh),
#                        so concurrent runs never share port 1984; 0: host network.
#                        With NGINX_BIN the host network is used: concurrent runs
#                        then need different TEST_NGINX_PORT values.
#
# What the .t files can rely on:
#   TEST_NGINX_JS_ENGINE    njs | qjs, for `js_engine $TEST_NGINX_JS_ENGINE;`
#   TEST_NGINX_MODULES_DIR  for `load_module $TEST_NGINX_MODULES_DIR/ngx_http_js_module.so;`
#   TEST_NGINX_REPO_DIR     absolute repo root, e.g. for js_import/js_path
#   TEST_NGINX_BINARY       the nginx under test
#   TEST_NGINX_SERVROOT     <repo>/t/servroot-<engine>, so the two runs never
#                           share a server root
# Test::Nginx itself adds `user root;` to nginx.conf when run as root.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO"  # Test::Nginx and the t/ paths are relative to the repo root

die() { printf 'prove.sh: ERROR: %s\n' "$*" >&2; exit 1; }

engines="${NJS_SESSION_ENGINES:-njs qjs}"
engines="${engines//,/ }"
for engine in $engines; do
    [[ "$engine" == njs || "$engine" == qjs ]] ||
        die "NJS_SESSION_ENGINES: unknown engine '$engine' (expected njs and/or qjs)"
done
[[ -n "${engines// /}" ]] || die "NJS_SESSION_ENGINES is empty"

# prove's arguments: ours if any file/dir is given, else the whole t/ tree.
prove_args=(-r "$@")
have_target=0
for arg in "$@"; do
    [[ "$arg" == -* ]] || have_target=1
done
[[ $have_target == 1 ]] || prove_args+=(t)

# Provision (cached: a fraction of a second when nothing changed); prints the
# nginx and njs versions the tests run with.
bash "$REPO/nginx/provision.sh"

export TEST_NGINX_REPO_DIR="$REPO"
if [[ -n "${NGINX_BIN:-}" ]]; then
    command -v prove >/dev/null 2>&1 || die "prove not found on the host (apt-get install perl)"
    perl -MTest::Nginx::Socket -e 1 2>/dev/null ||
        die "Test::Nginx not found on the host: apt-get install libtest-nginx-perl (or unset NGINX_BIN to use the rootfs)"
    export TEST_NGINX_BINARY="$NGINX_BIN"
    if [[ -z "${NGINX_MODULES_DIR:-}" ]]; then
        NGINX_MODULES_DIR="$("$NGINX_BIN" -V 2>&1 | grep -o -- '--modules-path=[^ ]*' | head -n1 | cut -d= -f2- || true)"
        [[ -n "$NGINX_MODULES_DIR" ]] || NGINX_MODULES_DIR="$(cd "$(dirname "$NGINX_BIN")/.." && pwd -P)/modules"
    fi
    export TEST_NGINX_MODULES_DIR="$NGINX_MODULES_DIR"
    runner=()  # on the host
else
    # Paths inside the rootfs (Debian's layout).
    export TEST_NGINX_BINARY=/usr/sbin/nginx
    export TEST_NGINX_MODULES_DIR=/usr/lib/nginx/modules
    runner=(bash "$REPO/nginx/in-rootfs.sh")
    # A private loopback-only network per run: concurrent runs (another work
    # tree, another engineer) would otherwise fight over port 1984.
    export NJS_SESSION_NETNS="${NJS_SESSION_NETNS:-1}"
fi

# One run per work tree at a time: two runs would share t/servroot-<engine>
# and delete each other's server roots. (Other work trees are not affected.)
exec 8>"$REPO/t/servroot.lock"
if ! flock -n 8; then
    echo "prove.sh: another build/prove.sh is running in this work tree; waiting for it" >&2
    flock 8
fi

results=()
failed=0
for engine in $engines; do
    export TEST_NGINX_JS_ENGINE="$engine"
    export TEST_NGINX_SERVROOT="$REPO/t/servroot-$engine"
    printf '\n===== prove under js_engine %s (%s) =====\n' "$engine" "$TEST_NGINX_BINARY"
    if "${runner[@]}" prove "${prove_args[@]}" 8>&-; then  # the lock is not for children
        results+=("$engine: PASS")
    else
        results+=("$engine: FAIL")
        failed=1
    fi
done

# To stderr, so that prove's own "Result:" line stays the last line on stdout.
(IFS=','; printf '\n===== js engines: %s =====\n' "${results[*]}") >&2
exit "$failed"
