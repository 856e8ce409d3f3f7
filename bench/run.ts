/**
 * `npm run bench`: the throughput of a session check, as ratios to the bare nginx doing the same job,
 * all measured in one run on this machine.
 *
 *   1. provisions the project's nginx with wrk (nginx/provision.sh), builds dist/session.js;
 *   2. mints the cookies the scenarios send (cookie storage: here, with the same TypeScript core; shm,
 *      redis and memcached storage: by logging in through nginx itself); a redis-server and a
 *      memcached on core 1 are the network stores, reached through the store bridge;
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
 */

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createSessionLibrary } from "../src/core/api";
import { createMemoryExchange } from "../src/core/memory-exchange";
import { createNodePlatform } from "../src/platform/node";
import { writeReport, type RawResults, type ScenarioResult } from "./report";

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
};

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
}

let nextPort = 19100;

function main(cpuMask: string, dir: string, http: string, session: boolean, stream?: string): string {
  const modules = (session ? "load_module /usr/lib/nginx/modules/ngx_http_js_module.so;\n" : "") +
    (stream ? "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\nload_module /usr/lib/nginx/modules/ngx_stream_js_module.so;\n" : "");
  return `${modules}worker_processes 1;
worker_cpu_affinity ${cpuMask};
worker_rlimit_nofile 8192;
pid ${dir}/nginx.pid;
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

type Kind = "cookie" | "shm" | "refresh" | "redis" | "memcached";

/** The store bridge of an instance (nginx/store-bridge*.conf), on two ports of its own. */
function bridge(engine: Engine): { stream: string; http: string } {
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
}
`,
    http: `    js_fetch_proxy http://127.0.0.1:${front};
    js_fetch_keepalive 64;
`,
  };
}

