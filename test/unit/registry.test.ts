/**
 * The session registry and revocation list (src/core/registry.ts) in an in-memory js_shared_dict_zone
 * that behaves as nginx/njs's does (test/support/memory-shared-dict.ts): how the session state
 * machine keeps it (save → record, touch/refresh → update, logout/destroy → remove, open → "session
 * revoked"), listing, revoking one session (with its remember cookie and the sessions it restored) or
 * all of them, how revocations are pruned and expire (never past the dict's longest timeout: a registry
 * whose sessions could outlive it is a configuration error), hashed subjects, the lock, the per-subject
 * bound, full zones and reserved creation times. Registry keys are recomputed here with node:crypto.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { createSessionLibrary } from "../../src/core/api";
import type { SessionOptions } from "../../src/core/options";
import { createMemoryExchange, type MemoryRequest } from "../../src/core/memory-exchange";
import type { LogLevel, Platform } from "../../src/core/platform";
import { MAX_ENTRIES_PER_SUBJECT, type RegistryEntry } from "../../src/core/registry";
import { createRegistry, type ShmRegistry as Registry } from "../../src/core/shm-registry";
import { MAX_DICT_TIMEOUT_SECONDS, type SharedDict } from "../../src/core/shared-dict";
import { createNodePlatform } from "../../src/platform/node";
import { registerBuiltinStorages } from "../../src/storage/index";
import { createMemorySharedDict, NODE_SIZE, type MemorySharedDict, type MemorySharedDictOptions } from "../support/memory-shared-dict";
import { nextCookie, T0, type LogLine, type TestEnv } from "../support/session-env";

registerBuiltinStorages();

const SECRET = "registry-secret";
const DAY = 86_400;
const DAY_MS = DAY * 1000;
const SUBJECT = "john@example.com";
/** shm storage with store_metadata: the registry lives in the storage's zone. */
const SHM: SessionOptions = { secret: SECRET, storage: "shm", store_metadata: true, audience: "app" };

interface RegistryEnv extends TestEnv {
  dicts: { [zone: string]: MemorySharedDict };
  dict: MemorySharedDict;
  registry(options?: SessionOptions): Registry;
}

function createRegistryEnv(zones: MemorySharedDictOptions[] = [{ name: "sessions", timeout: DAY_MS }]): RegistryEnv {
  const clock = { now: T0 };
  const logs: LogLine[] = [];
  const dicts: { [zone: string]: MemorySharedDict } = {};
  for (const zone of zones) dicts[zone.name!] = createMemorySharedDict({ ...zone, clock: () => clock.now * 1000 });
  const platform = createNodePlatform({
    now: () => clock.now,
    log: (level: LogLevel, message: string) => logs.push({ level, message }),
    sharedDicts: dicts,
  });
  const library = createSessionLibrary(platform);
  return {
    clock,
    logs,
    dicts,
    dict: dicts[zones[0].name!],
    platform,
    library,
    request: (cookie?: string, extra?: Omit<MemoryRequest, "cookie">) => createMemoryExchange({ cookie, ...(extra || {}) }),
    registry: (options: SessionOptions = SHM) => {
      const registry = library.settings(options).registry;
      assert.ok(registry, "settings have a registry");
      // Zone registries answer at once (shm-registry.ts).
      return registry as Registry;
    },
  };
}

/** A login: a new session with `subject`, saved at `at` from a device; returns the Cookie header sent back. */
async function login(
  env: TestEnv,
  options: SessionOptions,
  at: number,
  subject: string = SUBJECT,
  request: Omit<MemoryRequest, "cookie"> = {},
): Promise<string> {
  env.clock.now = at;
  const exchange = env.request(undefined, request);
  const session = env.library.new(exchange, options);
  session.setSubject(subject);
  session.set("user", subject);
  const saved = await session.save();
  assert.equal(saved.error, undefined);
  return nextCookie(exchange);
}

async function openAt(env: TestEnv, at: number, cookie: string, options: SessionOptions, request: Omit<MemoryRequest, "cookie"> = {}) {
  env.clock.now = at;
  const exchange = env.request(cookie, request);
  const result = await env.library.open(exchange, options);
  return { ...result, exchange };
}

function b64u(bytes: Uint8Array | string): string {
  return Buffer.from(bytes).toString("base64url");
}

function sidKeyOf(cookieHeader: string, name = "session"): string {
  const value = cookieHeader.split("; ").find((pair) => pair.startsWith(name + "="))!.substring(name.length + 1);
  return b64u(Buffer.from(value.substring(0, 110), "base64url").subarray(3, 35));
}

/** Creation time from the cookie's header bytes [35, 40), little endian. */
function creationTimeOf(cookieHeader: string, name: string): number {
  const pair = cookieOnly(cookieHeader, name);
  return Buffer.from(pair.substring(name.length + 1, name.length + 1 + 110), "base64url").readUIntLE(35, 5);
}

function cookieOnly(cookieHeader: string, name: string): string {
  return cookieHeader.split("; ").find((pair) => pair.startsWith(name + "="))!;
}

function registryKey(audience: string, subject: string, hashed = false): string {
  const encoded = hashed ? b64u(createHash("sha256").update(subject, "utf8").digest().subarray(0, 16)) : b64u(subject);
  return "@registry:" + b64u(audience) + ":" + encoded;
}

function revokedKey(audience: string, subject: string, hashed = false): string {
  return registryKey(audience, subject, hashed).replace("@registry:", "@revoked:");
}

function rawJson(dict: MemorySharedDict, key: string): unknown {
  const raw = dict.get(key);
  return raw === undefined ? undefined : JSON.parse(raw as string);
}

function createdTimes(entries: RegistryEntry[]): number[] {
  return entries.map((entry) => entry.created);
}

function infoLines(env: TestEnv): string[] {
  return env.logs.filter((line) => line.level === "info").map((line) => line.message);
}

// -------------------------------------------------------------------------------------------------

