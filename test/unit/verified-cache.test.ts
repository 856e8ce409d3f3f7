/**
 * The verified-session cache (src/core/verified-cache.ts) and the fast check (src/core/fast-check.ts):
 * a cached session is refused, or handed to the full path, on every change a request without the cache
 * would notice — timeouts and refresh points, bind, key rotation, revocation, the storage record, a
 * tampered payload — and the caches stay within their bounds. Every expectation about a refusal is the
 * full path's own reason, so a cache that hid one would fail here. The cold check (src/core/cold-check.ts)
 * opens a cookie not seen before without a Session: what it passes, the full path passes alike, and
 * what it declines, the full path decides.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createSessionLibrary } from "../../src/core/api";
import type { SessionOptions } from "../../src/core/options";
import { cookieTail, findCookie, parseCookieHeader, quickCookie, tailValue } from "../../src/core/cookies";
import { coldCheck } from "../../src/core/cold-check";
import { fastCheck, verifiedEntryOf, verifiedTailEntryOf } from "../../src/core/fast-check";
import { touchCheck } from "../../src/core/touch-check";
import { createMemoryExchange, type MemoryRequest } from "../../src/core/memory-exchange";
import type { Platform } from "../../src/core/platform";
import { decodeEntries, type SessionEntry } from "../../src/core/session";
import { extractedKey, PseudorandomKey } from "../../src/core/keys";
import { createMemoryVerifiedCache, createTieredVerifiedCache, createZoneVerifiedCache, createZoneVerifiedCacheReader, type VerifiedSession, zoneWriterSet } from "../../src/core/verified-cache";
import { createNodePlatform } from "../../src/platform/node";
import { registerBuiltinStorages } from "../../src/storage/index";
import { createMemorySharedDict, type MemorySharedDict } from "../support/memory-shared-dict";
import { nextCookie, T0 } from "../support/session-env";

registerBuiltinStorages();

const SECRET = "verified-cache-secret";
const DAY_MS = 86_400_000;

interface Env {
  clock: { now: number };
  platform: Platform;
  dicts: { [zone: string]: MemorySharedDict };
  library: ReturnType<typeof createSessionLibrary>;
  logs: string[];
}

function createEnv(options: SessionOptions, platformOptions: { keepsModuleState?: boolean; zones?: string[] } = {}): Env {
  const clock = { now: T0 };
  const logs: string[] = [];
  const dicts: { [zone: string]: MemorySharedDict } = {};
  for (const zone of platformOptions.zones || ["sessions"]) {
    dicts[zone] = createMemorySharedDict({ name: zone, timeout: DAY_MS, evict: zone === "njs_session_cache", clock: () => clock.now * 1000 });
  }
  const platform = createNodePlatform({ now: () => clock.now, log: (level, message) => logs.push(level + ": " + message), sharedDicts: dicts });
  if (platformOptions.keepsModuleState === false) platform.keepsModuleState = false;
  const library = createSessionLibrary(platform);
  library.init(options);
  return { clock, platform, dicts, library, logs };
}

async function login(env: Env, request: MemoryRequest = {}, subject = "alice", name: string | null = "Alice"): Promise<string> {
  const exchange = createMemoryExchange(request);
  const session = env.library.new(exchange);
  session.setSubject(subject);
  if (name !== null) session.set("name", name);
  const saved = await session.save();
  assert.equal(saved.ok, true, saved.error);
  return nextCookie(exchange);
}

/** The full path: start() as the access check runs it when the fast check declines. */
async function start(env: Env, cookie: string, request: MemoryRequest = {}) {
  const exchange = createMemoryExchange({ cookie, ...request });
  const started = await env.library.start(exchange);
  return { exists: started.exists, error: started.error, refreshed: started.refreshed, cookies: exchange.responseCookies };
}

function fast(env: Env, cookie: string, request: MemoryRequest = {}) {
  const exchange = createMemoryExchange({ cookie, ...request });
  const settings = env.library.settings();
  return fastCheck(settings, env.platform, findCookie(parseCookieHeader(cookie), settings.cookieName), env.clock.now, exchange, (source) => source);
}

function cold(env: Env, cookie: string, request: MemoryRequest = {}, currentPrk?: PseudorandomKey) {
  const exchange = createMemoryExchange({ cookie, ...request });
  const settings = env.library.settings();
  return coldCheck(settings, env.platform, findCookie(parseCookieHeader(cookie), settings.cookieName), env.clock.now, exchange, (source) => source, currentPrk);
}

/** The current key's PRK made anew, as the njs engine's views hold it (check-view.ts). */
function prkMadeAnew(env: Env): PseudorandomKey {
  return extractedKey(env.platform, env.library.settings().ikm);
}

/** One character of the cookie changed, at `at` (negative: from the end). */
function tamper(cookie: string, at: number): string {
  const i = at < 0 ? cookie.length + at : at;
  return cookie.substring(0, i) + (cookie.charAt(i) === "A" ? "B" : "A") + cookie.substring(i + 1);
}

const COOKIE_OPTIONS: SessionOptions = { secret: SECRET, idling_timeout: 600, rolling_timeout: 3600, absolute_timeout: 86400, touch_threshold: 60 };

