/**
 * The session registry (registry.ts) in the network store the sessions live in, so that every node
 * lists every node's sessions and a revocation made through any node holds on all of them at once.
 * The storage provides the primitive operations (RegistryStore: redis-registry.ts); this file holds
 * the registry's logic, the same rules as the shm registry's (registry.ts's helpers).
 *
 * Why revocation works as it does here (docs/several-nodes.md says it for operators):
 * - Revoking deletes the session records, so the record read every check makes already refuses
 *   them ("revoke all" every record lua-resty-session's store_metadata list names: the peer's nodes
 *   refuse those sessions too). That alone is not enough: a refresh in flight on another node can write a new
 *   record after the deletion, the previous record of a re-saved session lives on for stale_ttl, a
 *   session the list missed (registry upkeep never fails a login) keeps its record, and a node's
 *   verified cache keeps passing a record it saw. So the revocations themselves (the cut-off of
 *   "revoke all" and single creation times) are a record in the store too, checked wherever a session
 *   record is read: the fast check reads it in the same round trip as the record (readChecked), the
 *   full path asks after decryption (the cold path pays one more round trip).
 * - The cut-off only rises (a node with a slower clock cannot lower it), and single revocations are
 *   forgotten once every session they can name has expired on its own (maxLifetime).
 * - Nothing here takes a lock: creation times are reserved with an add-if-absent, entries are fields
 *   written whole, revocations are set members; concurrent writers cannot lose each other's entries.
 */

import { errorText, isConfigError } from "./errors";
import type { Platform } from "./platform";
import {
  CheckedRecord,
  freeCreationTime,
  isCovered,
  liveEntry,
  MAX_ENTRIES_PER_SUBJECT,
  mergedEntry,
  metadataAudience,
  metadataSubject,
  parseObject,
  Registry,
  RegistryEntry,
  RegistryOptions,
  RESERVE_WINDOW,
  Revocations,
  registryRevocationProblem,
  revokedWith,
  StoredEntry,
  takenTimes,
  toEntry,
} from "./registry";

/**
 * What a network storage offers the registry, for one cookie name. Audience and subject come encoded
 * (registry.ts's metadataAudience/metadataSubject). Each operation is one round trip; failures reject
 * with StoreUnavailable (logged once per incident by the storage).
 */
export interface RegistryStore {
  /** The store, as incidents name it. */
  readonly store: string;
  /** The subject's entries as stored: creation time → entry JSON. */
  entries(audience: string, subject: string): Promise<{ [created: string]: string }>;
  /** One entry's JSON, or null. */
  entry(audience: string, subject: string, created: number): Promise<string | null>;
  /** Stores an entry unless its creation time is taken; whether it did. The entries live `ttl` s at least. */
  addEntry(audience: string, subject: string, created: number, text: string, ttl: number): Promise<boolean>;
  putEntry(audience: string, subject: string, created: number, text: string, ttl: number): Promise<void>;
  /** Drops entries; what is left lives `ttl` s at least. */
  dropEntries(audience: string, subject: string, created: number[], ttl: number): Promise<void>;
  revocations(audience: string, subject: string): Promise<Revocations>;
  /**
   * Adds revocations: raises the cut-off to `cutoff` when given, adds the single creation times,
   * forgets those before `forgetBefore`; the record lives `ttl` seconds from now.
   */
  revoke(audience: string, subject: string, cutoff: number | undefined, single: number[], forgetBefore: number, ttl: number): Promise<void>;
  isRevoked(audience: string, subject: string, created: number): Promise<boolean>;
  /**
   * Deletes records of the subject and takes them off lua-resty-session's store_metadata lists: the
   * session and remember cookie keys given, or with "all" every key those lists name (sessions of the
   * peer's nodes included).
   */
  dropRecords(audience: string, subject: string, keys: RecordKeys | "all"): Promise<void>;
  /** The record `key` of cookie `name` and the revocation verdict on creation time `created`, in one round trip. */
  readChecked(name: string, key: string, audience: string, subject: string, created: number): Promise<CheckedRecord>;
}

/** Storage keys of session records and of remember cookie records. */
export interface RecordKeys {
  session: string[];
  remember: string[];
}

/** How many times reserve() tries again when another node took the creation time it chose. */
const RESERVE_ATTEMPTS = 3;

