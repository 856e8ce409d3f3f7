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

# check_wrk OUT DIR URL STATUS COOKIE [VAR=VALUE...]: one second of wrk that also warms the instance
# up, failing the run unless every response had STATUS and set a cookie or not (COOKIE: yes/no).
# A benchmark of 401s, or of a check that re-issues a cookie on every request, measures something else.
check_wrk() {
    local out="$1" dir="$2" url="$3" status="$4" cookie="$5"; shift 5
    run_wrk "$out" "$dir" "$url" 1s BENCH_EXPECT_STATUS="$status" BENCH_EXPECT_COOKIE="$cookie" "$@"
    local checked wrong first_status first_cookie
    read -r checked wrong first_status first_cookie <"$out.check"
    if [[ "$checked" -lt 10 || "$wrong" -ne 0 ]]; then
        log "CHECK FAILED: $url ($dir): $wrong of $checked responses were not $status with cookie=$cookie" \
            "(first: status $first_status, cookie=$first_cookie); the instance's error log ends with:"
        tail -n 20 "$dir/error.log" >&2
        return 1
    fi
    log "checked $url: $checked responses, all $status, cookie=$cookie"
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

# collect_cookies FILE DIR URL COUNT [VAR=VALUE...]: log in COUNT times, keeping each new session's cookie
# (over COLLECT_CONNECTIONS connections, 8).
collect_cookies() {
    local file="$1" dir="$2" url="$3" count="$4"; shift 4
    : >"$file"
    limited_wrk "$file.json" "$file.log" "${COLLECT_CONNECTIONS:-8}" "$url" BENCH_LIMIT="$count" BENCH_COLLECT="$file" "$@"
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
        if [[ -n "${BENCH_PEER:-}" ]]; then
            dpkg-query -W -f 'lua-nginx-module ${Version}\n' libnginx-mod-http-lua
            echo "$BENCH_PEER"
        fi
        if [[ "${BENCH_INSTRUCTIONS:-0}" == 1 ]]; then valgrind --version; fi
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

# store_record REDIS_PORT KEY SIZE: a record of SIZE bytes under KEY (the store floor's GET reads it).
store_record() {
    redis-cli -p "$1" SET "$2" "$(printf '%0*d' "$3" 0)" >/dev/null
}

# runtimes_made CALLGRIND_OUT: the calls of JS_NewRuntime it counted (a QuickJS context made: ~18M
# instructions; a pair whose runs made different numbers has them in its per-request figures). Names
# are compressed: "(id) name" at an id's first use, "(id)" after.
runtimes_made() {
    awk '/^c?fn=\([0-9]+\) JS_NewRuntime$/ { id = substr($1, index($1, "(")) }
        /^cfn=/ { pending = id != "" && substr($1, 5) == id; next }
        /^calls=/ { if (pending) { split($1, call, "="); made += call[2] } pending = 0; next }
        { pending = 0 }
        END { print made + 0 }' "$1"
}

# wait_closed PORT: until nginx has closed every client connection it accepted on PORT (none left
# ESTABLISHED or CLOSE_WAIT there), so the requests on them have ended.
wait_closed() {
    local port i
    port="$(printf ':%04X' "$1")"
    for i in $(seq 1 600); do
        awk -v port="$port" 'substr($2, length($2) - 4) == port && ($4 == "01" || $4 == "08") { open = 1 } END { exit !open }' \
            /proc/net/tcp || return 0
        sleep 0.1
    done
    log "nginx still holds connections on port $1 after 60 s"; return 1
}

# held_burst PID PORT CONNECTIONS URL UPSTREAM_DIR [VAR=VALUE...]: CONNECTIONS requests in flight at
# once in the nginx PID (under valgrind), each holding the QuickJS context it runs on: what they wait
# for (the upstream instance's worker, redis-server, memcached) is stopped until PID has been idle
# for two seconds, that is until every request has run its JavaScript and waits. So the location
# has CONNECTIONS contexts made before anything is measured, and the measured runs, never more than
# CONNECTIONS in flight, make none: both runs of a pair then hold the same work.
# A scenario whose requests wait for none of them (a check answered in its handler) gets its
# CONNECTIONS answers at once and needs no more contexts than its requests overlap by.
held_burst() {
    local pid="$1" port="$2" connections="$3" url="$4" upstream="$5"; shift 5
    local held=() p wrk_pid ticks last="" idle=0 i out
    out="$(mktemp)"
    p="$(worker_pid "$upstream")" && held+=("$p")
    for p in $(pgrep -x redis-server) $(pgrep -x memcached); do held+=("$p"); done
    [[ ${#held[@]} -gt 0 ]] && kill -STOP "${held[@]}"
    env BENCH_OUT="$out" BENCH_LIMIT="$connections" "$@" taskset -c 1 wrk -t1 -c"$connections" -d3600s \
        --timeout 600s -s "$BENCH_DIR/wrk/bench.lua" "$url" >/dev/null 2>&1 &
    wrk_pid=$!
    for i in $(seq 1 2400); do
        sleep 0.5
        [[ -e "$out.done" ]] && break
        ticks="$(cpu_ticks "$pid")"
        if [[ "$ticks" == "$last" ]]; then idle=$((idle + 1)); else idle=0; fi
        last="$ticks"
        [[ "$idle" -ge 4 ]] && break
    done
    [[ ${#held[@]} -gt 0 ]] && kill -CONT "${held[@]}"
    kill -INT "$wrk_pid" 2>/dev/null || true
    wait "$wrk_pid" || true
    rm -f "$out" "$out.done" "$out.check"
    wait_closed "$port"
}

# callgrind_requests OUT DIR PORT COUNT URL [VAR=VALUE...]: the instance in DIR, as one process
# (DIR/nginx-cg.conf: master_process off, daemon off) under callgrind, serves COUNT requests on one
# connection; OUT gets the instructions it executed in all (start-up and exit included: the caller
# subtracts two such runs). With CG_PRELUDE=URL, CG_PRELUDE_COUNT logins there first fill
# CG_PRELUDE_POOL (a store's sessions live in this process's zone, or must be made by it).
# Under concurrency (the cache runs of BENCH_CACHE=1): CG_CONNECTIONS (1) connections; CG_WARMUP=N
# sends N of the same requests over as many connections first, so that both runs of a pair start with
# the QuickJS contexts they will run on already made (nginx keeps them per location: only the same
# location's requests make them); CG_HOLD=UPSTREAM_DIR, before that burst, makes exactly
# CG_CONNECTIONS of them (held_burst); CG_CACHE=1 simulates the caches with a 2 MB last level (the VM
# reports a shared L3 far larger than one core's share) and writes callgrind's event names and totals
# to OUT.events, and to OUT.runtimes how many QuickJS runtimes the run made (runtimes_made).
callgrind_requests() {
    local out="$1" dir="$2" port="$3" count="$4" url="$5"; shift 5
    local connections="${CG_CONNECTIONS:-1}" cache=()
    if [[ "${CG_CACHE:-0}" == 1 ]]; then cache=(--cache-sim=yes --LL=2097152,16,64); fi
    rm -f "$out" "$out.cg" "$out.events"
    taskset -c 0 valgrind --tool=callgrind "${cache[@]}" --callgrind-out-file="$out.cg" \
        nginx -p "$dir" -c "$dir/nginx-cg.conf" -e "$dir/error.log" 2>"$out.valgrind" &
    local nginx_pid=$! i
    for i in $(seq 1 1200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
        kill -0 "$nginx_pid" 2>/dev/null || { cat "$out.valgrind" "$dir/error.log" >&2; log "nginx under callgrind died"; return 1; }
        sleep 0.1
    done
    if [[ -n "${CG_PRELUDE:-}" ]]; then
        # One connection: the logins beyond the count that were in flight are the same in both runs.
        COLLECT_CONNECTIONS=1 collect_cookies "$CG_PRELUDE_POOL" "$dir" "$CG_PRELUDE" "$CG_PRELUDE_COUNT" BENCH_METHOD=POST BENCH_BODY="$CG_PRELUDE_BODY"
        head -n1 "$CG_PRELUDE_POOL" >"${CG_PRELUDE_POOL%-pool.txt}-warm.txt"
    fi
    if [[ -n "${CG_HOLD:-}" ]]; then
        held_burst "$nginx_pid" "$port" "$connections" "$url" "$CG_HOLD" "$@"
    fi
    if [[ -n "${CG_WARMUP:-}" ]]; then
        limited_wrk "$out.warmup" "$out.warmup.log" "$connections" "$url" BENCH_LIMIT="$CG_WARMUP" "$@"
        # The requests the stopped wrk left in flight still hold their contexts: measured requests
        # arriving before those end would make contexts of their own.
        wait_closed "$port"
    fi
    limited_wrk "$out.wrk" "$out.wrk.log" "$connections" "$url" BENCH_LIMIT="$count" "$@"
    # Under valgrind a signal can land just before nginx blocks in epoll_wait, which then sleeps on
    # (seen: one QUIT of two lost): ask again until it has gone.
    for i in $(seq 1 600); do
        kill -QUIT "$nginx_pid" 2>/dev/null || break
        sleep 0.5
        kill -0 "$nginx_pid" 2>/dev/null || break
    done
    wait "$nginx_pid" || true
    # callgrind's summary line: "summary: N" (older) or "totals: N".
    awk '/^(summary|totals):/ { print $2; exit }' "$out.cg" >"$out"
    [[ -s "$out" ]] || { cat "$out.valgrind" >&2; log "no callgrind totals in $out.cg"; return 1; }
    if [[ "${CG_CACHE:-0}" == 1 ]]; then
        awk '/^events:/ { print } /^(summary|totals):/ && !done { print; done = 1 }' "$out.cg" >"$out.events"
        runtimes_made "$out.cg" >"$out.runtimes"
    fi
    rm -f "$out.cg"
}