describe("the fast check finds a session only after a full verification", () => {
  it("a cookie nobody verified yet is left to the full path, which then makes it known", async () => {
    const env = createEnv(COOKIE_OPTIONS);
    const cookie = await login(env);
    // A login seals the cookie but does not vouch for it: only a full open does.
    assert.equal(fast(env, cookie), null);
    assert.equal((await start(env, cookie)).exists, true);
    const known = fast(env, cookie);
    assert.ok(known);
    assert.equal(known.subject, "alice");
    assert.equal(known.audience, "default");
    assert.deepEqual(known.data, { name: "Alice" });
  });

  it("a payload changed after the header is not the cached cookie, and the full path refuses it", async () => {
    const env = createEnv(COOKIE_OPTIONS);
    const cookie = await login(env);
    await start(env, cookie);
    // Not the last character: its low bits may be base64url padding, which decoding ignores (bytes.ts),
    // and then the "tampered" cookie is the same bytes (this test failed once in CI that way).
    const at = cookie.length - 5;
    const tampered = cookie.substring(0, at) + (cookie.charAt(at) === "A" ? "B" : "A") + cookie.substring(at + 1);
    assert.equal(fast(env, tampered), null);
    const opened = await start(env, tampered);
    assert.equal(opened.exists, false);
    assert.match(String(opened.error), /unable to decrypt session data|unable to base64url decode/);
  });
});

describe("the cold check: a cookie not seen before, without a Session", () => {
  it("opens a valid cookie to what the full path opens, and leaves it verified for the fast check", async () => {
    const env = createEnv(COOKIE_OPTIONS);
    const cookie = await login(env);
    assert.equal(fast(env, cookie), null);
    const found = await cold(env, cookie);
    assert.ok(found);
    const exchange = createMemoryExchange({ cookie });
    const started = await env.library.start(exchange);
    assert.equal(started.exists, true);
    assert.equal(found.subject, started.session.getSubject());
    assert.equal(found.audience, started.session.getAudience());
    assert.deepEqual(found.data, started.session.getData());
    assert.equal(found.loggableId, started.session.loggableId());
    assert.equal(found.timing.creationTime, started.session.getProperty("creation_time"));
    assert.equal(found.bound, false, "bound to nothing");
    assert.deepEqual(fast(env, cookie), found);
    assert.deepEqual(await cold(env, cookie, {}, prkMadeAnew(env)), found, "the same with the key's PRK made anew (the njs engine's cold part)");
  });

  it("declines what does not open, verifying nothing; the full path says why", async () => {
    const env = createEnv(COOKIE_OPTIONS);
    const cookie = await login(env);
    const other = createEnv({ ...COOKIE_OPTIONS, secret: "another-secret" });
    const cases: Array<[string, string, RegExp]> = [
      // Inside the MAC (header bytes 66..81 are base64url characters 88..108).
      ["a changed MAC", tamper(cookie, "session=".length + 95), /invalid session message authentication code/],
      ["a changed payload", tamper(cookie, -5), /unable to decrypt session data|unable to base64url decode/],
      ["another secret's cookie", await login(other), /invalid session message authentication code/],
      ["a cut cookie", cookie.substring(0, cookie.length - 4), /invalid session payload/],
    ];
    for (const [what, value, reason] of cases) {
      assert.equal(await cold(env, value), null, what);
      assert.equal(fast(env, value), null, what + ": nothing verified");
      const opened = await start(env, value);
      assert.equal(opened.exists, false, what);
      assert.match(String(opened.error), reason, what);
    }
    env.clock.now += 601;
    assert.equal(cold(env, cookie), null, "an idle cookie is declined before any key is used");
    assert.equal((await start(env, cookie)).error, "session idling timeout exceeded");
  });

  it("a refresh due: declined before any key is used; the full path opens and touches", async () => {
    const env = createEnv(COOKIE_OPTIONS);
    const cookie = await login(env);
    env.clock.now += 61;
    assert.equal(cold(env, cookie), null);
    const touched = await start(env, cookie);
    assert.equal(touched.exists, true);
    assert.equal(touched.refreshed, true);
  });

  it("a fallback key's cookie, a revoked session, server-side storage: the full path's", async () => {
    const env = createEnv({ ...COOKIE_OPTIONS, registry_zone: "sessions", store_metadata: true });
    const cookie = await login(env);
    env.library.init({ secret: "the-new-secret", secret_fallbacks: [SECRET] });
    assert.equal(await cold(env, cookie), null);
    const rotated = await start(env, cookie);
    assert.equal(rotated.refreshed, true, "re-sealed with the current key");

    const revokedEnv = createEnv({ ...COOKIE_OPTIONS, registry_zone: "sessions", store_metadata: true });
    const revoked = await login(revokedEnv);
    const registry = revokedEnv.library.settings().registry;
    assert.ok(registry);
    registry.revokeAll("default", "alice", revokedEnv.clock.now);
    revokedEnv.clock.now += 1;
    assert.equal(await cold(revokedEnv, revoked), null);
    assert.equal((await start(revokedEnv, revoked)).error, "session revoked");
  });

  it("a session without the location's audience: declined, and the full path says why", async () => {
    const env = createEnv(COOKIE_OPTIONS);
    const cookie = await login(env);
    const admin = env.library.settings({ audience: "admin" });
    const value = findCookie(parseCookieHeader(cookie), admin.cookieName);
    assert.equal(await coldCheck(admin, env.platform, value, env.clock.now, createMemoryExchange({ cookie }), (source) => source), null);
    const opened = await env.library.start(createMemoryExchange({ cookie }), { audience: "admin" });
    assert.equal(opened.error, "missing session audience");
    assert.ok(await cold(env, cookie), "the default audience's session opens");
  });

  it("shm storage: opens a valid cookie to what the full path opens; declines a record gone or replaced", async () => {
    const env = createEnv({ ...COOKIE_OPTIONS, storage: "shm" });
    const cookie = await login(env);
    const found = await cold(env, cookie);
    assert.ok(found, "opened without the full path");
    const started = await env.library.start(createMemoryExchange({ cookie }));
    assert.equal(started.exists, true);
    assert.equal(found.subject, started.session.getSubject());
    assert.deepEqual(found.data, started.session.getData());
    assert.equal(found.loggableId, started.session.loggableId());
    assert.deepEqual(fast(env, cookie), found, "left verified for the fast check");
    assert.deepEqual(await cold(env, cookie, {}, prkMadeAnew(env)), found, "the same with the key's PRK made anew");

    /** A fresh shm session, and its record's key and value (`<expiry>;<record>`) in the zone. */
    async function shmSession() {
      const shm = createEnv({ ...COOKIE_OPTIONS, storage: "shm" });
      const value = await login(shm);
      const zone = shm.dicts["sessions"];
      const key = zone.keys()[0];
      return { env: shm, cookie: value, zone, key, record: String(zone.get(key)) };
    }
    // The MAC held, but the record under the session's key is another session's ciphertext.
    const replaced = await shmSession();
    const other = await shmSession();
    replaced.zone.set(replaced.key, replaced.record.split(";")[0] + other.record.substring(other.record.indexOf(";")));
    assert.equal(await cold(replaced.env, replaced.cookie), null, "a replaced record");
    assert.equal(fast(replaced.env, replaced.cookie), null, "nothing verified");
    assert.match(String((await start(replaced.env, replaced.cookie)).error), /unable to decrypt session data|invalid session payload/);

    // The payload's record with info that does not decode: the Session's rule refuses it, so does the cold check.
    const badInfo = await shmSession();
    const [expiry, ...rest] = badInfo.record.split(";");
    const stored = JSON.parse(rest.join(";")) as unknown[];
    badInfo.zone.set(badInfo.key, expiry + ";" + JSON.stringify([stored[0], "%%"]));
    assert.equal(await cold(badInfo.env, badInfo.cookie), null, "info that does not decode");
    assert.equal(fast(badInfo.env, badInfo.cookie), null, "nothing verified");
    assert.equal((await start(badInfo.env, badInfo.cookie)).error, "unable to json decode session info");

    const gone = await shmSession();
    gone.zone.delete(gone.key);
    assert.equal(await cold(gone.env, gone.cookie), null, "a record gone");
    assert.equal((await start(gone.env, gone.cookie)).error, "unable to load session");

    // A storage that answers asynchronously: the full path makes the round trip (no store here: none is asked).
    const redis = createEnv({ ...COOKIE_OPTIONS, storage: "redis", redis: { port: 1 } });
    assert.equal(cold(redis, cookie), null);
  });
});

