/**
 * `npm run bench`: the throughput of a session check, as ratios to the bare nginx doing the same job,
 * all measured in one run on this machine.
 *
 *   1. provisions the project's nginx with wrk (nginx/provision.sh), builds dist/session.js;
 *   2. mints the cookies the scenarios send (cookie storage: here, with the same TypeScript core; shm,
 *      redis and memcached storage: by logging in through nginx itself); a redis-server and a
 *      memcached on core 1 are the network stores, reached through the store bridge, each in the
 *      default mode (every request asks the store) and in the bounded-staleness mode
 *      (store_revalidate, the "-bounded-" scenarios); memcached also with the check's read through
 *      nginx's memcached_pass (memcached.read_locations, the "-memcached-pass-" scenarios); the cold
 *      cookie check also answered in its handler, without proxy_pass (the "-cookie-cold-handler"
 *      scenarios: what QuickJS's check costs in a runtime that stays hot);
 *   3. starts every nginx instance at once, each with one worker pinned to core 0; the upstream app
 *      and wrk share core 1;
 *   4. runs each scenario for BENCH_DURATION seconds, BENCH_ROUNDS times, the rounds interleaved so
 *      that a slower minute of the machine hits every scenario alike;
 *   5. measures worker RSS after 100k and 1M requests;
 *   6. writes bench/results.json, bench/results.md and bench/results.svg (bench/report.ts).
 *
 * Environment: BENCH_DURATION (s, 5), BENCH_ROUNDS (3), BENCH_ENGINES ("njs qjs"), BENCH_POOL (cookies
 * in a cold pool, 50000), BENCH_CONNECTIONS (32), BENCH_RSS (1: measure RSS, 0: skip),
 * BENCH_RSS_REQUESTS ("100000 1000000"), BENCH_ONLY (comma-separated scenario ids, for quick looks).
 *
 * BENCH_PEER_LIB=<dir>: also measure the peer, lua-resty-session, on the same nginx (lua-nginx-module
 * from Debian testing), the same upstream, secret and options, in the same rounds. The directory holds
 * its Lua libraries (resty/session*, resty/openssl*, ffi-zlib.lua, resty/redis.lua), assembled from
 * their public repositories as docs/performance.md says; it is copied into .cache/bench for the run
 * (the rootfs sees only the repo), never into the tree.
 *
 * BENCH_INSTRUCTIONS=1: after the wrk rounds, every scenario again under callgrind (docs/NOTES.md "How
 * to measure"): instructions per request = (run of N2 requests − run of N1) / (N2 − N1), one process
 * (master_process off), one connection. BENCH_INSTRUCTIONS_REQUESTS ("200 1200"): N1 and N2.
 *
 * BENCH_CACHE=1 (with BENCH_INSTRUCTIONS=1): a second pair of callgrind runs per scenario, at
 * BENCH_CACHE_CONNECTIONS (32) connections with callgrind's cache simulation (a 2 MB last level), each
 * after a burst of BENCH_CACHE_WARMUP (400) of the scenario's requests over as many connections. Under
 * QuickJS nginx gives every request running JavaScript a context of its own until the request ends, so
 * 32 requests in flight pin 32 contexts and each request runs on one last touched 32 requests ago:
 * what that costs shows in last-level misses, which one connection cannot show. nginx keeps its idle
 * contexts per location (njs's ngx_js.c: the reuse queue lives in the location's configuration), so
 * only the scenario's own requests make the contexts it will run on: the burst makes them before the
 * measured requests, in both runs alike, and the difference of the runs cancels the burst (and the
 * first cookies of a cold pool it verified). Reported per request with the pair's instructions, which
 * should match the one-connection figure; BENCH_CACHE_REQUESTS ("1000 3000"): that pair's N1 and N2.
 *
 * BENCH_NOTE: a line the report prints about the run's conditions (e.g. a machine shared with others).
 */

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createSessionLibrary } from "../src/core/api";
import { createMemoryExchange } from "../src/core/memory-exchange";
import { createNodePlatform } from "../src/platform/node";
import { cachePerRequest, parseCallgrindEvents, writeReport, type CacheResult, type RawResults, type ScenarioResult } from "./report";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const work = join(repo, ".cache", "bench");

const settings = {
  duration: Number(process.env.BENCH_DURATION || 5),
  rounds: Number(process.env.BENCH_ROUNDS || 3),
  engines: (process.env.BENCH_ENGINES || "njs qjs").split(/[\s,]+/).filter(Boolean) as Engine[],
  pool: Number(process.env.BENCH_POOL || 50000),
  connections: Number(process.env.BENCH_CONNECTIONS || 32),
  rss: process.env.BENCH_RSS !== "0",
  rssRequests: (process.env.BENCH_RSS_REQUESTS || "100000 1000000").split(/[\s,]+/).filter(Boolean).map(Number),
  only: (process.env.BENCH_ONLY || "").split(",").filter(Boolean),
  peerLib: process.env.BENCH_PEER_LIB || "",
  /** A line for the report about the run's conditions (e.g. "the machine was shared with test runs"). */
  note: process.env.BENCH_NOTE || "",
  instructions: process.env.BENCH_INSTRUCTIONS === "1",
  instructionRequests: (process.env.BENCH_INSTRUCTIONS_REQUESTS || "200 1200").split(/[\s,]+/).filter(Boolean).map(Number),
  cache: process.env.BENCH_CACHE === "1",
  cacheConnections: Number(process.env.BENCH_CACHE_CONNECTIONS || 32),
  cacheRequests: (process.env.BENCH_CACHE_REQUESTS || "1000 3000").split(/[\s,]+/).filter(Boolean).map(Number),
  cacheWarmup: Number(process.env.BENCH_CACHE_WARMUP || 400),
};

/** callgrind's cache simulation of the BENCH_CACHE runs: one core's share of a last level, 2 MB, 16-way, 64-byte lines. */
const CACHE_SIMULATION = "--cache-sim=yes --LL=2097152,16,64";

/** The peer's version, as measured: BENCH_PEER_LIB must hold this release of lua-resty-session. */
const PEER = "lua-resty-session 4.1.5";
/** What BENCH_PEER_LIB must hold (the four public repositories' lib/ directories). */
const PEER_FILES = ["resty/session.lua", "resty/session/shm.lua", "resty/session/redis.lua", "resty/openssl.lua", "ffi-zlib.lua", "resty/redis.lua"];

