/**
 * store-registry.ts's RegistryStore held in plain objects, with Redis's semantics for what the registry
 * relies on (HSETNX adds only if absent, ZADD GT only raises the cut-off), and a switch to make every
 * operation fail as an unavailable store does. Several registries over one of these play several nodes.
 */

import { storeUnavailableError } from "../../src/core/errors";
import type { Revocations } from "../../src/core/registry";
import type { RegistryStore } from "../../src/core/store-registry";

export interface MemoryRegistryStore extends RegistryStore {
  hashes: { [key: string]: { [created: string]: string } };
  revoked: { [key: string]: { all?: number; single: number[] } };
  /** The records readChecked reads: "<name>:<key>" → value. */
  records: { [key: string]: string };
  down: boolean;
  /** Makes the next addEntry find its creation time taken (another node's reservation won the race). */
  raceNextAdd: boolean;
}

export function createMemoryRegistryStore(): MemoryRegistryStore {
  const store: MemoryRegistryStore = {
    store: "memory store",
    hashes: {},
    revoked: {},
    records: {},
    down: false,
    raceNextAdd: false,
    entries: (a, s) => answer(() => ({ ...(store.hashes[a + ":" + s] || {}) })),
    entry: (a, s, created) => answer(() => (store.hashes[a + ":" + s] || {})[String(created)] ?? null),
    addEntry: (a, s, created, text) =>
      answer(() => {
        const hash = (store.hashes[a + ":" + s] ||= {});
        if (store.raceNextAdd) {
          store.raceNextAdd = false;
          hash[String(created)] = JSON.stringify({ c: created, s: created, e: created + 60, p: 1 });
          return false;
        }
        if (hash[String(created)] !== undefined) return false;
        hash[String(created)] = text;
        return true;
      }),
    putEntry: (a, s, created, text) =>
      answer(() => {
        (store.hashes[a + ":" + s] ||= {})[String(created)] = text;
      }),
    dropEntries: (a, s, created) =>
      answer(() => {
        for (const c of created) delete (store.hashes[a + ":" + s] || {})[String(c)];
      }),
    revocations: (a, s) =>
      answer(() => {
        const set = store.revoked[a + ":" + s];
        const out: Revocations = {};
        if (set && set.all !== undefined) out.a = set.all;
        if (set && set.single.length) out.c = [...set.single];
        return out;
      }),
    revoke: (a, s, cutoff, single, forgetBefore) =>
      answer(() => {
        const set = (store.revoked[a + ":" + s] ||= { single: [] });
        if (cutoff !== undefined && (set.all === undefined || cutoff > set.all)) set.all = cutoff;
        for (const c of single) if (!set.single.includes(c)) set.single.push(c);
        set.single = set.single.filter((c) => c >= forgetBefore);
        if (set.all !== undefined && set.all < forgetBefore) delete set.all;
      }),
    isRevoked: (a, s, created) => answer(() => revokedIn(store, a, s, created)),
    dropRecords: (a, s, keys) =>
      answer(() => {
        for (const record of Object.keys(store.records)) {
          if (keys === "all" || [...keys.session, ...keys.remember].some((key) => record.endsWith(":" + key))) delete store.records[record];
        }
      }),
    readChecked: (name, key, a, s, created) =>
      answer(() => ({ stored: store.records[name + ":" + key] ?? null, revoked: revokedIn(store, a, s, created) })),
  };
  function answer<T>(run: () => T): Promise<T> {
    if (store.down) return Promise.reject(storeUnavailableError(store.store, "connection refused"));
    return Promise.resolve().then(run);
  }
  return store;
}

function revokedIn(store: MemoryRegistryStore, a: string, s: string, created: number): boolean {
  const set = store.revoked[a + ":" + s];
  return !!set && ((set.all !== undefined && created <= set.all) || set.single.includes(created));
}
