/**
 * `npm run fuzz`: hostile cookies and hostile login verdicts against a real nginx running
 * dist/session.js, under each njs engine, in both modes (js_access and auth_request), with cookie and
 * shm storage. The cases are test/fuzz/mutations.ts; this file runs them and judges the answers.
 *
 *   1. writes one nginx instance per storage (cookie, shm) for the engine: the protected locations in
 *      both modes, the login handler and a plain echo upstream (answers with the X-User it received);
 *      starts them in the project's rootfs (nginx/in-rootfs.sh) on the host network, ports
 *      FUZZ_PORT_BASE.. (19170..19178); they die with that command, which ends when this process
 *      closes its stdin: at the end, on failure, on Ctrl-C, or when this process is killed;
 *   2. a raw TCP server here is the login backend (answers verdict case n for `?v=n`) and the upstream
 *      of the sessions those verdicts made: it checks the exact bytes nginx sends it;
 *   3. seed sessions: cookie storage minted here with the core (same secret and options as nginx),
 *      shm storage by logging in through nginx; every seed must open (else the run proves nothing);
 *   4. sends FUZZ_REQUESTS requests per engine over raw sockets (byte-exact, keep-alive), counts the
 *      statuses per engine/storage/mode;
 *   5. stops nginx and reads error.log (level info, so our info lines are read too).
 *
 * It fails (exit 1, with the findings listed and saved to .cache/fuzz/findings.json) on:
 *   - any 5xx, or a request without an answer;
 *   - a session opened from a cookie whose MAC-covered or sealed bytes changed (a case not `intact`),
 *     or opened with another identity than the seed's;
 *   - after a hostile verdict: a control character (C0, DEL) or an extra line in any header nginx sends
 *     upstream or to the client, bytes after the request (smuggling), or an identity the upstream reads
 *     differently from the verdict's subject (truncated, trimmed, re-encoded);
 *   - error.log lines at [alert], [crit] or [emerg]; [error] lines of an exception not ours (ours go
 *     with a 500, counted above); the secret, the ikm, a seed's cookie value or session id anywhere but
 *     in nginx's own "client sent ..." lines (nginx itself prints request headers at info: docs/security.md,
 *     "What you must do"); in our lines, any base64url run as long as a session id.
 *
 * Environment:
 *   FUZZ_REQUESTS     requests per engine (20000: about 20 s per engine here; the long run: 1000000)
 *   FUZZ_ENGINES      "njs qjs"
 *   FUZZ_SEED         1: which cases; the seed sessions are new on every run, the mutations are not
 *   FUZZ_CASE         run only that case number and print its requests and answers (a reproducer)
 *   FUZZ_CONNECTIONS  16 concurrent clients
 *   FUZZ_PORT_BASE    19170: the backend, then four ports per engine (up to base + 8)
 *   FUZZ_WORK         .cache/fuzz (relative to the repo, which is all nginx sees of the host)
 *   FUZZ_JS_PATH      dist: the directory holding session.js (e.g. a deliberately broken one)
 *   NJS_SESSION_ROOTFS as for nginx/in-rootfs.sh
 */

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createReadStream, mkdirSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createSessionLibrary } from "../../src/core/api";
import { HEADER_ENCODED_SIZE, SID_OFFSET, SID_SIZE } from "../../src/core/format";
import { createMemoryExchange } from "../../src/core/memory-exchange";
import { createNodePlatform } from "../../src/platform/node";
import { caseRandom, cookieCase, type CookieCase, Random, type Seed, verdictCase, type VerdictCase } from "./mutations";

// Node's process: njs-types, global in this tsconfig, declares njs's under the same name.
const process = (globalThis as unknown as { process: NodeJS.Process }).process;
/** One char per byte. Cast: njs-types, global in this tsconfig, narrows BufferEncoding to njs's four. */
const LATIN1 = "latin1" as unknown as BufferEncoding;

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** Inside the repo: nginx sees the repo at the same path in the rootfs, and nothing else of the host. */
const work = resolve(repo, process.env.FUZZ_WORK || ".cache/fuzz");

type Engine = "njs" | "qjs";
type Storage = "cookie" | "shm";
type Mode = "access" | "auth";

const settings = {
  requests: Number(process.env.FUZZ_REQUESTS || 20000),
  engines: (process.env.FUZZ_ENGINES || "njs qjs").split(/[\s,]+/).filter(Boolean) as Engine[],
  seed: Number(process.env.FUZZ_SEED || 1),
  connections: Number(process.env.FUZZ_CONNECTIONS || 16),
  portBase: Number(process.env.FUZZ_PORT_BASE || 19170),
  only: process.env.FUZZ_CASE === undefined || process.env.FUZZ_CASE === "" ? null : Number(process.env.FUZZ_CASE),
};
for (const engine of settings.engines) if (engine !== "njs" && engine !== "qjs") throw new Error("FUZZ_ENGINES: unknown engine " + engine);

/** Passed to nginx through the environment (in-rootfs.sh passes NJS_SESSION_*), never written to a file. */
const SECRET = randomBytes(32).toString("base64url");
const SECRET_ENV = "NJS_SESSION_FUZZ_SECRET";

