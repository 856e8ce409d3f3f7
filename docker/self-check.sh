#!/bin/bash
# The njs-session image checks itself while it is built (the Dockerfile's last RUN step), on the base
# it was built from: the entrypoint's refusals, `nginx -t` of the configuration for cookie and Redis
# storage, then a real nginx and a browser's flow against the ready example, the built-in demo app:
# no session -> 302 to the login form; a wrong password; the right one -> a session cookie; the
# protected page with it; a tampered cookie refused; logout. nginx is started again with the same
# secret from a file (the cookie still opens) and with another one (it does not). Where redis-server
# exists (the test build of `npm test`, not the official image), the same login runs with sessions in
# Redis, and a stopped Redis fails requests closed.
#
# A build shares the host's network (and its process table), so ports are picked among free ones and
# picked again when taken meanwhile.
set -euo pipefail

ENTRYPOINT=/usr/local/bin/njs-session-entrypoint
WORK=$(mktemp -d /tmp/njs-session-check.XXXXXX)
chmod 0755 "$WORK"   # the workers read the secret files in it
PORT=""
SECRET=$(head -c 32 /dev/urandom | base64)
passed=0

fail() {
    printf 'self-check: FAILED: %s\n' "$*" >&2
    if [[ -s $WORK/error.log ]]; then
        printf -- '--- nginx error log ---\n' >&2
        tail -n 40 "$WORK/error.log" >&2
    fi
    stop_nginx
    exit 1
}
ok() {
    passed=$((passed + 1))
    printf 'ok - %s\n' "$*"
}
expect() { # expect DESCRIPTION COMMAND...
    local description=$1
    shift
    "$@" || fail "$description (status $STATUS, location '$LOCATION', cookies '${SET_COOKIES[*]:-}')"
    ok "$description"
}

# The entrypoint with a clean NJS_SESSION_* environment plus the given NAME=VALUE pairs.
entrypoint() {
    local clean=()
    local name
    for name in $(compgen -e); do
        [[ $name == NJS_SESSION_* ]] && clean+=(-u "$name")
    done
    env "${clean[@]}" NGINX_ENTRYPOINT_QUIET_LOGS=1 "$@"
}

names() { # the NAMEs of NAME=VALUE arguments: a secret stays out of the output
    local pair
    for pair in "$@"; do printf '%s ' "${pair%%=*}"; done
}
refused() { # refused "WHAT IT SAYS" NAME=VALUE...: the entrypoint stops before nginx with that line
    local says=$1 output
    shift
    if output=$(entrypoint "$@" "$ENTRYPOINT" nginx -t 2>&1); then
        fail "entrypoint accepted $(names "$@")(expected: $says)"
    fi
    grep -qF -- "$says" <<<"$output" || fail "entrypoint with $(names "$@"): expected '$says', got: $output"
    ok "refused: $(names "$@") -> $says"
}

# A port no socket of the host uses right now (/proc/net/tcp lists them in hex).
free_port() {
    local port hex
    while :; do
        port=$((20000 + RANDOM % 40000))
        printf -v hex ':%04X ' "$port"
        grep -q "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null || break
    done
    printf '%s\n' "$port"
}

start_nginx() { # start_nginx NAME=VALUE...: the entrypoint starts nginx (daemonised) on free ports
    local attempt bridge=()
    for attempt in 1 2 3 4 5; do
        PORT=$(free_port)
        [[ " $* " != *" NJS_SESSION_STORAGE=redis "* ]] || bridge=(NJS_SESSION_BRIDGE_PORT="$(free_port)")
        : >"$WORK/error.log"
        if entrypoint NJS_SESSION_LISTEN="127.0.0.1:$PORT" "${bridge[@]}" "$@" "$ENTRYPOINT" nginx \
            >>"$WORK/access.log" 2>>"$WORK/error.log"; then
            wait_for_pid
            return 0
        fi
        # Taken between the look and nginx's bind (the host's tests run meanwhile): other ports.
        grep -q 'bind() to 127\.0\.0\.1:[0-9]* failed (98: Address already in use)' "$WORK/error.log" ||
            fail "nginx did not start ($(names "$@"))"
    done
    fail "no free port found in $attempt attempts"
}

