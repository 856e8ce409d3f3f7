/**
 * Configuration: resty.session's options under their own snake_case names, the seed's defaults,
 * validation (ConfigError naming the option), init() layering and the Set-Cookie attribute rendering.
 * Expectations come from lua-resty-session 4.1.5's session.lua (session.init/session.new, FLAGS_BUFFER).
 */

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { isConfigError } from "../../src/core/errors";
import { resolveSettings, type Settings } from "../../src/core/settings";
import { type SessionOptions } from "../../src/core/options";
import { createMemoryStorage } from "../support/memory-storage";
import { createEnv, mint, setCookieLine, setCookieValue } from "../support/session-env";

const SECRET = "config-test-secret";

function sha256(text: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(text, "utf8").digest());
}

function settingsOf(options: SessionOptions): Settings {
  const env = createEnv();
  return resolveSettings(options, env.platform);
}

/** Runs `fn`, expects a ConfigError whose message matches every pattern. */
function assertConfigError(fn: () => unknown, ...patterns: RegExp[]): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown, "expected a ConfigError, nothing was thrown");
  assert.ok(thrown instanceof Error, "a ConfigError is an Error");
  assert.equal((thrown as Error).name, "ConfigError");
  assert.equal(isConfigError(thrown), true);
  for (const pattern of patterns) assert.match((thrown as Error).message, pattern);
}

/** Through the library surface (init + new), as an application would meet it. */
function viaNew(options: SessionOptions): () => unknown {
  return () => {
    const env = createEnv();
    return env.library.new(env.request(), options);
  };
}

