/**
 * The command-line tool as users run it: the built dist/cli.js as a subprocess (test/support/cli.ts).
 * Expected values come from facts independent of the CLI: clock arithmetic on a fixed --now, the
 * documented default timeouts (README: 900 / 3600 / 86400 s), cookies sealed by the real
 * lua-resty-session (test/vectors/), and the step-by-step node:crypto reference
 * (test/support/reference-crypto.ts). The admin API client and nginx's acceptance of minted cookies
 * are tested against a real nginx in test/cli/nginx.test.ts.
 */

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readConfigurationFile } from "../../src/nginx/configuration";
import { createSessionLibrary } from "../../src/core/api";
import { createNodePlatform } from "../../src/platform/node";
import { cookieHeaderFromSetCookies, createMemoryExchange } from "../../src/core/memory-exchange";
import { errorText } from "../../src/core/errors";
import { registerBuiltinStorages } from "../../src/storage/index";
import { EXIT } from "../../src/cli/failure";
import { buildCli, REPO, runCli, runCliAsync, runCliJson } from "../support/cli";
import { fromB64u, refIkm, refMac, refMacInput, refOpen, refSeal, refSplitCookie, REF_FLAG_STORAGE } from "../support/reference-crypto";
import { loadVectors, Vector, VectorConfig, VectorOpen, vectorCookieHeader } from "../support/vectors";

/** A fixed "now": 2027-01-15T08:00:00Z. */
const T0 = 1_800_000_000;
const SECRET = "cli-test-secret-5f0c2a9d";
const OTHER_SECRET = "cli-test-other-secret-77b1";

let dir: string;
let secretFile: string;

before(() => {
  buildCli();
  dir = mkdtempSync(join(tmpdir(), "njs-session-cli-"));
  secretFile = join(dir, "secret");
  writeFileSync(secretFile, SECRET + "\n");
});

after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

/** Mints with the secret file as of `now`; returns the Cookie header. */
function mint(args: string[], now = T0): string {
  const result = runCli(["mint", "--secret-file", secretFile, "--now", String(now), ...args]);
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim();
}

function assertOneLineError(stderr: string, pattern: RegExp): void {
  assert.match(stderr, pattern);
  assert.equal(stderr.trim().split("\n").length, 1, "one line: " + stderr);
  assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
}

describe("njs-session (no arguments, --help)", () => {
  it("lists the commands and the exit statuses; usage status without a command", () => {
    const result = runCli([]);
    assert.equal(result.status, 2);
    for (const name of ["keygen", "inspect", "mint", "check-config", "sessions list", "sessions revoke"]) assert.match(result.stdout, new RegExp("\\n  " + name + " "));
    assert.match(result.stdout, /5 expired/);
    assert.equal(runCli(["--help"]).status, 0);
  });

  it("every exit status of failure.ts is distinct, in the overview and in docs/cli.md's table", () => {
    const statuses = Object.values(EXIT) as number[];
    assert.equal(new Set(statuses).size, statuses.length, "distinct");
    const overview = runCli([]).stdout.replace(/\s+/g, " ");
    const table = readFileSync(join(REPO, "docs", "cli.md"), "utf8");
    for (const status of statuses) {
      if (status > 0) assert.match(overview, new RegExp("[ ,:]" + status + " [a-z]"), "overview: " + status);
      assert.match(table, new RegExp("\\n\\| " + status + " \\| "), "docs/cli.md: " + status);
    }
  });

  for (const command of [["keygen"], ["inspect"], ["mint"], ["check-config"], ["sessions", "list"], ["sessions", "revoke"], ["sessions"]]) {
    it(command.join(" ") + " --help: its usage, status 0", () => {
      const result = runCli([...command, "--help"]);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, new RegExp("^usage: njs-session " + command.join(" ")));
    });
  }

  it("an unknown command or option: status 2, one line naming it, never the value", () => {
    assertOneLineError(runCli(["frobnicate"]).stderr, /unknown command "frobnicate"/);
    const result = runCli(["inspect", "--secert=" + SECRET, "x"]);
    assert.equal(result.status, 2);
    assertOneLineError(result.stderr, /unknown option --secert/);
    assert.ok(!result.stderr.includes(SECRET));
  });
});

