/**
 * The session state machine: open, save, touch, refresh, logout, destroy, for the session cookie and
 * the remember (persistent) cookie, with lua-resty-session 4.x semantics and wire format.
 *
 * States: "new" (nothing opened yet, or opening failed), "open" (a valid session was read or saved),
 * "closed" (destroyed, logged out or closed; any further use is a programming error and throws).
 *
 * Expected rejections are values, never exceptions: every failure carries a stable short reason
 * ("missing session cookie", "session idling timeout exceeded", "invalid session message
 * authentication code", ...) that tests assert and logs print.
 */

import { base64UrlSize, decodeBase64Url, encodeBase64Url, leading16BytesText, utf8Decode, utf8Encode } from "./bytes";
import type { Settings } from "./settings";
import { headerNames } from "./options";
import { errorText, isConfigError, isOperatorError, isStoreUnavailable } from "./errors";
import {
  chunkCookieName,
  cookieChunkCount,
  CookiePairs,
  expiredCookieLine,
  findCookie,
  httpDate,
  mergeSetCookie,
  parseCookieHeader,
  quickCookie,
  setResponseCookie,
  withoutSessionCookies,
} from "./cookies";
import {
  FLAG_BIND_ANY,
  FLAG_BIND_IP,
  FLAG_BIND_SCHEME,
  FLAG_BIND_USER_AGENT,
  FLAG_DEFLATE,
  FLAG_FORGET,
  FLAG_STORAGE,
  HEADER_ENCODED_SIZE,
  MAX_COOKIES,
  MAX_CREATION_TIME,
  MAX_DATA_SIZE,
  MAX_ROLLING_OFFSET,
  MAX_TTL,
  SID_SIZE,
} from "./format";
import { parseHandedOnHeader, SessionHeader } from "./header";
import { encryptPayload, putSessionCookieLines, requestChunkCount, sealedCookie, startEncryption } from "./cookie-sealing";
import { guard, isPromise, MaybePromise } from "./maybe";
import { checkIdentity, identityProblem } from "./publishable";
import { lifetimeLeft, lifetimeProblem, refreshDue, RefreshDue, revocationProblem, storageFlagsMismatch } from "./checks";
import { AesKeyAndIv, deriveAesKeyAndIvFromPrk, deriveRememberAesKeyAndIv, pseudorandomKey, PseudorandomKey } from "./keys";
import { decryptPayload, macKeyIndex, parseRecord, payloadText, touchedHeader, touchedIdlingOffset, type UnsealFailure, verifiedEntry } from "./cookie-opening";
import type { Exchange, Platform } from "./platform";
import { timingProperty } from "./properties";
import { metadataAudience, metadataSubject } from "./registry";
import type { Registry, RegistryEntry } from "./registry";
import type { StoreMetadata } from "./storage";
import type { VerifiedCache, VerifiedSession } from "./verified-cache";

export type SessionData = { [key: string]: unknown };
/** One audience's entry, as the payload JSON stores it: [data, audience, subject?]. */
export type SessionEntry = [SessionData, string, string?];

export type SessionState = "new" | "open" | "closed";

/** What a successfully read or written cookie says about itself. */
export interface CookieMeta {
  /** When it was read or written (the "now" every remaining-time figure is relative to). */
  timestamp: number;
  flags: number;
  sid: Uint8Array;
  creationTime: number;
  rollingOffset: number;
  dataSize: number;
  idlingOffset: number;
  /** The key that authenticated it: the current one, or a fallback during key rotation. */
  ikm: Uint8Array;
  header: Uint8Array;
  /** Cookie storage: the payload characters carried by the first cookie (a touch re-sends them). */
  initialChunk?: string;
  /** Server-side storage: the base64url ciphertext (an info save re-stores it). */
  ciphertext?: string;
}

export interface Result {
  ok: boolean;
  error?: string;
}

const OK: Result = { ok: true };

function failed(error: string): Result {
  return { ok: false, error: error };
}

interface OpenOutcome extends Result {
  /** The cookie was valid but holds no entry for this audience. */
  audienceMissing?: boolean;
}

/** What reading a cookie established before the payload: passed along the (maybe asynchronous) steps. */
interface CookieRead {
  remember: boolean;
  metaOnly: boolean;
  now: number;
  /** The (first) cookie's value: the verified cache's key. */
  cookie: string;
  header: SessionHeader;
  /** The key that verified the MAC: 0 for ikm, 1.. for the fallbacks. */
  keyIndex: number;
  bound: string;
  /** The verified-cache entry that still holds for this request, if any. */
  verified: VerifiedSession | null;
  cache: VerifiedCache | null;
  /** Seconds the session can live at most from now (the cache entry's time to live). */
  lifetime: number;
}

/** Opening threw or rejected: a misconfigured or unavailable storage fails closed (rethrown), else no session. */
function openFailed(e: unknown): OpenOutcome {
  if (isOperatorError(e)) throw e;
  return failed("unable to open session (" + errorText(e) + ")");
}

/** A storage read that threw or rejected; a misconfigured storage fails closed instead. */
function loadFailed(e: unknown): OpenOutcome {
  if (isOperatorError(e)) throw e;
  return failed("unable to load session (" + errorText(e) + ")");
}

/** Per-audience info store kept next to the payload in server-side storage (never in a cookie). */
export interface InfoStore {
  set(key: string, value: unknown): void;
  get(key: string): unknown;
  save(): Promise<Result>;
}

export class Session {
  readonly settings: Settings;
  private readonly platform: Platform;
  private readonly exchange: Exchange;
  state: SessionState = "new";
  private data: SessionEntry[];
  private dataIndex = 0;
  /** Bind flags, plus FLAG_FORGET once set_remember(false) was called. */
  private flags: number;
  private remember: boolean;
  meta: CookieMeta | null = null;
  // The fields from here on start absent rather than initialised: a Session is made per request, and
  // most of them are only ever set on some paths.
  /** undefined: not looked at yet; null: looked at, none usable. */
  private rememberMeta?: CookieMeta | null;
  /** Server-side storage only: info data by audience. */
  private infoData?: InfoData | null;
  private cookiePairs?: CookiePairs;
  /** The last ikm this session derived from, and its PRK: one retained-table lookup per request. */
  private prkIkm?: Uint8Array;
  private prk?: PseudorandomKey;
  /** The session id whose loggable id was last computed, and that id. */
  private loggableSid?: Uint8Array;
  private loggable?: string;
  /** Made when first asked for: most requests never touch the info store. */
  private infoStore?: InfoStore;

  constructor(settings: Settings, platform: Platform, exchange: Exchange) {
    this.settings = settings;
    this.platform = platform;
    this.exchange = exchange;
    this.flags = settings.bindFlags;
    this.remember = settings.remember;
    this.data = [[{}, settings.audience, settings.subject]];
  }