describe("options accepted under resty.session's names", () => {
  /** The configuration fields session.lua documents (its `@field` list), with a valid value each. */
  const storage = createMemoryStorage();
  const everyOption: { [name: string]: unknown } = {
    secret: SECRET,
    secret_fallbacks: ["old-secret"],
    ikm: new Uint8Array(32).fill(7),
    ikm_fallbacks: [new Uint8Array(32).fill(8)],
    cookie_prefix: "__Secure-",
    cookie_name: "sess",
    cookie_path: "/app",
    cookie_domain: "example.com",
    cookie_http_only: true,
    cookie_secure: true,
    cookie_priority: "High",
    cookie_same_site: "Lax",
    cookie_same_party: true,
    cookie_partitioned: true,
    remember: true,
    remember_safety: "Low",
    remember_cookie_name: "persist",
    audience: "app",
    subject: "john",
    enforce_same_subject: true,
    stale_ttl: 11,
    idling_timeout: 901,
    rolling_timeout: 3601,
    absolute_timeout: 86401,
    remember_rolling_timeout: 604801,
    remember_absolute_timeout: 2592001,
    hash_storage_key: true,
    hash_subject: true,
    store_metadata: true,
    touch_threshold: 61,
    compression_threshold: 1025,
    bind: ["ip", "scheme", "user_agent"],
    request_headers: ["id", "audience", "subject", "timeout", "idling-timeout", "rolling-timeout", "absolute-timeout"],
    response_headers: ["id", "timeout"],
    storage: storage,
    dshm: { prefix: "sessions" },
    file: { path: "/tmp", suffix: "session" },
    memcached: { prefix: "sessions" },
    mysql: { database: "sessions" },
    postgres: { database: "sessions" },
    redis: { prefix: "sessions" },
    shm: { zone: "sessions" },
  };

  it("all of them together", () => {
    const settings = settingsOf(everyOption as SessionOptions);
    assert.deepEqual(settings.ikm, new Uint8Array(32).fill(7), "ikm wins over secret at the same layer");
    assert.deepEqual(settings.ikmFallbacks, [new Uint8Array(32).fill(8)], "ikm_fallbacks win over secret_fallbacks");
    assert.equal(settings.cookieName, "__Secure-sess");
    assert.equal(settings.rememberCookieName, "__Secure-persist");
    assert.equal(settings.remember, true);
    assert.equal(settings.rememberSafety, "Low");
    assert.equal(settings.rememberIterations, 1000);
    assert.equal(settings.audience, "app");
    assert.equal(settings.subject, "john");
    assert.equal(settings.enforceSameSubject, true);
    assert.equal(settings.staleTtl, 11);
    assert.equal(settings.idlingTimeout, 901);
    assert.equal(settings.rollingTimeout, 3601);
    assert.equal(settings.absoluteTimeout, 86401);
    assert.equal(settings.rememberRollingTimeout, 604801);
    assert.equal(settings.rememberAbsoluteTimeout, 2592001);
    assert.equal(settings.hashStorageKey, true);
    assert.equal(settings.hashSubject, true);
    assert.equal(settings.storeMetadata, true);
    assert.equal(settings.touchThreshold, 61);
    assert.equal(settings.compressionThreshold, 1025);
    assert.equal(settings.bindFlags, 0x0100 | 0x0200 | 0x0400);
    assert.deepEqual(settings.requestHeaders, everyOption.request_headers);
    assert.deepEqual(settings.responseHeaders, ["id", "timeout"]);
    assert.equal(settings.storage, storage);
    assert.equal(
      settings.cookieAttributes,
      "; Domain=example.com; Path=/app; SameSite=Lax; Priority=High; SameParty; Partitioned; Secure; HttpOnly",
    );
  });

  for (const name of Object.keys(everyOption)) {
    if (name === "secret") continue;
    it(`${name} on its own (with a secret)`, () => {
      const options: { [name: string]: unknown } = { secret: SECRET, [name]: everyOption[name] };
      assert.doesNotThrow(() => settingsOf(options as SessionOptions));
      assert.doesNotThrow(viaNew(options as SessionOptions));
    });
  }

  it("null and undefined values mean 'use the default'", () => {
    const settings = settingsOf({ secret: SECRET, cookie_name: undefined, idling_timeout: undefined, cookie_prefix: null, subject: null });
    assert.equal(settings.cookieName, "session");
    assert.equal(settings.idlingTimeout, 900);
    assert.equal(settings.subject, undefined);
  });

  it("remember_safety maps to the peer's PBKDF2 iteration counts", () => {
    const expected: Array<[NonNullable<SessionOptions["remember_safety"]>, number]> = [
      ["None", 0],
      ["Low", 1000],
      ["Medium", 10000],
      ["High", 100000],
      ["Very High", 1000000],
    ];
    for (const [safety, iterations] of expected) {
      assert.equal(settingsOf({ secret: SECRET, remember_safety: safety }).rememberIterations, iterations, safety);
    }
  });

  it('bind accepts "ip", "scheme", "user_agent" and "user-agent"', () => {
    assert.equal(settingsOf({ secret: SECRET, bind: ["ip"] }).bindFlags, 0x0100);
    assert.equal(settingsOf({ secret: SECRET, bind: ["scheme"] }).bindFlags, 0x0200);
    assert.equal(settingsOf({ secret: SECRET, bind: ["user_agent"] }).bindFlags, 0x0400);
    assert.equal(settingsOf({ secret: SECRET, bind: ["user-agent"] }).bindFlags, 0x0400);
    assert.equal(settingsOf({ secret: SECRET, bind: [] }).bindFlags, 0);
  });

  it('storage "cookie" and storage false both mean cookie storage', () => {
    assert.equal(settingsOf({ secret: SECRET, storage: "cookie" }).storage, null);
    assert.equal(settingsOf({ secret: SECRET, storage: false }).storage, null);
    assert.equal(settingsOf({ secret: SECRET }).storage, null);
  });
});

