/**
 * shm storage (src/storage/shm.ts) over an in-memory js_shared_dict_zone that behaves as
 * nginx/ngx_js_shared_dict.c does (test/support/memory-shared-dict.ts, itself checked first): the four
 * verbs, key names, stale_ttl, expiry on the caller's clock, how njs's complaints become errors, a full
 * zone with and without `evict`, whole lifecycles through the session library with storage "shm", and
 * TTLs past the dict's longest timeout (capped at MAX_DICT_TIMEOUT_SECONDS, never wrapped).
 * Storage keys are recomputed here with node:crypto from the cookie's header bytes, not with src/.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { createSessionLibrary } from "../../src/core/api";
import type { SessionOptions } from "../../src/core/options";
import { createMemoryExchange, type MemoryRequest } from "../../src/core/memory-exchange";
import type { LogLevel } from "../../src/core/platform";
import { configError } from "../../src/core/errors";
import { dictTimeout, MAX_DICT_TIMEOUT_SECONDS, zoneError } from "../../src/core/shared-dict";
import type { Storage } from "../../src/core/storage";
import { createNodePlatform } from "../../src/platform/node";
import { registerBuiltinStorages } from "../../src/storage/index";
import { createShmStorage, parseRecord } from "../../src/storage/shm";
import {
  createMemorySharedDict,
  EVICT_BATCH,
  NODE_SIZE,
  type MemorySharedDict,
  type MemorySharedDictOptions,
} from "../support/memory-shared-dict";
import { isExpiredLine, mint, nextCookie, setCookieLine, setCookieValue, T0, type LogLine, type TestEnv } from "../support/session-env";

registerBuiltinStorages();

const SECRET = "shm-storage-secret";
const DAY_MS = 86_400_000;
/** The zone as docs/storage.md declares it: `js_shared_dict_zone zone=sessions:10m timeout=1d;`. */
const ZONE: MemorySharedDictOptions = { name: "sessions", timeout: DAY_MS };
const SHM: SessionOptions = { secret: SECRET, storage: "shm", audience: "app" };

interface ShmEnv extends TestEnv {
  dict: MemorySharedDict;
}

/** A session library whose platform has one zone, "sessions", on the same clock (ms) as the library (s). */
function createShmEnv(zone: MemorySharedDictOptions = ZONE, start: number = T0): ShmEnv {
  const clock = { now: start };
  const logs: LogLine[] = [];
  const dict = createMemorySharedDict({ ...zone, clock: () => clock.now * 1000 });
  const platform = createNodePlatform({
    now: () => clock.now,
    log: (level: LogLevel, message: string) => logs.push({ level, message }),
    sharedDicts: { [dict.name]: dict },
  });
  return {
    clock,
    logs,
    dict,
    platform,
    library: createSessionLibrary(platform),
    request: (cookie?: string, extra?: Omit<MemoryRequest, "cookie">) => createMemoryExchange({ cookie, ...(extra || {}) }),
  };
}

/** A bare shm storage over `dict` with a clock the test moves (the storage itself takes `now` per call). */
function storageOver(dict: MemorySharedDict | undefined, options?: { [name: string]: unknown }): Storage {
  const platform = createNodePlatform({ sharedDicts: dict ? { [dict.name]: dict } : {} });
  return createShmStorage(options, platform);
}

function cookieValueIn(header: string, name: string): string {
  for (const part of header.split(";")) {
    const equals = part.indexOf("=");
    if (part.substring(0, equals).trim() === name) return part.substring(equals + 1).trim();
  }
  throw new Error("no cookie " + name + " in " + header);
}

/** The session id: header bytes [3, 35) of the cookie (type 1 B, flags 2 B, then the 32-byte sid). */
function sidOf(cookieHeader: string, name = "session"): Buffer {
  return Buffer.from(cookieValueIn(cookieHeader, name).substring(0, 110), "base64url").subarray(3, 35);
}

function plainKey(cookieHeader: string, name = "session"): string {
  return name + ":" + sidOf(cookieHeader, name).toString("base64url");
}

function hashedKey(cookieHeader: string, name = "session"): string {
  return name + ":" + createHash("sha256").update(sidOf(cookieHeader, name)).digest("base64url");
}

function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof Error, "an Error was thrown");
    return e;
  }
  assert.fail("expected a throw");
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof Error, "rejected with an Error");
    return e;
  }
  assert.fail("expected a rejection");
}

