/**
 * Configuration of the network storages (src/storage/redis.ts, memcached.ts, remote.ts): what the JSON
 * may say under "redis" and "memcached", and the ConfigError for everything else. Construction needs no
 * store transport: the platform here is Node's without one, which refuses the connection options as
 * nginx does; the last part gives it the transport's (as createNodeRuntime does).
 */

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { isConfigError } from "../../src/core/errors";
import type { SessionOptions, StorageOptions } from "../../src/core/options";
import { resolveSettings } from "../../src/core/settings";
import type { Platform, StoreReader, StoreRequest } from "../../src/core/platform";
import type { Storage } from "../../src/core/storage";
import { createNodePlatform } from "../../src/platform/node";
import { STORE_CONNECTION_OPTIONS } from "../../src/platform/node-store";
import { createMemcachedStorage, serverFor } from "../../src/storage/memcached";
import { registerBuiltinStorages } from "../../src/storage/index";
import { createRedisStorage } from "../../src/storage/redis";
import { answered, DEFAULT_TIMEOUT_MS, roundTripTimeout, serverAddress, unavailable } from "../../src/storage/remote";
import { createMemorySharedDict } from "../support/memory-shared-dict";

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
  ["ssl_trusted_certificate", "/etc/ssl/store-ca.pem", /proxy_ssl_trusted_certificate/],
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

/**
 * Where the platform's store transport makes its own connections (Node: createNodeRuntime declares
 * STORE_CONNECTION_OPTIONS), TLS and unix sockets are options; the requests carry them to the transport.
 * The transport here records each request and fails it, as an unreachable store would.
 */