describe("njs-session keygen", () => {
  it("a secret of 48 random bytes; --ikm 32; --json a fragment of session.json", () => {
    assert.equal(Buffer.from(runCli(["keygen"]).stdout.trim(), "base64").length, 48);
    assert.equal(Buffer.from(runCli(["keygen", "--ikm"]).stdout.trim(), "base64").length, 32);
    const json = runCliJson(["keygen", "--ikm"]).json;
    assert.deepEqual(Object.keys(json), ["ikm"]);
    assert.equal(Buffer.from(json.ikm, "base64").length, 32);
  });

  it("--out writes a file of mode 0600, never over an existing one", () => {
    const out = join(dir, "new.secret");
    const written = runCli(["keygen", "--out", out]);
    assert.equal(written.status, 0, written.stderr);
    assert.equal(written.stdout, "", "the secret is not printed");
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const key = readFileSync(out, "utf8");
    assert.match(key, /^[A-Za-z0-9+/]{64}\n$/);
    const again = runCli(["keygen", "--out", out]);
    assert.equal(again.status, 7);
    assertOneLineError(again.stderr, /never overwrites/);
    assert.equal(readFileSync(out, "utf8"), key);
  });

  it("the key it makes is one the configuration takes (check-config)", () => {
    const ikm = runCliJson(["keygen", "--ikm"]).json.ikm;
    assert.equal(runCli(["check-config", file("ikm.json", JSON.stringify({ ikm: ikm }))]).status, 0);
  });
});

