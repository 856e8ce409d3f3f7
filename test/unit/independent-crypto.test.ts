/**
 * Our sealing checked against an independent computation with node:crypto (test/support/reference-crypto.ts
 * imports nothing from src/). The reference is itself first checked against the peer's recorded
 * vectors, so agreeing with it means agreeing with lua-resty-session 4.1.5 byte for byte.
 */

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { SessionOptions } from "../../src/core/options";
import { headerMac, headerTag, parseHeader } from "../../src/core/header";
import { createMemoryStorage } from "../support/memory-storage";
import {
  b64u,
  fromB64u,
  REF,
  REF_FLAG_BIND_IP,
  REF_FLAG_BIND_SCHEME,
  REF_FLAG_BIND_USER_AGENT,
  REF_FLAG_DEFLATE,
  REF_FLAG_FORGET,
  REF_FLAG_STORAGE,
  refDecrypt,
  refIkm,
  refKeyAndIv,
  refMac,
  refMacInput,
  refOpen,
  refRememberKeyAndIv,
  refSplitCookie,
} from "../support/reference-crypto";
import { createEnv, setCookieLine, setCookieValue, T0 } from "../support/session-env";
import { loadVectors, type Vector } from "../support/vectors";

const SECRET = "independent-check-secret";
const IKM = refIkm(SECRET);

/** Length of unpadded base64url text for n bytes, from RFC 4648 arithmetic. */
function base64UrlLength(n: number): number {
  return Math.floor(n / 3) * 4 + [0, 2, 3][n % 3];
}

async function saveOne(
  options: SessionOptions,
  data: { [key: string]: unknown },
  subject?: string,
  request?: { remoteAddress?: string; scheme?: string; userAgent?: string },
) {
  const env = createEnv(T0);
  const exchange = env.request(undefined, request);
  const session = env.library.new(exchange, options);
  session.setData(data);
  if (subject !== undefined) session.setSubject(subject);
  const saved = await session.save();
  assert.equal(saved.error, undefined);
  assert.equal(saved.ok, true);
  return { env, exchange, session, lines: exchange.responseCookies };
}

describe("reference computation reproduces the peer's vectors", () => {
  const vectors = loadVectors().filter((v) => v.kind === "positive");

  function vectorIkm(vector: Vector): Buffer {
    if (typeof vector.config.secret === "string") return refIkm(vector.config.secret);
    return fromB64u(vector.config.ikm_b64url as string);
  }

  function iterationsFor(safety: unknown): number {
    return ({ None: 0, Low: 1000, Medium: 10000 } as { [k: string]: number })[String(safety)];
  }

  it("has positive vectors with headers", () => {
    assert.ok(vectors.length >= 20);
    assert.ok(vectors.every((v) => v.header));
  });

  for (const vector of vectors) {
    it(`${vector.id}: MAC and AES-GCM of the peer's cookie verify, plaintext equals the recorded JSON`, () => {
      const name = String(vector.config.cookie_name || "session");
      const value = vector.cookies[name];
      const { header, payloadText } = refSplitCookie(value);
      let payload = payloadText;
      for (let i = 2; vector.cookies[name + i] !== undefined; i++) payload += vector.cookies[name + i];
      if (vector.store) payload = JSON.parse(vector.store.value)[0];
      assert.equal(header.dataSize, payload.length, "data size is the base64url payload length");
      const plaintext = refOpen(vectorIkm(vector), header, payload);
      assert.equal(plaintext, vector.plaintext_json);

      if (vector.cookies.remember !== undefined) {
        const remember = refSplitCookie(vector.cookies.remember);
        const json = refOpen(vectorIkm(vector), remember.header, remember.payloadText, {
          rememberIterations: iterationsFor(vector.config.remember_safety),
        });
        assert.equal(json, vector.plaintext_json);
      }
    });
  }
});

describe("src/core/header.ts parseHeader agrees with the peer's decoded headers", () => {
  const vectors = loadVectors().filter((v) => v.kind === "positive");

  function check(value: string, expected: { [field: string]: unknown }) {
    const h = parseHeader(value);
    assert.ok(typeof h !== "string", h as string);
    assert.equal(h.bytes[0], expected.type);
    assert.equal(h.flags, expected.flags);
    assert.equal(b64u(h.sid), expected.sid_b64url);
    assert.equal(h.creationTime, expected.created_at);
    assert.equal(h.rollingOffset, expected.rolling_offset);
    assert.equal(h.dataSize, expected.data_size);
    assert.equal(h.idlingOffset, expected.idling_offset);
    assert.equal(b64u(headerTag(h)), expected.tag_b64url);
    assert.equal(b64u(headerMac(h)), expected.mac_b64url);
  }

  for (const vector of vectors) {
    it(`${vector.id}`, () => {
      const name = String(vector.config.cookie_name || "session");
      check(vector.cookies[name], vector.header!);
      const rememberHeader = (vector as unknown as { remember_header?: { [field: string]: unknown } }).remember_header;
      if (rememberHeader) check(vector.cookies.remember, rememberHeader);
    });
  }
});

