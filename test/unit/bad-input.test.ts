/**
 * Hostile and broken cookies: every one is refused with exists=false and a stable short reason, is
 * logged at info level without the secret, any session id or the cookie value, and never throws.
 * Tampered headers are built with the independent reference (test/support/reference-crypto.ts), which
 * can also re-sign them (a forger holding the key), so the checks behind the MAC are reached too.
 */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { deflateRawSync } from "node:zlib";
import { decodeBase64Url, encodeBase64Url, leading16BytesText, leadingBytes } from "../../src/core/bytes";
import type { SessionOptions } from "../../src/core/options";
import type { Storage } from "../../src/core/storage";
import { createMemoryStorage } from "../support/memory-storage";
import {
  b64u,
  fromB64u,
  REF,
  REF_FLAG_DEFLATE,
  refIkm,
  refOpen,
  refRewriteHeader,
  refSeal,
  refSplitCookie,
} from "../support/reference-crypto";
import { createEnv, mint, T0, type TestEnv } from "../support/session-env";

const SECRET = "bad-input-secret-do-not-log";
const IKM = refIkm(SECRET);
const OPTS: SessionOptions = { secret: SECRET, audience: "app" };

/** A stable reason: short lowercase words, no details appended. */
const STABLE_REASON = /^[a-z][a-z0-9 ]{5,60}$/;

async function validCookieValue(env: TestEnv, options: SessionOptions = OPTS, data: { [k: string]: unknown } = { user: "john", n: 1 }) {
  const { cookie } = await mint(env, options, data);
  return cookie.substring(cookie.indexOf("=") + 1);
}

interface Attempt {
  exists: boolean;
  error?: string;
  env: TestEnv;
  logsFrom: number;
}

/** Opens with `cookieHeader` at `now`; fails the test if anything throws. */
async function attempt(env: TestEnv, cookieHeader: string | undefined, options: SessionOptions = OPTS, now = T0 + 1): Promise<Attempt> {
  env.clock.now = now;
  const logsFrom = env.logs.length;
  let result: { exists: boolean; error?: string } | undefined;
  await assert.doesNotReject(async () => {
    result = await env.library.open(env.request(cookieHeader), options);
  });
  return { exists: result!.exists, error: result!.error, env, logsFrom };
}

/** No secret, no 43-character base64url run (a session id, or any slice of a cookie), no cookie value. */
function assertLogsClean(env: TestEnv, values: string[], from = 0): void {
  for (const { message } of env.logs.slice(from)) {
    assert.ok(!message.includes(SECRET), "secret in log: " + message);
    assert.ok(!/[A-Za-z0-9_-]{43,}/.test(message), "id-like run in log: " + message);
    for (const value of values) {
      if (value.length >= 12) assert.ok(!message.includes(value), "cookie value in log: " + message);
    }
  }
}

function assertRefused(outcome: Attempt, reason: string | RegExp | null, values: string[] = []): void {
  assert.equal(outcome.exists, false, "refused");
  assert.equal(typeof outcome.error, "string");
  const error = outcome.error!;
  if (typeof reason === "string") assert.equal(error, reason);
  else if (reason) assert.match(error, reason);
  assert.match(error, STABLE_REASON);
  const lines = outcome.env.logs.slice(outcome.logsFrom);
  if (error !== "missing session cookie") {
    assert.ok(
      lines.some((l) => l.level === "info" && l.message.includes(error)),
      "an info line names the reason: " + JSON.stringify(lines),
    );
  }
  assert.ok(lines.every((l) => l.level === "info"), "rejections are logged at info only: " + JSON.stringify(lines));
  assertLogsClean(outcome.env, values, outcome.logsFrom);
}

/** The header of a cookie value rewritten by `edit`, re-signed with `ikm` unless null, payload kept. */
function rewrite(value: string, edits: Array<[number, number, number]>, ikm: Buffer | null = IKM): string {
  const { header, payloadText } = refSplitCookie(value);
  return b64u(refRewriteHeader(header.bytes, edits, ikm)) + payloadText;
}