describe("njs-session mint, then inspect: times from arithmetic", () => {
  it("a session as of --now: each timeout ends at now + the default timeout", () => {
    const cookie = mint(["--subject", "alice", "--data", '{"role":"admin"}']);
    assert.match(cookie, /^session=[A-Za-z0-9_-]{110,}$/);
    const { status, json } = runCliJson(["inspect", cookie, "--secret-file", secretFile, "--now", String(T0 + 300)]);
    assert.equal(status, 0);
    assert.equal(json.header.creation_time, T0);
    assert.equal(json.header.rolling_offset, 0);
    assert.equal(json.header.idling_offset, 0);
    assert.deepEqual(json.valid_until, { idling: T0 + 900, rolling: T0 + 3600, absolute: T0 + 86400, session: T0 + 900 });
    assert.equal(json.status, "valid");
    assert.equal(json.verified, true);
    assert.equal(json.key.name, "current");
    assert.deepEqual(json.entries, [{ audience: "default", subject: "alice", data: { role: "admin" } }]);
  });

  it("the minted cookie opens with the independent reference (format, MAC, AES-GCM)", () => {
    const cookie = mint(["--subject", "alice", "--data", '{"n":1}']);
    const split = refSplitCookie(cookie.substring("session=".length));
    assert.equal(split.header.creationTime, T0);
    assert.deepEqual(JSON.parse(refOpen(refIkm(SECRET), split.header, split.payloadText)), [[{ n: 1 }, "default", "alice"]]);
  });

  it("human output: UTC times and relative ones, as arithmetic says", () => {
    const cookie = mint(["--subject", "alice"]);
    const result = runCli(["inspect", cookie, "--secret-file", secretFile, "--now", String(T0 + 3 * 3600 - 1800)]);
    assert.equal(result.status, 5, "idle for 2.5 h: expired");
    assert.match(result.stdout, new RegExp("created: +" + iso(T0) + " \\(2 h ago\\)"));
    assert.match(result.stdout, new RegExp("idling timeout: +900 s, until " + iso(T0 + 900) + " \\(2 h ago\\)"));
    assert.match(result.stdout, new RegExp("absolute timeout: +86400 s, until " + iso(T0 + 86400) + " \\(in 21 h\\)"));
    // checks.ts looks at the absolute, then the rolling, then the idling timeout: the first one passed is named.
    assert.match(result.stdout, /status: +EXPIRED: session rolling timeout exceeded/);
    const fresh = runCli(["inspect", cookie, "--now", String(T0 + 120)]);
    assert.equal(fresh.status, 0);
    assert.match(fresh.stdout, new RegExp("status: +valid until " + iso(T0 + 900) + " \\(in 13 min\\)"));
  });

  it("valid through the last second of the idling timeout, expired one second later (status 5), still readable", () => {
    const cookie = mint(["--subject", "alice", "--data", '{"k":"v"}']);
    assert.equal(runCli(["inspect", cookie, "--secret-file", secretFile, "--now", String(T0 + 900)]).status, 0);
    const { status, json } = runCliJson(["inspect", cookie, "--secret-file", secretFile, "--now", String(T0 + 901)]);
    assert.equal(status, 5);
    assert.equal(json.reason, "session idling timeout exceeded");
    assert.equal(json.verified, true, "opened as of its last use");
    assert.deepEqual(json.entries[0].data, { k: "v" });
  });

  it("--now as ISO 8601; timeouts from --config; --remember adds the remember cookie", () => {
    const config = file("timeouts.json", JSON.stringify({ secret: SECRET, idling_timeout: 60, rolling_timeout: 600, absolute_timeout: 7200, remember_safety: "Low", audience: "app" }));
    const minted = runCliJson(["mint", "--config", config, "--now", iso(T0), "--subject", "bob", "--remember"]);
    assert.equal(minted.status, 0);
    assert.equal(minted.json.now, T0);
    assert.equal(minted.json.valid_until, T0 + 60);
    assert.equal(minted.json.set_cookie.length, 2);
    assert.match(minted.json.cookie_header, /^session=[^;]+; remember=[^;]+$/);
    const session = runCliJson(["inspect", minted.json.cookie_header, "--config", config, "--now", String(T0 + 30)]).json;
    assert.deepEqual(session.valid_until, { idling: T0 + 60, rolling: T0 + 600, absolute: T0 + 7200, session: T0 + 60 });
    const remember = runCliJson(["inspect", minted.json.cookie_header, "--name", "remember", "--config", config, "--now", String(T0 + 30)]).json;
    assert.equal(remember.remember, true);
    // The remember cookie's own timeouts: the defaults 604800 / 2592000 s.
    assert.deepEqual(remember.valid_until, { idling: null, rolling: T0 + 604800, absolute: T0 + 2592000, session: T0 + 604800 });
    assert.equal(remember.verified, true);
    assert.equal(remember.entries[0].subject, "bob");
  });

  it("the key from NJS_SESSION_SECRET, or --secret", () => {
    const cookie = mint(["--subject", "carol"]);
    assert.equal(runCliJson(["inspect", cookie, "--now", String(T0)], { env: { NJS_SESSION_SECRET: SECRET } }).json.verified, true);
    assert.equal(runCliJson(["inspect", cookie, "--now", String(T0), "--secret", SECRET]).json.verified, true);
  });

  it("bound sessions: mint and inspect need the request's values (status 2 without them)", () => {
    const config = file("bind.json", JSON.stringify({ secret: SECRET, bind: ["ip", "user_agent"] }));
    assert.equal(runCli(["mint", "--config", config, "--now", String(T0)]).status, 2);
    const cookie = runCli(["mint", "--config", config, "--now", String(T0), "--ip", "192.0.2.1", "--user-agent", "curl/8"]).stdout.trim();
    const missing = runCli(["inspect", cookie, "--config", config, "--now", String(T0)]);
    assert.equal(missing.status, 4, "cannot be verified without them");
    assert.match(missing.stdout, /bound to .*: pass --ip, --user-agent/);
    assert.equal(runCli(["inspect", cookie, "--config", config, "--now", String(T0), "--ip", "192.0.2.1", "--user-agent", "curl/8"]).status, 0);
    assert.equal(runCli(["inspect", cookie, "--config", config, "--now", String(T0), "--ip", "192.0.2.2", "--user-agent", "curl/8"]).status, 4);
  });
});

