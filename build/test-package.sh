#!/usr/bin/env bash
# The release package, as a user gets it:
#   1. `npm pack` (prepack builds dist/): the tarball holds the njs modules, every nginx snippet,
#      example and demo file of the repository, README and the docs/ pages it links, CHANGELOG, LICENSE
#      and package.json, and nothing else;
#   2. `npm run release`: njs-session-<version>.tar.gz holds the same nginx-side files, byte for byte;
#   3. the packed tarball installs into an empty folder without the network, and its `exports`
#      resolve; `import { createSessions } from "njs-session"` works (a session saved and opened
#      again over node:http), and TypeScript consumers of the package and of its Express and Fastify
#      middleware type-check against its declarations (tsc, "module": "nodenext", strict, no
#      skipLibCheck); its bin runs (`npx njs-session mint`, then `npx njs-session inspect` of that
#      cookie);
#   4. nginx (the rootfs's, in a private network namespace) loads the installed session.js and
#      njs-session.conf under both engines: `nginx -t`, a protected location answers 401 without a
#      cookie, and session.version (read by a handler of ours that imports session-api.js, as
#      docs/api.md's "Using it from your own njs handlers" does; it imports session.js) is
#      package.json's version.
# Needs the provisioned rootfs (nginx/provision.sh; `npm test` runs this after build/prove.sh).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO"
# Inside the repository: the rootfs sees only the repository (nginx/in-rootfs.sh).
WORK="$REPO/.cache/package-test"
PORT=8080 # a network namespace of its own: any port