/** A cookie sealed entirely by the reference (refSeal) with this file's key, created at T0 unless told. */
function forge(plaintext: Uint8Array, options: { flags?: number; creationTime?: number } = {}): string {
  return refSeal(IKM, plaintext, { flags: options.flags, creationTime: options.creationTime === undefined ? T0 : options.creationTime });
}

describe("sanity: the forging helpers make cookies the library accepts", () => {
  it("a forged well-formed cookie opens; a re-signed unchanged header opens", async () => {
    const env = createEnv();
    const forged = forge(Buffer.from(JSON.stringify([[{ f: 1 }, "app"]])));
    const opened = await env.library.open(env.request("session=" + forged), OPTS);
    assert.equal(opened.error, undefined);
    assert.deepEqual(opened.session.getData(), { f: 1 });
    const value = await validCookieValue(env);
    const resigned = rewrite(value, []);
    assert.equal(resigned, value);
    assert.equal((await attempt(env, "session=" + rewrite(value, [[REF.idling, 3, 0]]))).exists, true);
  });

  it("a null subject (JSON null, as another writer may send it) opens as no subject and is saved back without one", async () => {
    const env = createEnv();
    const forged = forge(Buffer.from(JSON.stringify([[{ f: 1 }, "app", null]])));
    env.clock.now = T0 + 1;
    const exchange = env.request("session=" + forged);
    const opened = await env.library.open(exchange, OPTS);
    assert.equal(opened.error, undefined);
    assert.equal(opened.session.getSubject(), undefined);
    assert.equal((await opened.session.save()).ok, true);
    const line = exchange.responseCookies[0];
    const { header, payloadText } = refSplitCookie(line.substring(line.indexOf("=") + 1, line.indexOf(";")));
    assert.equal(refOpen(IKM, header, payloadText), JSON.stringify([[{ f: 1 }, "app"]]));
  });
});

describe("malformed header text", () => {
  it('non-base64url characters in the header ("!", "+", "/", "=", " ", "%", "é")', async () => {
    const env = createEnv();
    const value = await validCookieValue(env);
    for (const bad of ["!", "+", "/", "=", " ", "%", "é", "\u0000", "\u20ac"]) {
      for (const at of [0, 5, 50, 109]) {
        const tampered = value.substring(0, at) + bad + value.substring(at + 1);
        // A leading space is trimmed off the cookie value (shifting the header): refused, for another reason.
        const reason = bad === " " && at === 0 ? null : "unable to base64url decode session header";
        assertRefused(await attempt(env, "session=" + tampered), reason, [tampered]);
      }
    }
  });

  it("non-base64url characters in the payload: the header verifies, the payload text does not decode", async () => {
    const env = createEnv();
    const value = await validCookieValue(env);
    for (const bad of ["!", "+", "/", "="]) {
      const tampered = value.substring(0, 115) + bad + value.substring(116);
      assertRefused(await attempt(env, "session=" + tampered), "unable to base64url decode session data", [tampered]);
    }
  });

  it("header shorter than 110 characters", async () => {
    const env = createEnv();
    const value = await validCookieValue(env);
    for (const short of ["", "A", "AQAA", value.substring(0, 109), value.substring(0, 60)]) {
      assertRefused(await attempt(env, "session=" + short), "invalid session header", [short]);
    }
  });

  it("oversized and garbage values", async () => {
    const env = createEnv();
    assertRefused(await attempt(env, "session=" + "A".repeat(5000)), "invalid session cookie type");
    const garbage = randomBytes(3000).toString("base64url");
    assertRefused(await attempt(env, "session=" + garbage), null, [garbage]);
    const printable = Array.from(randomBytes(2000), (b) => String.fromCharCode(33 + (b % 90))).join("").replace(/;/g, ":");
    assertRefused(await attempt(env, "session=" + printable), null, [printable]);
    assertRefused(await attempt(env, 'session="' + "A".repeat(110) + '"'), "unable to base64url decode session header");
  });
});