/**
 * The session.json of docs/configuration.md (nginx/examples/session.json), with timeouts long enough for a long run (the seeds must stay valid) and
 * remember cookies derived with PBKDF2 at "Low" (the default "Medium" costs a tampered remember cookie
 * 10,000 iterations, which would make the fuzz measure PBKDF2).
 */
const SESSION_OPTIONS = {
  audience: "app",
  cookie_secure: true,
  idling_timeout: 86400,
  rolling_timeout: 86400,
  absolute_timeout: 604800,
  remember_safety: "Low" as const,
};
const ENTRY_OPTIONS = { expose_data: ["name"], clear_request_cookie: true };
const PUBLISHED = "id audience subject timeout idling_timeout rolling_timeout absolute_timeout";

// -------------------------------------------------------------------------------------------------
// Instances

interface Instance {
  engine: Engine;
  storage: Storage;
  dir: string;
  port: number;
  echoPort: number;
  seeds: Seed[];
}

const backendPort = settings.portBase;
/** Where session.js is: dist/, or a mutant of it (to show that a broken check is caught). */
const jsPath = resolve(repo, process.env.FUZZ_JS_PATH || "dist");

function instanceConf(instance: Instance): string {
  const dir = instance.dir;
  const app = `proxy_set_header X-User $session_subject; proxy_pass http://127.0.0.1:${instance.echoPort}`;
  // Every output the module publishes, toward the raw upstream that checks its bytes.
  const published = `set $session_config_request_headers "${PUBLISHED}";
            set $session_config_response_headers "${PUBLISHED}";
            include ${repo}/nginx/session-upstream.conf;
            proxy_set_header X-User $session_subject;
            proxy_set_header X-Audience $session_audience;
            proxy_set_header X-Sid $session_id;
            proxy_set_header X-Timeout $session_timeout;
            proxy_set_header X-Exists $session_exists;
            proxy_set_header X-Data $session_data;
            proxy_set_header X-Data-Name $session_data_name;
            proxy_pass http://127.0.0.1:${backendPort}`;
  return `load_module /usr/lib/nginx/modules/ngx_http_js_module.so;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
env NJS_SESSION_CONFIG=${dir}/session.json;
env ${SECRET_ENV};
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 10000000;
    js_engine ${instance.engine};
    js_path ${jsPath}/;
    include ${repo}/nginx/njs-session.conf;
    variables_hash_max_size 2048;
    js_var $session_data_name;
    large_client_header_buffers 4 64k;
${instance.storage === "shm" ? "    js_shared_dict_zone zone=sessions:128m timeout=1d;\n" : ""}
    server {
        listen 127.0.0.1:${instance.echoPort};
        location / { return 200 "fuzz-subject:$http_x_user\\n"; }
    }
    server {
        listen 127.0.0.1:${instance.port};
        # Remember cookies are read where remember is on: here, so that the tampered ones are tried too.
        location /access/ { set $session_config_remember on; js_access session.access; ${app}; }
        location /auth/ {
            set $session_config_remember on;
            include ${repo}/nginx/session-auth-request.conf;
            ${app};
        }
        location = /_session_auth { internal; js_content session.authRequest; }

        location = /login { js_content session.login; }
        location = /_session_login_backend {
            internal;
            # Verdicts of up to ~200 KiB: the fuzz sends huge ones on purpose.
            proxy_buffer_size 256k;
            proxy_buffers 4 256k;
            proxy_pass http://127.0.0.1:${backendPort}/check-login$is_args$args;
        }

        location /vaccess/ {
            js_access session.access;
            ${published};
        }
        location /vauth/ {
            include ${repo}/nginx/session-auth-request.conf;
            auth_request_set $session_data_name $sent_http_x_session_data_name;
            ${published};
        }
    }
}
`;
}

function sessionJson(storage: Storage): object {
  return {
    secret: { env: SECRET_ENV },
    ...SESSION_OPTIONS,
    ...(storage === "shm" ? { storage: "shm", shm: { zone: "sessions" }, hash_storage_key: true, store_metadata: true } : {}),
    nginx: ENTRY_OPTIONS,
  };
}

/** nginx for these instances, inside the rootfs; it lives exactly as long as our end of its stdin. */
function startNginx(instances: Instance[]): ChildProcess {
  const script = 'for d in "$@"; do nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" || exit 1; done; exec cat >/dev/null';
  const child = spawn("bash", [join(repo, "nginx/in-rootfs.sh"), "bash", "-c", script, "sh", ...instances.map((i) => i.dir)], {
    cwd: repo,
    env: { ...process.env, NJS_SESSION_NETNS: "0", [SECRET_ENV]: SECRET },
    stdio: ["pipe", "inherit", "inherit"],
  });
  running.add(child);
  child.on("exit", () => running.delete(child));
  return child;
}

const running = new Set<ChildProcess>();

function stopAll(): void {
  for (const child of running) child.stdin?.end();
}

async function stopNginx(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.stdin?.end();
  await once(child, "exit");
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error("nginx did not start (see the error.log under " + work + ")");
    const ok = await new Promise<boolean>((done) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.on("connect", () => {
        socket.destroy();
        done(true);
      });
      socket.on("error", () => done(false));
    });
    if (ok) return;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error("nothing answers on port " + port);
}