function assertConfigError(error: Error, pattern: RegExp): void {
  assert.equal(error.name, "ConfigError");
  assert.match(error.message, /^invalid session configuration: /);
  assert.match(error.message, pattern);
}

// -------------------------------------------------------------------------------------------------

describe("the in-memory shared dict (as nginx/ngx_js_shared_dict.c behaves)", () => {
  function dictAt(options: MemorySharedDictOptions = ZONE) {
    const clock = { ms: T0 * 1000 };
    return { clock, dict: createMemorySharedDict({ ...options, clock: () => clock.ms }) };
  }

  it("a per-key timeout needs a zone declared with timeout=; without an argument the zone's own applies", () => {
    const { dict } = dictAt({ name: "plain" });
    const error = thrownBy(() => dict.set("k", "v", 1000));
    assert.ok(error instanceof TypeError);
    assert.equal(error.message, "shared dict must be declared with timeout");
    assert.equal(dict.get("k"), undefined, "nothing stored");
    dict.set("k", "v");
    assert.equal(dict.get("k"), "v");
    assert.equal(thrownBy(() => dict.add("a", "v", 5)).message, "shared dict must be declared with timeout");
    assert.equal(thrownBy(() => dict.ttl("k")).message, "shared dict must be declared with timeout");
  });

  it("the value's type is checked before the timeout; timeouts below 1 ms and non-numbers are refused", () => {
    const { dict } = dictAt();
    const notString = thrownBy(() => dict.set("k", 1 as unknown as string, "x" as unknown as number));
    assert.ok(notString instanceof TypeError);
    assert.equal(notString.message, "string value is expected");
    assert.equal(thrownBy(() => dict.set("k", "v", "10" as unknown as number)).message, "timeout is not a number");
    assert.equal(thrownBy(() => dict.set("k", "v", 0)).message, "timeout must be greater than or equal to 1");
    assert.equal(thrownBy(() => dict.set("k", "v", 0.5)).message, "timeout must be greater than or equal to 1");
    const numbers = dictAt({ ...ZONE, type: "number" }).dict;
    assert.equal(thrownBy(() => numbers.set("k", "v")).message, "number value is expected");
    numbers.set("n", 42);
    assert.equal(numbers.get("n"), 42);
  });

  it("add: refused while the key lives, allowed once it expired; replace: refused when absent", () => {
    const { dict, clock } = dictAt();
    assert.equal(dict.replace("k", "v"), false);
    assert.equal(dict.add("k", "one", 1000), true);
    assert.equal(dict.add("k", "two", 1000), false);
    assert.equal(dict.get("k"), "one");
    assert.equal(dict.replace("k", "three", 2000), true);
    assert.equal(dict.ttl("k"), 2000);
    clock.ms += 1999;
    assert.equal(dict.ttl("k"), 1);
    clock.ms += 1;
    assert.equal(dict.get("k"), undefined, "expired at now >= expiry");
    assert.equal(dict.has("k"), false);
    assert.equal(dict.ttl("k"), undefined);
    assert.deepEqual(dict.keys(), []);
    assert.equal(dict.add("k", "four", 1000), true, "an expired key is overwritten by add");
    assert.equal(dict.get("k"), "four");
    assert.equal(dict.delete("k"), true);
    assert.equal(dict.delete("k"), false);
    assert.ok(dict.set("k", "v") === dict, "set returns the dict");
  });

  it("a full zone throws SharedMemoryError (empty message) and keeps what it holds", () => {
    const { dict } = dictAt({ ...ZONE, capacity: 2 * (NODE_SIZE + 1 + 10) });
    dict.set("a", "0123456789");
    dict.set("b", "0123456789");
    const error = thrownBy(() => dict.set("c", "0123456789"));
    assert.equal(error.name, "SharedMemoryError");
    assert.equal(error.message, "");
    assert.ok(!(error instanceof TypeError));
    assert.deepEqual(dict.keys().sort(), ["a", "b"]);
    assert.equal(thrownBy(() => dict.set("a", "01234567890")).name, "SharedMemoryError", "an update allocates before it frees");
    assert.equal(dict.get("a"), "0123456789");
    assert.equal(dict.freeSpace(), 0);
  });

  it("a new key frees expired keys first; `evict` frees the keys nearest to expiry, 16 at a time, never the one updated", () => {
    const entry = NODE_SIZE + 3 + 10;
    const { dict, clock } = dictAt({ ...ZONE, capacity: 20 * entry });
    for (let i = 0; i < 20; i++) dict.set("k" + String(i).padStart(2, "0"), "0123456789", 1000 + i);
    clock.ms += 1000;
    dict.set("new", "0123456789", 5000);
    assert.equal(dict.inspect().some((node) => node.key === "k00"), false, "the expired key was freed to make room");

    const evicting = dictAt({ ...ZONE, capacity: 20 * entry, evict: true });
    for (let i = 0; i < 20; i++) evicting.dict.set("k" + String(i).padStart(2, "0"), "0123456789", 100000 - i * 10);
    evicting.dict.set("new", "0123456789", 500000);
    const left = evicting.dict.keys().sort();
    assert.equal(left.length, 20 - EVICT_BATCH + 1);
    assert.deepEqual(left, ["k00", "k01", "k02", "k03", "new"], "the 16 expiring first are gone");

    const updating = dictAt({ ...ZONE, capacity: 2 * entry, evict: true });
    updating.dict.set("k00", "0123456789", 10);
    updating.dict.set("k01", "0123456789", 20);
    updating.dict.set("k00", "01234567890123456789", 30);
    assert.deepEqual(updating.dict.keys(), ["k00"], "the other key was evicted, not the one being updated");
  });

  it('engine "qjs" converts timeouts with JS_ToUint32 (modulo 2^32 ms), the njs engine does not', () => {
    const long = 34_560_000 * 1000;
    const njs = dictAt();
    njs.dict.set("k", "v", long);
    assert.equal(njs.dict.ttl("k"), long);
    const qjs = dictAt({ ...ZONE, engine: "qjs" });
    qjs.dict.set("k", "v", long);
    assert.equal(qjs.dict.ttl("k"), long % 2 ** 32);
  });
});