  get info(): InfoStore {
    if (!this.infoStore) this.infoStore = this.settings.storage ? this.storageInfo() : this.cookieInfo();
    return this.infoStore;
  }

  /**
   * The id fit for logs and upstream headers ($session_id, Session-Id): see loggableId(). Computed
   * once per session id, whoever asks first (the verified cache, the publication).
   */
  loggableId(): string | undefined {
    const meta = this.meta;
    if (!meta) return undefined;
    return this.loggableIdOf(meta.sid);
  }

  private loggableIdOf(sid: Uint8Array): string {
    if (sid !== this.loggableSid) {
      this.loggable = loggableId(this.platform, sid);
      this.loggableSid = sid;
    }
    return this.loggable as string;
  }

  // ---------------------------------------------------------------------------------------------
  // Data, audience, subject

  private assertUsable(what: string): void {
    if (this.state === "closed") throw new Error("unable to " + what + " on closed session");
  }

  getData(): SessionData {
    this.assertUsable("get session data");
    return this.data[this.dataIndex][0];
  }

  setData(data: SessionData): void {
    this.assertUsable("set session data");
    if (data === null || typeof data !== "object") throw new Error("invalid session data");
    this.data[this.dataIndex][0] = data;
  }

  /** Cookie storage keeps info under "@key", so a user key starting with "@" is stored as "$@key". */
  private dataKey(key: string): string {
    return !this.settings.storage && key.charAt(0) === "@" ? "$" + key : key;
  }

  get(key: string): unknown {
    this.assertUsable("get session data value");
    return this.data[this.dataIndex][0][this.dataKey(key)];
  }

  set(key: string, value: unknown): void {
    this.assertUsable("set session data value");
    this.data[this.dataIndex][0][this.dataKey(key)] = value;
  }

  getAudience(): string {
    this.assertUsable("get audience");
    return this.data[this.dataIndex][1];
  }

  /** Renames the current entry's audience; an existing entry of that audience is replaced. */
  setAudience(audience: string): void {
    this.assertUsable("set audience");
    checkIdentity("audience", audience);
    const current = this.data[this.dataIndex][1];
    if (audience === current) return;
    if (this.infoData) {
      const moved = this.infoData[current];
      delete this.infoData[current];
      if (moved) this.infoData[audience] = moved;
    }
    for (let i = 0; i < this.data.length; i++) {
      if (i !== this.dataIndex && this.data[i][1] === audience) {
        this.data.splice(i, 1);
        if (i < this.dataIndex) this.dataIndex--;
        break;
      }
    }
    this.data[this.dataIndex][1] = audience;
  }

  getSubject(): string | undefined {
    this.assertUsable("get subject");
    return this.data[this.dataIndex][2];
  }

  /** Refuses (throws) a subject nginx could not publish as it is: see publishable.ts. */
  setSubject(subject: string | undefined | null): void {
    this.assertUsable("set subject");
    if (subject === null || subject === undefined) {
      this.data[this.dataIndex][2] = undefined;
      return;
    }
    const text = String(subject);
    checkIdentity("subject", text);
    this.data[this.dataIndex][2] = text;
  }

  getRemember(): boolean {
    this.assertUsable("get remember");
    return this.rememberEnabled();
  }

  setRemember(value: boolean): void {
    this.assertUsable("set remember");
    if (typeof value !== "boolean") throw new Error("invalid remember value");
    this.flags = value ? this.flags & ~FLAG_FORGET : this.flags | FLAG_FORGET;
    this.remember = value;
  }

  private rememberEnabled(): boolean {
    if (this.meta && this.meta.flags & FLAG_FORGET) return false;
    if (this.flags & FLAG_FORGET) return false;
    return this.remember;
  }

  /** The audiences this session holds (all entries of the cookie). */
  getAudiences(): string[] {
    return this.data.map(function (entry) {
      return entry[1];
    });
  }

  /**
   * Every entry of the session, [data, audience, subject?], as opened or set: for tools that show a
   * whole cookie (the CLI's inspect). After "missing session audience" the last one is the empty entry
   * added for the configured audience.
   */
  getEntries(): SessionEntry[] {
    this.assertUsable("get session entries");
    return this.data.slice();
  }

