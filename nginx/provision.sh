#!/usr/bin/env bash
# Provision the real nginx + njs that the integration tests (t/*.t) run against.
#
# Usage:
#   bash nginx/provision.sh [EXTRA_PACKAGE...]
#   bash nginx/provision.sh --base     # nginx + njs only (what `npm start` needs); no extras
#
# Two modes:
#
# 1. Default: a Debian *testing* root filesystem (Debian 12's own nginx/njs is
#    too old; testing has nginx 1.30.x with njs 1.0.x built with both the njs
#    and the QuickJS engine). It is built with debootstrap at
#    $NJS_SESSION_ROOTFS (default: <repo>/.cache/rootfs) and entered with
#    nginx/in-rootfs.sh. The build is cached:
#      - <rootfs>/.njs-session/base.stamp is written only after debootstrap
#        finished and nginx + the js module are in place. A rootfs directory
#        without it (interrupted debootstrap) or with a different suite/mirror/
#        base package set is wiped and rebuilt.
#      - <rootfs>/.njs-session/extra.stamp lists the extra packages installed
#        afterwards with apt-get inside the chroot. Asking for a package not in
#        it installs only the extras (no rebuild).
#      - debootstrap and apt-get write to a log beside the rootfs; every few
#        seconds a line says which step runs, for how long, and the log's last
#        line, so that a first run (minutes, mostly downloads) is never silent.
#
# 2. NGINX_BIN=/path/to/nginx (host binary): no rootfs at all. The script
#    checks that the binary runs njs >= $NJS_SESSION_MIN_NJS (0.9.9) and fails
#    loudly otherwise. How the njs version is detected: a throw-away nginx is
#    started from NGINX_BIN on 127.0.0.1 with a tiny js_content handler that
#    answers `njs.version` (and `njs.engine`); bash's /dev/tcp fetches it and
#    the nginx is stopped. This is the version the binary really runs with, not
#    a package's claim. The js module is loaded from $NGINX_MODULES_DIR (default:
#    --modules-path from `nginx -V`, else <nginx dir>/../modules) when
#    ngx_http_js_module.so is found there, else it is assumed to be built in.
#
# Environment:
#   NJS_SESSION_ROOTFS          where the rootfs lives (default <repo>/.cache/rootfs)
#   NJS_SESSION_EXTRA_PACKAGES  extra Debian packages for the rootfs (space or
#                               comma separated), e.g. "redis-server memcached";
#                               same effect as passing them as arguments
#   NJS_SESSION_SUITE           Debian suite (default: testing)
#   NJS_SESSION_MIRROR          Debian mirror (default: http://deb.debian.org/debian)
#   NJS_SESSION_STORES          0: no Redis/Valkey/memcached in the rootfs (default 1)
#   NGINX_BIN, NGINX_MODULES_DIR, NJS_SESSION_MIN_NJS   see mode 2 above
#
# Needs root (debootstrap, chroot, mount namespaces).
set -euo pipefail

# The repo is found from this script's own location so that a fresh clone at
# any path (CI) works; never hard-code a path.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
ROOTFS="${NJS_SESSION_ROOTFS:-$REPO/.cache/rootfs}"
SUITE="${NJS_SESSION_SUITE:-testing}"
MIRROR="${NJS_SESSION_MIRROR:-http://deb.debian.org/debian}"
MIN_NJS="${NJS_SESSION_MIN_NJS:-0.9.9}"