describe("defaults (session.init in session.lua)", () => {
  for (const [label, get] of [
    ["resolveSettings", () => settingsOf({ secret: SECRET })],
    [
      "library.new",
      () => {
        const env = createEnv();
        return env.library.new(env.request(), { secret: SECRET }).settings;
      },
    ],
    [
      "library.init then new()",
      () => {
        const env = createEnv();
        env.library.init({ secret: SECRET });
        return env.library.new(env.request()).settings;
      },
    ],
  ] as Array<[string, () => Settings]>) {
    it(`through ${label}`, () => {
      const s = get();
      assert.deepEqual(s.ikm, sha256(SECRET), "ikm = SHA-256(secret)");
      assert.deepEqual(s.ikmFallbacks, []);
      assert.equal(s.idlingTimeout, 900);
      assert.equal(s.rollingTimeout, 3600);
      assert.equal(s.absoluteTimeout, 86400);
      assert.equal(s.rememberRollingTimeout, 604800);
      assert.equal(s.rememberAbsoluteTimeout, 2592000);
      assert.equal(s.staleTtl, 10);
      assert.equal(s.touchThreshold, 60);
      assert.equal(s.compressionThreshold, 1024);
      assert.equal(s.cookieName, "session");
      assert.equal(s.rememberCookieName, "remember");
      assert.equal(s.audience, "default");
      assert.equal(s.subject, undefined);
      assert.equal(s.cookieAttributes, "; Path=/; SameSite=Lax; HttpOnly");
      assert.equal(s.remember, false);
      assert.equal(s.rememberSafety, "Medium");
      assert.equal(s.rememberIterations, 10000);
      assert.equal(s.enforceSameSubject, false);
      assert.equal(s.hashStorageKey, false);
      assert.equal(s.hashSubject, false);
      assert.equal(s.storeMetadata, false);
      assert.equal(s.bindFlags, 0);
      assert.deepEqual(s.requestHeaders, []);
      assert.deepEqual(s.responseHeaders, []);
      assert.equal(s.storage, null);
    });
  }

  it("the default attributes end up on the Set-Cookie line", async () => {
    const env = createEnv();
    const { exchange } = await mint(env, { secret: SECRET });
    const line = setCookieLine(exchange.responseCookies, "session")!;
    assert.equal(line, "session=" + setCookieValue(exchange.responseCookies, "session") + "; Path=/; SameSite=Lax; HttpOnly");
  });
});