describe("njs-session inspect: server-side sessions", () => {
  /** A session saved by the core itself into file storage under `path`; its Cookie header. */
  async function fileSession(path: string): Promise<string> {
    registerBuiltinStorages();
    const library = createSessionLibrary(createNodePlatform({ now: () => T0, log: () => {} }));
    const exchange = createMemoryExchange({});
    const session = library.new(exchange, { secret: SECRET, storage: "file", file: { path: path } });
    session.setSubject("frank");
    session.setData({ a: 1 });
    assert.ok((await session.save()).ok);
    return cookieHeaderFromSetCookies(exchange.responseCookies);
  }

  it("file storage on this host: read from its directory with --config; with shm configured: the header only", async () => {
    const path = join(dir, "files");
    mkdirSync(path);
    const cookie = await fileSession(path);
    const withFiles = file("files.json", JSON.stringify({ secret: SECRET, storage: "file", file: { path: path } }));
    const opened = runCliJson(["inspect", cookie, "--config", withFiles, "--now", String(T0)]);
    assert.equal(opened.status, 0);
    assert.deepEqual(opened.json.header.flag_names, ["server-side storage"]);
    assert.deepEqual(opened.json.entries, [{ audience: "default", subject: "frank", data: { a: 1 } }]);
    const withShm = file("shm-inspect.json", JSON.stringify({ secret: SECRET, storage: "shm" }));
    const headerOnly = runCliJson(["inspect", cookie, "--config", withShm, "--now", String(T0)]);
    assert.equal(headerOnly.status, 0);
    assert.equal(headerOnly.json.verified, null);
    assert.match(headerOnly.json.note, /server-side session/);
  });
});

describe("njs-session inspect: input forms", () => {
  it("the value alone, name=value, a Cookie header, a Set-Cookie line, standard input: the same cookie", () => {
    const cookie = mint(["--subject", "dave"]);
    const value = cookie.substring("session=".length);
    const ids = [
      [value],
      [cookie],
      ["Cookie: theme=dark; " + cookie + "; other=1"],
      ["Set-Cookie: " + cookie + "; Path=/; HttpOnly"],
    ].map((args) => runCliJson(["inspect", ...args, "--now", String(T0)]).json.header.id);
    ids.push(runCliJson(["inspect", "-", "--now", String(T0)], { input: cookie + "\n" }).json.header.id);
    assert.equal(new Set(ids).size, 1, ids.join(" "));
  });

  it("a header without the session cookie: status 2, naming the cookies found", () => {
    const result = runCli(["inspect", "a=1; b=2"]);
    assert.equal(result.status, 2);
    assertOneLineError(result.stderr, /no cookie named session in COOKIE \(found "a", "b"\): pass --name/);
  });
});