# Installed by debootstrap itself (its resolver copes with these).
BASE_PACKAGES="nginx,libnginx-mod-http-js,libnginx-mod-stream-js"
# Installed afterwards with apt-get in the chroot: debootstrap's resolver
# misses a virtual dependency of libtest-nginx-perl. psmisc gives `fuser`,
# which Test::Nginx uses to kill stale holders of its port. The stores the storage tests start
# themselves (t/lib/StoreServers.pm): Redis, its Sentinel, Valkey, memcached.
# NJS_SESSION_STORES=0 leaves the stores out (the njs floor rootfs runs no store test).
DEFAULT_EXTRA_PACKAGES="libtest-nginx-perl psmisc"
# Debian trixie has no libtest-nginx-perl (testing has): another suite takes that one package from
# testing, pinned so that nothing else comes from there (see configure_chroot_apt).
if [[ "$SUITE" != testing ]]; then
    DEFAULT_EXTRA_PACKAGES="libtest-nginx-perl/testing psmisc"
fi
if [[ "${NJS_SESSION_STORES:-1}" != 0 ]]; then
    DEFAULT_EXTRA_PACKAGES+=" redis-server redis-sentinel valkey-server memcached"
fi

BASE_ONLY=0
if [[ "${1:-}" == --base ]]; then
    BASE_ONLY=1
    shift
fi

log() { printf 'provision: %s\n' "$*" >&2; }
die() { printf 'provision: ERROR: %s\n' "$*" >&2; exit 1; }

version_ge() { # version_ge A B: true if version A >= B (sort -V: no dpkg needed)
    [[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" == "$2" ]]
}

# ---------------------------------------------------------------------------
# Mode 2: a host nginx given by NGINX_BIN
# ---------------------------------------------------------------------------
nginx_modules_dir() { # print the modules dir for NGINX_BIN (may not exist)
    local bin="$1" dir
    if [[ -n "${NGINX_MODULES_DIR:-}" ]]; then
        printf '%s\n' "$NGINX_MODULES_DIR"
        return
    fi
    dir="$("$bin" -V 2>&1 | grep -o -- '--modules-path=[^ ]*' | head -n1 | cut -d= -f2- || true)"
    if [[ -z "$dir" ]]; then
        dir="$(cd "$(dirname "$bin")/.." && pwd -P)/modules"
    fi
    printf '%s\n' "$dir"
}

# Start NGINX_BIN with a js_content handler on a free loopback port and print
# "<njs.version> <njs.engine>". Fails loudly if anything along the way fails.
probe_host_njs() {
    local bin="$1" moddir tmp port pid body="" load=""
    moddir="$(nginx_modules_dir "$bin")"
    if [[ -f "$moddir/ngx_http_js_module.so" ]]; then
        load="load_module $moddir/ngx_http_js_module.so;"
    fi
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/njs-probe.XXXXXX")"
    mkdir -p "$tmp/logs"
    cat >"$tmp/probe.js" <<'EOF'
function version(r) { r.return(200, njs.version + ' ' + (njs.engine || 'njs')); }
export default { version };
EOF
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        port=$(( 20000 + RANDOM % 20000 ))
        cat >"$tmp/nginx.conf" <<EOF
$load
daemon off;
master_process off;
error_log $tmp/logs/error.log info;
pid $tmp/logs/nginx.pid;
events { worker_connections 16; }
http {
    access_log off;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    js_import probe from $tmp/probe.js;
    server {
        listen 127.0.0.1:$port;
        location / { js_content probe.version; }
    }
}
EOF
        "$bin" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/logs/error.log" \
            >"$tmp/logs/stderr.log" 2>&1 &
        pid=$!
        # Wait up to ~5 s for the listener; stop early if nginx died.
        for _ in $(seq 50); do
            if ! kill -0 "$pid" 2>/dev/null; then break; fi
            if body="$( { exec 3<>"/dev/tcp/127.0.0.1/$port" &&
                          printf 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3 &&
                          cat <&3; } 2>/dev/null )"; then
                break
            fi
            sleep 0.1
        done
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        if [[ -n "$body" ]]; then break; fi
        if ! cat "$tmp/logs/"*.log 2>/dev/null | grep -q 'Address already in use'; then
            break  # a real failure, not a port clash: don't retry
        fi
    done
    if [[ "$body" != *$'\r\n\r\n'* || "$body" != "HTTP/1."?" 200"* ]]; then
        log "could not read njs.version from $bin; its error log:"
        cat "$tmp/logs/"*.log 2>/dev/null | sed 's/^/    /' >&2 || true
        if [[ -z "$load" ]]; then
            log "(no $moddir/ngx_http_js_module.so, so the js module was assumed to be" \
                "built in; set NGINX_MODULES_DIR if it is a dynamic module elsewhere)"
        fi
        rm -rf "$tmp"
        return 1
    fi
    rm -rf "$tmp"
    printf '%s\n' "${body#*$'\r\n\r\n'}"
}

