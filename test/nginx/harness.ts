/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * dist/test-harness.js: js_content handlers used only by t/*.t. They drive the same core as
 * dist/session.js inside a real nginx, with the clock and the options taken from the request body, so
 * the Test::Nginx files can replay the lua-resty-session vectors and exercise every path under both
 * engines. Never loaded by the product.
 *
 * Request body (JSON): { options, now?, expected?, data?, subject?, audience?, remember? }
 * where options may carry ikm_b64url / ikm_fallbacks_b64url like the vectors do; sealPayload takes
 * { options, now?, payload? | payload_b64url? } instead.
 */

import { createSessionLibrary } from "../../src/core/api";
import { base64UrlSize, decodeBase64Url, encodeBase64Url, utf8Encode } from "../../src/core/bytes";
import type { SessionOptions } from "../../src/core/options";
import { chunkCookieName, cookieChunkCount, firstChunkPayloadSize, nextChunkPayloadSize } from "../../src/core/cookies";
import { FLAG_DEFLATE, HEADER_AAD_SIZE, HEADER_MAC_INPUT_SIZE } from "../../src/core/format";
import { buildHeader, setMac, setTag } from "../../src/core/header";
import { calculateMac, deriveAesKeyAndIv } from "../../src/core/keys";
import type { Storage } from "../../src/core/storage";
import { createNjsExchange, createNjsPlatform } from "../../src/platform/njs";
import { registerBuiltinStorages } from "../../src/storage";

registerBuiltinStorages();

interface HarnessRequest {
  options?: { [name: string]: unknown };
  now?: number;
  expected?: { data: unknown; audience: string; subject?: string | null };
  data?: { [key: string]: unknown };
  subject?: string;
  audience?: string;
  remember?: boolean;
  store?: { key: string; value: string };
  /** sealPayload: the decrypted payload's JSON text, or its raw bytes (base64url) when not UTF-8. */
  payload?: string;
  payload_b64url?: string;
}

function readRequest(r: NginxHTTPRequest): HarnessRequest {
  const text = r.requestText;
  return text ? JSON.parse(String(text)) : {};
}

/** A storage holding one preset record: the vectors' shm entries, read-only. */
function presetStorage(store: { key: string; value: string } | undefined): Storage {
  return {
    set: function () {
      throw new Error("preset storage is read-only");
    },
    get: function (name: string, key: string) {
      return store && store.key === name + ":" + key ? store.value : null;
    },
    delete: function () {},
  };
}

function toOptions(request: HarnessRequest): SessionOptions {
  const source = request.options || {};
  const options: { [name: string]: unknown } = {};
  const names = Object.keys(source);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const value = source[name];
    if (name === "ikm_b64url") options.ikm = decodeBase64Url(value as string);
    else if (name === "ikm_fallbacks_b64url") {
      options.ikm_fallbacks = (value as string[]).map(function (key) {
        return decodeBase64Url(key);
      });
    } else options[name] = value;
  }
  // The vectors' shm cases carry their record; anything else uses the real shm storage (a zone).
  if (options.storage === "shm" && request.store) options.storage = presetStorage(request.store);
  return options as SessionOptions;
}

function platformFor(request: HarnessRequest) {
  const now = request.now;
  return createNjsPlatform(
    now === undefined
      ? undefined
      : {
          now: function () {
            return now;
          },
        },
  );
}

function libraryFor(request: HarnessRequest) {
  return createSessionLibrary(platformFor(request));
}

/** Deep equality with numbers compared as numbers (the peer's JSON prints 2^53 as 9.007199254741e+15). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const objectA = a as { [key: string]: unknown };
  const objectB = b as { [key: string]: unknown };
  const keysA = Object.keys(objectA);
  if (keysA.length !== Object.keys(objectB).length) return false;
  for (let i = 0; i < keysA.length; i++) {
    if (!Object.prototype.hasOwnProperty.call(objectB, keysA[i])) return false;
    if (!sameValue(objectA[keysA[i]], objectB[keysA[i]])) return false;
  }
  return true;
}

function reply(r: NginxHTTPRequest, status: number, body: string): void {
  r.headersOut["Content-Type"] = "text/plain";
  r.return(status, body + "\n");
}

/**
 * Opens the request's cookies with the given options and clock. Answers "accept: match",
 * "accept: mismatch <details>" or "reject: <reason>".
 */
async function openCase(r: NginxHTTPRequest): Promise<void> {
  const request = readRequest(r);
  const opened = await libraryFor(request).open(createNjsExchange(r), toOptions(request));
  if (!opened.exists) return reply(r, 200, "reject: " + opened.error);
  const actual = {
    data: opened.session.getData(),
    audience: opened.session.getAudience(),
    subject: opened.session.getSubject() === undefined ? null : opened.session.getSubject(),
  };
  const expected = request.expected;
  if (!expected) return reply(r, 200, "accept: " + JSON.stringify(actual));
  const wanted = { data: expected.data, audience: expected.audience, subject: expected.subject === undefined ? null : expected.subject };
  if (sameValue(actual, wanted)) return reply(r, 200, "accept: match");
  reply(r, 200, "accept: mismatch " + JSON.stringify(actual));
}

