/**
 * The fast path of a session check: a session cookie whose exact value was fully verified before
 * (verified-cache.ts) is checked again for everything that can have changed since, without building a
 * Session, parsing the Cookie header into pairs, computing a MAC or decrypting anything:
 *
 *   - the key that verified it is the current one (a fallback key means a re-save: full path);
 *   - the timeouts, against the clock, and no refresh is due (a touch or a re-save: full path);
 *   - the bound request attributes are the ones it was verified with;
 *   - server-side storage: the record is still there, holding the very ciphertext decrypted then;
 *   - the audience's entry exists, and the session is not revoked.
 *
 * The storage flag, timeout, refresh-due and revocation checks are checks.ts's, the very functions
 * the full path calls. It is synchronous and has no side effects, and it only ever says "this session
 * is valid, nothing to re-issue". Anything else (no cookie, not cached, expired, revoked, due for a refresh, a chunked
 * cookie) returns null, and the full path (Session) decides, logs and refreshes exactly as it always
 * does. A storage that answers asynchronously (redis, memcached) is read first by fast-store-check.ts,
 * which hands checkVerified what the store answered.
 */

import { decodeBase64Url, encodeBase64Url } from "./bytes";
import type { Settings } from "./settings";
import { CheckedSettings, lifetimeProblem, refreshDue, RefreshDue, revocationProblem, storageFlagsMismatch } from "./checks";
import { FLAG_BIND_ANY, HEADER_ENCODED_SIZE } from "./format";
import type { Platform } from "./platform";
import type { SessionTiming } from "./properties";
import { BindSource, boundValues, decodeEntries, entryIndex, SessionData, SessionEntry } from "./session";
import type { VerifiedCacheReader, VerifiedSession } from "./verified-cache";

/**
 * A valid session with nothing to re-issue, as the fast check found it. Everything in it is shared
 * with later requests carrying the same cookie (in-memory cache): read only, and used at once.
 */
export interface KnownSession {
  audience: string;
  subject: string | undefined;
  data: SessionData;
  loggableId: string;
  /** As of this request (`timestamp` is now). */
  timing: SessionTiming;
  /**
   * Whether the cookie binds the session to request attributes (bind): its checks then depend on more
   * than the cookie, so no answer is kept for it (src/nginx/known-answers.ts).
   */
  bound: boolean;
  /**
   * For the caller: what it derived from this session, kept for the next request with the same cookie
   * (the nginx handlers keep the published state of the current second here).
   */
  publication?: unknown;
}

interface CachedEntry extends VerifiedSession {
  /** The fast check's last finding for this entry and audience (in-memory entries only live on). */
  known?: KnownSession;
}

/**
 * What a storage that answers asynchronously said about a session's record (fast-store-check.ts), for
 * checkVerified, which cannot wait for it.
 */
export interface RecordAnswer {
  /** The record is there and holds the very ciphertext verified (recordHolds). */
  holds: boolean;
  /**
   * With the registry in the store (Registry.readChecked), read with the record: whether the session is
   * revoked. undefined: not asked (a session without a subject has nothing to revoke).
   */
  revoked?: boolean;
}

/** What the fast check reads of the settings. */
export type FastCheckSettings = CheckedSettings &
  Pick<Settings, "keyIds" | "hashStorageKey" | "cookieName" | "audience"> & { verifiedCache: VerifiedCacheReader | null };

export function fastCheck<R>(
  settings: FastCheckSettings,
  platform: Pick<Platform, "sha256">,
  /**
   * The value of the request's cookie named exactly settings.cookieName, as the full path would find
   * it (quickCookie, or findCookie). Not a laxer parser's: the cache is keyed by value alone, so a
   * parser that matched "SESSION" or took another occurrence would let a cached value stand in for
   * the cookie the full path would have judged.
   */
  cookie: string | undefined,
  now: number,
  /** The request, and how to read its bindable attributes: asked only when the session is bound. */
  request: R,
  bindSourceOf: (request: R) => BindSource,
): KnownSession | null {
  const known = verifiedEntryOf(settings, cookie);
  return known ? checkVerified(known, settings, platform, cookie as string, now, request, bindSourceOf) : null;
}

/**
 * The verified-cache entry of this cookie that the fast check (and the touch check) judge; null when
 * there is none to judge here: no cache, no cookie, or redis/memcached storage (fast-store-check.ts
 * reads the record first). `memoryAsked`: verifiedTailEntryOf just missed this very cookie in worker
 * memory (its tail was the whole value), so only what lies past memory is asked.
 */