// -------------------------------------------------------------------------------------------------

describe("shm storage: the four verbs", () => {
  it("set stores `<expiry>;<value>` under name:key with a per-key timeout of ttl seconds; get and delete", async () => {
    const dict = createMemorySharedDict({ ...ZONE, clock: () => T0 * 1000 });
    const storage = storageOver(dict);
    await storage.set("session", "KEY", '["payload"]', 3600, T0);
    assert.deepEqual(dict.inspect(), [{ key: "session:KEY", value: T0 + 3600 + ';["payload"]', expire: (T0 + 3600) * 1000 }]);
    assert.equal(dict.ttl("session:KEY"), 3_600_000);
    assert.equal(await storage.get("session", "KEY", T0 + 1), '["payload"]');
    assert.equal(await storage.get("session", "OTHER", T0 + 1), null);
    assert.equal(await storage.get("remember", "KEY", T0 + 1), null, "the cookie name is part of the key");
    await storage.delete("session", "KEY", T0 + 1);
    assert.equal(await storage.get("session", "KEY", T0 + 1), null);
    assert.deepEqual(dict.inspect(), []);
    await storage.delete("session", "KEY", T0 + 1);
  });

  it("names are [prefix:]name:key[:suffix], as lua-resty-session's get_name builds them", async () => {
    const dict = createMemorySharedDict({ ...ZONE, clock: () => T0 * 1000 });
    await storageOver(dict, { prefix: "p", suffix: "s" }).set("session", "K", "v", 10, T0);
    await storageOver(dict, { prefix: "p" }).set("session", "K", "v", 10, T0);
    await storageOver(dict, { suffix: "s" }).set("session", "K", "v", 10, T0);
    assert.deepEqual(dict.keys().sort(), ["p:session:K", "p:session:K:s", "session:K:s"]);
    assert.equal(await storageOver(dict, { prefix: "p", suffix: "s" }).get("session", "K", T0), "v");
  });

  it("shm.zone picks the zone; the default is \"sessions\"", async () => {
    const other = createMemorySharedDict({ ...ZONE, name: "other", clock: () => T0 * 1000 });
    const sessions = createMemorySharedDict({ ...ZONE, clock: () => T0 * 1000 });
    const platform = createNodePlatform({ sharedDicts: { other, sessions } });
    await createShmStorage({ zone: "other" }, platform).set("session", "A", "v", 10, T0);
    await createShmStorage(undefined, platform).set("session", "B", "v", 10, T0);
    assert.deepEqual(other.keys(), ["session:A"]);
    assert.deepEqual(sessions.keys(), ["session:B"]);
  });

  it("expiry is the caller's `now` against the expiry in the record, whatever the zone still holds", async () => {
    const dict = createMemorySharedDict({ ...ZONE, clock: () => T0 * 1000 });
    const storage = storageOver(dict);
    // As after a state-file restore: the record outlives its own expiry in the zone.
    dict.set("session:OLD", T0 + 5 + ";value", DAY_MS);
    assert.equal(await storage.get("session", "OLD", T0 + 4), "value");
    assert.equal(await storage.get("session", "OLD", T0 + 5), null, "expired at now >= expiry");
    // Records that are not `<expiry>;<value>` read as missing.
    for (const raw of ["no separator", ";value", "x;value", "-1;value"]) {
      dict.set("session:BAD", raw);
      assert.equal(await storage.get("session", "BAD", T0), null, JSON.stringify(raw));
    }
    assert.deepEqual(parseRecord("12;a;b"), { expires: 12, value: "a;b" }, "the value may hold ';'");
  });

  it("the zone's own timeout frees the record after ttl seconds", async () => {
    const clock = { ms: T0 * 1000 };
    const dict = createMemorySharedDict({ ...ZONE, clock: () => clock.ms });
    const storage = storageOver(dict);
    await storage.set("session", "K", "v", 60, T0);
    clock.ms += 59_999;
    assert.equal(dict.get("session:K"), T0 + 60 + ";v");
    clock.ms += 1;
    assert.equal(dict.get("session:K"), undefined);
  });
});