function sessionInstance(engine: Engine, kind: Kind): Instance {
  const port = nextPort++;
  const shm = kind === "shm";
  const network = kind === "redis" || kind === "memcached" ? bridge(engine) : null;
  const session = {
    ...BASE_SESSION,
    ...(shm ? { storage: "shm", shm: { zone: "sessions" } } : {}),
    ...(kind === "redis" ? { storage: "redis", redis: { port: REDIS_PORT } } : {}),
    ...(kind === "memcached" ? { storage: "memcached", memcached: { port: MEMCACHED_PORT } } : {}),
    ...(kind === "refresh" ? { touch_threshold: 0 } : {}),
  };
  return {
    name: `${engine}-${kind}`,
    port,
    cpuMask: "01",
    session,
    stream: network ? network.stream : undefined,
    http: `${network ? network.http : ""}    js_engine ${engine};
    js_path ${repo}/dist/;
    include ${repo}/nginx/njs-session.conf;
    variables_hash_max_size 2048;
${shm ? "    js_shared_dict_zone zone=sessions:128m timeout=1h;\n" : ""}${upstreamBlock}
    server {
        listen 127.0.0.1:${port} backlog=4096;
        location /app/ {
            js_access session.access;
            proxy_set_header X-Session-Subject $session_subject;
            ${proxy};
        }
        location = /login { js_content session.login; }
        location = /login-remember {
            set $session_config_login_backend /_session_login_backend_remember;
            js_content session.login;
        }
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
  engine: Engine | null;
  instance: Instance;
  path: string;
  /** Cookie pool file (one Cookie header per line); none: no cookie. */
  cookies?: string;
  login?: boolean;
  /** Which group the report draws it in. */
  group: "bare" | "protected" | "login" | "refresh";
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
  const instances: Instance[] = [upstream, bare];
  const scenarios: Scenario[] = [
    { id: "return200", label: "bare return 200", engine: null, instance: bare, path: "/return200", group: "bare" },
    { id: "proxy", label: "bare proxy", engine: null, instance: bare, path: "/open/", group: "bare" },
  ];
  const pools: Array<[Instance, string]> = [];

  process.stderr.write(`bench: minting ${settings.pool} cookie-storage sessions\n`);
  const pool = await mintCookies(settings.pool, BASE_SESSION, 0);
  writeLines(file("cookie-pool.txt"), pool);
  writeLines(file("cookie-warm.txt"), [pool[0]]);
  // Old enough that every request passes touch_threshold 0, so every response re-issues the cookie.
  writeLines(file("refresh-warm.txt"), await mintCookies(1, { ...BASE_SESSION, touch_threshold: 0 }, 5));

  for (const engine of settings.engines) {
    const cookie = sessionInstance(engine, "cookie");
    const shm = sessionInstance(engine, "shm");
    const refresh = sessionInstance(engine, "refresh");
    const redis = sessionInstance(engine, "redis");
    const memcached = sessionInstance(engine, "memcached");
    instances.push(cookie, shm, refresh, redis, memcached);
    pools.push([shm, file(`${engine}-shm-pool.txt`)], [redis, file(`${engine}-redis-pool.txt`)], [memcached, file(`${engine}-memcached-pool.txt`)]);
    const E = engine === "qjs" ? "QuickJS" : "njs engine";
    scenarios.push(
      { id: `${engine}-cookie-warm`, label: `${E}: cookie, warm`, engine, instance: cookie, path: "/app/", cookies: file("cookie-warm.txt"), group: "protected" },
      { id: `${engine}-cookie-cold`, label: `${E}: cookie, cold`, engine, instance: cookie, path: "/app/", cookies: file("cookie-pool.txt"), group: "protected" },
      { id: `${engine}-shm-warm`, label: `${E}: shm, warm`, engine, instance: shm, path: "/app/", cookies: file(`${engine}-shm-warm.txt`), group: "protected" },
      { id: `${engine}-shm-cold`, label: `${E}: shm, cold`, engine, instance: shm, path: "/app/", cookies: file(`${engine}-shm-pool.txt`), group: "protected" },
      { id: `${engine}-redis-warm`, label: `${E}: redis, warm`, engine, instance: redis, path: "/app/", cookies: file(`${engine}-redis-warm.txt`), group: "protected" },
      { id: `${engine}-redis-cold`, label: `${E}: redis, cold`, engine, instance: redis, path: "/app/", cookies: file(`${engine}-redis-pool.txt`), group: "protected" },
      { id: `${engine}-memcached-warm`, label: `${E}: memcached, warm`, engine, instance: memcached, path: "/app/", cookies: file(`${engine}-memcached-warm.txt`), group: "protected" },
      { id: `${engine}-memcached-cold`, label: `${E}: memcached, cold`, engine, instance: memcached, path: "/app/", cookies: file(`${engine}-memcached-pool.txt`), group: "protected" },
      { id: `${engine}-login`, label: `${E}: login`, engine, instance: cookie, path: "/login", login: true, group: "login" },
      { id: `${engine}-login-remember`, label: `${E}: login with remember`, engine, instance: cookie, path: "/login-remember", login: true, group: "login" },
      { id: `${engine}-refresh`, label: `${E}: touch on every request`, engine, instance: refresh, path: "/app/", cookies: file("refresh-warm.txt"), group: "refresh" },
    );
  }

  for (const instance of instances) {
    const dir = join(work, instance.name);
    mkdirSync(join(dir, "logs"), { recursive: true });
    writeFileSync(join(dir, "nginx.conf"), main(instance.cpuMask, dir, instance.http, !!instance.session, instance.stream));
    if (instance.session) writeFileSync(join(dir, "session.json"), JSON.stringify(instance.session, null, 2) + "\n");
  }
  const selected = settings.only.length ? scenarios.filter((s) => s.group === "bare" || settings.only.includes(s.id)) : scenarios;
  return { instances, scenarios: selected, pools };
}

function q(text: string): string {
  return "'" + text.replace(/'/g, "'\\''") + "'";
}

function wrkEnv(scenario: Scenario): string {
  const vars: string[] = [];
  if (scenario.cookies) vars.push(`BENCH_COOKIES=${q(scenario.cookies)}`);
  if (scenario.login) vars.push("BENCH_METHOD=POST", `BENCH_BODY=${q(LOGIN_BODY)}`);
  return vars.join(" ");
}

function url(instance: Instance, path: string): string {
  return `http://127.0.0.1:${instance.port}${path}`;
}

/** The plan: a straight list of drive-lib.sh calls, run inside the rootfs in one go. */
function plan(instances: Instance[], scenarios: Scenario[], pools: Array<[Instance, string]>): string {
  const out = join(work, "out");
  const lines = [
    "#!/usr/bin/env bash",
    `export BENCH_DIR=${q(join(repo, "bench"))} BENCH_CONNECTIONS=${settings.connections}`,
    `source ${q(join(repo, "bench", "drive-lib.sh"))}`,
    `versions ${q(join(out, "versions.txt"))}`,
    `start_stores ${REDIS_PORT} ${MEMCACHED_PORT}`,
  ];
  for (const instance of instances) lines.push(`start_nginx ${q(join(work, instance.name))} ${instance.port}`);
  for (const [instance, poolFile] of pools) {
    if (!scenarios.some((s) => s.cookies === poolFile || s.cookies === poolFile.replace("-pool.txt", "-warm.txt"))) continue;
    lines.push(`log "logging in ${settings.pool} times on ${instance.name} for its session pool"`);
    lines.push(`collect_cookies ${q(poolFile)} ${q(join(work, instance.name))} ${q(url(instance, "/login"))} ${settings.pool} BENCH_METHOD=POST BENCH_BODY=${q(LOGIN_BODY)}`);
    lines.push(`head -n1 ${q(poolFile)} >${q(poolFile.replace("-pool.txt", "-warm.txt"))}`);
  }
  lines.push(`log "warming up"`);
  for (const s of scenarios) {
    lines.push(`run_wrk ${q(join(out, `${s.id}.warmup.json`))} ${q(join(work, s.instance.name))} ${q(url(s.instance, s.path))} 1s ${wrkEnv(s)}`);
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
  for (const instance of instances) lines.push(`stop_nginx ${q(join(work, instance.name))}`);
  return lines.join("\n") + "\n";
}

function readJson(path: string): any {
  return JSON.parse(readFileSync(path, "utf8"));
}

function collect(instances: Instance[], scenarios: Scenario[]): RawResults {
  const out = join(work, "out");
  const results: ScenarioResult[] = scenarios.map((s) => ({
    id: s.id,
    label: s.label,
    engine: s.engine,
    group: s.group,
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
      worker: "one nginx worker pinned to core 0; wrk -t1 and the upstream nginx on core 1",
    },
    scenarios: results,
    rss,
    log_problems: logProblems.slice(0, 20),
  };
}

async function mainRun(): Promise<void> {
  execFileSync("bash", [join(repo, "nginx", "provision.sh"), "wrk"], { stdio: "inherit" });
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
}

mainRun().catch((error) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