# nginx -t leaves an empty pid file, and the daemon writes its pid after the command that started it
# has returned: a pid file is trusted once it holds a number.
nginx_pid() {
    local pid
    pid=$(cat /run/nginx.pid 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
}
wait_for_pid() {
    for _ in $(seq 100); do
        nginx_pid >/dev/null && return 0
        sleep 0.05
    done
    fail "nginx started but wrote no pid file"
}
stop_nginx() {
    local pid signal
    pid=$(nginx_pid) || return 0
    for signal in QUIT TERM; do
        kill -"$signal" "$pid" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break 2
            sleep 0.05
        done
    done
    kill -0 "$pid" 2>/dev/null && { printf 'self-check: nginx %s does not stop\n' "$pid" >&2; exit 1; }
    rm -f /run/nginx.pid
}

# request METHOD PATH [COOKIE] [FORM]: one HTTP/1.0 exchange with the site; sets STATUS, LOCATION,
# SET_COOKIES (the Set-Cookie lines), HEADERS and BODY.
request() {
    local method=$1 path=$2 cookie=${3:-} form=${4:-}
    {
        printf '%s %s HTTP/1.0\r\nHost: localhost\r\n' "$method" "$path"
        [[ -z $cookie ]] || printf 'Cookie: %s\r\n' "$cookie"
        if [[ $method == POST ]]; then
            printf 'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n' "${#form}"
        fi
        printf '\r\n%s' "$form"
    } >"$WORK/request"
    timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && cat "$2" >&3 && cat <&3' _ "$PORT" "$WORK/request" \
        >"$WORK/response" || fail "$method $path: no answer"
    HEADERS=$(sed -e 's/\r$//' -e '/^$/q' "$WORK/response")
    BODY=$(sed -e '1,/^\r\{0,1\}$/d' "$WORK/response")
    STATUS=$(head -n 1 <<<"$HEADERS" | cut -d ' ' -f 2)
    LOCATION=$(sed -n 's/^[Ll]ocation: //p' <<<"$HEADERS")
    mapfile -t SET_COOKIES < <(sed -n 's/^[Ss]et-[Cc]ookie: //p' <<<"$HEADERS")
}
session_cookie() { # the Cookie header a browser would send back: "session=..." of the last answer
    local line
    for line in "${SET_COOKIES[@]}"; do
        [[ $line == session=* ]] && printf '%s\n' "${line%%;*}"
    done
}
no_cookies() { [[ ${#SET_COOKIES[@]} == 0 ]]; }
is() { [[ $1 == "$2" ]]; }
matches() { [[ $1 =~ $2 ]]; }

# The login flow against the running site; leaves ALICE holding the session cookie.
login_flow() {
    request GET /app/page
    expect "no session, GET: 302" is "$STATUS" 302
    expect "... to /login?return_to=<the URL>" matches "$LOCATION" '/login\?return_to=%2Fapp%2Fpage$'
    expect "... no cookie" no_cookies
    request POST /app/page
    expect "no session, POST: 401" is "$STATUS" 401
    request GET '/login?return_to=%2Fapp%2Fpage'
    expect "the login form: 200" is "$STATUS" 200
    expect "... from the demo app, carrying return_to" matches "$BODY" 'name="return_to" value="/app/page"'
    request POST /login "" 'username=alice&password=nope&return_to=%2Fapp%2Fpage'
    expect "wrong password: 303 back to the form" matches "$STATUS $LOCATION" '^303 .*/login\?error=1'
    expect "... no cookie" no_cookies
    request POST /login "" 'username=alice&password=demo&return_to=%2Fapp%2Fpage'
    expect "login: 303 to return_to" matches "$STATUS $LOCATION" '^303 .*/app/page$'
    ALICE=$(session_cookie)
    expect "... a session cookie" matches "$ALICE" '^session=[A-Za-z0-9_-]{100,}$'
    expect "... the login verdict stays inside" is "$(grep -ci '^x-session' <<<"$HEADERS" || true)" 0
    request GET /app/page "$ALICE"
    expect "with the cookie: 200 from the app" is "$STATUS" 200
    expect "... which was told the subject" matches "$BODY" '<span id="subject">alice</span>'
    expect "... and did not get the session cookie" matches "$BODY" 'session cookies removed'
    CSRF_TOKEN=$(grep -o 'name="csrf_token" value="[A-Za-z0-9_-]*"' <<<"$BODY" | head -n1 | sed 's/.*value="//; s/"$//' || true)
    expect "... and the session's CSRF token for its forms" matches "$CSRF_TOKEN" '^[A-Za-z0-9_-]{43}$'
}

# --- 1. misconfiguration stops the container before nginx ----------------------------------------
refused "no secret" NJS_SESSION_LISTEN=8080
refused "unknown variable NJS_SESSION_SECERT" NJS_SESSION_SECRET="$SECRET" NJS_SESSION_SECERT=x
refused "both NJS_SESSION_SECRET and NJS_SESSION_SECRET_FILE" NJS_SESSION_SECRET="$SECRET" NJS_SESSION_SECRET_FILE=/etc/hostname
refused "NJS_SESSION_SECRET_FILE=/nonexistent: no such file" NJS_SESSION_SECRET_FILE=/nonexistent
refused "NJS_SESSION_STORAGE=redis needs NJS_SESSION_REDIS_HOST" NJS_SESSION_SECRET="$SECRET" NJS_SESSION_STORAGE=redis
refused "is not a valid number" NJS_SESSION_SECRET="$SECRET" NJS_SESSION_IDLING_TIMEOUT=15m
refused "NJS_SESSION_APP=\"app;\" is not a valid address" NJS_SESSION_SECRET="$SECRET" NJS_SESSION_APP='app;'
printf '%s\n' "$SECRET" >"$WORK/root-only-secret"
chmod 0600 "$WORK/root-only-secret"
if command -v setpriv >/dev/null; then
    refused "permission denied for nginx's worker user" NJS_SESSION_SECRET_FILE="$WORK/root-only-secret"
else
    printf 'skip - a secret file the workers cannot read (no setpriv in this base)\n'
fi
# The secret never reaches the output, even in a refusal.
if entrypoint NJS_SESSION_SECRET="$SECRET" NJS_SESSION_COOKIE_SECURE=yes "$ENTRYPOINT" nginx -t 2>&1 | grep -qF -- "$SECRET"; then
    fail "the entrypoint printed the secret"
fi
ok "the secret is not printed"

# --- 2. nginx -t for both storages ------------------------------------------------------------------
entrypoint NJS_SESSION_SECRET="$SECRET" "$ENTRYPOINT" nginx -t >"$WORK/t.log" 2>&1 || { cat "$WORK/t.log" >&2; fail "nginx -t (cookie storage)"; }
ok "nginx -t, cookie storage"
entrypoint NJS_SESSION_SECRET="$SECRET" NJS_SESSION_STORAGE=redis NJS_SESSION_REDIS_HOST=localhost \
    NJS_SESSION_REDIS_PASSWORD=x "$ENTRYPOINT" nginx -t >"$WORK/t.log" 2>&1 || { cat "$WORK/t.log" >&2; fail "nginx -t (redis storage)"; }
ok "nginx -t, redis storage (the compose file's configuration)"
grep -q '"host": "127.0.0.1"' /run/njs-session/session.json || fail "NJS_SESSION_REDIS_HOST=localhost not resolved to 127.0.0.1"
ok "the Redis host name is resolved to its address"

# --- 3. the flow, cookie storage, secret from the environment ---------------------------------------
start_nginx NJS_SESSION_SECRET="$SECRET"
login_flow
tampered="${ALICE:0:60}$([[ ${ALICE:60:1} == A ]] && echo B || echo A)${ALICE:61}"
request GET /app/page "$tampered"
expect "a tampered cookie: 302 to the login form" is "$STATUS" 302
request POST /logout "$ALICE"
expect "logout without the CSRF token: 403" is "$STATUS" 403
request POST /logout "$ALICE" "csrf_token=$CSRF_TOKEN"
expect "logout: 303 to /login" matches "$STATUS $LOCATION" '^303 .*/login$'
expect "... the session cookie expired" matches "${SET_COOKIES[*]:-}" '^session=; .*Expires=Thu, 01 Jan 1970'
stop_nginx

# --- 4. the same secret from a file opens the cookie; another secret does not -------------------------
printf '%s\n' "$SECRET" >"$WORK/secret"
chmod 0644 "$WORK/secret"
start_nginx NJS_SESSION_SECRET_FILE="$WORK/secret"
request GET /app/page "$ALICE"
expect "NJS_SESSION_SECRET_FILE with the same secret: the cookie opens (200)" is "$STATUS" 200
stop_nginx
head -c 32 /dev/urandom | base64 >"$WORK/secret"
start_nginx NJS_SESSION_SECRET_FILE="$WORK/secret"
request GET /app/page "$ALICE"
expect "another secret: the cookie is refused (302)" is "$STATUS" 302
stop_nginx

# --- 5. sessions in Redis, where this image has a redis-server (the test build only) ---------------
if command -v redis-server >/dev/null; then
    redis_password=$(head -c 16 /dev/urandom | base64 | tr -d '/+=')
    for attempt in 1 2 3 4 5 6 7 8; do
        redis_port=$(free_port)
        printf 'port %s\nbind 127.0.0.1\nrequirepass %s\nsave ""\nappendonly no\ndaemonize yes\npidfile %s\ndir %s\nlogfile %s\n' \
            "$redis_port" "$redis_password" "$WORK/redis.pid" "$WORK" "$WORK/redis.log" >"$WORK/redis.conf"
        redis-server "$WORK/redis.conf" && sleep 0.3 && [[ -s $WORK/redis.pid ]] && break
    done
    redis() { REDISCLI_AUTH=$redis_password redis-cli -p "$redis_port" "$@"; }
    start_nginx NJS_SESSION_SECRET="$SECRET" NJS_SESSION_STORAGE=redis NJS_SESSION_REDIS_HOST=localhost \
        NJS_SESSION_REDIS_PORT="$redis_port" NJS_SESSION_REDIS_PASSWORD="$redis_password"
    login_flow
    expect "redis: the cookie holds the header only (session= and 110 characters)" is "${#ALICE}" 118
    expect "redis: the session is a record in Redis" is "$(redis DBSIZE)" 1
    redis SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    request GET /app/page "$ALICE"
    # auth_request passes only 401 and 403 on: session.authRequest answers 401 naming the status it
    # means, and the error_page 401 location (session.loginRedirect) answers store_unavailable_status.
    expect "redis: Redis stopped -> the request fails closed (503, nginx.store_unavailable_status)" is "$STATUS" 503
    expect "... without the page" is "$(grep -c 'id="subject"' <<<"$BODY" || true)" 0
    request GET /app/page "$ALICE"
    expect "... every request while it is down" is "$STATUS" 503
    expect "... one error line for the outage" is "$(grep -c 'unavailable: .*logged once' "$WORK/error.log" || true)" 1
    expect "... no auth_request complaint" is "$(grep -c 'auth request unexpected status' "$WORK/error.log" || true)" 0
    stop_nginx
else
    printf 'skip - sessions in Redis (no redis-server in this base)\n'
fi

rm -rf "$WORK" /run/njs-session
printf 'self-check: %d checks passed\n' "$passed"