describe("validation errors (ConfigError naming the option)", () => {
  it("unknown option", () => {
    assertConfigError(() => settingsOf({ secret: SECRET, idle_timeout: 5 } as unknown as SessionOptions), /idle_timeout/, /unknown option/);
    assertConfigError(viaNew({ secret: SECRET, cookieName: "x" } as unknown as SessionOptions), /cookieName/);
    const env = createEnv();
    assertConfigError(() => env.library.init({ secret: SECRET, secrets: ["a"] } as unknown as SessionOptions), /secrets/);
  });

  it("options that are not an object", () => {
    assertConfigError(viaNew("secret" as unknown as SessionOptions), /options/);
    assertConfigError(viaNew([SECRET] as unknown as SessionOptions), /options/);
  });

  it("ikm not exactly 32 bytes (string and Uint8Array)", () => {
    assertConfigError(viaNew({ ikm: "x".repeat(31) }), /ikm/, /32/);
    assertConfigError(viaNew({ ikm: "x".repeat(33) }), /ikm/, /32/);
    assertConfigError(viaNew({ ikm: new Uint8Array(31) }), /ikm/, /32/);
    assertConfigError(viaNew({ ikm: new Uint8Array(64) }), /ikm/, /32/);
    // 32 characters but 33 UTF-8 bytes: the size is of the bytes.
    assertConfigError(viaNew({ ikm: "é" + "x".repeat(31) }), /ikm/);
    assertConfigError(viaNew({ ikm: 12345 as unknown as string }), /ikm/);
    assert.doesNotThrow(viaNew({ ikm: "x".repeat(32) }));
    assert.doesNotThrow(viaNew({ ikm: new Uint8Array(randomBytes(32)) }));
  });

  it("ikm_fallbacks entry of the wrong size", () => {
    assertConfigError(viaNew({ secret: SECRET, ikm_fallbacks: [new Uint8Array(32), new Uint8Array(16)] }), /ikm_fallbacks/);
    assertConfigError(viaNew({ secret: SECRET, ikm_fallbacks: ["short"] }), /ikm_fallbacks/);
    assertConfigError(viaNew({ secret: SECRET, ikm_fallbacks: "x".repeat(32) as unknown as string[] }), /ikm_fallbacks/);
  });

  it("secret_fallbacks must be strings", () => {
    assertConfigError(viaNew({ secret: SECRET, secret_fallbacks: [1 as unknown as string] }), /secret_fallbacks/);
    assertConfigError(viaNew({ secret: SECRET, secret_fallbacks: "old" as unknown as string[] }), /secret_fallbacks/);
  });

  it("missing secret and ikm", () => {
    assertConfigError(viaNew({}), /secret/);
    assertConfigError(viaNew({ audience: "app" }), /secret/);
    assertConfigError(viaNew({ secret: "" }), /secret/);
    const env = createEnv();
    assertConfigError(() => env.library.new(env.request()), /secret/);
  });

  it("__Host- refuses a Domain, a path other than / and cookie_secure false", () => {
    assertConfigError(viaNew({ secret: SECRET, cookie_prefix: "__Host-", cookie_domain: "example.com" }), /__Host-/, /cookie_domain/);
    assertConfigError(viaNew({ secret: SECRET, cookie_prefix: "__Host-", cookie_path: "/app" }), /__Host-/, /cookie_path/);
    assertConfigError(viaNew({ secret: SECRET, cookie_prefix: "__Host-", cookie_secure: false }), /__Host-/, /cookie_secure/);
  });

  it("__Secure- refuses cookie_secure false", () => {
    assertConfigError(viaNew({ secret: SECRET, cookie_prefix: "__Secure-", cookie_secure: false }), /__Secure-/, /cookie_secure/);
  });

  it("an unknown cookie_prefix", () => {
    assertConfigError(viaNew({ secret: SECRET, cookie_prefix: "__host-" as "__Host-" }), /cookie_prefix/);
    assertConfigError(viaNew({ secret: SECRET, cookie_prefix: "X-" as "__Host-" }), /cookie_prefix/);
  });

  it("SameSite None with cookie_secure false is refused (browsers drop it)", () => {
    assertConfigError(viaNew({ secret: SECRET, cookie_same_site: "None", cookie_secure: false }), /cookie_same_site|None/, /cookie_secure/);
  });

  it("SameParty with SameSite Strict is refused (the peer asserts the same)", () => {
    assertConfigError(viaNew({ secret: SECRET, cookie_same_party: true, cookie_same_site: "Strict" }), /SameParty/, /Strict/);
  });

  it("bad value sets: same site, priority, remember_safety, bind, request/response headers", () => {
    assertConfigError(viaNew({ secret: SECRET, cookie_same_site: "lax" as "Lax" }), /cookie_same_site/);
    assertConfigError(viaNew({ secret: SECRET, cookie_priority: "Urgent" as "High" }), /cookie_priority/);
    assertConfigError(viaNew({ secret: SECRET, remember_safety: "Extreme" as "High" }), /remember_safety/);
    assertConfigError(viaNew({ secret: SECRET, remember_safety: "very high" as "High" }), /remember_safety/);
    assertConfigError(viaNew({ secret: SECRET, bind: ["ip", "cookie" as "ip"] }), /bind/);
    assertConfigError(viaNew({ secret: SECRET, bind: "ip" as unknown as ["ip"] }), /bind/);
    assertConfigError(viaNew({ secret: SECRET, request_headers: ["id", "Session-Id"] }), /request_headers/);
    assertConfigError(viaNew({ secret: SECRET, request_headers: ["data"] }), /request_headers/);
    assertConfigError(viaNew({ secret: SECRET, response_headers: ["nonce"] }), /response_headers/);
  });

  for (const name of [
    "stale_ttl",
    "idling_timeout",
    "rolling_timeout",
    "absolute_timeout",
    "remember_rolling_timeout",
    "remember_absolute_timeout",
    "touch_threshold",
    "compression_threshold",
  ]) {
    it(`${name}: negative, fractional, string, NaN and Infinity are refused; 0 is accepted`, () => {
      for (const bad of [-1, 1.5, "900", NaN, Infinity, true]) {
        assertConfigError(viaNew({ secret: SECRET, [name]: bad } as SessionOptions), new RegExp(name));
      }
      assert.doesNotThrow(viaNew({ secret: SECRET, [name]: 0 } as SessionOptions));
    });
  }

  for (const name of [
    "cookie_http_only",
    "cookie_secure",
    "cookie_same_party",
    "cookie_partitioned",
    "remember",
    "enforce_same_subject",
    "hash_storage_key",
    "hash_subject",
    "store_metadata",
  ]) {
    it(`${name} must be a boolean`, () => {
      assertConfigError(viaNew({ secret: SECRET, [name]: "true" } as SessionOptions), new RegExp(name));
      assertConfigError(viaNew({ secret: SECRET, [name]: 1 } as SessionOptions), new RegExp(name));
    });
  }

  it("cookie names must be cookie tokens", () => {
    for (const bad of ["my session", "a;b", "a=b", "", "sess\u00e9", "a,b", 'a"b', "tab\there"]) {
      assertConfigError(viaNew({ secret: SECRET, cookie_name: bad }), /cookie_name/);
      assertConfigError(viaNew({ secret: SECRET, remember_cookie_name: bad }), /remember_cookie_name/);
    }
    assert.doesNotThrow(viaNew({ secret: SECRET, cookie_name: "my-session_1.x" }));
  });

  it("cookie_name and remember_cookie_name must differ", () => {
    assertConfigError(viaNew({ secret: SECRET, cookie_name: "s", remember_cookie_name: "s" }), /cookie_name/);
  });

  it("cookie_path and cookie_domain shape", () => {
    assertConfigError(viaNew({ secret: SECRET, cookie_path: "app" }), /cookie_path/);
    assertConfigError(viaNew({ secret: SECRET, cookie_path: "/a;b" }), /cookie_path/);
    assertConfigError(viaNew({ secret: SECRET, cookie_domain: "example.com; Secure" }), /cookie_domain/);
  });

  it("unknown storage name, or a storage this build does not ship", () => {
    assertConfigError(viaNew({ secret: SECRET, storage: "no-such-storage" }), /storage/, /no-such-storage/);
    assertConfigError(viaNew({ secret: SECRET, storage: "redis" }), /storage/, /redis/);
    assertConfigError(viaNew({ secret: SECRET, storage: 42 as unknown as string }), /storage/);
  });

  it("a custom storage object lacking a method", () => {
    const noop = () => undefined;
    assertConfigError(viaNew({ secret: SECRET, storage: { set: noop, get: noop } as never }), /storage/, /delete/);
    assertConfigError(viaNew({ secret: SECRET, storage: { get: noop, delete: noop } as never }), /storage/, /set/);
    assertConfigError(viaNew({ secret: SECRET, storage: { set: noop, delete: noop, get: "x" } as never }), /storage/, /get/);
  });

  it("storage option tables must be objects", () => {
    assertConfigError(viaNew({ secret: SECRET, shm: "sessions" as unknown as { [k: string]: unknown } }), /shm/);
  });

  it("open/start/logout/destroy reject with the ConfigError instead of returning a result", async () => {
    const env = createEnv();
    for (const call of [env.library.open, env.library.start, env.library.logout, env.library.destroy]) {
      await assert.rejects(call(env.request(), { secret: SECRET, idling_timeout: -5 }), (e: Error) => {
        assert.equal(e.name, "ConfigError");
        assert.match(e.message, /idling_timeout/);
        return true;
      });
    }
  });
});

