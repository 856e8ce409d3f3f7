/**
 * The session registry and the revocation list: what they promise, whichever store holds them. For
 * each audience and subject a registry keeps the live sessions (store_metadata: one entry per session,
 * keyed by its creation time, with what identifies the device) and the revocations ("everything
 * created up to T" and single creation times). Two implementations:
 *
 *   shm-registry.ts    in a js_shared_dict_zone (registry_zone, or shm storage's zone): one node
 *   store-registry.ts  in the network store the sessions live in (redis): every node sees the same
 *
 * A session is identified by its creation time: the cookie header carries it, authenticated, and it
 * survives every refresh (the session id does not). So that two devices logging in within the same
 * second stay apart, a new session's creation time is reserved first (reserve()), a second earlier if
 * `now` is taken.
 *
 * Revocation does not depend on the list being complete: "log out everywhere" is a cut-off time checked
 * on every open, so a session the list missed is refused all the same.
 *
 * The shm registry answers at once; the store registry answers with promises (MaybePromise), and its
 * failures are StoreUnavailable errors, which fail closed like any store read.
 */

import { encodeBase64Url, utf8Encode } from "./bytes";
import { errorText, isOperatorError } from "./errors";
import { isPromise, MaybePromise } from "./maybe";
import type { Platform } from "./platform";

/** One live session as the registry lists it. */
export interface RegistryEntry {
  /** Creation time (unix seconds): the session's identity in the registry. */
  created: number;
  /** Last time a cookie was issued for it (login, refresh, touch). */
  lastSeen: number;
  /** When it expires at the latest if never refreshed again. */
  expires: number;
  /** Whether a remember cookie goes with it; undefined when the caller did not look (kept as recorded). */
  remember?: boolean;
  /** Creation time of the remember cookie that goes with it, if any (revoked with the session). */
  rememberCreated?: number;
  userAgent?: string;
  /** Only when the session is bound to the client address (bind: ip). */
  ip?: string;
  /** Cookie name and storage key of the current record (server-side storage), to delete it on revocation. */
  name?: string;
  key?: string;
  /** Storage key of the remember cookie's record (server-side storage), deleted with it by the store registry. */
  rememberKey?: string;
}

/** An entry as both registries store it (JSON, short names). */
export interface StoredEntry {
  c: number;
  s: number;
  e: number;
  r?: 1;
  rc?: number;
  u?: string;
  i?: string;
  n?: string;
  k?: string;
  rk?: string;
  /** A reservation (reserve()) not yet recorded: never listed. */
  p?: 1;
}

/** The revocations of one audience and subject. */
export interface Revocations {
  /** Everything created at or before this time is revoked. */
  a?: number;
  /** Single revoked creation times. */
  c?: number[];
}

/** At most this many sessions are listed per subject; beyond, the ones expiring first drop off the list. */
export const MAX_ENTRIES_PER_SUBJECT = 100;
const USER_AGENT_LIMIT = 256;
/** How far back a reserved creation time may go, and how long an unused reservation is kept. */
export const RESERVE_WINDOW = 60;