describe("registry wiring (settings)", () => {
  it("no registry by default; shm storage + store_metadata uses the storage's zone; registry_zone names one", () => {
    const env = createRegistryEnv([
      { name: "sessions", timeout: DAY_MS },
      { name: "other", timeout: DAY_MS },
    ]);
    assert.equal(env.library.settings({ secret: SECRET }).registry, null);
    assert.equal(env.library.settings({ secret: SECRET, storage: "shm" }).registry, null, "store_metadata off");
    assert.equal(env.library.settings({ secret: SECRET, store_metadata: true }).registry, null, "cookie storage, no zone named");
    assert.equal(env.registry(SHM).zone, "sessions");
    assert.equal(env.registry({ ...SHM, shm: { zone: "other" } }).zone, "other");
    assert.equal(env.registry({ secret: SECRET, registry_zone: "other" }).zone, "other", "cookie storage with registry_zone");
    assert.equal(env.registry({ ...SHM, registry_zone: "other" }).zone, "other", "registry_zone wins over the storage's zone");
    assert.throws(() => env.library.settings({ secret: SECRET, registry_zone: "" }), { name: "ConfigError", message: /registry_zone/ });
  });

  it("an undeclared registry zone fails closed: open and save throw the ConfigError", async () => {
    const env = createRegistryEnv([{ name: "sessions", timeout: DAY_MS }]);
    const options: SessionOptions = { secret: SECRET, registry_zone: "missing", store_metadata: true };
    const session = env.library.new(env.request(), options);
    session.setSubject(SUBJECT);
    await assert.rejects(session.save(), { name: "ConfigError", message: /"missing" \(session registry\) is not declared/ });
    const cookie = await login(env, { secret: SECRET }, T0);
    await assert.rejects(env.library.open(env.request(cookie), options), { name: "ConfigError" });
  });
});

describe("the registry as sessions use it", () => {
  it("one entry per device, ordered by creation, with user agent, storage name and key; the address only when bound", async () => {
    const env = createRegistryEnv();
    const phone = await login(env, SHM, T0, SUBJECT, { userAgent: "Phone/1.0", remoteAddress: "192.0.2.1" });
    const laptop = await login(env, { ...SHM, bind: ["ip"] }, T0 + 5, SUBJECT, { userAgent: "Laptop/2.0", remoteAddress: "192.0.2.2" });
    await login(env, SHM, T0 + 7, "someone-else");
    env.clock.now = T0 + 10;
    const listed = env.registry().list("app", SUBJECT, T0 + 10);
    assert.deepEqual(listed, [
      { created: T0, lastSeen: T0, expires: T0 + 900, remember: false, userAgent: "Phone/1.0", name: "session", key: sidKeyOf(phone) },
      {
        created: T0 + 5,
        lastSeen: T0 + 5,
        expires: T0 + 5 + 900,
        remember: false,
        userAgent: "Laptop/2.0",
        ip: "192.0.2.2",
        name: "session",
        key: sidKeyOf(laptop),
      },
    ]);
    assert.deepEqual(createdTimes(env.registry().list("app", "someone-else", T0 + 10)), [T0 + 7]);
    assert.deepEqual(env.registry().list("other-audience", SUBJECT, T0 + 10), []);
    assert.deepEqual(env.registry().list("app", SUBJECT, T0 + 900), [listed[1]], "an entry leaves the list when it expires");
    assert.equal(env.dict.keys().filter((key) => key.startsWith("@lock:")).length, 0, "no lock left behind");
  });

  it("sessions without a subject are not listed", async () => {
    const env = createRegistryEnv();
    const session = env.library.new(env.request(), SHM);
    session.set("anonymous", true);
    assert.equal((await session.save()).ok, true);
    assert.deepEqual(env.dict.keys().filter((key) => key.charAt(0) === "@"), []);
  });

  it("a touch updates last_seen and expiry; a refresh with a new id keeps the entry and points it at the new record", async () => {
    const env = createRegistryEnv();
    const cookie = await login(env, SHM, T0, SUBJECT, { userAgent: "Phone/1.0" });
    env.clock.now = T0 + 100;
    const touched = await env.library.start(env.request(cookie, { userAgent: "Phone/1.0" }), SHM);
    assert.equal(touched.refreshed, true);
    let [entry] = env.registry().list("app", SUBJECT, T0 + 100);
    assert.equal(entry.created, T0);
    assert.equal(entry.lastSeen, T0 + 100);
    assert.equal(entry.expires, T0 + 100 + 900);
    assert.equal(entry.key, sidKeyOf(cookie), "a touch keeps the id");

    const rolling: SessionOptions = { ...SHM, idling_timeout: 0 };
    env.clock.now = T0 + 2800;
    const exchange = env.request(cookie, { userAgent: "Phone/1.0" });
    assert.equal((await env.library.start(exchange, rolling)).refreshed, true);
    const cookie2 = nextCookie(exchange, cookie);
    [entry] = env.registry().list("app", SUBJECT, T0 + 2800);
    assert.equal(entry.created, T0, "the creation time survives a new id");
    assert.equal(entry.lastSeen, T0 + 2800);
    assert.equal(entry.key, sidKeyOf(cookie2));
    assert.equal(env.registry().list("app", SUBJECT, T0 + 2800).length, 1);
  });

  it("logout and destroy remove the session's entry, and only its own", async () => {
    const env = createRegistryEnv();
    const phone = await login(env, SHM, T0);
    const laptop = await login(env, SHM, T0 + 5);
    const tablet = await login(env, SHM, T0 + 8);
    env.clock.now = T0 + 10;
    assert.equal((await env.library.logout(env.request(phone), SHM)).loggedOut, true);
    assert.deepEqual(createdTimes(env.registry().list("app", SUBJECT, T0 + 10)), [T0 + 5, T0 + 8]);
    assert.equal((await env.library.destroy(env.request(tablet), SHM)).destroyed, true);
    assert.deepEqual(createdTimes(env.registry().list("app", SUBJECT, T0 + 10)), [T0 + 5]);
    assert.equal((await env.library.logout(env.request(laptop), SHM)).loggedOut, true);
    assert.equal(env.dict.get(registryKey("app", SUBJECT)), undefined, "an empty list is deleted");
  });

  it("logging out of one audience removes that audience's entry and keeps the other's", async () => {
    const env = createRegistryEnv();
    const app = await login(env, SHM, T0);
    env.clock.now = T0 + 5;
    const exchange = env.request(app);
    const admin: SessionOptions = { ...SHM, audience: "admin" };
    const opened = await env.library.open(exchange, admin);
    assert.equal(opened.error, "missing session audience");
    opened.session.setSubject(SUBJECT);
    assert.equal((await opened.session.save()).ok, true);
    const both = nextCookie(exchange, app);
    assert.deepEqual(createdTimes(env.registry().list("admin", SUBJECT, T0 + 5)), [T0]);
    assert.deepEqual(createdTimes(env.registry().list("app", SUBJECT, T0 + 5)), [T0]);

    env.clock.now = T0 + 6;
    assert.equal((await env.library.logout(env.request(both), admin)).loggedOut, true);
    assert.deepEqual(env.registry().list("admin", SUBJECT, T0 + 6), []);
    assert.deepEqual(createdTimes(env.registry().list("app", SUBJECT, T0 + 6)), [T0]);
  });

  it("user agents are cut to 256 characters", async () => {
    const env = createRegistryEnv();
    await login(env, SHM, T0, SUBJECT, { userAgent: "x".repeat(1000) });
    assert.equal(env.registry().list("app", SUBJECT, T0)[0].userAgent, "x".repeat(256));
  });
});

