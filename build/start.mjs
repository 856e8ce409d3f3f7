#!/usr/bin/env node
// `npm start`: installs what is missing, builds, and runs the demo (nginx/demo/) on
// http://127.0.0.1:8080 with cookie storage, in the project's nginx (the Debian-testing root
// filesystem of nginx/provision.sh, base packages only), or in NGINX_BIN's nginx without root.
//
// Environment: PORT (8080), NJS_SESSION_DEMO_APP_PORT (PORT + 1), NJS_SESSION_DEMO_IDLING_TIMEOUT
// (900 s), NJS_SESSION_DEMO_SECRET (default: the one kept in .cache/demo-<port>/secret, made on the
// first start, so that a restart does not log everybody out), NGINX_BIN (+ NGINX_MODULES_DIR): a
// host nginx with njs >= 0.9.9, run as the current user.
//
// Stopping: SIGINT, SIGTERM or SIGHUP (Ctrl-C, `kill` of this process or of npm, which forwards
// INT and TERM to us because package.json `exec`s node instead of leaving a shell in between)
// stops whatever runs (a build or provisioning step, or nginx) and everything it started, then
// exits 0. A second signal (a second later or more), or no exit within STOP_GRACE_MS, kills it all
// with SIGKILL.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.env.PORT || 8080);
const appPort = Number(process.env.NJS_SESSION_DEMO_APP_PORT || port + 1);
// One folder per port, so a test run of the demo never clobbers a demo someone is looking at.
const runtime = join(root, ".cache", `demo-${port}`);
const idlingTimeout = Number(process.env.NJS_SESSION_DEMO_IDLING_TIMEOUT || 900);
// Touch (re-issue the cookie, moving the idle clock) well before the idling timeout, so that a reload
// keeps the session alive even with the short timeouts the end-to-end test uses.
const touchThreshold = Math.max(1, Math.min(60, Math.floor(idlingTimeout / 3)));
const nginxBin = process.env.NGINX_BIN;
const STOP_GRACE_MS = 10_000;

function fail(message) {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

// ---- stopping ----------------------------------------------------------------------------------
// Every child runs in a process group of its own (detached), and is stopped by signalling the whole
// group: a signal to in-rootfs.sh alone would have to travel through bash, unshare and the
// namespace's PID 1 (which cannot even be given SIGINT), and provisioning has debootstrap and apt
// under bash. The group is everything the step started.
let current = null; // the running child
let stopping = false;
let stopAskedAt = 0;
// Ctrl-C reaches node twice (from the terminal, and forwarded by npm): a repeat this soon is the same
// request, not an impatient second one.
const SAME_REQUEST_MS = 1000;

function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

function stop(signal) {
  if (stopping) {
    if (Date.now() - stopAskedAt < SAME_REQUEST_MS) return;
    // Asked twice: no more waiting.
    if (current) signalGroup(current, "SIGKILL");
    process.exit(1);
  }
  stopping = true;
  stopAskedAt = Date.now();
  console.error(`\nnpm start: ${signal}: stopping${current ? "" : "."}`);
  if (!current) process.exit(0);
  // nginx treats SIGTERM and SIGINT alike (fast shutdown); SIGTERM also reaches the namespace's
  // PID 1 of in-rootfs.sh, which ignores SIGINT when started from a script.
  signalGroup(current, "SIGTERM");
  const child = current;
  setTimeout(() => {
    console.error(`npm start: still running after ${STOP_GRACE_MS / 1000} s: SIGKILL`);
    signalGroup(child, "SIGKILL");
  }, STOP_GRACE_MS).unref();
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => stop(signal));

// Should whoever started us vanish without a signal (npm SIGKILLed), stop as if told to, instead of
// leaving nginx serving with nobody to stop it.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent && !stopping) stop("parent process gone");
}, 1000).unref();

/** Runs a command in a process group of its own; resolves with its exit status (non-zero on a signal). */
function run(command, args, options = {}) {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"], detached: true, ...options });
    current = child;
    child.once("error", (e) => {
      console.error(`npm start: cannot run ${command}: ${e.message}`);
      current = null;
      done(127);
    });
    child.once("exit", (code, signal) => {
      current = null;
      // Members of the group may outlive its leader (a worker of a crashed nginx): take them along.
      signalGroup(child, "SIGKILL");
      done(signal ? 128 : code ?? 1);
    });
  });
}

async function step(command, args) {
  const status = await run(command, args);
  if (stopping) process.exit(0);
  if (status !== 0) fail(`${command} ${args.join(" ")} failed (exit status ${status})`);
}

// ---- checks before anything is touched --------------------------------------------------------
if (!nginxBin && process.getuid && process.getuid() !== 0) {
  fail(
    "the demo's nginx runs in a Debian-testing root filesystem (chroot, mount and PID namespaces),\n" +
      "which needs root. Run it as root, or without root with an nginx of yours (njs >= 0.9.9, QuickJS):\n" +
      "  NGINX_BIN=/usr/sbin/nginx npm start",
  );
}

/** null when 127.0.0.1:port can be bound (what nginx will do), else the error's code. */
function bindError(candidate) {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", (e) => done(e.code || String(e)));
    server.listen(candidate, "127.0.0.1", () => server.close(() => done(null)));
  });
}