describe("connection options where the transport takes them (Node)", () => {
  const directory = mkdtempSync(join(tmpdir(), "njs-session-ca-"));
  after(() => rmSync(directory, { recursive: true, force: true }));
  const certificateFile = join(directory, "ca.pem");
  writeFileSync(certificateFile, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  const sent: StoreRequest[] = [];
  const own = Object.assign(Object.create(platform) as Platform, {
    storeConnectionOptions: STORE_CONNECTION_OPTIONS,
    storeExchange: <A, T>(request: StoreRequest, reader: StoreReader<A, T>, asking: A) => {
      sent.push(request);
      return Promise.reject(new Error("ECONNREFUSED")).then(
        (replies: Uint8Array) => reader.read(replies, asking),
        (e) => reader.failed(e, asking),
      );
    },
  });
  const buildHere = (create: Create, options: unknown) => create(options as StorageOptions, own);
  async function firstRequest(create: Create, options: unknown): Promise<StoreRequest> {
    sent.length = 0;
    await assert.rejects(Promise.resolve(buildHere(create, options).get("session", "k".repeat(43), 1700000000)));
    return sent[0];
  }

  for (const [store, create] of STORAGES) {
    it(`${store}: ssl, ssl_verify, server_name and ssl_trusted_certificate reach the transport, verification off unless asked (the peer's default)`, async () => {
      assert.deepEqual((await firstRequest(create, { host: "10.0.0.5", ssl: true })).tls, { verify: false });
      const request = await firstRequest(create, { host: "10.0.0.5", ssl: true, ssl_verify: true, server_name: "store.internal", ssl_trusted_certificate: certificateFile });
      assert.deepEqual(request.tls, { verify: true, serverName: "store.internal", trustedCertificates: readFileSync(certificateFile, "utf8") });
      assert.equal(request.target, "10.0.0.5:" + (store === "redis" ? 6379 : 11211));
      assert.equal((await firstRequest(create, { host: "10.0.0.5", ssl: false })).tls, undefined);
    });

    it(`${store}: socket, as "unix:/path" or "/path", is the request's target`, async () => {
      assert.equal((await firstRequest(create, { socket: "unix:/run/store.sock" })).target, "unix:/run/store.sock");
      assert.equal((await firstRequest(create, { socket: "/run/store.sock" })).target, "unix:/run/store.sock");
    });

    it(`${store}: the TLS options need ssl: true, a server_name is a host name, the CA file must be readable PEM`, () => {
      for (const name of ["ssl_verify", "server_name", "ssl_trusted_certificate"]) {
        const value = name === "ssl_verify" ? true : name === "server_name" ? "store.internal" : certificateFile;
        assertConfigError(() => buildHere(create, { [name]: value }), new RegExp("^invalid session configuration: " + store + "\\." + name + " needs " + store + "\\.ssl: true$"));
      }
      assertConfigError(() => buildHere(create, { ssl: "yes" }), new RegExp(store + "\\.ssl must be true or false"));
      for (const name of ["10.0.0.5", "store internal", "-store"]) {
        assertConfigError(() => buildHere(create, { ssl: true, server_name: name }), new RegExp(store + "\\.server_name must be a host name"));
      }
      assertConfigError(() => buildHere(create, { ssl: true, ssl_trusted_certificate: certificateFile + ".missing" }), /ssl_trusted_certificate: cannot read .*\.missing$/);
      const notPem = certificateFile + ".txt";
      writeFileSync(notPem, "not a certificate");
      assertConfigError(() => buildHere(create, { ssl: true, ssl_trusted_certificate: notPem }), /holds no PEM certificate/);
    });

    it(`${store}: a socket is an absolute path, without host/port, without TLS`, () => {
      assertConfigError(() => buildHere(create, { socket: "run/store.sock" }), new RegExp(store + "\\.socket must be a unix socket's absolute path"));
      assertConfigError(() => buildHere(create, { socket: "/run/store.sock", host: "10.0.0.5" }), new RegExp(store + ": give either socket or "));
      assertConfigError(() => buildHere(create, { socket: "/run/store.sock", ssl: true }), new RegExp(store + "\\.ssl over a unix socket"));
    });

    it(`${store}: pooling options stay refused, saying the transport pools its own connections`, () => {
      for (const name of ["pool", "pool_size", "backlog", "keepalive_timeout"]) {
        assertConfigError(() => buildHere(create, { [name]: 1 }), new RegExp(store + "\\." + name + " is not taken outside nginx"));
      }
    });
  }

  it("redis: Sentinel and Cluster connections carry the same TLS settings; a socket is a single server's", async () => {
    const tls = { ssl: true, ssl_verify: true, server_name: "store.internal" };
    const sentinel = await firstRequest(createRedisStorage, { ...tls, master: "m", sentinels: ["10.0.0.7:26379"] });
    assert.equal(sentinel.target, "10.0.0.7:26379");
    assert.deepEqual(sentinel.tls, { verify: true, serverName: "store.internal" });
    const cluster = await firstRequest(createRedisStorage, { ...tls, nodes: ["10.0.0.8:7000"] });
    assert.equal(cluster.target, "10.0.0.8:7000");
    assert.deepEqual(cluster.tls, { verify: true, serverName: "store.internal" });
    assertConfigError(() => buildHere(createRedisStorage, { socket: "/run/redis.sock", nodes: ["10.0.0.8:7000"] }), /redis\.socket is a single server's/);
    assertConfigError(() => buildHere(createRedisStorage, { socket: "/run/redis.sock", master: "m", sentinels: ["10.0.0.7"] }), /redis\.socket is a single server's/);
  });
});

describe("memcached.read_locations (the check's read through nginx's memcached_pass)", () => {
  const reads: Array<[unknown, string, string]> = [];
  const exchanged: StoreRequest[] = [];
  const logged: string[] = [];
  let answer: (location: string, key: string) => Promise<string | null> = () => Promise.resolve("value");
  /** A status the location answers instead of 200/404 (the server unreachable: 502). */
  let failingStatus = 0;
  const nginxLike = Object.assign(Object.create(platform) as Platform, {
    log: (level: string, message: string) => logged.push(level + " " + message),
    storeExchange: <A, T>(request: StoreRequest, reader: StoreReader<A, T>, asking: A) => {
      exchanged.push(request);
      return Promise.resolve(new TextEncoder().encode("VA 3\r\nbig\r\n")).then(
        (replies) => reader.read(replies, asking),
        (e) => reader.failed(e, asking),
      );
    },
    locationGet: (host: unknown, location: string, key: string) => {
      reads.push([host, location, key]);
      return answer(location, key).then((value) => ({ status: failingStatus || (value === null ? 404 : 200), value: value }));
    },
    // As the njs platform reads a subrequest's reply: 200 the value, 404 none, else an error.
    locationValue: (reply: unknown) => {
      const { status, value } = reply as { status: number; value: string | null };
      if (status === 404) return null;
      if (status !== 200) throw new Error("memcached_pass location answered " + status);
      return value;
    },
  });
  const SID = "k".repeat(43);
  const REQUEST = { request: "r" };
  function reset(): void {
    reads.length = 0;
    exchanged.length = 0;
    logged.length = 0;
    answer = () => Promise.resolve("value");
    failingStatus = 0;
  }

  it("names a location per server, each server as `servers` names it; a server of no list or a location that is no path is refused", () => {
    const storage = (options: unknown) => createMemcachedStorage(options as StorageOptions, nginxLike);
    storage({ port: 11211, read_locations: { "127.0.0.1:11211": "/_session_memcached" } });
    storage({ servers: ["10.0.0.5", "10.0.0.6:11212"], read_locations: { "10.0.0.5": "/_mc/a", "10.0.0.6:11212": "/_mc/b" } });
    assertConfigError(() => storage({ port: 11211, read_locations: { "127.0.0.1:11212": "/_mc" } }), /read_locations names 127\.0\.0\.1:11212, which is not one of memcached's servers/);
    for (const location of ["", "_mc", "/_mc?k=1", "/_mc x", "/_m%63", 42]) {
      assertConfigError(() => storage({ port: 11211, read_locations: { "127.0.0.1:11211": location } }), /each server's location must be a path/);
    }
    assertConfigError(() => storage({ port: 11211, read_locations: ["/_mc"] }), /memcached\.read_locations must be an object/);
  });

  it("without hash_storage_key the settings are refused, naming both options (nginx's memcached module logs a missed key at info)", () => {
    registerBuiltinStorages();
    const options = (extra: object) =>
      ({ secret: "0123456789abcdef0123456789abcdef", storage: "memcached", memcached: { port: 11211, read_locations: { "127.0.0.1:11211": "/_mc" } }, ...extra }) as SessionOptions;
    assertConfigError(() => resolveSettings(options({}), nginxLike), /memcached\.read_locations needs hash_storage_key: true/);
    assertConfigError(() => resolveSettings(options({ hash_storage_key: false }), nginxLike), /memcached\.read_locations needs hash_storage_key: true/);
    assert.equal(resolveSettings(options({ hash_storage_key: true }), nginxLike).hashStorageKey, true);
    const bridgeOnly = { secret: "0123456789abcdef0123456789abcdef", storage: "memcached", memcached: { port: 11211 } } as SessionOptions;
    assert.equal(resolveSettings(bridgeOnly, nginxLike).hashStorageKey, false, "reads through the bridge log no key: no hashing needed");
  });

  it("a platform that cannot read through nginx (Node) refuses the option", () => {
    assertConfigError(() => build(createMemcachedStorage, { port: 11211, read_locations: { "127.0.0.1:11211": "/_mc" } }), /read_locations needs nginx/);
  });

  it("the check's read (a request handle given) goes through the server's location with the record's name; other reads through the bridge", async () => {
    reset();
    const storage = createMemcachedStorage({ port: 11211, prefix: "p", read_locations: { "127.0.0.1:11211": "/_mc" } } as StorageOptions, nginxLike);
    assert.equal(await storage.get("session", SID, 1700000000, REQUEST), "value");
    assert.deepEqual(reads, [[REQUEST, "/_mc", "p:session:" + SID]]);
    assert.equal(exchanged.length, 0);
    assert.equal(await storage.get("session", SID, 1700000000), "big", "without a request handle: the bridge");
    assert.equal(reads.length, 1);
    assert.equal(exchanged.length, 1);
  });

  it("a miss is no record; a server without a location, or a key with & or %, is read through the bridge", async () => {
    reset();
    answer = () => Promise.resolve(null);
    const two = createMemcachedStorage({ servers: ["10.0.0.5:11211", "10.0.0.6:11211"], read_locations: { "10.0.0.5:11211": "/_mc" } } as StorageOptions, nginxLike);
    let viaLocation = 0;
    for (let i = 0; i < 16; i++) {
      const sid = String(i).padStart(43, "s");
      const value = await two.get("session", sid, 1700000000, REQUEST);
      if (serverFor(["10.0.0.5:11211", "10.0.0.6:11211"], "session:" + sid) === "10.0.0.5:11211") {
        viaLocation++;
        assert.equal(value, null);
      } else assert.equal(value, "big");
    }
    assert.ok(viaLocation > 0 && viaLocation < 16, viaLocation + " of 16 on the server with a location");
    assert.equal(reads.length, viaLocation);
    assert.equal(exchanged.length, 16 - viaLocation);
    for (const prefix of ["a&b", "a%b"]) {
      reset();
      const storage = createMemcachedStorage({ port: 11211, prefix: prefix, read_locations: { "127.0.0.1:11211": "/_mc" } } as StorageOptions, nginxLike);
      assert.equal(await storage.get("session", SID, 1700000000, REQUEST), "big");
      assert.deepEqual([reads.length, exchanged.length], [0, 1], prefix);
    }
  });

  it("a location that fails is StoreUnavailable, logged once per incident, and its end once", async () => {
    reset();
    const storage = createMemcachedStorage({ port: 11213, read_locations: { "127.0.0.1:11213": "/_mc" } } as StorageOptions, nginxLike);
    answer = () => Promise.reject(new Error("memcached_pass location answered 502"));
    for (let i = 0; i < 3; i++) {
      await assert.rejects(Promise.resolve(storage.get("session", SID, 1700000000, REQUEST)), (e: Error) => /memcached 127\.0\.0\.1:11213/.test(e.message) && e.name !== "ConfigError");
    }
    assert.deepEqual(logged.filter((line) => line.startsWith("error")), [
      "error [session] memcached 127.0.0.1:11213 unavailable: /_mc: memcached_pass location answered 502 (requests needing it fail closed; logged once until it answers again)",
    ]);
    answer = () => Promise.resolve("value");
    assert.equal(await storage.get("session", SID, 1700000000, REQUEST), "value");
    assert.equal(logged.filter((line) => line.startsWith("warn") && /127\.0\.0\.1:11213 answers again/.test(line)).length, 1);
    failingStatus = 504;
    for (let i = 0; i < 2; i++) {
      await assert.rejects(Promise.resolve(storage.get("session", SID, 1700000000, REQUEST)), /memcached 127\.0\.0\.1:11213/);
    }
    assert.equal(logged.filter((line) => /^error .*unavailable: \/_mc: memcached_pass location answered 504 /.test(line)).length, 1, "a 504 answer: one line");
  });
});

describe("the end of a store incident (remote.ts: answered, unavailable)", () => {
  it("an incident another worker logged is looked for at most once a second while the store answers here; after a failure here, at once", () => {
    let now = 1_700_000_000;
    const logged: string[] = [];
    const zone = createMemorySharedDict({ name: "njs_session_cache", timeout: 86_400_000, clock: () => now * 1000 });
    const worker = Object.assign(Object.create(platform) as Platform, {
      now: () => now,
      log: (level: string, message: string) => logged.push(level + " " + message),
      sharedDict: () => zone,
    });
    const store = "redis 10.9.9.9:6379";
    const ends = () => logged.filter((line) => /^warn .*answers again/.test(line));
    answered(worker, store);
    // Another worker's incident: its mark in the zone, this worker not told.
    assert.equal(zone.add("@store-incident:" + store, String(now - 5), 60_000), true);
    answered(worker, store);
    assert.deepEqual(ends(), [], "within the second of the last look: the zone is not read");
    now += 1;
    answered(worker, store);
    assert.deepEqual(ends(), ["warn [session] redis 10.9.9.9:6379 answers again, after 6 s"], "the next second: found, ended, one line");
    answered(worker, store);
    assert.equal(ends().length, 1, "ended once");
    unavailable(worker, store, "connection refused");
    assert.equal(logged.filter((line) => /^error .*unavailable: connection refused/.test(line)).length, 1, "a failure here: a new incident, logged");
    answered(worker, store);
    assert.equal(ends().length, 2, "its end, in the same second: looked for at once");
  });
});