  getProperty(name: string): string | number | Uint8Array | undefined {
    this.assertUsable("get session property");
    const meta = this.meta;
    const settings = this.settings;
    switch (name) {
      case "id":
        return meta ? encodeBase64Url(meta.sid) : undefined;
      case "nonce":
        return meta ? meta.sid : undefined;
      case "audience":
        return this.data[this.dataIndex][1];
      case "subject":
        return this.data[this.dataIndex][2];
    }
    return meta ? timingProperty(name, settings, meta) : undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // Reading cookies

  private cookies(): CookiePairs {
    if (!this.cookiePairs) this.cookiePairs = parseCookieHeader(this.exchange.cookieHeader());
    return this.cookiePairs;
  }

  private cookieName(remember: boolean): string {
    return remember ? this.settings.rememberCookieName : this.settings.cookieName;
  }

  private boundValues(flags: number): string {
    return boundValues(flags, this.exchange);
  }

  private prkFor(ikm: Uint8Array): PseudorandomKey {
    if (ikm !== this.prkIkm || !this.prk) {
      this.prk = pseudorandomKey(this.platform, ikm);
      this.prkIkm = ikm;
    }
    return this.prk;
  }

  /**
   * Reads and verifies one cookie (the session cookie, or the remember cookie). With `metaOnly` it
   * stops after the MAC check: enough to learn the creation time when re-issuing a remember cookie.
   * Synchronous unless it has to wait for the storage or for decryption: a session cookie found in the
   * verified cache (verified-cache.ts) needs neither MAC nor decryption, and nothing else is skipped.
   */
  private openCookie(remember: boolean, metaOnly: boolean): MaybePromise<OpenOutcome> {
    const settings = this.settings;
    const storage = settings.storage;
    const now = this.platform.now();
    const cookieName = this.cookieName(remember);
    // The quick reading when the header's shape allows it, else every pair (cookies.ts says when).
    const quick = this.cookiePairs ? null : quickCookie(this.exchange.cookieHeader(), cookieName);
    const cookie = quick !== null ? quick : findCookie(this.cookies(), cookieName);
    if (cookie === undefined) return failed("missing session cookie");

    // A remember cookie is read once, to restore a session, and its key derivation differs: not cached.
    const cache = remember ? null : settings.verifiedCache;
    const cached = cache ? cache.get(cookie) : null;
    const header = parseHandedOnHeader(cookie);
    if (typeof header === "string") return failed(header);

    if (storageFlagsMismatch(settings, header.flags)) return failed("invalid session flags");
    const expired = lifetimeProblem(settings, remember, header, now);
    if (expired !== null) return failed(expired);

    // The cached verification stands only for the same key, still configured, and the same bound values.
    const bound = this.boundValues(header.flags);
    let keyIndex = cached && cached.bind === bound ? settings.keyIds.indexOf(cached.keyId) : -1;
    const verified = keyIndex >= 0 ? cached : null;
    if (keyIndex < 0) {
      keyIndex = macKeyIndex(this.platform, settings, header, bound);
      if (keyIndex < 0) return failed("invalid session message authentication code");
    }

    const read: CookieRead = {
      remember: remember,
      metaOnly: metaOnly,
      now: now,
      cookie: cookie,
      header: header,
      keyIndex: keyIndex,
      bound: bound,
      verified: verified,
      cache: cache,
      lifetime: lifetimeLeft(settings, remember, header, now),
    };

    if (storage) {
      // The header alone is the cookie; anything after it is not ours.
      if (cookie.length !== HEADER_ENCODED_SIZE) return failed("invalid session payload");
      const session = this;
      let stored: MaybePromise<string | null | undefined>;
      try {
        stored = storage.get(cookieName, this.storageKey(header.sid), now);
      } catch (e) {
        return loadFailed(e);
      }
      if (isPromise(stored)) {
        return stored.then(function (value) {
          return session.openRecord(read, value);
        }, loadFailed);
      }
      return this.openRecord(read, stored);
    }
    const chunks = cookieChunkCount(cookieName.length, header.dataSize);
    if (chunks === null) return failed("cookie size limit exceeded");
    // Exactly header + payload: the peer tolerates stray characters in between, we do not.
    const initialChunk = cookie.substring(HEADER_ENCODED_SIZE);
    let ciphertextText = initialChunk;
    if (chunks > 1) {
      const parts = [initialChunk];
      for (let i = 2; i <= chunks; i++) {
        const chunk = findCookie(this.cookies(), chunkCookieName(cookieName, i));
        if (chunk === undefined) return failed("missing session cookie chunk");
        parts.push(chunk);
      }
      ciphertextText = parts.join("");
    }
    return this.decryptPayload(read, ciphertextText, initialChunk, undefined, undefined);
  }

  /** Server-side storage: the record [ciphertext, info?] the cookie's id points to. */
  private openRecord(read: CookieRead, stored: string | null | undefined): MaybePromise<OpenOutcome> {
    const record = parseRecord(stored);
    if (!Array.isArray(record)) return failed(record.error);
    return this.decryptPayload(read, record[0] as string, undefined, record[0] as string, record[1]);
  }

  /** The payload: decrypted, or taken from the verified cache when it is the very ciphertext decrypted then. */
  private decryptPayload(
    read: CookieRead,
    ciphertextText: string,
    initialChunk: string | undefined,
    storedCiphertext: string | undefined,
    storedInfo: unknown,
  ): MaybePromise<OpenOutcome> {
    const header = read.header;
    const remember = read.remember;
    if (ciphertextText.length !== header.dataSize) return failed("invalid session payload");
    const known = read.verified && read.verified.ciphertext === ciphertextText ? read.verified : null;
    let ciphertext: Uint8Array | null = null;
    if (!known) {
      ciphertext = decodeBase64Url(ciphertextText, true);
      if (!ciphertext) return failed("unable to base64url decode session data");
    }
    const ikm = read.keyIndex === 0 ? this.settings.ikm : this.settings.ikmFallbacks[read.keyIndex - 1];
    const meta: CookieMeta = {
      timestamp: read.now,
      flags: header.flags,
      sid: header.sid,
      creationTime: header.creationTime,
      rollingOffset: header.rollingOffset,
      dataSize: header.dataSize,
      idlingOffset: header.idlingOffset,
      ikm: ikm,
      header: header.bytes,
      initialChunk: initialChunk,
      ciphertext: storedCiphertext,
    };
    if (remember) this.rememberMeta = meta;
    else this.meta = meta;
    if (read.metaOnly) return OK;
    if (known) {
      // The entry was made for this very cookie value, so for this session id.
      this.loggableSid = header.sid;
      this.loggable = known.loggableId;
      return this.acceptPayload(read, known.plaintext, storedInfo, null);
    }

    if (remember && this.settings.rememberIterations > 0) {
      const session = this;
      return deriveRememberAesKeyAndIv(this.platform, ikm, header.sid, this.settings.rememberIterations).then(function (keys) {
        return session.decrypt(read, keys, ciphertext as Uint8Array, ciphertextText, storedInfo);
      });
    }
    return this.decrypt(read, deriveAesKeyAndIvFromPrk(this.platform, this.prkFor(ikm), header.sid), ciphertext as Uint8Array, ciphertextText, storedInfo);
  }

  private decrypt(read: CookieRead, keys: AesKeyAndIv, ciphertext: Uint8Array, ciphertextText: string, storedInfo: unknown): Promise<OpenOutcome> {
    const session = this;
    const remember = read.remember;
    const platform = this.platform;
    return decryptPayload(platform, keys, read.header, ciphertext).then(function (decrypted) {
      const plaintext = payloadText(platform, read.header, decrypted);
      if (typeof plaintext !== "string") return session.forget(remember, plaintext.error);
      return session.acceptPayload(read, plaintext, storedInfo, ciphertextText);
    });
  }

  /**
   * A decrypted payload: its entries, then this audience's entry and its revocation. `decrypted` is the
   * ciphertext it came from when it was decrypted just now (then it goes into the verified cache).
   */
  private acceptPayload(read: CookieRead, plaintext: string, storedInfo: unknown, decrypted: string | null): MaybePromise<OpenOutcome> {
    const settings = this.settings;
    const remember = read.remember;
    const audience = this.data[this.dataIndex][1];
    const opened = openPayload(plaintext, audience, !!settings.storage, storedInfo);
    if (!("entries" in opened)) return this.forget(remember, opened.error);
    if (settings.storage) this.infoData = opened.info;
    const entries = opened.entries;
    const index = opened.index;
    // Not cached: a payload holding a subject nginx cannot publish (another audience's); each request
    // then opens it in full, and refuses that audience.
    if (decrypted !== null && read.cache && subjectsPublishable(entries, index)) {
      const header = read.header;
      read.cache.set(read.cookie, verifiedEntry(settings, read.keyIndex, read.bound, header, encodeBase64Url(header.sid), decrypted, plaintext, this.loggableIdOf(header.sid)), read.lifetime);
    }

    if (index >= 0) {
      const revoked = revocationProblem(settings, audience, entries[index][2], read.header.creationTime, read.now);
      // A registry in the network store answers later (store-registry.ts).
      if (isPromise(revoked)) {
        const session = this;
        return revoked.then(function (problem) {
          return session.admit(remember, entries, index, problem);
        });
      }
      return this.admit(remember, entries, index, revoked);
    }
    // Valid cookie, other audiences only: keep them, and add ours so a save writes them all.
    entries.push(this.data[this.dataIndex]);
    this.state = "new";
    this.data = entries;
    this.dataIndex = entries.length - 1;
    return { ok: false, error: "missing session audience", audienceMissing: true };
  }

  /** The audience's entry opens the session, unless the registry found it revoked. */
  private admit(remember: boolean, entries: SessionEntry[], index: number, revoked: string | null): OpenOutcome {
    if (revoked !== null) return this.forget(remember, revoked);
    this.state = "open";
    this.data = entries;
    this.dataIndex = index;
    return OK;
  }

  /** A cookie whose MAC held but whose payload did not: drop what was learnt from it. */
  private forget(remember: boolean, error: string): Result {
    if (remember) this.rememberMeta = null;
    else this.meta = null;
    return failed(error);
  }

  private storageKey(sid: Uint8Array): string {
    return encodeBase64Url(this.settings.hashStorageKey ? this.platform.sha256(sid) : sid);
  }

  // ---------------------------------------------------------------------------------------------
  // Writing cookies

  private storeTtl(remember: boolean, now: number, creationTime: number): number {
    const settings = this.settings;
    const rolling = remember ? settings.rememberRollingTimeout : settings.rollingTimeout;
    const absolute = remember ? settings.rememberAbsoluteTimeout : settings.absoluteTimeout;
    // Right after a save the whole rolling window is ahead; the absolute one counts from creation.
    let ttl = rolling > 0 && rolling < MAX_TTL ? rolling : MAX_TTL;
    if (absolute > 0) ttl = Math.min(ttl, absolute - (now - creationTime));
    return Math.max(ttl, 1);
  }

  private storeMetadata(): StoreMetadata | undefined {
    if (!this.settings.storeMetadata) return undefined;
    const audiences: string[] = [];
    const subjects: string[] = [];
    for (let i = 0; i < this.data.length; i++) {
      const subject = this.data[i][2];
      if (subject === undefined) continue;
      audiences.push(metadataAudience(this.data[i][1]));
      subjects.push(metadataSubject(this.platform, subject, this.settings.hashSubject));
    }
    return audiences.length ? { audiences: audiences, subjects: subjects } : undefined;
  }

  /** Expires, Max-Age for a remember cookie: what is left of its rolling and absolute windows. */
  private rememberAttributes(now: number, creationTime: number): string {
    const settings = this.settings;
    let maxAge = settings.rememberRollingTimeout;
    if (maxAge === 0 || maxAge > MAX_TTL) maxAge = MAX_TTL;
    if (settings.rememberAbsoluteTimeout > 0) {
      maxAge = Math.min(maxAge, settings.rememberAbsoluteTimeout - (now - creationTime));
    }
    maxAge = Math.max(maxAge, 1);
    return "; Expires=" + httpDate(now + maxAge) + "; Max-Age=" + maxAge;
  }

  /** Highest chunk index of this cookie present in the request (1 when none beyond the first). */
  private requestChunkCount(cookieName: string): number {
    return requestChunkCount(this.exchange.cookieHeader(), cookieName, this.cookiePairs);
  }

  /** Seals the data into a new cookie with a new session id (and stores it server side if configured). */
  private async saveCookie(remember: boolean, nextState?: SessionState): Promise<Result> {
    const settings = this.settings;
    const platform = this.platform;
    const storage = settings.storage;
    const cookieName = this.cookieName(remember);
    const previous = remember ? this.rememberMeta : this.meta;
    let flags = storage ? this.flags | FLAG_STORAGE : this.flags & ~FLAG_STORAGE;
    if (previous && previous.flags & FLAG_FORGET) flags |= FLAG_FORGET;
    // Deflate is decided below, per save.
    flags &= ~FLAG_DEFLATE;

    const sid = platform.randomBytes(SID_SIZE);
    const now = platform.now();
    let creationTime = now;
    let rollingOffset = 0;
    if (previous) {
      creationTime = previous.creationTime;
      rollingOffset = now - creationTime;
      if (rollingOffset > MAX_ROLLING_OFFSET) return failed("session maximum rolling offset exceeded");
      if (rollingOffset < 0) rollingOffset = 0;
    } else if (remember && this.meta && now - this.meta.creationTime <= 1) {
      // A remember cookie issued with a new session shares its creation time: one login, one identity
      // in the registry (and the session's reservation already made it unique).
      creationTime = this.meta.creationTime;
    } else {
      const reserved = this.reserveCreationTime(now);
      creationTime = isPromise(reserved) ? await reserved : reserved;
    }
    if (creationTime > MAX_CREATION_TIME) return failed("session maximum creation time exceeded");

    if (settings.enforceSameSubject && this.data.length > 1) {
      const subject = this.data[this.dataIndex][2];
      const current = this.data[this.dataIndex];
      this.data = this.data.filter(function (entry) {
        return entry[2] === subject;
      });
      this.dataIndex = this.data.indexOf(current);
    }

    let plaintext = utf8Encode(encodeEntries(this.data));
    if (settings.compressionThreshold !== 0 && plaintext.length > settings.compressionThreshold) {
      let deflated: Uint8Array | null = null;
      try {
        deflated = platform.deflateRaw(plaintext);
      } catch (e) {
        platform.log("info", "[session] unable to deflate session data (" + errorText(e) + ")");
      }
      if (deflated && deflated.length < plaintext.length) {
        flags |= FLAG_DEFLATE;
        plaintext = deflated;
      }
    }
    const dataSize = base64UrlSize(plaintext.length);
    let chunks = 1;
    if (storage) {
      if (dataSize > MAX_DATA_SIZE) return failed("session maximum data size exceeded");
    } else {
      const count = cookieChunkCount(cookieName.length, dataSize);
      if (count === null) return failed("cookie size limit exceeded");
      chunks = count;
    }

    const ikm = settings.ikm;
    const prk = this.prkFor(ikm);
    const keys = remember && settings.rememberIterations > 0 ? await deriveRememberAesKeyAndIv(platform, ikm, sid, settings.rememberIterations) : null;
    const encryption = startEncryption(platform, flags, sid, creationTime, rollingOffset, plaintext, prk, keys);
    // Each awaited on a line of its own: njs 0.8.9 (the floor) refuses await in a call's arguments.
    const aesKey = await encryption.key;
    const encrypted = await encryptPayload(platform, encryption, aesKey);
    const sealed = sealedCookie(platform, encryption.header, encrypted, prk, sid, this.boundValues(flags));
    const headerBytes = sealed.header;
    const payload = sealed.payload;

    const attributes = settings.cookieAttributes + (remember ? this.rememberAttributes(now, creationTime) : "");
    let cookies = this.exchange.getResponseCookies().slice();
    let initialChunk: string | undefined;
    if (storage) {
      cookies = mergeSetCookie(cookies, cookieName, cookieName + "=" + sealed.headerText + attributes);
      const record: unknown[] = [payload];
      if (this.infoData) record.push(encodeBase64Url(utf8Encode(JSON.stringify(this.infoData))));
      try {
        await storage.set(
          cookieName,
          this.storageKey(sid),
          JSON.stringify(record),
          this.storeTtl(remember, now, creationTime),
          now,
          previous ? this.storageKey(previous.sid) : undefined,
          settings.staleTtl,
          this.storeMetadata(),
          remember,
        );
      } catch (e) {
        if (isOperatorError(e)) throw e;
        return failed("unable to store session data (" + errorText(e) + ")");
      }
    } else {
      const previousChunks = previous ? cookieChunkCount(cookieName.length, previous.dataSize) || 1 : 1;
      const staleChunks = Math.max(previousChunks, this.requestChunkCount(cookieName));
      initialChunk = putSessionCookieLines(cookies, cookieName, sealed, chunks, attributes, staleChunks, settings.cookieAttributes);
    }
    this.exchange.setResponseCookies(cookies);

    const meta: CookieMeta = {
      timestamp: now,
      flags: flags,
      sid: sid,
      creationTime: creationTime,
      rollingOffset: rollingOffset,
      dataSize: dataSize,
      idlingOffset: 0,
      ikm: ikm,
      header: headerBytes,
      initialChunk: initialChunk,
      ciphertext: storage ? payload : undefined,
    };
    if (remember) this.rememberMeta = meta;
    else {
      this.meta = meta;
      this.state = nextState || "open";
    }
    return OK;
  }

  /** Re-issues the remember cookie after the session cookie was written; failures only logged. */
  private async saveRememberCookie(): Promise<void> {
    if (!this.rememberEnabled()) return;
    if (this.rememberMeta === undefined) await this.openCookie(true, true);
    const result = await this.saveCookie(true);
    if (!result.ok) this.platform.log("warn", "[session] unable to save remember cookie: " + result.error);
  }

  private expireCookie(remember: boolean): Result {
    const settings = this.settings;
    const cookieName = this.cookieName(remember);
    const meta = remember ? this.rememberMeta : this.meta;
    let chunks = 1;
    if (!settings.storage) {
      const known = meta ? cookieChunkCount(cookieName.length, meta.dataSize) || 1 : 1;
      chunks = Math.max(known, this.requestChunkCount(cookieName));
    }
    let cookies = this.exchange.getResponseCookies().slice();
    for (let i = 1; i <= chunks; i++) {
      const name = chunkCookieName(cookieName, i);
      cookies = mergeSetCookie(cookies, name, expiredCookieLine(name, settings.cookieAttributes));
    }
    this.exchange.setResponseCookies(cookies);
    return OK;
  }

  private async destroyCookie(remember: boolean): Promise<Result> {
    const storage = this.settings.storage;
    const meta = remember ? this.rememberMeta : this.meta;
    if (storage && meta) {
      try {
        await storage.delete(this.cookieName(remember), this.storageKey(meta.sid), meta.timestamp, this.storeMetadata());
      } catch (e) {
        if (isOperatorError(e)) throw e;
        return failed("unable to destroy session (" + errorText(e) + ")");
      }
    }
    this.expireCookie(remember);
    this.state = "closed";
    return OK;
  }

  // ---------------------------------------------------------------------------------------------
  // The resty.session instance API

  /** Opens the session cookie, or restores the session from the remember cookie. */
  async open(): Promise<Result> {
    return this.openMaybe();
  }

  /** open(), synchronous when nothing needs waiting for (a cached session cookie, see openCookie). */
  openMaybe(): MaybePromise<Result> {
    return this.openThen(openedResult);
  }

  /**
   * openMaybe() followed by `next(this, result)`, in the same promise step when opening has to wait:
   * every promise step costs QuickJS a job and closures (`next` is a plain function, no closure).
   */
  openThen<T>(next: (session: Session, result: Result) => MaybePromise<T>): MaybePromise<T> {
    this.assertUsable("open session");
    let opened: MaybePromise<OpenOutcome>;
    try {
      opened = this.openCookie(false, false);
    } catch (e) {
      return this.afterOpen(openFailed(e), next);
    }
    if (!isPromise(opened)) return this.afterOpen(opened, next);
    const session = this;
    return opened.then(
      function (outcome) {
        return session.afterOpen(outcome, next);
      },
      function (e) {
        return session.afterOpen(openFailed(e), next);
      },
    );
  }

  private afterOpen<T>(outcome: OpenOutcome, next: (session: Session, result: Result) => MaybePromise<T>): MaybePromise<T> {
    if (outcome.ok || outcome.audienceMissing || !this.remember) return next(this, outcome);
    const session = this;
    return this.restoreRemembered(outcome).then(function (restored) {
      return next(session, restored);
    });
  }

  /** No usable session cookie, remember on: a fresh session (and remember cookie) from the remember cookie. */
  private async restoreRemembered(opened: Result): Promise<Result> {
    let remembered: Result;
    try {
      remembered = await this.openCookie(true, false);
    } catch (e) {
      if (isOperatorError(e)) throw e;
      remembered = failed("unable to open remember cookie (" + errorText(e) + ")");
    }
    if (!remembered.ok) {
      // The result keeps the session cookie's reason (as the peer does); a remember cookie that was sent
      // but did not open (revoked, expired, tampered) still deserves its own line.
      if (remembered.error !== "missing session cookie") {
        this.platform.log("info", "[session] remember cookie \"" + this.settings.rememberCookieName + "\" not used: " + remembered.error);
      }
      return opened;
    }
    // A fresh remember cookie and a fresh session cookie, both from the remembered data.
    let saved = await this.saveCookie(true);
    if (!saved.ok) return saved;
    this.meta = null;
    saved = await this.saveCookie(false, "open");
    if (!saved.ok) return saved;
    const pending = this.recordInRegistry();
    if (pending) await pending;
    return saved;
  }

  save(): Promise<Result> {
    try {
      this.assertUsable("save session");
    } catch (e) {
      return Promise.reject(e);
    }
    // Without a remember cookie or a registry the cookie's save is all: its promise is the answer
    // (every further async step costs QuickJS a job and a promise).
    if (!this.rememberEnabled() && !this.keepsRegistry()) return this.saveCookie(false);
    return this.saveWithFollowUps();
  }

  private async saveWithFollowUps(): Promise<Result> {
    const saved = await this.saveCookie(false);
    if (!saved.ok) return saved;
    if (this.rememberEnabled()) await this.saveRememberCookie();
    const pending = this.recordInRegistry();
    if (pending) await pending;
    return OK;
  }

  /** Re-issues the session cookie with a new idling offset: no new id, no storage call, no await. */
  touch(): Result {
    this.assertUsable("touch session");
    const meta = this.meta;
    if (this.state !== "open" || !meta) return failed("unable to touch nonexistent session");
    const settings = this.settings;
    const idlingOffset = touchedIdlingOffset(this.platform.now(), meta.creationTime, meta.rollingOffset);
    const headerBytes = touchedHeader(this.platform, this.prkFor(meta.ikm), meta.sid, meta.header, idlingOffset, this.boundValues(meta.flags));
    meta.idlingOffset = idlingOffset;
    meta.header = headerBytes;
    const cookieName = settings.cookieName;
    const value = encodeBase64Url(headerBytes) + (settings.storage ? "" : meta.initialChunk || "");
    setResponseCookie(this.exchange, cookieName, cookieName + "=" + value + settings.cookieAttributes);
    return OK;
  }

  /**
   * Saves (new id) once 3/4 of the rolling timeout is spent or when the session was opened with a
   * fallback key (so key rotation completes); otherwise touches once the touch threshold has passed.
   * `refreshed` tells whether a cookie was re-issued.
   */
  async refresh(): Promise<Result & { refreshed?: boolean }> {
    return this.refreshMaybe();
  }

  /** refresh(), synchronous unless it saves (a touch needs no await). */
  refreshMaybe(): MaybePromise<Result & { refreshed?: boolean }> {
    this.assertUsable("refresh session");
    const meta = this.meta;
    if (this.state !== "open" || !meta) return failed("unable to refresh nonexistent session");
    const settings = this.settings;
    if (meta.ikm !== settings.ikm) return this.resave();
    if (settings.rollingTimeout === 0 && settings.idlingTimeout === 0) return { ok: true, refreshed: false };
    const due = refreshDue(settings, meta, meta.timestamp);
    if (due === RefreshDue.Resave) return this.resave();
    if (due === RefreshDue.Touch) {
      const touched = this.touch();
      const pending = touched.ok ? this.touchInRegistry() : undefined;
      if (pending) {
        return pending.then(function () {
          return withRefreshed(touched);
        });
      }
      return withRefreshed(touched);
    }
    return { ok: true, refreshed: false };
  }

  /** refresh()'s save under a new id (closures made only when a save is due). */
  private resave(): Promise<Result & { refreshed?: boolean }> {
    const session = this;
    return this.saveCookie(false).then(function (saved) {
      return session.recorded(saved);
    });
  }

  /** Logs out of the current audience; the last audience out destroys the session. */
  async logout(): Promise<Result> {
    this.assertUsable("logout session");
    if (this.state !== "open") return failed("unable to logout nonexistent session");
    if (this.data.length === 1) return this.destroy();
    const leaving = this.data[this.dataIndex];
    if (leaving[2] !== undefined && this.meta) {
      const created = this.meta.creationTime;
      const removed = this.registryUpdate("update", function (registry, now) {
        return registry.remove(leaving[1], leaving[2] as string, created, now);
      });
      if (removed) await removed;
    }
    if (this.infoData) {
      delete this.infoData[this.data[this.dataIndex][1]];
      if (!Object.keys(this.infoData).length) this.infoData = null;
    }
    this.data.splice(this.dataIndex, 1);
    this.dataIndex = 0;
    const saved = await this.saveCookie(false, "closed");
    if (!saved.ok) return saved;
    if (this.rememberEnabled()) await this.saveRememberCookie();
    const pending = this.recordInRegistry();
    if (pending) await pending;
    return OK;
  }

  /** Destroys the whole session: storage record deleted, session (and remember) cookies expired. */
  async destroy(): Promise<Result> {
    this.assertUsable("destroy session");
    if (this.state !== "open") return failed("unable to destroy nonexistent session");
    const meta = this.meta;
    const entries = this.data;
    if (meta) {
      const removed = this.registryUpdate("update", function (registry, now) {
        return eachSubject(entries, function (audience, subject) {
          return registry.remove(audience, subject, meta.creationTime, now);
        });
      });
      if (removed) await removed;
    }
    const destroyed = await this.destroyCookie(false);
    if (!destroyed.ok) return destroyed;
    if (this.rememberEnabled()) {
      if (this.rememberMeta === undefined) await this.openCookie(true, true);
      // Expire the remember cookie even when it could not be read: the client must not keep it.
      const forgotten = await this.destroyCookie(true);
      if (!forgotten.ok) return forgotten;
    }
    return OK;
  }

  close(): void {
    this.state = "closed";
  }

  // ---------------------------------------------------------------------------------------------
  // The session registry (store_metadata with a registry zone)

  /**
   * Registry upkeep never fails a login or a refresh: the registry is for listing, and revocation does
   * not rely on it being complete. A missing zone is a configuration error all the same. A registry in
   * the network store answers with a promise, which the caller awaits before the response; a store that
   * cannot answer was logged once for the incident (remote.ts), not again here.
   */
  private registryUpdate(what: string, run: (registry: Registry, now: number) => MaybePromise<void>): MaybePromise<void> {
    const registry = this.settings.registry;
    if (!registry || !this.keepsRegistry()) return;
    const platform = this.platform;
    return guard(
      function () {
        return run(registry, platform.now());
      },
      function (e) {
        if (isConfigError(e)) throw e;
        if (!isStoreUnavailable(e)) platform.log("warn", "[session] unable to " + what + " the session registry (" + errorText(e) + ")");
      },
    );
  }

  /**
   * The registry identifies a session by its creation time: a new session takes a time no other live
   * session of its subject has (now, or a second or more earlier). Without a registry, now.
   */
  private reserveCreationTime(now: number): MaybePromise<number> {
    const subject = this.data[this.dataIndex][2];
    if (!this.settings.registry || !this.settings.storeMetadata || subject === undefined) return now;
    let created = now;
    const audience = this.data[this.dataIndex][1];
    const reserved = this.registryUpdate("update", function (registry) {
      const chosen = registry.reserve(audience, subject, now);
      if (isPromise(chosen)) {
        return chosen.then(function (time) {
          created = time;
        });
      }
      created = chosen;
      return undefined;
    });
    if (reserved) {
      return reserved.then(function () {
        return created;
      });
    }
    return created;
  }

  /** When the session (or its remember cookie) expires at the latest if it is not used again. */
  private latestExpiry(now: number): number {
    const settings = this.settings;
    const meta = this.meta as CookieMeta;
    let expires = now + MAX_TTL;
    if (settings.idlingTimeout > 0) expires = Math.min(expires, now + settings.idlingTimeout);
    if (settings.rollingTimeout > 0) expires = Math.min(expires, meta.creationTime + meta.rollingOffset + settings.rollingTimeout);
    if (settings.absoluteTimeout > 0) expires = Math.min(expires, meta.creationTime + settings.absoluteTimeout);
    const rememberMeta = this.rememberEnabled() ? this.rememberMeta : null;
    if (rememberMeta) {
      let rememberExpires = now + MAX_TTL;
      if (settings.rememberRollingTimeout > 0) rememberExpires = Math.min(rememberExpires, now + settings.rememberRollingTimeout);
      if (settings.rememberAbsoluteTimeout > 0) {
        rememberExpires = Math.min(rememberExpires, rememberMeta.creationTime + settings.rememberAbsoluteTimeout);
      }
      expires = Math.max(expires, rememberExpires);
    }
    return expires;
  }

  /** Whether a registry is kept: checked before making the closures an update takes. */
  private keepsRegistry(): boolean {
    return !!this.settings.registry && this.settings.storeMetadata;
  }

  private recordInRegistry(): MaybePromise<void> {
    const meta = this.meta;
    if (!meta || this.state === "closed" || !this.keepsRegistry()) return;
    const session = this;
    return this.registryUpdate("update", function (registry, now) {
      const settings = session.settings;
      const rememberMeta = session.rememberEnabled() ? session.rememberMeta : null;
      const entry: RegistryEntry = {
        created: meta.creationTime,
        lastSeen: now,
        expires: session.latestExpiry(now),
        // undefined: the remember cookie was not read on this request (a refresh), keep what is known.
        remember: rememberMeta === undefined ? undefined : !!rememberMeta,
      };
      if (rememberMeta) {
        entry.rememberCreated = rememberMeta.creationTime;
        if (settings.storage) entry.rememberKey = session.storageKey(rememberMeta.sid);
      }
      const userAgent = session.exchange.userAgent();
      if (userAgent) entry.userAgent = userAgent;
      // The address only when the session is bound to it: otherwise it is not the registry's to keep.
      if (meta.flags & FLAG_BIND_IP) entry.ip = session.exchange.remoteAddress();
      if (settings.storage) {
        entry.name = settings.cookieName;
        entry.key = session.storageKey(meta.sid);
      }
      return eachSubject(session.data, function (audience, subject) {
        return registry.record(audience, subject, entry, now);
      });
    });
  }

  private touchInRegistry(): MaybePromise<void> {
    const meta = this.meta;
    if (!meta || !this.keepsRegistry()) return;
    const session = this;
    return this.registryUpdate("update", function (registry, now) {
      const expires = session.latestExpiry(now);
      return eachSubject(session.data, function (audience, subject) {
        return registry.touch(audience, subject, meta.creationTime, now, expires, now);
      });
    });
  }

  /** A re-save's result, once the registry has recorded it. */
  private recorded(result: Result): MaybePromise<Result & { refreshed?: boolean }> {
    const pending = result.ok ? this.recordInRegistry() : undefined;
    if (pending) {
      return pending.then(function () {
        return withRefreshed(result);
      });
    }
    return withRefreshed(result);
  }

  /** Removes the session cookies from the request passed on (the proxy case). */
  clearRequestCookie(): Result {
    this.assertUsable("clear session request cookie");
    if (this.state !== "open") return failed("unable to clear session request cookie on nonexistent session");
    const header = this.exchange.cookieHeader();
    if (!header) return OK;
    const names: string[] = [];
    const add = (remember: boolean): void => {
      const cookieName = this.cookieName(remember);
      for (let i = 1; i <= MAX_COOKIES; i++) names.push(chunkCookieName(cookieName, i));
    };
    add(false);
    if (this.rememberEnabled()) add(true);
    this.exchange.setRequestCookieHeader(withoutSessionCookies(header, names));
    return OK;
  }

  private setPropertyHeaders(properties: string[], setHeader: (name: string, value: string) => void): void {
    for (let i = 0; i < properties.length; i++) {
      const name = headerNames()[properties[i]];
      if (!name) continue;
      const value = this.getProperty(properties[i]);
      if (value === undefined || value instanceof Uint8Array) continue;
      setHeader(name, String(value));
    }
  }

  private headerCall(what: string, properties: string[], request: boolean, response: boolean): Result {
    this.assertUsable(what);
    if (this.state !== "open") return failed("unable to " + what + " on nonexistent session");
    const exchange = this.exchange;
    const settings = this.settings;
    if (request) {
      this.setPropertyHeaders(properties.length ? properties : settings.requestHeaders, function (name, value) {
        exchange.setRequestHeader(name, value);
      });
    }
    if (response) {
      this.setPropertyHeaders(properties.length ? properties : settings.responseHeaders, function (name, value) {
        exchange.setResponseHeader(name, value);
      });
    }
    return OK;
  }

  /** Sets request and response headers: the configured ones, or the named properties. */
  setHeaders(...properties: Array<string | string[]>): Result {
    return this.headerCall("set request/response headers", flatten(properties), true, true);
  }

  setRequestHeaders(...properties: Array<string | string[]>): Result {
    return this.headerCall("set request headers", flatten(properties), true, false);
  }

  setResponseHeaders(...properties: Array<string | string[]>): Result {
    return this.headerCall("set response headers", flatten(properties), false, true);
  }

  // ---------------------------------------------------------------------------------------------
  // The info store

  /** Cookie storage has no room beside the payload: info lives in the data under "@key". */
  private cookieInfo(): InfoStore {
    const session = this;
    return {
      set: function (key, value) {
        session.assertUsable("set session info");
        session.data[session.dataIndex][0]["@" + key] = value;
      },
      get: function (key) {
        session.assertUsable("get session info");
        return session.data[session.dataIndex][0]["@" + key];
      },
      save: function () {
        session.assertUsable("save session info");
        if (session.state !== "open") return Promise.resolve(failed("unable to save session info on nonexistent session"));
        return session.save();
      },
    };
  }

  /** Server-side storage: info is stored next to the payload, and saved without a new cookie. */
  private storageInfo(): InfoStore {
    const session = this;
    return {
      set: function (key, value) {
        session.assertUsable("set session info");
        const audience = session.data[session.dataIndex][1];
        if (!session.infoData) session.infoData = {};
        if (!session.infoData[audience]) session.infoData[audience] = {};
        session.infoData[audience][key] = value;
      },
      get: function (key) {
        session.assertUsable("get session info");
        const audience = session.data[session.dataIndex][1];
        const data = session.infoData && session.infoData[audience];
        return data ? data[key] : undefined;
      },
      save: function () {
        session.assertUsable("save session info");
        return session.saveInfo();
      },
    };
  }

  private async saveInfo(): Promise<Result> {
    const storage = this.settings.storage;
    const meta = this.meta;
    if (this.state !== "open" || !meta || !storage) return failed("unable to save session info on nonexistent session");
    if (!this.infoData) return OK;
    const info = encodeBase64Url(utf8Encode(JSON.stringify(this.infoData)));
    const now = this.platform.now();
    const targets: Array<[boolean, CookieMeta | null | undefined]> = [[false, meta]];
    if (this.rememberEnabled()) {
      if (this.rememberMeta === undefined) await this.openCookie(true, true);
      targets.push([true, this.rememberMeta]);
    }
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i][1];
      if (!target || target.ciphertext === undefined) continue;
      const remember = targets[i][0];
      try {
        await storage.set(
          this.cookieName(remember),
          this.storageKey(target.sid),
          JSON.stringify([target.ciphertext, info]),
          this.storeTtl(remember, now, target.creationTime),
          now,
        );
      } catch (e) {
        if (isOperatorError(e)) throw e;
        return failed("unable to store session info (" + errorText(e) + ")");
      }
    }
    return OK;
  }
}