describe("header fields", () => {
  it('wrong type byte, even correctly re-signed: "invalid session cookie type" (the MAC is not even reached)', async () => {
    const env = createEnv();
    const value = await validCookieValue(env);
    for (const type of [0, 2, 0x81, 255]) {
      const signed = rewrite(value, [[REF.type, 1, type]], IKM);
      const unsigned = rewrite(value, [[REF.type, 1, type]], null);
      assertRefused(await attempt(env, "session=" + signed), "invalid session cookie type", [signed]);
      assertRefused(await attempt(env, "session=" + unsigned), "invalid session cookie type", [unsigned]);
    }
  });

  it('unknown flag bits, even correctly re-signed: "invalid session flags"', async () => {
    const env = createEnv();
    const value = await validCookieValue(env);
    for (const bit of [0x0004, 0x0008, 0x0020, 0x0040, 0x0080, 0x0800, 0x1000, 0x2000, 0x4000, 0x8000]) {
      const tampered = rewrite(value, [[REF.flags, 2, bit]]);
      assertRefused(await attempt(env, "session=" + tampered), "invalid session flags", [tampered]);
    }
  });

  it("every single bit flip in the 82 header bytes is refused", async () => {
    const env = createEnv();
    const value = await validCookieValue(env);
    const { header, payloadText } = refSplitCookie(value);
    const reasons = new Set<string>();
    for (let byte = 0; byte < 82; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const bytes = Buffer.from(header.bytes);
        bytes[byte] ^= 1 << bit;
        const tampered = b64u(bytes) + payloadText;
        const outcome = await attempt(env, "session=" + tampered);
        assert.equal(outcome.exists, false, `flip of bit ${bit} in header byte ${byte} was accepted`);
        assert.match(outcome.error!, STABLE_REASON);
        reasons.add(outcome.error!);
      }
    }
    assert.ok(reasons.has("invalid session message authentication code"));
    assert.ok(reasons.has("invalid session cookie type"));
    assert.ok(reasons.has("invalid session flags"));
    assertLogsClean(env, [value]);
  });

  it("every single bit flip in the payload bytes is refused by AES-GCM", async () => {
    const env = createEnv();
    const value = await validCookieValue(env);
    const { headerText, payloadText } = refSplitCookie(value);
    const payload = fromB64u(payloadText);
    assert.ok(payload.length > 10);
    for (let byte = 0; byte < payload.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const bytes = Buffer.from(payload);
        bytes[byte] ^= 1 << bit;
        const tampered = headerText + b64u(bytes);
        const outcome = await attempt(env, "session=" + tampered);
        assert.equal(outcome.exists, false, `flip of bit ${bit} in payload byte ${byte} was accepted`);
        assert.equal(outcome.error, "unable to decrypt session data");
      }
    }
    assertLogsClean(env, [value]);
  });

  it("a re-signed header whose AAD part changed fails AES-GCM", async () => {
    const env = createEnv();
    const value = await validCookieValue(env);
    const tampered = rewrite(value, [[REF.sid, 1, 0x42 ^ refSplitCookie(value).header.sid[0]]]);
    assertRefused(await attempt(env, "session=" + tampered), "unable to decrypt session data", [tampered]);
  });

  it("wrong secret", async () => {
    const env = createEnv();
    const value = await validCookieValue(env);
    assertRefused(await attempt(env, "session=" + value, { ...OPTS, secret: "another-secret" }), "invalid session message authentication code", [value]);
  });

  it("expired", async () => {
    const env = createEnv();
    const value = await validCookieValue(env);
    assertRefused(await attempt(env, "session=" + value, OPTS, T0 + 901), "session idling timeout exceeded", [value]);
    assertRefused(await attempt(env, "session=" + value, { ...OPTS, idling_timeout: 0 }, T0 + 3601), "session rolling timeout exceeded", [value]);
  });

  describe("absurd field values (re-signed by a key holder, and unsigned)", () => {
    const cases: Array<[string, Array<[number, number, number]>, SessionOptions]> = [
      ["creation time in the far future (2^40-1)", [[REF.creation, 5, 2 ** 40 - 1]], OPTS],
      ["creation time a year ahead", [[REF.creation, 5, T0 + 365 * 86400]], OPTS],
      ["creation time 0", [[REF.creation, 5, 0]], OPTS],
      ["creation time 0, timeouts off", [[REF.creation, 5, 0]], { ...OPTS, idling_timeout: 0, rolling_timeout: 0, absolute_timeout: 0 }],
      ["rolling offset 2^32-1", [[REF.rolling, 4, 2 ** 32 - 1]], OPTS],
      ["data size 2^24-1", [[REF.dataSize, 3, 2 ** 24 - 1]], OPTS],
      ["data size 0", [[REF.dataSize, 3, 0]], OPTS],
      ["data size one more", [[REF.dataSize, 3, -1]], OPTS],
      ["idling offset 2^24-1 with a creation time 0", [[REF.idling, 3, 2 ** 24 - 1], [REF.creation, 5, 0]], OPTS],
    ];
    for (const [label, edits, options] of cases) {
      it(label, async () => {
        const env = createEnv();
        const value = await validCookieValue(env);
        const dataSize = refSplitCookie(value).header.dataSize;
        const resolved = edits.map(([o, s, v]) => [o, s, v < 0 ? dataSize + 1 : v] as [number, number, number]);
        for (const ikm of [IKM, null]) {
          const tampered = rewrite(value, resolved, ikm);
          assertRefused(await attempt(env, "session=" + tampered, options), null, [tampered]);
        }
      });
    }
    it("data size 2^24-1 (re-signed): 'cookie size limit exceeded'", async () => {
      const env = createEnv();
      const value = await validCookieValue(env);
      const tampered = rewrite(value, [[REF.dataSize, 3, 2 ** 24 - 1]]);
      assertRefused(await attempt(env, "session=" + tampered), "cookie size limit exceeded", [tampered]);
    });
  });
});