describe("revocation", () => {
  it("revokeOne: the entry is returned (alone, in an array) and unlisted; that session is refused ('session revoked', logged at info), the others are not", async () => {
    const env = createRegistryEnv();
    const phone = await login(env, SHM, T0, SUBJECT, { userAgent: "Phone/1.0" });
    const laptop = await login(env, SHM, T0 + 5);
    const revoked = env.registry().revokeOne("app", SUBJECT, T0, T0 + 10);
    assert.deepEqual(createdTimes(revoked), [T0], "no remember cookie: only the session itself");
    assert.equal(revoked[0].userAgent, "Phone/1.0");
    assert.equal(revoked[0].key, sidKeyOf(phone));
    assert.deepEqual(createdTimes(env.registry().list("app", SUBJECT, T0 + 10)), [T0 + 5]);
    assert.equal(env.registry().isRevoked("app", SUBJECT, T0, T0 + 10), true);
    assert.equal(env.registry().isRevoked("app", SUBJECT, T0 + 5, T0 + 10), false);

    const refused = await openAt(env, T0 + 11, phone, SHM);
    assert.equal(refused.exists, false);
    assert.equal(refused.error, "session revoked");
    assert.equal(refused.session.state, "new");
    assert.deepEqual(refused.exchange.responseCookies, []);
    assert.ok(infoLines(env).includes('[session] no session for cookie "session": session revoked'));
    assert.equal((await openAt(env, T0 + 11, laptop, SHM)).exists, true);

    env.clock.now = T0 + 12;
    const started = await env.library.start(env.request(phone), SHM);
    assert.equal(started.exists, false, "start refuses it too");
    assert.equal(started.error, "session revoked");
    assert.deepEqual(env.registry().revokeOne("app", SUBJECT, T0 + 999, T0 + 12), [], "an unknown session: nothing");
    assert.deepEqual(rawJson(env.dict, revokedKey("app", SUBJECT)), { c: [T0] }, "and nothing more revoked");
  });

  it("revocation holds per audience and subject, and only for sessions that have a subject", async () => {
    const env = createRegistryEnv();
    const cookie = await login(env, SHM, T0);
    env.registry().revokeOne("app", SUBJECT, T0, T0 + 1);
    assert.equal(env.registry().isRevoked("app", "someone-else", T0, T0 + 1), false);
    assert.equal(env.registry().isRevoked("other", SUBJECT, T0, T0 + 1), false);
    env.clock.now = T0;
    const exchange = env.request();
    const anonymous = env.library.new(exchange, SHM);
    assert.equal((await anonymous.save()).ok, true, "an anonymous session created in the same second");
    assert.equal((await openAt(env, T0 + 2, cookie, SHM)).error, "session revoked");
    assert.equal((await openAt(env, T0 + 2, nextCookie(exchange), SHM)).exists, true, "no subject: nothing to revoke");
  });

  it("a remember cookie is revoked with its session", async () => {
    const env = createRegistryEnv();
    const options: SessionOptions = { ...SHM, remember: true, remember_safety: "Low" };
    const first = await login(env, options, T0, SUBJECT, { userAgent: "Phone/1.0" });
    const rememberCreated = creationTimeOf(first, "remember");
    const firstCreated = creationTimeOf(first, "session");
    assert.equal(rememberCreated, firstCreated, "issued with the session: the same creation time");
    const atLogin = env.registry().list("app", SUBJECT, T0).find((listed) => listed.created === firstCreated);
    assert.ok(atLogin, "the session is listed");
    assert.equal(atLogin.remember, true);
    assert.equal(atLogin.rememberCreated, rememberCreated, "the remember cookie's creation time");
    const other = await login(env, options, T0 + 50, SUBJECT, { userAgent: "Laptop/2.0" });

    // Later the session cookie has idled out; the remember cookie restores a new session (created now).
    const restore = await openAt(env, T0 + 4000, cookieOnly(first, "remember"), options, { userAgent: "Phone/1.0" });
    assert.equal(restore.exists, true);
    const restored = nextCookie(restore.exchange, first);
    assert.equal(creationTimeOf(restored, "remember"), rememberCreated, "the remember cookie keeps its creation time");
    const restoredCreated = creationTimeOf(restored, "session");
    const entry = env.registry().list("app", SUBJECT, T0 + 4000).find((listed) => listed.created === restoredCreated);
    assert.ok(entry, "the restored session is listed");
    assert.equal(entry.remember, true);
    assert.equal(entry.rememberCreated, rememberCreated, "with the creation time of the remember cookie that made it");

    assert.notEqual(restoredCreated, firstCreated);

    const revoked = env.registry().revokeOne("app", SUBJECT, restoredCreated, T0 + 4010);
    assert.deepEqual(
      createdTimes(revoked),
      [restoredCreated, firstCreated],
      "the session first, then the login that issued the same remember cookie",
    );
    assert.deepEqual(
      revoked.map((entry) => entry.rememberCreated),
      [rememberCreated, rememberCreated],
    );
    assert.equal(env.registry().isRevoked("app", SUBJECT, rememberCreated, T0 + 4010), true, "the remember cookie's creation time is revoked");
    assert.equal(env.registry().isRevoked("app", SUBJECT, restoredCreated, T0 + 4010), true);
    assert.deepEqual(
      env.registry().list("app", SUBJECT, T0 + 4010).map((listed) => listed.userAgent),
      ["Laptop/2.0"],
      "both sessions of that device are unlisted, the other device's stays",
    );
    const refused = await openAt(env, T0 + 4011, restored, options);
    assert.equal(refused.error, "session revoked", "the session, and its remember cookie does not bring it back");
    assert.deepEqual(refused.exchange.responseCookies, []);
    const viaRemember = await openAt(env, T0 + 8000, cookieOnly(restored, "remember"), options);
    assert.equal(viaRemember.exists, false);
    assert.deepEqual(viaRemember.exchange.responseCookies, [], "no session is restored from a revoked remember cookie");
    const viaFirstRemember = await openAt(env, T0 + 8000, cookieOnly(first, "remember"), options);
    assert.equal(viaFirstRemember.exists, false, "nor from the remember cookie as the login issued it");

    const otherRemember = await openAt(env, T0 + 8000, cookieOnly(other, "remember"), options);
    assert.equal(otherRemember.exists, true, "another device's remember cookie is untouched");
  });

  it("a revoked remember cookie sent without a session cookie: the error stays 'missing session cookie', and an info line says why it was not used", async () => {
    const env = createRegistryEnv();
    const options: SessionOptions = { ...SHM, remember: true, remember_safety: "Low" };
    const cookie = await login(env, options, T0);
    env.clock.now = T0 + 10;
    assert.deepEqual(createdTimes(env.registry().revokeOne("app", SUBJECT, creationTimeOf(cookie, "session"), T0 + 10)), [T0]);
    env.logs.length = 0;
    const opened = await openAt(env, T0 + 4000, cookieOnly(cookie, "remember"), options);
    assert.equal(opened.exists, false);
    assert.equal(opened.error, "missing session cookie");
    assert.deepEqual(opened.exchange.responseCookies, []);
    assert.ok(
      infoLines(env).includes('[session] remember cookie "remember" not used: session revoked'),
      "logged: " + JSON.stringify(infoLines(env)),
    );

    // No remember cookie sent at all: nothing to say about it.
    env.logs.length = 0;
    const none = await openAt(env, T0 + 4000, "", options);
    assert.equal(none.error, "missing session cookie");
    assert.equal(infoLines(env).some((line) => line.startsWith("[session] remember cookie")), false);
  });

  it("revokeAll: every listed entry returned, the list emptied, every session created so far refused, listed or not", async () => {
    const env = createRegistryEnv();
    const phone = await login(env, SHM, T0);
    const laptop = await login(env, SHM, T0 + 5);
    // A session the list does not know about (stored without store_metadata), in the same zone.
    const unlisted = await login(env, { ...SHM, store_metadata: false, registry_zone: "sessions" }, T0 + 7);
    assert.equal(env.registry().list("app", SUBJECT, T0 + 7).length, 2);

    const revoked = env.registry().revokeAll("app", SUBJECT, T0 + 10);
    assert.deepEqual(createdTimes(revoked).sort(), [T0, T0 + 5]);
    assert.deepEqual(env.registry().list("app", SUBJECT, T0 + 10), []);
    assert.equal(env.dict.get(registryKey("app", SUBJECT)), undefined);
    for (const cookie of [phone, laptop, unlisted]) {
      assert.equal((await openAt(env, T0 + 11, cookie, SHM)).error, "session revoked");
    }
    const again = await login(env, SHM, T0 + 11);
    assert.equal((await openAt(env, T0 + 12, again, SHM)).exists, true, "a login after the cut-off is not revoked");
    assert.deepEqual(createdTimes(env.registry().list("app", SUBJECT, T0 + 12)), [T0 + 11]);
  });

  it("cookie storage with registry_zone: revocation without server-side records", async () => {
    const env = createRegistryEnv();
    const options: SessionOptions = { secret: SECRET, registry_zone: "sessions", store_metadata: true };
    const cookie = await login(env, options, T0);
    const [entry] = env.registry(options).list("default", SUBJECT, T0);
    assert.equal(entry.name, undefined, "no storage record to name");
    assert.equal(entry.key, undefined);
    env.registry(options).revokeOne("default", SUBJECT, T0, T0 + 1);
    assert.equal((await openAt(env, T0 + 2, cookie, options)).error, "session revoked");
  });

  it("revocations are pruned: single ones older than the longest lifetime, and those a cut-off covers", () => {
    const env = createRegistryEnv();
    const registry = createRegistry(env.platform, { zone: "sessions", hashSubject: false, maxLifetime: 1000 });
    const key = revokedKey("app", SUBJECT);
    const record = (created: number) => registry.record("app", SUBJECT, { created, lastSeen: created, expires: created + 5000 }, created);

    record(T0);
    env.clock.now = T0 + 1;
    registry.revokeOne("app", SUBJECT, T0, T0 + 1);
    assert.deepEqual(rawJson(env.dict, key), { c: [T0] });
    assert.equal(env.dict.ttl(key), 1_000_000, "kept for the longest lifetime");

    record(T0 + 499);
    env.clock.now = T0 + 500;
    registry.revokeOne("app", SUBJECT, T0 + 499, T0 + 500);
    assert.deepEqual(rawJson(env.dict, key), { c: [T0, T0 + 499] });

    record(T0 + 1001);
    env.clock.now = T0 + 1002;
    registry.revokeOne("app", SUBJECT, T0 + 1001, T0 + 1002);
    assert.deepEqual(rawJson(env.dict, key), { c: [T0 + 499, T0 + 1001] }, "T0 is older than now - maxLifetime: dropped");

    record(T0 + 1003);
    env.clock.now = T0 + 1100;
    registry.revokeAll("app", SUBJECT, T0 + 1100);
    assert.deepEqual(rawJson(env.dict, key), { a: T0 + 1100 }, "single revocations under the cut-off are dropped");

    record(T0 + 1200);
    env.clock.now = T0 + 1201;
    registry.revokeOne("app", SUBJECT, T0 + 1200, T0 + 1201);
    assert.deepEqual(rawJson(env.dict, key), { a: T0 + 1100, c: [T0 + 1200] }, "the cut-off is kept");
    assert.equal(registry.isRevoked("app", SUBJECT, T0 + 1003, T0 + 1201), true);
    assert.equal(registry.isRevoked("app", SUBJECT, T0 + 1150, T0 + 1201), false);
    assert.equal(registry.isRevoked("app", SUBJECT, T0 + 1200, T0 + 1201), true);
  });

  it("the revocation list expires once every session it names has expired on its own", async () => {
    const env = createRegistryEnv();
    const options: SessionOptions = { ...SHM, absolute_timeout: 1000, remember_absolute_timeout: 1000, idling_timeout: 0 };
    const cookie = await login(env, options, T0);
    env.clock.now = T0 + 10;
    env.registry(options).revokeOne("app", SUBJECT, T0, T0 + 10);
    assert.equal(env.dict.ttl(revokedKey("app", SUBJECT)), 1_000_000, "maxLifetime = the longest absolute timeout");
    assert.equal((await openAt(env, T0 + 999, cookie, options)).error, "session revoked");
    env.clock.now = T0 + 1010;
    assert.equal(env.dict.get(revokedKey("app", SUBJECT)), undefined, "the zone has freed it");
    assert.equal((await openAt(env, T0 + 1010, cookie, options)).error, "session absolute timeout exceeded");
  });

  it("a revocation that cannot be checked refuses the session", async () => {
    const env = createRegistryEnv();
    const cookie = await login(env, SHM, T0);
    const broken: SharedDict = {
      get: (key) => {
        if (key.charAt(0) === "@") throw new Error("zone unreadable");
        return env.dict.get(key);
      },
      set: (key, value, timeout) => env.dict.set(key, value, timeout),
      add: (key, value, timeout) => env.dict.add(key, value, timeout),
      replace: (key, value, timeout) => env.dict.replace(key, value, timeout),
      delete: (key) => env.dict.delete(key),
    };
    const platform = createNodePlatform({ now: () => T0 + 1, log: () => undefined, sharedDicts: { sessions: broken } });
    const opened = await createSessionLibrary(platform).open(createMemoryExchange({ cookie }), SHM);
    assert.equal(opened.exists, false);
    assert.equal(opened.error, "unable to check session revocation (zone unreadable)");
  });

  it("the registry's revocationProblem: isRevoked's answer as the checks report it; a zone it cannot read refuses, a misconfiguration throws", async () => {
    const env = createRegistryEnv();
    await login(env, SHM, T0);
    const registry = env.registry();
    assert.equal(registry.revocationProblem("app", SUBJECT, T0, T0 + 1), null);
    registry.revokeOne("app", SUBJECT, T0, T0 + 1);
    assert.equal(registry.revocationProblem("app", SUBJECT, T0, T0 + 2), "session revoked");
    assert.equal(registry.revocationProblem("app", "someone-else", T0, T0 + 2), null);
    const throwing = (error: Error) => {
      const broken: SharedDict = {
        get: () => {
          throw error;
        },
        set: (key, value, timeout) => env.dict.set(key, value, timeout),
        add: (key, value, timeout) => env.dict.add(key, value, timeout),
        replace: (key, value, timeout) => env.dict.replace(key, value, timeout),
        delete: (key) => env.dict.delete(key),
      };
      return createRegistry({ sha256: env.platform.sha256, log: () => undefined, sharedDict: () => broken }, registry.options);
    };
    assert.equal(throwing(new Error("zone unreadable")).revocationProblem("app", SUBJECT, T0 + 5, T0 + 6), "unable to check session revocation (zone unreadable)");
    const misconfigured = new Error("no such zone");
    misconfigured.name = "ConfigError";
    assert.throws(() => throwing(misconfigured).revocationProblem("app", SUBJECT, T0 + 5, T0 + 6), { name: "ConfigError" });
  });
});