function openedResult(session: Session, result: Result): Result {
  return result;
}

/** Runs `update` for each audience entry that has a subject; a promise when any of them answered with one. */
function eachSubject(entries: SessionEntry[], update: (audience: string, subject: string) => MaybePromise<void>): MaybePromise<void> {
  let pending: Array<Promise<void>> | undefined;
  for (let i = 0; i < entries.length; i++) {
    const subject = entries[i][2];
    if (subject === undefined) continue;
    const done = update(entries[i][1], subject);
    if (isPromise(done)) (pending || (pending = [])).push(done);
  }
  if (pending) {
    return Promise.all(pending).then(function () {});
  }
}

function withRefreshed(result: Result): Result & { refreshed?: boolean } {
  return { ok: result.ok, error: result.error, refreshed: result.ok };
}

function flatten(properties: Array<string | string[]>): string[] {
  const out: string[] = [];
  for (let i = 0; i < properties.length; i++) {
    const item = properties[i];
    if (Array.isArray(item)) for (let j = 0; j < item.length; j++) out.push(item[j]);
    else out.push(item);
  }
  return out;
}

export { errorText };

/** A session id fit for logs and upstream headers ($session_id): truncated SHA-256, not the id itself. */
export function loggableId(platform: Pick<Platform, "sha256Base64Url">, sid: Uint8Array): string {
  return leading16BytesText(platform.sha256Base64Url(sid));
}