describe("remember cookie header", () => {
  it("a remember cookie with a non-zero idling offset is refused, even correctly re-signed", async () => {
    const env = createEnv();
    const options: SessionOptions = { ...OPTS, remember: true, remember_safety: "None" };
    const { cookie } = await mint(env, options);
    const remember = cookie.split("; ").find((p) => p.startsWith("remember="))!.substring("remember=".length);
    assert.equal((await attempt(env, "remember=" + remember, options)).exists, true, "the untouched remember cookie restores");
    for (const idling of [1, 120, 2 ** 24 - 1]) {
      const tampered = rewrite(remember, [[REF.idling, 3, idling]]);
      const logsFrom = env.logs.length;
      env.clock.now = T0 + 1;
      const exchange = env.request("remember=" + tampered);
      const opened = await env.library.open(exchange, options);
      assert.equal(opened.exists, false);
      assert.equal(opened.error, "missing session cookie", "the session cookie's reason is reported");
      assert.deepEqual(exchange.responseCookies, []);
      assertLogsClean(env, [tampered], logsFrom);
    }
  });
});

describe("payload length and chunks", () => {
  it("truncated or extended payload: 'invalid session payload'", async () => {
    const env = createEnv();
    const value = await validCookieValue(env);
    for (const tampered of [value.slice(0, -1), value.slice(0, -4), value.substring(0, 110), value + "A", value + "AAAA", value + value.substring(110)]) {
      assertRefused(await attempt(env, "session=" + tampered), "invalid session payload", [tampered]);
    }
  });

  it("a missing, truncated or swapped chunk", async () => {
    const env = createEnv();
    const options = { ...OPTS, compression_threshold: 0 };
    const { cookie } = await mint(env, options, { blob: "z".repeat(7000) });
    const parts = Object.fromEntries(cookie.split("; ").map((p) => [p.split("=")[0], p.substring(p.indexOf("=") + 1)]));
    assert.deepEqual(Object.keys(parts).sort(), ["session", "session2", "session3"]);
    const values = Object.values(parts) as string[];
    const join = (o: { [k: string]: string }) => Object.entries(o).map(([k, v]) => k + "=" + v).join("; ");

    assertRefused(await attempt(env, join({ session: parts.session, session3: parts.session3 }), options), "missing session cookie chunk", values);
    assertRefused(await attempt(env, join({ session: parts.session, session2: parts.session2 }), options), "missing session cookie chunk", values);
    assertRefused(await attempt(env, join({ ...parts, session2: parts.session2.slice(0, -1) }), options), "invalid session payload", values);
    assertRefused(await attempt(env, join({ ...parts, session2: parts.session3, session3: parts.session2 }), options), null, values);
    assertRefused(await attempt(env, join({ session2: parts.session2, session3: parts.session3 }), options), "missing session cookie", values);
  });
});