/** Creates a session with the given data and saves it: the Set-Cookie lines are the result. */
async function saveCase(r: NginxHTTPRequest): Promise<void> {
  const request = readRequest(r);
  const session = libraryFor(request).new(createNjsExchange(r), toOptions(request));
  if (request.audience !== undefined) session.setAudience(request.audience);
  if (request.subject !== undefined) session.setSubject(request.subject);
  if (request.data !== undefined) session.setData(request.data);
  if (request.remember !== undefined) session.setRemember(request.remember);
  const saved = await session.save();
  reply(r, 200, saved.ok ? "saved" : "save failed: " + saved.error);
}

/**
 * Seals the given payload (the entries array [[data, audience, subject?], ...] as JSON text, or raw
 * bytes) into a session cookie with the format's own pieces, as lua-resty-session would write it:
 * nothing of Session runs, so no check of ours decides what the cookie may hold (a subject with a line
 * break, invalid UTF-8). Cookie storage only; deflated past compression_threshold and chunked, like
 * save() and the peer. The Set-Cookie lines are the result.
 */
async function sealPayload(r: NginxHTTPRequest): Promise<void> {
  const request = readRequest(r);
  const platform = platformFor(request);
  const settings = createSessionLibrary(platform).settings(toOptions(request));
  let plaintext = request.payload_b64url !== undefined ? decodeBase64Url(request.payload_b64url) : utf8Encode(String(request.payload));
  if (!plaintext) return reply(r, 400, "payload_b64url is not base64url");
  let flags = 0;
  if (settings.compressionThreshold !== 0 && plaintext.length > settings.compressionThreshold) {
    const deflated = platform.deflateRaw(plaintext);
    if (deflated.length < plaintext.length) {
      flags = FLAG_DEFLATE;
      plaintext = deflated;
    }
  }
  const sid = platform.randomBytes(32);
  const dataSize = base64UrlSize(plaintext.length);
  const chunks = cookieChunkCount(settings.cookieName.length, dataSize);
  if (chunks === null) return reply(r, 400, "payload too large for nine cookies");
  const header = buildHeader(flags, sid, platform.now(), 0, dataSize);
  const keys = deriveAesKeyAndIv(platform, settings.ikm, sid);
  const aesKey = await platform.aesGcmEncryptionKey(keys.key);
  const encrypted = await platform.aesGcmEncrypt(aesKey, keys.iv, plaintext, header.slice(0, HEADER_AAD_SIZE));
  const sealed = { ciphertext: new Uint8Array(encrypted, 0, encrypted.byteLength - 16), tag: new Uint8Array(encrypted, encrypted.byteLength - 16) };
  setTag(header, sealed.tag);
  setMac(header, calculateMac(platform, settings.ikm, sid, header.subarray(0, HEADER_MAC_INPUT_SIZE)));
  const payload = encodeBase64Url(sealed.ciphertext);
  const name = settings.cookieName;
  const lines: string[] = [];
  if (chunks === 1) lines.push(name + "=" + encodeBase64Url(header) + payload + settings.cookieAttributes);
  else {
    const firstSize = firstChunkPayloadSize(name.length);
    const nextSize = nextChunkPayloadSize(name.length);
    lines.push(name + "=" + encodeBase64Url(header) + payload.substring(0, firstSize) + settings.cookieAttributes);
    for (let i = 2, offset = firstSize; i <= chunks; i++, offset += nextSize) {
      lines.push(chunkCookieName(name, i) + "=" + payload.substring(offset, offset + nextSize) + settings.cookieAttributes);
    }
  }
  r.headersOut["Set-Cookie"] = lines;
  reply(r, 200, "sealed");
}

/** resty.session's start(): open and refresh; reports whether a cookie was re-issued. */
async function startCase(r: NginxHTTPRequest): Promise<void> {
  const request = readRequest(r);
  const started = await libraryFor(request).start(createNjsExchange(r), toOptions(request));
  if (!started.exists) return reply(r, 200, "reject: " + started.error);
  reply(r, 200, "started: refreshed=" + started.refreshed + " subject=" + started.session.getSubject());
}

async function logoutCase(r: NginxHTTPRequest): Promise<void> {
  const request = readRequest(r);
  const result = await libraryFor(request).logout(createNjsExchange(r), toOptions(request));
  reply(r, 200, "logout: ok=" + result.ok + " exists=" + result.exists + (result.error ? " error=" + result.error : ""));
}

async function destroyCase(r: NginxHTTPRequest): Promise<void> {
  const request = readRequest(r);
  const result = await libraryFor(request).destroy(createNjsExchange(r), toOptions(request));
  reply(r, 200, "destroy: ok=" + result.ok + " exists=" + result.exists + (result.error ? " error=" + result.error : ""));
}

/** Which engine runs this module: lets a test prove the engine switch really happened. */
function engine(r: NginxHTTPRequest): void {
  // njs.engine ("njs" or "QuickJS") is newer than njs-types 0.9.4.
  const engineName = (njs as unknown as { engine?: string }).engine;
  reply(r, 200, engineName ? engineName : "unknown");
}

export default {
  openCase: openCase,
  saveCase: saveCase,
  sealPayload: sealPayload,
  startCase: startCase,
  logoutCase: logoutCase,
  destroyCase: destroyCase,
  engine: engine,
};