type Engine = "njs" | "qjs";
const SECRET = randomBytes(32).toString("base64url");
const SUBJECT = "bench-user";

// -------------------------------------------------------------------------------------------------
// nginx instances

interface Instance {
  name: string;
  port: number;
  /** A stream{} block (the store bridge), for instances using a network store. */
  stream?: string;
  /** "01": core 0 (the measured worker), "10": core 1 (the upstream, beside wrk). */
  cpuMask: string;
  http: string;
  /** session.json, for instances running njs-session. */
  session?: object;
  /** The peer's options (peer-session.json, read by its init_by_lua), for instances running the peer. */
  peer?: object;
}

let nextPort = 19100;

/**
 * An instance's nginx.conf; with `oneProcess`, the same for callgrind: nginx as one process in the
 * foreground (master_process off), so the instructions counted are the requests' and start-up's only.
 */
function main(instance: Instance, dir: string, oneProcess = false): string {
  const { cpuMask, http, stream } = instance;
  const session = !!instance.session;
  const modules = (session ? "load_module /usr/lib/nginx/modules/ngx_http_js_module.so;\n" : "") +
    (instance.peer ? "load_module /usr/lib/nginx/modules/ndk_http_module.so;\nload_module /usr/lib/nginx/modules/ngx_http_lua_module.so;\n" : "") +
    (stream ? "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\nload_module /usr/lib/nginx/modules/ngx_stream_js_module.so;\n" : "");
  const processModel = oneProcess ? `daemon off;\nmaster_process off;\npid ${dir}/nginx-cg.pid;\n` : `pid ${dir}/nginx.pid;\n`;
  return `${modules}${processModel}worker_processes 1;
worker_cpu_affinity ${cpuMask};
worker_rlimit_nofile 8192;
error_log ${dir}/error.log warn;
${session ? `env NJS_SESSION_CONFIG=${dir}/session.json;\n` : ""}events { worker_connections 4096; }
${stream || ""}http {
    access_log off;
    keepalive_requests 10000000;
${http}
}
`;
}

const upstreamPort = nextPort++;
const upstreamBlock = `    upstream app { server 127.0.0.1:${upstreamPort}; keepalive 64; }`;
const proxy = `proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://app`;

const upstream: Instance = {
  name: "upstream",
  port: upstreamPort,
  cpuMask: "10",
  http: `    server {
        listen 127.0.0.1:${upstreamPort} backlog=4096;
        location /open/ { return 200 "hello\\n"; }
        # A protected request that reached the app without its identity is an error the bench counts.
        location /app/ {
            if ($http_x_session_subject != "${SUBJECT}") { return 403; }
            return 200 "hello\\n";
        }
        location = /check-login { add_header X-Session-Login '{"subject":"${SUBJECT}"}'; return 200 "welcome\\n"; }
        location = /check-login-remember {
            add_header X-Session-Login '{"subject":"${SUBJECT}","remember":true}';
            return 200 "welcome\\n";
        }
    }`,
};

const barePort = nextPort++;
const bare: Instance = {
  name: "bare",
  port: barePort,
  cpuMask: "01",
  http: `${upstreamBlock}
    server {
        listen 127.0.0.1:${barePort} backlog=4096;
        location = /return200 { return 200 "hello\\n"; }
        location /open/ { ${proxy}; }
    }`,
};

const BASE_SESSION = {
  secret: SECRET,
  // wrk keeps no cookies, so a client never sends back a touched cookie: with the default threshold,
  // every request of a long run would re-issue one. The refresh scenario measures exactly that.
  touch_threshold: 3000,
  idling_timeout: 3600,
  rolling_timeout: 7200,
  absolute_timeout: 86400,
};

/** The network stores, on core 1 with the upstream and wrk. */
const REDIS_PORT = nextPort++;
const MEMCACHED_PORT = nextPort++;

/**
 * "handler": cookie storage, its check also answered by `js_content session.authRequest` at /check
 * (no proxy_pass): the request ends in the handler, so under QuickJS one runtime serves them all and
 * stays in the caches, while /app/'s requests hold theirs until the upstream has answered (docs/NOTES.md,
 * "why QuickJS serves fewer requests than its instruction counts say"). An instance of its own, so that
 * its cold pool is not one the cookie instance's zone verified a moment ago.
 */
type Kind = "cookie" | "shm" | "refresh" | "redis" | "memcached" | "memcached-pass" | "redis-bounded" | "memcached-bounded" | "handler" | "server" | "refresh-server" | "known" | "refresh-known";

/**
 * "server" and "refresh-server": cookie storage (the latter with touch_threshold 0), /app/ protected
 * through the check server as docs/configuration.md sets it up: auth_request, its internal location
 * proxying to a server of the same nginx on a unix socket (nginx/session-check-server.conf) whose
 * requests end when the check has answered, so its runtimes go back at once.
 *
 * "known" and "refresh-known": the same, with `js_access session.accessKnown` in front: the answer the
 * check server left for the worker is published there, and only the rest asks the check server.
 */
const checkServer = (dir: string): string => `    upstream njs_session_check { server unix:${dir}/check.sock; keepalive 64; }
    server {
        listen unix:${dir}/check.sock backlog=4096;
        include ${repo}/nginx/session-check-server.conf;
    }
`;

/**
 * memcached.read_locations (the "memcached-pass" instances): the check's read through nginx's
 * memcached_pass, an upstream with a keepalive pool, as docs/several-nodes.md configures it.
 */
const MEMCACHED_READ_LOCATION = "/_session_memcached";
const memcachedReadUpstream = `    upstream session_memcached { server 127.0.0.1:${MEMCACHED_PORT}; keepalive 8; }\n`;

/**
 * store_revalidate of the bounded-staleness instances (issue 16's "e.g. 1 s"): within it a node answers
 * a session the store confirmed from its verified cache. A warm run asks the store about once per
 * bound; a cold pool larger than a bound's worth of requests still asks on nearly every request.
 */
const STORE_REVALIDATE_MS = 1000;

/**
 * The store bridge of an instance (nginx/store-bridge*.conf), on two ports of its own; `servers`: more
 * stream servers beside it (the store floor's least filter).
 */
