#!/bin/sh
# Entrypoint of the njs-session image. For an nginx command it turns the NJS_SESSION_* environment
# variables into what docker/nginx.conf includes from /run/njs-session/ (session.json, http.conf,
# listen.conf, stream.conf), refusing a misconfiguration with one clear line before nginx starts, then
# runs the command: through the official image's /docker-entrypoint.sh when the base has one, so that
# its templates (/etc/nginx/templates/) and /docker-entrypoint.d/ scripts keep working.
#
# The secret itself never lands in a file we write or in our output: session.json only says where
# nginx reads it ({"env": "NJS_SESSION_SECRET"} or {"file": "<NJS_SESSION_SECRET_FILE>"}).
set -eu

RUN_DIR=/run/njs-session
SITE_DIR=/etc/nginx/njs-session

die() {
    printf 'njs-session: %s\n' "$*" >&2
    exit 1
}
note() { printf 'njs-session: %s\n' "$*" >&2; }

# Anything but nginx (a shell, cat, ...) runs as it is: only nginx reads the generated files.
case "${1:-}" in
    nginx | nginx-debug) ;;
    *) exec "$@" ;;
esac

# A misspelt variable would otherwise be ignored without a word (NJS_SESSION_SECERT=...).
KNOWN=" NJS_SESSION_SECRET NJS_SESSION_SECRET_FILE NJS_SESSION_APP NJS_SESSION_LISTEN
 NJS_SESSION_JS_ENGINE NJS_SESSION_COOKIE_SECURE NJS_SESSION_AUDIENCE NJS_SESSION_IDLING_TIMEOUT
 NJS_SESSION_STORAGE NJS_SESSION_REDIS_HOST NJS_SESSION_REDIS_PORT NJS_SESSION_REDIS_USERNAME
 NJS_SESSION_REDIS_PASSWORD NJS_SESSION_REDIS_PASSWORD_FILE NJS_SESSION_REDIS_DATABASE
 NJS_SESSION_REDIS_PREFIX NJS_SESSION_BRIDGE_PORT"
KNOWN=" $(printf '%s' "$KNOWN" | tr -s ' \n' '  ') "
for name in $(env | sed -n 's/^\(NJS_SESSION_[A-Za-z0-9_]*\)=.*/\1/p'); do
    case "$KNOWN" in
        *" $name "*) ;;
        *) die "unknown variable $name (known:$KNOWN)" ;;
    esac
done

# Every value below ends up inside session.json or an nginx directive: instead of escaping for both,
# each is held to the characters its kind needs.
check() { # check NAME VALUE KIND
    case "$3" in
        number) pattern='^[0-9]{1,10}$' ;;
        word) pattern='^[A-Za-z0-9._:-]{1,128}$' ;;
        path) pattern='^/[A-Za-z0-9._/@+=-]{1,255}$' ;;
        address) pattern='^([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$|^unix:/[A-Za-z0-9._/-]+$' ;;
        listen) pattern='^([0-9]{1,5}|([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5})$' ;;
        boolean) pattern='^(true|false)$' ;;
    esac
    printf '%s' "$2" | grep -Eq "$pattern" || die "$1=\"$2\" is not a valid $3"
}

# The user and group nginx's workers run as: nginx.conf sets no `user`, so nginx's built-in default
# (--user/--group of `nginx -V`: nginx in the official image; nobody where none was given).
worker_user() {
    user=$(nginx -V 2>&1 | sed -n 's/.* --user=\([^ ]*\).*/\1/p')
    printf '%s\n' "${user:-nobody}"
}
worker_group() {
    group=$(nginx -V 2>&1 | sed -n 's/.* --group=\([^ ]*\).*/\1/p')
    [ -n "$group" ] || group=$(id -gn "$1" 2>/dev/null || echo nogroup)
    printf '%s\n' "$group"
}

# A file secret is read by the workers, not by this root script: check that they can, or the first
# request would fail with "cannot read" instead of the container refusing to start.
check_readable_by_workers() { # NAME PATH
    [ -f "$2" ] || die "$1=$2: no such file (mount it, e.g. -v \$PWD/secret:$2:ro)"
    [ -s "$2" ] || die "$1=$2 is empty"
    command -v setpriv >/dev/null 2>&1 || {
        note "$1: cannot check that nginx's workers may read $2 (no setpriv in this image)"
        return 0
    }
    user=$(worker_user)
    group=$(worker_group "$user")
    setpriv --reuid="$user" --regid="$group" --init-groups head -c 1 -- "$2" >/dev/null 2>&1 ||
        die "$1=$2: permission denied for nginx's worker user $user (group $group); make it readable by them (chgrp $group, chmod 0440)"
}