describe("shm storage: stale_ttl on the old key when a session is saved with a new id", () => {
  function setUp() {
    const clock = { ms: T0 * 1000 };
    const dict = createMemorySharedDict({ ...ZONE, clock: () => clock.ms });
    return { clock, dict, storage: storageOver(dict) };
  }

  it("the old record is shortened to stale_ttl (value expiry and zone timeout both)", async () => {
    const { clock, dict, storage } = setUp();
    await storage.set("session", "OLD", "old", 3600, T0);
    clock.ms = (T0 + 100) * 1000;
    await storage.set("session", "NEW", "new", 3600, T0 + 100, "OLD", 10);
    assert.equal(dict.get("session:OLD"), T0 + 110 + ";old");
    assert.equal(dict.ttl("session:OLD"), 10_000);
    assert.equal(await storage.get("session", "OLD", T0 + 109), "old");
    assert.equal(await storage.get("session", "OLD", T0 + 110), null);
    assert.equal(await storage.get("session", "NEW", T0 + 110), "new");
  });

  it("never extended: an old record with less than stale_ttl left keeps its own expiry", async () => {
    const { clock, dict, storage } = setUp();
    await storage.set("session", "OLD", "old", 3600, T0);
    clock.ms = (T0 + 3595) * 1000;
    await storage.set("session", "NEW", "new", 3600, T0 + 3595, "OLD", 10);
    assert.equal(dict.get("session:OLD"), T0 + 3600 + ";old");
    assert.equal(dict.ttl("session:OLD"), 5_000);
    assert.equal(await storage.get("session", "OLD", T0 + 3600), null);
  });

  it("stale_ttl 0 deletes the old record; a missing or already expired old record is left alone", async () => {
    const { clock, dict, storage } = setUp();
    await storage.set("session", "OLD", "old", 3600, T0);
    await storage.set("session", "NEW", "new", 3600, T0, "OLD", 0);
    assert.equal(dict.inspect().some((node) => node.key === "session:OLD"), false);

    await storage.set("session", "NEXT", "next", 3600, T0, "GONE", 10);
    assert.equal(dict.get("session:GONE"), undefined);

    dict.set("session:EXPIRED", T0 - 1 + ";expired", DAY_MS);
    clock.ms = (T0 + 1) * 1000;
    await storage.set("session", "LATEST", "latest", 3600, T0 + 1, "EXPIRED", 10);
    assert.equal(dict.get("session:EXPIRED"), T0 - 1 + ";expired", "not revived with a fresh stale_ttl");
    assert.equal(await storage.get("session", "EXPIRED", T0 + 1), null);
  });
});

