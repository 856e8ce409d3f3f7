/**
 * The storage key a warm check asks the store for (fast-check.ts's storageKeyOf): with hash_storage_key,
 * base64url(SHA-256(session id)), kept on the session's verified-cache entry once derived so that a warm
 * request hashes nothing. The expected keys come from node:crypto, not from the code under test.
 */

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { FastCheckSettings, storageKeyOf } from "../../src/core/fast-check";
import type { Platform } from "../../src/core/platform";
import type { VerifiedSession } from "../../src/core/verified-cache";
import { createNodePlatform } from "../../src/platform/node";

const HASHED = { hashStorageKey: true } as FastCheckSettings;
const PLAIN = { hashStorageKey: false } as FastCheckSettings;

/** The key the full path names the record by, computed independently. */
function referenceKey(sid: string): string {
  return createHash("sha256").update(Buffer.from(sid, "base64url")).digest("base64url");
}

/** A verified-cache entry of a fresh session id (only the fields storageKeyOf reads matter). */
function entryOfNewSid(): VerifiedSession {
  return {
    keyId: "k",
    bind: "",
    ciphertext: "c",
    plaintext: "[]",
    flags: 0,
    creationTime: 0,
    rollingOffset: 0,
    idlingOffset: 0,
    sid: randomBytes(32).toString("base64url"),
    loggableId: "l",
  };
}

/** The Node platform, counting its SHA-256 calls. */
function countingPlatform(): { platform: Pick<Platform, "sha256">; hashes: () => number } {
  const node = createNodePlatform();
  let count = 0;
  return {
    platform: {
      sha256: (data) => {
        count++;
        return node.sha256(data);
      },
    },
    hashes: () => count,
  };
}

describe("the storage key of a verified session", () => {
  it("each entry's own id's hash, asked in turns: the kept key is never another session's", () => {
    const { platform } = countingPlatform();
    const a = entryOfNewSid();
    const b = entryOfNewSid();
    assert.notEqual(referenceKey(a.sid), referenceKey(b.sid));
    for (let round = 0; round < 3; round++) {
      assert.equal(storageKeyOf(HASHED, platform, a.sid, a), referenceKey(a.sid), `a, round ${round}`);
      assert.equal(storageKeyOf(HASHED, platform, b.sid, b), referenceKey(b.sid), `b, round ${round}`);
    }
  });

  it("hashed once per entry; without an entry (the cold check) each call hashes", () => {
    const { platform, hashes } = countingPlatform();
    const a = entryOfNewSid();
    storageKeyOf(HASHED, platform, a.sid, a);
    storageKeyOf(HASHED, platform, a.sid, a);
    storageKeyOf(HASHED, platform, a.sid, a);
    assert.equal(hashes(), 1, "a warm request hashes nothing");
    assert.equal(storageKeyOf(HASHED, platform, a.sid), referenceKey(a.sid));
    assert.equal(hashes(), 2);
  });

  it("a location without hash_storage_key asks by the id, even for an entry that keeps a hashed key", () => {
    const { platform, hashes } = countingPlatform();
    const a = entryOfNewSid();
    storageKeyOf(HASHED, platform, a.sid, a);
    assert.equal(storageKeyOf(PLAIN, platform, a.sid, a), a.sid);
    assert.equal(storageKeyOf(PLAIN, platform, a.sid), a.sid);
    assert.equal(storageKeyOf(HASHED, platform, a.sid, a), referenceKey(a.sid), "and the hashed key stays right after");
    assert.equal(hashes(), 1);
  });

  it("only the hashed form is kept on the entry, never the id", () => {
    const { platform } = countingPlatform();
    const a = entryOfNewSid();
    storageKeyOf(PLAIN, platform, a.sid, a);
    assert.equal(a.hashedStorageKey, undefined, "nothing kept without hashing");
    storageKeyOf(HASHED, platform, a.sid, a);
    assert.equal(a.hashedStorageKey, referenceKey(a.sid));
  });
});
