/**
 * `npm start` as a user runs it (build/start.mjs through real npm), on ports 18900–18999:
 *   - SIGINT or SIGTERM to npm, to node, or to the whole process group (what Ctrl-C does) stops
 *     nginx and every process the start created: each one seen while the demo ran is gone after;
 *   - a second start on a busy port fails with a message naming the port, before building, and
 *     leaves the running demo's files (pid file, logs, secret, nginx.conf) and service alone;
 *   - a restart keeps a session cookie valid (the secret kept in .cache/demo-<port>/secret).
 *
 *   node --import tsx --test test/e2e/start.test.ts
 *
 * Environment: NJS_SESSION_ROOTFS (passed on to the demo), NJS_SESSION_E2E_START_TIMEOUT_MS (180000).
 */

import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { REPO, waitPortsClosed } from "./demo-server";

// Node's process: tsconfig.json also loads njs-types, whose global `process` (njs's) hides Node's type.
const process = (globalThis as unknown as { process: NodeJS.Process }).process;

const START_TIMEOUT_MS = Number(process.env.NJS_SESSION_E2E_START_TIMEOUT_MS || 180_000);
const STOP_TIMEOUT_MS = 20_000;
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

function canBind(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", () => done(false));
    server.listen(port, "127.0.0.1", () => server.close(() => done(true)));
  });
}

/** P in 18900–18998 with P and P + 1 free (the demo and its app). */
async function freePortPair(): Promise<number> {
  const first = 18900 + Math.floor(Math.random() * 98);
  for (let i = 0; i < 98; i++) {
    const port = 18900 + ((first - 18900 + i) % 98);
    if ((await canBind(port)) && (await canBind(port + 1))) return port;
  }
  throw new Error("no two free ports in 18900-18999");
}

interface Started {
  npm: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const everything = new Set<ChildProcess>();
after(() => {
  // Last resort, should a test fail half-way: every process of each npm start still running. Not
  // its process group: start.mjs puts nginx in a group of its own, which would outlive npm's.
  for (const child of everything) {
    for (const p of processTree(child.pid!)) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
});

function npmStart(port: number, appPort = port + 1): Started {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), NJS_SESSION_DEMO_APP_PORT: String(appPort) };
  delete env.NGINX_BIN;
  delete env.NJS_SESSION_NETNS;
  delete env.NJS_SESSION_DEMO_SECRET;
  // detached: a process group of our own, standing for a terminal's foreground group.
  const npm = spawn("npm", ["start"], { cwd: REPO, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  everything.add(npm);
  let log = "";
  npm.stdout!.on("data", (chunk: Buffer) => (log += chunk.toString()));
  npm.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    npm.once("exit", (code, signal) => {
      everything.delete(npm);
      done({ code, signal });
    }),
  );
  return { npm, output: () => log, exit };
}

async function waitServing(started: Started, port: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exited = false;
  started.exit.then(() => (exited = true));
  for (;;) {
    assert.ok(!exited, `npm start exited before serving; its output:\n${started.output()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/login`, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not yet
    }
    assert.ok(Date.now() < deadline, `no answer on ${port} within ${START_TIMEOUT_MS} ms:\n${started.output()}`);
    await sleep(200);
  }
}

interface ProcessInfo {
  pid: number;
  ppid: number;
  startTime: string;
  state: string;
  command: string;
}

function readProcess(pid: number): ProcessInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may hold spaces: fields count from the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
    return { pid, state: fields[0], ppid: Number(fields[1]), startTime: fields[19], command };
  } catch {
    return null;
  }
}

/** npm's process and all its descendants, as they are now. */
function processTree(root: number): ProcessInfo[] {
  const all = readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProcess(Number(name)))
    .filter((info): info is ProcessInfo => info !== null);
  const tree: ProcessInfo[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    const info = all.find((p) => p.pid === pid);
    if (info) tree.push(info);
    for (const child of all) if (child.ppid === pid) queue.push(child.pid);
  }
  return tree;
}

/** Those of `seen` that still run (same pid and start time, not a zombie). */
function survivors(seen: ProcessInfo[]): ProcessInfo[] {
  return seen.filter((p) => {
    const now = readProcess(p.pid);
    return now !== null && now.startTime === p.startTime && now.state !== "Z";
  });
}

/** Sends `signal` to `target`, then checks that npm ended, both ports closed and nothing of the tree is left. */
async function stopAndCheck(started: Started, port: number, target: "npm" | "node" | "group", signal: NodeJS.Signals) {
  const tree = processTree(started.npm.pid!);
  const nginx = tree.filter((p) => p.command.startsWith("nginx: "));
  assert.ok(nginx.length >= 2, `nginx master and worker among npm's descendants:\n${tree.map((p) => p.command).join("\n")}`);
  const node = tree.find((p) => p.ppid === started.npm.pid && p.command.includes("build/start.mjs"));
  assert.ok(node, "node build/start.mjs is npm's child (package.json execs it)");
  const pid = target === "npm" ? started.npm.pid! : target === "node" ? node.pid : -started.npm.pid!;
  process.kill(pid, signal);

  const timeout = sleep(STOP_TIMEOUT_MS).then(() => null);
  const result = await Promise.race([started.exit, timeout]);
  assert.ok(result, `npm start still running ${STOP_TIMEOUT_MS} ms after ${signal} to ${target}:\n${started.output()}`);
  assert.deepEqual(result, { code: 0, signal: null }, `npm start exits 0 on ${signal}:\n${started.output()}`);
  assert.ok(await waitPortsClosed([port, port + 1], 5000), `ports ${port} and ${port + 1} closed`);
  const left = survivors(tree);
  assert.deepEqual(left.map((p) => `${p.pid} ${p.command}`), [], `nothing that npm start ran is left after ${signal} to ${target}`);
}

