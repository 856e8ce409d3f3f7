/**
 * The fast check (fast-check.ts) for a storage that answers asynchronously (redis, memcached): the
 * record a cached session needs is read first, with the one store round trip the check costs, and
 * fastCheck then judges the session against that record exactly as it judges a shm record. No
 * Session is built; the verdicts are fastCheck's own.
 *
 * Only a session fastCheck could pass is asked about: a cookie verified before (verified-cache.ts),
 * with the current key, alive, and with no touch or re-save due. Anything else returns null at once
 * and the full path (Session) runs, making the round trip itself. When the record says no (gone,
 * replaced: a logout on another node), fastCheck says null and the full path asks again, decides and
 * logs; that second round trip is paid only by sessions that are ending.
 *
 * A store that cannot answer rejects (StoreUnavailable): the caller fails closed, as the full path would.
 *
 * With the session registry in the store (store-registry.ts), the revocations of the session's subject
 * are read in the same round trip as the record (Registry.readChecked), and fastCheck judges against
 * that answer: a revocation made through any node holds on the next request here.
 *
 * Two calls, so that the caller continues in one promise step: askStore() reads, storeVerdict() judges.
 */

import { decodeBase64Url, encodeBase64Url } from "./bytes";
import { lifetimeProblem, refreshDue, RefreshDue, storageFlagsMismatch } from "./checks";
import type { Settings } from "./settings";
import { fastCheck, KnownSession, verifiedEntries } from "./fast-check";
import { HEADER_ENCODED_SIZE } from "./format";
import type { Platform } from "./platform";
import type { Registry } from "./registry";
import { askedWithin, markAsked } from "./store-revalidation";
import { entryIndex } from "./session";
import type { BindSource } from "./session";
import type { Storage } from "./storage";
import type { VerifiedCache, VerifiedSession } from "./verified-cache";

/** The storage key of a session id, as the full path derives it (Session's storageKey). */
function storageKeyOf(settings: Settings, platform: Platform, sid: string): string {
  return settings.hashStorageKey ? encodeBase64Url(platform.sha256(decodeBase64Url(sid) as Uint8Array)) : sid;
}

/** A synchronous storage holding the one record just read; any other read finds nothing. */
function recordStorage(name: string, key: string, stored: string | null | undefined): Storage {
  function refuse(): never {
    throw new Error("the fast store check only reads");
  }
  return {
    synchronous: true,
    get: function (askedName, askedKey) {
      return askedName === name && askedKey === key ? stored : undefined;
    },
    set: refuse,
    delete: refuse,
  };
}

/** The verified cache as it was when the record was asked for: the same entry, not a second lookup. */
function pinnedCache(cache: VerifiedCache, cookie: string, entry: VerifiedSession): VerifiedCache {
  const view = Object.create(cache) as VerifiedCache;
  view.get = function (asked) {
    return asked === cookie ? entry : cache.get(asked);
  };
  return view;
}

/** A registry that answers isRevoked for the one session asked about, as the store answered it. */
function answeredRegistry(registry: Registry, audience: string, subject: string, created: number, revoked: boolean): Registry {
  const view = Object.create(registry) as Registry;
  view.isRevoked = function (askedAudience, askedSubject, askedCreated) {
    if (askedAudience !== audience || askedSubject !== subject || askedCreated !== created) throw new Error("the fast store check asked about another session");
    return revoked;
  };
  return view;
}

/** The subject of the session's entry for `audience`, from the payload verified before. */
function subjectOf(entry: VerifiedSession, audience: string): string | undefined {
  const entries = verifiedEntries(entry);
  if (!entries) return undefined;
  const i = entryIndex(entries, audience);
  return i < 0 ? undefined : entries[i][2];
}

/** A session fastCheck could pass, as the store is asked (or was, within store_revalidate) about it. */
export interface AskedSession {
  cookie: string;
  entry: VerifiedSession;
  key: string;
  /** With the registry in the store: the subject asked about, and (once the store answered) the verdict. */
  subject?: string;
  revoked?: boolean;
  /** Answered from what the store said within store_revalidate, not read now. */
  remembered?: boolean;
}

/** The store read of a session fastCheck could pass, under way. */
export interface StoreQuestion extends AskedSession {
  stored: Promise<string | null | undefined>;
}

