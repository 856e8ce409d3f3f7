# Helpers for the generated bench plan (.cache/bench/plan.sh), run inside the project's rootfs by
# nginx/in-rootfs.sh (own PID and network namespaces: every nginx started here dies with the run).
# Each helper does one thing; the plan is a straight list of calls, written by bench/run.ts.
set -euo pipefail

HZ="$(getconf CLK_TCK)"

log() { printf 'bench: %s\n' "$*" >&2; }

# start_nginx DIR PORT: start the instance whose nginx.conf is in DIR and wait until PORT answers.
start_nginx() {
    local dir="$1" port="$2" i
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
    for i in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    log "nginx in $dir does not answer on port $port"; cat "$dir/error.log" >&2; return 1
}

stop_nginx() {
    local dir="$1"
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -s quit 2>/dev/null || true
}

# worker_pid DIR: the pid of the (single) worker of the instance in DIR.
worker_pid() {
    local master p
    master="$(cat "$1/nginx.pid")"
    for p in /proc/[0-9]*; do
        if [[ -r "$p/stat" ]] && [[ "$(awk '{print $4}' "$p/stat" 2>/dev/null)" == "$master" ]]; then
            basename "$p"; return 0
        fi
    done
    return 1
}

# cpu_ticks PID: user + system clock ticks the process has used.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# rss_kb PID: resident set size in KiB.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# run_wrk OUT DIR URL DURATION [VAR=VALUE...]: one wrk run on core 1 against the instance in DIR,
# summary in OUT (JSON), plus the worker's CPU seconds used during the run in OUT.cpu.
run_wrk() {
    local out="$1" dir="$2" url="$3" duration="$4"; shift 4
    local pid before after
    pid="$(worker_pid "$dir")"
    before="$(cpu_ticks "$pid")"
    env BENCH_OUT="$out" "$@" taskset -c 1 wrk -t1 -c"$BENCH_CONNECTIONS" -d"$duration" --timeout 10s \
        -s "$BENCH_DIR/wrk/bench.lua" "$url" >"$out.log" 2>&1 || { cat "$out.log" >&2; return 1; }
    after="$(cpu_ticks "$pid")"
    awk -v a="$after" -v b="$before" -v hz="$HZ" 'BEGIN { printf "%.3f\n", (a - b) / hz }' >"$out.cpu"
}

# limited_wrk OUT LOG CONNECTIONS URL [VAR=VALUE...] (BENCH_LIMIT set): runs wrk until the script
# has seen BENCH_LIMIT responses, then stops it with SIGINT (wrk still writes its summary).
limited_wrk() {
    local out="$1" log="$2" connections="$3" url="$4"; shift 4
    rm -f "$out.done"
    env BENCH_OUT="$out" "$@" taskset -c 1 wrk -t1 -c"$connections" -d3600s --timeout 10s \
        -s "$BENCH_DIR/wrk/bench.lua" "$url" >"$log" 2>&1 &
    local wrk_pid=$!
    while [[ ! -e "$out.done" ]]; do
        kill -0 "$wrk_pid" 2>/dev/null || { cat "$log" >&2; log "wrk stopped early"; return 1; }
        sleep 0.1
    done
    kill -INT "$wrk_pid"
    wait "$wrk_pid" || true
    [[ -s "$out" ]] || { cat "$log" >&2; log "wrk wrote no summary"; return 1; }
}

# rss_after OUT DIR URL COUNT [VAR=VALUE...]: send COUNT requests, then record the worker's RSS (KiB).
rss_after() {
    local out="$1" dir="$2" url="$3" count="$4"; shift 4
    limited_wrk "$out" "$out.log" "$BENCH_CONNECTIONS" "$url" BENCH_LIMIT="$count" "$@"
    rss_kb "$(worker_pid "$dir")" >"$out.rss"
}

# collect_cookies FILE DIR URL COUNT [VAR=VALUE...]: log in COUNT times, keeping each new session's cookie.
collect_cookies() {
    local file="$1" dir="$2" url="$3" count="$4"; shift 4
    : >"$file"
    limited_wrk "$file.json" "$file.log" 8 "$url" BENCH_LIMIT="$count" BENCH_COLLECT="$file" "$@"
    local got
    got="$(grep -c . "$file" || true)"
    [[ "$got" -ge "$count" ]] || { log "collected $got cookies from $url, wanted $count"; return 1; }
}

# versions OUT: what ran, for the results.
versions() {
    {
        nginx -v 2>&1
        dpkg-query -W -f 'njs ${Version}\n' libnginx-mod-http-js
        { wrk --version 2>&1 || true; } | head -n1
        redis-server --version | cut -d' ' -f1-3
        memcached -V
    } >"$1"
}

# start_stores REDIS_PORT MEMCACHED_PORT: the network stores, on core 1 (with the upstream and wrk),
# without persistence; they die with the run's PID namespace.
start_stores() {
    local redis="$1" memcached="$2" i
    taskset -c 1 redis-server --port "$redis" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
        --logfile /tmp/bench-redis.log
    taskset -c 1 memcached -d -u root -l 127.0.0.1 -p "$memcached" -U 0 -m 256
    for i in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$redis") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$memcached") 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    log "the stores do not answer"; return 1
}