function touch(env: Env, cookie: string, request: MemoryRequest = {}, currentPrk?: PseudorandomKey) {
  const exchange = createMemoryExchange({ cookie, ...request });
  const settings = env.library.settings();
  const value = findCookie(parseCookieHeader(cookie), settings.cookieName);
  const verified = verifiedEntryOf(settings, value);
  return verified ? touchCheck(verified, settings, env.platform, value as string, env.clock.now, exchange, (source) => source, currentPrk) : null;
}

describe("the touch check: a verified cookie due for a touch only, without a Session", () => {
  for (const [what, options] of [
    ["cookie storage", COOKIE_OPTIONS],
    ["shm storage", { ...COOKIE_OPTIONS, storage: "shm" }],
    ["a bound session", { ...COOKIE_OPTIONS, bind: ["ip", "user-agent"] }],
  ] as Array<[string, SessionOptions]>) {
    it(`${what}: re-issues the very cookie the full path's touch re-issues, and publishes the touched session`, async () => {
      const env = createEnv(options);
      const request: MemoryRequest = { remoteAddress: "192.0.2.7", userAgent: "Touch/1.0" };
      const cookie = await login(env, request);
      assert.equal((await start(env, cookie, request)).exists, true, "verified by the full path");
      assert.equal(touch(env, cookie, request), null, "nothing due: not touched");
      env.clock.now += 61;
      const touched = touch(env, cookie, request);
      assert.ok(touched, "touched without the full path");
      assert.deepEqual(touch(env, cookie, request, prkMadeAnew(env)), touched, "the same with the key's PRK made anew (the njs engine's touch part)");
      const full = await start(env, cookie, request);
      assert.equal(full.refreshed, true);
      assert.deepEqual([touched.setCookie], full.cookies, "the same Set-Cookie line as Session.touch");
      assert.equal(touched.known.subject, "alice");
      assert.deepEqual(touched.known.data, { name: "Alice" });
      assert.equal(touched.known.timing.idlingOffset, 61, "the idle clock restarted");
      assert.equal(touched.known.timing.timestamp, env.clock.now);
      // The touched cookie opens, and its idle clock counts from the touch.
      const reissued = createMemoryExchange({});
      reissued.responseCookies = [touched.setCookie];
      const next = nextCookie(reissued, cookie);
      env.clock.now += 599;
      assert.equal((await start(env, next, request)).exists, true, "idle for 599 s since the touch, not 660");
    });
  }

  it("declines what the full path must do: a re-save due, a fallback key, a registry, a cookie not verified, a bind mismatch", async () => {
    const env = createEnv({ ...COOKIE_OPTIONS, rolling_timeout: 400 });
    const cookie = await login(env);
    assert.equal(touch(env, cookie), null, "not verified yet");
    await start(env, cookie);
    env.clock.now += 301;
    assert.equal(touch(env, cookie), null, "past 3/4 of the rolling timeout: a re-save, not a touch");

    const rotated = createEnv(COOKIE_OPTIONS);
    const old = await login(rotated);
    await start(rotated, old);
    rotated.library.init({ secret: "the-new-secret", secret_fallbacks: [SECRET] });
    rotated.clock.now += 61;
    assert.equal(touch(rotated, old), null, "a fallback key's cookie is re-sealed by the full path");

    const registered = createEnv({ ...COOKIE_OPTIONS, registry_zone: "sessions", store_metadata: true });
    const listed = await login(registered);
    await start(registered, listed);
    registered.clock.now += 61;
    assert.equal(touch(registered, listed), null, "a registry records the touch: the full path's");
    assert.equal((await start(registered, listed)).refreshed, true);

    const bound = createEnv({ ...COOKIE_OPTIONS, bind: ["ip"] });
    const boundCookie = await login(bound, { remoteAddress: "192.0.2.7" });
    await start(bound, boundCookie, { remoteAddress: "192.0.2.7" });
    bound.clock.now += 61;
    assert.equal(touch(bound, boundCookie, { remoteAddress: "198.51.100.9" }), null, "another address");
  });
});