// -------------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client: the bytes we write are the bytes nginx reads.

interface Reply {
  /** 0: the connection ended without an answer. */
  status: number;
  /** The status line and header lines, Latin-1. */
  head: string;
  body: Buffer;
}

class Connection {
  private socket: net.Socket | null = null;
  private buffer = Buffer.alloc(0);
  private waiting: ((reply: Reply | null) => void) | null = null;
  private used = false;
  constructor(private port: number) {}

  async send(request: Buffer): Promise<Reply> {
    const reused = this.used && this.socket !== null;
    let reply = await this.attempt(request);
    // A kept-alive connection may have been closed by nginx just before we wrote: try a fresh one.
    if (reply === null && reused) reply = await this.attempt(request);
    return reply || { status: 0, head: "", body: Buffer.alloc(0) };
  }

  private connect(): net.Socket {
    const socket = net.connect(this.port, "127.0.0.1");
    socket.setNoDelay(true);
    this.buffer = Buffer.alloc(0);
    this.used = false;
    // A socket given up (after "Connection: close") may still report: it has nothing to say any more.
    socket.on("data", (data) => {
      if (this.socket !== socket) return;
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, data]) : data;
      this.parse(false);
    });
    const ended = (): void => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.parse(true);
    };
    socket.on("close", ended);
    socket.on("error", () => undefined);
    return socket;
  }

  private attempt(request: Buffer): Promise<Reply | null> {
    if (!this.socket) this.socket = this.connect();
    return new Promise((done) => {
      this.waiting = done;
      this.socket!.write(request);
    });
  }

  private finish(reply: Reply | null, close: boolean): void {
    const waiting = this.waiting;
    this.waiting = null;
    this.used = true;
    if (close && this.socket) {
      this.socket.destroy();
      this.socket = null;
    }
    if (waiting) waiting(reply);
  }

  private parse(closed: boolean): void {
    if (!this.waiting) return;
    const end = this.buffer.indexOf("\r\n\r\n");
    if (end < 0) {
      if (closed) this.finish(null, true);
      return;
    }
    const head = this.buffer.subarray(0, end).toString(LATIN1);
    const status = Number(head.substring(9, 12));
    const lower = head.toLowerCase();
    const length = /\r\ncontent-length: *(\d+)/.exec(lower);
    const close = /\r\nconnection: *close/.test(lower);
    const start = end + 4;
    let body: Buffer | null = null;
    let consumed = start;
    if (status === 204 || status === 304) body = Buffer.alloc(0);
    else if (length) {
      const size = Number(length[1]);
      if (this.buffer.length >= start + size) {
        body = this.buffer.subarray(start, start + size);
        consumed = start + size;
      }
    } else if (/\r\ntransfer-encoding: *chunked/.test(lower)) {
      const chunked = dechunk(this.buffer, start);
      if (chunked) [body, consumed] = chunked;
    } else if (closed) {
      body = this.buffer.subarray(start);
      consumed = this.buffer.length;
    }
    if (body === null) {
      if (closed) this.finish(null, true);
      return;
    }
    this.buffer = this.buffer.subarray(consumed);
    this.finish({ status, head, body: Buffer.from(body) }, close || closed);
  }
}

function dechunk(buffer: Buffer, start: number): [Buffer, number] | null {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const line = buffer.indexOf("\r\n", at);
    if (line < 0) return null;
    const size = parseInt(buffer.subarray(at, line).toString(LATIN1), 16);
    if (buffer.length < line + 2 + size + 2) return null;
    if (size === 0) return [Buffer.concat(parts), line + 4];
    parts.push(buffer.subarray(line + 2, line + 2 + size));
    at = line + 2 + size + 2;
  }
}

function request(method: string, path: string, lines: string[], body = ""): Buffer {
  const head = [`${method} ${path} HTTP/1.1`, "Host: fuzz.test", ...lines];
  if (method === "POST") head.push("Content-Type: application/x-www-form-urlencoded", "Content-Length: " + Buffer.byteLength(body, LATIN1));
  return Buffer.from(head.join("\r\n") + "\r\n\r\n" + body, LATIN1);
}

// -------------------------------------------------------------------------------------------------
// Judging raw header blocks

/** Header names nginx may send the raw upstream of the verdict sessions. */
const UPSTREAM_HEADERS = new Set([
  "host", "connection", "cookie", "x-user", "x-audience", "x-sid", "x-timeout", "x-exists", "x-data", "x-data-name",
  "session-id", "session-audience", "session-subject", "session-timeout", "session-idling-timeout",
  "session-rolling-timeout", "session-absolute-timeout", "content-length", "content-type",
]);

