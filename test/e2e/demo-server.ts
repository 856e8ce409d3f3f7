/**
 * Starts and stops the `npm start` demo (build/start.mjs) for the end-to-end test: on free ports, as a
 * child process in a process group of its own, with its output kept for the failure report.
 *
 * start.mjs builds dist/, provisions the rootfs (a no-op once done), writes .cache/demo-<port>/ and runs
 * nginx through nginx/in-rootfs.sh in the foreground; SIGTERM to start.mjs is passed down to nginx.
 * Should that not work, the whole process group gets SIGKILL: killing `unshare` (--kill-child) takes
 * down the namespace and with it nginx.
 */

import { ChildProcess, spawn } from "node:child_process";
import { createServer, Socket } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// Node's process: tsconfig.json also loads njs-types, whose global `process` (njs's) hides Node's type.
const process = (globalThis as unknown as { process: NodeJS.Process }).process;

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface DemoOptions {
  port: number;
  appPort: number;
  idlingTimeout: number;
  /** How long the demo may take to answer (build + provisioning included). */
  startTimeoutMs: number;
}

export interface Demo {
  readonly url: string;
  readonly port: number;
  readonly appPort: number;
  /** What start.mjs and nginx printed so far. */
  output(): string;
  /** SIGTERM (then SIGKILL to the group after graceMs); resolves once start.mjs has exited. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }>;
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** A TCP port nobody listens on right now on 127.0.0.1 (the kernel's pick; released before use). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? done(port) : fail(new Error("no port from the kernel"))));
    });
  });
}

/** Two different free ports. */
export async function freePorts(): Promise<[number, number]> {
  for (;;) {
    const a = await freePort();
    const b = await freePort();
    if (a !== b) return [a, b];
  }
}

/** true when something accepts TCP connections on 127.0.0.1:port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = new Socket();
    const finish = (listening: boolean) => {
      socket.destroy();
      done(listening);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
    socket.connect(port, "127.0.0.1");
  });
}

/** Waits until nothing listens on any of the ports; false if something still does after timeoutMs. */
export async function waitPortsClosed(ports: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let open = false;
    for (const port of ports) if (await isListening(port)) open = true;
    if (!open) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

// Demos still running when this process is told to stop (Ctrl-C, node --test's timeout): their
// process groups get SIGTERM on the way out, since they do not share this process's group.
const running = new Set<ChildProcess>();
let exitHooksInstalled = false;
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on("exit", () => {
    for (const child of running) killGroup(child, "SIGTERM");
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      for (const child of running) killGroup(child, "SIGTERM");
      process.kill(process.pid, signal);
    });
  }
}

export async function startDemo(options: DemoOptions): Promise<Demo> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(options.port),
    NJS_SESSION_DEMO_APP_PORT: String(options.appPort),
    NJS_SESSION_DEMO_IDLING_TIMEOUT: String(options.idlingTimeout),
  };
  // The demo must listen on the host's loopback, where the browser is (in-rootfs.sh would otherwise
  // give nginx a network namespace of its own when a caller such as build/prove.sh set this).
  delete env.NJS_SESSION_NETNS;
  delete env.NGINX_BIN;

  installExitHooks();
  const child = spawn(process.execPath, ["build/start.mjs"], {
    cwd: REPO,
    env,
    detached: true, // a process group of its own, so that a last-resort SIGKILL reaches every part
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let log = "";
  child.stdout!.on("data", (chunk: Buffer) => (log += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      running.delete(child);
      done(exited);
    });
  });
  child.once("error", (e) => (log += `\n[spawn error] ${e.message}\n`));

  const url = `http://127.0.0.1:${options.port}`;
  const demo: Demo = {
    url,
    port: options.port,
    appPort: options.appPort,
    output: () => log,
    async stop(graceMs = 10_000) {
      if (exited) return { ...exited, killed: false };
      child.kill("SIGTERM");
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        killGroup(child, "SIGKILL");
      }, graceMs);
      const result = await exit;
      clearTimeout(timer);
      return { ...result, killed };
    },
  };

  // Ready when nginx serves the login form, which the demo app upstream (same nginx) renders.
  const deadline = Date.now() + options.startTimeoutMs;
  for (;;) {
    if (exited) {
      throw new Error(`the demo exited (${JSON.stringify(exited)}) before it answered; its output:\n${log}`);
    }
    try {
      const response = await fetch(`${url}/login`, { redirect: "manual", signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 200) return demo;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await demo.stop(3000);
      throw new Error(`the demo did not answer on ${url}/login within ${options.startTimeoutMs} ms; its output:\n${log}`);
    }
    await sleep(100);
  }
}