function bridge(engine: Engine, servers = ""): { stream: string; http: string; front: number } {
  const front = nextPort++;
  const relay = nextPort++;
  return {
    stream: `stream {
    js_engine ${engine};
    js_path ${repo}/dist/;
    include ${repo}/nginx/store-bridge.conf;
    js_var $njs_session_store_allow "127.0.0.1:${REDIS_PORT} 127.0.0.1:${MEMCACHED_PORT}";
    server { listen 127.0.0.1:${front}; include ${repo}/nginx/store-bridge-front.conf; proxy_pass 127.0.0.1:${relay}; }
    server { listen 127.0.0.1:${relay}; include ${repo}/nginx/store-bridge-relay.conf; }
${servers}}
`,
    http: `    js_fetch_proxy http://127.0.0.1:${front};
    js_fetch_keepalive 64;
`,
    front,
  };
}

/** The empty js_access of the "module tax" scenarios (bench/empty-access.js). */
const emptyAccess = `js_import empty_access from ${join(repo, "bench", "empty-access.js")};`;
const emptyAccessLocation = (): string => `location /open/ { js_access empty_access.access; ${proxy}; }`;

/**
 * The same empty js_access in an http{} without session.js: what an nginx pays for njs alone. Beside
 * the same location in an instance that imports session.js (sessionInstance, cookie), it shows what
 * importing session.js costs the requests that never use it: under the njs engine every request runs
 * every imported module's top level.
 */
function emptyAccessInstance(engine: Engine): Instance {
  const port = nextPort++;
  return {
    name: `${engine}-empty`,
    port,
    cpuMask: "01",
    // An (unused) session.json: main() loads ngx_http_js_module for instances that have one.
    session: {},
      http: `    js_engine ${engine};
    ${emptyAccess}
${upstreamBlock}
    server {
        listen 127.0.0.1:${port} backlog=4096;
        ${emptyAccessLocation()}
    }`,
  };
}

/**
 * The store path's floors (the "store-floor" instances): a Redis GET of a record the size of a bench
 * session's, in a js_access with no session check around it (bench/store-floor.js), so that what the
 * transport alone costs stands beside the redis scenarios and the peer's. Two ways to the store:
 * - /app/bridge/: ngx.fetch through the store bridge, as the storage's reads go (front and relay);
 * - /app/least/: ngx.fetch through one stream server whose js_filter does the least any translation
 *   between ngx.fetch and Redis must (bench/store-floor-filter.js: the request's HTTP head dropped,
 *   one put on the reply), with proxy_pass straight to Redis. It is not a bridge (one packet each way
 *   assumed, no errors, no pipelining): it is the lower bound of a transport built from stock nginx
 *   modules and njs, which have no Redis client and no socket in http{}.
 */
/** Written into bench/store-floor.js's GET and reply size too: a variable read would add to the floor. */
const STORE_FLOOR_KEY = "session:bench-floor";
/** A bench session's record in Redis is its 43-character payload (measured: STRLEN of the login's key). */
const STORE_FLOOR_RECORD_SIZE = 43;