describe("cookie prefixes and forced Secure", () => {
  it("__Host- forces Secure and Path=/ and renames both cookies", async () => {
    const s = settingsOf({ secret: SECRET, cookie_prefix: "__Host-" });
    assert.equal(s.cookieName, "__Host-session");
    assert.equal(s.rememberCookieName, "__Host-remember");
    assert.equal(s.cookieAttributes, "; Path=/; SameSite=Lax; Secure; HttpOnly");
    assert.equal(settingsOf({ secret: SECRET, cookie_prefix: "__Host-", cookie_path: "/" }).cookieAttributes, "; Path=/; SameSite=Lax; Secure; HttpOnly");

    const env = createEnv();
    const options: SessionOptions = { secret: SECRET, cookie_prefix: "__Host-", remember: true, remember_safety: "None" };
    const { cookie, exchange } = await mint(env, options, { a: 1 });
    assert.ok(setCookieLine(exchange.responseCookies, "__Host-session")!.endsWith("; Path=/; SameSite=Lax; Secure; HttpOnly"));
    assert.ok(setCookieLine(exchange.responseCookies, "__Host-remember"));
    assert.equal(setCookieLine(exchange.responseCookies, "session"), undefined);
    const opened = await env.library.open(env.request(cookie), options);
    assert.equal(opened.exists, true);
    assert.deepEqual(opened.session.getData(), { a: 1 });
  });

  it("__Secure- forces Secure, keeps path and domain, renames both cookies", () => {
    const s = settingsOf({ secret: SECRET, cookie_prefix: "__Secure-", cookie_path: "/app", cookie_domain: "example.com" });
    assert.equal(s.cookieName, "__Secure-session");
    assert.equal(s.rememberCookieName, "__Secure-remember");
    assert.equal(s.cookieAttributes, "; Domain=example.com; Path=/app; SameSite=Lax; Secure; HttpOnly");
  });

  it("SameSite None forces Secure", () => {
    assert.equal(settingsOf({ secret: SECRET, cookie_same_site: "None" }).cookieAttributes, "; Path=/; SameSite=None; Secure; HttpOnly");
  });

  it("SameParty forces Secure", () => {
    assert.equal(settingsOf({ secret: SECRET, cookie_same_party: true }).cookieAttributes, "; Path=/; SameSite=Lax; SameParty; Secure; HttpOnly");
  });

  it("without prefix, SameSite None or SameParty, Secure is only there when asked for", () => {
    assert.equal(settingsOf({ secret: SECRET }).cookieAttributes, "; Path=/; SameSite=Lax; HttpOnly");
    assert.equal(settingsOf({ secret: SECRET, cookie_secure: true }).cookieAttributes, "; Path=/; SameSite=Lax; Secure; HttpOnly");
    assert.equal(settingsOf({ secret: SECRET, cookie_secure: false }).cookieAttributes, "; Path=/; SameSite=Lax; HttpOnly");
  });
});