describe("hash_subject", () => {
  it("registry and revocation keys carry base64url(SHA-256(subject)[0:16]), never the subject", async () => {
    const env = createRegistryEnv();
    const options: SessionOptions = { ...SHM, hash_subject: true };
    const cookie = await login(env, options, T0);
    await login(env, options, T0 + 1);
    env.registry(options).revokeOne("app", SUBJECT, T0, T0 + 2);
    const keys = env.dict.keys().filter((key) => key.charAt(0) === "@").sort();
    assert.deepEqual(keys, [registryKey("app", SUBJECT, true), revokedKey("app", SUBJECT, true)]);
    for (const node of env.dict.inspect()) {
      const text = node.key + " " + String(node.value);
      assert.ok(!text.includes(SUBJECT), "plain subject in " + node.key);
      assert.ok(!text.includes(b64u(SUBJECT)), "base64url subject in " + node.key);
    }
    assert.equal(env.registry(options).encodeSubject(SUBJECT), registryKey("app", SUBJECT, true).split(":")[2]);
    assert.equal((await openAt(env, T0 + 3, cookie, options)).error, "session revoked");
    assert.deepEqual(createdTimes(env.registry(options).list("app", SUBJECT, T0 + 3)), [T0 + 1]);
  });

  it("without it the key holds base64url(subject)", async () => {
    const env = createRegistryEnv();
    await login(env, SHM, T0);
    assert.ok(env.dict.get(registryKey("app", SUBJECT)) !== undefined);
  });
});