export interface Registry {
  /** What it was made with: the warm check (src/nginx/check-view.ts) makes the shm registry's twin from them. */
  readonly options: RegistryOptions;
  /** Registry keys of an audience and subject: base64url, the subject hashed when hash_subject is on. */
  encodeAudience(audience: string): string;
  encodeSubject(subject: string): string;
  /**
   * A creation time for a new session (or remember cookie) of this subject, unique among its listed
   * ones: `now`, or a second or more before it when another device took `now`. Held by a placeholder
   * entry until the session is recorded.
   */
  reserve(audience: string, subject: string, now: number): MaybePromise<number>;
  /** Adds or replaces a session's entry. */
  record(audience: string, subject: string, entry: RegistryEntry, now: number): MaybePromise<void>;
  /** Updates last-seen (and expiry) of an existing entry only. */
  touch(audience: string, subject: string, created: number, lastSeen: number, expires: number, now: number): MaybePromise<void>;
  remove(audience: string, subject: string, created: number, now: number): MaybePromise<void>;
  list(audience: string, subject: string, now: number): MaybePromise<RegistryEntry[]>;
  isRevoked(audience: string, subject: string, created: number, now: number): MaybePromise<boolean>;
  /**
   * isRevoked's answer as the session checks report it (checks.ts revocationProblem):
   * registryRevocationProblem, below, in both registries.
   */
  revocationProblem(audience: string, subject: string, created: number, now: number): MaybePromise<string | null>;
  /**
   * Revokes one session, its remember cookie and the sessions that remember cookie restored; returns
   * their entries (the session's first), empty if it was not listed.
   */
  revokeOne(audience: string, subject: string, created: number, now: number): MaybePromise<RegistryEntry[]>;
  /** Revokes everything of the subject created up to now; returns the entries that were listed. */
  revokeAll(audience: string, subject: string, now: number): MaybePromise<RegistryEntry[]>;
  /** True when revokeOne/revokeAll delete the session records themselves (the store registry). */
  readonly deletesRecords?: boolean;
  /**
   * Only a registry that lives in the network store: the session record and whether the session is
   * revoked, in one round trip (the store-backed fast check, fast-store-check.ts).
   */
  readChecked?(name: string, key: string, audience: string, subject: string, created: number, now: number): Promise<CheckedRecord>;
}

/** A session record and the revocation verdict on its session, read together. */
export interface CheckedRecord {
  stored: string | null | undefined;
  revoked: boolean;
}

export interface RegistryOptions {
  /** The js_shared_dict_zone (shm registry); "" for the store registry. */
  zone: string;
  hashSubject: boolean;
  /** Upper bound of any session's lifetime (seconds): how long a revocation must be remembered. */
  maxLifetime: number;
}

export function toEntry(stored: StoredEntry): RegistryEntry {
  const entry: RegistryEntry = { created: stored.c, lastSeen: stored.s, expires: stored.e, remember: stored.r === 1 };
  if (stored.rc !== undefined) entry.rememberCreated = stored.rc;
  if (stored.u !== undefined) entry.userAgent = stored.u;
  if (stored.i !== undefined) entry.ip = stored.i;
  if (stored.n !== undefined) entry.name = stored.n;
  if (stored.k !== undefined) entry.key = stored.k;
  if (stored.rk !== undefined) entry.rememberKey = stored.rk;
  return entry;
}

export function toStored(entry: RegistryEntry): StoredEntry {
  const stored: StoredEntry = { c: entry.created, s: entry.lastSeen, e: entry.expires };
  if (entry.remember) stored.r = 1;
  if (entry.rememberCreated !== undefined) stored.rc = entry.rememberCreated;
  if (entry.userAgent) stored.u = entry.userAgent.substring(0, USER_AGENT_LIMIT);
  if (entry.ip) stored.i = entry.ip;
  if (entry.name) stored.n = entry.name;
  if (entry.key) stored.k = entry.key;
  if (entry.rememberKey) stored.rk = entry.rememberKey;
  return stored;
}

/** A stored JSON object, or {} when it is missing or damaged (it is rebuilt by the next save of each session). */
export function parseObject(raw: string | number | null | undefined): { [key: string]: unknown } {
  if (typeof raw !== "string") return {};
  try {
    const parsed = JSON.parse(raw);
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {};
  } catch (e) {
    return {};
  }
}

/** A stored entry that can be trusted as one, alive as of `now`. */
export function liveEntry(entry: unknown, now: number): entry is StoredEntry {
  const stored = entry as StoredEntry;
  return !!stored && typeof stored === "object" && typeof stored.c === "number" && typeof stored.e === "number" && stored.e > now;
}

/**
 * Whether the registry says this session was revoked, as a reason: "session revoked", null when it was
 * not. A registry that cannot answer refuses the session (a revoked one must not slip through); a
 * misconfigured one, or a store that cannot answer, throws (fail closed, loudly). Both registries' own
 * revocationProblem, a method, not a step of checks.ts: so that the njs engine's warm, cold and touch
 * parts, which call it only for a location with a registry, do not declare it and what it calls on
 * every load (docs/NOTES.md, issue 14, branch njswarm7).
 */