describe("what a cached session is still checked for", () => {
  it("the touch threshold hands it to the full path, which touches; the idling timeout then refuses it", async () => {
    const env = createEnv(COOKIE_OPTIONS);
    const cookie = await login(env);
    await start(env, cookie);
    env.clock.now += 61;
    assert.equal(fast(env, cookie), null);
    const touched = await start(env, cookie);
    assert.equal(touched.exists, true);
    assert.equal(touched.refreshed, true);
    env.clock.now += 600;
    assert.equal(fast(env, cookie), null);
    const idle = await start(env, cookie);
    assert.equal(idle.exists, false);
    assert.equal(idle.error, "session idling timeout exceeded");
  });

  it("past 3/4 of the rolling timeout, and past the absolute timeout, it is the full path's", async () => {
    const env = createEnv({ ...COOKIE_OPTIONS, idling_timeout: 0, rolling_timeout: 400, absolute_timeout: 1000 });
    const cookie = await login(env);
    await start(env, cookie);
    env.clock.now += 300;
    assert.ok(fast(env, cookie));
    env.clock.now += 1;
    assert.equal(fast(env, cookie), null);
    const resaved = await start(env, cookie);
    assert.equal(resaved.refreshed, true);
    env.clock.now += 700;
    assert.equal((await start(env, cookie)).error, "session absolute timeout exceeded");
    assert.equal(fast(env, cookie), null);
  });

  it("a bound session with other request attributes is refused, cache or not", async () => {
    const env = createEnv({ ...COOKIE_OPTIONS, bind: ["ip", "user_agent"] });
    const here = { remoteAddress: "192.0.2.1", userAgent: "browser/1" };
    const cookie = await login(env, here);
    assert.equal((await start(env, cookie, here)).exists, true);
    assert.equal(fast(env, cookie, here)?.bound, true, "found, and known to be bound (no answer is kept for it)");
    for (const elsewhere of [{ ...here, remoteAddress: "198.51.100.7" }, { ...here, userAgent: "curl/8" }]) {
      assert.equal(fast(env, cookie, elsewhere), null);
      const opened = await start(env, cookie, elsewhere);
      assert.equal(opened.exists, false);
      assert.equal(opened.error, "invalid session message authentication code");
    }
  });

  it("a rotated secret: the fallback key sends the session to the full path (re-saved); a removed key refuses it", async () => {
    const env = createEnv(COOKIE_OPTIONS);
    const cookie = await login(env);
    await start(env, cookie);
    assert.ok(fast(env, cookie));
    env.library.init({ secret: "the-new-secret", secret_fallbacks: [SECRET] });
    assert.equal(fast(env, cookie), null);
    const rotated = await start(env, cookie);
    assert.equal(rotated.exists, true);
    assert.equal(rotated.refreshed, true);
    env.library.init({ secret: "the-new-secret", secret_fallbacks: [] });
    assert.equal(fast(env, cookie), null);
    assert.equal((await start(env, cookie)).error, "invalid session message authentication code");
  });

  it("a revoked session is refused on its next request, though its verification is cached", async () => {
    const env = createEnv({ ...COOKIE_OPTIONS, registry_zone: "sessions", store_metadata: true });
    const cookie = await login(env);
    await start(env, cookie);
    assert.ok(fast(env, cookie));
    const registry = env.library.settings().registry;
    assert.ok(registry);
    registry.revokeAll("default", "alice", env.clock.now);
    env.clock.now += 1;
    assert.equal(fast(env, cookie), null);
    assert.equal((await start(env, cookie)).error, "session revoked");
  });

  it("shm storage: the record is read on every request; a deleted or replaced record ends the cached session", async () => {
    const env = createEnv({ ...COOKIE_OPTIONS, storage: "shm" });
    const cookie = await login(env);
    await start(env, cookie);
    assert.ok(fast(env, cookie));
    const dict = env.dicts.sessions;
    const key = dict.keys().find((name) => name.startsWith("session:")) as string;
    const record = dict.get(key) as string;
    // Another ciphertext under the same id: the cached decryption no longer applies.
    dict.set(key, record.replace(/\["([A-Za-z0-9_-]{8})/, '["AAAAAAAA'));
    assert.equal(fast(env, cookie), null);
    assert.equal((await start(env, cookie)).exists, false);
    dict.delete(key);
    assert.equal(fast(env, cookie), null);
    assert.equal((await start(env, cookie)).error, "unable to load session");
  });

  it("another audience's location does not see the session through the cache", async () => {
    const env = createEnv(COOKIE_OPTIONS);
    const cookie = await login(env);
    await start(env, cookie);
    const exchange = createMemoryExchange({ cookie });
    const other = env.library.settings({ audience: "admin" });
    assert.ok(fast(env, cookie), "known to the default audience");
    assert.equal(fastCheck(other, env.platform, findCookie(parseCookieHeader(cookie), other.cookieName), env.clock.now, exchange, (source) => source), null);
    const opened = await env.library.start(createMemoryExchange({ cookie }), { audience: "admin" });
    assert.equal(opened.exists, false);
    assert.equal(opened.error, "missing session audience");
  });
});

describe("where the cache lives", () => {
  it("without module state (the njs engine) and without a zone there is none; with the zone it is shared", async () => {
    const none = createEnv(COOKIE_OPTIONS, { keepsModuleState: false });
    assert.equal(none.library.settings().verifiedCache, null);
    const zoned = createEnv(COOKIE_OPTIONS, { keepsModuleState: false, zones: ["sessions", "njs_session_cache"] });
    const cookie = await login(zoned);
    await start(zoned, cookie);
    const value = cookie.substring(cookie.indexOf("=") + 1);
    const stored = createZoneVerifiedCache(zoned.dicts.njs_session_cache, "njs_session_cache").get(value);
    assert.equal(stored?.plaintext, '[[{"name":"Alice"},"default","alice"]]');
    assert.ok(fast(zoned, cookie));
  });

  it("the warm check's zone reader reads what the zone's cache wrote, from its own dict, and nothing else", async () => {
    const zoned = createEnv(COOKIE_OPTIONS, { keepsModuleState: false, zones: ["sessions", "njs_session_cache"] });
    const cookie = await login(zoned);
    await start(zoned, cookie);
    const value = cookie.substring(cookie.indexOf("=") + 1);
    const reader = createZoneVerifiedCacheReader(zoned.dicts.njs_session_cache, "njs_session_cache");
    assert.equal(reader.zone, "njs_session_cache");
    assert.deepEqual(reader.get(value), createZoneVerifiedCache(zoned.dicts.njs_session_cache, "njs_session_cache").get(value));
    assert.equal(reader.get(value)?.plaintext, '[[{"name":"Alice"},"default","alice"]]');
    assert.equal(createZoneVerifiedCacheReader(zoned.dicts.sessions, "sessions").get(value), null, "another zone's reader");
    assert.equal(reader.get(value + "x"), null, "another cookie");
  });

  it("the cold check's zone entry carries its entries; the fast check reads them", async () => {
    const zoned = createEnv(COOKIE_OPTIONS, { keepsModuleState: false, zones: ["sessions", "njs_session_cache"] });
    const dict = zoned.dicts.njs_session_cache;
    const bare = await login(zoned, {}, "alice", null);
    const withData = await login(zoned, {}, "bob");
    assert.ok(await cold(zoned, bare));
    assert.ok(await cold(zoned, withData));
    const lastField = (cookie: string) => JSON.parse(dict.get(cookie.substring(cookie.indexOf("=") + 1)) as string)[12];
    assert.deepEqual(lastField(bare), [[{}, "default", "alice"]]);
    assert.deepEqual(lastField(withData), [[{ name: "Alice" }, "default", "bob"]]);
    const known = fast(zoned, bare);
    assert.equal(known?.subject, "alice");
    assert.deepEqual(known?.data, {});
    const knownWithData = fast(zoned, withData);
    assert.equal(knownWithData?.subject, "bob");
    assert.deepEqual(knownWithData?.data, { name: "Alice" });
  });

  it("a named zone that nginx.conf lacks is a configuration error; false turns the zone off", () => {
    assert.throws(() => createEnv({ ...COOKIE_OPTIONS, verified_cache_zone: "missing" }), /verified_cache_zone/);
    const memoryOnly = createEnv({ ...COOKIE_OPTIONS, verified_cache_zone: false }, { zones: ["sessions", "njs_session_cache"] });
    assert.ok(memoryOnly.library.settings().verifiedCache);
    assert.equal(createEnv({ ...COOKIE_OPTIONS, verified_cache_entries: 0 }).library.settings().verifiedCache, null);
  });

  it("the lookup by the cookie's tail: worker memory only, and a hit only when the tail is the whole value", async () => {
    const env = createEnv(COOKIE_OPTIONS, { zones: ["sessions", "njs_session_cache"] });
    const settings = env.library.settings();
    const cookie = await login(env);
    await start(env, cookie);
    const value = cookie.substring(cookie.indexOf("=") + 1);
    const tailOf = (header: string) => cookieTail(header, "session") as string;
    // The value runs to the header's end: the tail is the value, and the entry is the value's.
    for (const header of [cookie, "a=1; " + cookie, "a=1;" + cookie]) {
      assert.equal(tailOf(header), value);
      assert.equal(verifiedTailEntryOf(settings, tailOf(header)), verifiedEntryOf(settings, value));
      assert.ok(verifiedEntryOf(settings, value));
    }
    // Anything after the value (another cookie, white space, a second "session"): no key, the value's lookup decides.
    for (const header of [cookie + "; b=2", cookie + ";", cookie + " ", "session= " + value, cookie + "; session=x"]) {
      assert.equal(verifiedTailEntryOf(settings, tailOf(header)), null);
      assert.equal(tailValue(tailOf(header)), value);
    }
    // An entry only the zone holds is not looked for there.
    const other = await login(env, {}, "bob");
    const otherValue = other.substring(other.indexOf("=") + 1);
    assert.ok(await cold(env, other));
    const zoned = createTieredVerifiedCache(createMemoryVerifiedCache(10, 1 << 20), createZoneVerifiedCache(env.dicts.njs_session_cache, "njs_session_cache"));
    assert.equal(zoned.getInMemory?.(otherValue), null);
    assert.ok(zoned.get(otherValue));
    assert.ok(zoned.getInMemory?.(otherValue));
    // After a miss in memory, the lookup past it: the zone's entry, then kept in memory; a memory-only
    // cache has nothing past memory.
    const beyond = createTieredVerifiedCache(createMemoryVerifiedCache(10, 1 << 20), createZoneVerifiedCache(env.dicts.njs_session_cache, "njs_session_cache"));
    assert.equal(beyond.getInMemory?.(otherValue), null);
    assert.deepEqual(beyond.getBeyondMemory?.(otherValue), zoned.get(otherValue));
    assert.ok(beyond.getInMemory?.(otherValue));
    assert.equal(beyond.getBeyondMemory?.("x" + otherValue), null);
    const memoryOnly = createMemoryVerifiedCache(10, 1 << 20);
    memoryOnly.set(otherValue, zoned.get(otherValue) as VerifiedSession, 60);
    assert.equal(memoryOnly.getBeyondMemory?.(otherValue), null);
    // verifiedEntryOf told that memory was asked: the zone's entry all the same.
    assert.deepEqual(verifiedEntryOf({ ...settings, verifiedCache: createTieredVerifiedCache(createMemoryVerifiedCache(10, 1 << 20), createZoneVerifiedCache(env.dicts.njs_session_cache, "njs_session_cache")) }, otherValue, true), zoned.get(otherValue));
    // A zone without a memory tier (the njs engine) has no such lookup.
    const zoneSettings = createEnv(COOKIE_OPTIONS, { keepsModuleState: false, zones: ["sessions", "njs_session_cache"] }).library.settings();
    assert.ok(zoneSettings.verifiedCache);
    assert.equal(verifiedTailEntryOf(zoneSettings, value), null);
  });

  it("the cold part's writer: the view's reader given zoneWriterSet writes what the zone's cache reads; a refused write throws the dict's own error", () => {
    const dict = createMemorySharedDict({ name: "c", timeout: DAY_MS, evict: true });
    const writer = Object.assign(createZoneVerifiedCacheReader(dict, "c"), { set: zoneWriterSet });
    const plaintext = '[[{"name":"Alice"},"default","alice"]]';
    const session = { ...entry(plaintext), entries: decodeEntries(plaintext) };
    writer.set("cookie-1", session, 60);
    assert.deepEqual(createZoneVerifiedCache(dict, "c").get("cookie-1"), session);
    assert.deepEqual(writer.get("cookie-1"), session);
    // The zone's timeout bounds the entry as the session's lifetime says (dictTimeout).
    assert.ok((dict.ttl("cookie-1") as number) <= 60_000);
    // A zone without evict, full: the full check's writer leaves the session uncached; this one throws
    // the dict's error as it is, for the cold part to hand the request to the full check.
    const full = createMemorySharedDict({ name: "f", timeout: DAY_MS, capacity: 200 });
    const fullWriter = Object.assign(createZoneVerifiedCacheReader(full, "f"), { set: zoneWriterSet });
    assert.throws(() => fullWriter.set("cookie-1", session, 60), (e: Error) => e.name === "SharedMemoryError");
    assert.doesNotThrow(() => createZoneVerifiedCache(full, "f").set("cookie-1", session, 60));
    // A zone without a timeout: unnamed here, a configuration error from the full check's writer.
    const untimed = createMemorySharedDict({ name: "u" });
    const untimedWriter = Object.assign(createZoneVerifiedCacheReader(untimed, "u"), { set: zoneWriterSet });
    assert.throws(() => untimedWriter.set("cookie-1", session, 60), (e: Error) => e.name !== "ConfigError" && /declared with timeout/.test(e.message));
    assert.throws(() => createZoneVerifiedCache(untimed, "u").set("cookie-1", session, 60), (e: Error) => e.name === "ConfigError");
  });

  it("worker memory in front of the zone keeps what it found there", () => {
    const dict = createMemorySharedDict({ name: "c", timeout: DAY_MS, evict: true });
    const zone = createZoneVerifiedCache(dict, "c");
    const memory = createMemoryVerifiedCache(10, 1 << 20);
    zone.set("cookie-1", entry("x"), 60);
    const tiered = createTieredVerifiedCache(memory, zone);
    assert.equal(memory.get("cookie-1"), null);
    assert.equal(tiered.get("cookie-1")?.plaintext, "x");
    assert.equal(memory.get("cookie-1")?.plaintext, "x");
  });
});

describe("the zone's text", () => {
  const hostile: VerifiedSession = {
    keyId: "k;1",
    bind: "10.0.0.1|https|Mozilla;5.0 \"x\"\n;;",
    ciphertext: "abc_-",
    plaintext: '[[{"a;b":"\u00e9;\n","":[]},"aud;x","s;"]]',
    flags: 0x0700,
    creationTime: 1_700_000_000,
    rollingOffset: 12,
    idlingOffset: 0,
    sid: "c2lk",
    loggableId: "bG9n",
  };

  function zoneWith(): { dict: ReturnType<typeof createMemorySharedDict>; zone: ReturnType<typeof createZoneVerifiedCache> } {
    const dict = createMemorySharedDict({ name: "c", timeout: DAY_MS, evict: true });
    return { dict, zone: createZoneVerifiedCache(dict, "c") };
  }

  it("gives back every field, separators and any character in the free-form ones included", () => {
    const { zone } = zoneWith();
    zone.set("cookie", hostile, 60);
    assert.deepEqual(zone.get("cookie"), hostile);
    const empty = { ...hostile, keyId: "", bind: "", ciphertext: "", plaintext: "" };
    zone.set("empty", empty, 60);
    assert.deepEqual(zone.get("empty"), empty);
  });

  it("keeps the entries the writer accepted, so that the fast check need not parse the payload", () => {
    const { dict, zone } = zoneWith();
    const plaintext = '[[{"name":"Alice","roles":["a","b"],"n":0.5},"default","alice"],[{},"admin"]]';
    const entries = decodeEntries(plaintext) as SessionEntry[];
    zone.set("entries", { ...hostile, plaintext, entries }, 60);
    assert.deepEqual(zone.get("entries"), { ...hostile, plaintext, entries });
    // The payload is in the text once.
    assert.equal((dict.get("entries") as string).split('"Alice"').length, 2);
    // What a parse gives but JSON would not write back (a number beyond the double range reads as
    // Infinity): read back as decodeEntries gave it to the writer.
    const beyond = '[[{"n":1e400},"default","alice"]]';
    zone.set("beyond", { ...hostile, plaintext: beyond, entries: decodeEntries(beyond) }, 60);
    assert.equal(zone.get("beyond")?.plaintext, beyond);
    assert.deepEqual(zone.get("beyond")?.entries, decodeEntries(beyond));
    // A JSON null subject, which decodeEntries reads as none: the entries are not kept, the fast
    // check decodes the payload itself.
    const nullSubject = '[[{},"default",null]]';
    zone.set("null", { ...hostile, plaintext: nullSubject, entries: decodeEntries(nullSubject) }, 60);
    assert.equal(zone.get("null")?.plaintext, nullSubject);
    assert.equal(zone.get("null")?.entries, undefined);
  });

  it("is the JSON text of its fields (written by hand, read by JSON.parse)", () => {
    const { dict, zone } = zoneWith();
    const plaintext = '[[{"name":"Al\\"ice"},"default","alice"]]';
    const entries = decodeEntries(plaintext) as SessionEntry[];
    for (const session of [hostile, { ...hostile, bind: "" }, { ...hostile, plaintext, entries }]) {
      zone.set("cookie", session, 60);
      const fields = JSON.parse(dict.get("cookie") as string);
      const head = [session.flags, session.creationTime, session.rollingOffset, session.idlingOffset, session.sid, session.loggableId, session.keyId, session.bind, session.ciphertext];
      assert.deepEqual(fields.slice(1, 10), head);
      assert.deepEqual(fields[12], session.entries ? JSON.parse(session.plaintext) : session.plaintext);
      assert.deepEqual(zone.get("cookie"), session);
    }
  });

  it("a damaged or foreign text (an entry of the object format before) reads as absent", () => {
    const { dict, zone } = zoneWith();
    zone.set("cookie", hostile, 60);
    const text = dict.get("cookie") as string;
    const rawPlaintext = '[[{"a;b":"\u00e9;\\n\\"]","":[]},"aud;x","s;"]]';
    const raw = { ...hostile, plaintext: rawPlaintext, entries: decodeEntries(rawPlaintext) as SessionEntry[] };
    assert.ok(raw.entries, "a payload decodeEntries accepts");
    zone.set("raw", raw, 60);
    const rawText = dict.get("raw") as string;
    assert.deepEqual(zone.get("raw"), raw);
    const damaged = [
      JSON.stringify({ k: "k", b: "", c: "c", p: "[]", f: 0, t: [1, 0, 0], s: "s", i: "l" }),
      text.substring(0, text.length - 2),
      text.replace(/^\[5,/, "[4,"),
      text.replace(/^\[5,/, "[3,"),
      JSON.stringify([3, ...JSON.parse(text).slice(1, 10), hostile.plaintext, 0]),
      text.replace(/^\[5,1792,/, '[5,"1792",'),
      JSON.stringify(JSON.parse(text).slice(0, 12)),
      text.replace(/\]$/, ',"more"]'),
      text.replace(/,0,(\d+),"/, ',1,$1,"'),
      text.replace(/,0,(\d+),"/, (_m, size) => "," + 0 + "," + (Number(size) + 1) + ',"'),
      rawText.replace(/,1,(\d+),\[/, ',0,$1,['),
      rawText.replace(/,1,(\d+),\[/, (_m, size) => ",1," + (Number(size) + 1) + ",["),
      rawText.replace(/,1,(\d+),\[/, (_m, size) => ",1," + (Number(size) - 1) + ",["),
      text.replace(/,1700000000,/, ',null,'),
      "[5,0,0,0,0]",
      "",
    ];
    for (const value of damaged) {
      assert.notEqual(value, text, "each is damaged");
      dict.set("other", value, 60_000);
      assert.equal(zone.get("other"), null, value);
    }
  });
});

function entry(plaintext: string): VerifiedSession {
  return { keyId: "k", bind: "", ciphertext: "c", plaintext, flags: 0, creationTime: T0, rollingOffset: 0, idlingOffset: 0, sid: "s", loggableId: "l" };
}

describe("the in-memory cache's bounds", () => {
  it("never holds more than its entries", () => {
    const cache = createMemoryVerifiedCache(100, 1 << 30);
    for (let i = 0; i < 1000; i++) cache.set("cookie-" + i, entry("p"), 60);
    let held = 0;
    for (let i = 0; i < 1000; i++) if (cache.get("cookie-" + i)) held++;
    assert.ok(held <= 100, held + " entries held");
    assert.ok(held >= 50, "the recent half stays: " + held);
    assert.ok(cache.get("cookie-999"));
  });

  it("never holds more than its bytes, and a session bigger than a quarter of a generation is not kept", () => {
    const cache = createMemoryVerifiedCache(1_000_000, 100_000);
    const big = "x".repeat(1000);
    for (let i = 0; i < 1000; i++) cache.set("cookie-" + i, entry(big), 60);
    let held = 0;
    for (let i = 0; i < 1000; i++) if (cache.get("cookie-" + i)) held++;
    // Each entry counts at least 2 × (2 × 1000) bytes: 100 kB hold at most 25 of them.
    assert.ok(held > 0 && held <= 25, held + " entries held");
    cache.set("huge", entry("y".repeat(20_000)), 60);
    assert.equal(cache.get("huge"), null);
  });

  it("a hit in the older generation keeps the entry", () => {
    const cache = createMemoryVerifiedCache(4, 1 << 30);
    cache.set("a", entry("1"), 60);
    cache.set("b", entry("2"), 60);
    cache.set("c", entry("3"), 60); // the first generation (a, b) ages
    assert.ok(cache.get("a")); // moved back to the young generation
    cache.set("d", entry("4"), 60);
    cache.set("e", entry("5"), 60); // ages again: (c, a) → old, (d, e) young... b is gone
    assert.equal(cache.get("b"), null);
    assert.ok(cache.get("a"));
  });
});

describe("quickCookie agrees with the full Cookie header parse, or declines", () => {
  const headers = [
    "session=abc",
    "a=1; session=abc; b=2",
    "a=1;session=abc",
    "session=abc; session=def",
    "xsession=1; session=abc",
    "a=session; session=abc",
    "session =abc",
    "a=1;  session=abc",
    "session=abc ; b=2",
    "SESSION=abc; session=def",
    "a=1",
    "",
    "session=",
    "session",
  ];
  for (const header of headers) {
    it(JSON.stringify(header), () => {
      const full = findCookie(parseCookieHeader(header), "session");
      const quick = quickCookie(header, "session");
      if (quick !== null) assert.equal(quick, full);
    });
  }
  it("declines the shapes it cannot settle, and says 'absent' only when the name is nowhere", () => {
    assert.equal(quickCookie("session =abc", "session"), null);
    assert.equal(quickCookie("xsession=1; session=abc", "session"), null);
    assert.equal(quickCookie("a=1", "session"), undefined);
  });
});