describe("njs-session inspect: refusals", () => {
  it("a malformed cookie: status 3, one line", () => {
    for (const input of ["garbage", "session=" + "A".repeat(120), "session=" + "!".repeat(110)]) {
      const result = runCli(["inspect", input]);
      assert.equal(result.status, 3, input);
      assertOneLineError(result.stderr, /^njs-session: not a session cookie: /);
    }
  });

  it("a wrong key: status 4, and neither key is ever printed", () => {
    const cookie = mint(["--subject", "erin"]);
    for (const json of [false, true]) {
      const result = runCli(["inspect", cookie, "--secret", OTHER_SECRET, "--now", String(T0)].concat(json ? ["--json"] : []));
      assert.equal(result.status, 4);
      assert.match(result.stdout, /invalid session message authentication code/);
      for (const secret of [SECRET, OTHER_SECRET]) assert.ok(!(result.stdout + result.stderr).includes(secret));
    }
  });

  it("an altered cookie: status 4", () => {
    const cookie = mint(["--subject", "erin", "--data", '{"a":"b"}']);
    // The second-to-last character changed (to B where it is A): a ciphertext byte, not padding bits.
    const at = cookie.length - 2;
    const altered = cookie.substring(0, at) + (cookie.charAt(at) === "A" ? "B" : "A") + cookie.substring(at + 1);
    assert.notEqual(altered, cookie);
    const { status, json } = runCliJson(["inspect", altered, "--secret-file", secretFile, "--now", String(T0)]);
    assert.equal(status, 4);
    assert.equal(json.verified, false);
    assert.match(json.verification_error, /^unable to decrypt session data/);
  });

  it("an unreadable secret file or configuration: status 7, naming the file and why", () => {
    const cookie = mint([]);
    for (const [option, path, reason] of [
      ["--secret-file", join(dir, "missing"), "no such file"],
      ["--secret-file", dir, "it is a directory"],
      ["--config", join(dir, "missing.json"), "no such file"],
    ]) {
      const result = runCli(["inspect", cookie, option, path]);
      assert.equal(result.status, 7, path);
      assertOneLineError(result.stderr, new RegExp("cannot read the .* " + path.replace(/[/.]/g, "\\$&") + ": " + reason));
    }
  });

  it("hostile data from a cookie reaches the terminal escaped: no control or bidi character raw", () => {
    // Sealed by the reference, as another implementation could: data no terminal should obey.
    const hostile = { note: "\u001b[2J\u001b]0;pwned\u0007", name: "\u202eevil", del: "\u007f\u009b" };
    const value = refSeal(refIkm(SECRET), Buffer.from(JSON.stringify([[hostile, "default", "mallory"]])), { creationTime: T0 });
    const result = runCli(["inspect", value, "--secret-file", secretFile, "--now", String(T0)]);
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    assert.match(result.stdout, /\\u001b\[2J/);
    assert.match(result.stdout, /\\u\{202e\}evil/);
    const json = runCli(["inspect", value, "--secret-file", secretFile, "--now", String(T0), "--json"]).stdout;
    assert.doesNotMatch(json, /[^\x20-\x7e\n]/, "--json is ASCII");
    assert.deepEqual(JSON.parse(json).entries[0].data, hostile, "and decodes to the very data");
  });
});

describe("njs-session inspect: lua-resty-session's own cookies (test/vectors)", () => {
  const vectors = loadVectors();

  /** A vector's configuration as session.json: key material as base64url text, as configuration.ts reads it. */
  function configFile(name: string, config: VectorConfig): string {
    const table: { [name: string]: unknown } = {};
    for (const key of Object.keys(config)) {
      if (key === "ikm_b64url") table.ikm = config[key];
      else if (key === "ikm_fallbacks_b64url") table.ikm_fallbacks = config[key];
      else table[key] = config[key];
    }
    return file(name + ".json", JSON.stringify(table));
  }

  /** The keys in configuration order, as the reference derives them. */
  function referenceKeys(config: VectorConfig): Buffer[] {
    const current = config.ikm_b64url ? fromB64u(config.ikm_b64url) : refIkm(config.secret as string);
    const fallbacks = config.ikm_fallbacks_b64url
      ? config.ikm_fallbacks_b64url.map(fromB64u)
      : ((config.secret_fallbacks as string[] | undefined) || []).map(refIkm);
    return [current].concat(fallbacks);
  }

  function inspectVector(vector: Vector, open: VectorOpen, index: number) {
    const config = configFile(vector.id + "-" + index, open.config);
    const now = open.now === undefined ? vector.created_at : open.now;
    return runCliJson(["inspect", vectorCookieHeader(vector, open), "--config", config, "--now", String(now)]);
  }

  for (const vector of vectors.filter((v) => v.kind === "positive")) {
    vector.opens.forEach((open, index) => {
      if (open.expect !== "accept") return;
      it(vector.id + " (open " + (index + 1) + "): the header as the reference reads it, the data as the peer gave it, the key the MAC says", () => {
        const { status, json } = inspectVector(vector, open, index);
        const names = open.use_cookies || Object.keys(vector.cookies);
        const split = refSplitCookie(vector.cookies[json.cookie]);
        assert.ok(names.includes(json.cookie));
        assert.equal(json.header.flags, split.header.flags);
        assert.equal(json.header.creation_time, split.header.creationTime);
        assert.equal(json.header.rolling_offset, split.header.rollingOffset);
        assert.equal(json.header.idling_offset, split.header.idlingOffset);
        assert.equal(json.header.data_size, split.header.dataSize);
        if (split.header.flags & REF_FLAG_STORAGE) {
          assert.equal(json.verified, null, "server-side: the data is in the store");
          return;
        }
        assert.equal(status, 0, JSON.stringify(json));
        assert.equal(json.verified, true, JSON.stringify(json));
        const expected = open.expected!;
        const entry = json.entries.find((e: { audience: string }) => e.audience === expected.audience);
        assert.ok(entry, "the audience " + expected.audience);
        assert.deepEqual(entry.data, expected.data);
        assert.equal(entry.subject, expected.subject === undefined ? null : expected.subject);
        const keys = referenceKeys(open.config);
        const sealer = keys.findIndex((key) => refMac(key, split.header.sid, refMacInput(split.header.bytes)).equals(split.header.mac));
        assert.equal(json.key.index, sealer);
      });
    });
  }

  const refusals: { [id: string]: number } = {
    "neg-header-sid-flip": 4,
    "neg-header-flags-flip": 4,
    "neg-header-tag-flip": 4,
    "neg-mac-flip": 4,
    "neg-payload-flip": 4,
    "neg-wrong-secret": 4,
    "neg-fallback-missing": 4,
    "neg-chunk-swapped": 4,
    "neg-remember-wrong-safety": 4,
    "neg-truncated-header": 3,
    "neg-chunk-missing": 3,
    "neg-idle-expired": 5,
  };
  for (const vector of vectors.filter((v) => refusals[v.id] !== undefined)) {
    it(vector.id + ": status " + refusals[vector.id] + " (" + vector.opens[0].peer_result.err + " for the peer)", () => {
      const open = vector.opens[0];
      const config = configFile(vector.id, open.config);
      const now = open.now === undefined ? vector.created_at : open.now;
      const result = runCli(["inspect", vectorCookieHeader(vector, open), "--config", config, "--now", String(now)]);
      assert.equal(result.status, refusals[vector.id], result.stdout + result.stderr);
    });
  }
});

describe("njs-session check-config: nginx's validation, nginx's messages", () => {
  /** What nginx's module would say about this file: the same functions, run here in the test. */
  function nginxVerdict(path: string): string | null {
    try {
      registerBuiltinStorages();
      const configuration = readConfigurationFile(path);
      createSessionLibrary(createNodePlatform({ log: () => {}, sharedDicts: new Proxy({}, { get: () => ({ get: () => undefined, set: () => true, add: () => true, replace: () => true, delete: () => true }) }) })).init(configuration.options);
      return null;
    } catch (e) {
      return errorText(e);
    }
  }

  const cases: Array<[string, unknown]> = [
    ["unknown option", { secret: SECRET, idle_timeout: 5 }],
    ["wrong type", { secret: SECRET, idling_timeout: "900" }],
    ["no key", { audience: "app" }],
    ["short ikm", { ikm: Buffer.alloc(16).toString("base64") }],
    ["unknown nginx option", { secret: SECRET, nginx: { login: "/x" } }],
    ["secret from an unset variable", { secret: { env: "NJS_SESSION_CLI_TEST_UNSET" } }],
    ["registry without absolute timeouts", { secret: SECRET, storage: "shm", store_metadata: true, absolute_timeout: 0 }],
    // The CLI's own connections would take it (inspect, mint); nginx's bridge does not: its proxy_ssl.
    ["TLS to the store", { secret: SECRET, storage: "redis", redis: { ssl: true, ssl_verify: true } }],
  ];
  for (const [name, content] of cases) {
    it(name + ": status 6, the very message nginx logs", () => {
      const path = file("bad-" + name.replace(/ /g, "-") + ".json", JSON.stringify(content));
      const expected = nginxVerdict(path);
      assert.ok(expected, "nginx refuses it too");
      const result = runCli(["check-config", path]);
      assert.equal(result.status, 6);
      assert.equal(result.stderr, "njs-session: " + expected + "\n");
    });
  }

  it("not JSON: status 6; a missing file: status 7", () => {
    assert.equal(runCli(["check-config", file("bad.json", "{ secret: x }")]).status, 6);
    assert.equal(runCli(["check-config", join(dir, "nope.json")]).status, 7);
  });

  it("a valid file: status 0, a summary with the zones nginx.conf must declare, and no secret", () => {
    const secretPath = file("shm.secret", SECRET + "\n");
    const path = file("shm.json", JSON.stringify({ secret: { file: secretPath }, storage: "shm", shm: { zone: "sessions_zone" }, store_metadata: true, absolute_timeout: 3600, remember_absolute_timeout: 86400, nginx: { admin_token: "admin-token-0123456789" } }));
    const human = runCli(["check-config", path]);
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /zones: +sessions_zone \(js_shared_dict_zone in nginx.conf\)/);
    const { json } = runCliJson(["check-config", path]);
    assert.equal(json.valid, true);
    assert.equal(json.storage, "shm");
    assert.deepEqual(json.zones, ["sessions_zone"]);
    for (const secret of [SECRET, "admin-token-0123456789"]) assert.ok(!(human.stdout + JSON.stringify(json)).includes(secret));
  });
});