describe("session cookie sealing, recomputed with node:crypto", () => {
  it("header fields, MAC, AES-256-GCM and payload all follow the format table", async () => {
    const data = { name: "John", n: 42, nested: { ok: true }, list: [1, "two"] };
    const { lines } = await saveOne({ secret: SECRET, audience: "app" }, data, "john@example.com");
    assert.equal(lines.length, 1);
    const line = lines[0];
    assert.ok(line.startsWith("session="));
    assert.ok(line.endsWith("; Path=/; SameSite=Lax; HttpOnly"), line);
    const value = setCookieValue(lines, "session")!;
    assert.match(value, /^[A-Za-z0-9_-]+$/, "cookie value is unpadded base64url");

    const { headerText, header, payloadText } = refSplitCookie(value);
    assert.equal(headerText.length, 110);
    assert.equal(b64u(header.bytes), headerText, "header text is canonical base64url of 82 bytes");
    assert.equal(header.type, 1);
    assert.equal(header.flags, 0);
    assert.equal(header.sid.length, 32);
    assert.equal(header.creationTime, T0);
    assert.equal(header.rollingOffset, 0);
    assert.equal(header.idlingOffset, 0);
    assert.equal(header.dataSize, payloadText.length, "data size = length of the base64url payload text");

    // MAC = HMAC-SHA256(HKDF(ikm, "", "authentication:" || sid, 32), header[0:66])[0:16]
    const expectedMac = refMac(IKM, header.sid, header.bytes.subarray(0, 66));
    assert.deepEqual(header.mac, expectedMac);

    // key || iv = HKDF(ikm, "", "encryption:" || sid, 44); AAD = header[0:47]; tag from the header
    const ciphertext = fromB64u(payloadText);
    const plaintext = refDecrypt(refKeyAndIv(IKM, header.sid), ciphertext, header.bytes.subarray(0, 47), header.tag);
    assert.equal(ciphertext.length, plaintext.length, "GCM ciphertext is as long as the plaintext (tag kept apart)");
    assert.equal(header.dataSize, base64UrlLength(ciphertext.length));
    assert.deepEqual(JSON.parse(plaintext.toString("utf8")), [[data, "app", "john@example.com"]]);
  });

  it("a session without subject is [[data, audience]] (subject left out, as lua-cjson writes nil)", async () => {
    const { lines } = await saveOne({ secret: SECRET }, { a: 1 });
    const { header, payloadText } = refSplitCookie(setCookieValue(lines, "session")!);
    const parsed = JSON.parse(refOpen(IKM, header, payloadText));
    assert.deepEqual(parsed, [[{ a: 1 }, "default"]]);
  });

  it("a raw 32-byte ikm is used as is (not hashed)", async () => {
    const ikm = new Uint8Array(randomBytes(32));
    const { lines } = await saveOne({ ikm }, { a: 1 });
    const { header, payloadText } = refSplitCookie(setCookieValue(lines, "session")!);
    assert.deepEqual(JSON.parse(refOpen(Buffer.from(ikm), header, payloadText)), [[{ a: 1 }, "default"]]);
    assert.throws(() => refOpen(createHash("sha256").update(ikm).digest(), header, payloadText), /MAC mismatch/);
  });

  it("each save draws a fresh random 32-byte session id", async () => {
    const sids = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const { lines } = await saveOne({ secret: SECRET }, { i });
      sids.add(b64u(refSplitCookie(setCookieValue(lines, "session")!).header.sid));
    }
    assert.equal(sids.size, 8);
  });

  it("a re-save keeps the creation time and writes the elapsed time as rolling offset", async () => {
    const env = createEnv(T0);
    const first = env.request();
    const s1 = env.library.new(first, { secret: SECRET });
    s1.set("k", "v");
    assert.equal((await s1.save()).ok, true);
    env.clock.now = T0 + 100;
    const second = env.request("session=" + setCookieValue(first.responseCookies, "session"));
    const opened = await env.library.open(second, { secret: SECRET });
    assert.equal(opened.exists, true);
    assert.equal((await opened.session.save()).ok, true);
    const { header, payloadText } = refSplitCookie(setCookieValue(second.responseCookies, "session")!);
    assert.equal(header.creationTime, T0);
    assert.equal(header.rollingOffset, 100);
    assert.equal(header.idlingOffset, 0);
    assert.deepEqual(JSON.parse(refOpen(IKM, header, payloadText)), [[{ k: "v" }, "default"]]);
  });

  it("a touch rewrites only the idling offset and the MAC (header[0:63] and payload unchanged)", async () => {
    const env = createEnv(T0);
    const first = env.request();
    const s1 = env.library.new(first, { secret: SECRET });
    s1.set("k", "v");
    assert.equal((await s1.save()).ok, true);
    const before = setCookieValue(first.responseCookies, "session")!;
    env.clock.now = T0 + 120;
    const second = env.request("session=" + before);
    const started = await env.library.start(second, { secret: SECRET });
    assert.equal(started.exists, true);
    assert.equal(started.refreshed, true);
    const after = setCookieValue(second.responseCookies, "session")!;
    const a = refSplitCookie(before);
    const b = refSplitCookie(after);
    assert.deepEqual(b.header.bytes.subarray(0, 63), a.header.bytes.subarray(0, 63));
    assert.equal(b.header.idlingOffset, 120);
    assert.equal(b.payloadText, a.payloadText);
    assert.deepEqual(b.header.mac, refMac(IKM, b.header.sid, b.header.bytes.subarray(0, 66)));
    assert.notDeepEqual(b.header.mac, a.header.mac);
  });
});