describe("attribute rendering", () => {
  /** The order session.lua's FLAGS_BUFFER puts the attributes in (session.new). */
  const PEER_ORDER = ["Domain", "Path", "SameSite", "Priority", "SameParty", "Partitioned", "Secure", "HttpOnly"];

  it("all attributes, in the peer's order: Domain, Path, SameSite, Priority, SameParty, Partitioned, Secure, HttpOnly", () => {
    const s = settingsOf({
      secret: SECRET,
      cookie_http_only: true,
      cookie_secure: true,
      cookie_partitioned: true,
      cookie_same_party: true,
      cookie_priority: "Medium",
      cookie_same_site: "None",
      cookie_path: "/a/b",
      cookie_domain: "sub.example.com",
    });
    assert.equal(s.cookieAttributes, "; Domain=sub.example.com; Path=/a/b; SameSite=None; Priority=Medium; SameParty; Partitioned; Secure; HttpOnly");
    const names = s.cookieAttributes.split("; ").slice(1).map((part) => part.split("=")[0]);
    assert.deepEqual(names, PEER_ORDER);
  });

  it("Domain localhost (and an empty domain) is left out, as the peer does", () => {
    assert.equal(settingsOf({ secret: SECRET, cookie_domain: "localhost" }).cookieAttributes, "; Path=/; SameSite=Lax; HttpOnly");
    assert.equal(settingsOf({ secret: SECRET, cookie_domain: "" }).cookieAttributes, "; Path=/; SameSite=Lax; HttpOnly");
  });

  it("cookie_http_only false drops HttpOnly; priority and partitioned are rendered alone", () => {
    assert.equal(settingsOf({ secret: SECRET, cookie_http_only: false }).cookieAttributes, "; Path=/; SameSite=Lax");
    assert.equal(settingsOf({ secret: SECRET, cookie_priority: "Low" }).cookieAttributes, "; Path=/; SameSite=Lax; Priority=Low; HttpOnly");
    assert.equal(
      settingsOf({ secret: SECRET, cookie_partitioned: true, cookie_secure: true }).cookieAttributes,
      "; Path=/; SameSite=Lax; Partitioned; Secure; HttpOnly",
    );
    assert.equal(settingsOf({ secret: SECRET, cookie_same_site: "Strict" }).cookieAttributes, "; Path=/; SameSite=Strict; HttpOnly");
    assert.equal(settingsOf({ secret: SECRET, cookie_same_site: "Default" }).cookieAttributes, "; Path=/; SameSite=Default; HttpOnly");
  });

  it("expired cookies carry the same attributes", async () => {
    const env = createEnv();
    const options: SessionOptions = { secret: SECRET, cookie_domain: "example.com", cookie_path: "/x", cookie_priority: "High" };
    const { cookie } = await mint(env, options);
    const exchange = env.request(cookie);
    const destroyed = await env.library.destroy(exchange, options);
    assert.equal(destroyed.destroyed, true);
    assert.equal(
      setCookieLine(exchange.responseCookies, "session"),
      "session=; Domain=example.com; Path=/x; SameSite=Lax; Priority=High; HttpOnly; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0",
    );
  });
});

