/**
 * Runs the built CLI (dist/cli.js, the package's bin) as a subprocess, the way a user or a script
 * does. buildCli() makes it afresh (build/build-cli.mjs), so the tests never run a stale build.
 */

import { execFileSync, spawn, spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Node's process (the njs typings configuration.ts pulls in declare another). */
const nodeProcess = (globalThis as unknown as { process: NodeJS.Process }).process;

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const CLI = resolve(REPO, "dist/cli.js");

export function buildCli(): void {
  execFileSync(nodeProcess.execPath, [resolve(REPO, "build/build-cli.mjs")], { cwd: REPO, stdio: "ignore" });
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** The variables the CLI reads keys from, removed from the environment unless a test sets them. */
const KEY_VARIABLES = ["NJS_SESSION_SECRET", "NJS_SESSION_ADMIN_TOKEN"];

export function runCli(args: string[], options: { env?: { [name: string]: string }; input?: string } = {}): CliResult {
  const env: { [name: string]: string | undefined } = { ...nodeProcess.env };
  for (const name of KEY_VARIABLES) delete env[name];
  Object.assign(env, options.env || {});
  const result = spawnSync(nodeProcess.execPath, [CLI, ...args], { cwd: REPO, env: env, input: options.input, encoding: "utf8" });
  return { status: result.status === null ? -1 : result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * runCli without blocking this process: for tests whose server runs in this very process (spawnSync
 * would stop its event loop, and the server could never answer).
 */
export function runCliAsync(args: string[], options: { env?: { [name: string]: string } } = {}): Promise<CliResult> {
  const env: { [name: string]: string | undefined } = { ...nodeProcess.env };
  for (const name of KEY_VARIABLES) delete env[name];
  Object.assign(env, options.env || {});
  return new Promise((resolve, reject) => {
    const child = spawn(nodeProcess.execPath, [CLI, ...args], { cwd: REPO, env: env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status: status === null ? -1 : status, stdout: stdout, stderr: stderr }));
  });
}

/** runCli, then JSON.parse of its standard output. */
export function runCliJson(args: string[], options: { env?: { [name: string]: string }; input?: string } = {}): { status: number; json: any; stderr: string } {
  const result = runCli(args.concat(["--json"]), options);
  let json: unknown = null;
  try {
    json = JSON.parse(result.stdout);
  } catch (e) {
    throw new Error("not JSON (status " + result.status + "): " + result.stdout + result.stderr);
  }
  return { status: result.status, json: json, stderr: result.stderr };
}
