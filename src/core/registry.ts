/**
 * The session registry and the revocation list, in a shared dictionary zone (every worker sees the
 * same). For each audience and subject it keeps:
 *
 *   @registry:<audience>:<subject>  the live sessions (store_metadata): one entry per session, keyed by
 *                                   its creation time, with what identifies the device
 *   @revoked:<audience>:<subject>   revocations: "everything created up to T" and single creation times
 *
 * A session is identified by its creation time: the cookie header carries it, authenticated, and it
 * survives every refresh (the session id does not). So that two devices logging in within the same
 * second stay apart, a new session's creation time is reserved here first (reserve()), a second earlier
 * if `now` is taken.
 *
 * Revocation does not depend on the list being complete: "log out everywhere" is a cut-off time checked
 * on every open, so a session the list missed is refused all the same. The list is updated under a
 * short lock (an `add` of a lock key: njs has no atomic read-modify-write), so concurrent logins of
 * one subject on two workers do not lose each other's entry.
 *
 * "@" cannot occur in a cookie name (RFC 6265 token), so these keys never meet a session record
 * (`name:key`) in a zone shared with shm storage.
 */

import { encodeBase64Url, utf8Encode } from "./bytes";
import type { Platform } from "./platform";
import { dictTimeout, lookupZone, SharedDict, zoneError } from "./shared-dict";

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
}

interface StoredEntry {
  c: number;
  s: number;
  e: number;
  r?: 1;
  rc?: number;
  u?: string;
  i?: string;
  n?: string;
  k?: string;
  /** A reservation (reserve()) not yet recorded: never listed. */
  p?: 1;
}

interface StoredRevocations {
  /** Everything created at or before this time is revoked. */
  a?: number;
  /** Single revoked creation times. */
  c?: number[];
}

/** At most this many sessions are listed per subject; beyond, the ones expiring first drop off the list. */
export const MAX_ENTRIES_PER_SUBJECT = 100;
/** The lock is held for microseconds; a worker that died holding it loses it after this. */
const LOCK_TIMEOUT_MS = 1000;
/** How long a worker spins for the lock before updating the list without it. */
const LOCK_SPIN_MS = 5;
const USER_AGENT_LIMIT = 256;
/** How far back a reserved creation time may go, and how long an unused reservation is kept. */
const RESERVE_WINDOW = 60;

export interface Registry {
  readonly zone: string;
  /** What it was made with: the warm check (src/nginx/check-view.ts) makes its twin from them. */
  readonly options: RegistryOptions;
  /** Registry keys of an audience and subject: base64url, the subject hashed when hash_subject is on. */
  encodeAudience(audience: string): string;
  encodeSubject(subject: string): string;
  /**
   * A creation time for a new session (or remember cookie) of this subject, unique among its listed
   * ones: `now`, or a second or more before it when another device took `now`. Held by a placeholder
   * entry until the session is recorded.
   */
  reserve(audience: string, subject: string, now: number): number;
  /** Adds or replaces a session's entry. */
  record(audience: string, subject: string, entry: RegistryEntry, now: number): void;
  /** Updates last-seen (and expiry) of an existing entry only. */
  touch(audience: string, subject: string, created: number, lastSeen: number, expires: number, now: number): void;
  remove(audience: string, subject: string, created: number, now: number): void;
  list(audience: string, subject: string, now: number): RegistryEntry[];
  isRevoked(audience: string, subject: string, created: number, now: number): boolean;
  /**
   * Revokes one session, its remember cookie and the sessions that remember cookie restored; returns
   * their entries (the session's first), empty if it was not listed.
   */
  revokeOne(audience: string, subject: string, created: number, now: number): RegistryEntry[];
  /** Revokes everything of the subject created up to now; returns the entries that were listed. */
  revokeAll(audience: string, subject: string, now: number): RegistryEntry[];
}

export interface RegistryOptions {
  zone: string;
  hashSubject: boolean;
  /** Upper bound of any session's lifetime (seconds): how long a revocation must be remembered. */
  maxLifetime: number;
}

