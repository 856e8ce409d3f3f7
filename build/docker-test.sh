#!/usr/bin/env bash
# `npm test` step: build the top-level Dockerfile, whose last step (docker/self-check.sh) runs nginx -t,
# then nginx and a login flow against the image's example site, with cookie and Redis storage.
#
# No Docker engine and no registry here, so:
#   - podman builds it (`--isolation chroot --storage-driver vfs`, as root: RUN steps execute; `podman
#     run` does not work on this machine, hence the check inside the build);
#   - the base is not nginx:<tag> from Docker Hub but an image imported from the provisioned
#     Debian-testing root filesystem (nginx/provision.sh: nginx 1.30 + njs 1.0, Debian's paths, which
#     are the official image's), passed with --build-arg BASE_IMAGE. It also has redis-server, so the
#     self-check's Redis part runs here (it is skipped on the official image).
#
# podman's storage lives in .cache/docker/ (vfs copies every layer in full: ~450 MB for the base,
# kept between runs behind a stamp of the root filesystem's package lists; the built image is removed
# at the end). Installs podman with apt-get when missing; skips, saying why, where it cannot.
#
# Environment: NJS_SESSION_ROOTFS (the root filesystem, default .cache/rootfs).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO"
ROOTFS="${NJS_SESSION_ROOTFS:-$REPO/.cache/rootfs}"
STATE="$REPO/.cache/docker"
BASE=localhost/njs-session-test-base
IMAGE=localhost/njs-session-test:latest

skip() {
    printf 'docker-test: SKIPPED (the Dockerfile was not built): %s\n' "$*" >&2
    exit 0
}
die() {
    printf 'docker-test: ERROR: %s\n' "$*" >&2
    exit 1
}
podman_() { podman --root "$STATE/storage" --runroot "$STATE/run" --storage-driver vfs "$@"; }

# docs/docker.md shows the compose file, which nothing here can run: at least it shows the real one.
# Checked before anything can skip, so a machine without podman still catches the drift.
[[ "$(<docs/docker.md)" == *"$(<nginx/examples/docker-compose.yml)"* ]] ||
    die "docs/docker.md does not hold nginx/examples/docker-compose.yml verbatim"

[[ "$(id -u)" == 0 ]] || skip "needs root (podman build --isolation chroot)"
if ! command -v podman >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || skip "podman is not installed, and there is no apt-get to install it"
    echo "docker-test: installing podman (apt-get)" >&2
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman; } >&2 ||
        skip "podman is not installed and apt-get could not install it"
fi
[[ -f dist/session.js && -f dist/store-bridge.js ]] || die "no dist/session.js or dist/store-bridge.js: run node build/build.mjs first"
[[ -f "$ROOTFS/.njs-session/base.stamp" ]] || bash nginx/provision.sh

started=$SECONDS
mkdir -p "$STATE"

# The base: the root filesystem as an image, imported again only when its packages changed.
stamp=$(cat "$ROOTFS"/.njs-session/*.stamp | sha256sum | cut -c1-16)
if ! podman_ image exists "$BASE:$stamp"; then
    old=$(podman_ images --format '{{.Repository}}:{{.Tag}}' | grep -F "$BASE:" || true)
    [[ -z "$old" ]] || podman_ rmi -f $old >/dev/null
    echo "docker-test: importing $ROOTFS as $BASE:$stamp" >&2
    # Read only. /proc, /sys, /dev and /tmp are mount points (their contents belong to the running
    # system); /work holds the mount points of the work trees nginx/in-rootfs.sh binds in.
    tar -C "$ROOTFS" --one-file-system --exclude=./proc/'*' --exclude=./sys/'*' --exclude=./dev/'*' \
        --exclude=./tmp/'*' --exclude=./work --exclude=./.njs-session -cf - . |
        podman_ import --message "njs-session test base: $ROOTFS" - "$BASE:$stamp" >/dev/null
fi

log="$STATE/build.log"
status=0
podman_ build --isolation chroot --layers=false --build-arg BASE_IMAGE="$BASE:$stamp" \
    -t "$IMAGE" -f Dockerfile . >"$log" 2>&1 || status=$?
# The build's own lines (the self-check's ok/skip lines), not podman's copy progress.
grep -v -E '^(Copying (blob|config)|Writing manifest|Storing signatures|Getting image source)' "$log" || true
podman_ rmi -f "$IMAGE" >/dev/null 2>&1 || true
podman_ image prune -f >/dev/null 2>&1 || true
[[ $status == 0 ]] || die "podman build failed (exit $status); the log is $log"

# The Redis part must have run here: this base has redis-server.
grep -q '^self-check: [0-9]* checks passed$' "$log" || die "the self-check did not report its result"
grep -q '^skip - ' "$log" && die "the self-check skipped a part it must run on this base: $(grep '^skip - ' "$log")"
printf 'docker-test: the Dockerfile built and checked itself in %d s; podman storage: %s\n' \
    "$((SECONDS - started))" "$(du -sh "$STATE" | cut -f1)"
