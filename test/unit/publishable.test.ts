/**
 * The publishing rule (src/core/publishable.ts): which subjects and audiences can be published as they
 * are, how data values are encoded, and that the library holds to it wherever a subject enters — set
 * by code, configured, or read from a session another implementation minted. Expectations are derived
 * from the inputs (decodeURIComponent, JSON.parse, byte scans), never pasted from our output.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { coldCheck } from "../../src/core/cold-check";
import { fastCheck } from "../../src/core/fast-check";
import { asciiJson, identityProblem, MAX_IDENTITY_BYTES, publishedData } from "../../src/core/publishable";
import { refIkm, refSeal } from "../support/reference-crypto";
import { createEnv, mint, T0 } from "../support/session-env";

const SECRET = "publishable-test-secret";
const OPTS = { secret: SECRET, audience: "app", idling_timeout: 0, rolling_timeout: 0, absolute_timeout: 0 };

const C0 = Array.from({ length: 32 }, (_, code) => String.fromCharCode(code));
const C1 = Array.from({ length: 32 }, (_, index) => String.fromCharCode(0x80 + index));

/** Hostile pieces, each refused in a subject. */
const REFUSED_PIECES: Array<[string, string]> = [
  ...C0.map((c): [string, string] => ["C0 0x" + c.charCodeAt(0).toString(16), c]),
  ["DEL", "\x7f"],
  ...C1.map((c): [string, string] => ["C1 0x" + c.charCodeAt(0).toString(16), c]),
  ["U+2028", "\u2028"],
  ["U+2029", "\u2029"],
  ["U+FFFD (where bytes were not UTF-8, or the njs engine replaced an unpaired surrogate)", "\ufffd"],
  ["a lone high surrogate", "\ud800"],
  ["a lone low surrogate", "\udc00"],
  ["a reversed pair", "\udc00\ud800"],
];

const PUBLISHABLE = ["alice", "alice@example.com", "jöhn@exämple.com", "用户", "😀 smile", "%0d%0a", "a b", "x".repeat(MAX_IDENTITY_BYTES)];

/** The text with each unpaired surrogate replaced by U+FFFD (String.prototype.toWellFormed, Node 20). */
function wellFormed(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

function hasUnsafeByte(text: string): boolean {
  return /[^\x20-\x7e]/.test(text);
}

describe("identityProblem: what a subject or audience may hold", () => {
  for (const text of PUBLISHABLE) {
    it(`publishes ${JSON.stringify(text.length > 40 ? text.substring(0, 20) + "…" : text)}`, () => {
      assert.equal(identityProblem(text), null);
    });
  }

  for (const [name, piece] of REFUSED_PIECES) {
    it(`refuses ${name}, wherever it stands`, () => {
      assert.notEqual(identityProblem(piece), null);
      assert.notEqual(identityProblem("alice" + piece), null);
      assert.notEqual(identityProblem(piece + "alice"), null);
      assert.notEqual(identityProblem("al" + piece + "ice"), null);
    });
  }

  it("refuses header-smuggling subjects", () => {
    for (const text of ["alice\r\nX-Admin: 1", "alice\r\nContent-Length: 0\r\n\r\nGET /smuggled HTTP/1.1", "admin\u0000x", "admin\n"]) {
      assert.notEqual(identityProblem(text), null, JSON.stringify(text));
    }
  });

  it("refuses the empty text and a space at either end (header parsers strip it)", () => {
    assert.notEqual(identityProblem(""), null);
    assert.notEqual(identityProblem(" admin"), null);
    assert.notEqual(identityProblem("admin "), null);
  });

  it(`refuses more than ${MAX_IDENTITY_BYTES} UTF-8 bytes, counting bytes, not characters`, () => {
    assert.notEqual(identityProblem("x".repeat(MAX_IDENTITY_BYTES + 1)), null);
    const twoByte = "é".repeat(MAX_IDENTITY_BYTES / 2);
    assert.equal(Buffer.byteLength(twoByte), MAX_IDENTITY_BYTES);
    assert.equal(identityProblem(twoByte), null);
    assert.notEqual(identityProblem(twoByte + "x"), null);
    const fourByte = "😀".repeat(MAX_IDENTITY_BYTES / 4);
    assert.equal(identityProblem(fourByte), null);
    assert.notEqual(identityProblem(fourByte + "x"), null);
    assert.notEqual(identityProblem("x".repeat(8192)), null);
  });
});

/** Strings an attacker might put in session data. */
const HOSTILE_DATA = [
  "plain",
  "alice\r\nX-Admin: 1",
  "a\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
  "admin\u0000x",
  C0.join(""),
  "\x7f" + C1.join(""),
  "line\u2028para\u2029",
  "%0d%0a",
  "100%",
  " padded ",
  " ",
  "jöhn 用户 😀",
  "x".repeat(8192),
  "\r\n".repeat(4096),
];

describe("publishedData: data values, reversibly encoded", () => {
  for (const value of HOSTILE_DATA) {
    it(`${JSON.stringify(value.length > 30 ? value.substring(0, 30) + "…" : value)}: printable ASCII, decodes back exactly`, () => {
      const published = publishedData(value);
      assert.equal(hasUnsafeByte(published), false);
      assert.notEqual(published.charAt(0), " ");
      assert.notEqual(published.charAt(published.length - 1), " ");
      assert.equal(decodeURIComponent(published), value);
    });
  }

  it("leaves plain printable values as they are", () => {
    for (const value of ["alice@example.com", "a b c", "{\"x\":1}", "admin"]) assert.equal(publishedData(value), value);
  });

  it("publishes other types as their JSON text, encoded the same way", () => {
    for (const value of [42, true, { role: "a\r\nb" }, ["x", "ü"], null]) {
      const published = publishedData(value);
      assert.equal(hasUnsafeByte(published), false);
      assert.equal(decodeURIComponent(published), value === null ? "" : JSON.stringify(value));
    }
  });

  it("publishes an unpaired surrogate as U+FFFD (the one value that has no UTF-8 form)", () => {
    assert.equal(decodeURIComponent(publishedData("a\ud800b")), "a\ufffdb");
    assert.equal(decodeURIComponent(publishedData("a\udc00")), "a\ufffd");
  });

  it("random strings of any UTF-16 units: always printable ASCII, and exact for well-formed ones", () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let n = 0; n < 2000; n++) {
      let text = "";
      const length = Math.floor(random() * 20);
      for (let i = 0; i < length; i++) {
        const pick = random();
        text += String.fromCharCode(pick < 0.5 ? Math.floor(random() * 0x80) : pick < 0.9 ? Math.floor(random() * 0x800) : Math.floor(random() * 0x10000));
      }
      const published = publishedData(text);
      assert.equal(hasUnsafeByte(published), false, JSON.stringify(text));
      assert.equal(decodeURIComponent(published), wellFormed(text), JSON.stringify(text));
    }
  });
});

