/**
 * Every open case recorded from lua-resty-session 4.1.5 must give the peer's outcome here: positive
 * cases open with exactly the recorded data, audience and subject; negative cases are refused.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { createSessionLibrary } from "../../src/core/api";
import { createMemoryExchange } from "../../src/core/memory-exchange";
import { createNodePlatform } from "../../src/platform/node";
import { createMemoryStorage } from "../support/memory-storage";
import { loadVectors, vectorCookieHeader, vectorOptions, VECTORS_PATH, type Vector, type VectorOpen } from "../support/vectors";

const vectors = loadVectors();

/** The peer's reason without the OpenSSL detail it appends in parentheses. */
function reason(error: string): string {
  return error.replace(/ \(.*\)$/, "");
}

/**
 * Where we refuse for a different (earlier) reason than the peer, on purpose. The peer takes the last
 * data_size characters of a single-chunk cookie, so a truncated value reaches AES-GCM; we check the
 * exact length first.
 */
const STRICTER_REASONS: { [vectorId: string]: string } = {
  "neg-truncated-payload": "invalid session payload",
};

async function openCase(vector: Vector, open: VectorOpen) {
  const logs: string[] = [];
  const platform = createNodePlatform({
    now: () => (open.now !== undefined ? open.now : Math.floor(Date.now() / 1000)),
    log: (level, message) => logs.push(level + " " + message),
  });
  const library = createSessionLibrary(platform);
  const options = vectorOptions(open.config);
  if (options.storage === "shm") {
    // The shm storage itself is tested elsewhere; here only the format of what it holds matters.
    options.storage = createMemoryStorage(vector.store ? { [vector.store.key]: vector.store.value } : {});
  }
  const exchange = createMemoryExchange({ cookie: vectorCookieHeader(vector, open) });
  const result = await library.open(exchange, options);
  return { result, logs };
}

describe("lua-resty-session 4.1.5 vectors", () => {
  it("are the verbatim copy of the peer's file (test/vectors/README.md)", () => {
    const digest = createHash("sha256").update(readFileSync(VECTORS_PATH)).digest("hex");
    assert.equal(digest, "a82f7ed5050e92adad601d58883d28e411acbc84039b311b6545bd3b3a132076");
  });

  it("are present and cover both kinds", () => {
    assert.ok(vectors.filter((v) => v.kind === "positive").length >= 20);
    assert.ok(vectors.filter((v) => v.kind === "negative").length >= 10);
  });

  for (const vector of vectors) {
    vector.opens.forEach((open, index) => {
      it(`${vector.id} #${index + 1}: ${open.expect}${open.note ? " (" + open.note + ")" : ""}`, async () => {
        const { result, logs } = await openCase(vector, open);
        if (open.expect === "accept") {
          assert.equal(result.error, undefined);
          assert.equal(result.exists, true);
          const expected = open.expected!;
          assert.deepEqual(result.session.getData(), expected.data);
          assert.equal(result.session.getAudience(), expected.audience);
          assert.equal(result.session.getSubject(), expected.subject === null ? undefined : expected.subject);
        } else {
          assert.equal(result.exists, false);
          assert.ok(result.error, "a rejection carries a reason");
          const peerReason = STRICTER_REASONS[vector.id] || (open.peer_result.err && reason(open.peer_result.err));
          if (peerReason) assert.equal(result.error, peerReason);
          if (result.error !== "missing session cookie") {
            assert.ok(logs.some((line) => line.startsWith("info ") && line.includes(result.error!)), "logged at info");
          }
          for (const line of logs) {
            for (const value of Object.values(vector.cookies)) assert.ok(!line.includes(value.substring(0, 43)));
          }
        }
      });
    });
  }
});
