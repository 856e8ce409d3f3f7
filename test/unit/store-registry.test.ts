/**
 * The session registry in the network store (src/core/store-registry.ts): how settings choose it, and
 * its rules with two nodes over one store (test/support/memory-registry-store.ts; t/181-shared-registry.t
 * runs the real thing, two nginx nodes on one Redis). A revocation made through one node holds on the
 * other's next open, the full path asks the store after decryption, and a store that cannot answer
 * fails closed (StoreUnavailable), never "no session".
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SessionOptions } from "../../src/core/options";
import type { Registry } from "../../src/core/registry";
import { createStoreRegistry } from "../../src/core/store-registry";
import type { Storage } from "../../src/core/storage";
import { registerBuiltinStorages } from "../../src/storage/index";
import { createMemoryRegistryStore, type MemoryRegistryStore } from "../support/memory-registry-store";
import { createMemoryStorage } from "../support/memory-storage";
import { createEnv, nextCookie, T0, type TestEnv } from "../support/session-env";

registerBuiltinStorages();

const SECRET = "store-registry-secret";
const SUBJECT = "alice@example.com";
const OPTIONS = { hashSubject: false, maxLifetime: 86_400, zone: "" };

function nodes(store: MemoryRegistryStore, env: TestEnv): [Registry, Registry] {
  return [createStoreRegistry(env.platform, store, OPTIONS), createStoreRegistry(env.platform, store, OPTIONS)];
}

/** A storage whose registry lives in `store` (as redis storage's does). */
function sharedStorage(store: MemoryRegistryStore): Storage {
  return { ...createMemoryStorage(), registryStore: () => store };
}

async function login(env: TestEnv, options: SessionOptions): Promise<string> {
  const exchange = env.request();
  const session = env.library.new(exchange, options);
  session.setSubject(SUBJECT);
  const saved = await session.save();
  assert.equal(saved.error, undefined);
  return nextCookie(exchange);
}

describe("store registry wiring (settings)", () => {
  it("redis storage + store_metadata: the registry lives in the store; registry_zone with it is refused", () => {
    const env = createEnv();
    const redis: SessionOptions = { secret: SECRET, storage: "redis", redis: { port: 6379 } };
    assert.equal(env.library.settings(redis).registry, null, "store_metadata off: no registry");
    const registry = env.library.settings({ ...redis, store_metadata: true }).registry;
    assert.ok(registry && typeof registry.readChecked === "function", "a store registry");
    assert.throws(() => env.library.settings({ ...redis, store_metadata: true, registry_zone: "sessions" }), {
      name: "ConfigError",
      message: /registry_zone with redis storage: the session registry lives in the store/,
    });
  });

  it("memcached + store_metadata: the registry lives in memcached too; registry_zone with it is refused", () => {
    const env = createEnv();
    const memcached: SessionOptions = { secret: SECRET, storage: "memcached", store_metadata: true };
    const registry = env.library.settings(memcached).registry;
    assert.ok(registry && typeof registry.readChecked === "function", "a store registry");
    assert.throws(() => env.library.settings({ ...memcached, registry_zone: "sessions" }), {
      name: "ConfigError",
      message: /registry_zone with memcached storage/,
    });
  });
});

describe("the store registry with two nodes", () => {
  it("reservations made on two nodes in one second get different creation times; each node lists both", async () => {
    const env = createEnv();
    const store = createMemoryRegistryStore();
    const [a, b] = nodes(store, env);
    const first = await a.reserve("app", SUBJECT, T0);
    const second = await b.reserve("app", SUBJECT, T0);
    assert.equal(first, T0);
    assert.equal(second, T0 - 1, "a second earlier: T0 was taken on the other node");
    await a.record("app", SUBJECT, { created: first, lastSeen: T0, expires: T0 + 900, userAgent: "Laptop" }, T0);
    await b.record("app", SUBJECT, { created: second, lastSeen: T0, expires: T0 + 900, userAgent: "Phone" }, T0);
    assert.deepEqual((await a.list("app", SUBJECT, T0)).map((entry) => entry.userAgent), ["Phone", "Laptop"]);
    assert.deepEqual(await b.list("app", SUBJECT, T0), await a.list("app", SUBJECT, T0));
  });

  it("a reservation that loses a race to another node chooses again", async () => {
    const env = createEnv();
    const store = createMemoryRegistryStore();
    const [a] = nodes(store, env);
    store.raceNextAdd = true;
    assert.equal(await a.reserve("app", SUBJECT, T0), T0 - 1);
  });

  it("revoke one on A holds on B; revoke all on B holds on A; the cut-off never falls", async () => {
    const env = createEnv();
    const store = createMemoryRegistryStore();
    const [a, b] = nodes(store, env);
    for (const created of [T0 - 2, T0 - 1]) {
      await a.reserve("app", SUBJECT, created);
      await a.record("app", SUBJECT, { created, lastSeen: created, expires: T0 + 900 }, created);
    }
    assert.deepEqual((await a.revokeOne("app", SUBJECT, T0 - 2, T0)).map((entry) => entry.created), [T0 - 2]);
    assert.equal(await b.isRevoked("app", SUBJECT, T0 - 2, T0), true);
    assert.equal(await b.isRevoked("app", SUBJECT, T0 - 1, T0), false);
    assert.deepEqual((await b.list("app", SUBJECT, T0)).map((entry) => entry.created), [T0 - 1]);
    assert.deepEqual(await a.revokeOne("app", SUBJECT, T0 - 2, T0), [], "no longer listed");

    assert.equal((await b.revokeAll("app", SUBJECT, T0)).length, 1);
    assert.equal(await a.isRevoked("app", SUBJECT, T0 - 1, T0), true);
    assert.equal(await a.isRevoked("app", SUBJECT, T0 + 1, T0 + 1), false, "later logins open");
    await a.revokeAll("app", SUBJECT, T0 - 30);
    assert.equal(await a.isRevoked("app", SUBJECT, T0, T0), true, "a node with a slower clock does not lower the cut-off");
    assert.equal(await a.reserve("app", SUBJECT, T0 + 5), T0 + 5, "a new session is never born revoked");
  });
});

describe("sessions over a store registry", () => {
  it("the full path asks the store after decryption: a revocation made through another node refuses the session", async () => {
    const env = createEnv();
    const store = createMemoryRegistryStore();
    const options: SessionOptions = { secret: SECRET, storage: sharedStorage(store), store_metadata: true, audience: "app" };
    const cookie = await login(env, options);
    assert.equal((await env.library.open(env.request(cookie), options)).error, undefined);
    const [, other] = nodes(store, env);
    const listed = await other.list("app", SUBJECT, env.clock.now);
    assert.equal(listed.length, 1, "the other node lists the session");
    await other.revokeOne("app", SUBJECT, listed[0].created, env.clock.now);
    assert.equal((await env.library.open(env.request(cookie), options)).error, "session revoked");
  });

  it("a store that cannot answer fails the open closed (StoreUnavailable), and registry upkeep logs nothing more", async () => {
    const env = createEnv();
    const store = createMemoryRegistryStore();
    const options: SessionOptions = { secret: SECRET, storage: sharedStorage(store), store_metadata: true };
    const cookie = await login(env, options);
    store.down = true;
    await assert.rejects(env.library.open(env.request(cookie), options), { name: "StoreUnavailable" });
    // The record store (memory) still answers: the login goes through, the registry upkeep is skipped quietly.
    await login(env, options);
    assert.deepEqual(env.logs.filter((line) => line.level === "warn" || line.level === "error"), []);
  });
});