describe("authenticated but malformed payloads (forged with the key)", () => {
  const cases: Array<[string, Uint8Array, number, string]> = [
    ["not JSON", Buffer.from("not json"), 0, "unable to json decode session data"],
    ["JSON but not an array of entries", Buffer.from('{"a":1}'), 0, "unable to json decode session data"],
    ["an empty array", Buffer.from("[]"), 0, "unable to json decode session data"],
    ["an entry whose data is not an object", Buffer.from('[[1,"app"]]'), 0, "unable to json decode session data"],
    ["an entry whose audience is not a string", Buffer.from("[[{},5]]"), 0, "unable to json decode session data"],
    ["an entry with a non-string subject", Buffer.from('[[{},"app",7]]'), 0, "unable to json decode session data"],
    ["invalid UTF-8", Buffer.from([0x5b, 0x5b, 0xff, 0xfe]), 0, "unable to json decode session data"],
    ["FLAG_DEFLATE on data that is not deflated", Buffer.from('[[{},"app"]]'), REF_FLAG_DEFLATE, "unable to inflate session data"],
    ["deflated garbage", deflateRawSync(Buffer.from("garbage")), REF_FLAG_DEFLATE, "unable to json decode session data"],
  ];
  for (const [label, plaintext, flags, reason] of cases) {
    it(label, async () => {
      const env = createEnv();
      const forged = forge(plaintext, { flags });
      assertRefused(await attempt(env, "session=" + forged), reason, [forged]);
    });
  }

  it("a deflate bomb is bounded (no exception, refused quickly)", async () => {
    const env = createEnv();
    // 20 MiB of JSON deflates to ~20 KiB: sent in chunks, it inflates past the 16 MiB cap.
    const json = '[[{"a":"' + "a".repeat(20 * 1024 * 1024) + '"},"app"]]';
    const forged = forge(deflateRawSync(Buffer.from(json)), { flags: REF_FLAG_DEFLATE });
    const first = 4096 - 110 - "session".length - 1;
    const next = 4096 - "session".length - 2;
    const chunks = [forged.substring(0, 110 + first)];
    for (let offset = 110 + first; offset < forged.length; offset += next) chunks.push(forged.substring(offset, offset + next));
    assert.ok(chunks.length > 1 && chunks.length <= 9, "fits in " + chunks.length + " cookies");
    const header = chunks.map((chunk, i) => (i ? "session" + (i + 1) : "session") + "=" + chunk).join("; ");
    const started = Date.now();
    const outcome = await attempt(env, header);
    assert.ok(Date.now() - started < 5000);
    assertRefused(outcome, "unable to inflate session data", chunks);
  });
});

