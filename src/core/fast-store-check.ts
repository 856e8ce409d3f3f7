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
 * The calls, so that the caller continues in the step the store's reply arrives: storeCheckable()
 * finds the verified entry once; answerWithinBound() judges it without asking (store_revalidate); else
 * askStore() reads, handing the outcome to the question's answer (Storage.ask), which judges with
 * storeVerdict(). The judging is fast-check.ts's checkVerified, handed the store's answer.
 */

import { lifetimeProblem, refreshDue, RefreshDue, storageFlagsMismatch } from "./checks";
import type { Settings } from "./settings";
import { checkVerified, FastCheckSettings, KnownSession, RecordAnswer, recordHolds, storageKeyOf, verifiedEntries } from "./fast-check";
import { HEADER_ENCODED_SIZE } from "./format";
import type { Platform } from "./platform";
import { confirmedWithin, markAsked } from "./store-revalidation";
import { entryIndex } from "./session";
import type { BindSource } from "./session";
import { askAnswered, Storage, StoreAsking } from "./storage";
import type { VerifiedSession } from "./verified-cache";

/** What storeCheckable and answerWithinBound read of the settings (the njs engine's warm view has it). */
export type BoundCheckSettings = FastCheckSettings & Pick<Settings, "storeRevalidate">;

/** What askStore and storeVerdict call of the platform: the full one, or the warm stores' (warm-stores.ts, store-reads.ts). */
type AskingPlatform = Pick<Platform, "sha256" | "sharedDict">;

/** What the store said within store_revalidate: the record held this very ciphertext, unrevoked. */
const ANSWERED_WITHIN_BOUND: RecordAnswer = { holds: true, revoked: false };

/** The subject of the session's entry for `audience`, from the payload verified before. */
function subjectOf(entry: VerifiedSession, audience: string): string | undefined {
  const entries = verifiedEntries(entry);
  if (!entries) return undefined;
  const i = entryIndex(entries, audience);
  return i < 0 ? undefined : entries[i][2];
}

/**
 * The store read of a session fastCheck could pass: what askStore asks about, and where the outcome
 * goes (`answer`, with whatever the asker keeps on the question for it).
 */
export interface StoreQuestion<T> extends StoreAsking<T> {
  cookie: string;
  entry: VerifiedSession;
  /** With the registry in the store, once the store answered: whether the session is revoked. */
  revoked?: boolean;
}

/**
 * The verified-cache entry of a session fastCheck could pass once the store confirms its record, for
 * a storage that answers asynchronously; null otherwise (no such storage, not verified before, a
 * fallback key, expired or due for a refresh: the full path).
 */
export function storeCheckable(settings: FastCheckSettings, cookie: string | undefined, now: number): VerifiedSession | null {
  const storage = settings.storage;
  const cache = settings.verifiedCache;
  if (!storage || storage.synchronous || !cache || !cookie || cookie.length !== HEADER_ENCODED_SIZE) return null;
  const entry = cache.get(cookie);
  if (!entry || entry.keyId !== settings.keyIds[0] || storageFlagsMismatch(settings, entry.flags)) return null;
  if (lifetimeProblem(settings, false, entry, now) !== null || refreshDue(settings, entry, now) !== RefreshDue.Nothing) return null;
  return entry;
}

/** What store-revalidation.ts marks: one session as one audience sees it. */
function askedKey(settings: FastCheckSettings, entry: VerifiedSession): string {
  return entry.sid + ":" + settings.audience;
}

/**
 * store_revalidate: when this node's store last confirmed the session of `entry` (its record there,
 * unrevoked), in milliseconds, if within the bound; undefined otherwise (store-revalidation.ts).
 */
export function storeConfirmedAt(platform: Pick<Platform, "sharedDict">, settings: BoundCheckSettings, entry: VerifiedSession): number | undefined {
  return confirmedWithin(platform, askedKey(settings, entry), settings.storeRevalidate);
}

/**
 * store_revalidate: fastCheck's verdict without asking the store, for a session this node's store
 * confirmed within the bound (the caller asked storeConfirmedAt first; else askStore() asks).
 */
export function answerWithinBound<R>(
  entry: VerifiedSession,
  settings: BoundCheckSettings,
  platform: Pick<Platform, "sha256" | "sharedDict">,
  cookie: string,
  now: number,
  request: R,
  bindSourceOf: (request: R) => BindSource,
): KnownSession | null {
  return checkVerified(entry, settings, platform, cookie, now, request, bindSourceOf, ANSWERED_WITHIN_BOUND);
}

/**
 * Asks the store for the record of the session of a question (its entry, storeCheckable()'s); the
 * outcome goes to the question's answer, in the step the store's reply arrives where the storage can
 * (Storage.ask). Resolves to what the answer returns. `host` is the request's handle for a storage
 * that reads through it.
 */
export function askStore<T>(question: StoreQuestion<T>, settings: BoundCheckSettings, platform: AskingPlatform, now: number, host?: unknown): Promise<T> {
  const entry = question.entry;
  const key = storageKeyOf(settings, platform, entry.sid, entry);
  const registry = settings.registry;
  if (registry && registry.readChecked) {
    const subject = subjectOf(entry, settings.audience);
    if (subject !== undefined) {
      return registry.readChecked(settings.cookieName, key, settings.audience, subject, entry.creationTime, now).then(
        function (checked) {
          question.revoked = checked.revoked;
          return question.answer.stored(question, checked.stored);
        },
        function (e) {
          return question.answer.failed(question, e);
        },
      );
    }
  }
  const storage = settings.storage as Storage;
  return storage.ask ? storage.ask(settings.cookieName, key, now, host, question) : askAnswered(storage.get(settings.cookieName, key, now, host), question);
}

/** fastCheck's verdict on the session asked about, against the record the store answered. */
export function storeVerdict<R, T>(
  question: StoreQuestion<T>,
  stored: string | null | undefined,
  settings: BoundCheckSettings,
  platform: AskingPlatform,
  now: number,
  request: R,
  bindSourceOf: (request: R) => BindSource,
): KnownSession | null {
  const answer: RecordAnswer = { holds: recordHolds(stored, question.entry.ciphertext), revoked: question.revoked };
  const found = checkVerified(question.entry, settings, platform, question.cookie, now, request, bindSourceOf, answer);
  // The store said yes just now: within store_revalidate this node may say it again without asking.
  if (found && settings.storeRevalidate > 0) markAsked(platform, askedKey(settings, question.entry), settings.storeRevalidate);
  return found;
}
