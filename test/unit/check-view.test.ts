/**
 * src/nginx/check-view.ts: the view the full check leaves for the njs engine's warm check is written
 * (viewOf) and read back (readCheckView) by position, so nothing but this test holds the two orders
 * together: every setting the warm check reads comes back as the full check resolved it, for cookie
 * storage and for shm storage with its registry.
 */

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import { createSessionLibrary } from "../../src/core/api";
import { coldCheck, type ColdCheckSettings } from "../../src/core/cold-check";
import { findCookie, parseCookieHeader } from "../../src/core/cookies";
import { extractedKey } from "../../src/core/keys";
import { createMemoryExchange } from "../../src/core/memory-exchange";
import { type VerifiedCache, type ZoneReader, zoneWriterSet } from "../../src/core/verified-cache";
import type { SessionOptions } from "../../src/core/options";
import type { Platform, StoreReader, StoreReadPlatform, StoreRequest } from "../../src/core/platform";
import type { Storage, StoreReadRoute } from "../../src/core/storage";
import { resolveSettings } from "../../src/core/settings";
import { keepCheckView, keepLoginView, readCheckView, readLocationKey, readLoginView } from "../../src/nginx/check-view";
import { keyedView } from "../../src/nginx/keyed-view";
import storeReads from "../../src/nginx/store-reads";
import warmStores from "../../src/nginx/warm-stores";
import type { EntryOptions } from "../../src/nginx/configuration";
import { createNodePlatform } from "../../src/platform/node";
import { registerBuiltinStorages } from "../../src/storage/index";
import { createMemorySharedDict, type MemorySharedDict } from "../support/memory-shared-dict";
import { nextCookie, T0 } from "../support/session-env";

registerBuiltinStorages();

const PLAIN = [
  "cookieName",
  "audience",
  "keyIds",
  "idlingTimeout",
  "rollingTimeout",
  "absoluteTimeout",
  "touchThreshold",
  "rollingRenewal",
  "hashStorageKey",
  "requestHeaders",
  "responseHeaders",
] as const;

/** The view's key (a PRK) as bytes. */
function keyOf(key: string | undefined): Uint8Array | null {
  return key === undefined ? null : new Uint8Array(Buffer.from(key, "base64url"));
}

/** HKDF-Extract with an empty salt (RFC 5869: HMAC-SHA256 keyed with it), by node:crypto, not keys.ts. */
function referencePrk(ikm: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", Buffer.alloc(0)).update(ikm).digest());
}

/** readLocationKey's key and the cookie attributes it sets, or null. */
function locationKey(sharedDict: (zone: string) => MemorySharedDict | undefined, locationText: string): { key: string; cookieAttributes?: string } | null {
  const into: { cookieAttributes?: string } = {};
  const key = readLocationKey(sharedDict("njs_session_cache"), locationText, into);
  return key === null ? null : { key, cookieAttributes: into.cookieAttributes };
}

function roundTrip(options: SessionOptions, entry: Pick<EntryOptions, "expose_data" | "csrf">) {
  const dicts: { [zone: string]: MemorySharedDict } = {};
  for (const zone of ["njs_session_cache", "sessions"]) dicts[zone] = createMemorySharedDict({ name: zone, timeout: 86_400_000, evict: false, clock: () => T0 * 1000 });
  const platform = createNodePlatform({ now: () => T0, sharedDicts: dicts });
  const sharedDict = (zone: string) => dicts[zone];
  const settings = resolveSettings(options, platform);
  keepCheckView(platform, "location text", settings, entry as EntryOptions);
  // warm-stores.ts's platform is the njs engine's: the stores here are made with this test's, and its
  // reads part is store-reads.ts itself (the bundle builds it as a part of its own).
  // (This platform has no store transport: the routed storages made here are never asked; the reads
  // test below gives them one.)
  const stores = { ...warmStores, platform, reads: () => ({ ...storeReads, platform: platform as StoreReadPlatform }) };
  const view = readCheckView(sharedDict, "location text", () => stores);
  const key = locationKey(sharedDict, "location text");
  return { settings, view, key, dicts, platform, sharedDict };
}

function roundTripped(options: SessionOptions, entry: Pick<EntryOptions, "expose_data" | "csrf">) {
  const trip = roundTrip(options, entry);
  assert.ok(trip.view, "a view is read back");
  return { ...trip, view: trip.view };
}

