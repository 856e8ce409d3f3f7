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
#   NJS_SESSION_FLOOR    1: run against the oldest njs we support instead: Debian trixie's nginx 1.26 +
#                        njs 0.8.9 (njs engine only; no QuickJS there), in its own rootfs
#                        (<repo>/.cache/rootfs-trixie, no stores), on the files listed in
#                        FLOOR_FILES below unless files are given. Blocks that need a newer njs
#                        are skipped by t/lib/NjsVersion.pm, each with a line naming what it needs.
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
#   TEST_NGINX_SERVROOT     <repo>/t/servroot-<engine> (-floor), so no two runs
#                           share a server root
#   TEST_NGINX_NJS_VERSION  the njs version of the nginx under test (t/lib/NjsVersion.pm)
# Test::Nginx itself adds `user root;` to nginx.conf when run as root.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO"  # Test::Nginx and the t/ paths are relative to the repo root

die() { printf 'prove.sh: ERROR: %s\n' "$*" >&2; exit 1; }

# The floor run: everything but the network stores (their bridge needs js_fetch_proxy, njs >= 0.9.4;
# README's compatibility matrix says so). Blocks inside these files that need more are skipped one by one.
FLOOR_FILES="t/000-smoke.t t/010-vectors.t t/020-lifecycle.t t/030-bad-input.t t/040-user-module.t
    t/050-access.t t/060-auth-request.t t/065-check-server.t t/070-login-logout.t t/080-isolation.t t/090-readme-examples.t
    t/100-shm-storage.t t/110-file-storage.t t/120-registry.t t/130-verified-cache.t t/135-known-answers.t t/210-njs-floor.t"
floor="${NJS_SESSION_FLOOR:-0}"
[[ "$floor" == 0 || "$floor" == 1 ]] || die "NJS_SESSION_FLOOR must be 0 or 1, not '$floor'"
if [[ $floor == 1 ]]; then
    [[ -z "${NGINX_BIN:-}" ]] || die "NJS_SESSION_FLOOR=1 runs its own rootfs: unset NGINX_BIN"
    [[ -z "${NJS_SESSION_ENGINES:-}" || "${NJS_SESSION_ENGINES}" == njs ]] ||
        die "NJS_SESSION_FLOOR=1: njs 0.8.9 has only the njs engine (NJS_SESSION_ENGINES=$NJS_SESSION_ENGINES)"
    NJS_SESSION_ENGINES=njs
    export NJS_SESSION_SUITE=trixie NJS_SESSION_STORES=0
    export NJS_SESSION_ROOTFS="${NJS_SESSION_ROOTFS:-$REPO/.cache/rootfs-trixie}"
fi

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
if [[ $have_target == 0 && $floor == 1 ]]; then
    # shellcheck disable=SC2206 # the list is words
    prove_args+=($FLOOR_FILES)
elif [[ $have_target == 0 ]]; then
    prove_args+=(t)
fi

# Provision (cached: a fraction of a second when nothing changed); prints the
# nginx and njs versions the tests run with.
provisioned="$(bash "$REPO/nginx/provision.sh")"
printf '%s\n' "$provisioned"

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
    TEST_NGINX_NJS_VERSION="$(sed -n 's/^njs version: \([0-9.]*\).*/\1/p' <<<"$provisioned")"
    runner=()  # on the host
else
    # Paths inside the rootfs (Debian's layout).
    export TEST_NGINX_BINARY=/usr/sbin/nginx
    export TEST_NGINX_MODULES_DIR=/usr/lib/nginx/modules
    runner=(bash "$REPO/nginx/in-rootfs.sh")
    # A private loopback-only network per run: concurrent runs (another work
    # tree, another engineer) would otherwise fight over port 1984.
    export NJS_SESSION_NETNS="${NJS_SESSION_NETNS:-1}"
    # The package version, e.g. "0.8.9-1" (provision.sh printed it).
    TEST_NGINX_NJS_VERSION="$(sed -n 's/^njs (libnginx-mod-http-js): \([0-9.]*\).*/\1/p' <<<"$provisioned")"
fi
[[ "$TEST_NGINX_NJS_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
    die "could not read the njs version from provision.sh's output (got '$TEST_NGINX_NJS_VERSION')"
export TEST_NGINX_NJS_VERSION

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
    [[ $floor == 0 ]] || TEST_NGINX_SERVROOT+="-floor"
    printf '\n===== prove under js_engine %s (%s, njs %s) =====\n' "$engine" "$TEST_NGINX_BINARY" "$TEST_NGINX_NJS_VERSION"
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