/** Why a header block is unsafe: a control character in a value, a line nginx did not mean to send. */
function unsafeHead(head: string, allowed: Set<string> | null): string | null {
  const lines = head.split("\r\n");
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(":");
    if (colon <= 0) return "header line without a name: " + JSON.stringify(line.substring(0, 80));
    const name = line.substring(0, colon).toLowerCase();
    if (!/^[a-z0-9-]+$/.test(name)) return "odd header name " + JSON.stringify(name.substring(0, 80));
    if (name === "x-injected" || name.indexOf("smuggled") >= 0) return "injected header " + name;
    if (allowed && !allowed.has(name)) return "unexpected header " + name;
    const control = /[\x00-\x1f\x7f]/.exec(line.substring(colon + 1));
    if (control) return "control character 0x" + control[0].charCodeAt(0).toString(16).padStart(2, "0") + " in " + name;
  }
  return null;
}

function headerValues(head: string, name: string): string[] {
  const out: string[] = [];
  const prefix = name.toLowerCase() + ":";
  for (const line of head.split("\r\n")) {
    // Trimmed as an HTTP parser trims: what the application reads.
    if (line.toLowerCase().startsWith(prefix)) out.push(line.substring(prefix.length).replace(/^[ \t]+|[ \t]+$/g, ""));
  }
  return out;
}

function setCookies(head: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const line of headerValues(head, "set-cookie")) {
    const first = line.split(";")[0];
    const equals = first.indexOf("=");
    if (equals <= 0 || /max-age=0/i.test(line)) continue;
    pairs.push([first.substring(0, equals), first.substring(equals + 1)]);
  }
  return pairs;
}

// -------------------------------------------------------------------------------------------------
// The raw backend: login verdicts, and the upstream of the sessions they made

/** The verdict of case n (the backend and the driver derive it alike). */
function verdictOf(index: number): VerdictCase {
  return verdictCase(caseRandom(settings.seed, index));
}

/** Seed logins for shm storage: `?v=seed-K`. Even K: with a remember cookie. */
function seedVerdict(k: number): string {
  return JSON.stringify({ subject: "seed-shm-" + k, remember: k % 2 === 0, data: { name: "Seed " + k } });
}

function startBackend(): net.Server {
  const server = net.createServer((socket) => {
    let buffer = Buffer.alloc(0);
    let answered = false;
    socket.on("error", () => undefined);
    socket.on("data", (data) => {
      buffer = Buffer.concat([buffer, data]);
      const end = buffer.indexOf("\r\n\r\n");
      if (end < 0 || answered) {
        if (answered && buffer.length) smuggled.push(buffer.toString(LATIN1).substring(0, 200));
        return;
      }
      const head = buffer.subarray(0, end).toString(LATIN1);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      const total = end + 4 + (length ? Number(length[1]) : 0);
      if (buffer.length < total) return;
      answered = true;
      const extra = buffer.subarray(total);
      buffer = Buffer.alloc(0);
      socket.end(backendAnswer(head, extra));
    });
  });
  server.listen(backendPort, "127.0.0.1");
  return server;
}

const smuggled: string[] = [];

function backendAnswer(head: string, extra: Buffer): Buffer {
  const target = head.substring(0, head.indexOf("\r\n")).split(" ")[1] || "";
  const reply = (status: number, lines: string[], body: string): Buffer =>
    Buffer.from([`HTTP/1.1 ${status} X`, `Content-Length: ${Buffer.byteLength(body, LATIN1)}`, "Connection: close", ...lines].join("\r\n") + "\r\n\r\n" + body, LATIN1);
  const login = /^\/check-login\?v=(seed-)?(\d+)$/.exec(target);
  if (login) {
    const k = Number(login[2]);
    if (login[1]) return reply(200, ["X-Session-Login: " + seedVerdict(k)], "welcome");
    return reply(200, verdictOf(k).lines, "welcome");
  }
  const app = /^\/v(access|auth)\/(\d+)$/.exec(target);
  if (!app) return reply(404, [], "unknown");
  // The bytes the upstream got: one request, no control character, the verdict's exact identity.
  const problems: string[] = [];
  if (extra.length) problems.push("bytes after the request: " + JSON.stringify(extra.toString(LATIN1).substring(0, 80)));
  const unsafe = unsafeHead(head, UPSTREAM_HEADERS);
  if (unsafe) problems.push(unsafe);
  const subject = verdictOf(Number(app[2])).subject;
  for (const name of ["X-User", "Session-Subject"]) {
    for (const value of headerValues(head, name)) {
      if (value !== "" && (subject === undefined || value !== Buffer.from(subject, "utf8").toString(LATIN1))) {
        problems.push(`${name} reads ${JSON.stringify(value.substring(0, 60))}, the verdict's subject is ${JSON.stringify(subject === undefined ? null : subject.substring(0, 60))}`);
      }
    }
  }
  // The report travels as Latin-1: anything beyond ASCII as \uXXXX.
  const text = problems.join("; ").replace(/[\u007f-\uffff]/g, (ch) => "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0"));
  return reply(200, [], problems.length ? "bad: " + text : "ok");
}

// -------------------------------------------------------------------------------------------------
// Seeds