/** Logs in through the demo's form; returns the Cookie header to send back. */
async function logIn(port: number, name: string): Promise<string> {
  const base = `http://127.0.0.1:${port}`;
  // Whatever hidden fields and cookies the form comes with (a CSRF token, return_to) go back with it.
  const form = await fetch(`${base}/login?return_to=%2Fapp%2F`);
  const html = await form.text();
  const jar = new Map<string, string>();
  const keep = (response: Response) => {
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(";")[0];
      jar.set(pair.slice(0, pair.indexOf("=")), pair);
    }
  };
  keep(form);
  const body = new URLSearchParams();
  for (const input of html.match(/<input[^>]*type="hidden"[^>]*>/g) ?? []) {
    const field = /name="([^"]*)"/.exec(input);
    const value = /value="([^"]*)"/.exec(input);
    const text = value ? value[1] : "";
    const entities: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'" };
    if (field) body.set(field[1], text.replace(/&(amp|lt|gt|quot|#39);/g, (entity) => entities[entity]));
  }
  body.set("username", name);
  body.set("password", "demo");
  const login = await fetch(`${base}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: [...jar.values()].join("; ") },
    body,
  });
  await login.arrayBuffer();
  assert.ok([302, 303].includes(login.status), `login redirects (got ${login.status})`);
  keep(login);
  assert.ok(jar.has("session"), `the login sets the session cookie (got ${[...jar.keys()].join(", ")})`);
  return [...jar.values()].join("; ");
}

async function appStatus(port: number, cookie: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/app/`, { redirect: "manual", headers: { Cookie: cookie } });
  return { status: response.status, body: await response.text() };
}

/** What a second start must leave alone: every file of the running demo, by content and inode. */
function snapshot(runtime: string): Record<string, { inode: number; text: string }> {
  const files: Record<string, { inode: number; text: string }> = {};
  for (const name of ["nginx.pid", "error.log", "access.log", "secret", "nginx.conf", "session.json"]) {
    const path = join(runtime, name);
    if (!existsSync(path)) continue;
    files[name] = { inode: statSync(path).ino, text: readFileSync(path, "utf8") };
  }
  return files;
}

/**
 * The same files, none replaced; the logs only grown (nginx writes a request's access.log line after
 * its answer, so the running demo may still append to them), the others unchanged.
 */
function assertUntouched(after: ReturnType<typeof snapshot>, before: ReturnType<typeof snapshot>): void {
  assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort(), "the running demo's files are all still there");
  for (const name of Object.keys(before)) {
    assert.equal(after[name].inode, before[name].inode, `${name} is the same file`);
    if (name.endsWith(".log")) assert.ok(after[name].text.startsWith(before[name].text), `${name} only grew`);
    else assert.equal(after[name].text, before[name].text, `${name} is unchanged`);
  }
}

describe("npm start", { concurrency: false }, () => {
  let port = 0;
  let cookie = "";
  after(() => {
    // The runtime folder these starts made (a free port: nobody else's).
    if (port) rmSync(join(REPO, ".cache", `demo-${port}`), { recursive: true, force: true });
  });

  it("stops on SIGINT to npm, leaving nothing; a second start on its port fails before touching it", async () => {
    port = await freePortPair();
    const runtime = join(REPO, ".cache", `demo-${port}`);
    const first = npmStart(port);
    await waitServing(first, port);
    cookie = await logIn(port, "Ada");
    assert.equal((await appStatus(port, cookie)).status, 200);

    const before = snapshot(runtime);
    assert.ok(before["nginx.pid"] && before["secret"], "the running demo has a pid file and a secret");
    for (const [demoPort, appPort, busy] of [
      [port, port + 1, port], // the demo's port
      [port + 2, port + 1, port + 1], // a free port, but the app port of the running demo
    ]) {
      if (!(await canBind(demoPort))) continue; // port + 2 taken by someone else: nothing to learn
      const second = npmStart(demoPort, appPort);
      const env = { PORT: demoPort, APP: appPort };
      const result = await Promise.race([second.exit, sleep(30_000).then(() => null)]);
      assert.ok(result, `a second npm start on a busy port ends by itself (${JSON.stringify(env)})`);
      assert.notEqual(result.code, 0, "and fails");
      assert.match(second.output(), new RegExp(`127\\.0\\.0\\.1:${busy} is already in use`), "naming the busy port");
      assert.doesNotMatch(second.output(), /built dist\//, "before building anything");
    }
    assertUntouched(snapshot(runtime), before);
    assert.equal((await appStatus(port, cookie)).status, 200, "and it still serves the session");

    await stopAndCheck(first, port, "npm", "SIGINT");
  });

  it("a restart keeps the session; stops on SIGTERM to npm", async () => {
    const started = npmStart(port);
    await waitServing(started, port);
    const app = await appStatus(port, cookie);
    assert.equal(app.status, 200, "the cookie from before the restart still opens the session");
    assert.match(app.body, /Ada/);
    await stopAndCheck(started, port, "npm", "SIGTERM");
  });

  it("stops on SIGTERM to node", async () => {
    const started = npmStart(port);
    await waitServing(started, port);
    await stopAndCheck(started, port, "node", "SIGTERM");
  });

  it("stops on Ctrl-C (SIGINT to npm's whole process group)", async () => {
    const started = npmStart(port);
    await waitServing(started, port);
    await stopAndCheck(started, port, "group", "SIGINT");
  });
});