describe("njs-session mint: refusals", () => {
  it("data that is not a JSON object: status 3", () => {
    for (const data of ["{", "[1]", "3"]) {
      const result = runCli(["mint", "--secret-file", secretFile, "--data", data]);
      assert.equal(result.status, 3, data);
      assertOneLineError(result.stderr, /--data/);
    }
  });

  it("a subject nginx could not publish: status 3, the reason, not the subject", () => {
    const result = runCli(["mint", "--secret-file", secretFile, "--subject", "eve\u001b[2J"]);
    assert.equal(result.status, 3);
    assertOneLineError(result.stderr, /--subject: invalid subject: it contains a control character/);
    assert.ok(!result.stderr.includes("\u001b"));
  });

  it("no key: status 2; shm storage (nginx's memory): status 6", () => {
    assert.equal(runCli(["mint"]).status, 2);
    const shm = file("mint-shm.json", JSON.stringify({ secret: SECRET, storage: "shm" }));
    const result = runCli(["mint", "--config", shm]);
    assert.equal(result.status, 6);
    assertOneLineError(result.stderr, /"shm" storage/);
  });

  it("--data-file: the data from a file or standard input; with --data: status 2; unreadable: 7; not JSON: 3", () => {
    const data = { plan: "pro", n: 3 };
    const fromFile = mint(["--data-file", file("data.json", JSON.stringify(data) + "\n")]);
    const fromStdin = runCli(["mint", "--secret-file", secretFile, "--now", String(T0), "--data-file", "-"], { input: JSON.stringify(data) });
    assert.equal(fromStdin.status, 0, fromStdin.stderr);
    for (const cookie of [fromFile, fromStdin.stdout.trim()]) {
      const opened = runCliJson(["inspect", cookie, "--secret-file", secretFile, "--now", String(T0)]);
      assert.deepEqual(opened.json.entries[0].data, data);
    }
    assert.equal(runCli(["mint", "--secret-file", secretFile, "--data", "{}", "--data-file", file("d2.json", "{}")]).status, 2);
    const missing = runCli(["mint", "--secret-file", secretFile, "--data-file", join(dir, "no-such-data.json")]);
    assert.equal(missing.status, 7);
    assertOneLineError(missing.stderr, /no-such-data\.json: no such file/);
    const notJson = runCli(["mint", "--secret-file", secretFile, "--data-file", file("d3.json", "{" + SECRET)]);
    assert.equal(notJson.status, 3);
    assertOneLineError(notJson.stderr, /--data-file/);
    assert.ok(!notJson.stderr.includes(SECRET), "the data's text is not echoed");
  });
});