describe("shm storage: errors", () => {
  it("a zone without timeout= is a configuration error, on the first save", async () => {
    const storage = storageOver(createMemorySharedDict({ name: "sessions" }));
    const error = await rejectionOf(Promise.resolve().then(() => storage.set("session", "K", "v", 60, T0)));
    assertConfigError(error, /js_shared_dict_zone "sessions" needs a timeout= parameter/);
  });

  it("a zone of type=number is a configuration error, on save and on read", async () => {
    const dict = createMemorySharedDict({ ...ZONE, type: "number", clock: () => T0 * 1000 });
    const storage = storageOver(dict);
    assertConfigError(
      await rejectionOf(Promise.resolve().then(() => storage.set("session", "K", "v", 60, T0))),
      /js_shared_dict_zone "sessions" must hold strings \(type=string, the default\)/,
    );
    dict.set("session:K", 1);
    assertConfigError(
      await rejectionOf(Promise.resolve().then(() => storage.get("session", "K", T0))),
      /must hold strings/,
    );
  });

  it("a zone that is not declared is a configuration error naming the directive", async () => {
    const storage = storageOver(undefined);
    const calls: Array<() => unknown> = [
      () => storage.get("session", "K", T0),
      () => storage.set("session", "K", "v", 1, T0),
      () => storage.delete("session", "K", T0),
    ];
    for (const call of calls) {
      assertConfigError(await rejectionOf(Promise.resolve().then(call)), /js_shared_dict_zone "sessions" \(shm storage\) is not declared/);
    }
    assert.doesNotThrow(() => storageOver(undefined), "the zone is looked up per call, not when the storage is made");
  });

  it("a full zone is a plain Error naming the zone (not a configuration error)", async () => {
    const dict = createMemorySharedDict({ ...ZONE, capacity: NODE_SIZE + 40, clock: () => T0 * 1000 });
    const error = await rejectionOf(Promise.resolve().then(() => storageOver(dict).set("session", "K", "x".repeat(100), 60, T0)));
    assert.equal(error.name, "Error");
    assert.equal(error.message, 'shared dict zone "sessions" is full');
  });

  it("storage options are checked: unknown names and empty strings", () => {
    const platform = createNodePlatform({});
    assertConfigError(thrownBy(() => createShmStorage({ zones: "x" }, platform)), /unknown option shm\.zones/);
    assertConfigError(thrownBy(() => createShmStorage({ zone: "" }, platform)), /shm\.zone must be a non-empty string/);
    assertConfigError(thrownBy(() => createShmStorage({ prefix: 1 }, platform)), /shm\.prefix/);
  });

  it("zoneError: njs's messages map to reasons; anything else passes through unchanged", () => {
    assertConfigError(zoneError("z", new TypeError("shared dict must be declared with timeout")), /"z" needs a timeout=/);
    assertConfigError(zoneError("z", new TypeError("string value is expected")), /"z" must hold strings/);
    assertConfigError(zoneError("z", new TypeError("number value is expected")), /"z" must hold strings/);
    assertConfigError(zoneError("z", new TypeError("shared dict is not a number dict")), /"z" must hold strings/);
    const full = new Error("");
    full.name = "SharedMemoryError";
    assert.equal(zoneError("z", full).message, 'shared dict zone "z" is full');
    const other = new RangeError("something else");
    assert.equal(zoneError("z", other), other);
    const config = configError("already one");
    assert.equal(zoneError("z", config), config);
    assert.equal(zoneError("z", "text").message, "text");
  });
});

// -------------------------------------------------------------------------------------------------