async function mintSeeds(): Promise<{ seeds: Seed[]; ikm: Uint8Array }> {
  const library = createSessionLibrary(createNodePlatform({ log: () => undefined }));
  library.init({ secret: SECRET, ...SESSION_OPTIONS });
  const seeds: Seed[] = [];
  const random = new Random(settings.seed);
  const kinds: Array<[string, boolean, number]> = [
    ["plain", false, 0],
    ["chunked", false, 9000],
    ["deflated", false, -6000],
    ["remember", true, 0],
    ["remember-chunked", true, 7000],
  ];
  for (let copy = 0; copy < 3; copy++) {
    for (const [label, remember, size] of kinds) {
      const exchange = createMemoryExchange({});
      const session = library.new(exchange);
      const subject = `seed-${label}-${copy}`;
      session.setSubject(subject);
      // Random text cannot be deflated (it stays large enough to chunk); repeated text can.
      const name = size > 0 ? randomBase64(random, size) : size < 0 ? "ab".repeat(-size / 2) : "Seed " + copy;
      session.setData({ name });
      if (remember) session.setRemember(true);
      const saved = await session.save();
      if (!saved.ok) throw new Error("minting a seed failed: " + saved.error);
      seeds.push(seedFrom("cookie/" + label, subject, exchange.responseCookies.map(firstPair)));
    }
  }
  return { seeds, ikm: library.settings().ikm };
}

function randomBase64(random: Random, size: number): string {
  return random.bytes(Math.ceil((size * 3) / 4)).toString("base64url").substring(0, size);
}

function firstPair(line: string): [string, string] {
  const first = line.split(";")[0];
  const equals = first.indexOf("=");
  return [first.substring(0, equals), first.substring(equals + 1)];
}

function seedFrom(label: string, subject: string, pairs: Array<[string, string]>): Seed {
  const inOrder = (a: [string, string], b: [string, string]): number => a[0].length - b[0].length || a[0].localeCompare(b[0]);
  const chunks = pairs.filter((pair) => /^session\d?$/.test(pair[0])).sort(inOrder);
  const remember = pairs.filter((pair) => /^remember\d?$/.test(pair[0])).sort(inOrder);
  if (!chunks.length) throw new Error("no session cookie for seed " + label);
  return { label, subject, chunks, remember: remember.length ? remember : undefined };
}

async function loginSeeds(instance: Instance): Promise<Seed[]> {
  const connection = new Connection(instance.port);
  const seeds: Seed[] = [];
  for (let k = 0; k < 6; k++) {
    const reply = await connection.send(request("POST", `/login?v=seed-${k}`, [], "user=seed"));
    const pairs = setCookies(reply.head);
    if (reply.status !== 200 || !pairs.length) throw new Error(`seed login on ${instance.engine}/${instance.storage} answered ${reply.status} without a session`);
    seeds.push(seedFrom(`${instance.storage}/${k % 2 === 0 ? "remember" : "plain"}`, "seed-shm-" + k, pairs));
  }
  return seeds;
}

// -------------------------------------------------------------------------------------------------
// Running cases

interface Finding {
  engine: Engine;
  storage: Storage;
  mode: Mode | "login" | "log";
  case: number;
  family: string;
  seed?: string;
  what: string;
  request: string;
  reply: string;
}

/**
 * Findings grouped by where and what (a long run against a known bug finds it thousands of times):
 * the count and the first examples of each group, with their case numbers.
 */
interface FindingGroup {
  key: string;
  count: number;
  /** The families' details seen in this group, e.g. "C0-08@inside" of "subject:C0-08@inside". */
  variants: string[];
  examples: Finding[];
}
const findings = new Map<string, FindingGroup>();
let findingCount = 0;
const EXAMPLES_KEPT = 2;
const VARIANTS_KEPT = 40;
const GROUPS_SHOWN = 40;

function addFinding(finding: Finding): void {
  findingCount++;
  const colon = finding.family.indexOf(":");
  const family = colon < 0 ? finding.family : finding.family.substring(0, colon);
  const variant = colon < 0 ? "" : finding.family.substring(colon + 1).replace(/@\w+$/, "");
  // The kind of finding without the case's own values (what a header read, ids, connection numbers).
  const kind = finding.family === "error.log"
    ? finding.what + ": " + finding.reply.replace(/^"\S+ \S+ /, "").replace(/\d+#\d+: (\*\d+ )?|[A-Za-z0-9_-]{16,}|, client: .*$/g, "").substring(0, 100)
    : finding.what.replace(/"(?:[^"\\]|\\.)*"/g, "\"…\"").replace(/\(fuzz-subject:.*\)/, "").replace(/0x[0-9a-f]{2}/g, "0x..");
  const key = `${finding.engine} ${finding.storage} ${finding.mode} [${family}] ${kind}`;
  let group = findings.get(key);
  if (!group) findings.set(key, (group = { key, count: 0, variants: [], examples: [] }));
  group.count++;
  if (variant && group.variants.length < VARIANTS_KEPT && group.variants.indexOf(variant) < 0) group.variants.push(variant);
  if (group.examples.length < EXAMPLES_KEPT) group.examples.push(finding);
}

interface Counts {
  [key: string]: { [status: string]: number };
}

function count(counts: Counts, key: string, status: number | string): void {
  const table = (counts[key] = counts[key] || {});
  table[status] = (table[status] || 0) + 1;
}

