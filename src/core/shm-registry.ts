/**
 * The session registry (registry.ts) in a shared dictionary zone: every worker of one nginx sees the
 * same, other nodes do not (store-registry.ts is the one for several nodes). For each audience and
 * subject it keeps:
 *
 *   @registry:<audience>:<subject>  the live sessions: JSON { <creation time>: StoredEntry }
 *   @revoked:<audience>:<subject>   revocations: JSON { a: cut-off, c: [single creation times] }
 *
 * The list is updated under a short lock (an `add` of a lock key: njs has no atomic
 * read-modify-write), so concurrent logins of one subject on two workers do not lose each other's entry.
 *
 * "@" cannot occur in a cookie name (RFC 6265 token), so these keys never meet a session record
 * (`name:key`) in a zone shared with shm storage.
 */

import type { Platform } from "./platform";
import {
  freeCreationTime,
  isCovered,
  liveEntry,
  MAX_ENTRIES_PER_SUBJECT,
  mergedEntry,
  metadataAudience,
  metadataSubject,
  parseObject,
  RegistryEntry,
  RegistryOptions,
  registryRevocationProblem,
  RESERVE_WINDOW,
  Revocations,
  revokedWith,
  StoredEntry,
  takenTimes,
  toEntry,
} from "./registry";
import { dictTimeout, lookupZone, SharedDict, zoneError } from "./shared-dict";

/** The lock is held for microseconds; a worker that died holding it loses it after this. */
const LOCK_TIMEOUT_MS = 1000;
/** How long a worker spins for the lock before updating the list without it. */
const LOCK_SPIN_MS = 5;

/** The registry in a zone: every answer is there at once. */
export interface ShmRegistry {
  readonly zone: string;
  readonly options: RegistryOptions;
  encodeAudience(audience: string): string;
  encodeSubject(subject: string): string;
  reserve(audience: string, subject: string, now: number): number;
  record(audience: string, subject: string, entry: RegistryEntry, now: number): void;
  touch(audience: string, subject: string, created: number, lastSeen: number, expires: number, now: number): void;
  remove(audience: string, subject: string, created: number, now: number): void;
  list(audience: string, subject: string, now: number): RegistryEntry[];
  isRevoked(audience: string, subject: string, created: number, now: number): boolean;
  /** isRevoked's answer as the checks report it (registry.ts registryRevocationProblem): at once here. */
  revocationProblem(audience: string, subject: string, created: number, now: number): string | null;
  revokeOne(audience: string, subject: string, created: number, now: number): RegistryEntry[];
  revokeAll(audience: string, subject: string, now: number): RegistryEntry[];
}

/**
 * The live sessions listed under already-encoded registry keys (the storage interface's readMetadata
 * receives audience and subject encoded, as lua-resty-session passes them).
 */
export function readListedSessions(shared: SharedDict, audienceKey: string, subjectKey: string, now: number): RegistryEntry[] {
  const stored = parseObject(shared.get("@registry:" + audienceKey + ":" + subjectKey));
  const out: RegistryEntry[] = [];
  const ids = Object.keys(stored);
  for (let i = 0; i < ids.length; i++) {
    const entry = stored[ids[i]];
    if (liveEntry(entry, now) && !entry.p) out.push(toEntry(entry));
  }
  return out;
}

export function createRegistry(platform: Pick<Platform, "sha256" | "log" | "sharedDict">, options: RegistryOptions): ShmRegistry {
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
    const stored = parseObject(shared.get(key));
    const live: { [id: string]: StoredEntry } = {};
    const ids = Object.keys(stored);
    for (let i = 0; i < ids.length; i++) {
      const entry = stored[ids[i]];
      if (liveEntry(entry, now)) live[ids[i]] = entry;
    }
    return live;
  }

  function values(entries: { [id: string]: StoredEntry }): StoredEntry[] {
    return Object.keys(entries).map(function (id) {
      return entries[id];
    });
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

  function readRevocations(shared: SharedDict, key: string): Revocations {
    return parseObject(shared.get(key)) as Revocations;
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
    const next: Revocations = {};
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
          const revocations = readRevocations(shared, "@revoked:" + suffix(audience, subject));
          const created = freeCreationTime(takenTimes(values(entries)), revocations, now);
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
          entries[String(entry.created)] = mergedEntry(entry, entries[String(entry.created)]);
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
          if (!entry.p && !isCovered(revocations, entry.c)) out.push(toEntry(entry));
        }
        out.sort(function (a, b) {
          return a.created - b.created;
        });
        return out;
      });
    },
    isRevoked: function (audience, subject, created) {
      return guarded(function (shared) {
        return isCovered(readRevocations(shared, "@revoked:" + suffix(audience, subject)), created);
      });
    },
    // isRevoked answers at once, so its verdict does too.
    revocationProblem: registryRevocationProblem as ShmRegistry["revocationProblem"],
    revokeOne: function (audience, subject, created, now) {
      return guarded(function (shared) {
        const names = suffix(audience, subject);
        const registryKey = "@registry:" + names;
        return locked(shared, registryKey, function () {
          const entries = readEntries(shared, registryKey, now);
          const reach = revokedWith(values(entries), created);
          if (!reach.gone.length) return [];
          // The revocation is written first: if the zone is full it throws, and the entries stay listed.
          addRevocation(shared, "@revoked:" + names, now, false, reach.times);
          for (let i = 0; i < reach.gone.length; i++) delete entries[String(reach.gone[i].c)];
          writeEntries(shared, registryKey, entries, now);
          return reach.gone.map(toEntry);
        });
      });
    },
    revokeAll: function (audience, subject, now) {
      return guarded(function (shared) {
        const names = suffix(audience, subject);
        const registryKey = "@registry:" + names;
        return locked(shared, registryKey, function () {
          const entries = readEntries(shared, registryKey, now);
          // The cut-off covers remember cookies as well: they were all created before it.
          addRevocation(shared, "@revoked:" + names, now, true, []);
          shared.delete(registryKey);
          return values(entries).map(toEntry);
        });
      });
    },
  };
}