describe("remember cookie sealing, recomputed with node:crypto", () => {
  for (const [safety, iterations] of [
    ["Low", 1000],
    ["Medium", 10000],
    ["None", 0],
  ] as Array<["Low" | "Medium" | "None", number]>) {
    it(`remember_safety "${safety}": key || iv = ${iterations ? "PBKDF2-HMAC-SHA256(ikm, \"encryption:\" || sid, " + iterations + ", 44)" : "HKDF"}, MAC by HKDF`, async () => {
      const data = { name: "John", remember_me: true };
      const { lines } = await saveOne({ secret: SECRET, remember: true, remember_safety: safety, audience: "app" }, data);
      const rememberLine = setCookieLine(lines, "remember");
      assert.ok(rememberLine, "a remember cookie is set");
      assert.ok(setCookieLine(lines, "session"), "and the session cookie too");
      const { header, payloadText } = refSplitCookie(setCookieValue(lines, "remember")!);
      assert.equal(header.type, 1);
      assert.equal(header.idlingOffset, 0, "remember cookies always have idling offset 0");
      assert.equal(header.creationTime, T0);
      assert.equal(header.dataSize, payloadText.length);
      assert.deepEqual(header.mac, refMac(IKM, header.sid, header.bytes.subarray(0, 66)));

      const ciphertext = fromB64u(payloadText);
      const aad = header.bytes.subarray(0, 47);
      const plaintext = refDecrypt(refRememberKeyAndIv(IKM, header.sid, iterations), ciphertext, aad, header.tag);
      assert.deepEqual(JSON.parse(plaintext.toString("utf8")), [[data, "app"]]);
      if (iterations > 0) {
        assert.throws(() => refDecrypt(refKeyAndIv(IKM, header.sid), ciphertext, aad, header.tag), "HKDF key must not open a PBKDF2 cookie");
      }

      // The session cookie of the same save is HKDF-sealed whatever remember_safety says.
      const session = refSplitCookie(setCookieValue(lines, "session")!);
      assert.notDeepEqual(session.header.sid, header.sid, "the two cookies have their own ids");
      assert.deepEqual(JSON.parse(refOpen(IKM, session.header, session.payloadText)), [[data, "app"]]);
    });
  }
});