/** Where the bound request attributes come from: an Exchange, or the fast check's view of a request. */
export type BindSource = Pick<Exchange, "remoteAddress" | "scheme" | "userAgent">;

/** The bound request attributes of a session with these flags, joined by "|"; "" when none. */
export function boundValues(flags: number, source: BindSource): string {
  if (!(flags & FLAG_BIND_ANY)) return "";
  const values: string[] = [];
  const candidates: Array<[number, string | undefined]> = [
    [FLAG_BIND_IP, flags & FLAG_BIND_IP ? source.remoteAddress() : undefined],
    [FLAG_BIND_SCHEME, flags & FLAG_BIND_SCHEME ? source.scheme() : undefined],
    [FLAG_BIND_USER_AGENT, flags & FLAG_BIND_USER_AGENT ? source.userAgent() : undefined],
  ];
  for (let i = 0; i < candidates.length; i++) {
    const value = candidates[i][1];
    if (value) values.push(value);
  }
  return values.join("|");
}

/** [[data, audience, subject?], ...] with the subject left out when absent, as lua-cjson writes it. */
export function encodeEntries(entries: SessionEntry[]): string {
  if (allWithSubject(entries)) return JSON.stringify(entries);
  const out: unknown[] = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    out.push(entry[2] === undefined ? [entry[0], entry[1]] : [entry[0], entry[1], entry[2]]);
  }
  return JSON.stringify(out);
}