# --- the session secret -----------------------------------------------------------------------------
secret_env=${NJS_SESSION_SECRET:-}
secret_file=${NJS_SESSION_SECRET_FILE:-}
if [ -n "$secret_env" ] && [ -n "$secret_file" ]; then
    die "both NJS_SESSION_SECRET and NJS_SESSION_SECRET_FILE are set: give one"
elif [ -n "$secret_file" ]; then
    check NJS_SESSION_SECRET_FILE "$secret_file" path
    check_readable_by_workers NJS_SESSION_SECRET_FILE "$secret_file"
    secret_json="{\"file\": \"$secret_file\"}"
elif [ -n "$secret_env" ]; then
    secret_json='{"env": "NJS_SESSION_SECRET"}'
else
    die "no secret: set NJS_SESSION_SECRET or NJS_SESSION_SECRET_FILE (a file holding it, e.g. from \`openssl rand -base64 32\`). Every nginx sharing sessions needs the same one."
fi

# --- session options --------------------------------------------------------------------------------
cookie_secure=${NJS_SESSION_COOKIE_SECURE:-true}
check NJS_SESSION_COOKIE_SECURE "$cookie_secure" boolean
options="\"cookie_secure\": $cookie_secure"
if [ -n "${NJS_SESSION_AUDIENCE:-}" ]; then
    check NJS_SESSION_AUDIENCE "$NJS_SESSION_AUDIENCE" word
    options="$options, \"audience\": \"$NJS_SESSION_AUDIENCE\""
fi
if [ -n "${NJS_SESSION_IDLING_TIMEOUT:-}" ]; then
    check NJS_SESSION_IDLING_TIMEOUT "$NJS_SESSION_IDLING_TIMEOUT" number
    options="$options, \"idling_timeout\": $NJS_SESSION_IDLING_TIMEOUT"
fi

engine=${NJS_SESSION_JS_ENGINE:-qjs}
case "$engine" in qjs | njs) ;; *) die "NJS_SESSION_JS_ENGINE=\"$engine\": qjs or njs" ;; esac

# --- storage: cookie, or Redis through the store bridge ---------------------------------------------
storage=${NJS_SESSION_STORAGE:-cookie}
stream_conf=""
fetch_conf=""
case "$storage" in
    cookie)
        for name in HOST PORT USERNAME PASSWORD PASSWORD_FILE DATABASE PREFIX; do
            eval "value=\${NJS_SESSION_REDIS_$name:-}"
            [ -z "$value" ] || die "NJS_SESSION_REDIS_$name is set but NJS_SESSION_STORAGE is not redis"
        done
        ;;
    redis)
        host=${NJS_SESSION_REDIS_HOST:-}
        [ -n "$host" ] || die "NJS_SESSION_STORAGE=redis needs NJS_SESSION_REDIS_HOST"
        check NJS_SESSION_REDIS_HOST "$host" word
        port=${NJS_SESSION_REDIS_PORT:-6379}
        check NJS_SESSION_REDIS_PORT "$port" number
        # The bridge connects to addresses, and nginx's stream proxy would need a resolver for a name:
        # the name is resolved once, here, like an upstream server name at nginx's start.
        address=$(getent ahostsv4 "$host" 2>/dev/null | awk 'NR == 1 { print $1 }') || true
        [ -n "$address" ] || die "NJS_SESSION_REDIS_HOST=$host: cannot resolve it"
        redis="\"host\": \"$address\", \"port\": $port"
        if [ -n "${NJS_SESSION_REDIS_USERNAME:-}" ]; then
            check NJS_SESSION_REDIS_USERNAME "$NJS_SESSION_REDIS_USERNAME" word
            redis="$redis, \"username\": \"$NJS_SESSION_REDIS_USERNAME\""
        fi
        if [ -n "${NJS_SESSION_REDIS_PASSWORD:-}" ] && [ -n "${NJS_SESSION_REDIS_PASSWORD_FILE:-}" ]; then
            die "both NJS_SESSION_REDIS_PASSWORD and NJS_SESSION_REDIS_PASSWORD_FILE are set: give one"
        elif [ -n "${NJS_SESSION_REDIS_PASSWORD_FILE:-}" ]; then
            check NJS_SESSION_REDIS_PASSWORD_FILE "$NJS_SESSION_REDIS_PASSWORD_FILE" path
            check_readable_by_workers NJS_SESSION_REDIS_PASSWORD_FILE "$NJS_SESSION_REDIS_PASSWORD_FILE"
            redis="$redis, \"password\": {\"file\": \"$NJS_SESSION_REDIS_PASSWORD_FILE\"}"
        elif [ -n "${NJS_SESSION_REDIS_PASSWORD:-}" ]; then
            redis="$redis, \"password\": {\"env\": \"NJS_SESSION_REDIS_PASSWORD\"}"
        fi
        if [ -n "${NJS_SESSION_REDIS_DATABASE:-}" ]; then
            check NJS_SESSION_REDIS_DATABASE "$NJS_SESSION_REDIS_DATABASE" number
            redis="$redis, \"database\": $NJS_SESSION_REDIS_DATABASE"
        fi
        if [ -n "${NJS_SESSION_REDIS_PREFIX:-}" ]; then
            check NJS_SESSION_REDIS_PREFIX "$NJS_SESSION_REDIS_PREFIX" word
            redis="$redis, \"prefix\": \"$NJS_SESSION_REDIS_PREFIX\""
        fi
        options="$options, \"storage\": \"redis\", \"redis\": {$redis}, \"hash_storage_key\": true"
        bridge=${NJS_SESSION_BRIDGE_PORT:-7379}
        check NJS_SESSION_BRIDGE_PORT "$bridge" number
        relay=$((bridge + 1))
        # nginx/store-bridge.conf explains the two servers (front and relay).
        stream_conf="stream {
    js_engine $engine;
    js_path /etc/nginx/njs/;
    include $SITE_DIR/store-bridge.conf;
    js_var \$njs_session_store_allow \"$address:$port\";
    server {
        listen 127.0.0.1:$bridge;
        include $SITE_DIR/store-bridge-front.conf;
        proxy_pass 127.0.0.1:$relay;
    }
    server {
        listen 127.0.0.1:$relay;
        include $SITE_DIR/store-bridge-relay.conf;
    }
}"
        fetch_conf="js_fetch_proxy http://127.0.0.1:$bridge;