die() { printf 'test-package: FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'test-package: ok - %s\n' "$*"; }

rm -rf "$WORK"
mkdir -p "$WORK/pack" "$WORK/app" "$WORK/www/app" "$WORK/logs" "$WORK/release"
version="$(node -p 'require("./package.json").version')"

# 1. npm pack
npm pack --silent --pack-destination "$WORK/pack" >/dev/null
tarball="$WORK/pack/njs-session-$version.tgz"
[[ -f "$tarball" ]] || die "npm pack wrote no $tarball"
tar -xzf "$tarball" -C "$WORK/pack"
(cd "$WORK/pack/package" && find . -type f | sed 's,^\./,,' | LC_ALL=C sort) >"$WORK/packed"
{
    printf '%s\n' package.json README.md CHANGELOG.md LICENSE dist/session.js dist/session-api.js dist/store-bridge.js dist/cli.js
    (cd dist && find node types -type f \( -name '*.js' -o -name '*.d.ts' \)) | sed 's,^,dist/,'   # the Node package
    git ls-files 'nginx/*.conf' 'nginx/examples/*' 'nginx/demo/*' | grep -v '^nginx/.*/.*/' | grep -v '^nginx/[^/]*\.sh$'
    git ls-files 'docs/*.md' | grep -v '^docs/NOTES\.md$'    # the pages README links (NOTES.md: working notes)
} | LC_ALL=C sort -u >"$WORK/expected"
diff -u "$WORK/expected" "$WORK/packed" >&2 || die "npm pack's files differ from the expected list (- expected, + packed)"
cmp -s dist/session.js "$WORK/pack/package/dist/session.js" || die "the packed session.js is not the one prepack built"
ok "npm pack: $(wc -l <"$WORK/packed") files, the njs modules, the Node package, snippets, examples and demo"

# 2. npm run release: the same nginx-side files
npm run --silent release >/dev/null
release="$REPO/njs-session-$version.tar.gz"
[[ -f "$release" ]] || die "npm run release wrote no $release"
tar -xzf "$release" -C "$WORK/release"
[[ -d "$WORK/release/njs-session-$version" ]] || die "the release tarball has no njs-session-$version/ folder"
diff -r --exclude=package.json "$WORK/pack/package" "$WORK/release/njs-session-$version" >&2 ||
    die "the release tarball and the npm package differ"
ok "npm run release: $(basename "$release") holds the package's files but package.json"

# 3. install into an empty project, offline
cd "$WORK/app"
printf '{ "name": "package-test", "private": true }\n' >package.json
npm install --offline --no-audit --no-fund --silent "$tarball" >/dev/null
installed="$WORK/app/node_modules/njs-session"
resolved="$(node --input-type=module -e 'console.log(new URL(import.meta.resolve("njs-session/session.js")).pathname)')"
[[ "$resolved" == "$installed/dist/session.js" ]] || die "njs-session/session.js resolves to '$resolved'"
ok "installed offline; exports resolve njs-session/session.js"

# The Node entry point: a session saved by one request opens in the next, over a real node:http server.
cat >"$WORK/app/consumer.mjs" <<'EOF'
import { createServer } from "node:http";
import { createSessions, withSessions } from "njs-session";
const sessions = createSessions({ secret: "package-test-secret-0123456789abcdef", log: () => {} });
const server = createServer(withSessions(sessions, async (req, res) => {
    if (req.url === "/login") {
        req.session.setSubject("package-user");
        await req.session.save();
    }
    res.end(req.session.getSubject() || "-");
}));
server.listen(0, "127.0.0.1", async () => {
    const base = "http://127.0.0.1:" + server.address().port;
    const login = await fetch(base + "/login");
    const cookie = login.headers.getSetCookie().map((line) => line.split(";")[0]).join("; ");
    const me = await (await fetch(base + "/me", { headers: { cookie } })).text();
    const anonymous = await (await fetch(base + "/me")).text();
    server.close();
    console.log(me + " " + anonymous);
});
EOF
answer="$(cd "$WORK/app" && node consumer.mjs)" || die "the Node consumer failed"
[[ "$answer" == "package-user -" ]] || die "import \"njs-session\": expected 'package-user -', got '$answer'"
for entry in njs-session/express njs-session/fastify; do
    (cd "$WORK/app" && node --input-type=module -e "const m = await import('$entry'); if (Object.keys(m).length !== 1) throw new Error(Object.keys(m).join())") ||
        die "import \"$entry\" failed"
done
ok "import \"njs-session\" works (a session saved and opened again over node:http); njs-session/express and njs-session/fastify load"

# Its declarations: a TypeScript consumer type-checks against them, and a wrong use does not.
cat >"$WORK/app/tsconfig.json" <<EOF
{ "compilerOptions": { "module": "nodenext", "moduleResolution": "nodenext", "target": "es2022", "strict": true,
  "noEmit": true, "skipLibCheck": false, "types": ["node"], "typeRoots": ["$REPO/node_modules/@types"] }, "files": ["consumer.ts"] }
EOF
cat >"$WORK/app/consumer.ts" <<'EOF'
import { createServer } from "node:http";
import { createSessions, isStoreUnavailable, type OpenResult, type Session, type SessionOptions } from "njs-session";
const options: SessionOptions = { secret: "package-test-secret-0123456789abcdef", idling_timeout: 600, now: () => 1760000000 };
const sessions = createSessions({ ...options, log: (level, message) => console.log(level, message) });
createServer(async (req, res) => {
    const opened: OpenResult = await sessions.open(req, res);
    const session: Session = opened.session;
    const subject: string | undefined = session.getSubject();
    res.end(String(subject) + String(isStoreUnavailable(opened.error)));
});
EOF
printf '{ "name": "package-test", "private": true, "type": "module" }\n' >"$WORK/app/package.json"
tsc="$REPO/node_modules/typescript/bin/tsc"
(cd "$WORK/app" && node "$tsc" -p tsconfig.json) >&2 || die "a TypeScript consumer does not type-check against the installed declarations"
sed -i 's/idling_timeout: 600/idling_timeout: "600"/' "$WORK/app/consumer.ts"
if (cd "$WORK/app" && node "$tsc" -p tsconfig.json) >/dev/null 2>&1; then
    die "the declarations accept idling_timeout: \"600\" (a string): they are not the package's types"
fi
ok "the declarations type-check a TypeScript consumer (nodenext, strict, no skipLibCheck) and refuse a wrong option type"

# The middleware's declarations, in an app that has Express and Fastify (and their types): the repository's,
# linked in, as the tarball installed offline brings neither.
for module in express fastify @types; do
    mkdir -p "$(dirname "$WORK/app/node_modules/$module")"
    ln -s "$REPO/node_modules/$module" "$WORK/app/node_modules/$module"
done
cat >"$WORK/app/consumer.ts" <<'EOF'
import express from "express";
import Fastify from "fastify";
import { createSessions } from "njs-session";
import { expressSessions } from "njs-session/express";
import { fastifySessions } from "njs-session/fastify";
const sessions = createSessions({ secret: "package-test-secret-0123456789abcdef" });
const app = express();
app.use(expressSessions(sessions, { audience: "app" }));
app.get("/me", (req, res) => {
    const subject: string | undefined = req.session.getSubject();
    const exists: boolean = req.sessionExists;
    res.json({ subject, exists });
});
const fastify = Fastify();
await fastify.register(fastifySessions(sessions));
fastify.get("/me", async (request) => ({ subject: request.session.getSubject(), exists: request.sessionExists }));
EOF
(cd "$WORK/app" && node "$tsc" -p tsconfig.json) >&2 || die "an Express and Fastify consumer does not type-check against the installed declarations"
sed -i 's/const exists: boolean = req.sessionExists;/const exists: string = req.sessionExists;/' "$WORK/app/consumer.ts"
if (cd "$WORK/app" && node "$tsc" -p tsconfig.json) >/dev/null 2>&1; then
    die "the Express declarations accept req.sessionExists as a string: the augmentation is not the package's"
fi
ok "the middleware's declarations type-check an Express and Fastify consumer (req.session, request.session)"

# 3b. the bin: the installed CLI mints a cookie and inspects it, without a key and with one
export NJS_SESSION_SECRET=package-test-cli-secret-0123456789
cookie="$(npx --no-install njs-session mint --subject alice --now 1800000000 2>/dev/null)" || die "npx njs-session mint failed"
unset NJS_SESSION_SECRET
header="$(npx --no-install njs-session inspect "$cookie" --now 1800000300 --json)" || die "npx njs-session inspect failed: $header"
node -e 'const r = JSON.parse(process.argv[1]); if (r.header.creation_time !== 1800000000 || r.valid_until.idling !== 1800000900 || r.verified !== null) process.exit(1)' "$header" ||
    die "npx njs-session inspect (no key) says: $header"
opened="$(NJS_SESSION_SECRET=package-test-cli-secret-0123456789 npx --no-install njs-session inspect "$cookie" --now 1800000300 --json)" ||
    die "npx njs-session inspect (with the key) failed: $opened"
node -e 'const r = JSON.parse(process.argv[1]); if (r.verified !== true || r.entries[0].subject !== "alice") process.exit(1)' "$opened" ||
    die "npx njs-session inspect (with the key) says: $opened"
ok "npx njs-session: the installed bin mints a cookie, inspect decodes it (header without a key, data with it)"
cd "$REPO"

# 4. nginx loads the installed module
cat >"$WORK/version.js" <<'EOF'
import session from "session-api.js";
function version(r) { r.return(200, session.version); }
export default { version };
EOF
cat >"$WORK/session.json" <<'EOF'
{ "secret": { "env": "NJS_SESSION_PACKAGE_TEST_SECRET" }, "nginx": { "unauthorized_status": 401 } }
EOF
echo protected >"$WORK/www/app/index.html"
for engine in njs qjs; do
    rm -f "$WORK/logs/"*
    cat >"$WORK/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_http_js_module.so;
worker_processes 1;
error_log $WORK/logs/error.log info;
pid $WORK/logs/nginx.pid;
env NJS_SESSION_CONFIG=$WORK/session.json;
env NJS_SESSION_PACKAGE_TEST_SECRET;
events {}
http {
    access_log off;
    js_engine $engine;
    js_path $installed/dist/;
    js_path $WORK/;
    variables_hash_max_size 2048;
    include $installed/nginx/njs-session.conf;
    js_import version from version.js;
    server {
        listen 127.0.0.1:$PORT;
        root $WORK/www;
        # Static content: the access phase runs (a \`return\` would answer before it).
        location /app/ {
            js_access session.access;
        }
        location = /version {
            js_content version.version;
        }
    }
}
EOF
    # One shell in the rootfs: nginx -t, nginx, then each request's status line and, for /version,
    # its body, over bash's /dev/tcp (no curl in the rootfs).
    # shellcheck disable=SC2016 # expanded by the inner bash
    answers="$(NJS_SESSION_NETNS=1 NJS_SESSION_PACKAGE_TEST_SECRET=package-test-secret-0123456789abcdef \
        bash nginx/in-rootfs.sh bash -c '
            set -e
            nginx -q -t -e "$1/logs/error.log" -p "$1" -c "$1/nginx.conf"
            nginx -e "$1/logs/error.log" -p "$1" -c "$1/nginx.conf"
            for _ in $(seq 50); do
                (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && break
                sleep 0.1
            done
            get() {
                exec 3<>"/dev/tcp/127.0.0.1/$2"
                printf "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n" "$1" >&3
                cat <&3 >/tmp/response
                exec 3<&-
            }
            get /app/ "$2"
            head -n1 /tmp/response | tr -d "\r"
            get /version "$2"
            head -n1 /tmp/response | tr -d "\r"
            sed -n "/^\r$/,\$p" /tmp/response | tail -n +2
            echo
            nginx -s quit -e "$1/logs/error.log" -p "$1" -c "$1/nginx.conf"' \
        sh "$WORK" "$PORT" 2>&1)" || die "$engine: nginx failed: $answers"
    expected="HTTP/1.1 401 Unauthorized
HTTP/1.1 200 OK
$version"
    if [[ "$answers" != "$expected" ]]; then
        cat "$WORK/logs/error.log" >&2 2>/dev/null || true
        die "$engine: expected 401 for /app/ and 200 $version for /version, got: $answers"
    fi
    if grep -E '\[(emerg|alert|crit|error)\]' "$WORK/logs/error.log" >&2; then
        die "$engine: error.log has errors (above)"
    fi
    ok "js_engine $engine: the installed session.js loads; /app/ 401 without a cookie; session.version $version"
done
rm -rf "$WORK"