describe("the list under the lock", () => {
  /** A dict that reports every call, so a test can act "from another worker" in the middle of one. */
  function traced(dict: MemorySharedDict, onCall: (verb: string, key: string) => void): SharedDict {
    return {
      get: (key) => (onCall("get", key), dict.get(key)),
      set: (key, value, timeout) => (onCall("set", key), dict.set(key, value, timeout)),
      add: (key, value, timeout) => (onCall("add", key), dict.add(key, value, timeout)),
      replace: (key, value, timeout) => (onCall("replace", key), dict.replace(key, value, timeout)),
      delete: (key) => (onCall("delete", key), dict.delete(key)),
    };
  }

  function worker(dict: SharedDict, logs: string[] = []): { platform: Platform; registry: Registry } {
    const platform = createNodePlatform({ now: () => T0, log: (level, message) => logs.push(level + " " + message), sharedDicts: { sessions: dict } });
    return { platform, registry: createRegistry(platform, { zone: "sessions", hashSubject: false, maxLifetime: DAY }) };
  }

  const entry = (created: number): RegistryEntry => ({ created, lastSeen: created, expires: created + 900 });

  it("each update reads and writes the list between taking the lock (add) and releasing it", () => {
    const dict = createMemorySharedDict({ name: "sessions", timeout: DAY_MS, clock: () => T0 * 1000 });
    const calls: string[] = [];
    const { registry } = worker(traced(dict, (verb, key) => calls.push(verb + " " + key)));
    const list = registryKey("app", SUBJECT);
    const lock = "@lock:" + list;
    registry.record("app", SUBJECT, entry(T0), T0);
    assert.deepEqual(calls, ["add " + lock, "get " + list, "set " + list, "delete " + lock]);
    calls.length = 0;
    registry.touch("app", SUBJECT, T0, T0 + 1, T0 + 901, T0 + 1);
    registry.remove("app", SUBJECT, T0, T0 + 1);
    assert.deepEqual(calls, ["add " + lock, "get " + list, "set " + list, "delete " + lock, "add " + lock, "get " + list, "delete " + list, "delete " + lock]);
  });

  it("two workers recording at once: the second finds the lock taken mid-update, and no entry is lost", () => {
    const dict = createMemorySharedDict({ name: "sessions", timeout: DAY_MS, clock: () => T0 * 1000 });
    const list = registryKey("app", SUBJECT);
    const lock = "@lock:" + list;
    const seenByB: boolean[] = [];
    const b = worker(dict);
    const a = worker(
      traced(dict, (verb, key) => {
        // Worker B tries the lock while A is between its read and its write.
        if (verb === "get" && key === list) seenByB.push(dict.add(lock, "1", 1000));
      }),
    );
    for (let i = 0; i < 20; i++) {
      a.registry.record("app", SUBJECT, entry(T0 + 2 * i), T0);
      b.registry.record("app", SUBJECT, entry(T0 + 2 * i + 1), T0);
    }
    assert.deepEqual(seenByB, new Array(20).fill(false), "the lock was held every time");
    assert.deepEqual(
      createdTimes(a.registry.list("app", SUBJECT, T0)),
      Array.from({ length: 40 }, (_, i) => T0 + i),
    );
  });

  it("a lock left by a worker that died: updates go ahead with a warning, and the lock expires after a second", () => {
    const clock = { ms: T0 * 1000 };
    const dict = createMemorySharedDict({ name: "sessions", timeout: DAY_MS, clock: () => clock.ms });
    const logs: string[] = [];
    const { registry } = worker(dict, logs);
    dict.add("@lock:" + registryKey("app", SUBJECT), "1", 1000);
    registry.record("app", SUBJECT, entry(T0), T0);
    assert.deepEqual(logs, ["warn [session] registry lock busy, updating without it"]);
    assert.deepEqual(createdTimes(registry.list("app", SUBJECT, T0)), [T0]);
    assert.equal(dict.get("@lock:" + registryKey("app", SUBJECT)), "1", "someone else's lock is not released");
    clock.ms += 1000;
    registry.record("app", SUBJECT, entry(T0 + 1), T0 + 1);
    assert.equal(logs.length, 1, "no warning once it expired");
    assert.equal(dict.get("@lock:" + registryKey("app", SUBJECT)), undefined);
  });

  it(`at most MAX_ENTRIES_PER_SUBJECT (${MAX_ENTRIES_PER_SUBJECT}) entries: the one expiring first drops off, and revokeAll still covers it`, () => {
    const dict = createMemorySharedDict({ name: "sessions", timeout: DAY_MS, clock: () => T0 * 1000 });
    const { registry } = worker(dict);
    const soonest = T0 + 50;
    for (let i = 0; i <= MAX_ENTRIES_PER_SUBJECT; i++) {
      const created = T0 + i;
      registry.record("app", SUBJECT, { created, lastSeen: created, expires: created === soonest ? T0 + 200 : T0 + 5000 + i }, T0 + i);
    }
    const listed = createdTimes(registry.list("app", SUBJECT, T0 + 101));
    assert.equal(listed.length, MAX_ENTRIES_PER_SUBJECT);
    assert.equal(listed.includes(soonest), false);
    assert.deepEqual(listed, [...listed].sort((x, y) => x - y), "ordered by creation");
    assert.equal(registry.revokeAll("app", SUBJECT, T0 + 101).length, MAX_ENTRIES_PER_SUBJECT);
    assert.equal(registry.isRevoked("app", SUBJECT, soonest, T0 + 101), true);
  });

  it("list order is creation order whatever the order of recording; a re-record without remember info keeps it", () => {
    const dict = createMemorySharedDict({ name: "sessions", timeout: DAY_MS, clock: () => T0 * 1000 });
    const { registry } = worker(dict);
    registry.record("app", SUBJECT, { ...entry(T0 + 30), remember: true, rememberCreated: T0 + 30, expires: T0 + 9000 }, T0 + 30);
    registry.record("app", SUBJECT, entry(T0 + 10), T0 + 30);
    registry.record("app", SUBJECT, entry(T0 + 20), T0 + 30);
    assert.deepEqual(createdTimes(registry.list("app", SUBJECT, T0 + 30)), [T0 + 10, T0 + 20, T0 + 30]);
    registry.record("app", SUBJECT, { created: T0 + 30, lastSeen: T0 + 40, expires: T0 + 940 }, T0 + 40);
    const refreshed = registry.list("app", SUBJECT, T0 + 40).find((listed) => listed.created === T0 + 30)!;
    assert.equal(refreshed.remember, true);
    assert.equal(refreshed.rememberCreated, T0 + 30);
    assert.equal(refreshed.expires, T0 + 9000, "the remember cookie's expiry is not shortened");
    assert.equal(refreshed.lastSeen, T0 + 40);
  });
});