export function createStoreRegistry(platform: Platform, store: RegistryStore, options: RegistryOptions): Registry {
  const encodeAudience = metadataAudience;

  function encodeSubject(subject: string): string {
    return metadataSubject(platform, subject, options.hashSubject);
  }

  /** The live entries; expired ones, and the soonest-expiring beyond the list's bound, are dropped from the store. */
  function liveEntries(a: string, s: string, now: number): Promise<StoredEntry[]> {
    return store.entries(a, s).then(function (stored) {
      const live: StoredEntry[] = [];
      const dead: number[] = [];
      const ids = Object.keys(stored);
      for (let i = 0; i < ids.length; i++) {
        const entry = parseObject(stored[ids[i]]) as unknown;
        if (liveEntry(entry, now)) live.push(entry);
        else if (/^[0-9]{1,15}$/.test(ids[i])) dead.push(Number(ids[i]));
      }
      if (live.length > MAX_ENTRIES_PER_SUBJECT) {
        live.sort(function (x, y) {
          return y.e - x.e;
        });
        const beyond = live.splice(MAX_ENTRIES_PER_SUBJECT);
        for (let i = 0; i < beyond.length; i++) dead.push(beyond[i].c);
      }
      if (!dead.length) return live;
      return store.dropEntries(a, s, dead, options.maxLifetime).then(function () {
        return live;
      });
    });
  }

  /** The revocation already holds; records that cannot be deleted now only take memory until they expire. */
  function dropRecords(a: string, s: string, keys: RecordKeys | "all"): Promise<void> {
    return store.dropRecords(a, s, keys).then(undefined, function (e) {
      if (isConfigError(e)) throw e;
      platform.log("warn", "[session] revoked, but unable to delete the session records (" + errorText(e) + ")");
    });
  }

  function reserveIn(a: string, s: string, now: number, attempt: number): Promise<number> {
    return Promise.all([liveEntries(a, s, now), store.revocations(a, s)]).then(function (read) {
      const created = freeCreationTime(takenTimes(read[0]), read[1], now);
      const placeholder: StoredEntry = { c: created, s: now, e: now + RESERVE_WINDOW, p: 1 };
      return store.addEntry(a, s, created, JSON.stringify(placeholder), options.maxLifetime).then(function (added) {
        // Another node took that second meanwhile: choose again (the shm registry's `now` when it keeps happening).
        if (added || attempt + 1 >= RESERVE_ATTEMPTS) return added ? created : now;
        return reserveIn(a, s, now, attempt + 1);
      });
    });
  }

  return {
    options: options,
    deletesRecords: true,
    encodeAudience: encodeAudience,
    encodeSubject: encodeSubject,
    reserve: function (audience, subject, now) {
      return reserveIn(encodeAudience(audience), encodeSubject(subject), now, 0);
    },
    record: function (audience, subject, entry, now) {
      const a = encodeAudience(audience);
      const s = encodeSubject(subject);
      function put(previous: StoredEntry | undefined): Promise<void> {
        return store.putEntry(a, s, entry.created, JSON.stringify(mergedEntry(entry, previous)), options.maxLifetime);
      }
      // Only a refresh that did not look at the remember cookie needs what the login recorded.
      if (entry.remember !== undefined) return put(undefined);
      return store.entry(a, s, entry.created).then(function (text) {
        const previous = parseObject(text) as unknown;
        return put(liveEntry(previous, now) ? previous : undefined);
      });
    },
    touch: function (audience, subject, created, lastSeen, expires, now) {
      const a = encodeAudience(audience);
      const s = encodeSubject(subject);
      return store.entry(a, s, created).then(function (text): Promise<void> | void {
        const entry = parseObject(text) as unknown;
        if (!liveEntry(entry, now) || entry.p) return;
        entry.s = lastSeen;
        entry.e = Math.max(entry.e, expires);
        return store.putEntry(a, s, created, JSON.stringify(entry), options.maxLifetime);
      });
    },
    remove: function (audience, subject, created) {
      return store.dropEntries(encodeAudience(audience), encodeSubject(subject), [created], options.maxLifetime);
    },
    list: function (audience, subject, now) {
      const a = encodeAudience(audience);
      const s = encodeSubject(subject);
      return Promise.all([liveEntries(a, s, now), store.revocations(a, s)]).then(function (read) {
        const out: RegistryEntry[] = [];
        for (let i = 0; i < read[0].length; i++) {
          const entry = read[0][i];
          if (!entry.p && !isCovered(read[1], entry.c)) out.push(toEntry(entry));
        }
        out.sort(function (x, y) {
          return x.created - y.created;
        });
        return out;
      });
    },
    isRevoked: function (audience, subject, created) {
      return store.isRevoked(encodeAudience(audience), encodeSubject(subject), created);
    },
    revocationProblem: registryRevocationProblem,
    revokeOne: function (audience, subject, created, now) {
      const a = encodeAudience(audience);
      const s = encodeSubject(subject);
      return liveEntries(a, s, now).then(function (entries) {
        const reach = revokedWith(entries, created);
        if (!reach.gone.length) return [];
        // The revocation first: if the store fails here, nothing was dropped from the list.
        return store
          .revoke(a, s, undefined, reach.times, now - options.maxLifetime, options.maxLifetime)
          .then(function () {
            return store.dropEntries(
              a,
              s,
              reach.gone.map(function (entry) {
                return entry.c;
              }),
              options.maxLifetime,
            );
          })
          .then(function () {
            const keys: RecordKeys = { session: [], remember: [] };
            for (let i = 0; i < reach.gone.length; i++) {
              const gone = reach.gone[i];
              if (gone.k !== undefined) keys.session.push(gone.k);
              if (gone.rk !== undefined && keys.remember.indexOf(gone.rk) < 0) keys.remember.push(gone.rk);
            }
            return keys.session.length || keys.remember.length ? dropRecords(a, s, keys) : undefined;
          })
          .then(function () {
            return reach.gone.map(toEntry);
          });
      });
    },
    revokeAll: function (audience, subject, now) {
      const a = encodeAudience(audience);
      const s = encodeSubject(subject);
      // The cut-off covers remember cookies as well: they were all created before it.
      return store.revoke(a, s, now, [], now - options.maxLifetime, options.maxLifetime).then(function () {
        return liveEntries(a, s, now).then(function (entries) {
          const created = entries.map(function (entry) {
            return entry.c;
          });
          return Promise.all([created.length ? store.dropEntries(a, s, created, options.maxLifetime) : undefined, dropRecords(a, s, "all")]).then(function () {
            return entries.map(toEntry);
          });
        });
      });
    },
    readChecked: function (name, key, audience, subject, created) {
      return store.readChecked(name, key, encodeAudience(audience), encodeSubject(subject), created);
    },
  };
}
