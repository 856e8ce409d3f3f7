/**
 * nginx and the stores (redis-server, redis-sentinel, memcached) from the provisioned rootfs
 * (nginx/in-rootfs.sh), started by a Node test so that it can talk to them: one in-rootfs shell per
 * nginx, the stores it is given beside it, all children of that shell. build/interop.sh runs the tests in a network namespace of their own
 * (loopback only), shared by Node and the rootfs, so the fixed ports below collide with no other run.
 *
 * The server root is inside the repository (the rootfs sees only the repository), under
 * .cache/interop-<name>/, and holds nginx.conf, session.json and the logs.
 */

import { ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { isListening, REPO } from "../e2e/demo-server";

const process = (globalThis as unknown as { process: NodeJS.Process }).process;
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

// Servers still running when this process exits (a test that threw before its after()) are killed
// with it, by one exit listener for all of them.
const running = new Set<(signal: NodeJS.Signals) => void>();
process.once("exit", () => running.forEach((killGroup) => killGroup("SIGKILL")));

export interface RootfsServers {
  /** The server root (logs/error.log, nginx.conf, session.json). */
  readonly directory: string;
  errorLog(): string;
  output(): string;
  /**
   * Stops the servers. Rejects, with their exit status, output and error log, if they had already
   * exited on their own: a test that then saw refused connections says why, instead of only that.
   */
  stop(): Promise<void>;
}

export interface RootfsOptions {
  /** Names the server root: .cache/interop-<name>. */
  name: string;
  /** Without one, only the stores run (the shell waits for them): Node is then their only client. */
  nginxConf?: string;
  sessionJson?: string;
  /** Ports that must accept connections before the servers count as started. */
  ports: number[];
  /**
   * Shell lines run in the rootfs before nginx starts: the stores, in the background, and whatever
   * must be ready before nginx takes requests (a cluster formed). They run under `set -e`.
   */
  stores: string;
  /** NJS_SESSION_* variables for nginx (in-rootfs.sh passes only those). */
  env: { [name: string]: string };
}

/**
 * Starts the servers, resolves once every port answers; rejects with their output otherwise. The
 * directory exists before `stores` runs: files a test makes there (certificates) are the stores' too.
 */
export async function startRootfsServers(options: RootfsOptions): Promise<RootfsServers> {
  const directory = resolve(REPO, ".cache", "interop-" + options.name);
  const pidFile = resolve(directory, "logs", "nginx.pid");
  if (options.nginxConf !== undefined && !options.nginxConf.includes("pid $DIR/logs/nginx.pid;"))
    throw new Error("startRootfsServers: the nginx.conf must say `pid $DIR/logs/nginx.pid;` (how its start is recognised)");
  // A port still held (an earlier test's nginx not gone yet) would make the readiness check below
  // answer for the wrong server, and the new nginx fail to bind and exit: wait until they are free.
  const freeBy = Date.now() + 20000;
  for (const port of options.ports) {
    while (await isListening(port)) {
      if (Date.now() > freeBy) throw new Error(`startRootfsServers(${options.name}): port ${port} is still in use by another server`);
      await sleep(100);
    }
  }
  rmSync(directory, { recursive: true, force: true });
  mkdirSync(resolve(directory, "logs"), { recursive: true });
  if (options.nginxConf !== undefined) writeFileSync(resolve(directory, "nginx.conf"), options.nginxConf.split("$DIR").join(directory));
  if (options.sessionJson !== undefined) writeFileSync(resolve(directory, "session.json"), options.sessionJson);
  const script =
    options.nginxConf === undefined
      ? `set -e
${options.stores}
wait`
      : `set -e
nginx -q -t -p "$1" -c "$1/nginx.conf" -e "$1/logs/error.log"
${options.stores}
exec nginx -p "$1" -c "$1/nginx.conf" -e "$1/logs/error.log" -g "daemon off;"`;
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.NJS_SESSION_NETNS; // the caller's namespace (build/interop.sh's), shared with Node
  const child: ChildProcess = spawn("bash", ["nginx/in-rootfs.sh", "bash", "-c", script, "sh", directory], {
    cwd: REPO,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout!.on("data", (chunk: Buffer) => (log += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
  let exited = false;
  let stopping = false;
  let exitedEarly = "";
  const started = Date.now();
  const exit = new Promise<void>((done) =>
    child.on("exit", (code, signal) => {
      exited = true;
      if (!stopping) exitedEarly = `exited on their own ${Date.now() - started} ms after the start (status ${code}, signal ${signal})`;
      running.delete(killGroup);
      done();
    }),
  );
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), signal);
    } catch {
      // already gone
    }
  };
  running.add(killGroup);

  const servers: RootfsServers = {
    directory,
    errorLog: () => {
      try {
        return readFileSync(resolve(directory, "logs", "error.log"), "utf8");
      } catch {
        return "";
      }
    },
    output: () => log,
    stop: async () => {
      stopping = true;
      if (exitedEarly) throw new Error(`the rootfs servers (${options.name}) ${exitedEarly}:\n${log}\n${servers.errorLog()}`);
      if (exited) return;
      killGroup("SIGTERM");
      const stopped = await Promise.race([exit.then(() => true), sleep(5000).then(() => false)]);
      if (!stopped) {
        killGroup("SIGKILL");
        await exit;
      }
      // The shell can be gone before nginx has let go of its ports: the next servers' readiness check
      // would then find this nginx still answering, and lose it a moment later.
      const closing = Date.now() + 5000;
      for (const port of options.ports) while ((await isListening(port)) && Date.now() < closing) await sleep(50);
    },
  };

  const deadline = Date.now() + 20000;
  // Ready once every port has answered three checks in a row, 100 ms apart: in CI, three times so far,
  // nginx refused connections on its port for a moment after its pid file and a first answer (cause
  // not found; docs/NOTES.md, "the interop flake"). Such a refusal is written to stderr, to be seen.
  let answeredInARow = 0;
  for (;;) {
    if (exited) throw new Error(`the rootfs servers exited:\n${log}\n${servers.errorLog()}`);
    // nginx writes its pid file once its listening sockets are bound: the ports answering are its.
    let ready = options.nginxConf === undefined || existsSync(pidFile);
    for (const port of options.ports) if (ready && !(await isListening(port))) ready = false;
    if (!ready && answeredInARow > 0) process.stderr.write(`startRootfsServers(${options.name}): a port refused after ${answeredInARow} answers in a row\n`);
    answeredInARow = ready ? answeredInARow + 1 : 0;
    if (answeredInARow >= 3) return servers;
    if (Date.now() > deadline) {
      await servers.stop();
      throw new Error(`the rootfs servers did not answer on ${options.ports.join(", ")}:\n${log}\n${servers.errorLog()}`);
    }
    await sleep(100);
  }
}