export function verifiedEntryOf(settings: FastCheckSettings, cookie: string | undefined, memoryAsked?: boolean): VerifiedSession | null {
  const cache = settings.verifiedCache;
  if (!cache || !cookie || (settings.storage && !settings.storage.synchronous)) return null;
  return (memoryAsked && cache.getBeyondMemory ? cache.getBeyondMemory(cookie) : cache.get(cookie)) || null;
}

/**
 * verifiedEntryOf for the cookie's tail (cookies.ts cookieTail: its value and the rest of the header),
 * in worker memory only. A cache key never holds ";" nor starts or ends with white space
 * (verified-cache.ts), so a tail that is a key is the whole value, as tailValue(tail) gives it: the
 * entry is the one verifiedEntryOf would find for the cookie. A miss says nothing; the caller then
 * looks the value up with verifiedEntryOf. Worker memory only: a miss (a cookie before others, a cold
 * request) must not cost a shared-dict access on top of the one the value's lookup makes.
 */
export function verifiedTailEntryOf(settings: FastCheckSettings, tail: string): VerifiedSession | null {
  const cache = settings.verifiedCache;
  if (!cache || !cache.getInMemory || (settings.storage && !settings.storage.synchronous)) return null;
  return cache.getInMemory(tail);
}

/**
 * fastCheck's judgement of a verified-cache entry for this cookie: the entry the cache held, the one
 * the cold check (cold-check.ts) just made, or one whose record a storage that answers asynchronously
 * was asked about (fast-store-check.ts: `answer`, required for such a storage). With `touchDue`, a
 * session due for a touch passes too, for touch-check.ts, which then touches it.
 */
export function checkVerified<R>(
  verified: VerifiedSession,
  settings: FastCheckSettings,
  platform: Pick<Platform, "sha256">,
  cookie: string,
  now: number,
  request: R,
  bindSourceOf: (request: R) => BindSource,
  answer?: RecordAnswer,
  touchDue?: boolean,
): KnownSession | null {
  const known = verified as CachedEntry;
  if (known.keyId !== settings.keyIds[0]) return null;

  const storage = settings.storage;
  if (storageFlagsMismatch(settings, known.flags) || (storage && !storage.synchronous && !answer)) return null;
  // Expired, or due for a re-save (or a touch, unless the caller touches): the full path does that (and says why).
  if (lifetimeProblem(settings, false, known, now) !== null) return null;
  const due = refreshDue(settings, known, now);
  if (due !== RefreshDue.Nothing && !(touchDue && due === RefreshDue.Touch)) return null;
  if (known.bind !== "" || known.flags & FLAG_BIND_ANY) {
    if (boundValues(known.flags, bindSourceOf(request)) !== known.bind) return null;
  }

  if (storage) {
    if (cookie.length !== HEADER_ENCODED_SIZE) return null;
    if (answer) {
      if (!answer.holds) return null;
    } else {
      let stored: unknown;
      try {
        stored = storage.get(settings.cookieName, storageKeyOf(settings, platform, known.sid, known), now);
      } catch (e) {
        return null;
      }
      if (!recordHolds(stored, known.ciphertext)) return null;
    }
  } else if (cookie.length !== HEADER_ENCODED_SIZE + known.ciphertext.length) {
    // A chunked cookie: the full path gathers the chunks (and still finds the decryption cached).
    return null;
  }

  const audience = settings.audience;
  let found: KnownSession | null | undefined = known.known;
  if (!found || found.audience !== audience) found = findAudience(known, audience);
  if (!found) return null;
  const registry = settings.registry;
  if (!registry) {
    // Nothing to revoke without a registry (revocationProblem's first answer): its call and try skipped.
    found.timing.timestamp = now;
    return found;
  }
  if (answer && answer.revoked !== undefined && registry.readChecked) {
    // The registry in the store answered with the record (a second round trip is not the fast check's).
    if (answer.revoked) return null;
    found.timing.timestamp = now;
    return found;
  }
  return unrevoked(found, settings, now);
}

/**
 * checkVerified's judgement of the entry the cold check (cold-check.ts) has just made, given what that
 * check already established with the same functions, on the header the entry was made from, at the
 * same `now`: the current key's MAC, the storage flag, the timeouts, no refresh due, the request's
 * bound attributes, the cookie's shape, the record read in the same step; and openPayload's index of
 * the audience's entry, found by entryIndex with unpublishableSubject applied. What is left of
 * checkVerified is the session as this audience sees it and the revocation list.
 */