describe("server-side storage inputs", () => {
  async function stored(storage: Storage) {
    const env = createEnv();
    const options: SessionOptions = { ...OPTS, storage };
    const { cookie } = await mint(env, options);
    return { env, options, value: cookie.substring(cookie.indexOf("=") + 1) };
  }

  it("characters after the 110-character header: 'invalid session payload'", async () => {
    const { env, options, value } = await stored(createMemoryStorage());
    assertRefused(await attempt(env, "session=" + value + "AAAA", options), "invalid session payload", [value]);
  });

  it("no record, a garbage record, a record of the wrong shape", async () => {
    const storage = createMemoryStorage();
    const { env, options, value } = await stored(storage);
    const key = Object.keys(storage.records)[0];
    const original = storage.records[key].value;
    storage.records[key].value = "{not json";
    assertRefused(await attempt(env, "session=" + value, options), "unable to json decode session", [value]);
    storage.records[key].value = JSON.stringify({ a: 1 });
    assertRefused(await attempt(env, "session=" + value, options), "unable to json decode session", [value]);
    storage.records[key].value = JSON.stringify(["!!!"]);
    assertRefused(await attempt(env, "session=" + value, options), null, [value]);
    storage.records[key].value = JSON.stringify([JSON.parse(original)[0], "%%%"]);
    assertRefused(await attempt(env, "session=" + value, options), "unable to json decode session info", [value]);
    delete storage.records[key];
    assertRefused(await attempt(env, "session=" + value, options), "unable to load session", [value]);
  });

  it("a storage that throws does not make open() throw", async () => {
    const storage = createMemoryStorage();
    const { env, value } = await stored(storage);
    const broken: Storage = {
      set: storage.set,
      get: () => {
        throw new Error("connection refused");
      },
      delete: storage.delete,
    };
    const outcome = await attempt(env, "session=" + value, { ...OPTS, storage: broken });
    assert.equal(outcome.exists, false);
    assert.equal(outcome.error, "unable to load session (connection refused)");
    assertLogsClean(env, [value]);
  });
});

describe("many and huge cookies", () => {
  it("500 unrelated cookies plus a valid session: still opens, wherever the session is", async () => {
    const env = createEnv();
    const value = await validCookieValue(env);
    const unrelated = Array.from({ length: 500 }, (_, i) => `c${i}=${randomBytes(12).toString("base64url")}`);
    for (const position of [0, 250, 500]) {
      const list = unrelated.slice();
      list.splice(position, 0, "session=" + value);
      const started = Date.now();
      const outcome = await attempt(env, list.join("; "));
      assert.ok(Date.now() - started < 1000);
      assert.equal(outcome.exists, true, "session at position " + position);
    }
  });

  it("500 garbage 'session' duplicates: the first one wins, as nginx's $cookie_session does", async () => {
    const env = createEnv();
    const value = await validCookieValue(env);
    const garbage = Array.from({ length: 500 }, () => "session=" + randomBytes(90).toString("base64url"));
    const first = await attempt(env, ["session=" + value, ...garbage].join("; "));
    assert.equal(first.exists, true);
    const last = await attempt(env, [...garbage, "session=" + value].join("; "));
    assertRefused(last, null, [value]);
  });

  it("a 64 KiB Cookie header: no exception, 'missing session cookie' or a refusal, completes quickly", async () => {
    const env = createEnv();
    const big = 64 * 1024;
    const headers = [
      "a=" + "b".repeat(big),
      "session=" + "A".repeat(big),
      "session=" + randomBytes((big * 3) / 4).toString("base64url"),
      ";".repeat(big),
      "=".repeat(big),
      "session" + "=".repeat(big),
      Array.from({ length: big / 8 }, (_, i) => "s" + i + "=x").join(";").substring(0, big),
      Array.from(randomBytes(big), (b) => String.fromCharCode(32 + (b % 95))).join(""),
    ];
    for (const header of headers) {
      const started = Date.now();
      const outcome = await attempt(env, header);
      assert.ok(Date.now() - started < 1000, "took " + (Date.now() - started) + " ms");
      assert.equal(outcome.exists, false);
      assert.match(outcome.error!, STABLE_REASON);
      assertLogsClean(env, [header.substring(0, 64)], outcome.logsFrom);
    }
  });

  it("a garbage remember cookie with remember on never throws and restores nothing", async () => {
    const env = createEnv();
    const options: SessionOptions = { ...OPTS, remember: true, remember_safety: "None" };
    for (const value of ["", "x", "A".repeat(5000), randomBytes(300).toString("base64url")]) {
      const outcome = await attempt(env, "remember=" + value, options);
      assert.equal(outcome.exists, false);
      assert.equal(outcome.error, "missing session cookie");
      const withBadSession = await attempt(env, "session=garbage; remember=" + value, options);
      assertRefused(withBadSession, "invalid session header", [value]);
    }
  });
});

