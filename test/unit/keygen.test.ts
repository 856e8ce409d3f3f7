/**
 * `npm run keygen`: the CLI's keygen (src/cli/keygen.ts) run from the sources, as package.json's
 * script does: one line, a random secret that decodes to the right length. The built CLI's keygen
 * (--out, --json) is tested in cli.test.ts.
 */

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

/** Node's process (the njs typings configuration.ts pulls in declare another). */
const nodeProcess = process as unknown as { execPath: string };
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const script: string = JSON.parse(readFileSync(resolve(root, "package.json"), "utf8")).scripts.keygen;
// "node --import tsx src/cli/main.ts keygen": what follows "node".
const scriptArgs = script.split(" ").slice(1);
const run = (...args: string[]) => execFileSync(nodeProcess.execPath, [...scriptArgs, ...args], { cwd: root, encoding: "utf8" });

describe("npm run keygen", () => {
  it("is the CLI's keygen", () => {
    assert.equal(script, "node --import tsx src/cli/main.ts keygen");
  });

  it("prints a base64 secret of 48 random bytes and nothing else", () => {
    const out = run();
    assert.match(out, /^[A-Za-z0-9+/]{64}\n$/);
    assert.equal(Buffer.from(out.trim(), "base64").length, 48);
    assert.notEqual(run(), out, "a new secret each time");
  });

  it("--ikm prints base64 of 32 bytes (the ikm option)", () => {
    const out = run("--ikm");
    assert.match(out, /^[A-Za-z0-9+/]{43}=\n$/);
    assert.equal(Buffer.from(out.trim(), "base64").length, 32);
  });

  it("refuses anything else, printing no secret", () => {
    const result = spawnSync(nodeProcess.execPath, [...scriptArgs, "--length=8"], { cwd: root, encoding: "utf8" });
    assert.equal(result.status, 2);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^njs-session: unknown option --length/);
  });
});
