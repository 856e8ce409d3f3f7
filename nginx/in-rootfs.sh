#!/usr/bin/env bash
# Run a command inside the provisioned Debian testing rootfs (nginx/provision.sh).
#
# Usage:
#   bash nginx/in-rootfs.sh CMD [ARG...]
#   e.g.  bash nginx/in-rootfs.sh nginx -V
#         bash nginx/in-rootfs.sh prove -r t
#
# Inside the chroot:
#   - the repo is bind-mounted at the same absolute path as on the host, so
#     paths (t/*.t, dist/, servroot) mean the same thing on both sides;
#   - <repo>/../shared (read-only test vectors) likewise, read-only, if present;
#   - /proc (fresh, of a new PID namespace), /dev, and a fresh tmpfs on /tmp;
#   - the working directory is the caller's (same path) when it lies in the
#     repo or shared/; otherwise the repo root, with a warning;
#   - the environment is clean except PATH/HOME/LANG/TERM and every variable
#     named TEST_NGINX_* or NJS_SESSION_*;
#   - with NJS_SESSION_NETNS=1: a network namespace of its own with only a
#     loopback interface (127.0.0.1, ::1) and no outside network. build/prove.sh
#     sets it, so that test runs started at the same time (two work trees,
#     two engineers) each have their own port 1984 instead of colliding, and
#     Test::Nginx's "kill whoever holds my port" (fuser) never hits another
#     run. Default: the host's network (apt-get in provisioning needs it).
# The exit status is CMD's.
#
# Why the namespaces: the rootfs lives inside the repo (.cache/rootfs) and the
# repo is bind-mounted into it. A bind mount that outlived the command would
# make `rm -rf .cache` walk into the repo and delete it. So every mount is made
# in a private mount namespace (unshare --mount --propagation private): nothing
# is ever visible in the host's mount table and everything vanishes with the
# namespace. A PID namespace (--pid --fork --kill-child) makes sure that the
# namespace does die: when CMD exits, every process it left behind (a stray
# nginx, a redis-server started by a test) is killed with it, and Ctrl-C on the
# caller kills CMD too.
set -euo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")"
REPO="$(cd "$(dirname "$SELF")/.." && pwd -P)"
ROOTFS="${NJS_SESSION_ROOTFS:-$REPO/.cache/rootfs}"
SHARED="$(dirname "$REPO")/shared"

die() { printf 'in-rootfs: ERROR: %s\n' "$*" >&2; exit 125; }

# Bind-mount host directory $1 at the same path inside the rootfs.
bind_same_path() {
    local src="$1" dst="$ROOTFS$1"
    mkdir -p "$dst"
    # An absolute symlink inside the rootfs on the way to $dst would send the
    # mount to the host's tree instead; make sure $dst really is inside.
    [[ "$(readlink -f "$dst")" == "$(readlink -f "$ROOTFS")$src" ]] ||
        die "$dst resolves outside the rootfs; cannot mount $src there"
    mount --bind "$src" "$dst"
}

# Wait for child $1 and exit with its status, passing SIGTERM/SIGINT/SIGHUP
# on to the process that function $2 prints (given the child's pid).
wait_forwarding() {
    local child="$1" target="$2" rc
    trap 'kill -TERM "$($target "$child")" 2>/dev/null || true' TERM
    trap 'kill -HUP "$($target "$child")" 2>/dev/null || true' HUP
    trap 'kill -INT "$($target "$child")" 2>/dev/null || true' INT
    while :; do
        rc=0
        wait "$child" || rc=$?
        # A trapped signal interrupts `wait` (status > 128): wait again while
        # the child still runs.
        if [[ $rc -gt 128 ]] && kill -0 "$child" 2>/dev/null; then
            continue
        fi
        exit "$rc"
    done
}
itself() { echo "$1"; }
its_child() { pgrep -P "$1" | head -n1; }

if [[ "${1:-}" == "--inside-namespace" ]]; then
    # Stage 2: we are PID 1 of new PID + mount namespaces whose mounts are
    # private. Nothing mounted here is seen by, or outlives, anything outside.
    shift
    cwd="$1"
    shift
    if [[ "${NJS_SESSION_NETNS:-0}" == 1 ]]; then
        # The host's `ip`: stage 2 still sees the host's filesystem.
        command -v ip >/dev/null 2>&1 || die "NJS_SESSION_NETNS=1 needs ip on the host (apt-get install iproute2)"
        ip link set lo up
    fi
    mount -t proc proc "$ROOTFS/proc"
    mount --rbind /dev "$ROOTFS/dev"
    mount -t tmpfs -o mode=1777 tmpfs "$ROOTFS/tmp"
    bind_same_path "$REPO"
    if [[ -d "$SHARED" ]]; then
        bind_same_path "$SHARED"
        mount -o remount,bind,ro "$ROOTFS$SHARED"
    fi
    # Only the repo and shared/ are the same directories on both sides; any
    # other path would name the rootfs's own (different) directory.
    case "$cwd/" in
        "$REPO/"* | "$SHARED/"*) ;;
        *)  printf 'in-rootfs: warning: %s is outside the repo; running in %s\n' \
                "$cwd" "$REPO" >&2
            cwd="$REPO" ;;
    esac
    envs=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
          HOME=/root LANG=C.UTF-8 "TERM=${TERM:-dumb}")
    while IFS= read -r name; do
        envs+=("$name=${!name}")
    done < <(compgen -e | grep -E '^(TEST_NGINX_|NJS_SESSION_)' || true)
    # This bash stays as PID 1 instead of exec'ing CMD: the kernel drops
    # signals without a handler that are sent to a namespace's PID 1, so CMD
    # itself would ignore SIGTERM/SIGINT/SIGHUP. We forward them.
    # CMD runs as a background job, which bash starts with SIGINT/SIGQUIT
    # ignored and stdin on /dev/null: `env --default-signal` and `<&0` undo
    # that, so Ctrl-C and the caller's stdin reach CMD as usual.
    # shellcheck disable=SC2016 # $1 is expanded by the inner sh
    chroot "$ROOTFS" /usr/bin/env --default-signal=INT,QUIT -i "${envs[@]}" \
        /bin/sh -c 'cd "$1" || exit 125; shift; exec "$@"' sh "$cwd" "$@" <&0 &
    wait_forwarding "$!" itself
fi

# Stage 1: checks on the host side, then re-run this script in the namespaces.
[[ $# -gt 0 ]] || die "usage: $0 CMD [ARG...]"
[[ "$(id -u)" == 0 ]] || die "must run as root (chroot, mount namespaces)"
[[ -f "$ROOTFS/.njs-session/base.stamp" ]] ||
    die "no provisioned rootfs at $ROOTFS: run 'bash nginx/provision.sh' first"

# Not exec'd: unshare blocks SIGTERM/SIGINT while it waits, so this shell
# stays to pass SIGTERM/SIGINT/SIGHUP on to the namespace's PID 1 (stage 2),
# which passes them on to CMD. If this shell is SIGKILLed, unshare lives on and
# still ends with CMD; if unshare is SIGKILLed, --kill-child kills the
# namespace's PID 1 and with it every process in the namespace.
netns=()
[[ "${NJS_SESSION_NETNS:-0}" == 1 ]] && netns=(--net)
unshare --mount --propagation private --pid --fork --kill-child "${netns[@]}" -- \
    bash "$SELF" --inside-namespace "$(pwd -P)" "$@" <&0 &
wait_forwarding "$!" its_child