function shown(buffer: Buffer | string, limit = 600): string {
  const text = typeof buffer === "string" ? buffer : buffer.toString(LATIN1);
  return JSON.stringify(text.length > limit ? text.substring(0, limit) + `... (${text.length} bytes)` : text);
}

/** One case: a cookie case against one instance and mode, or a verdict with its follow-ups. */
async function runCase(index: number, instances: Instance[], lanes: Map<number, Connection>, counts: Counts, verbose: boolean): Promise<number> {
  const random = caseRandom(settings.seed, index);
  const instance = instances[random.below(instances.length)];
  const where = `${instance.engine} ${instance.storage}`;
  const lane = lanes.get(instance.port)!;
  const note = (mode: Finding["mode"], family: string, what: string, sent: Buffer, reply: Reply, seed?: string): void => {
    addFinding({ engine: instance.engine, storage: instance.storage, mode, case: index, family, seed, what, request: shown(sent), reply: shown(reply.head + "\r\n\r\n" + reply.body.toString(LATIN1)) });
  };
  const judge = (mode: Finding["mode"], family: string, sent: Buffer, reply: Reply, seed?: string): void => {
    count(counts, `${where} ${mode}`, reply.status || "no answer");
    if (verbose) process.stdout.write(`--- ${mode} ${family}\n>>> ${shown(sent, 4000)}\n<<< ${reply.status} ${shown(reply.head + "\r\n\r\n" + reply.body.toString(LATIN1), 4000)}\n`);
    if (reply.status === 0) note(mode, family, "no answer", sent, reply, seed);
    else if (reply.status >= 500) note(mode, family, "status " + reply.status, sent, reply, seed);
    const unsafe = reply.status ? unsafeHead(reply.head, null) : null;
    if (unsafe) note(mode, family, "response header: " + unsafe, sent, reply, seed);
  };

  if (random.chance(0.08)) {
    // A hostile verdict (the backend derives it from the same case number), then its session.
    const verdict = verdictOf(index);
    const login = request("POST", `/login?v=${index}`, [], "user=fuzz&password=fuzz");
    const reply = await lane.send(login);
    judge("login", verdict.family, login, reply);
    const pairs = setCookies(reply.head);
    if (!pairs.length) return 1;
    const cookie = "Cookie: " + pairs.map((pair) => pair[0] + "=" + pair[1]).join("; ");
    for (const mode of ["access", "auth"] as const) {
      const sent = request("GET", `/v${mode}/${index}`, [cookie]);
      const answer = await lane.send(sent);
      judge(mode, verdict.family, sent, answer);
      const body = answer.body.toString(LATIN1);
      if (answer.status === 200 && body !== "ok") note(mode, verdict.family, "upstream " + body, sent, answer);
    }
    return 3;
  }

  const seed = random.pick(instance.seeds);
  const mutation: CookieCase = cookieCase(random, seed);
  const mode: Mode = random.chance(0.5) ? "access" : "auth";
  const sent = request("GET", `/${mode}/x`, mutation.cookieLines.map((line) => "Cookie: " + line));
  const reply = await lane.send(sent);
  judge(mode, mutation.family, sent, reply, seed.label);
  count(counts, `families ${mutation.intact ? "intact" : "tampered"}`, reply.status === 200 ? "opened" : "refused");
  if (reply.status === 200) {
    const identity = reply.body.toString(LATIN1).replace(/\n$/, "");
    if (!mutation.intact) note(mode, mutation.family, "tampered cookie opened a session (" + identity + ")", sent, reply, seed.label);
    else if (identity !== "fuzz-subject:" + seed.subject) note(mode, mutation.family, "opened with another identity: " + identity, sent, reply, seed.label);
  } else if (mutation.family === "control:intact" && reply.status !== 0 && reply.status < 500) {
    note(mode, mutation.family, "an untouched seed did not open (status " + reply.status + ")", sent, reply, seed.label);
  }
  return 1;
}

// -------------------------------------------------------------------------------------------------
// error.log

interface LogScan {
  lines: number;
  levels: { [level: string]: number };
  /** Our own lines by reason, request ids and numbers stripped. */
  reasons: { [reason: string]: number };
  /** nginx's own info lines that print request headers (not ours; counted, see docs/security.md). */
  nginxHeaderEchoes: number;
}

/** What must never be in error.log: the secret, the ikm, seed cookie values and session ids. */
function secretsOf(ikm: Uint8Array, seeds: Seed[]): Array<[string, string]> {
  const out: Array<[string, string]> = [["the secret", SECRET]];
  const key = Buffer.from(ikm);
  out.push(["the ikm (base64url)", key.toString("base64url")], ["the ikm (base64)", key.toString("base64").replace(/=+$/, "")], ["the ikm (hex)", key.toString("hex")]);
  for (const seed of seeds) {
    for (const [name, value] of [...seed.chunks, ...(seed.remember || [])]) {
      out.push([`cookie ${name} of seed ${seed.label}`, value]);
      if (name === "session" || name === "remember") {
        const sid = Buffer.from(value.substring(0, HEADER_ENCODED_SIZE), "base64url").subarray(SID_OFFSET, SID_OFFSET + SID_SIZE);
        out.push([`session id of seed ${seed.label}`, sid.toString("base64url")], [`session id (hex) of seed ${seed.label}`, sid.toString("hex")]);
      }
    }
  }
  return out;
}