/**
 * Whether every entry is [data, audience, subject] and nothing more: then the entries are written as
 * they are, without the copy that leaves absent subjects out (every save writes the entries).
 */
function allWithSubject(entries: SessionEntry[]): boolean {
  for (let i = 0; i < entries.length; i++) if (entries[i].length !== 3 || entries[i][2] === undefined) return false;
  return true;
}

/** Where the entry of this audience is in a payload's entries, or -1. */
export function entryIndex(entries: SessionEntry[], audience: string): number {
  for (let i = 0; i < entries.length; i++) if (entries[i][1] === audience) return i;
  return -1;
}

/** An entry whose subject nginx could not publish as it is (publishable.ts); the session is refused. */
export function unpublishableSubject(entry: SessionEntry): boolean {
  return entry[2] !== undefined && identityProblem(entry[2]) !== null;
}

/**
 * Whether nginx can publish the subject of every entry but entries[checked] (openPayload's, checked
 * already). The verified cache holds only such payloads: the fast check then finds any audience's
 * entry publishable without testing its subject again on every request.
 */
export function subjectsPublishable(entries: SessionEntry[], checked: number): boolean {
  for (let i = 0; i < entries.length; i++) if (i !== checked && unpublishableSubject(entries[i])) return false;
  return true;
}

