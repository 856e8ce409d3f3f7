/**
 * store_revalidate (src/core/store-revalidation.ts): a misconfiguration fails loudly, and the marks a
 * node keeps of what the store told it expire with the bound. The mode itself runs in a real nginx
 * with two nodes on one Redis: t/182-store-revalidate.t.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SessionOptions } from "../../src/core/options";
import { confirmedWithin, markAsked, MAX_STORE_REVALIDATE_MS } from "../../src/core/store-revalidation";
import { createNodePlatform } from "../../src/platform/node";
import { registerBuiltinStorages } from "../../src/storage/index";
import { createMemorySharedDict } from "../support/memory-shared-dict";
import { createEnv } from "../support/session-env";

registerBuiltinStorages();

const SECRET = "store-revalidate-secret";
const REDIS: SessionOptions = { secret: SECRET, storage: "redis", redis: { port: 6379 } };

describe("store_revalidate settings", () => {
  it("0 by default; a bound with redis or memcached", () => {
    const env = createEnv();
    assert.equal(env.library.settings(REDIS).storeRevalidate, 0);
    assert.equal(env.library.settings({ ...REDIS, store_revalidate: 1500 }).storeRevalidate, 1500);
    assert.equal(env.library.settings({ secret: SECRET, storage: "memcached", store_revalidate: 1500 }).storeRevalidate, 1500);
  });

  it("fails loudly without a network store, above the limit, not a whole number, or without a verified cache", () => {
    const env = createEnv();
    for (const storage of [undefined, "shm"]) {
      assert.throws(() => env.library.settings({ secret: SECRET, storage, store_revalidate: 1000 } as SessionOptions), {
        name: "ConfigError",
        message: /store_revalidate needs redis or memcached storage/,
      });
    }
    assert.throws(() => env.library.settings({ ...REDIS, store_revalidate: MAX_STORE_REVALIDATE_MS + 1 }), { name: "ConfigError", message: /at most 60000 ms/ });
    assert.throws(() => env.library.settings({ ...REDIS, store_revalidate: -1 }), { name: "ConfigError", message: /store_revalidate/ });
    assert.throws(() => env.library.settings({ ...REDIS, store_revalidate: 1.5 }), { name: "ConfigError", message: /store_revalidate/ });
    assert.throws(() => env.library.settings({ ...REDIS, store_revalidate: 1000, verified_cache_entries: 0 }), {
      name: "ConfigError",
      message: /store_revalidate answers from the verified-session cache/,
    });
  });
});

describe("the marks of what the store said", () => {
  it("in the njs_session_cache zone, gone with the bound", () => {
    let clock = 1_000_000;
    const zone = createMemorySharedDict({ name: "njs_session_cache", timeout: 60_000, clock: () => clock });
    const platform = createNodePlatform({ sharedDicts: { njs_session_cache: zone } });
    assert.equal(confirmedWithin(platform, "sid:app", 2000), undefined);
    const before = Date.now();
    markAsked(platform, "sid:app", 2000);
    const at = confirmedWithin(platform, "sid:app", 2000) as number;
    assert.ok(at >= before && at <= Date.now(), "when the store confirmed it, to the millisecond");
    assert.equal(confirmedWithin(platform, "other:app", 2000), undefined, "per session and audience");
    clock += 2001;
    assert.equal(confirmedWithin(platform, "sid:app", 2000), undefined, "expired with the bound");
    // An older version's mark ("1") is recent while the zone holds it, but of no known time: long ago.
    zone.set("@asked:old:app", "1", 2000);
    assert.equal(confirmedWithin(platform, "old:app", 2000), 1);
    zone.set("@asked:odd:app", "x", 2000);
    assert.equal(confirmedWithin(platform, "odd:app", 2000), 1);
  });

  it("in the worker's memory without the zone, gone with the bound", () => {
    const platform = createNodePlatform({});
    const before = Date.now();
    markAsked(platform, "mem:app", 60_000);
    const at = confirmedWithin(platform, "mem:app", 60_000) as number;
    assert.ok(at >= before && at <= Date.now());
    assert.equal(confirmedWithin(platform, "mem:app", 0), undefined, "older than the bound");
  });
});