// Before the build or the runtime folder: a demo already running on this port keeps its dist/,
// logs, pid file and secret untouched.
for (const [candidate, variable] of [[port, "PORT"], [appPort, "NJS_SESSION_DEMO_APP_PORT"]]) {
  const error = await bindError(candidate);
  if (error === "EADDRINUSE") {
    const ours = existsSync(join(root, ".cache", `demo-${candidate}`, "nginx.pid")) ? " (by another npm start?)" : "";
    fail(`127.0.0.1:${candidate} is already in use${ours}; nothing was changed. Stop that, or pick free ports: ${variable}=<port> npm start`);
  }
  if (error) fail(`cannot listen on 127.0.0.1:${candidate} (${error}; ${variable})`);
}

// ---- install, build, provision ------------------------------------------------------------------
function needsInstall() {
  // A node_modules that links to another checkout's is that checkout's to update: `npm ci` here
  // would empty the folder it points to, under whoever else is using it.
  if (existsSync(join(root, "node_modules")) && lstatSync(join(root, "node_modules")).isSymbolicLink()) return false;
  const marker = join(root, "node_modules", ".package-lock.json");
  return !existsSync(marker) || statSync(join(root, "package-lock.json")).mtimeMs > statSync(marker).mtimeMs;
}

if (needsInstall()) await step("npm", ["ci", "--no-audit", "--no-fund"]);
await step("node", ["build/build.mjs"]);
// Only nginx + njs: the stores and Test::Nginx are for `npm test`. With NGINX_BIN this checks the
// host nginx's njs version instead.
await step("bash", ["nginx/provision.sh", "--base"]);

// ---- the runtime folder ------------------------------------------------------------------------
mkdirSync(runtime, { recursive: true });
// nginx creates only the last level of a temp path (NGINX_BIN's are in here).
if (nginxBin) mkdirSync(join(runtime, "tmp"), { recursive: true });

function demoSecret() {
  if (process.env.NJS_SESSION_DEMO_SECRET) return process.env.NJS_SESSION_DEMO_SECRET;
  const file = join(runtime, "secret");
  try {
    // "wx": two starts racing for the same port never overwrite each other's secret.
    writeFileSync(file, randomBytes(32).toString("base64url") + "\n", { flag: "wx", mode: 0o600 });
  } catch (e) {
    if (e.code !== "EEXIST") throw e;
  }
  return readFileSync(file, "utf8").trim();
}

/** load_module for NGINX_BIN's js module: as nginx/provision.sh finds it, or none when built in. */
function hostJsModule() {
  let dir = process.env.NGINX_MODULES_DIR;
  if (!dir) {
    // nginx -V prints to stderr.
    const info = spawnSync(nginxBin, ["-V"], { encoding: "utf8" });
    const match = /--modules-path=(\S+)/.exec(`${info.stdout}${info.stderr}`);
    dir = match ? match[1] : join(dirname(nginxBin), "..", "modules");
  }
  const module = join(dir, "ngx_http_js_module.so");
  return existsSync(module) ? `load_module ${module};` : "# ngx_http_js_module is built into NGINX_BIN";
}

const fill = (text) => {
  let filled = text
    .replaceAll("@RUNTIME@", runtime)
    .replaceAll("@DIST@", join(root, "dist"))
    .replaceAll("@DEMO@", join(root, "nginx", "demo"))
    .replaceAll("@SNIPPETS@", join(root, "nginx"))
    .replaceAll("@PORT@", String(port))
    .replaceAll("@APP_PORT@", String(appPort))
    .replaceAll("@IDLING_TIMEOUT@", String(idlingTimeout))
    .replaceAll("@TOUCH_THRESHOLD@", String(touchThreshold));
  if (nginxBin) {
    // A host nginx: its js module may live elsewhere, and a packaged nginx's compiled-in temp
    // folders (/var/lib/nginx/...) are not writable without root: keep them in the runtime folder.
    filled = filled
      .replace(/^load_module \S*ngx_http_js_module\.so;$/m, hostJsModule())
      .replace(
        /^http \{$/m,
        "http {\n" +
          ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
            .map((kind) => `    ${kind}_temp_path ${join(runtime, "tmp", kind)};`)
            .join("\n"),
      );
  }
  return filled;
};
writeFileSync(join(runtime, "nginx.conf"), fill(readFileSync(join(root, "nginx", "demo", "nginx.conf"), "utf8")));
writeFileSync(join(runtime, "session.json"), fill(readFileSync(join(root, "nginx", "demo", "session.json"), "utf8")));

// ---- nginx ---------------------------------------------------------------------------------------
const env = { ...process.env, NJS_SESSION_DEMO_SECRET: demoSecret() };
// The demo listens on the host's loopback, where the browser is: no private network namespace.
delete env.NJS_SESSION_NETNS;
// -e: nginx opens its compiled-in error log before reading nginx.conf; keep that one ours too.
const nginxArgs = ["-p", runtime, "-e", join(runtime, "error.log"), "-c", join(runtime, "nginx.conf"), "-g", "daemon off;"];
const running = nginxBin
  ? run(nginxBin, nginxArgs, { env })
  : run("bash", [join(root, "nginx", "in-rootfs.sh"), "nginx", ...nginxArgs], { env });

console.log(`\nnjs-session demo: http://127.0.0.1:${port}/  (any name, password "demo"; Ctrl-C stops)`);
console.log(`nginx.conf: ${join(runtime, "nginx.conf")}   error.log: ${join(runtime, "error.log")}`);
console.log(`secret: ${process.env.NJS_SESSION_DEMO_SECRET ? "NJS_SESSION_DEMO_SECRET" : join(runtime, "secret")} (sessions survive a restart)\n`);

const status = await running;
if (stopping) process.exit(0);
fail(`nginx exited (status ${status}); see ${join(runtime, "error.log")}`);