/** Parses and checks the decrypted payload's shape; null if it is not [[object, string, string?], ...]. */
export function decodeEntries(plaintext: string): SessionEntry[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(plaintext);
  } catch (e) {
    return null;
  }
  if (!Array.isArray(parsed) || parsed.length === 0) return null;
  // The parse's own arrays become the entries (fresh from JSON.parse, so shared with nothing): a copy
  // of each costs QuickJS an array for nothing. A missing subject reads as undefined already.
  for (let i = 0; i < parsed.length; i++) {
    const entry = parsed[i];
    if (!Array.isArray(entry) || entry.length < 2 || entry.length > 3) return null;
    const data = entry[0];
    // Lua writes an empty data table as {}; an array-like table as [] — both read back as objects.
    if (data === null || typeof data !== "object") return null;
    if (typeof entry[1] !== "string") return null;
    if (entry.length === 3) {
      if (entry[2] === null) entry[2] = undefined;
      else if (typeof entry[2] !== "string") return null;
    }
  }
  return parsed as SessionEntry[];
}

/** A decrypted payload as opened: its entries, where the audience's is (-1: not there), a record's info. */
export interface OpenedPayload {
  entries: SessionEntry[];
  index: number;
  /** Server-side storage: the info kept next to the payload (null: none). */
  info: InfoData | null;
}