const EXCEPTION = /js exception|TypeError|SyntaxError|RangeError|ReferenceError|InternalError|unexpected error|uncaught/i;
/** nginx's own lines that quote request headers (at info: client errors). */
const NGINX_HEADER_ECHO = /client sent (too long header line|invalid header line|too large request|invalid request)/;

async function scanLog(instance: Instance, ikm: Uint8Array): Promise<LogScan> {
  const scan: LogScan = { lines: 0, levels: {}, reasons: {}, nginxHeaderEchoes: 0 };
  const secrets = secretsOf(ikm, instance.seeds);
  const input = createInterface({ input: createReadStream(join(instance.dir, "error.log"), LATIN1), crlfDelay: Infinity });
  const found = (what: string, line: string): void => {
    addFinding({ engine: instance.engine, storage: instance.storage, mode: "log", case: -1, family: "error.log", what, request: "", reply: shown(line, 400) });
  };
  for await (const line of input) {
    scan.lines++;
    const level = (/\[(\w+)\]/.exec(line) || ["", "?"])[1];
    scan.levels[level] = (scan.levels[level] || 0) + 1;
    if (level === "alert" || level === "crit" || level === "emerg") found(`[${level}] line in error.log`, line);
    const ours = line.indexOf("[session]") >= 0;
    // Ours name the error a 500 carries (already a finding); anything else is an exception nobody caught.
    if (level === "error" && !ours && EXCEPTION.test(line)) found("exception in error.log", line);
    if (ours) {
      const reason = line.substring(line.indexOf("[session]")).replace(/\(request [^)]*\)|, client:.*$|\d+/g, "").trim();
      scan.reasons[reason] = (scan.reasons[reason] || 0) + 1;
      const long = /[A-Za-z0-9_-]{43,}/.exec(line.substring(line.indexOf("[session]")));
      if (long) found("a session-id-sized base64url run in our log line", line);
    }
    const echo = NGINX_HEADER_ECHO.test(line);
    if (echo) scan.nginxHeaderEchoes++;
    for (const [what, secret] of secrets) {
      if (line.indexOf(secret) < 0) continue;
      // nginx's own client-error lines quote the request: the seed cookies the fuzz sent, not a leak of ours.
      if (echo && !what.startsWith("the ")) continue;
      found(what + " in error.log", line);
    }
  }
  return scan;
}

// -------------------------------------------------------------------------------------------------

interface EngineResult {
  engine: Engine;
  requests: number;
  seconds: number;
  counts: Counts;
  logs: { [storage: string]: LogScan };
}

async function runEngine(engine: Engine, minted: { seeds: Seed[]; ikm: Uint8Array }, engineIndex: number): Promise<EngineResult> {
  const base = settings.portBase + 1 + engineIndex * 4;
  const instances: Instance[] = (["cookie", "shm"] as const).map((storage, i) => ({
    engine,
    storage,
    dir: join(work, `${engine}-${storage}`),
    port: base + i * 2,
    echoPort: base + i * 2 + 1,
    seeds: storage === "cookie" ? minted.seeds : [],
  }));
  for (const instance of instances) {
    rmSync(instance.dir, { recursive: true, force: true });
    mkdirSync(instance.dir, { recursive: true });
    writeFileSync(join(instance.dir, "nginx.conf"), instanceConf(instance));
    writeFileSync(join(instance.dir, "session.json"), JSON.stringify(sessionJson(instance.storage), null, 2) + "\n");
  }
  const nginx = startNginx(instances);
  const counts: Counts = {};
  let sent = 0;
  try {
    for (const instance of instances) await waitForPort(instance.port, nginx);
    const shm = instances[1];
    shm.seeds = await loginSeeds(shm);
    // Every seed must open in both modes, and its remember cookie alone too, or the mutations start
    // from nothing (a case's `intact` only permits opening).
    for (const instance of instances) {
      const connection = new Connection(instance.port);
      for (const seed of instance.seeds) {
        const sets: Array<[string, Array<[string, string]>]> = [["its cookies", [...seed.chunks, ...(seed.remember || [])]]];
        if (seed.remember) sets.push(["its remember cookie alone", seed.remember]);
        for (const [what, pairs] of sets) {
          for (const mode of ["access", "auth"] as const) {
            const reply = await connection.send(request("GET", `/${mode}/seed`, ["Cookie: " + pairs.map((p) => p[0] + "=" + p[1]).join("; ")]));
            if (reply.status !== 200 || reply.body.toString(LATIN1) !== `fuzz-subject:${seed.subject}\n`) {
              throw new Error(`seed ${seed.label} (${seed.subject}) does not open from ${what} on ${engine}/${instance.storage}/${mode}: ${reply.status} ${shown(reply.body)}`);
            }
          }
        }
      }
    }
    const fuzzStart = Date.now();
    if (settings.only !== null) {
      const lanes = new Map(instances.map((i) => [i.port, new Connection(i.port)] as [number, Connection]));
      sent = await runCase(settings.only, instances, lanes, counts, true);
    } else {
      let next = 0;
      let lastReport = Date.now();
      const lane = async (): Promise<void> => {
        const lanes = new Map(instances.map((i) => [i.port, new Connection(i.port)] as [number, Connection]));
        while (sent < settings.requests) {
          const index = next++;
          // Not `sent += await ...`: that reads `sent` before the await and loses the other lanes' requests.
          const requests = await runCase(index, instances, lanes, counts, false);
          sent += requests;
          if (Date.now() - lastReport > 30000) {
            lastReport = Date.now();
            const seconds = (Date.now() - fuzzStart) / 1000;
            process.stderr.write(`fuzz: ${engine}: ${sent} requests in ${seconds.toFixed(0)} s (${(sent / seconds).toFixed(0)}/s), ${findingCount} findings\n`);
          }
        }
      };
      await Promise.all(Array.from({ length: settings.connections }, lane));
    }
    const seconds = (Date.now() - fuzzStart) / 1000;
    await stopNginx(nginx);
    const logs: { [storage: string]: LogScan } = {};
    for (const instance of instances) logs[instance.storage] = await scanLog(instance, minted.ikm);
    return { engine, requests: sent, seconds, counts, logs };
  } finally {
    await stopNginx(nginx);
  }
}