describe("njs-session mint and inspect: server-side storage", () => {
  it("file storage: mint writes the record where nginx reads it; inspect opens it, and refuses it once removed", () => {
    const path = join(dir, "minted-files");
    mkdirSync(path);
    const config = file("mint-files.json", JSON.stringify({ storage: "file", file: { path: path } }));
    const cookie = mint(["--config", config, "--subject", "grace", "--data", '{"k":"v"}']);
    const records = readdirSync(path);
    assert.equal(records.length, 1, "one record written");
    const opened = runCliJson(["inspect", cookie, "--config", config, "--secret-file", secretFile, "--now", String(T0)]);
    assert.equal(opened.status, 0, opened.stderr);
    assert.deepEqual(opened.json.entries, [{ audience: "default", subject: "grace", data: { k: "v" } }]);
    rmSync(join(path, records[0]));
    const gone = runCliJson(["inspect", cookie, "--config", config, "--secret-file", secretFile, "--now", String(T0)]);
    assert.equal(gone.status, 4);
    assert.equal(gone.json.verified, false);
  });

  it("a store that cannot be reached: status 9, one line naming it, no secret", async () => {
    const port = await closedPort();
    const password = "redis-password-3e8a91c4";
    for (const storage of [{ storage: "redis", redis: { port: port, password: password } }, { storage: "memcached", memcached: { port: port } }]) {
      const config = file("unreachable.json", JSON.stringify(storage));
      const minted = runCli(["mint", "--config", config, "--secret-file", secretFile, "--subject", "heidi"]);
      assert.equal(minted.status, 9, minted.stderr);
      assertOneLineError(minted.stderr, new RegExp("127\\.0\\.0\\.1:" + port));
      // A cookie that says its record is in the store: the store is asked, and cannot answer.
      const path = join(dir, "files-" + storage.storage);
      mkdirSync(path);
      const cookie = mint(["--config", file("files-" + storage.storage + ".json", JSON.stringify({ storage: "file", file: { path: path } }))]);
      const inspected = runCli(["inspect", cookie, "--config", config, "--secret-file", secretFile, "--now", String(T0)]);
      assert.equal(inspected.status, 9, inspected.stderr);
      for (const output of [minted.stdout, minted.stderr, inspected.stdout, inspected.stderr]) {
        assert.ok(!output.includes(password) && !output.includes(SECRET), "no secret in any output");
      }
    }
  });
});

describe("njs-session mint over TLS to the store", () => {
  it("a TLS handshake that fails (a server that does not speak TLS): status 9, like an unreachable store, no secret", async () => {
    const plain = createServer((socket) => socket.end("-ERR not TLS\r\n"));
    await new Promise<void>((done) => plain.listen(0, "127.0.0.1", done));
    const port = (plain.address() as AddressInfo).port;
    const password = "redis-password-tls-7d2e";
    try {
      const config = file("tls.json", JSON.stringify({ storage: "redis", redis: { port: port, password: password, ssl: true, ssl_verify: true, server_name: "localhost" } }));
      const minted = await runCliAsync(["mint", "--config", config, "--secret-file", secretFile, "--subject", "heidi"]);
      assert.equal(minted.status, 9, minted.stderr);
      assertOneLineError(minted.stderr, new RegExp("127\\.0\\.0\\.1:" + port));
      for (const output of [minted.stdout, minted.stderr]) assert.ok(!output.includes(password) && !output.includes(SECRET), "no secret in any output");
    } finally {
      plain.close();
    }
  });
});

/** A port nothing listens on: one the system gave, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}
