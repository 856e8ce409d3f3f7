/**
 * The core's platform inside nginx, for both njs engines: the njs `crypto` module for synchronous
 * SHA-256/HMAC, WebCrypto (`crypto.subtle`) for AES-GCM and PBKDF2, the `zlib` module for deflate.
 * Byte arrays are handed over as plain Uint8Array views: QuickJS refuses some inputs the njs engine
 * accepts (a string for `crypto.subtle.digest`, for one), so nothing here relies on coercion.
 */

/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />

import nodeCrypto from "crypto";
import fs from "fs";
import zlib from "zlib";
import type { Exchange, FileSystem, LogLevel, Platform, Sha256State, StoreReader, StoreReadPlatform, StoreRequest, WarmPlatform } from "../core/platform";
import { leadingBytes } from "../core/bytes";
import { mergeSetCookie } from "../core/cookies";
import { errorCode } from "../core/errors";
import type { SealingPlatform } from "../core/cookie-sealing";
import type { BindSource } from "../core/session";
import type { SharedDict } from "../core/shared-dict";
import { njsLocationGet, njsLocationValue } from "./njs-location-get";

/** The calls made on a Hash of njs's crypto module. */
interface NjsHash {
  copy(): NjsHash;
  update(data: Uint8Array): NjsHash;
  digest(): Uint8Array;
}

function bytes(buffer: ArrayBuffer | Uint8Array): Uint8Array {
  return buffer instanceof Uint8Array
    ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    : new Uint8Array(buffer);
}

/**
 * The WebCrypto calls made here, typed as njs implements them: njs-types 0.9.4 leaves AES-GCM out of
 * encrypt()/decrypt() and misspells PBKDF2's `iterations`.
 */
interface SubtleSubset {
  importKey(format: "raw", key: Uint8Array, algorithm: string, extractable: boolean, usages: string[]): Promise<object>;
  deriveBits(
    algorithm: { name: "PBKDF2"; hash: "SHA-256"; salt: Uint8Array; iterations: number },
    key: object,
    length: number,
  ): Promise<ArrayBuffer>;
  encrypt(algorithm: AesGcm, key: object, data: Uint8Array): Promise<ArrayBuffer>;
  decrypt(algorithm: AesGcm, key: object, data: Uint8Array): Promise<ArrayBuffer>;
}

interface AesGcm {
  name: "AES-GCM";
  iv: Uint8Array;
  additionalData: Uint8Array;
  tagLength: number;
}

export interface NjsPlatformOptions {
  /** Clock override (unix seconds). */
  now?: () => number;
}

// The members both platforms below share, declared once: an object made per request refers to them
// instead of making a closure of each. The njs engine's warm check calls the clock and the zones
// directly: a platform object is made only for the requests that need one (createNjsWarmPlatform).
export function njsNow(): number {
  return Math.floor(Date.now() / 1000);
}
// The digests are Buffers, handed over as they are: a Buffer is a Uint8Array, and another view per
// hash would be work for nothing on every request (see Platform.sha256 for what it implies).
function njsSha256(data: Uint8Array): Uint8Array {
  return nodeCrypto.createHash("sha256").update(data).digest();
}
function njsSha256Base64Url(data: Uint8Array): string {
  return nodeCrypto.createHash("sha256").update(data).digest("base64url");
}
// The level by comparisons, not a table: under the njs engine a table would be built again on every
// request by each part that logs, whether it logs or not. "debug" is not logged.
function njsLog(level: LogLevel, message: string): void {
  const ngxLevel = level === "info" ? ngx.INFO : level === "warn" ? ngx.WARN : level === "error" ? ngx.ERR : undefined;
  if (ngxLevel !== undefined) ngx.log(ngxLevel, message);
}
export function njsSharedDict(zone: string): SharedDict | undefined {
  const shared = (ngx as unknown as { shared?: { [zone: string]: unknown } }).shared;
  return shared ? (shared[zone] as SharedDict | undefined) : undefined;
}