describe("a full registry zone", () => {
  it("recording fails quietly (a warning): the login itself succeeds and the session opens", async () => {
    const env = createRegistryEnv([
      { name: "sessions", timeout: DAY_MS },
      { name: "registry", timeout: DAY_MS, capacity: 64 },
    ]);
    const options: SessionOptions = { ...SHM, registry_zone: "registry" };
    const cookie = await login(env, options, T0);
    assert.ok(
      env.logs.some(
        (line) => line.level === "warn" && line.message === '[session] unable to update the session registry (shared dict zone "registry" is full)',
      ),
    );
    assert.equal((await openAt(env, T0 + 1, cookie, options)).exists, true);
  });

  it("revoking fails loudly when the revocation cannot be written, and the entry stays listed", async () => {
    const options: SessionOptions = { secret: SECRET, registry_zone: "sessions", store_metadata: true };
    const probe = createRegistryEnv();
    await login(probe, options, T0);
    // Room for the lock (the key and a one-byte value) and for the login's update of its list (the new
    // value is allocated before the reservation's is freed), not for one more key (the revocation record).
    const lockSize = NODE_SIZE + ("@lock:" + registryKey("default", SUBJECT)).length + 1;
    const tight = createRegistryEnv([{ name: "sessions", timeout: DAY_MS, capacity: probe.dict.usedBytes() + lockSize + NODE_SIZE }]);
    await login(tight, options, T0);
    assert.equal(tight.logs.filter((line) => line.level === "warn").length, 0, "the login was recorded");
    assert.equal(tight.registry(options).list("default", SUBJECT, T0).length, 1);
    const calls: string[] = [];
    const add = tight.dict.add.bind(tight.dict);
    tight.dict.add = (key, value, timeout) => {
      const added = add(key, value, timeout);
      calls.push("add " + key.split(":")[0] + " " + added);
      return added;
    };
    assert.throws(() => tight.registry(options).revokeOne("default", SUBJECT, T0, T0 + 1), {
      name: "Error",
      message: 'shared dict zone "sessions" is full',
    });
    assert.deepEqual(calls, ["add @lock true"], "the lock was had; the revocation did not fit");
    assert.equal(tight.dict.get("@lock:" + registryKey("default", SUBJECT)), undefined, "and was released");
    assert.equal(tight.registry(options).list("default", SUBJECT, T0 + 1).length, 1);
    assert.equal(tight.registry(options).isRevoked("default", SUBJECT, T0, T0 + 1), false);
  });
});

