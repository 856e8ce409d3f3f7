/** `npm run keygen` (build/keygen.mjs): one line, a random secret that decodes to the right length. */

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

/** Node's process (the njs typings configuration.ts pulls in declare another). */
const nodeProcess = process as unknown as { execPath: string };
const script = resolve(dirname(fileURLToPath(import.meta.url)), "../../build/keygen.mjs");
const run = (...args: string[]) => execFileSync(nodeProcess.execPath, [script, ...args], { encoding: "utf8" });

describe("npm run keygen", () => {
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
    const result = spawnSync(nodeProcess.execPath, [script, "--length=8"], { encoding: "utf8" });
    assert.equal(result.status, 2);
    assert.equal(result.stdout, "");
  });
});
