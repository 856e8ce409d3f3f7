/**
 * Configuration of the network storages (src/storage/redis.ts, memcached.ts, remote.ts): what the JSON
 * may say under "redis" and "memcached", and the ConfigError for everything else. Construction needs no
 * store transport: the platform here is Node's, which has none.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isConfigError } from "../../src/core/errors";
import type { StorageOptions } from "../../src/core/options";
import type { Storage } from "../../src/core/storage";
import { createNodePlatform } from "../../src/platform/node";
import { createMemcachedStorage } from "../../src/storage/memcached";
import { createRedisStorage } from "../../src/storage/redis";
import { DEFAULT_TIMEOUT_MS, roundTripTimeout, serverAddress } from "../../src/storage/remote";

type Create = (options: StorageOptions | undefined, platform: ReturnType<typeof createNodePlatform>) => Storage;

const platform = createNodePlatform({ log: () => {} });
const STORAGES: Array<[string, Create]> = [
  ["redis", createRedisStorage],
  ["memcached", createMemcachedStorage],
];

function build(create: Create, options: unknown): Storage {
  return create(options as StorageOptions | undefined, platform);
}

/** Expects a ConfigError whose message matches every pattern. */
function assertConfigError(fn: () => unknown, ...patterns: RegExp[]): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown, "expected a ConfigError, nothing was thrown");
  assert.equal(isConfigError(thrown), true, "a ConfigError: " + String(thrown));
  for (const pattern of patterns) assert.match((thrown as Error).message, pattern);
}

/** lua-resty-session's connection options that nginx configuration controls here, and the directive named. */
const NGINX_SIDE: Array<[string, unknown, RegExp]> = [
  ["ssl", true, /proxy_ssl on/],
  ["ssl_verify", true, /proxy_ssl_verify on/],
  ["server_name", "redis.internal", /proxy_ssl_name/],
  ["pool", "sessions", /js_fetch_keepalive/],
  ["pool_size", 100, /js_fetch_keepalive/],
  ["backlog", 10, /js_fetch_keepalive/],
  ["keepalive_timeout", 60000, /js_fetch_keepalive_timeout/],
  ["socket", "unix:/run/redis.sock", /host and port/],
];

for (const [store, create] of STORAGES) {
  describe(`${store} storage options, shared rules`, () => {
    it("no options, or an empty table, gives a storage (localhost, default port), with no transport needed", () => {
      for (const options of [undefined, null, {}]) {
        const storage = build(create, options);
        for (const verb of ["set", "get", "delete", "readMetadata"] as const) assert.equal(typeof storage[verb], "function", verb);
      }
    });

    it("a storage used where there is no store transport fails with a ConfigError that says so", async () => {
      const storage = build(create, {});
      await assert.rejects(Promise.resolve().then(() => storage.get("session", "k".repeat(43), 1700000000)), (e: unknown) => {
        assert.equal(isConfigError(e), true);
        assert.match((e as Error).message, new RegExp("^invalid session configuration: " + store + " .*needs a store transport"));
        return true;
      });
    });

    it("takes the timeouts, prefix and suffix", () => {
      build(create, { prefix: "sessions", suffix: "v1", connect_timeout: 100, send_timeout: 200, read_timeout: 300 });
    });

    it("an unknown option is refused, named", () => {
      // "nodes" is redis's (a cluster), not memcached's.
      const names = ["hostname", "timeout", "ttl", "cluster", "SSL"].concat(store === "memcached" ? ["nodes"] : []);
      for (const name of names) {
        assertConfigError(() => build(create, { [name]: 1 }), new RegExp("unknown option " + store + "\\." + name + "$"));
      }
    });

    for (const [name, value, directive] of NGINX_SIDE) {
      it(`"${name}" is refused with a message naming where nginx sets it`, () => {
        assertConfigError(() => build(create, { host: "10.0.0.5", [name]: value }), new RegExp(store + "\\." + name + " is set in nginx\\.conf"), directive);
      });
    }

    it("options of the wrong kind are refused, named", () => {
      assertConfigError(() => build(create, { host: "" }), new RegExp(store + "\\.host must be a non-empty string"));
      assertConfigError(() => build(create, { host: 42 }), new RegExp(store + "\\.host must be a non-empty string"));
      assertConfigError(() => build(create, { port: "6379" }), new RegExp(store + "\\.port must be a whole number"));
      assertConfigError(() => build(create, { port: 6379.5 }), new RegExp(store + "\\.port must be a whole number"));
      assertConfigError(() => build(create, { read_timeout: -1 }), new RegExp(store + "\\.read_timeout must be a whole number"));
      assertConfigError(() => build(create, { prefix: 7 }), new RegExp(store + "\\.prefix must be a non-empty string"));
    });

    it("a host that is no host name or address, or a port outside 1-65535, is refused", () => {
      for (const host of ["bad host", "10.0.0.5:6379", "::1", "h/x", "user@h"]) assertConfigError(() => build(create, { host }), /a server must be "host:port"/);
      for (const port of [0, 65536, 100000]) assertConfigError(() => build(create, { port }), /port must be 1-65535/);
      build(create, { host: "[::1]", port: 1 });
      build(create, { host: "cache-1.internal", port: 65535 });
    });

    it("the options must be a table", () => {
      assertConfigError(() => build(create, "127.0.0.1:6379"), new RegExp(store + " must be an object"));
      assertConfigError(() => build(create, ["127.0.0.1"]), new RegExp(store + " must be an object"));
    });

    it("bridge: the store bridge's http:// address, nothing else", () => {
      build(create, { bridge: "http://127.0.0.1:7379" });
      build(create, { bridge: "http://[::1]:7379" });
      for (const bridge of ["https://127.0.0.1:7379", "127.0.0.1:7379", "http://127.0.0.1:7379/", "http://127.0.0.1:7379/redis", "http://h:1?x=1", "http://"]) {
        assert.throws(
          () => build(create, { bridge }),
          (e: unknown) => isConfigError(e) && new RegExp(store + "\\.bridge must be the store bridge's address").test((e as Error).message),
          `${store}.bridge ${JSON.stringify(bridge)} must be refused with a ConfigError`,
        );
      }
    });
  });
}