describe("creation times reserved per subject", () => {
  it("two devices logging in within the same second get distinct creation times, entries and revocations", async () => {
    const env = createRegistryEnv();
    const phone = await login(env, SHM, T0, SUBJECT, { userAgent: "Phone/1.0" });
    const laptop = await login(env, SHM, T0, SUBJECT, { userAgent: "Laptop/2.0" });
    const phoneCreated = creationTimeOf(phone, "session");
    const laptopCreated = creationTimeOf(laptop, "session");
    assert.equal(phoneCreated, T0);
    assert.equal(laptopCreated, T0 - 1, "a second earlier: now was taken");
    const listed = env.registry().list("app", SUBJECT, T0);
    assert.deepEqual(
      listed.map((entry) => [entry.created, entry.userAgent]),
      [
        [T0 - 1, "Laptop/2.0"],
        [T0, "Phone/1.0"],
      ],
    );
    env.registry().revokeOne("app", SUBJECT, phoneCreated, T0 + 1);
    assert.equal((await openAt(env, T0 + 2, phone, SHM)).error, "session revoked");
    assert.equal((await openAt(env, T0 + 2, laptop, SHM)).exists, true, "the other device is not revoked with it");
  });

  it("other subjects and sessions without a registry keep `now`", async () => {
    const env = createRegistryEnv();
    await login(env, SHM, T0);
    assert.equal(creationTimeOf(await login(env, SHM, T0, "someone-else"), "session"), T0);
    assert.equal(creationTimeOf(await login(env, { ...SHM, store_metadata: false }, T0), "session"), T0);
  });

  it("a login with remember lists exactly one entry: the remember cookie takes the session's creation time", async () => {
    const env = createRegistryEnv();
    const options: SessionOptions = { ...SHM, remember: true, remember_safety: "Low" };
    const cookie = await login(env, options, T0, SUBJECT, { userAgent: "Phone/1.0" });
    const created = creationTimeOf(cookie, "session");
    assert.equal(creationTimeOf(cookie, "remember"), created);
    const listed = env.registry().list("app", SUBJECT, T0);
    assert.deepEqual(createdTimes(listed), [created]);
    assert.equal(listed[0].remember, true);
    assert.equal(listed[0].rememberCreated, listed[0].created);
    const stored = rawJson(env.dict, registryKey("app", SUBJECT)) as { [id: string]: unknown };
    assert.deepEqual(Object.keys(stored), [String(created)], "no placeholder left in the zone either");
  });

  it("a reservation is a placeholder: never listed, not revocable by id, and replaced by the session's entry", () => {
    const env = createRegistryEnv();
    const registry = env.registry();
    assert.equal(registry.reserve("app", SUBJECT, T0), T0);
    assert.equal(registry.reserve("app", SUBJECT, T0), T0 - 1, "now is held by the first reservation");
    assert.deepEqual(registry.list("app", SUBJECT, T0), []);
    assert.deepEqual(registry.revokeOne("app", SUBJECT, T0, T0), [], "a placeholder is not a session");
    assert.equal(registry.isRevoked("app", SUBJECT, T0, T0), false);
    registry.record("app", SUBJECT, { created: T0, lastSeen: T0, expires: T0 + 900 }, T0);
    assert.deepEqual(createdTimes(registry.list("app", SUBJECT, T0)), [T0]);
    assert.equal(registry.list("app", SUBJECT, T0 + 60).length, 1, "the other placeholder goes after 60 s");
    registry.touch("app", SUBJECT, T0, T0 + 60, T0 + 960, T0 + 60);
    assert.deepEqual(Object.keys(rawJson(env.dict, registryKey("app", SUBJECT)) as object), [String(T0)], "and leaves the zone with the next write");
  });

  it("a login in the second after 'log out everywhere' is not revoked, remember cookie included", async () => {
    const env = createRegistryEnv();
    const options: SessionOptions = { ...SHM, remember: true, remember_safety: "Low" };
    await login(env, options, T0);
    env.clock.now = T0 + 10;
    env.registry().revokeAll("app", SUBJECT, T0 + 10);
    const again = await login(env, options, T0 + 11);
    assert.equal(creationTimeOf(again, "session"), T0 + 11);
    assert.equal(creationTimeOf(again, "remember"), T0 + 11);
    assert.equal(env.registry().isRevoked("app", SUBJECT, creationTimeOf(again, "session"), T0 + 11), false);
    assert.equal(env.registry().isRevoked("app", SUBJECT, creationTimeOf(again, "remember"), T0 + 11), false);
    assert.equal((await openAt(env, T0 + 12, again, options)).exists, true);
    const viaRemember = await openAt(env, T0 + 4000, cookieOnly(again, "remember"), options);
    assert.equal(viaRemember.exists, true, "its remember cookie restores a session");
    const second = await login(env, options, T0 + 11);
    assert.equal(creationTimeOf(second, "session"), T0 + 11, "no free second after the cut-off: `now` is shared");
    assert.equal((await openAt(env, T0 + 12, second, options)).exists, true, "a second device in the same second");
  });

  it("reserve() never returns a time at or before the cut-off, nor a revoked one; with no free second it returns now", () => {
    const env = createRegistryEnv();
    const registry = env.registry();
    registry.record("app", SUBJECT, { created: T0, lastSeen: T0, expires: T0 + 900 }, T0);
    registry.revokeAll("app", SUBJECT, T0);
    for (let i = 1; i <= 3; i++) registry.record("app", SUBJECT, { created: T0 + i, lastSeen: T0 + 3, expires: T0 + 900 }, T0 + 3);
    assert.equal(registry.reserve("app", SUBJECT, T0 + 3), T0 + 3, "T0+1..T0+3 taken, T0 and before revoked: now");
    assert.equal(registry.reserve("app", SUBJECT, T0 + 5), T0 + 5);
    assert.equal(registry.reserve("app", SUBJECT, T0 + 5), T0 + 4, "a second back, still after the cut-off");
    assert.equal(registry.reserve("app", SUBJECT, T0 + 5), T0 + 5, "none free: now, shared");

    registry.record("app", SUBJECT, { created: T0 + 100, lastSeen: T0 + 100, expires: T0 + 900 }, T0 + 100);
    registry.revokeOne("app", SUBJECT, T0 + 100, T0 + 100);
    assert.equal(registry.reserve("app", SUBJECT, T0 + 100), T0 + 99, "a revoked single time is skipped");
  });
});