describe('storage "shm" through the session library', () => {
  it("login → open → refresh with a new id (old key valid for stale_ttl) → logout deletes the record", async () => {
    const env = createShmEnv();
    const options: SessionOptions = { ...SHM, idling_timeout: 0 };
    const { cookie, exchange } = await mint(env, options, { user: "john" });
    assert.equal(setCookieValue(exchange.responseCookies, "session")!.length, 110, "the cookie is the header only");
    const key1 = plainKey(cookie);
    assert.deepEqual(env.dict.keys(), [key1]);
    const raw = env.dict.get(key1) as string;
    assert.match(raw, new RegExp("^" + (T0 + 3600) + ';\\["[A-Za-z0-9_-]+"\\]$'), "expiry ; [ciphertext]");
    assert.equal(env.dict.ttl(key1), 3_600_000, "kept for the rolling timeout");

    env.clock.now = T0 + 100;
    const opened = await env.library.open(env.request(cookie), options);
    assert.equal(opened.exists, true);
    assert.deepEqual(opened.session.getData(), { user: "john" });

    env.clock.now = T0 + 2701;
    const refreshExchange = env.request(cookie);
    const refreshed = await env.library.start(refreshExchange, options);
    assert.equal(refreshed.refreshed, true);
    const cookie2 = nextCookie(refreshExchange, cookie);
    const key2 = plainKey(cookie2);
    assert.notEqual(key2, key1);
    assert.deepEqual(env.dict.keys().sort(), [key1, key2].sort());
    assert.equal(env.dict.ttl(key1), 10_000, "old record shortened to stale_ttl (10)");
    assert.match(env.dict.get(key1) as string, new RegExp("^" + (T0 + 2711) + ";"));

    env.clock.now = T0 + 2710;
    assert.equal((await env.library.open(env.request(cookie), options)).exists, true, "old cookie within stale_ttl");
    env.clock.now = T0 + 2711;
    const late = await env.library.open(env.request(cookie), options);
    assert.equal(late.error, "unable to load session");
    assert.ok(env.logs.some((line) => line.level === "info" && line.message.endsWith(": unable to load session")));

    env.clock.now = T0 + 2720;
    const logoutExchange = env.request(cookie2);
    const loggedOut = await env.library.logout(logoutExchange, options);
    assert.equal(loggedOut.loggedOut, true);
    assert.ok(isExpiredLine(setCookieLine(logoutExchange.responseCookies, "session")));
    assert.equal(env.dict.inspect().some((node) => node.key === key2), false, "the record is deleted, not left to expire");
    assert.equal((await env.library.open(env.request(cookie2), options)).error, "unable to load session");
  });

  it("hash_storage_key: the key is base64url(SHA-256(sid)), the sid nowhere in the zone", async () => {
    const env = createShmEnv();
    const options: SessionOptions = { ...SHM, hash_storage_key: true };
    const { cookie } = await mint(env, options);
    const sid = sidOf(cookie);
    assert.deepEqual(env.dict.keys(), [hashedKey(cookie)]);
    const sidText = sid.toString("base64url");
    for (const node of env.dict.inspect()) {
      assert.ok(!node.key.includes(sidText) && !String(node.value).includes(sidText));
    }
    assert.equal((await env.library.open(env.request(cookie), options)).exists, true);
    assert.equal((await env.library.open(env.request(cookie), SHM)).error, "unable to load session", "unhashed lookup misses");
  });

  it("prefix and suffix from the shm options name the records", async () => {
    const env = createShmEnv();
    const options: SessionOptions = { ...SHM, shm: { prefix: "app", suffix: "v1" } };
    const { cookie } = await mint(env, options);
    assert.deepEqual(env.dict.keys(), ["app:" + plainKey(cookie) + ":v1"]);
    assert.equal((await env.library.open(env.request(cookie), options)).exists, true);
  });

  it("remember: both cookies are records in the zone; destroy deletes both", async () => {
    const env = createShmEnv();
    const options: SessionOptions = { ...SHM, remember: true, remember_safety: "Low" };
    const { cookie } = await mint(env, options);
    const sessionKey = plainKey(cookie);
    const rememberKey = plainKey(cookie, "remember");
    assert.deepEqual(env.dict.keys().sort(), [rememberKey, sessionKey].sort());
    assert.equal(env.dict.ttl(sessionKey), 3_600_000);
    assert.equal(env.dict.ttl(rememberKey), 604_800_000, "the remember rolling timeout");

    // Without the session cookie the remember cookie restores the session, with fresh records.
    env.clock.now = T0 + 4000;
    const restoreExchange = env.request("remember=" + cookieValueIn(cookie, "remember"));
    const restored = await env.library.open(restoreExchange, options);
    assert.equal(restored.exists, true);
    const cookie2 = nextCookie(restoreExchange, cookie);
    const rememberKey2 = plainKey(cookie2, "remember");
    assert.notEqual(rememberKey2, rememberKey);
    assert.equal(env.dict.ttl(rememberKey), 10_000, "the previous remember record is kept for stale_ttl");

    const destroyExchange = env.request(cookie2);
    assert.equal((await env.library.destroy(destroyExchange, options)).destroyed, true);
    const left = env.dict.keys();
    assert.ok(!left.includes(plainKey(cookie2)) && !left.includes(rememberKey2), "both current records deleted");
    assert.ok(isExpiredLine(setCookieLine(destroyExchange.responseCookies, "remember")));
  });

  it("a misconfigured zone fails closed: save and open throw the ConfigError instead of reporting no session", async () => {
    const noTimeout = createShmEnv({ name: "sessions" });
    const session = noTimeout.library.new(noTimeout.request(), SHM);
    session.set("a", 1);
    assertConfigError(await rejectionOf(session.save()), /needs a timeout= parameter/);

    const missing = createShmEnv({ ...ZONE, name: "elsewhere" });
    const minted = createShmEnv();
    const { cookie } = await mint(minted, SHM);
    assertConfigError(await rejectionOf(missing.library.open(missing.request(cookie), SHM)), /"sessions" \(shm storage\) is not declared/);
    assertConfigError(
      await rejectionOf(missing.library.open(missing.request(cookie), { ...SHM, shm: { zone: "nope" } })),
      /"nope" \(shm storage\) is not declared/,
    );
  });

  it("a full zone without evict: the save fails with a reason, no cookie is sent, no other session is lost", async () => {
    const probe = createShmEnv();
    await mint(probe, SHM);
    const perSession = probe.dict.usedBytes();
    const env = createShmEnv({ ...ZONE, capacity: perSession * 20 + perSession / 2 });
    const cookies: string[] = [];
    for (let i = 0; i < 20; i++) {
      env.clock.now = T0 + i;
      cookies.push((await mint(env, SHM)).cookie);
    }
    env.clock.now = T0 + 20;
    const exchange = env.request();
    const session = env.library.new(exchange, SHM);
    session.set("user", "one too many");
    const saved = await session.save();
    assert.equal(saved.ok, false);
    assert.equal(saved.error, 'unable to store session data (shared dict zone "sessions" is full)');
    assert.deepEqual(exchange.responseCookies, [], "no cookie for a session that was not stored");
    for (const cookie of cookies) assert.equal((await env.library.open(env.request(cookie), SHM)).exists, true);

    // A refresh that cannot store its new record leaves the current one usable.
    env.clock.now = T0 + 2800;
    const noIdling: SessionOptions = { ...SHM, idling_timeout: 0 };
    const refresh = await env.library.start(env.request(cookies[19]), noIdling);
    assert.equal(refresh.refreshed, false);
    assert.equal(refresh.error, 'unable to store session data (shared dict zone "sessions" is full)');
    assert.equal((await env.library.open(env.request(cookies[19]), noIdling)).exists, true);
  });

  it("a full zone with evict: the sessions nearest to expiry make room, the others stay", async () => {
    const probe = createShmEnv();
    await mint(probe, SHM);
    const perSession = probe.dict.usedBytes();
    const env = createShmEnv({ ...ZONE, capacity: perSession * 20 + perSession / 2, evict: true });
    const cookies: string[] = [];
    for (let i = 0; i < 20; i++) {
      env.clock.now = T0 + i;
      cookies.push((await mint(env, SHM)).cookie);
    }
    env.clock.now = T0 + 20;
    const { cookie: newest } = await mint(env, SHM);
    assert.equal((await env.library.open(env.request(newest), SHM)).exists, true);
    for (let i = 0; i < 20; i++) {
      const opened = await env.library.open(env.request(cookies[i]), SHM);
      if (i < EVICT_BATCH) assert.equal(opened.error, "unable to load session", "session " + i + " expired first: evicted");
      else assert.equal(opened.exists, true, "session " + i + " expires later: kept");
    }
  });
});