function report(results: EngineResult[]): string {
  const out: string[] = [];
  for (const result of results) {
    out.push(`${result.engine}: ${result.requests} requests in ${result.seconds.toFixed(1)} s (${(result.requests / result.seconds).toFixed(0)} req/s)`);
    for (const key of Object.keys(result.counts).sort()) {
      const table = result.counts[key];
      const cells = Object.keys(table).sort().map((status) => `${status}=${table[status]}`);
      out.push(`  ${key.replace(result.engine + " ", "").padEnd(20)} ${cells.join(" ")}`);
    }
    for (const storage of Object.keys(result.logs)) {
      const scan = result.logs[storage];
      const levels = Object.keys(scan.levels).sort().map((level) => `${level}=${scan.levels[level]}`).join(" ");
      out.push(`  error.log ${storage}: ${scan.lines} lines (${levels}); nginx's own header echoes: ${scan.nginxHeaderEchoes}`);
      const reasons = Object.entries(scan.reasons).sort((a, b) => b[1] - a[1]).slice(0, 8);
      for (const [reason, n] of reasons) out.push(`    ${String(n).padStart(8)}  ${reason.substring(0, 110)}`);
    }
  }
  return out.join("\n");
}

async function main(): Promise<void> {
  mkdirSync(work, { recursive: true });
  const backend = startBackend();
  await once(backend, "listening");
  const minted = await mintSeeds();
  const results: EngineResult[] = [];
  try {
    for (let i = 0; i < settings.engines.length; i++) {
      process.stderr.write(`fuzz: ${settings.engines[i]}: ${settings.only !== null ? "case " + settings.only : settings.requests + " requests"} (seed ${settings.seed})\n`);
      results.push(await runEngine(settings.engines[i], minted, i));
    }
  } finally {
    backend.close();
  }
  for (const text of smuggled) {
    addFinding({ engine: settings.engines[0], storage: "cookie", mode: "login", case: -1, family: "upstream", what: "a second request on an upstream connection", request: "", reply: shown(text) });
  }
  process.stdout.write(report(results) + "\n");
  const groups = [...findings.values()].sort((a, b) => b.count - a.count);
  writeFileSync(join(work, "results.json"), JSON.stringify({ date: new Date().toISOString(), seed: settings.seed, results, findings: findingCount }, null, 2) + "\n");
  writeFileSync(join(work, "findings.json"), JSON.stringify(groups, null, 2) + "\n");
  if (findingCount) {
    process.stdout.write(`\nFUZZ FAILED: ${findingCount} finding(s) in ${groups.length} group(s), all in ${join(work, "findings.json")}.\n` +
      `Reproduce a case with FUZZ_SEED=${settings.seed} FUZZ_CASE=<case> FUZZ_ENGINES=<engine> (fresh seeds, the same mutation).\n`);
    for (const group of groups.slice(0, GROUPS_SHOWN)) {
      const example = group.examples[0];
      const variants = group.variants.length ? `    variants: ${group.variants.join(" ")}\n` : "";
      process.stdout.write(`- ${group.count} x ${group.key}\n${variants}    e.g. case ${example.case}${example.seed ? " (seed " + example.seed + ")" : ""}: ${example.what.substring(0, 200)}\n` +
        (example.request ? `    request: ${example.request.substring(0, 240)}\n` : "") + `    reply:   ${example.reply.substring(0, 240)}\n`);
    }
    if (groups.length > GROUPS_SHOWN) process.stdout.write(`... and ${groups.length - GROUPS_SHOWN} more group(s)\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write("\nfuzz: no findings\n");
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    stopAll();
    process.exit(130);
  });
}
process.on("exit", stopAll);

main().catch((error) => {
  stopAll();
  process.stderr.write("fuzz: " + (error instanceof Error ? error.stack || error.message : String(error)) + "\n");
  process.exit(2);
});