js_fetch_keepalive 32;
js_fetch_timeout 10s;"
        ;;
    *) die "NJS_SESSION_STORAGE=\"$storage\": cookie or redis" ;;
esac

# --- the app and the listening address --------------------------------------------------------------
if [ -n "${NJS_SESSION_APP:-}" ]; then
    check NJS_SESSION_APP "$NJS_SESSION_APP" address
    app="$NJS_SESSION_APP"
    demo=""
else
    note "NJS_SESSION_APP is not set: serving the built-in demo app (any name, password \"demo\")"
    app="unix:$RUN_DIR/demo-app.sock"
    demo="include $SITE_DIR/demo-app.conf;"
fi
listen=${NJS_SESSION_LISTEN:-80}
check NJS_SESSION_LISTEN "$listen" listen

# --- write ------------------------------------------------------------------------------------------
mkdir -p "$RUN_DIR"
umask 022
printf '{"secret": %s, %s, "nginx": {"expose_data": ["name"], "clear_request_cookie": true, "store_unavailable_status": 503}}\n' \
    "$secret_json" "$options" >"$RUN_DIR/session.json"
printf 'js_engine %s;\nupstream njs_session_app {\n    server %s;\n}\n%s\n%s\n' \
    "$engine" "$app" "$demo" "$fetch_conf" >"$RUN_DIR/http.conf"
printf 'listen %s;\n' "$listen" >"$RUN_DIR/listen.conf"
printf '%s\n' "$stream_conf" >"$RUN_DIR/stream.conf"

# A container restarted after nginx was killed still has the demo app's socket of its last run, and
# nginx would refuse to bind it: removed when nginx is being started and no nginx runs (a pid file
# naming a live process other than this script, which is PID 1 after a restart, as nginx was).
starting=yes
for arg in "$@"; do
    case "$arg" in -t | -T | -s | -v | -V | -h | -\? | -tq | -qt) starting=no ;; esac
done
if [ "$starting" = yes ]; then
    pid=$(cat /run/nginx.pid 2>/dev/null || true)
    if [ -z "$pid" ] || [ "$pid" = $$ ] || ! kill -0 "$pid" 2>/dev/null; then
        rm -f "$RUN_DIR/demo-app.sock"
    fi
fi

if [ -x /docker-entrypoint.sh ]; then
    exec /docker-entrypoint.sh "$@"
fi
exec "$@"