describe("init() layering", () => {
  it("init({secret}) then new(exchange, {audience}) keeps init's secret", async () => {
    const env = createEnv();
    env.library.init({ secret: SECRET });
    const session = env.library.new(env.request(), { audience: "x" });
    assert.deepEqual(session.settings.ikm, sha256(SECRET));
    assert.equal(session.settings.audience, "x");

    // And it round-trips with an unrelated library configured with the same secret.
    const { cookie } = await mint(env, { audience: "x" }, { a: 1 });
    const other = createEnv();
    const opened = await other.library.open(other.request(cookie), { secret: SECRET, audience: "x" });
    assert.equal(opened.exists, true);
    assert.deepEqual(opened.session.getData(), { a: 1 });
  });

  it("init options are the defaults for every call; per-call options override them", () => {
    const env = createEnv();
    env.library.init({ secret: SECRET, cookie_name: "sid", idling_timeout: 60 });
    const s = env.library.new(env.request(), { idling_timeout: 30 }).settings;
    assert.equal(s.cookieName, "sid");
    assert.equal(s.idlingTimeout, 30);
    assert.equal(env.library.new(env.request()).settings.idlingTimeout, 60);
  });

  it("a secret in the overrides replaces an ikm from init (resty.session's precedence)", async () => {
    const ikm = new Uint8Array(randomBytes(32));
    const env = createEnv();
    env.library.init({ ikm });
    assert.deepEqual(env.library.new(env.request()).settings.ikm, ikm);
    assert.deepEqual(env.library.new(env.request(), { secret: "override" }).settings.ikm, sha256("override"));

    const { cookie } = await mint(env, { secret: "override" });
    const withSecret = await createEnv().library.open(createEnv().request(cookie), { secret: "override" });
    assert.equal(withSecret.exists, true);
    const withIkm = await createEnv().library.open(createEnv().request(cookie), { ikm });
    assert.equal(withIkm.exists, false);
    assert.equal(withIkm.error, "invalid session message authentication code");
  });

  it("an ikm in the overrides wins over init's secret", () => {
    const ikm = new Uint8Array(randomBytes(32));
    const env = createEnv();
    env.library.init({ secret: SECRET });
    assert.deepEqual(env.library.new(env.request(), { ikm }).settings.ikm, ikm);
  });

  it("secret_fallbacks in the overrides replace ikm_fallbacks from init", () => {
    const env = createEnv();
    env.library.init({ secret: SECRET, ikm_fallbacks: [new Uint8Array(32).fill(1)] });
    assert.deepEqual(env.library.new(env.request()).settings.ikmFallbacks, [new Uint8Array(32).fill(1)]);
    assert.deepEqual(env.library.new(env.request(), { secret_fallbacks: ["old"] }).settings.ikmFallbacks, [sha256("old")]);
  });

  it("init validates at once, and a refused init leaves the previous configuration in place", () => {
    const env = createEnv();
    env.library.init({ secret: SECRET, audience: "first" });
    assertConfigError(() => env.library.init({ idling_timeout: -1 }), /idling_timeout/);
    assertConfigError(() => env.library.init({ bogus: 1 } as unknown as SessionOptions), /bogus/);
    const s = env.library.new(env.request()).settings;
    assert.equal(s.audience, "first");
    assert.equal(s.idlingTimeout, 900);
  });

  it("init without a secret is refused at init time", () => {
    const env = createEnv();
    assertConfigError(() => env.library.init({ audience: "x" }), /secret/);
  });

  it("a later init layers over an earlier one", () => {
    const env = createEnv();
    env.library.init({ secret: SECRET });
    env.library.init({ audience: "second" });
    const s = env.library.new(env.request()).settings;
    assert.deepEqual(s.ikm, sha256(SECRET));
    assert.equal(s.audience, "second");
  });
});
