#!/usr/bin/env bash
# Node ↔ nginx (test/interop/*.test.ts): sessions minted by the Node package open in nginx and the other
# way round, under both engines, for cookie and redis storage; and the Node package's own connections to
# real stores: TLS to Redis, unix sockets (node-store-tls.test.ts, no nginx). Node runs on the host; nginx and
# redis-server run from the provisioned rootfs (nginx/in-rootfs.sh, started by the tests). All of them
# share one network namespace of their own with only a loopback interface, so the tests' fixed ports
# collide with no other run on the machine (as build/prove.sh's runs do). Needs root (namespaces,
# chroot) and the rootfs (nginx/provision.sh; NJS_SESSION_ROOTFS to use another one).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ "$(id -u)" == 0 ]] || { echo "interop.sh: must run as root (network namespace, chroot)" >&2; exit 1; }
node build/build.mjs >/dev/null
# By default: Node ↔ nginx; Node's own store connections (TLS, unix sockets) to the rootfs's stores; Node
# through a Sentinel failover and a Cluster slot migration (node-failover.test.ts).
(($#)) || set -- test/interop/node-nginx.test.ts test/interop/node-store-tls.test.ts test/interop/node-failover.test.ts
# One file at a time (the default on a 2-core machine, said here for every machine): the files start
# servers on fixed ports of one namespace. Within a file, a server is started only once the previous
# one has let go of its ports, and nginx is recognised by its own pid file (test/interop/rootfs-nginx.ts).
exec unshare --net -- bash -c 'ip link set lo up && exec node --import tsx --test --test-concurrency=1 --test-reporter=spec "$@"' sh "$@"