export function registryRevocationProblem(this: Pick<Registry, "isRevoked">, audience: string, subject: string, created: number, now: number): MaybePromise<string | null> {
  let revoked: MaybePromise<boolean>;
  try {
    revoked = this.isRevoked(audience, subject, created, now);
  } catch (e) {
    return uncheckedRevocation(e);
  }
  if (isPromise(revoked)) return revoked.then(revocationReason, uncheckedRevocation);
  return revocationReason(revoked);
}

function revocationReason(revoked: boolean): string | null {
  return revoked ? "session revoked" : null;
}

function uncheckedRevocation(e: unknown): string {
  if (isOperatorError(e)) throw e;
  return "unable to check session revocation (" + errorText(e) + ")";
}

/** The revocation rule, the one both registries apply. */
export function isCovered(revocations: Revocations, created: number): boolean {
  if (typeof revocations.a === "number" && created <= revocations.a) return true;
  return Array.isArray(revocations.c) && revocations.c.indexOf(created) >= 0;
}

/**
 * reserve()'s choice: `now`, or the latest free second before it, never at or before a "revoke all"
 * cut-off (the new session would be born revoked). If no second is free, `now` is shared (listed and
 * revoked together) rather than refused.
 */
export function freeCreationTime(taken: number[], revocations: Revocations, now: number): number {
  const floor = Math.max(now - RESERVE_WINDOW, typeof revocations.a === "number" ? revocations.a + 1 : 0);
  let created = now;
  while (created >= floor && (taken.indexOf(created) >= 0 || isCovered(revocations, created))) created--;
  return created < floor ? now : created;
}

/** The creation times entries hold (a session's and its remember cookie's). */
export function takenTimes(entries: StoredEntry[]): number[] {
  const taken: number[] = [];
  for (let i = 0; i < entries.length; i++) {
    taken.push(entries[i].c);
    if (entries[i].rc !== undefined) taken.push(entries[i].rc as number);
  }
  return taken;
}

/**
 * revokeOne()'s reach: the session's entry and those restored from the same remember cookie (the same
 * login on the same device), and every creation time they name. Empty when the session is not listed.
 */
export function revokedWith(entries: StoredEntry[], created: number): { gone: StoredEntry[]; times: number[] } {
  let entry: StoredEntry | undefined;
  for (let i = 0; i < entries.length; i++) if (entries[i].c === created && !entries[i].p) entry = entries[i];
  if (!entry) return { gone: [], times: [] };
  const gone: StoredEntry[] = [entry];
  if (entry.rc !== undefined) {
    for (let i = 0; i < entries.length; i++) {
      if (entries[i] !== entry && entries[i].rc === entry.rc) gone.push(entries[i]);
    }
  }
  const times: number[] = [];
  for (let i = 0; i < gone.length; i++) {
    times.push(gone[i].c);
    if (gone[i].rc !== undefined && times.indexOf(gone[i].rc as number) < 0) times.push(gone[i].rc as number);
  }
  return { gone: gone, times: times };
}

/** A recorded entry over the previous one: a refresh that did not look at the remember cookie keeps what the login recorded. */
export function mergedEntry(entry: RegistryEntry, previous: StoredEntry | undefined): StoredEntry {
  const stored = toStored(entry);
  if (entry.remember === undefined && previous) {
    if (previous.r) stored.r = 1;
    if (previous.rc !== undefined) stored.rc = previous.rc;
    if (previous.rk !== undefined) stored.rk = previous.rk;
    stored.e = Math.max(stored.e, previous.e);
  }
  return stored;
}

/** An audience as store_metadata (and so the registry) names it: base64url, as lua-resty-session does. */
export function metadataAudience(audience: string): string {
  return encodeBase64Url(utf8Encode(audience));
}

/** A subject as store_metadata names it: base64url, or of its truncated SHA-256 with hash_subject. */
export function metadataSubject(platform: Pick<Platform, "sha256">, subject: string, hashSubject: boolean): string {
  return hashSubject
    ? encodeBase64Url(platform.sha256(utf8Encode(subject)).subarray(0, 16))
    : encodeBase64Url(utf8Encode(subject));
}