describe("records kept longer than 2^32 ms (49.7 days): the zone's timeout is capped, never wrapped", () => {
  const CAP = MAX_DICT_TIMEOUT_SECONDS;
  const DAY = 86_400;

  /** Every timeout argument shm storage hands the zone, by verb and key. */
  function spied(dict: MemorySharedDict): Array<[string, string, number | undefined]> {
    const calls: Array<[string, string, number | undefined]> = [];
    const set = dict.set.bind(dict);
    const replace = dict.replace.bind(dict);
    dict.set = (key, value, timeout) => (calls.push(["set", key, timeout]), set(key, value, timeout));
    dict.replace = (key, value, timeout) => (calls.push(["replace", key, timeout]), replace(key, value, timeout));
    return calls;
  }

  it("dictTimeout: seconds to milliseconds, capped at MAX_DICT_TIMEOUT_SECONDS (under 2^32 ms), at least 1 s", () => {
    assert.equal(CAP, 4_294_967);
    assert.ok(CAP * 1000 <= 2 ** 32 - 1 && (CAP + 1) * 1000 > 2 ** 32 - 1, "the largest whole second under 2^32 ms");
    assert.equal(dictTimeout(3600), 3_600_000);
    assert.equal(dictTimeout(CAP), CAP * 1000);
    assert.equal(dictTimeout(CAP + 1), CAP * 1000);
    assert.equal(dictTimeout(90 * DAY), CAP * 1000);
    assert.equal(dictTimeout(400 * DAY), CAP * 1000);
    assert.equal(dictTimeout(0), 1000);
  });

  for (const engine of ["njs", "qjs"] as const) {
    it(`set: the timeout given is min(ttl, cap) and does not wrap; the record's own expiry still says now + ttl (${engine} engine)`, async () => {
      const clock = { ms: T0 * 1000 };
      const dict = createMemorySharedDict({ ...ZONE, engine, clock: () => clock.ms });
      const calls = spied(dict);
      const storage = storageOver(dict);
      await storage.set("remember", "LONG", "v", 90 * DAY, T0);
      await storage.set("remember", "CAP", "v", CAP, T0);
      await storage.set("session", "SHORT", "v", 3600, T0);
      assert.deepEqual(calls, [
        ["set", "remember:LONG", CAP * 1000],
        ["set", "remember:CAP", CAP * 1000],
        ["set", "session:SHORT", 3_600_000],
      ]);
      for (const [, , timeout] of calls) assert.ok(timeout! < 2 ** 32, "below 2^32 ms: JS_ToUint32 keeps it as is");
      assert.equal(dict.ttl("remember:LONG"), CAP * 1000, "not wrapped to " + ((90 * DAY * 1000) % 2 ** 32) + " ms");
      assert.equal(dict.get("remember:LONG"), T0 + 90 * DAY + ";v");

      // The zone drops the 90-day record at the cap: early (a logout), never late, never wrapped short.
      clock.ms = (T0 + CAP - 1) * 1000;
      assert.equal(await storage.get("remember", "LONG", T0 + CAP - 1), "v");
      clock.ms = (T0 + CAP) * 1000;
      assert.equal(dict.get("remember:LONG"), undefined);
      assert.equal(await storage.get("remember", "LONG", T0 + CAP), null);
    });

    it(`a 90-day remember cookie's record lasts until the cap (~49.7 days), not 90 days and not a wrapped ~40 days (${engine} engine)`, async () => {
      const env = createShmEnv({ ...ZONE, engine });
      const calls = spied(env.dict);
      const options: SessionOptions = {
        ...SHM,
        remember: true,
        remember_safety: "Low",
        remember_rolling_timeout: 90 * DAY,
        remember_absolute_timeout: 365 * DAY,
      };
      const { cookie } = await mint(env, options);
      const rememberKey = plainKey(cookie, "remember");
      assert.deepEqual(
        calls.filter((call) => call[1] === rememberKey),
        [["set", rememberKey, CAP * 1000]],
      );
      assert.equal(env.dict.ttl(rememberKey), CAP * 1000);
      assert.match(env.dict.get(rememberKey) as string, new RegExp("^" + (T0 + 90 * DAY) + ";"), "the record's expiry: now + ttl");

      const remember = "remember=" + cookieValueIn(cookie, "remember");
      env.clock.now = T0 + 45 * DAY;
      const within = await env.library.open(env.request(remember), options);
      assert.equal(within.error, undefined, "past the 40.3 days a wrapped timeout would have left");
      assert.equal(within.exists, true);

      // A fresh exchange with the original remember cookie once the zone has dropped its record.
      const fresh = createShmEnv({ ...ZONE, engine });
      const minted = await mint(fresh, options);
      fresh.clock.now = T0 + CAP;
      fresh.logs.length = 0;
      const late = await fresh.library.open(fresh.request("remember=" + cookieValueIn(minted.cookie, "remember")), options);
      assert.equal(late.exists, false, "dropped at the cap, before its 90 days");
      assert.equal(late.error, "missing session cookie");
      assert.ok(
        fresh.logs.some((line) => line.level === "info" && line.message === '[session] remember cookie "remember" not used: unable to load session'),
        JSON.stringify(fresh.logs),
      );
    });
  }
});