describe("asciiJson: the admin API's bodies", () => {
  it("is printable ASCII and parses back to the same value", () => {
    const value = { subject: "a\r\nb\u0000\u2028\u2029é用😀", agents: ["\x7f\x85", "Mozilla/5.0"], n: 1 };
    const text = asciiJson(value);
    assert.equal(hasUnsafeByte(text), false);
    assert.deepEqual(JSON.parse(text), value);
  });

  it("escapes unpaired surrogates instead of writing bytes no decoder agrees on", () => {
    const text = asciiJson({ s: "a\ud800b" });
    assert.equal(hasUnsafeByte(text), false);
    assert.equal(JSON.parse(text).s, "a\ud800b");
  });
});

describe("the library holds to the rule", () => {
  it("setSubject and setAudience refuse what cannot be published, with a clear error", async () => {
    const env = createEnv();
    const session = env.library.new(env.request(), OPTS);
    assert.throws(() => session.setSubject("alice\r\nX-Admin: 1"), /invalid subject: it contains a control character/);
    assert.throws(() => session.setSubject("admin\u0000x"), /invalid subject/);
    assert.throws(() => session.setSubject(" admin"), /invalid subject: it begins or ends with a space/);
    assert.throws(() => session.setAudience("app\n"), /invalid audience/);
    session.setSubject("jöhn@exämple.com");
    assert.equal(session.getSubject(), "jöhn@exämple.com");
  });

  it("a configured audience or subject that cannot be published is a configuration error", () => {
    const env = createEnv();
    assert.throws(() => env.library.new(env.request(), { ...OPTS, audience: "app\r\nX: 1" }), /audience contains a control character/);
    assert.throws(() => env.library.new(env.request(), { ...OPTS, subject: "bob\u2028" }), /subject contains a control character/);
  });

  for (const [name, subject] of [
    ["CRLF + header", "alice\r\nX-Admin: 1"],
    ["NUL", "admin\u0000x"],
    ["U+2028", "admin\u2028"],
    ["a lone surrogate", "admin\ud800"],
    ["U+FFFD", "admin\ufffd"],
    ["an edge space", "admin "],
    ["over 1 KiB (a whole cookie still)", "a".repeat(MAX_IDENTITY_BYTES + 100)],
  ]) {
    it(`a session minted elsewhere whose subject holds ${name} is "no session", logged at info without the subject`, async () => {
      const env = createEnv(T0 + 10);
      const cookie = "session=" + refSeal(refIkm(SECRET), Buffer.from(JSON.stringify([[{ k: 1 }, "app", subject]])), { creationTime: T0 });
      const opened = await env.library.open(env.request(cookie), OPTS);
      assert.equal(opened.exists, false);
      assert.equal(opened.error, "session subject cannot be published");
      const lines = env.logs.filter((line) => line.message.includes("session subject cannot be published"));
      assert.equal(lines.length, 1);
      assert.equal(lines[0].level, "info");
      assert.equal(env.logs.some((line) => line.message.includes(subject.substring(0, 6))), false);
    });
  }

  it("a foreign session whose subject bytes are not UTF-8 is \"no session\" (decoding left U+FFFD)", async () => {
    const env = createEnv(T0 + 10);
    for (const bytes of [[0xff], [0xfe], [0xc0, 0x80], [0xed, 0xa0, 0x80]]) {
      const payload = Buffer.concat([Buffer.from('[[{},"app","a'), Buffer.from(bytes), Buffer.from('b"]]')]);
      const cookie = "session=" + refSeal(refIkm(SECRET), payload, { creationTime: T0 });
      const opened = await env.library.open(env.request(cookie), OPTS);
      assert.equal(opened.error, "session subject cannot be published", Buffer.from(bytes).toString("hex"));
    }
  });

  it("a foreign session with a publishable subject opens; another audience's hostile subject does not matter", async () => {
    const env = createEnv(T0 + 10);
    const payload = JSON.stringify([[{ k: 1 }, "other", "evil\r\nX: 1"], [{ k: 2 }, "app", "jöhn@exämple.com"]]);
    const cookie = "session=" + refSeal(refIkm(SECRET), Buffer.from(payload), { creationTime: T0 });
    const opened = await env.library.open(env.request(cookie), OPTS);
    assert.equal(opened.error, undefined);
    assert.equal(opened.session.getSubject(), "jöhn@exämple.com");
  });

  it("a cookie holding a subject that cannot be published is never cached: each request opens it, and refuses that audience", async () => {
    const env = createEnv(T0 + 10);
    const seal = (payload: unknown) => refSeal(refIkm(SECRET), Buffer.from(JSON.stringify(payload)), { creationTime: T0 });
    const appSettings = env.library.settings(OPTS);
    const adminSettings = env.library.settings({ ...OPTS, audience: "admin" });
    const noBind = () => ({}) as never;
    // Both subjects publishable: the full path caches the cookie, the fast check finds either audience.
    const fine = seal([[{}, "app", "alice"], [{}, "admin", "root"]]);
    assert.equal((await env.library.open(env.request("session=" + fine), OPTS)).exists, true);
    assert.equal(fastCheck(appSettings, env.platform, fine, T0 + 10, env.request("session=" + fine), noBind)?.subject, "alice");
    assert.equal(fastCheck(adminSettings, env.platform, fine, T0 + 10, env.request("session=" + fine), noBind)?.subject, "root");
    // The admin audience's subject cannot be published: the app audience opens it, on the full path
    // and in the cold check alike, but neither caches it, so the fast check never finds it.
    const hostile = seal([[{}, "app", "alice"], [{}, "admin", "root\r\nX-Admin: 1"]]);
    const request = env.request("session=" + hostile);
    assert.equal((await env.library.open(env.request("session=" + hostile), OPTS)).exists, true);
    assert.equal(fastCheck(appSettings, env.platform, hostile, T0 + 10, request, noBind), null);
    assert.equal((await coldCheck(appSettings, env.platform, hostile, T0 + 10, request, noBind))?.subject, "alice");
    assert.equal(fastCheck(appSettings, env.platform, hostile, T0 + 10, request, noBind), null);
    assert.equal(fastCheck(adminSettings, env.platform, hostile, T0 + 10, request, noBind), null);
    const full = await env.library.open(env.request("session=" + hostile), { ...OPTS, audience: "admin" });
    assert.equal(full.error, "session subject cannot be published");
    // A payload without the audience's entry: every subject is tested at the fill.
    const elsewhere = seal([[{}, "other", "evil\u2028"]]);
    assert.equal(await coldCheck(appSettings, env.platform, elsewhere, T0 + 10, env.request("session=" + elsewhere), noBind), null);
    assert.equal(fastCheck({ ...appSettings, audience: "other" }, env.platform, elsewhere, T0 + 10, env.request("session=" + elsewhere), noBind), null);
  });

  it("a session our own library saved with a publishable subject round-trips", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, OPTS, { k: "v" }, { subject: "用户 😀" });
    const opened = await env.library.open(env.request(cookie), OPTS);
    assert.equal(opened.session.getSubject(), "用户 😀");
  });
});