describe("deflate, recomputed with node:zlib", () => {
  it("JSON longer than compression_threshold is raw-deflated before sealing (FLAG_DEFLATE 0x0010)", async () => {
    const data = { blob: "abcdefgh".repeat(400) };
    const { lines } = await saveOne({ secret: SECRET, audience: "app" }, data);
    const { header, payloadText } = refSplitCookie(setCookieValue(lines, "session")!);
    assert.equal(header.flags & REF_FLAG_DEFLATE, REF_FLAG_DEFLATE);
    assert.equal(header.flags & ~REF_FLAG_DEFLATE, 0);
    const json = JSON.stringify([[data, "app"]]);
    assert.ok(fromB64u(payloadText).length < json.length, "the sealed payload is the compressed JSON");
    assert.deepEqual(JSON.parse(refOpen(IKM, header, payloadText)), [[data, "app"]]);
  });

  it("JSON at or below the threshold is not deflated", async () => {
    const data = { blob: "x".repeat(900) };
    const json = JSON.stringify([[data, "default"]]);
    assert.ok(json.length <= 1024);
    const { lines } = await saveOne({ secret: SECRET }, data);
    const { header, payloadText } = refSplitCookie(setCookieValue(lines, "session")!);
    assert.equal(header.flags & REF_FLAG_DEFLATE, 0);
    assert.equal(header.dataSize, base64UrlLength(Buffer.byteLength(json)));
    assert.deepEqual(JSON.parse(refOpen(IKM, header, payloadText)), [[data, "default"]]);
  });

  it("the threshold is exclusive: JSON of exactly compression_threshold bytes stays plain, one more is deflated", async () => {
    const at = { b: "a".repeat(78) };
    assert.equal(JSON.stringify([[at, "default"]]).length, 100);
    const plain = await saveOne({ secret: SECRET, compression_threshold: 100 }, at);
    assert.equal(refSplitCookie(setCookieValue(plain.lines, "session")!).header.flags & REF_FLAG_DEFLATE, 0);
    const over = { b: "a".repeat(79) };
    const deflated = await saveOne({ secret: SECRET, compression_threshold: 100 }, over);
    const { header, payloadText } = refSplitCookie(setCookieValue(deflated.lines, "session")!);
    assert.equal(header.flags & REF_FLAG_DEFLATE, REF_FLAG_DEFLATE);
    assert.deepEqual(JSON.parse(refOpen(IKM, header, payloadText)), [[over, "default"]]);
  });

  it("compression_threshold 0 disables deflate", async () => {
    const data = { blob: "abcdefgh".repeat(400) };
    const { lines } = await saveOne({ secret: SECRET, compression_threshold: 0 }, data);
    const { header } = refSplitCookie(setCookieValue(lines, "session")!);
    assert.equal(header.flags & REF_FLAG_DEFLATE, 0);
    assert.equal(header.dataSize, base64UrlLength(Buffer.byteLength(JSON.stringify([[data, "default"]]))));
  });

  it("deflate is skipped when it does not make the JSON smaller", async () => {
    // 17 bytes of JSON over a threshold of 16: raw deflate of so little text is longer than the text.
    const data = { a: 1 };
    assert.equal(JSON.stringify([[data, "app"]]).length, 17);
    const { lines } = await saveOne({ secret: SECRET, audience: "app", compression_threshold: 16 }, data);
    const { header, payloadText } = refSplitCookie(setCookieValue(lines, "session")!);
    assert.equal(header.flags & REF_FLAG_DEFLATE, 0);
    assert.equal(header.dataSize, base64UrlLength(17));
    assert.deepEqual(JSON.parse(refOpen(IKM, header, payloadText)), [[data, "app"]]);
  });
});

describe("bind, recomputed with node:crypto", () => {
  it('bind "ip": MAC input = header[0:66] || "#" || SHA-256("127.0.0.1")', async () => {
    // Scheme and user agent are present on the request but not bound: only the address counts.
    const request = { remoteAddress: "127.0.0.1", scheme: "https", userAgent: "UA/1" };
    const { lines } = await saveOne({ secret: SECRET, bind: ["ip"] }, { a: 1 }, undefined, request);
    const { header, payloadText } = refSplitCookie(setCookieValue(lines, "session")!);
    assert.equal(header.flags, REF_FLAG_BIND_IP);
    const head = header.bytes.subarray(0, 66);
    const bound = Buffer.concat([head, Buffer.from("#"), sha256Raw("127.0.0.1")]);
    assert.deepEqual(header.mac, refMac(IKM, header.sid, bound));
    assert.notDeepEqual(header.mac, refMac(IKM, header.sid, head), "the unbound header alone does not verify");
    assert.deepEqual(JSON.parse(refOpen(IKM, header, payloadText, { boundValues: ["127.0.0.1"] })), [[{ a: 1 }, "default"]]);
  });

  it("bind ip, scheme and user agent: values joined with | in the order ip, scheme, user agent", async () => {
    const request = { remoteAddress: "10.1.2.3", scheme: "https", userAgent: "Agent/1.0 (test)" };
    const { lines } = await saveOne({ secret: SECRET, bind: ["user_agent", "scheme", "ip"] }, { a: 1 }, undefined, request);
    const { header } = refSplitCookie(setCookieValue(lines, "session")!);
    assert.equal(header.flags, REF_FLAG_BIND_IP | REF_FLAG_BIND_SCHEME | REF_FLAG_BIND_USER_AGENT);
    const input = refMacInput(header.bytes, ["10.1.2.3", "https", "Agent/1.0 (test)"]);
    assert.deepEqual(input.subarray(66), Buffer.concat([Buffer.from("#"), sha256Raw("10.1.2.3|https|Agent/1.0 (test)")]));
    assert.deepEqual(header.mac, refMac(IKM, header.sid, input));
  });
});