/**
 * The rule for a decrypted payload, the Session's and the cold check's alike: its entries decode, a
 * server-side record's info decodes, and the audience's subject, if any, is one nginx can publish as
 * it is (publishable.ts). A subject set elsewhere (lua-resty-session, an older njs-session) that
 * nginx cannot publish is no session, rather than a split header or a cut identity; not cached either.
 */
export function openPayload(plaintext: string, audience: string, fromRecord: boolean, storedInfo: unknown): OpenedPayload | UnsealFailure {
  const entries = decodeEntries(plaintext);
  if (!entries) return { error: "unable to json decode session data" };
  const info = fromRecord ? decodeInfo(storedInfo) : null;
  if (info === undefined) return { error: "unable to json decode session info" };
  const index = entryIndex(entries, audience);
  if (index >= 0 && unpublishableSubject(entries[index])) return { error: "session subject cannot be published" };
  return { entries: entries, index: index, info: info };
}

/** Info data by audience, kept next to the payload in server-side storage. */
type InfoData = { [audience: string]: { [key: string]: unknown } };

/** The info element of a storage record: absent, or base64url JSON {audience: {key: value}}. */
function decodeInfo(value: unknown): InfoData | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") return undefined;
  const bytes = decodeBase64Url(value);
  if (!bytes) return undefined;
  try {
    const parsed = JSON.parse(utf8Decode(bytes));
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : undefined;
  } catch (e) {
    return undefined;
  }
}