// Members of the crypto platform that the cold part's platforms below share with it.
function njsHmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return nodeCrypto.createHmac("sha256", key).update(data).digest();
}
function njsHmacSha256Parts(key: Uint8Array, first: Uint8Array, second: Uint8Array, third?: Uint8Array, fourth?: Uint8Array): Uint8Array {
  const hmac = nodeCrypto.createHmac("sha256", key).update(first).update(second);
  if (third) hmac.update(third);
  if (fourth) hmac.update(fourth);
  return hmac.digest();
}
function njsSha256Started(prefix: Uint8Array): Sha256State {
  return nodeCrypto.createHash("sha256").update(prefix);
}
// The state's copy() continues it, so the state itself is never finished (njs 0.7.12+: the floor has it).
function njsSha256Continued(state: Sha256State, first: Uint8Array, second?: Uint8Array, third?: Uint8Array, fourth?: Uint8Array): Uint8Array {
  const hash = (state as NjsHash).copy().update(first);
  if (second) hash.update(second);
  if (third) hash.update(third);
  if (fourth) hash.update(fourth);
  return hash.digest();
}
/** importKey's usages for a decryption key: one array, read (never changed) by every cold request's import. */
const DECRYPT_USAGES = ["decrypt"];
async function njsAesGcmDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array, tag: Uint8Array): Promise<Uint8Array | null> {
  const subtle = crypto.subtle as unknown as SubtleSubset;
  const cryptoKey = await subtle.importKey("raw", key, "AES-GCM", false, DECRYPT_USAGES);
  const sealed = new Uint8Array(ciphertext.length + tag.length);
  sealed.set(ciphertext);
  sealed.set(tag, ciphertext.length);
  try {
    const plaintext = await subtle.decrypt(
      { name: "AES-GCM", iv: iv, additionalData: aad, tagLength: 128 },
      cryptoKey,
      sealed,
    );
    // decrypt() answers an ArrayBuffer: its view at once (bytes() would ask which it is first).
    return new Uint8Array(plaintext);
  } catch (e) {
    return null;
  }
}
function njsInflateRaw(data: Uint8Array, maxSize: number): Uint8Array | null {
  // njs's inflate has no output limit; the payload was authenticated before it gets here, so only
  // a holder of the key could send a bomb, and the size is still checked.
  // A plain view of the Buffer inflateRawSync answers, made by leadingBytes, which the njs engine's
  // cold part declares anyway: bytes() would be one more function to declare on each of its loads.
  try {
    const inflated = zlib.inflateRawSync(data);
    return inflated.length > maxSize ? null : leadingBytes(inflated, inflated.length);
  } catch (e) {
    return null;
  }
}

/**
 * The platform of the stores a warm check's view may name (src/nginx/warm-stores.ts: shm storage, a
 * registry, store_revalidate's bound), made only for such a view: the members they call, and none of
 * the crypto, file system and store transport.
 */
export function createNjsWarmPlatform(): WarmPlatform {
  return { now: njsNow, sha256: njsSha256, log: njsLog, sharedDict: njsSharedDict };
}

/** The same with the store transport, for the warm check's record read (src/nginx/store-reads.ts). */
export function createNjsStoreReadPlatform(): StoreReadPlatform {
  return { now: njsNow, sha256: njsSha256, log: njsLog, sharedDict: njsSharedDict, storeExchange: fetchFromStore };
}

/**
 * What the njs engine's warm check hands fastCheck's checkVerified as its platform (it hashes only to
 * find a shm record's hashed key): one member, instead of a platform object of four made on every warm
 * request (createNjsWarmPlatform's, for the views that need one).
 */
export const njsWarmHashing: Pick<Platform, "sha256"> = { sha256: njsSha256 };

/**
 * The njs engine's cold part's platform for opening a cookie (cold-check.ts): only what it calls, made
 * on each request the part runs (every member is a property to set, and the part's bundle holds no
 * other member's code).
 */
export function createNjsOpeningPlatform(): Pick<Platform, "sha256" | "sha256Base64Url" | "hmacSha256" | "hmacSha256Parts" | "aesGcmDecrypt" | "inflateRaw"> {
  return { sha256: njsSha256, sha256Base64Url: njsSha256Base64Url, hmacSha256: njsHmacSha256, hmacSha256Parts: njsHmacSha256Parts, aesGcmDecrypt: njsAesGcmDecrypt, inflateRaw: njsInflateRaw };
}

/**
 * Likewise for the njs engine's login part (login-part.ts): reading the login view and sealing a new
 * cookie (login-save.ts), instead of the full platform's members, closures and store transport.
 */
