/**
 * shm storage's readMetadata (lua-resty-session's read_metadata): a subject's live sessions as
 * { [storage key]: expiry }, read from the session registry kept in the same zone.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { createSessionLibrary } from "../../src/core/api";
import { createMemoryExchange } from "../../src/core/memory-exchange";
import { createNodePlatform } from "../../src/platform/node";
import { registerBuiltinStorages } from "../../src/storage/index";
import { createMemorySharedDict } from "../support/memory-shared-dict";
import { nextCookie, T0 } from "../support/session-env";

registerBuiltinStorages();

const OPTIONS = { secret: "metadata-secret", storage: "shm", store_metadata: true, hash_storage_key: true, hash_subject: true } as const;

function b64u(bytes: Uint8Array | string): string {
  return Buffer.from(bytes).toString("base64url");
}

/** The storage key of a cookie, computed here: base64url(SHA-256(sid)), sid = header bytes [3, 35). */
function hashedKeyOf(cookieHeader: string): string {
  const value = cookieHeader.split("; ").find((pair) => pair.startsWith("session="))!.substring("session=".length);
  const sid = Buffer.from(value.substring(0, 110), "base64url").subarray(3, 35);
  return b64u(createHash("sha256").update(sid).digest());
}

describe("shm storage: readMetadata", () => {
  it("lists a subject's live sessions by storage key with their expiry; other subjects and logged-out sessions are not listed", async () => {
    const clock = { now: T0 };
    const dict = createMemorySharedDict({ name: "sessions", timeout: 86_400_000, clock: () => clock.now * 1000 });
    const platform = createNodePlatform({ now: () => clock.now, sharedDicts: { sessions: dict }, log: () => {} });
    const library = createSessionLibrary(platform);
    const login = async (subject: string, at: number): Promise<string> => {
      clock.now = at;
      const exchange = createMemoryExchange({});
      const session = library.new(exchange, OPTIONS);
      session.setSubject(subject);
      assert.equal((await session.save()).error, undefined);
      return nextCookie(exchange);
    };
    const phone = await login("alice", T0);
    const laptop = await login("alice", T0 + 5);
    await login("bob", T0 + 6);

    const storage = library.settings(OPTIONS).storage!;
    const audience = b64u("default");
    const subject = b64u(createHash("sha256").update("alice").digest().subarray(0, 16));
    // Idle timeout 900 s after the last save: that is when each session expires if not used again.
    assert.deepEqual(await storage.readMetadata!("session", audience, subject, T0 + 10), {
      [hashedKeyOf(phone)]: T0 + 900,
      [hashedKeyOf(laptop)]: T0 + 5 + 900,
    });
    assert.deepEqual(await storage.readMetadata!("remember", audience, subject, T0 + 10), {}, "another cookie name: none");

    clock.now = T0 + 20;
    const out = createMemoryExchange({ cookie: phone });
    assert.equal((await library.logout(out, OPTIONS)).ok, true);
    assert.deepEqual(await storage.readMetadata!("session", audience, subject, T0 + 20), { [hashedKeyOf(laptop)]: T0 + 5 + 900 });
    assert.deepEqual(await storage.readMetadata!("session", audience, subject, T0 + 5 + 900), {}, "expired: none");
  });
});