describe("a registry refuses sessions that could outlive the shared dict's longest timeout", () => {
  const tooLong = /a session registry needs absolute_timeout and remember_absolute_timeout set, at most 4294967 s/;

  it(`MAX_DICT_TIMEOUT_SECONDS is the longest timeout that does not wrap at 2^32 ms (${MAX_DICT_TIMEOUT_SECONDS} s, ~49.7 days)`, () => {
    assert.equal(MAX_DICT_TIMEOUT_SECONDS, 4_294_967);
    assert.ok(MAX_DICT_TIMEOUT_SECONDS * 1000 < 2 ** 32);
    assert.ok((MAX_DICT_TIMEOUT_SECONDS + 1) * 1000 >= 2 ** 32);
  });

  it("remember_absolute_timeout 0 (unlimited) with a registry is a ConfigError, for shm + store_metadata and for registry_zone", () => {
    const env = createRegistryEnv();
    for (const base of [SHM, { secret: SECRET, registry_zone: "sessions" } as SessionOptions]) {
      const options: SessionOptions = { ...base, remember: true, remember_safety: "Low", remember_absolute_timeout: 0 };
      assert.throws(() => env.library.settings(options), { name: "ConfigError", message: tooLong });
      assert.throws(() => env.library.new(env.request(), options), { name: "ConfigError", message: tooLong });
    }
  });

  it("every timeout 0 (a cookie that never expires) with a registry is a ConfigError", async () => {
    const env = createRegistryEnv();
    const options: SessionOptions = {
      secret: SECRET,
      registry_zone: "sessions",
      store_metadata: true,
      idling_timeout: 0,
      rolling_timeout: 0,
      absolute_timeout: 0,
    };
    assert.throws(() => env.library.settings(options), { name: "ConfigError", message: tooLong });
    assert.throws(() => env.library.settings({ ...options, remember_absolute_timeout: 0 }), { name: "ConfigError", message: tooLong });
    await assert.rejects(async () => env.library.open(env.request(), options), { name: "ConfigError", message: tooLong });
  });

  it("an absolute timeout one second past the cap is refused; at the cap it is accepted; without a registry 0 is fine", () => {
    const env = createRegistryEnv();
    assert.throws(() => env.library.settings({ ...SHM, absolute_timeout: MAX_DICT_TIMEOUT_SECONDS + 1 }), { name: "ConfigError", message: tooLong });
    assert.throws(() => env.library.settings({ ...SHM, remember_absolute_timeout: MAX_DICT_TIMEOUT_SECONDS + 1 }), {
      name: "ConfigError",
      message: tooLong,
    });
    assert.equal(env.registry({ ...SHM, absolute_timeout: MAX_DICT_TIMEOUT_SECONDS, remember_absolute_timeout: MAX_DICT_TIMEOUT_SECONDS }).zone, "sessions");
    assert.equal(env.library.settings({ ...SHM, store_metadata: false, absolute_timeout: 0, remember_absolute_timeout: 0 }).registry, null);
    assert.equal(env.library.settings({ secret: SECRET, absolute_timeout: 0, remember_absolute_timeout: 0 }).registry, null);
  });

  for (const engine of ["njs", "qjs"] as const) {
    it(`at the cap a revocation is kept for the whole lifetime and its timeout does not wrap (${engine} engine)`, async () => {
      const env = createRegistryEnv([{ name: "sessions", timeout: DAY_MS, engine }]);
      const options: SessionOptions = { ...SHM, remember: true, remember_safety: "Low", remember_absolute_timeout: MAX_DICT_TIMEOUT_SECONDS };
      const cookie = await login(env, options, T0);
      env.clock.now = T0 + 10;
      assert.deepEqual(createdTimes(env.registry(options).revokeOne("app", SUBJECT, creationTimeOf(cookie, "session"), T0 + 10)), [T0]);
      assert.equal(env.dict.ttl(revokedKey("app", SUBJECT)), MAX_DICT_TIMEOUT_SECONDS * 1000, "not wrapped");
      const later = await openAt(env, T0 + 3 * DAY, cookieOnly(cookie, "remember"), options);
      assert.equal(later.exists, false, "the remember cookie (valid for 7 days) does not restore the session");
      env.clock.now = T0 + 10 + MAX_DICT_TIMEOUT_SECONDS - 1;
      assert.equal(env.registry(options).isRevoked("app", SUBJECT, T0, env.clock.now), true, "still revoked a second before the cap");
    });
  }
});