if [[ -n "${NGINX_BIN:-}" ]]; then
    [[ -x "$NGINX_BIN" ]] || die "NGINX_BIN=$NGINX_BIN is not an executable file"
    "$NGINX_BIN" -v 2>&1 | grep -q 'nginx version' ||
        die "NGINX_BIN=$NGINX_BIN does not look like nginx (no 'nginx version' from -v)"
    log "NGINX_BIN is set: using the host nginx, no rootfs"
    "$NGINX_BIN" -v 2>&1
    probe="$(probe_host_njs "$NGINX_BIN")" ||
        die "cannot determine the njs version of NGINX_BIN=$NGINX_BIN (see above)"
    njs_version="${probe%% *}"
    [[ "$njs_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] ||
        die "unexpected njs version string from NGINX_BIN: '$probe'"
    echo "njs version: $njs_version (default engine: ${probe#* })"
    echo "modules dir: $(nginx_modules_dir "$NGINX_BIN")"
    version_ge "$njs_version" "$MIN_NJS" ||
        die "NGINX_BIN runs njs $njs_version, need >= $MIN_NJS (unset NGINX_BIN to use the rootfs)"
    exit 0
fi

# ---------------------------------------------------------------------------
# Mode 1: the Debian testing rootfs
# ---------------------------------------------------------------------------
[[ "$(id -u)" == 0 ]] || die "must run as root (debootstrap, chroot, mount namespaces)"

# Requested extra packages: defaults + env + args, sorted and de-duplicated.
# shellcheck disable=SC2086 # word splitting of the package lists is intended
EXTRA_PACKAGES="$(printf '%s\n' $DEFAULT_EXTRA_PACKAGES ${NJS_SESSION_EXTRA_PACKAGES:+${NJS_SESSION_EXTRA_PACKAGES//,/ }} "$@" |
                  sed '/^$/d' | LC_ALL=C sort -u)"

STAMP_DIR="$ROOTFS/.njs-session"
BASE_STAMP="$STAMP_DIR/base.stamp"
EXTRA_STAMP="$STAMP_DIR/extra.stamp"
BASE_WANT="suite=$SUITE
mirror=$MIRROR
packages=$BASE_PACKAGES"

mkdir -p "$(dirname "$ROOTFS")"
# One provisioner at a time per rootfs (e.g. two test runs started together).
exec 9>"$ROOTFS.lock"
flock 9

# True if anything is mounted at or below the rootfs in *this* mount namespace.
# in-rootfs.sh only mounts inside private namespaces, so this should never be
# the case; if it is, deleting the rootfs could walk into a bind mount of the
# repo itself, so refuse.
mounts_below_rootfs() {
    local real
    real="$(readlink -f "$ROOTFS")"
    awk -v p="$real" '$2 == p || index($2, p "/") == 1 { found = 1 } END { exit !found }' /proc/mounts
}

wipe_rootfs() {
    if mounts_below_rootfs; then
        die "something is mounted below $ROOTFS (see /proc/mounts); refusing to delete it"
    fi
    # --one-file-system: a second line of defence against crossing into a mount.
    rm -rf --one-file-system "$ROOTFS"
}

# Run a long command with its output in log $2, saying every HEARTBEAT seconds that it still runs
# and what it is at (the log's last line). Its exit status is the command's. Ctrl-C and SIGTERM
# stop it too: a background job starts with SIGINT ignored, which `env --default-signal` undoes, and
# the trap passes SIGTERM on (the job is not in the foreground, so only a group-wide signal would
# reach it otherwise).
HEARTBEAT="${NJS_SESSION_PROVISION_HEARTBEAT:-5}"
run_with_progress() {
    local label="$1" logfile="$2" pid rc=0 started=$SECONDS next=$((SECONDS + HEARTBEAT)) last
    shift 2
    env --default-signal=INT "$@" >"$logfile" 2>&1 9>&- &
    pid=$!
    # shellcheck disable=SC2064 # $pid is meant to be expanded now
    trap "kill -TERM $pid 2>/dev/null; exit 143" TERM
    # shellcheck disable=SC2064
    trap "kill -INT $pid 2>/dev/null; exit 130" INT
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        if (( SECONDS >= next )) && kill -0 "$pid" 2>/dev/null; then
            last="$(tail -n 1 "$logfile" 2>/dev/null | tr -d '\r' | cut -c1-100)"
            log "$label: $((SECONDS - started)) s${last:+ - $last}"
            next=$((SECONDS + HEARTBEAT))
        fi
    done
    wait "$pid" || rc=$?
    trap - TERM INT
    log "$label: done in $((SECONDS - started)) s (exit status $rc)"
    return "$rc"
}

ensure_debootstrap() {
    command -v debootstrap >/dev/null 2>&1 && return
    log "installing debootstrap on the host"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
}

# Settings that only make sense in this throw-away chroot.
configure_chroot_apt() {
    # Services must not start when packages are installed (no init here, and
    # redis/memcached would otherwise start outside any test's control).
    printf '#!/bin/sh\nexit 101\n' >"$ROOTFS/usr/sbin/policy-rc.d"
    chmod 755 "$ROOTFS/usr/sbin/policy-rc.d"
    # The mirror can serve a Release file whose Valid-Until lies in the past
    # (seen here: "Release file ... is expired"), which makes apt refuse it.
    echo 'Acquire::Check-Valid-Until "false";' >"$ROOTFS/etc/apt/apt.conf.d/99njs-session"
    # Keep the rootfs lean; recommends would pull in systemd, whose maintainer
    # scripts fail in a chroot.
    echo 'APT::Install-Recommends "false";' >>"$ROOTFS/etc/apt/apt.conf.d/99njs-session"
    # Name resolution for apt-get inside the chroot: the host's current one.
    cp -L /etc/resolv.conf "$ROOTFS/etc/resolv.conf" 2>/dev/null || true
    if [[ "$SUITE" != testing ]]; then
        # testing as a source for what this suite lacks (Test::Nginx), asked for by name only
        # (`pkg/testing`): priority 100 never upgrades anything of $SUITE on its own.
        echo "deb $MIRROR testing main" >"$ROOTFS/etc/apt/sources.list.d/njs-session-testing.list"
        printf 'Package: *\nPin: release a=testing\nPin-Priority: 100\n' \
            >"$ROOTFS/etc/apt/preferences.d/njs-session-testing"
    fi
}

build_base() {
    ensure_debootstrap
    log "building the $SUITE rootfs at $ROOTFS with debootstrap (downloads nginx, njs and a minimal Debian; a few minutes on a first run)"
    wipe_rootfs
    mkdir -p "$ROOTFS"
    local dblog="$ROOTFS.debootstrap.log" script=()
    # An older debootstrap may not know a newer suite name; every current
    # Debian suite bootstraps like sid.
    if [[ ! -e "/usr/share/debootstrap/scripts/$SUITE" ]]; then
        script=(/usr/share/debootstrap/scripts/sid)
    fi
    # debootstrap mounts /proc and /sys inside the target while it works; in
    # a private mount namespace those mounts cannot outlive an interrupted run.
    if ! run_with_progress debootstrap "$dblog" unshare --mount --propagation private -- \
            debootstrap --variant=minbase --include="$BASE_PACKAGES" \
            "$SUITE" "$ROOTFS" "$MIRROR" "${script[@]}"; then
        tail -n 30 "$dblog" >&2
        die "debootstrap failed (full log: $dblog)"
    fi
    [[ -x "$ROOTFS/usr/sbin/nginx" && -f "$ROOTFS/usr/lib/nginx/modules/ngx_http_js_module.so" ]] ||
        die "debootstrap finished but nginx or the js module is missing in $ROOTFS"
    rm -f "$dblog"
    rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb
    configure_chroot_apt
    mkdir -p "$STAMP_DIR"
    printf '%s\n' "$BASE_WANT" >"$BASE_STAMP"
    : >"$EXTRA_STAMP"
}

install_extras() {
    local missing
    missing="$(LC_ALL=C comm -23 <(printf '%s\n' "$EXTRA_PACKAGES") <(LC_ALL=C sort -u "$EXTRA_STAMP"))"
    [[ -z "$missing" ]] && return
    log "installing extra packages in the rootfs: $(tr '\n' ' ' <<<"$missing")"
    configure_chroot_apt
    # /proc (and the rest) comes from in-rootfs.sh, inside a private mount
    # namespace. `dpkg --configure -a` finishes an install that was interrupted.
    # shellcheck disable=SC2086
    if ! (cd "$REPO" && run_with_progress apt-get "$ROOTFS.apt.log" bash "$REPO/nginx/in-rootfs.sh" sh -ec '
            export DEBIAN_FRONTEND=noninteractive
            dpkg --configure -a
            apt-get update -q
            apt-get install -y -q --no-install-recommends "$@"
            apt-get clean' sh $EXTRA_PACKAGES); then
        tail -n 30 "$ROOTFS.apt.log" >&2
        die "apt-get install in the rootfs failed (full log: $ROOTFS.apt.log)"
    fi
    rm -f "$ROOTFS.apt.log"
    # Record the union: a package once installed stays installed.
    LC_ALL=C sort -u "$EXTRA_STAMP" <(printf '%s\n' "$EXTRA_PACKAGES") >"$EXTRA_STAMP.new"
    mv "$EXTRA_STAMP.new" "$EXTRA_STAMP"
}

if [[ -f "$BASE_STAMP" && "$(cat "$BASE_STAMP")" == "$BASE_WANT" ]]; then
    :
elif [[ -e "$ROOTFS" && ! -f "$BASE_STAMP" ]]; then
    log "found an unfinished rootfs (no $BASE_STAMP): rebuilding"
    build_base
elif [[ -e "$ROOTFS" && "$(sed -n 's/^suite=//p' "$BASE_STAMP")" != "$SUITE" ]]; then
    # Another suite's rootfs, usually one a different run uses (the floor's NJS_SESSION_SUITE=trixie
    # pointed at the testing rootfs, or the reverse): rebuilding it would pull it from under that run.
    die "$ROOTFS holds Debian $(sed -n 's/^suite=//p' "$BASE_STAMP"), not $SUITE: point NJS_SESSION_ROOTFS elsewhere (or remove it)"
elif [[ -e "$ROOTFS" ]]; then
    log "the base package set / mirror changed: rebuilding"
    build_base
else
    build_base
fi
[[ $BASE_ONLY == 1 ]] || install_extras

# Print what the tests will run with. (fd 9 = the lock: not for children.)
exec 9>&-
cd "$REPO"
bash "$REPO/nginx/in-rootfs.sh" sh -c '
    nginx -v 2>&1
    dpkg-query -W -f "njs (libnginx-mod-http-js): \${Version}\n" libnginx-mod-http-js
    dpkg-query -W -f "Test::Nginx (libtest-nginx-perl): \${Version}\n" libtest-nginx-perl 2>/dev/null ||
        echo "Test::Nginx: not installed (--base)"'
echo "rootfs: $ROOTFS"