describe("server-side storage, recomputed with node:crypto", () => {
  it("cookie = the 110-character header only (FLAG_STORAGE), record = JSON [base64url(ciphertext)] under name:base64url(sid)", async () => {
    const storage = createMemoryStorage();
    const { lines } = await saveOne({ secret: SECRET, storage, audience: "app" }, { name: "John" }, "john@example.com");
    const value = setCookieValue(lines, "session")!;
    assert.equal(value.length, 110);
    const { header } = refSplitCookie(value);
    assert.equal(header.flags, REF_FLAG_STORAGE);
    const key = "session:" + b64u(header.sid);
    assert.deepEqual(Object.keys(storage.records), [key]);
    const record = JSON.parse(storage.records[key].value);
    assert.ok(Array.isArray(record) && record.length === 1 && typeof record[0] === "string");
    assert.equal(header.dataSize, record[0].length);
    assert.deepEqual(JSON.parse(refOpen(IKM, header, record[0])), [[{ name: "John" }, "app", "john@example.com"]]);
  });
});

describe("storage keys and metadata, recomputed", () => {
  function capturingStorage() {
    const calls: Array<{ name: string; key: string; metadata: unknown }> = [];
    const inner = createMemoryStorage();
    const storage = {
      ...inner,
      set(name: string, key: string, value: string, ttl: number, now: number, oldKey?: string, staleTtl?: number, metadata?: unknown) {
        calls.push({ name, key, metadata });
        return inner.set(name, key, value, ttl, now, oldKey, staleTtl);
      },
    };
    return { storage, calls };
  }

  it("hash_storage_key: the key is base64url(SHA-256(sid))", async () => {
    const { storage, calls } = capturingStorage();
    const { lines } = await saveOne({ secret: SECRET, storage, hash_storage_key: true }, { a: 1 });
    const { header } = refSplitCookie(setCookieValue(lines, "session")!);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].key, b64u(createHash("sha256").update(header.sid).digest()));
  });

  it("store_metadata: base64url audience and subject; hash_subject: base64url(SHA-256(subject)[0:16])", async () => {
    const plain = capturingStorage();
    await saveOne({ secret: SECRET, storage: plain.storage, store_metadata: true, audience: "app" }, { a: 1 }, "john@example.com");
    assert.deepEqual(plain.calls[0].metadata, { audiences: [b64u(Buffer.from("app"))], subjects: [b64u(Buffer.from("john@example.com"))] });

    const hashed = capturingStorage();
    await saveOne({ secret: SECRET, storage: hashed.storage, store_metadata: true, hash_subject: true, audience: "app" }, { a: 1 }, "john@example.com");
    const digest = createHash("sha256").update("john@example.com").digest().subarray(0, 16);
    assert.deepEqual(hashed.calls[0].metadata, { audiences: [b64u(Buffer.from("app"))], subjects: [b64u(digest)] });

    const none = capturingStorage();
    await saveOne({ secret: SECRET, storage: none.storage, audience: "app" }, { a: 1 }, "john@example.com");
    assert.equal(none.calls[0].metadata, undefined, "no metadata without store_metadata");
  });
});

describe("setRemember(false), recomputed", () => {
  it("sets FLAG_FORGET (0x0002) in the session cookie and writes no remember cookie", async () => {
    const env = createEnv(T0);
    const exchange = env.request();
    const session = env.library.new(exchange, { secret: SECRET, remember: true, remember_safety: "None" });
    session.setRemember(false);
    assert.equal((await session.save()).ok, true);
    assert.equal(setCookieLine(exchange.responseCookies, "remember"), undefined);
    const { header } = refSplitCookie(setCookieValue(exchange.responseCookies, "session")!);
    assert.equal(header.flags, REF_FLAG_FORGET);
    assert.deepEqual(header.mac, refMac(IKM, header.sid, header.bytes.subarray(0, REF.mac)));
  });
});

/** SHA-256 spelled directly with node:crypto (not through the reference module). */
function sha256Raw(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
