/**
 * The loggable id left to its readers (cold-check.ts's loggableIdWhereRead, src/nginx/session-id.ts):
 * the cold check under QuickJS does not hash the session id; $session_id, read later in the request,
 * is computed from the request's cookie, equal to what the full path publishes and to an independent
 * SHA-256 of the session id, and kept on the cookie's cache entry so that it is hashed once.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { createSessionLibrary } from "../../src/core/api";
import { coldCheck } from "../../src/core/cold-check";
import { findCookie, parseCookieHeader } from "../../src/core/cookies";
import { fastCheck, loggableIdOf, verifiedEntryOf } from "../../src/core/fast-check";
import { createMemoryExchange } from "../../src/core/memory-exchange";
import type { SessionOptions } from "../../src/core/options";
import { createZoneVerifiedCache, createZoneVerifiedCacheReader } from "../../src/core/verified-cache";
import { deferredSessionId } from "../../src/nginx/session-id";
import { deferredIdField } from "../../src/nginx/state";
import { createNodePlatform } from "../../src/platform/node";
import { createMemorySharedDict } from "../support/memory-shared-dict";
import { nextCookie, T0 } from "../support/session-env";

const OPTIONS: SessionOptions = { secret: "session-id-secret", idling_timeout: 600, rolling_timeout: 3600, absolute_timeout: 86400 };

function createEnv() {
  const clock = { now: T0 };
  const platform = createNodePlatform({ now: () => clock.now, log: () => undefined, sharedDicts: {} });
  const library = createSessionLibrary(platform);
  library.init(OPTIONS);
  return { clock, platform, library, settings: library.settings() };
}
type Env = ReturnType<typeof createEnv>;

async function login(env: Env): Promise<string> {
  const exchange = createMemoryExchange({});
  const session = env.library.new(exchange);
  session.setSubject("alice");
  assert.equal((await session.save()).ok, true);
  return nextCookie(exchange);
}

function valueOf(env: Env, cookieHeader: string): string {
  return findCookie(parseCookieHeader(cookieHeader), env.settings.cookieName) as string;
}

function cold(env: Env, cookieHeader: string, whereRead: boolean) {
  const exchange = createMemoryExchange({ cookie: cookieHeader });
  return coldCheck(env.settings, env.platform, valueOf(env, cookieHeader), env.clock.now, exchange, (source) => source, whereRead);
}

/** Independently of ours: base64url of the first 16 bytes of the SHA-256 of the header's session id (bytes 3..35). */
function expectedId(value: string): string {
  const header = Buffer.from(value.substring(0, 110), "base64url");
  return createHash("sha256").update(header.subarray(3, 35)).digest().subarray(0, 16).toString("base64url");
}

/** What nginx hands the js_set: the request's Cookie header and the $session_id_field the maps found. */
function request(cookieHeader: string | undefined) {
  return { headersIn: cookieHeader === undefined ? {} : { Cookie: cookieHeader }, variables: {} } as unknown as NginxHTTPRequest;
}

describe("the loggable id, left to its readers", () => {
  it("the cold check leaves it out when asked, and the session it found gives it on the first read", async () => {
    const env = createEnv();
    const cookie = await login(env);
    const found = await cold(env, cookie, true);
    assert.ok(found);
    assert.equal(found.loggableId, "");
    assert.equal(verifiedEntryOf(env.settings, valueOf(env, cookie))?.loggableId, "");
    assert.equal(loggableIdOf(found, env.platform), expectedId(valueOf(env, cookie)));
    assert.equal(found.loggableId, expectedId(valueOf(env, cookie)), "kept on the session");
  });

  it("unasked, the cold check computes it as before", async () => {
    const env = createEnv();
    const cookie = await login(env);
    const found = await cold(env, cookie, false);
    assert.equal(found?.loggableId, expectedId(valueOf(env, cookie)));
  });

  it("the full path, opening from an entry without it, computes it", async () => {
    const env = createEnv();
    const cookie = await login(env);
    assert.ok(await cold(env, cookie, true));
    const started = await env.library.start(createMemoryExchange({ cookie }));
    assert.equal(started.exists, true);
    assert.equal(started.session.loggableId(), expectedId(valueOf(env, cookie)));
  });

  it("the js_set computes it from the request's cookie and keeps it on the entry, whose session publishes it afresh", async () => {
    const env = createEnv();
    const cookie = await login(env);
    const value = valueOf(env, cookie);
    assert.ok(await cold(env, cookie, true));
    const known = fastCheck(env.settings, env.platform, value, env.clock.now, createMemoryExchange({ cookie }), (source) => source);
    assert.ok(known);
    assert.equal(known.loggableId, "");
    known.publication = { kept: true };
    const field = deferredIdField(env.settings.cookieName);
    const header = "other=1; " + cookie + "; after=2";
    assert.equal(deferredSessionId(request(header), field, env.platform, () => env.settings), expectedId(value));
    assert.equal(verifiedEntryOf(env.settings, value)?.loggableId, expectedId(value));
    assert.equal(known.loggableId, expectedId(value));
    assert.equal(known.publication, undefined, "the publication made without it is not kept");
    // Without settings to find the entry by (another location), still the id.
    const other = createEnv();
    const otherCookie = await login(other);
    assert.ok(await cold(other, otherCookie, true));
    assert.equal(deferredSessionId(request(otherCookie), field, other.platform, () => null), expectedId(valueOf(other, otherCookie)));
    assert.equal(verifiedEntryOf(other.settings, valueOf(other, otherCookie))?.loggableId, "");
  });

  it("the js_set: a computed field as it is; no cookie of that name, or no header in it, no id", async () => {
    const env = createEnv();
    const cookie = await login(env);
    const settingsOf = () => env.settings;
    assert.equal(deferredSessionId(request(cookie), "AbcdefghijklmnopqrstuA", env.platform, settingsOf), "AbcdefghijklmnopqrstuA");
    assert.equal(deferredSessionId(request(cookie), deferredIdField("another"), env.platform, settingsOf), "");
    assert.equal(deferredSessionId(request(undefined), deferredIdField("session"), env.platform, settingsOf), "");
    assert.equal(deferredSessionId(request("session=short"), deferredIdField("session"), env.platform, settingsOf), "");
    assert.equal(deferredSessionId(request(cookie), undefined, env.platform, settingsOf), "");
  });

  it("the njs engine's warm part reads an entry without it as absent (it has no platform to compute it); the full part reads it", async () => {
    const env = createEnv();
    const cookie = await login(env);
    const found = await cold(env, cookie, true);
    assert.ok(found);
    const value = valueOf(env, cookie);
    const entry = verifiedEntryOf(env.settings, value);
    assert.ok(entry);
    const dict = createMemorySharedDict({ name: "njs_session_cache", timeout: 86_400_000, evict: true, clock: () => env.clock.now * 1000 });
    createZoneVerifiedCache(dict, "njs_session_cache").set(value, entry, 600);
    assert.equal(createZoneVerifiedCacheReader(dict, "njs_session_cache").get(value), null);
    assert.equal(createZoneVerifiedCache(dict, "njs_session_cache").get(value)?.loggableId, "");
    createZoneVerifiedCache(dict, "njs_session_cache").set(value, { ...entry, loggableId: expectedId(value) }, 600);
    assert.equal(createZoneVerifiedCacheReader(dict, "njs_session_cache").get(value)?.loggableId, expectedId(value));
  });
});