function storeFloorInstance(engine: Engine): Instance {
  const port = nextPort++;
  const least = nextPort++;
  const network = bridge(
    engine,
    `    js_import store_floor_filter from ${join(repo, "bench", "store-floor-filter.js")};
    server { listen 127.0.0.1:${least}; js_filter store_floor_filter.filter; proxy_pass 127.0.0.1:${REDIS_PORT}; }
`,
  );
  const floor = (path: string, via: number, url: string): string => `        location ${path} {
            js_fetch_proxy http://127.0.0.1:${via};
            set $bench_floor_url ${url};
            js_access store_floor.roundTrip;
            proxy_set_header X-Session-Subject ${SUBJECT};
            ${proxy};
        }`;
  return {
    name: `${engine}-store-floor`,
    port,
    cpuMask: "01",
    // An (unused) session.json: main() loads ngx_http_js_module for instances that have one.
    session: {},
    stream: network.stream,
    http: `    js_fetch_keepalive 64;
    js_engine ${engine};
    js_import store_floor from ${join(repo, "bench", "store-floor.js")};
${upstreamBlock}
    server {
        listen 127.0.0.1:${port} backlog=4096;
${floor("/app/bridge/", network.front, `http://127.0.0.1:${REDIS_PORT}/redis?n=1&p=0&t=1000`)}
${floor("/app/least/", least, `http://127.0.0.1:${REDIS_PORT}/`)}
    }`,
  };
}

function sessionInstance(engine: Engine, kind: Kind): Instance {
  const port = nextPort++;
  const shm = kind === "shm";
  const bounded = kind === "redis-bounded" || kind === "memcached-bounded";
  const pass = kind === "memcached-pass";
  const storage = bounded ? kind.replace("-bounded", "") : pass ? "memcached" : kind;
  const network = storage === "redis" || storage === "memcached" ? bridge(engine) : null;
  const known = kind === "known" || kind === "refresh-known";
  const server = kind === "server" || kind === "refresh-server" || known;
  const name = `${engine}-${kind}`;
  const session = {
    ...BASE_SESSION,
    ...(shm ? { storage: "shm", shm: { zone: "sessions" } } : {}),
    ...(storage === "redis" ? { storage: "redis", redis: { port: REDIS_PORT } } : {}),
    ...(storage === "memcached"
      ? {
          storage: "memcached",
          memcached: { port: MEMCACHED_PORT, ...(pass ? { read_locations: { [`127.0.0.1:${MEMCACHED_PORT}`]: MEMCACHED_READ_LOCATION } } : {}) },
          // read_locations requires it (nginx logs a missed key; unhashed, it holds the session id).
          ...(pass ? { hash_storage_key: true } : {}),
        }
      : {}),
    ...(bounded ? { store_revalidate: STORE_REVALIDATE_MS } : {}),
    ...(kind === "refresh" || kind === "refresh-server" || kind === "refresh-known" ? { touch_threshold: 0 } : {}),
  };
  return {
    name,
    port,
    cpuMask: "01",
    session,
    stream: network ? network.stream : undefined,
    http: `${network ? network.http : ""}    js_engine ${engine};
    js_path ${repo}/dist/;
    include ${repo}/nginx/njs-session.conf;
    variables_hash_max_size 2048;
${kind === "cookie" ? `    ${emptyAccess}\n` : ""}${shm ? "    js_shared_dict_zone zone=sessions:128m timeout=1h;\n" : ""}${pass ? memcachedReadUpstream : ""}${server ? checkServer(join(work, name)) : ""}${upstreamBlock}
    server {
        listen 127.0.0.1:${port} backlog=4096;
        location /app/ {
            ${known ? "js_access session.accessKnown;\n            " : ""}${server ? `include ${repo}/nginx/session-auth-request.conf;` : "js_access session.access;"}
            proxy_set_header X-Session-Subject $session_subject;
            ${proxy};
        }
${server ? `        location = /_session_auth { internal; include ${repo}/nginx/session-check-proxy.conf; }\n` : ""}
        location = /login { js_content session.login; }
        location = /login-remember {
            set $session_config_login_backend /_session_login_backend_remember;
            js_content session.login;
        }
        location = /_session_login_backend { internal; ${proxy}/check-login; }
        location = /_session_login_backend_remember { internal; ${proxy}/check-login-remember; }
${pass ? `        location = ${MEMCACHED_READ_LOCATION} { internal; set $memcached_key $arg_k; memcached_pass session_memcached; subrequest_output_buffer_size 1m; }\n` : ""}${kind === "cookie" ? `        ${emptyAccessLocation()}\n` : ""}${kind === "handler" ? "        location = /check { js_content session.authRequest; }\n" : ""}    }`,
  };
}

/** Where the run's copy of BENCH_PEER_LIB lives (inside the repo's .cache, so the rootfs sees it). */
const peerLibCopy = join(work, "peer-lib");

/**
 * The peer, lua-resty-session, set up as a user of it would: options once in init_by_lua (the same
 * options as ours, same secret), and small handlers that do what our entry points do. The check is
 * start() (open, then refresh as needed: our session.access does the same) with the subject handed
 * to the upstream through a variable; login asks the same login backend with a subrequest and turns
 * its verdict header into a new session.
 */
function peerInstance(kind: "cookie" | "shm" | "refresh" | "redis" | "handler"): Instance {
  const port = nextPort++;
  const peer = {
    ...BASE_SESSION,
    ...(kind === "shm" ? { storage: "shm", shm: { zone: "sessions" } } : {}),
    ...(kind === "redis" ? { storage: "redis", redis: { host: "127.0.0.1", port: REDIS_PORT } } : {}),
    ...(kind === "refresh" ? { touch_threshold: 0 } : {}),
  };
  const login = (backend: string): string => `content_by_lua_block {
                local cjson = require "cjson.safe"
                ngx.req.read_body()
                local reply = ngx.location.capture("${backend}", {
                    method = ngx["HTTP_" .. ngx.req.get_method()], args = ngx.var.args, body = ngx.req.get_body_data(),
                })
                local verdict = reply.status < 400 and cjson.decode(reply.header["X-Session-Login"] or "")
                if type(verdict) == "table" and type(verdict.subject) == "string" then
                    local session = require("resty.session").new()
                    session:set_subject(verdict.subject)
                    if verdict.remember ~= nil then session:set_remember(verdict.remember == true) end
                    local ok, err = session:save()
                    if not ok then
                        ngx.log(ngx.ERR, "peer login: unable to save the new session: ", err)
                        return ngx.exit(500)
                    end
                end
                ngx.status = reply.status
                ngx.print(reply.body)
            }`;
  return {
    name: `peer-${kind}`,
    port,
    cpuMask: "01",
    peer,
    http: `    lua_package_path "${peerLibCopy}/?.lua;;";
${kind === "shm" ? "    lua_shared_dict sessions 128m;\n" : ""}    init_by_lua_block {
        local file = assert(io.open("${join(work, `peer-${kind}`, "peer-session.json")}"))
        require("resty.session").init(require("cjson").decode(file:read("*a")))
        file:close()
    }
${upstreamBlock}
    server {
        listen 127.0.0.1:${port} backlog=4096;
        location /app/ {
            set $session_subject "";
            access_by_lua_block {
                local session, err, exists, refreshed = require("resty.session").start()
                if not exists then return ngx.exit(401) end
                if not refreshed then
                    ngx.log(ngx.ERR, "peer check: refresh failed: ", err)
                    return ngx.exit(500)
                end
                ngx.var.session_subject = session:get_subject()
            }
            proxy_set_header X-Session-Subject $session_subject;
            ${proxy};
        }
${kind === "handler" ? `        location = /check {
            content_by_lua_block {
                local session, err, exists = require("resty.session").start()
                if not exists then return ngx.exit(401) end
                ngx.header["X-Session-Subject"] = session:get_subject()
                return ngx.exit(204)
            }
        }\n` : ""}        location = /login { ${login("/_session_login_backend")} }
        location = /login-remember { ${login("/_session_login_backend_remember")} }
        location = /_session_login_backend { internal; ${proxy}/check-login; }
        location = /_session_login_backend_remember { internal; ${proxy}/check-login-remember; }
    }`,
  };
}

// -------------------------------------------------------------------------------------------------
// Scenarios

interface Scenario {
  id: string;
  label: string;
  /** "njs" or "qjs": ours under that engine; "peer": lua-resty-session; null: bare nginx. */
  engine: Engine | "peer" | null;
  /** The same job under every implementation (e.g. "cookie-warm"): how the report pairs ours with the peer's. */
  job: string;
  /**
   * The peer's job to compare with, when the peer has no such job: the bounded-staleness mode is ours
   * only, and is measured against the peer's one way of using the same store.
   */
  peerJob?: string;
  instance: Instance;
  path: string;
  /** Cookie pool file (one Cookie header per line); none: no cookie. */
  cookies?: string;
  /**
   * The cookies name sessions in the instance's own shared memory zone (made by its login), which a
   * restart empties: under callgrind, the process logs in first to make them.
   */
  inZone?: "warm" | "cold";
  login?: boolean;
  /** What every response must be, checked before measuring (drive-lib.sh check_wrk). */
  expect: { status: number; cookie: "yes" | "no" };
  /** Which group the report draws it in ("module": the empty js_access pair). */
  group: "bare" | "module" | "protected" | "store-floor" | "login" | "refresh";
}

const LOGIN_BODY = "user=bench-user&password=secret";

function file(name: string): string {
  return join(work, name);
}

/** Cookie-storage sessions, minted here with the core nginx runs, as of `age` seconds ago. */
async function mintCookies(count: number, options: object, age: number): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000) - age;
  const library = createSessionLibrary(createNodePlatform({ now: () => now }));
  library.init(options);
  const cookies: string[] = [];
  for (let i = 0; i < count; i++) {
    const exchange = createMemoryExchange({ userAgent: "njs-session-bench" });
    const session = library.new(exchange);
    session.setSubject(SUBJECT);
    session.set("n", i);
    const saved = await session.save();
    if (!saved.ok) throw new Error("minting a bench cookie failed: " + saved.error);
    cookies.push(exchange.responseCookies.map((line) => line.split(";")[0]).join("; "));
  }
  return cookies;
}

function writeLines(path: string, lines: string[]): void {
  writeFileSync(path, lines.join("\n") + "\n");
}

// -------------------------------------------------------------------------------------------------

async function prepare(): Promise<{ instances: Instance[]; scenarios: Scenario[]; pools: Array<[Instance, string]> }> {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, "out"), { recursive: true });
  mkdirSync(join(work, "cg"), { recursive: true });
  if (settings.peerLib) {
    const missing = PEER_FILES.filter((name) => !existsSync(join(settings.peerLib, name)));
    if (missing.length) throw new Error(`BENCH_PEER_LIB=${settings.peerLib} lacks ${missing.join(", ")} (docs/performance.md says how to assemble it)`);
    cpSync(settings.peerLib, peerLibCopy, { recursive: true });
  }
  const instances: Instance[] = [upstream, bare];
  const ok = { status: 200, cookie: "no" } as const;
  const issues = { status: 200, cookie: "yes" } as const;
  // A check answered in its handler (auth_request's answer, or the peer's ngx.exit(204)).
  const answered = { status: 204, cookie: "no" } as const;
  const scenarios: Scenario[] = [
    { id: "return200", label: "bare return 200", engine: null, job: "return200", instance: bare, path: "/return200", expect: ok, group: "bare" },
    { id: "proxy", label: "bare proxy", engine: null, job: "proxy", instance: bare, path: "/open/", expect: ok, group: "bare" },
  ];
  const pools: Array<[Instance, string]> = [];

  process.stderr.write(`bench: minting ${settings.pool} cookie-storage sessions\n`);
  const pool = await mintCookies(settings.pool, BASE_SESSION, 0);
  writeLines(file("cookie-pool.txt"), pool);
  writeLines(file("cookie-warm.txt"), [pool[0]]);
  // Old enough that every request passes touch_threshold 0, so every response re-issues the cookie.
  writeLines(file("refresh-warm.txt"), await mintCookies(1, { ...BASE_SESSION, touch_threshold: 0 }, 5));

  /** The scenarios every implementation runs, on its instances of each storage. */
  const jobs = (prefix: string, E: string, engine: Engine | "peer", on: { [kind: string]: Instance }): Scenario[] => {
    const list: Scenario[] = [
      { id: `${prefix}-cookie-warm`, label: `${E}: cookie, warm`, engine, job: "cookie-warm", instance: on.cookie, path: "/app/", cookies: file("cookie-warm.txt"), expect: ok, group: "protected" },
      { id: `${prefix}-cookie-cold`, label: `${E}: cookie, cold`, engine, job: "cookie-cold", instance: on.cookie, path: "/app/", cookies: file("cookie-pool.txt"), expect: ok, group: "protected" },
      // The same check, answered in its handler: what it costs when the runtime stays hot (Kind "handler").
      { id: `${prefix}-cookie-cold-handler`, label: `${E}: cookie, cold, answered in the handler`, engine, job: "cookie-cold-handler", instance: on.handler, path: "/check", cookies: file("cookie-pool.txt"), expect: answered, group: "protected" },
    ];
    // Ours only: the same checks through the check server (Kind "server"), beside the peer's own.
    if (on.server) {
      list.push(
        { id: `${prefix}-cookie-warm-server`, label: `${E}: cookie, warm, check server`, engine, job: "cookie-warm-server", peerJob: "cookie-warm", instance: on.server, path: "/app/", cookies: file("cookie-warm.txt"), expect: ok, group: "protected" },
        { id: `${prefix}-cookie-cold-server`, label: `${E}: cookie, cold, check server`, engine, job: "cookie-cold-server", peerJob: "cookie-cold", instance: on.server, path: "/app/", cookies: file("cookie-pool.txt"), expect: ok, group: "protected" },
      );
    }
    // Ours only: the check server with known sessions published in front (Kind "known").
    if (on.known) {
      list.push(
        { id: `${prefix}-cookie-warm-known`, label: `${E}: cookie, warm, check server, known in front`, engine, job: "cookie-warm-known", peerJob: "cookie-warm", instance: on.known, path: "/app/", cookies: file("cookie-warm.txt"), expect: ok, group: "protected" },
        { id: `${prefix}-cookie-cold-known`, label: `${E}: cookie, cold, check server, known in front`, engine, job: "cookie-cold-known", peerJob: "cookie-cold", instance: on.known, path: "/app/", cookies: file("cookie-pool.txt"), expect: ok, group: "protected" },
      );
    }
    for (const kind of ["shm", "redis", "memcached", "memcached-pass"]) {
      const instance = on[kind];
      if (!instance) continue;
      pools.push([instance, file(`${instance.name}-pool.txt`)]);
      list.push(
        { id: `${prefix}-${kind}-warm`, label: `${E}: ${kind}, warm`, engine, job: `${kind}-warm`, instance, path: "/app/", cookies: file(`${instance.name}-warm.txt`), inZone: kind === "shm" ? "warm" : undefined, expect: ok, group: "protected" },
        { id: `${prefix}-${kind}-cold`, label: `${E}: ${kind}, cold`, engine, job: `${kind}-cold`, instance, path: "/app/", cookies: file(`${instance.name}-pool.txt`), inZone: kind === "shm" ? "cold" : undefined, expect: ok, group: "protected" },
      );
    }
    // The bounded-staleness mode (store_revalidate), ours only: each instance logs in its own pool, as
    // the default-mode ones do, so that no scenario depends on another being selected.
    for (const storage of ["redis", "memcached"]) {
      const instance = on[`${storage}-bounded`];
      if (!instance) continue;
      pools.push([instance, file(`${instance.name}-pool.txt`)]);
      const mode = `store_revalidate ${STORE_REVALIDATE_MS} ms`;
      for (const temperature of ["warm", "cold"]) {
        list.push({
          id: `${prefix}-${storage}-bounded-${temperature}`,
          label: `${E}: ${storage}, ${temperature}, ${mode}`,
          engine,
          job: `${storage}-bounded-${temperature}`,
          peerJob: `${storage}-${temperature}`,
          instance,
          path: "/app/",
          cookies: file(`${instance.name}-${temperature === "warm" ? "warm" : "pool"}.txt`),
          expect: ok,
          group: "protected",
        });
      }
    }
    list.push(
      { id: `${prefix}-login`, label: `${E}: login`, engine, job: "login", instance: on.cookie, path: "/login", login: true, expect: issues, group: "login" },
      { id: `${prefix}-login-remember`, label: `${E}: login with remember`, engine, job: "login-remember", instance: on.cookie, path: "/login-remember", login: true, expect: issues, group: "login" },
      { id: `${prefix}-refresh`, label: `${E}: touch on every request`, engine, job: "refresh", instance: on.refresh, path: "/app/", cookies: file("refresh-warm.txt"), expect: issues, group: "refresh" },
    );
    if (on["refresh-server"]) {
      list.push({ id: `${prefix}-refresh-server`, label: `${E}: touch on every request, check server`, engine, job: "refresh-server", peerJob: "refresh", instance: on["refresh-server"], path: "/app/", cookies: file("refresh-warm.txt"), expect: issues, group: "refresh" });
    }
    if (on["refresh-known"]) {
      list.push({ id: `${prefix}-refresh-known`, label: `${E}: touch on every request, check server, known in front`, engine, job: "refresh-known", peerJob: "refresh", instance: on["refresh-known"], path: "/app/", cookies: file("refresh-warm.txt"), expect: issues, group: "refresh" });
    }
    return list;
  };

  for (const engine of settings.engines) {
    const on: { [kind: string]: Instance } = {};
    for (const kind of ["cookie", "shm", "refresh", "redis", "memcached", "memcached-pass", "redis-bounded", "memcached-bounded", "handler", "server", "refresh-server", "known", "refresh-known"] as Kind[]) {
      on[kind] = sessionInstance(engine, kind);
      instances.push(on[kind]);
    }
    const E = engine === "qjs" ? "QuickJS" : "njs engine";
    const empty = emptyAccessInstance(engine);
    instances.push(empty);
    scenarios.push(
      { id: `${engine}-js-empty`, label: `${E}: empty js_access`, engine, job: "js-empty", instance: empty, path: "/open/", expect: ok, group: "module" },
      { id: `${engine}-js-empty-session`, label: `${E}: empty js_access, session.js imported`, engine, job: "js-empty-session", instance: on.cookie, path: "/open/", expect: ok, group: "module" },
    );
    scenarios.push(...jobs(engine, E, engine, on));
    // Compared with the peer's redis warm check: a check through this transport costs at least this.
    const floor = storeFloorInstance(engine);
    instances.push(floor);
    scenarios.push(
      { id: `${engine}-redis-floor-bridge`, label: `${E}: redis, the store's round trip alone (no session check), through the bridge`, engine, job: "redis-floor-bridge", peerJob: "redis-warm", instance: floor, path: "/app/bridge/", expect: ok, group: "store-floor" },
      { id: `${engine}-redis-floor-least`, label: `${E}: redis, the store's round trip alone, through the least js_filter`, engine, job: "redis-floor-least", peerJob: "redis-warm", instance: floor, path: "/app/least/", expect: ok, group: "store-floor" },
    );
  }
  if (settings.peerLib) {
    // The peer gets the very cookie files ours get (cookie storage: minted above, by our core; the
    // formats are the same), and its own store pools, made by its own login.
    const on: { [kind: string]: Instance } = {};
    for (const kind of ["cookie", "shm", "refresh", "redis", "handler"] as const) {
      on[kind] = peerInstance(kind);
      instances.push(on[kind]);
    }
    scenarios.push(...jobs("peer", PEER, "peer", on));
  }

  for (const instance of instances) {
    const dir = join(work, instance.name);
    mkdirSync(join(dir, "logs"), { recursive: true });
    writeFileSync(join(dir, "nginx.conf"), main(instance, dir));
    writeFileSync(join(dir, "nginx-cg.conf"), main(instance, dir, true));
    if (instance.session) writeFileSync(join(dir, "session.json"), JSON.stringify(instance.session, null, 2) + "\n");
    if (instance.peer) writeFileSync(join(dir, "peer-session.json"), JSON.stringify(instance.peer, null, 2) + "\n");
  }
  const selected = settings.only.length ? scenarios.filter((s) => s.group === "bare" || settings.only.includes(s.id)) : scenarios;
  return { instances, scenarios: selected, pools };
}