describe("decodeBase64Url / encodeBase64Url", () => {
  it("random bytes round-trip and match Node's base64url", () => {
    for (let length = 0; length <= 300; length++) {
      for (let k = 0; k < 3; k++) {
        const bytes = new Uint8Array(randomBytes(length));
        const text = encodeBase64Url(bytes);
        assert.equal(text, Buffer.from(bytes).toString("base64url"));
        assert.equal(text.length, Math.floor(length / 3) * 4 + [0, 2, 3][length % 3]);
        assert.deepEqual(decodeBase64Url(text), bytes);
      }
    }
    const large = new Uint8Array(randomBytes(100000));
    assert.deepEqual(decodeBase64Url(encodeBase64Url(large)), large);
  });

  it("any text over the alphabet with length % 4 != 1 decodes as Node decodes it", () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (let i = 0; i < 500; i++) {
      let length = Math.floor(Math.random() * 200);
      if (length % 4 === 1) length++;
      const text = Array.from(randomBytes(length), (b) => alphabet[b & 63]).join("");
      assert.deepEqual(decodeBase64Url(text), new Uint8Array(Buffer.from(text, "base64url")));
    }
  });

  it("the host's bytes are decodeBase64Url's bytes; leadingBytes is a plain view of the first ones", () => {
    for (let length = 0; length <= 64; length++) {
      const bytes = new Uint8Array(randomBytes(length));
      const text = encodeBase64Url(bytes);
      assert.deepEqual(new Uint8Array(decodeBase64Url(text, true) as Uint8Array), bytes);
      const digest = Buffer.from(bytes);
      const first = leadingBytes(digest, Math.floor(length / 2));
      assert.equal(Object.getPrototypeOf(first), Uint8Array.prototype);
      assert.deepEqual(first, new Uint8Array(bytes.subarray(0, Math.floor(length / 2))));
    }
  });

  it("leading16BytesText of a digest's text is the text of the digest's first 16 bytes, whatever its 17th", () => {
    // Every value of the 16th byte's last two bits and of the 17th byte's first four: the 22nd
    // character takes all 64 values.
    for (let value = 0; value < 256; value++) {
      const digest = new Uint8Array(randomBytes(32));
      digest[15] = (digest[15] & 0xfc) | (value >> 6);
      digest[16] = (value & 0x3f) << 2;
      const text = Buffer.from(digest).toString("base64url");
      assert.equal(leading16BytesText(text), Buffer.from(digest.subarray(0, 16)).toString("base64url"), "value " + value);
    }
  });

  it("length % 4 == 1 is rejected", () => {
    for (const length of [1, 5, 9, 109, 113, 4097]) {
      assert.equal(decodeBase64Url("A".repeat(length)), null, "length " + length);
      assert.equal(decodeBase64Url("A".repeat(length), true), null, "length " + length);
    }
  });

  it("characters outside the base64url alphabet are rejected anywhere", () => {
    const bad = ["+", "/", "=", " ", "\t", "\n", ".", "!", "%", "~", "*", "é", "\u0080", "\u00ff", "\u0100", "\u20ac", "\ud83d", "\u0000", "\u007f"];
    for (let i = 0; i < 300; i++) {
      const bytes = new Uint8Array(randomBytes(1 + Math.floor(Math.random() * 60)));
      const text = encodeBase64Url(bytes);
      const at = Math.floor(Math.random() * text.length);
      const char = bad[i % bad.length];
      const replaced = text.substring(0, at) + char + text.substring(at + 1);
      assert.equal(decodeBase64Url(replaced), null, JSON.stringify(replaced));
      // The decryption's decoder (the host's bytes, no view) refuses the same.
      assert.equal(decodeBase64Url(replaced, true), null, JSON.stringify(replaced));
    }
    assert.equal(decodeBase64Url("AAA="), null, "padding is not base64url");
    assert.equal(decodeBase64Url("AA=="), null);
    assert.equal(decodeBase64Url("+/+/"), null, "standard base64 is refused");
  });

  it("the empty text is the empty byte string", () => {
    assert.deepEqual(decodeBase64Url(""), new Uint8Array(0));
    assert.equal(encodeBase64Url(new Uint8Array(0)), "");
  });
});