export function createNjsSealingPlatform(): WarmPlatform & SealingPlatform {
  return { now: njsNow, sha256: njsSha256, log: njsLog, sharedDict: njsSharedDict, randomBytes: njsRandomBytes, hmacSha256: njsHmacSha256, hmacSha256Parts: njsHmacSha256Parts, aesGcmEncryptionKey: njsAesGcmEncryptionKey, aesGcmEncrypt: njsAesGcmEncrypt };
}

/** Likewise for touching one (touch-check.ts): a header's MAC made again. */
export function createNjsMacPlatform(): Pick<Platform, "sha256" | "hmacSha256" | "hmacSha256Parts"> {
  return { sha256: njsSha256, hmacSha256: njsHmacSha256, hmacSha256Parts: njsHmacSha256Parts };
}

/**
 * The full platform: createNjsCryptoPlatform's members, the file system and the store transport.
 */
export function createNjsPlatform(options?: NjsPlatformOptions): Platform {
  const platform = createNjsCryptoPlatform(options);
  platform.files = njsFiles;
  platform.storeExchange = fetchFromStore;
  platform.locationGet = njsLocationGet;
  platform.locationValue = njsLocationValue;
  return platform;
}

// Members of the crypto platform that the login part's platform (above) shares with it.
function njsRandomBytes(size: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(size)) as Uint8Array;
}
/** importKey's usages for an encryption key: one array, read (never changed) by every save's import. */
const ENCRYPT_USAGES = ["encrypt"];
// WebCrypto's own promises handed over as they are: an async function around them would add a job.
function njsAesGcmEncryptionKey(key: Uint8Array): Promise<object> {
  return (crypto.subtle as unknown as SubtleSubset).importKey("raw", key, "AES-GCM", false, ENCRYPT_USAGES);
}
function njsAesGcmEncrypt(cryptoKey: object, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<ArrayBuffer> {
  return (crypto.subtle as unknown as SubtleSubset).encrypt({ name: "AES-GCM", iv: iv, additionalData: aad, tagLength: 128 }, cryptoKey, plaintext);
}

/**
 * The platform without a file system or a store transport, which createNjsPlatform completes (the njs
 * engine's cold and touch parts make narrower ones, above).
 */
function createNjsCryptoPlatform(options?: NjsPlatformOptions): Platform {
  const subtle = crypto.subtle as unknown as SubtleSubset;
  // QuickJS reuses a request's context (module state included) for later requests; the njs engine
  // clones the module afresh for each one.
  const keepsModuleState = typeof njs !== "undefined" && (njs as unknown as { engine?: string }).engine === "QuickJS";
  return {
    now: (options && options.now) || njsNow,
    randomBytes: njsRandomBytes,
    sha256: njsSha256,
    sha256Base64Url: njsSha256Base64Url,
    hmacSha256: njsHmacSha256,
    hmacSha256Parts: njsHmacSha256Parts,
    sha256Started: keepsModuleState ? njsSha256Started : undefined,
    sha256Continued: keepsModuleState ? njsSha256Continued : undefined,
    pbkdf2Sha256: async function (password, salt, iterations, size) {
      const key = await subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
      // No `await` inside call arguments: njs < 0.9.7 refuses it at compile time (the 0.8.9 floor).
      const bits = await subtle.deriveBits(
        { name: "PBKDF2", hash: "SHA-256", salt: salt, iterations: iterations },
        key,
        size * 8,
      );
      return bytes(bits);
    },
    aesGcmEncryptionKey: njsAesGcmEncryptionKey,
    aesGcmEncrypt: njsAesGcmEncrypt,
    aesGcmDecrypt: njsAesGcmDecrypt,
    deflateRaw: function (data) {
      return bytes(zlib.deflateRawSync(data));
    },
    inflateRaw: njsInflateRaw,
    log: njsLog,
    sharedDict: njsSharedDict,
    keepsModuleState: keepsModuleState,
  };
}


/** What ngx.fetch() answers that hints at a missing bridge rather than at the store. */
const NOT_THE_BRIDGE = /invalid http|connect failed|prematurely closed/;

/**
 * A store round trip through the store bridge (nginx/store-bridge.conf) with ngx.fetch(). Normally the
 * URL names the store itself and `js_fetch_proxy` sends it to the bridge ("proxy mode"): ngx.fetch's
 * keepalive cache is keyed by that URL's address, so each store gets its own pool of bridge
 * connections. With `bridge` (njs without js_fetch_proxy) the URL is the bridge's and Host names the
 * store; the bridge then closes each connection after its reply.
 */
/**
 * The last store request's URL and what it was made of. Every session check's read asks the same store
 * the same way: its URL is then eight string concatenations (each an allocation under QuickJS) fewer.
 * It names a store and counts, nothing of a request's identity.
 */
let lastUrl = "";
let lastUrlTarget = "";
let lastUrlBridge: string | undefined = undefined;
let lastUrlProtocol = "";
let lastUrlCommands = 0;
let lastUrlPrelude = 0;
let lastUrlTimeout = 0;

/** The bridge URL for `request`: its store in the URL (js_fetch_proxy), or the bridge's own (`bridge`). */
function storeUrl(request: StoreRequest): string {
  if (
    request.target === lastUrlTarget &&
    request.commands === lastUrlCommands &&
    request.prelude === lastUrlPrelude &&
    request.timeout === lastUrlTimeout &&
    request.protocol === lastUrlProtocol &&
    request.bridge === lastUrlBridge
  ) {
    return lastUrl;
  }
  const query = "/" + request.protocol + "?n=" + request.commands + "&p=" + request.prelude + "&t=" + request.timeout;
  lastUrl = (request.bridge ? request.bridge : "http://" + request.target) + query;
  lastUrlTarget = request.target;
  lastUrlBridge = request.bridge;
  lastUrlProtocol = request.protocol;
  lastUrlCommands = request.commands;
  lastUrlPrelude = request.prelude;
  lastUrlTimeout = request.timeout;
  return lastUrl;
}

async function fetchFromStore<A, T>(request: StoreRequest, reader: StoreReader<A, T>, asking: A): Promise<T> {
  const init: { method: string; body: string; headers?: { [name: string]: string } } = { method: "POST", body: request.payload };
  const url = storeUrl(request);
  if (request.bridge) init.headers = { Host: request.target };
  // Awaited, not chained: a handler that returns arrayBuffer()'s promise has it adopted, which costs
  // QuickJS two more promise jobs on every round trip than an await does.
  let reply: Response;
  try {
    reply = await ngx.fetch(url, init as unknown as NgxFetchOptions);
  } catch (e) {
    return reader.failed(bridgeUnreachable(e), asking);
  }
  let replies: ArrayBuffer;
  try {
    if (reply.status !== 200) await bridgeRefused(reply);
    replies = await reply.arrayBuffer();
  } catch (e) {
    return reader.failed(e, asking);
  }
  return reader.read(new Uint8Array(replies), asking);
}

/** Any status but 200 is the bridge's error answer, its body the reason: rejects with it. */
function bridgeRefused(reply: Response): Promise<never> {
  return reply.text().then(function (text: string) {
    throw new Error("store bridge answered " + reply.status + ": " + String(text).trim().substring(0, 200));
  });
}

/** Why ngx.fetch could not reach the store bridge, with a hint when it looks like no bridge at all. */
function bridgeUnreachable(e: unknown): Error {
  const reason = e && (e as Error).message ? String((e as Error).message) : String(e);
  const hint = NOT_THE_BRIDGE.test(reason) ? " (is js_fetch_proxy set to the store bridge? see nginx/store-bridge.conf)" : "";
  return new Error("store bridge: " + reason + hint);
}

/** File storage's file system: njs's synchronous fs calls (a session file is small; no await). */
const njsFiles: FileSystem = {
  read: function (path) {
    try {
      return fs.readFileSync(path, "utf8") as string;
    } catch (e) {
      if (errorCode(e) === "ENOENT") return null;
      throw e;
    }
  },
  writeAtomic: function (path, data, mode) {
    const temporary = path + ".tmp-" + nodeCrypto.createHash("sha256").update(String(Math.random()) + Date.now()).digest("hex").substring(0, 12);
    try {
      fs.writeFileSync(temporary, data, { mode: mode });
      fs.renameSync(temporary, path);
    } catch (e) {
      try {
        fs.unlinkSync(temporary);
      } catch (ignored) {
        // Already gone, or never written.
      }
      throw e;
    }
  },
  remove: function (path) {
    try {
      fs.unlinkSync(path);
    } catch (e) {
      if (errorCode(e) !== "ENOENT") throw e;
    }
  },
  list: function (directory) {
    return fs.readdirSync(directory) as string[];
  },
  modifiedAt: function (path) {
    try {
      return Math.floor((fs.statSync(path) as unknown as { mtimeMs: number }).mtimeMs / 1000);
    } catch (e) {
      if (errorCode(e) === "ENOENT") return null;
      throw e;
    }
  },
};

/*
 * The request views below are object literals whose methods are module-level functions reading
 * `this`: a closure per method and request costs QuickJS more than the whole view, and a class would
 * be built by the module's top level, which the njs engine runs for every request.
 */

interface RequestView {
  r: NginxHTTPRequest;
}

function viewRemoteAddress(this: RequestView): string | undefined {
  return this.r.remoteAddress;
}

function viewScheme(this: RequestView): string | undefined {
  // $scheme, or the front's in a check server; $scheme itself where njs-session.conf (which declares
  // the variable) is not included (a user's own handlers).
  let scheme = this.r.variables.session_request_scheme;
  if (scheme === undefined) scheme = this.r.variables.scheme;
  return scheme === undefined ? undefined : String(scheme);
}

function viewUserAgent(this: RequestView): string | undefined {
  const agent = this.r.headersIn["User-Agent"];
  return agent === undefined ? undefined : String(agent);
}

/** The request attributes a session can be bound to, read only when asked (the fast check's view). */
export function njsBindSource(r: NginxHTTPRequest): BindSource {
  const view: RequestView & BindSource = { r: r, remoteAddress: viewRemoteAddress, scheme: viewScheme, userAgent: viewUserAgent };
  return view;
}

interface ExchangeView extends RequestView {
  responseCookies: string[] | null;
}

function exchangeCookieHeader(this: ExchangeView): string | undefined {
  const header = this.r.headersIn["Cookie"];
  return header === undefined ? undefined : String(header);
}

function exchangeNothing(): void {}

function exchangeSetResponseHeader(this: ExchangeView, name: string, value: string): void {
  this.r.headersOut[name] = value;
}

/** The response's Set-Cookie lines, a new array: njs gives one line as a string, several as an array. */
export function njsResponseCookies(r: NginxHTTPRequest): string[] {
  const existing = r.headersOut["Set-Cookie"];
  return existing === undefined ? [] : ([] as string[]).concat(existing as string | string[]);
}

/**
 * core/cookies.ts's setResponseCookie on r's response itself, without an exchange: the lines already
 * set with this cookie's merged in (mergeSetCookie), put back; returns them. For the checks that
 * re-issue a cookie without a Session (a touch): an exchange object and its calls cost QuickJS more
 * than the merge (under concurrency each distinct function a request calls is read from memory).
 */
export function njsSetResponseCookie(r: NginxHTTPRequest, name: string, line: string): string[] {
  // njsResponseCookies' array is a copy: merging into it changes nothing nginx holds until put back.
  const cookies = mergeSetCookie(njsResponseCookies(r), name, line);
  r.headersOut["Set-Cookie"] = cookies;
  return cookies;
}

function exchangeGetResponseCookies(this: ExchangeView): string[] {
  if (!this.responseCookies) this.responseCookies = njsResponseCookies(this.r);
  return this.responseCookies;
}

function exchangeSetResponseCookies(this: ExchangeView, cookies: string[]): void {
  this.responseCookies = cookies;
  this.r.headersOut["Set-Cookie"] = cookies;
}

/**
 * The session's view of one njs request. njs cannot change the request nginx sends upstream: the
 * entry points publish the Session-* request headers and the Cookie header without session cookies
 * through variables ($session_request_header_*, $session_upstream_cookie) for proxy_set_header, so
 * the request-side setters have nothing to do here.
 */
export function createNjsExchange(r: NginxHTTPRequest): Exchange {
  const exchange: ExchangeView & Exchange = {
    r: r,
    responseCookies: null,
    cookieHeader: exchangeCookieHeader,
    setRequestCookieHeader: exchangeNothing,
    setRequestHeader: exchangeNothing,
    setResponseHeader: exchangeSetResponseHeader,
    getResponseCookies: exchangeGetResponseCookies,
    setResponseCookies: exchangeSetResponseCookies,
    remoteAddress: viewRemoteAddress,
    scheme: viewScheme,
    userAgent: viewUserAgent,
  };
  return exchange;
}
