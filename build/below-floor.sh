#!/usr/bin/env bash
# What an nginx whose njs is below the floor says at `nginx -t`: the host's own Debian nginx +
# libnginx-mod-http-js (Debian 12: nginx 1.22, njs 0.7.9), installed here if missing.
#
# njs that old cannot compile session.js, and nginx only compiles modules at `nginx -t` (no
# JavaScript runs then, so src/nginx/floor.ts cannot speak): what the user sees is nginx's own first
# error. This checks that it is the one line we arranged, pointing at a line that names the floor:
#   1. with njs-session.conf (the documented set-up): 'unknown directive "js_shared_dict_zone" in
#      .../njs-session.conf:N', line N-1 saying "njs-session needs njs >= <floor>";
#   2. importing dist/session.js alone (the API without the snippets): 'Cannot find module "zlib" in
#      .../session.js:N' with N among the built-in imports that head the bundle, under the floor line.
#
# Skipped, saying why, when the host is not Debian/Ubuntu with apt, the packages cannot be installed,
# or the host's njs is not below the floor. Installing never starts or enables the host's nginx
# service (a policy-rc.d denies the start while apt runs; systemd's unit is disabled afterwards).
# Nothing listens: only `nginx -t` runs. Needs root to install.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
FLOOR="$(sed -n 's/^export const NJS_FLOOR = "\([0-9.]*\)";/\1/p' "$REPO/src/nginx/floor.ts")"
[[ -n "$FLOOR" ]] || { echo "below-floor: ERROR: no NJS_FLOOR in src/nginx/floor.ts" >&2; exit 1; }

skip() { printf 'below-floor: SKIPPED: %s\n' "$*"; exit 0; }
fail() { printf 'below-floor: FAIL: %s\n' "$*" >&2; failed=1; }
version_ge() { [[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" == "$2" ]]; }

command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1 ||
    skip "no apt-get/dpkg here (this check uses the distribution's nginx + njs packages)"

if ! dpkg-query -W -f '${Status}' nginx libnginx-mod-http-js 2>/dev/null | grep -q 'install ok installed.*install ok installed'; then
    [[ "$(id -u)" == 0 ]] || skip "nginx + libnginx-mod-http-js are not installed and installing them needs root"
    echo "below-floor: installing the host's nginx + libnginx-mod-http-js (not started, not enabled)"
    made_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    rc=0
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        nginx libnginx-mod-http-js; } >/tmp/below-floor-apt.log 2>&1 || rc=$?
    [[ $made_policy == 0 ]] || rm -f /usr/sbin/policy-rc.d
    if command -v systemctl >/dev/null 2>&1; then
        systemctl disable --now nginx >/dev/null 2>&1 || true
    fi
    [[ $rc == 0 ]] || skip "apt-get install nginx libnginx-mod-http-js failed (log: /tmp/below-floor-apt.log)"
fi

NJS="$(dpkg-query -W -f '${Version}' libnginx-mod-http-js | sed 's/^\([0-9]*\.[0-9]*\.[0-9]*\).*/\1/')"
NGINX=/usr/sbin/nginx
if version_ge "$NJS" "$FLOOR"; then
    skip "the host's njs $NJS is not below the floor $FLOOR: nothing to check here"
fi
echo "below-floor: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //') with njs $NJS (floor $FLOOR)"

[[ -f "$REPO/dist/session.js" ]] || { echo "below-floor: ERROR: build first (node build/build.mjs)" >&2; exit 1; }
tmp="$(mktemp -d "${TMPDIR:-/tmp}/njs-below-floor.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
failed=0

# nginx -t of an http{} body with one server (nginx compiles the js modules only for a server that
# can use them); prints its stderr. -t opens no listening socket.
nginx_t() {
    cat >"$tmp/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_http_js_module.so;
events {}
http {
$1
    server { listen 127.0.0.1:19290; location / { return 204; } }
}
EOF
    "$NGINX" -t -q -p "$tmp/" -c "$tmp/nginx.conf" -e "$tmp/error.log" -g "pid $tmp/nginx.pid;" 2>&1 &&
        echo "(nginx -t passed)"
    return 0
}

# 1. The documented set-up.
out="$(nginx_t "    js_path $REPO/dist/;
    include $REPO/nginx/njs-session.conf;")"
pattern="^nginx: \[emerg\] unknown directive \"js_shared_dict_zone\" in $REPO/nginx/njs-session.conf:([0-9]+)$"
first="$(grep -m1 '\[emerg\]' <<<"$out" || true)"
if [[ "$first" =~ $pattern ]]; then
    line="${BASH_REMATCH[1]}"
    above="$(sed -n "$((line - 1))p" "$REPO/nginx/njs-session.conf")"
    [[ "$above" == *"njs-session needs njs >= $FLOOR"* ]] ||
        fail "njs-session.conf:$((line - 1)), above the line nginx -t names, does not say 'njs-session needs njs >= $FLOOR': $above"
    echo "below-floor: ok - with njs-session.conf: $first"
    echo "below-floor:      njs-session.conf:$((line - 1)): $above"
else
    fail "with njs-session.conf, expected '$pattern' first; nginx -t said:
$out"
fi

# 2. The module alone.
out="$(nginx_t "    js_import session from $REPO/dist/session.js;")"
pattern="^nginx: \[emerg\] SyntaxError: Cannot find module \"zlib\" in $REPO/dist/session.js:([0-9]+)$"
first="$(grep -m1 '\[emerg\]' <<<"$out" || true)"
if [[ "$first" =~ $pattern ]]; then
    line="${BASH_REMATCH[1]}"
    header="$(sed -n '2p' "$REPO/dist/session.js")"
    imports_end="$(awk 'NR > 2 && !/^import /{ print NR - 1; exit }' "$REPO/dist/session.js")"
    [[ "$header" == *"njs-session needs njs >= $FLOOR"* ]] ||
        fail "dist/session.js line 2 does not say 'njs-session needs njs >= $FLOOR': $header"
    (( line > 2 && line <= imports_end )) ||
        fail "session.js:$line is not among the built-in imports heading the bundle (lines 3-$imports_end)"
    echo "below-floor: ok - session.js alone: $first"
    echo "below-floor:      session.js:2: $header"
else
    fail "session.js alone: expected '$pattern' first; nginx -t said:
$out"
fi

[[ $failed == 0 ]] || exit 1
echo "below-floor: PASS (njs $NJS, floor $FLOOR)"