export function checkJustVerified(verified: VerifiedSession, settings: FastCheckSettings, audienceIndex: number, now: number): KnownSession | null {
  if (audienceIndex < 0) return null;
  const found = knownSessionAt(verified as CachedEntry, verified.entries as SessionEntry[], settings.audience, audienceIndex);
  if (!settings.registry) {
    // As checkVerified: nothing to revoke without a registry, so unrevoked's call and try are skipped
    // (under QuickJS each distinct function a cold request calls is read from memory: docs/NOTES.md).
    found.timing.timestamp = now;
    return found;
  }
  return unrevoked(found, settings, now);
}

/** `found` as of `now`, unless the registry says it was revoked (or cannot say). */
function unrevoked(found: KnownSession, settings: FastCheckSettings, now: number): KnownSession | null {
  try {
    if (revocationProblem(settings, found.audience, found.subject, found.timing.creationTime, now) !== null) return null;
  } catch (e) {
    // A misconfigured registry: the full path throws it, loudly.
    return null;
  }
  found.timing.timestamp = now;
  return found;
}

/**
 * The storage key of a session id, as the full path derives it (Session's storageKey). With `verified`,
 * the verified-cache entry of that very id, the hashed key is kept on the entry: every warm request of
 * a hashed-key storage would otherwise decode, hash and encode the id again. The entry keeps only the
 * hashed form, a function of the id alone, so a location without hash_storage_key never reads it.
 */
export function storageKeyOf(settings: FastCheckSettings, platform: Pick<Platform, "sha256">, sid: string, verified?: VerifiedSession): string {
  if (!settings.hashStorageKey) return sid;
  if (verified && verified.hashedStorageKey !== undefined) return verified.hashedStorageKey;
  const key = encodeBase64Url(platform.sha256(decodeBase64Url(sid) as Uint8Array));
  if (verified) verified.hashedStorageKey = key;
  return key;
}

/**
 * Whether a stored record ([ciphertext, info?] as text: cookie-opening.ts's parseRecord reads it to
 * open a session) is there and holds the very ciphertext that was verified. Its own parse: this is
 * every warm request of a server-side session, where parseRecord's checks and calls would be paid for
 * nothing.
 */
export function recordHolds(stored: unknown, ciphertext: string): boolean {
  if (typeof stored !== "string") return false;
  let record: unknown;
  try {
    record = JSON.parse(stored);
  } catch (e) {
    return false;
  }
  return Array.isArray(record) && record[0] === ciphertext;
}

/** The audience's entry of a cached payload, kept on the cache entry for the next request. */
function findAudience(known: CachedEntry, audience: string): KnownSession | null {
  const entries = verifiedEntries(known);
  if (!entries) return null;
  const i = entryIndex(entries, audience);
  // Its subject is not tested again: the cache holds only payloads whose every subject nginx can
  // publish (subjectsPublishable, at the fill).
  if (i < 0) return null;
  return knownSessionAt(known, entries, audience, i);
}

/**
 * The session as the audience of entries[index] sees it, kept on the cache entry for the next request.
 * Its timing is an object of its own, not the entry (which holds the same fields): the entry keeps the
 * session, so the session pointing back at it would make a cycle that only QuickJS's cycle collector
 * frees once the memory cache drops the entry, and every cold check would leave one behind
 * (docs/NOTES.md, issue 14, "the cold path's cycle-collected garbage").
 */
function knownSessionAt(known: CachedEntry, entries: SessionEntry[], audience: string, index: number): KnownSession {
  const timing: SessionTiming = { timestamp: 0, creationTime: known.creationTime, rollingOffset: known.rollingOffset, idlingOffset: known.idlingOffset };
  known.known = {
    audience: audience,
    subject: entries[index][2],
    data: entries[index][0],
    loggableId: known.loggableId,
    timing: timing,
    bound: known.bind !== "" || (known.flags & FLAG_BIND_ANY) !== 0,
  };
  return known.known;
}

/**
 * A verified entry's payload parsed, once: kept on the entry, so that an in-memory entry has it for
 * the next request and this request parses it at most once (a zone entry is a fresh copy anyway).
 */
export function verifiedEntries(verified: VerifiedSession): SessionEntry[] | null {
  const parsed = verified.entries as SessionEntry[] | undefined;
  if (parsed) return parsed;
  const decoded = decodeEntries(verified.plaintext);
  if (decoded) verified.entries = decoded;
  return decoded;
}