function toEntry(stored: StoredEntry): RegistryEntry {
  const entry: RegistryEntry = { created: stored.c, lastSeen: stored.s, expires: stored.e, remember: stored.r === 1 };
  if (stored.rc !== undefined) entry.rememberCreated = stored.rc;
  if (stored.u !== undefined) entry.userAgent = stored.u;
  if (stored.i !== undefined) entry.ip = stored.i;
  if (stored.n !== undefined) entry.name = stored.n;
  if (stored.k !== undefined) entry.key = stored.k;
  return entry;
}

function toStored(entry: RegistryEntry): StoredEntry {
  const stored: StoredEntry = { c: entry.created, s: entry.lastSeen, e: entry.expires };
  if (entry.remember) stored.r = 1;
  if (entry.rememberCreated !== undefined) stored.rc = entry.rememberCreated;
  if (entry.userAgent) stored.u = entry.userAgent.substring(0, USER_AGENT_LIMIT);
  if (entry.ip) stored.i = entry.ip;
  if (entry.name) stored.n = entry.name;
  if (entry.key) stored.k = entry.key;
  return stored;
}

function parseObject(raw: string | number | undefined): { [key: string]: unknown } {
  if (typeof raw !== "string") return {};
  try {
    const parsed = JSON.parse(raw);
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {};
  } catch (e) {
    // A damaged value is dropped: it is rebuilt by the next save of each session.
    return {};
  }
}

/** An audience as store_metadata (and so the registry) names it: base64url, as lua-resty-session does. */
export function metadataAudience(audience: string): string {
  return encodeBase64Url(utf8Encode(audience));
}

/** A subject as store_metadata names it: base64url, or of its truncated SHA-256 with hash_subject. */
export function metadataSubject(platform: Platform, subject: string, hashSubject: boolean): string {
  return hashSubject
    ? encodeBase64Url(platform.sha256(utf8Encode(subject)).subarray(0, 16))
    : encodeBase64Url(utf8Encode(subject));
}

/**
 * The live sessions listed under already-encoded registry keys (the storage interface's readMetadata
 * receives audience and subject encoded, as lua-resty-session passes them).
 */
export function readListedSessions(shared: SharedDict, audienceKey: string, subjectKey: string, now: number): RegistryEntry[] {
  const stored = parseObject(shared.get("@registry:" + audienceKey + ":" + subjectKey)) as { [id: string]: StoredEntry };
  const out: RegistryEntry[] = [];
  const ids = Object.keys(stored);
  for (let i = 0; i < ids.length; i++) {
    const entry = stored[ids[i]];
    if (entry && !entry.p && typeof entry.c === "number" && typeof entry.e === "number" && entry.e > now) out.push(toEntry(entry));
  }
  return out;
}