describe("check view (the warm check's settings)", () => {
  it("reads back every plain setting, and the entry options, for cookie storage", () => {
    const options: SessionOptions = {
      secret: "check-view-secret",
      secret_fallbacks: ["an-older-secret"],
      audience: "app",
      idling_timeout: 600,
      rolling_timeout: 1200,
      absolute_timeout: 7200,
      touch_threshold: 30,
      hash_storage_key: true,
      request_headers: ["id", "subject"],
      response_headers: ["timeout"],
    };
    const { settings, view, key } = roundTripped(options, { expose_data: ["name"], csrf: true });
    for (const name of PLAIN) assert.deepEqual(view[name], settings[name], name);
    assert.equal(view.storage, null);
    assert.equal(view.registry, null);
    assert.ok(view.verifiedCache);
    assert.deepEqual([view.expose_data, view.csrf], [["name"], true]);
    assert.deepEqual(keyOf(key?.key), referencePrk(settings.ikm), "the current key's PRK, for the cold part; the fallback stays out");
    assert.equal(key?.cookieAttributes, settings.cookieAttributes, "the cookie attributes, for the touch part");
  });

  it("keeps the key and the cookie attributes out of the view the warm check parses, in an entry that is left again when evicted", () => {
    const options: SessionOptions = { secret: "check-view-secret", audience: "app", cookie_domain: "example.com", cookie_path: "/app", cookie_same_site: "Strict" };
    const { settings, dicts, platform, sharedDict } = roundTripped(options, { expose_data: [], csrf: false });
    const key = locationKey(sharedDict, "location text");
    assert.ok(key, "the key entry");
    assert.deepEqual(keyOf(key.key), referencePrk(settings.ikm));
    assert.equal(key.cookieAttributes, settings.cookieAttributes);
    assert.ok(settings.cookieAttributes.startsWith("; Domain=example.com"));
    const zone = dicts["njs_session_cache"];
    const texts = zone.keys().map((name) => String(zone.get(name)));
    const viewText = texts.find((text) => text.includes(settings.cookieName) && !text.includes(key.key));
    assert.ok(viewText, "a view without the key");
    assert.ok(!viewText.includes(settings.cookieAttributes), "nor the cookie attributes");
    for (const name of zone.keys()) if (String(zone.get(name)).includes(key.key)) zone.delete(name);
    assert.equal(locationKey(sharedDict, "location text"), null, "evicted");
    keepCheckView(platform, "location text", settings, { expose_data: [], csrf: false } as unknown as EntryOptions);
    assert.deepEqual(locationKey(sharedDict, "location text"), key, "the next full check leaves it again, the view still there");
  });

  it("keyedView: the view with the key entry's PRK and attributes, no ikm, no fallback key; null without the entry", () => {
    const options: SessionOptions = { secret: "check-view-secret", secret_fallbacks: ["an-older-secret"], cookie_path: "/app" };
    const { settings, view, dicts, sharedDict } = roundTripped(options, { expose_data: [], csrf: false });
    const keyed = keyedView(view, "location text", sharedDict);
    assert.ok(keyed, "a keyed view");
    assert.deepEqual(new Uint8Array(keyed.prk.bytes), referencePrk(settings.ikm), "HKDF-Extract of the current key");
    assert.deepEqual([keyed.prk.inner, keyed.prk.outer], [null, null], "no SHA-256 states: the njs engine's platforms make none");
    assert.equal(keyed.ikm.length, 0, "the entry holds no ikm");
    assert.deepEqual(keyed.ikmFallbacks, []);
    assert.equal(keyed.cookieAttributes, settings.cookieAttributes);
    assert.equal(keyedView(view, "another location", sharedDict), null, "another location's key is not this one's");
    const zone = dicts["njs_session_cache"];
    for (const name of zone.keys()) if (name.startsWith("@check-key/")) zone.delete(name);
    assert.equal(keyedView(view, "location text", sharedDict), null, "no key entry: the full check");
  });

  it("keyedView: the key entry read from njs_session_cache when the location's verified cache is in another zone", () => {
    const options: SessionOptions = { secret: "check-view-secret", verified_cache_zone: "sessions" };
    const { settings, view, dicts, sharedDict } = roundTripped(options, { expose_data: [], csrf: false });
    assert.equal(view.verifiedCache.zone, "sessions", "the view's reader is on the other zone");
    const keyed = keyedView(view, "location text", sharedDict);
    assert.ok(keyed, "a keyed view");
    assert.deepEqual(new Uint8Array(keyed.prk.bytes), referencePrk(settings.ikm));
    assert.equal(keyed.cookieAttributes, settings.cookieAttributes);
    assert.ok(![...dicts["sessions"].keys()].some((name) => name.startsWith("@check-key/")), "the other zone holds no key entry");
  });

  it("keyedView: the cold check given the entry's PRK opens a cookie of the location's key, as the cold part calls it", async () => {
    const options: SessionOptions = { secret: "check-view-secret", storage: "shm", shm: { zone: "sessions" }, bind: ["user_agent"] };
    const { view, platform, sharedDict } = roundTripped(options, { expose_data: [], csrf: false });
    const keyed = keyedView(view, "location text", sharedDict);
    assert.ok(keyed, "a keyed view");
    (keyed.verifiedCache as ZoneReader & Pick<VerifiedCache, "set">).set = zoneWriterSet;
    const library = createSessionLibrary(platform);
    library.init(options);
    const login = createMemoryExchange({ userAgent: "agent" });
    const session = library.new(login);
    session.setSubject("alice");
    assert.equal((await session.save()).ok, true);
    const cookie = findCookie(parseCookieHeader(nextCookie(login)), keyed.cookieName);
    const open = (prk: typeof keyed.prk) =>
      coldCheck(keyed as unknown as ColdCheckSettings, platform, cookie, T0, createMemoryExchange({ userAgent: "agent" }), (source) => source, prk);
    // Not the key's PRK (the PRK's own PRK): the MAC does not match, and the full check would decide.
    assert.equal(open(extractedKey(platform, keyed.prk.bytes)), null, "another PRK opens nothing");
    const found = await open(keyed.prk);
    assert.equal(found?.subject, "alice", "the entry's PRK opens it");
  });

  it("a location with every less common setting at its default reads back as one with any of them set (the view's `more` item)", () => {
    const base: SessionOptions = { secret: "check-view-secret", audience: "app", idling_timeout: 600, rolling_timeout: 1200 };
    const plain = { expose_data: [] as string[], csrf: false };
    const variants: [string, SessionOptions, Pick<EntryOptions, "expose_data" | "csrf">][] = [
      ["all defaults", base, plain],
      ["hash_storage_key", { ...base, hash_storage_key: true }, plain],
      ["request_headers", { ...base, request_headers: ["subject"] }, plain],
      ["response_headers", { ...base, response_headers: ["timeout"] }, plain],
      ["expose_data", base, { expose_data: ["name"], csrf: false }],
      ["csrf", base, { expose_data: [], csrf: true }],
      ["shm storage", { ...base, storage: "shm" }, plain],
      ["a registry", { ...base, registry_zone: "sessions", store_metadata: true }, plain],
      ["fallback keys", { ...base, secret_fallbacks: ["an-older-secret"] }, plain],
      ["a verified cache in another zone", { ...base, verified_cache_zone: "sessions" }, plain],
    ];
    for (const [what, options, entry] of variants) {
      const { settings, view } = roundTripped(options, entry);
      for (const name of PLAIN) assert.deepEqual(view[name], settings[name], `${what}: ${name}`);
      assert.deepEqual([view.expose_data, view.csrf, view.storeRevalidate], [entry.expose_data, entry.csrf, settings.storeRevalidate], `${what}: the entry options`);
      assert.equal(view.storage !== null, settings.storage !== null, `${what}: the storage`);
      assert.equal(view.registry !== null, settings.registry !== null, `${what}: the registry`);
      assert.deepEqual(keyOf(roundTrip(options, entry).key?.key), referencePrk(settings.ikm), `${what}: the key's PRK`);
      assert.equal(view.verifiedCache.zone, settings.verifiedCache?.zone, `${what}: the verified cache's zone`);
    }
  });

  it("makes shm storage and its registry again from their options", () => {
    const options: SessionOptions = { secret: "check-view-secret", storage: "shm", store_metadata: true, absolute_timeout: 86400, remember_absolute_timeout: 86400 };
    const { settings, view, key } = roundTripped(options, { expose_data: [], csrf: false });
    for (const name of PLAIN) assert.deepEqual(view[name], settings[name], name);
    assert.ok(view.storage && view.storage.synchronous, "shm storage");
    assert.ok(settings.registry && view.registry, "the registry");
    assert.deepEqual([view.expose_data, view.csrf], [[], false]);
    assert.deepEqual(keyOf(key?.key), referencePrk(settings.ikm), "the key's PRK, for the cold part");
  });

  it("redis and memcached with one server read by the bridge: a view whose storage reads by the storage's own route", () => {
    const cases: SessionOptions[] = [
      { secret: "check-view-secret", storage: "redis" },
      {
        secret: "check-view-secret",
        storage: "redis",
        redis: { host: "10.0.0.5", port: 6380, username: "user", password: "secret password", database: 2, prefix: "pre", suffix: "suf", bridge: "http://127.0.0.1:7379", read_timeout: 200 },
      },
      { secret: "check-view-secret", storage: "memcached" },
      { secret: "check-view-secret", storage: "memcached", memcached: { servers: ["10.0.0.6:11212"], prefix: "pre", suffix: "suf", bridge: "http://127.0.0.1:7379" } },
    ];
    for (const options of cases) {
      const what = JSON.stringify(options);
      const { settings, view, key } = roundTripped(options, { expose_data: [], csrf: false });
      for (const name of PLAIN) assert.deepEqual(view[name], settings[name], `${what}: ${name}`);
      assert.ok(settings.storage?.readRoute, `${what}: the storage has a route`);
      assert.deepEqual(view.storage?.readRoute, settings.storage?.readRoute, `${what}: the same route`);
      assert.ok(view.storage && !view.storage.synchronous && view.storage.ask, `${what}: an asynchronous storage that asks`);
      assert.equal(view.storeRevalidate, 0);
      assert.equal(view.registry, null);
      assert.equal(key, null, `${what}: no key entry (the cold check opens no cookie of a network store)`);
    }
  });

  it("redis and memcached: the warm read sends the storage's own request, and hands on only a plain answer as a record", async () => {
    const KEY = "k".repeat(43);
    // undefined: no record to pass a session on (the full check asks again and decides).
    const replies: { [protocol: string]: { [reply: string]: string | null | undefined } } = {
      redis: { "$3\r\nabc\r\n": "abc", "$-1\r\n": null, "-ERR out of memory\r\n": undefined, "$3\r\nab": undefined },
      memcached: { "VA 3\r\nabc\r\n": "abc", "EN\r\n": null, "SERVER_ERROR out of memory\r\n": undefined, "VA 3\r\nab": undefined },
    };
    for (const storage of ["redis", "memcached"] as const) {
      for (const [reply, expected] of Object.entries(replies[storage])) {
        const options: SessionOptions = { secret: "check-view-secret", storage, [storage]: storage === "redis" ? { prefix: "pre", password: "pw" } : { prefix: "pre" } } as SessionOptions;
        const { view, platform, dicts } = roundTripped(options, { expose_data: [], csrf: false });
        const sent: StoreRequest[] = [];
        const answering = Object.assign(Object.create(platform) as Platform, {
          log: () => {},
          storeExchange: <A, T>(request: StoreRequest, reader: StoreReader<A, T>, asking: A) => {
            sent.push(request);
            return Promise.resolve(reader.read(new TextEncoder().encode(reply), asking));
          },
        });
        const outcome = (value: string | null | undefined) => value;
        const asking = { answer: { stored: (_: unknown, value: string | null | undefined) => outcome(value), failed: () => "failed" } };
        // The view's storage made as readCheckView makes it, with the recording transport.
        const routed = storeReads.routedStore(view.storage?.readRoute as StoreReadRoute, answering as StoreReadPlatform);
        assert.equal(await routed.ask?.("session", KEY, T0, undefined, asking), expected, `${storage} ${JSON.stringify(reply)}`);
        // The storage's own read, through the same transport, sends the very same request.
        const own = resolveSettings(options, answering).storage as Storage;
        await own.ask?.("session", KEY, T0, undefined, { answer: { stored: () => undefined, failed: () => undefined } });
        assert.equal(sent.length, 2);
        assert.deepEqual(sent[0], sent[1], `${storage}: one request, whoever asks`);
        assert.equal(sent[0].payload.indexOf("pre:session:" + KEY) >= 0, true, `${storage}: the record's name`);
        if (storage === "redis") assert.equal(sent[0].prelude, 1, "the AUTH prelude");
        // An incident still open (remote.ts's mark): a plain answer too goes to the full check.
        dicts.njs_session_cache.set("@store-incident:" + (view.storage?.readRoute as StoreReadRoute).store, "1", 60_000);
        assert.equal(await routed.ask?.("session", KEY, T0, undefined, asking), undefined, `${storage}: during an incident`);
        // A round trip that failed: the failure, handed on as the storage's own read hands it on.
        const failing = Object.assign(Object.create(answering) as Platform, {
          storeExchange: <A, T>(request: StoreRequest, reader: StoreReader<A, T>, asking: A) => Promise.resolve(reader.failed(new Error("ECONNREFUSED"), asking)),
        });
        const failed = { answer: { stored: () => "stored", failed: (_: unknown, e: unknown) => e } };
        const reason = await storeReads.routedStore(view.storage?.readRoute as StoreReadRoute, failing as StoreReadPlatform).ask?.("session", KEY, T0, undefined, failed);
        assert.match(String(reason), /ECONNREFUSED/, `${storage}: the failure`);
      }
    }
  });

  it("redis and memcached: no view where the warm check cannot read as the full check does, unless store_revalidate answers within the bound", () => {
    const cases: SessionOptions[] = [
      // The registry in the store: its revocations are read with the record (Registry.readChecked).
      { secret: "check-view-secret", storage: "redis", store_metadata: true },
      { secret: "check-view-secret", storage: "memcached", store_metadata: true },
      // Several servers: the record's server is chosen per key (memcached.ts serverFor).
      { secret: "check-view-secret", storage: "memcached", memcached: { servers: ["10.0.0.6:11211", "10.0.0.7:11211"] } },
      // A cluster: by hash slot.
      { secret: "check-view-secret", storage: "redis", redis: { nodes: [{ ip: "10.0.0.8", port: 7000 }] } },
    ];
    for (const options of cases) assert.equal(roundTrip(options, { expose_data: [], csrf: false }).view, null, JSON.stringify(options));
  });

  it("redis and memcached with store_revalidate and the registry in the store: a view whose storage is never read, the registry answered by the bound", () => {
    for (const storage of ["redis", "memcached"] as const) {
      const options: SessionOptions = { secret: "check-view-secret", storage, store_revalidate: 1500, store_metadata: true };
      const { settings, view, key } = roundTripped(options, { expose_data: [], csrf: false });
      for (const name of PLAIN) assert.deepEqual(view[name], settings[name], `${storage}: ${name}`);
      assert.equal(view.storeRevalidate, 1500);
      assert.ok(view.storage && !view.storage.synchronous, `${storage}: an asynchronous storage`);
      assert.equal(view.storage.ask, undefined, `${storage}: no read route: the registry's revocations come with the record`);
      assert.throws(() => view.storage?.get("session", "key", T0), /does not ask the store/);
      assert.ok(settings.registry?.readChecked, `${storage}: the registry is in the store`);
      assert.equal(view.registry, null, `${storage}: answered with the record, by the bound`);
      assert.equal(key, null, `${storage}: no key entry (the cold check opens no cookie of a network store)`);
    }
  });

  it("the login view: read back for cookie storage; none where the login part cannot save (registry, remember, server-side storage)", () => {
    const viewOf = (options: SessionOptions) => {
      const dicts: { [zone: string]: MemorySharedDict } = {};
      for (const zone of ["njs_session_cache", "sessions"]) dicts[zone] = createMemorySharedDict({ name: zone, timeout: 86_400_000, evict: false, clock: () => T0 * 1000 });
      const platform = createNodePlatform({ now: () => T0, sharedDicts: dicts });
      const settings = resolveSettings(options, platform);
      const entry = { login_backend: "/backend", login_verdict_header: "X-Verdict" } as EntryOptions;
      keepLoginView(platform, "location text", settings, entry);
      return { settings, view: readLoginView(platform, "location text") };
    };
    const { settings, view } = viewOf({ secret: "check-view-secret", secret_fallbacks: ["an-older-secret"], audience: "app", bind: ["ip", "user_agent"], compression_threshold: 100 });
    assert.ok(view, "a login view for cookie storage");
    assert.deepEqual(
      { ...view, prk: keyOf(view.prk) },
      {
        cookieName: settings.cookieName,
        audience: "app",
        cookieAttributes: settings.cookieAttributes,
        prk: referencePrk(settings.ikm),
        bindFlags: settings.bindFlags,
        compressionThreshold: 100,
        backend: "/backend",
        verdictHeader: "X-Verdict",
      },
    );
    assert.notEqual(settings.bindFlags, 0);
    assert.equal(viewOf({ secret: "check-view-secret", remember: true }).view, null, "remember by default");
    assert.equal(viewOf({ secret: "check-view-secret", registry_zone: "sessions", store_metadata: true }).view, null, "a registry");
    assert.equal(viewOf({ secret: "check-view-secret", storage: "shm" }).view, null, "shm storage");
  });
});