/** The verified-cache entry of a session fastCheck could pass with the store's record; null otherwise. */
function passableEntry(settings: Settings, cookie: string | undefined, now: number): VerifiedSession | null {
  const storage = settings.storage;
  const cache = settings.verifiedCache;
  if (!storage || storage.synchronous || !cache || !cookie || cookie.length !== HEADER_ENCODED_SIZE) return null;
  const entry = cache.get(cookie);
  if (!entry || entry.keyId !== settings.keyIds[0] || storageFlagsMismatch(settings, entry.flags)) return null;
  if (lifetimeProblem(settings, false, entry, now) !== null || refreshDue(settings, entry, now) !== RefreshDue.Nothing) return null;
  return entry;
}

/** What store-revalidation.ts marks: one session as one audience sees it. */
function askedKey(settings: Settings, entry: VerifiedSession): string {
  return entry.sid + ":" + settings.audience;
}

/**
 * store_revalidate: fastCheck's verdict without asking the store, when this node asked about the
 * session within the bound and the store then had its record, unrevoked (store-revalidation.ts).
 * null otherwise: askStore() then asks.
 */
export function answerWithinBound<R>(
  settings: Settings,
  platform: Platform,
  cookie: string | undefined,
  now: number,
  request: R,
  bindSourceOf: (request: R) => BindSource,
): KnownSession | null {
  const entry = passableEntry(settings, cookie, now);
  if (!entry || !askedWithin(platform, askedKey(settings, entry), settings.storeRevalidate)) return null;
  // As the store answered then: the record holding the very ciphertext, the session not revoked.
  const question: AskedSession = {
    cookie: cookie as string,
    entry: entry,
    key: storageKeyOf(settings, platform, entry.sid),
    remembered: true,
    revoked: false,
  };
  const subject = subjectOf(entry, settings.audience);
  if (subject !== undefined) question.subject = subject;
  return storeVerdict(question, JSON.stringify([entry.ciphertext]), settings, platform, now, request, bindSourceOf);
}

/** Asks the store for the record, when fastCheck could pass the session; null when it could not. */
export function askStore(
  settings: Settings,
  platform: Platform,
  /** As for fastCheck: the value of the cookie named exactly settings.cookieName. */
  cookie: string | undefined,
  now: number,
): StoreQuestion | null {
  const entry = passableEntry(settings, cookie, now);
  if (!entry || !cookie) return null;
  const storage = settings.storage as Storage;
  const key = storageKeyOf(settings, platform, entry.sid);
  const registry = settings.registry;
  if (registry && registry.readChecked) {
    const subject = subjectOf(entry, settings.audience);
    if (subject !== undefined) {
      const question: StoreQuestion = { cookie: cookie, entry: entry, key: key, stored: Promise.resolve(null), subject: subject };
      question.stored = registry.readChecked(settings.cookieName, key, settings.audience, subject, entry.creationTime, now).then(function (checked) {
        question.revoked = checked.revoked;
        return checked.stored;
      });
      return question;
    }
  }
  return { cookie: cookie, entry: entry, key: key, stored: Promise.resolve(storage.get(settings.cookieName, key, now)) };
}

/** fastCheck's verdict on the session asked about, against the record the store answered. */
export function storeVerdict<R>(
  question: AskedSession,
  stored: string | null | undefined,
  settings: Settings,
  platform: Platform,
  now: number,
  request: R,
  bindSourceOf: (request: R) => BindSource,
): KnownSession | null {
  const answered = Object.create(settings) as { -readonly [K in keyof Settings]: Settings[K] };
  answered.storage = recordStorage(settings.cookieName, question.key, stored);
  answered.verifiedCache = pinnedCache(settings.verifiedCache as VerifiedCache, question.cookie, question.entry);
  // The registry in the store was asked with the record; without that answer fastCheck must not ask it
  // (it would be a second round trip): no subject means no revocation to check.
  const registry = settings.registry;
  if (registry && registry.readChecked) {
    answered.registry =
      question.subject !== undefined && question.revoked !== undefined
        ? answeredRegistry(registry, settings.audience, question.subject, question.entry.creationTime, question.revoked)
        : null;
  }
  const found = fastCheck(answered, platform, question.cookie, now, request, bindSourceOf);
  // The store said yes just now: within store_revalidate this node may say it again without asking.
  if (found && settings.storeRevalidate > 0 && !question.remembered) markAsked(platform, askedKey(settings, question.entry), settings.storeRevalidate);
  return found;
}