export function createRegistry(platform: Platform, options: RegistryOptions): Registry {
  const zone = options.zone;

  function dict(): SharedDict {
    return lookupZone(platform, zone, "session registry");
  }

  const encodeAudience = metadataAudience;

  function encodeSubject(subject: string): string {
    return metadataSubject(platform, subject, options.hashSubject);
  }

  function suffix(audience: string, subject: string): string {
    return encodeAudience(audience) + ":" + encodeSubject(subject);
  }

  /** Runs `update` with the subject's lock held (or, if it cannot be had within LOCK_SPIN_MS, without). */
  function locked<T>(shared: SharedDict, name: string, update: () => T): T {
    const lockKey = "@lock:" + name;
    const deadline = Date.now() + LOCK_SPIN_MS;
    let held = false;
    do {
      held = shared.add(lockKey, "1", LOCK_TIMEOUT_MS);
    } while (!held && Date.now() < deadline);
    if (!held) platform.log("warn", "[session] registry lock busy, updating without it");
    try {
      return update();
    } finally {
      if (held) shared.delete(lockKey);
    }
  }

  function readEntries(shared: SharedDict, key: string, now: number): { [id: string]: StoredEntry } {
    const stored = parseObject(shared.get(key)) as { [id: string]: StoredEntry };
    const live: { [id: string]: StoredEntry } = {};
    const ids = Object.keys(stored);
    for (let i = 0; i < ids.length; i++) {
      const entry = stored[ids[i]];
      if (entry && typeof entry.c === "number" && typeof entry.e === "number" && entry.e > now) live[ids[i]] = entry;
    }
    return live;
  }

  function writeEntries(shared: SharedDict, key: string, entries: { [id: string]: StoredEntry }, now: number): void {
    let ids = Object.keys(entries);
    if (ids.length > MAX_ENTRIES_PER_SUBJECT) {
      ids.sort(function (a, b) {
        return entries[b].e - entries[a].e;
      });
      const kept: { [id: string]: StoredEntry } = {};
      for (let i = 0; i < MAX_ENTRIES_PER_SUBJECT; i++) kept[ids[i]] = entries[ids[i]];
      entries = kept;
      ids = Object.keys(kept);
    }
    if (!ids.length) {
      shared.delete(key);
      return;
    }
    let latest = now + 1;
    for (let i = 0; i < ids.length; i++) latest = Math.max(latest, entries[ids[i]].e);
    shared.set(key, JSON.stringify(entries), dictTimeout(latest - now));
  }

  function readRevocations(shared: SharedDict, key: string): StoredRevocations {
    return parseObject(shared.get(key)) as StoredRevocations;
  }

  function revoked(revocations: StoredRevocations, created: number): boolean {
    if (typeof revocations.a === "number" && created <= revocations.a) return true;
    return Array.isArray(revocations.c) && revocations.c.indexOf(created) >= 0;
  }

  function addRevocation(shared: SharedDict, key: string, now: number, all: boolean, created: number[]): void {
    const revocations = readRevocations(shared, key);
    const oldest = now - options.maxLifetime;
    const kept: number[] = [];
    // Single revocations of sessions that have expired anyway, or that the cut-off covers, are dropped.
    const previous = Array.isArray(revocations.c) ? revocations.c : [];
    const cutoff = all ? now : typeof revocations.a === "number" ? revocations.a : -1;
    for (let i = 0; i < previous.length; i++) {
      if (typeof previous[i] === "number" && previous[i] > oldest && previous[i] > cutoff && kept.indexOf(previous[i]) < 0) kept.push(previous[i]);
    }
    for (let i = 0; i < created.length; i++) if (created[i] > cutoff && kept.indexOf(created[i]) < 0) kept.push(created[i]);
    const next: StoredRevocations = {};
    if (cutoff >= 0) next.a = cutoff;
    if (kept.length) next.c = kept;
    // Remembered until every session it could name has expired on its own.
    // settings.ts refuses a registry whose sessions could outlive the dict's longest timeout.
    shared.set(key, JSON.stringify(next), dictTimeout(options.maxLifetime));
  }

  function guarded<T>(run: (shared: SharedDict) => T): T {
    const shared = dict();
    try {
      return run(shared);
    } catch (e) {
      throw zoneError(zone, e);
    }
  }

  return {
    zone: zone,
    options: options,
    encodeAudience: encodeAudience,
    encodeSubject: encodeSubject,
    reserve: function (audience, subject, now) {
      return guarded(function (shared) {
        const key = "@registry:" + suffix(audience, subject);
        return locked(shared, key, function () {
          const entries = readEntries(shared, key, now);
          const taken: number[] = [];
          const ids = Object.keys(entries);
          for (let i = 0; i < ids.length; i++) {
            taken.push(entries[ids[i]].c);
            if (entries[ids[i]].rc !== undefined) taken.push(entries[ids[i]].rc as number);
          }
          // Never at or before a "revoke all" cut-off: the new session would be born revoked. If no
          // second is free, `now` is shared (listed and revoked together) rather than refused.
          const revocations = readRevocations(shared, "@revoked:" + suffix(audience, subject));
          const floor = Math.max(now - RESERVE_WINDOW, typeof revocations.a === "number" ? revocations.a + 1 : 0);
          let created = now;
          while (created >= floor && (taken.indexOf(created) >= 0 || revoked(revocations, created))) created--;
          if (created < floor) created = now;
          entries[String(created)] = { c: created, s: now, e: now + RESERVE_WINDOW, p: 1 };
          writeEntries(shared, key, entries, now);
          return created;
        });
      });
    },
    record: function (audience, subject, entry, now) {
      guarded(function (shared) {
        const key = "@registry:" + suffix(audience, subject);
        locked(shared, key, function () {
          const entries = readEntries(shared, key, now);
          const stored = toStored(entry);
          const previous = entries[String(entry.created)];
          // A refresh that did not look at the remember cookie keeps what the login recorded about it.
          if (entry.remember === undefined && previous) {
            if (previous.r) stored.r = 1;
            if (previous.rc !== undefined) stored.rc = previous.rc;
            stored.e = Math.max(stored.e, previous.e);
          }
          entries[String(entry.created)] = stored;
          writeEntries(shared, key, entries, now);
        });
      });
    },
    touch: function (audience, subject, created, lastSeen, expires, now) {
      guarded(function (shared) {
        const key = "@registry:" + suffix(audience, subject);
        locked(shared, key, function () {
          const entries = readEntries(shared, key, now);
          const entry = entries[String(created)];
          if (!entry) return;
          entry.s = lastSeen;
          entry.e = Math.max(entry.e, expires);
          writeEntries(shared, key, entries, now);
        });
      });
    },
    remove: function (audience, subject, created, now) {
      guarded(function (shared) {
        const key = "@registry:" + suffix(audience, subject);
        locked(shared, key, function () {
          const entries = readEntries(shared, key, now);
          if (!entries[String(created)]) return;
          delete entries[String(created)];
          writeEntries(shared, key, entries, now);
        });
      });
    },
    list: function (audience, subject, now) {
      return guarded(function (shared) {
        const names = suffix(audience, subject);
        const entries = readEntries(shared, "@registry:" + names, now);
        const revocations = readRevocations(shared, "@revoked:" + names);
        const out: RegistryEntry[] = [];
        const ids = Object.keys(entries);
        for (let i = 0; i < ids.length; i++) {
          const entry = entries[ids[i]];
          if (!entry.p && !revoked(revocations, entry.c)) out.push(toEntry(entry));
        }
        out.sort(function (a, b) {
          return a.created - b.created;
        });
        return out;
      });
    },
    isRevoked: function (audience, subject, created) {
      return guarded(function (shared) {
        return revoked(readRevocations(shared, "@revoked:" + suffix(audience, subject)), created);
      });
    },
    revokeOne: function (audience, subject, created, now) {
      return guarded(function (shared) {
        const names = suffix(audience, subject);
        const registryKey = "@registry:" + names;
        return locked(shared, registryKey, function () {
          const entries = readEntries(shared, registryKey, now);
          const entry = entries[String(created)];
          if (!entry || entry.p) return [];
          const gone: StoredEntry[] = [entry];
          if (entry.rc !== undefined) {
            // Sessions restored from the same remember cookie are the same login on the same device.
            const ids = Object.keys(entries);
            for (let i = 0; i < ids.length; i++) {
              if (entries[ids[i]] !== entry && entries[ids[i]].rc === entry.rc) gone.push(entries[ids[i]]);
            }
          }
          const times: number[] = [];
          for (let i = 0; i < gone.length; i++) {
            times.push(gone[i].c);
            if (gone[i].rc !== undefined && times.indexOf(gone[i].rc as number) < 0) times.push(gone[i].rc as number);
          }
          // The revocation is written first: if the zone is full it throws, and the entries stay listed.
          addRevocation(shared, "@revoked:" + names, now, false, times);
          for (let i = 0; i < gone.length; i++) delete entries[String(gone[i].c)];
          writeEntries(shared, registryKey, entries, now);
          return gone.map(toEntry);
        });
      });
    },
    revokeAll: function (audience, subject, now) {
      return guarded(function (shared) {
        const names = suffix(audience, subject);
        const registryKey = "@registry:" + names;
        return locked(shared, registryKey, function () {
          const entries = readEntries(shared, registryKey, now);
          const ids = Object.keys(entries);
          // The cut-off covers remember cookies as well: they were all created before it.
          addRevocation(shared, "@revoked:" + names, now, true, []);
          shared.delete(registryKey);
          return ids.map(function (id) {
            return toEntry(entries[id]);
          });
        });
      });
    },
  };
}