function q(text: string): string {
  return "'" + text.replace(/'/g, "'\\''") + "'";
}

function wrkEnv(scenario: Scenario, cookies = scenario.cookies, cursor = true): string {
  const vars: string[] = [];
  if (cookies) vars.push(`BENCH_COOKIES=${q(cookies)}`);
  // The cursor carries a pool's round robin from the check run to round 1 and on to each next round
  // (bench.lua): a cold scenario then never sends a cookie its instance verified a moment ago. A
  // callgrind run starts a fresh process with empty caches, so it starts at the pool's start.
  if (cookies && cursor) vars.push(`BENCH_COOKIE_CURSOR=${q(file(`cursor-${scenario.id}`))}`);
  if (scenario.login) vars.push("BENCH_METHOD=POST", `BENCH_BODY=${q(LOGIN_BODY)}`);
  return vars.join(" ");
}

/**
 * Requests per callgrind run (N1, N2), of the one-connection pair or of the cache pair. Login with
 * remember is PBKDF2, ~10M instructions each: a tenth.
 */
function instructionRequests(scenario: Scenario, counts = settings.instructionRequests): number[] {
  const scale = scenario.job === "login-remember" ? 0.1 : 1;
  return counts.map((n) => Math.max(1, Math.round(n * scale)));
}

function url(instance: Instance, path: string): string {
  return `http://127.0.0.1:${instance.port}${path}`;
}

/** One callgrind run of a pair (drive-lib.sh callgrind_requests), its output in out/NAME. */
function callgrindRun(s: Scenario, counts: number[], n: number, name: string, environment: string): string {
  let prelude = "";
  let cookies = s.cookies;
  if (s.inZone) {
    // The same logins in both runs, so that they cancel out in the difference.
    const poolFile = join(work, "cg", `${name}-pool.txt`);
    const logins = s.inZone === "warm" ? 1 : Math.max(...counts);
    prelude = `CG_PRELUDE=${q(url(s.instance, "/login"))} CG_PRELUDE_COUNT=${logins} CG_PRELUDE_POOL=${q(poolFile)} CG_PRELUDE_BODY=${q(LOGIN_BODY)} `;
    cookies = s.inZone === "warm" ? poolFile.replace("-pool.txt", "-warm.txt") : poolFile;
  }
  return `${prelude}${environment}callgrind_requests ${q(join(work, "out", name))} ${q(join(work, s.instance.name))} ${s.instance.port} ${n} ${q(url(s.instance, s.path))} ${wrkEnv(s, cookies, false)}`;
}

/** The plan: a straight list of drive-lib.sh calls, run inside the rootfs in one go. */
function plan(instances: Instance[], scenarios: Scenario[], pools: Array<[Instance, string]>): string {
  const out = join(work, "out");
  const lines = [
    "#!/usr/bin/env bash",
    `export BENCH_DIR=${q(join(repo, "bench"))} BENCH_CONNECTIONS=${settings.connections} BENCH_INSTRUCTIONS=${settings.instructions ? 1 : 0}` +
      (settings.peerLib ? ` BENCH_PEER=${q(PEER)}` : ""),
    `source ${q(join(repo, "bench", "drive-lib.sh"))}`,
    `versions ${q(join(out, "versions.txt"))}`,
    `start_stores ${REDIS_PORT} ${MEMCACHED_PORT}`,
  ];
  if (scenarios.some((s) => s.group === "store-floor")) lines.push(`store_record ${REDIS_PORT} ${q(STORE_FLOOR_KEY)} ${STORE_FLOOR_RECORD_SIZE}`);
  for (const instance of instances) lines.push(`start_nginx ${q(join(work, instance.name))} ${instance.port}`);
  for (const [instance, poolFile] of pools) {
    if (!scenarios.some((s) => s.cookies === poolFile || s.cookies === poolFile.replace("-pool.txt", "-warm.txt"))) continue;
    lines.push(`log "logging in ${settings.pool} times on ${instance.name} for its session pool"`);
    lines.push(`collect_cookies ${q(poolFile)} ${q(join(work, instance.name))} ${q(url(instance, "/login"))} ${settings.pool} BENCH_METHOD=POST BENCH_BODY=${q(LOGIN_BODY)}`);
    lines.push(`head -n1 ${q(poolFile)} >${q(poolFile.replace("-pool.txt", "-warm.txt"))}`);
  }
  const peerCookie = instances.find((i) => i.name === "peer-cookie");
  if (peerCookie) {
    // Ours → peer holds by construction (the peer's cookie scenarios get cookies our core minted);
    // peer → ours is checked here, and only reported: the formats agreeing is not what is measured.
    const minted = file("peer-minted.txt");
    lines.push(`log "the peer's cookies, sent to ours"`);
    lines.push(`collect_cookies ${q(minted)} ${q(join(work, peerCookie.name))} ${q(url(peerCookie, "/login"))} 100 BENCH_METHOD=POST BENCH_BODY=${q(LOGIN_BODY)}`);
    for (const engine of settings.engines) {
      const ours = instances.find((i) => i.name === `${engine}-cookie`) as Instance;
      lines.push(
        `if check_wrk ${q(join(out, `interchange-${engine}.json`))} ${q(join(work, ours.name))} ${q(url(ours, "/app/"))} 200 no BENCH_COOKIES=${q(minted)}; ` +
          `then echo "${engine}: accepted" >>${q(join(out, "interchange.txt"))}; else echo "${engine}: REFUSED" >>${q(join(out, "interchange.txt"))}; fi`,
      );
    }
  }
  lines.push(`log "checking every scenario's responses (and warming up)"`);
  for (const s of scenarios) {
    lines.push(
      `check_wrk ${q(join(out, `${s.id}.check.json`))} ${q(join(work, s.instance.name))} ${q(url(s.instance, s.path))} ${s.expect.status} ${s.expect.cookie} ${wrkEnv(s)}`,
    );
  }
  for (let round = 1; round <= settings.rounds; round++) {
    lines.push(`log "round ${round} of ${settings.rounds}"`);
    for (const s of scenarios) {
      lines.push(
        `run_wrk ${q(join(out, `${s.id}.${round}.json`))} ${q(join(work, s.instance.name))} ${q(url(s.instance, s.path))} ${settings.duration}s ${wrkEnv(s)}`,
      );
    }
  }
  if (settings.rss) {
    for (const engine of settings.engines) {
      const instance = instances.find((i) => i.name === `${engine}-cookie`) as Instance;
      const dir = join(work, instance.name);
      lines.push(`log "RSS of the ${engine} worker under the cold cookie pool"`);
      // A fresh worker: what it holds afterwards is what these requests left.
      lines.push(`stop_nginx ${q(dir)}; sleep 1; start_nginx ${q(dir)} ${instance.port}`);
      let sent = 0;
      for (const count of settings.rssRequests) {
        lines.push(`rss_after ${q(join(out, `rss-${engine}-${count}.json`))} ${q(dir)} ${q(url(instance, "/app/"))} ${count - sent} BENCH_COOKIES=${q(file("cookie-pool.txt"))}`);
        sent = count;
      }
    }
  }
  for (const instance of instances) {
    if (instance !== upstream) lines.push(`stop_nginx ${q(join(work, instance.name))}`);
  }
  if (settings.instructions) {
    lines.push("sleep 1");
    for (const s of scenarios) {
      const counts = instructionRequests(s);
      lines.push(`log "callgrind: ${s.id} (${counts.join(" and ")} requests)"`);
      for (const n of counts) lines.push(callgrindRun(s, counts, n, `${s.id}.cg${n}`, ""));
      if (!settings.cache) continue;
      const cacheCounts = instructionRequests(s, settings.cacheRequests);
      lines.push(`log "callgrind, caches simulated: ${s.id} (${cacheCounts.join(" and ")} requests over ${settings.cacheConnections} connections)"`);
      // At least one request per connection, so that the burst makes every context the runs use.
      const warmup = Math.max(settings.cacheConnections, ...instructionRequests(s, [settings.cacheWarmup]));
      const concurrency = `CG_CACHE=1 CG_CONNECTIONS=${settings.cacheConnections} CG_WARMUP=${warmup} CG_HOLD=${q(join(work, upstream.name))} `;
      for (const n of cacheCounts) lines.push(callgrindRun(s, cacheCounts, n, `${s.id}.cache${n}`, concurrency));
    }
  }
  lines.push(`stop_nginx ${q(join(work, upstream.name))}`);
  return lines.join("\n") + "\n";
}

function readJson(path: string): any {
  return JSON.parse(readFileSync(path, "utf8"));
}

/** Instructions per request from the two callgrind runs of a scenario. */
function instructionsOf(scenario: Scenario): { per_request: number; requests: number[]; totals: number[] } {
  const counts = instructionRequests(scenario);
  const totals = counts.map((n) => Number(readFileSync(join(work, "out", `${scenario.id}.cg${n}`), "utf8")));
  const perRequest = (totals[totals.length - 1] - totals[0]) / (counts[counts.length - 1] - counts[0]);
  return { per_request: Math.round(perRequest), requests: counts, totals };
}

/** The cache pair of a scenario (BENCH_CACHE): per request, from the two runs' callgrind totals. */
function cacheOf(scenario: Scenario): CacheResult {
  const counts = instructionRequests(scenario, settings.cacheRequests);
  const totals = counts.map((n) => parseCallgrindEvents(readFileSync(join(work, "out", `${scenario.id}.cache${n}.events`), "utf8")));
  const runtimesMade = counts.map((n) => Number(readFileSync(join(work, "out", `${scenario.id}.cache${n}.runtimes`), "utf8")));
  return cachePerRequest(settings.cacheConnections, counts, totals, runtimesMade);
}

function collect(instances: Instance[], scenarios: Scenario[]): RawResults {
  const out = join(work, "out");
  const results: ScenarioResult[] = scenarios.map((s) => ({
    id: s.id,
    label: s.label,
    engine: s.engine,
    job: s.job,
    peer_job: s.peerJob,
    group: s.group,
    instructions: settings.instructions ? instructionsOf(s) : undefined,
    cache: settings.cache ? cacheOf(s) : undefined,
    runs: Array.from({ length: settings.rounds }, (_, i) => {
      const path = join(out, `${s.id}.${i + 1}.json`);
      const summary = readJson(path);
      const cpu = Number(readFileSync(path + ".cpu", "utf8"));
      return {
        requests: summary.requests,
        seconds: summary.duration_us / 1e6,
        rps: summary.requests / (summary.duration_us / 1e6),
        errors: summary.errors,
        latency_us: summary.latency_us,
        worker_cpu: cpu / (summary.duration_us / 1e6),
      };
    }),
  }));
  const rss = settings.rss
    ? settings.engines.map((engine) => ({
        engine,
        load: "cold cookie pool",
        after: settings.rssRequests.map((count) => ({
          requests: count,
          kib: Number(readFileSync(join(out, `rss-${engine}-${count}.json.rss`), "utf8")),
        })),
      }))
    : [];
  const logProblems: string[] = [];
  for (const instance of instances) {
    const log = join(work, instance.name, "error.log");
    if (!existsSync(log)) continue;
    for (const line of readFileSync(log, "utf8").split("\n")) {
      if (/\[(error|crit|alert|emerg)\]/.test(line)) logProblems.push(`${instance.name}: ${line}`);
    }
  }
  return {
    date: new Date().toISOString(),
    versions: readFileSync(join(out, "versions.txt"), "utf8").trim().split("\n"),
    settings: {
      duration_s: settings.duration,
      rounds: settings.rounds,
      connections: settings.connections,
      pool: settings.pool,
      peer: settings.peerLib ? PEER : null,
      /** Cookies the peer minted at its login, sent to our cookie-storage instance of each engine. */
      peer_cookies_on_ours: existsSync(join(out, "interchange.txt")) ? readFileSync(join(out, "interchange.txt"), "utf8").trim().split("\n") : null,
      note: settings.note || null,
      instructions: settings.instructions
        ? `callgrind, one process (master_process off), one connection: (run of N2 requests − run of N1) / (N2 − N1), N = ${settings.instructionRequests.join(" and ")} (login with remember: a tenth)`
        : null,
      cache: settings.cache
        ? `callgrind ${CACHE_SIMULATION} (a 2 MB last level: one core's share, not the VM's whole L3), one process, ` +
          `${settings.cacheConnections} connections, each run after a burst of ${settings.cacheWarmup} of the same requests over as many connections ` +
          `(so that both runs start with their QuickJS contexts made): (run of N2 requests − run of N1) / (N2 − N1), N = ${settings.cacheRequests.join(" and ")} (login with remember: a tenth)`
        : null,
      worker: "one nginx worker pinned to core 0; wrk -t1 and the upstream nginx on core 1",
    },
    scenarios: results,
    rss,
    log_problems: logProblems.slice(0, 20),
  };
}

async function mainRun(): Promise<void> {
  if (settings.cache && !settings.instructions) throw new Error("BENCH_CACHE=1 needs BENCH_INSTRUCTIONS=1 (the cache runs are callgrind runs)");
  // The peer needs lua-nginx-module (with lua-resty-core and cjson) from Debian testing; callgrind, valgrind.
  const packages = ["wrk", ...(settings.peerLib ? ["libnginx-mod-http-lua", "lua-resty-core", "lua-cjson"] : []), ...(settings.instructions ? ["valgrind"] : [])];
  execFileSync("bash", [join(repo, "nginx", "provision.sh"), ...packages], { stdio: "inherit" });
  execFileSync("node", [join(repo, "build", "build.mjs")], { stdio: "inherit" });
  const { instances, scenarios, pools } = await prepare();
  const planPath = join(work, "plan.sh");
  writeFileSync(planPath, plan(instances, scenarios, pools));
  execFileSync("bash", [join(repo, "nginx", "in-rootfs.sh"), "bash", planPath], {
    stdio: "inherit",
    env: { ...process.env, NJS_SESSION_NETNS: "1" },
  });
  const raw = collect(instances, scenarios);
  const written = writeReport(raw, join(repo, "bench"));
  process.stdout.write(readFileSync(written.markdown, "utf8"));
  if (raw.log_problems.length) {
    process.stderr.write("bench: the error logs have problems:\n" + raw.log_problems.join("\n") + "\n");
    process.exitCode = 1;
  }
  // Checked before measuring too (check_wrk); a run can still go wrong later (a store, a timeout).
  const failed = raw.scenarios.filter((s) => s.runs.some((run) => Object.values(run.errors).some((n) => n > 0)));
  if (failed.length) {
    process.stderr.write(`bench: FAILED requests (wrong status, timeouts, socket errors) in: ${failed.map((s) => s.id).join(", ")}\n`);
    process.exitCode = 1;
  }
}

mainRun().catch((error) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