describe("redis storage options", () => {
  it("takes everything lua-resty-session's redis storage does that is not nginx's business", () => {
    build(createRedisStorage, {
      host: "10.0.0.5",
      port: 6380,
      username: "sessions",
      password: "secret",
      database: 2,
      prefix: "sessions",
      suffix: "v1",
      connect_timeout: 100,
      send_timeout: 100,
      read_timeout: 100,
      bridge: "http://127.0.0.1:7379",
    });
  });

  it("a password alone is fine (AUTH <password>); a username needs a password", () => {
    build(createRedisStorage, { password: "secret" });
    assertConfigError(() => build(createRedisStorage, { username: "sessions" }), /redis\.username needs redis\.password/);
  });

  it("database is a whole number", () => {
    build(createRedisStorage, { database: 0 });
    assertConfigError(() => build(createRedisStorage, { database: -1 }), /redis\.database must be a whole number/);
    assertConfigError(() => build(createRedisStorage, { database: "1" }), /redis\.database must be a whole number/);
  });

  it("memcached's servers list is not a redis option", () => {
    assertConfigError(() => build(createRedisStorage, { servers: ["10.0.0.5:6379"] }), /unknown option redis\.servers/);
  });
});

describe("memcached storage options", () => {
  it("servers: host:port texts and {host, port} tables, IPv6 in brackets, default port", () => {
    build(createMemcachedStorage, { servers: ["10.0.0.5:11211", "10.0.0.6", { host: "10.0.0.7" }, { host: "10.0.0.8", port: 11212 }, "[::1]:11211", "[fd00::1]"] });
  });

  it("servers and host/port exclude each other", () => {
    assertConfigError(() => build(createMemcachedStorage, { servers: ["10.0.0.5:11211"], host: "10.0.0.6" }), /either servers or host\/port/);
    assertConfigError(() => build(createMemcachedStorage, { servers: ["10.0.0.5:11211"], port: 11211 }), /either servers or host\/port/);
  });

  it("servers must list at least one valid server", () => {
    assertConfigError(() => build(createMemcachedStorage, { servers: [] }), /memcached\.servers must list at least one server/);
    assertConfigError(() => build(createMemcachedStorage, { servers: "10.0.0.5:11211" }), /memcached\.servers must be a list/);
    for (const server of [42, "", "bad host:11211", "::1", { port: 11211 }, { host: "h", port: "11211" }]) {
      assertConfigError(() => build(createMemcachedStorage, { servers: [server] }), /memcached: (a server must be|port must be)/);
    }
    for (const server of ["h:0", "h:abc", "h:", "h:65536", "h:1.5", { host: "h", port: 0 }]) {
      assertConfigError(() => build(createMemcachedStorage, { servers: ["10.0.0.5:11211", server] }), /memcached: port must be 1-65535/);
    }
  });

  it("a prefix or suffix memcached cannot have in a key is refused", () => {
    for (const naming of [{ prefix: "my sessions" }, { suffix: "v\t1" }, { prefix: "a\nb" }, { prefix: "\u007f" }]) {
      assertConfigError(() => build(createMemcachedStorage, naming), /memcached\.prefix and suffix must not contain spaces or control characters/);
    }
    build(createMemcachedStorage, { prefix: "app:sessions", suffix: "v1" });
  });

  it("redis's credentials and database are not memcached options", () => {
    for (const name of ["username", "password", "database"]) {
      assertConfigError(() => build(createMemcachedStorage, { [name]: name === "database" ? 1 : "x" }), new RegExp("unknown option memcached\\." + name));
    }
  });
});

describe("remote.ts helpers", () => {
  it("serverAddress: host:port from a text or a table, the default port when none is given", () => {
    assert.equal(serverAddress("memcached", "10.0.0.5:11212", 11211), "10.0.0.5:11212");
    assert.equal(serverAddress("memcached", "10.0.0.5", 11211), "10.0.0.5:11211");
    assert.equal(serverAddress("memcached", "cache.internal", 11211), "cache.internal:11211");
    assert.equal(serverAddress("memcached", "[::1]", 11211), "[::1]:11211");
    assert.equal(serverAddress("memcached", "[::1]:7", 11211), "[::1]:7");
    assert.equal(serverAddress("redis", { host: "h" }, 6379), "h:6379");
    assert.equal(serverAddress("redis", { host: "h", port: 6380 }, 6379), "h:6380");
  });

  it("roundTripTimeout: connect + send + read, each 1 s unless given", () => {
    assert.equal(DEFAULT_TIMEOUT_MS, 1000);
    assert.equal(roundTripTimeout({}), 3000);
    assert.equal(roundTripTimeout({ connect_timeout: 100 }), 2100);
    assert.equal(roundTripTimeout({ connect_timeout: 100, send_timeout: 200, read_timeout: 300 }), 600);
  });
});
