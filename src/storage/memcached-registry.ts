/**
 * The session registry's operations in memcached (store-registry.ts's RegistryStore), beside
 * lua-resty-session's store_metadata list, which memcached.ts keeps as the peer does
 * (`[prefix:]name:audience:subject[:suffix]`: "<key>:<expiry>;" entries). The peer has nothing for what
 * the registry adds, so these two values are ours; "@" never occurs in the peer's names:
 *
 *   [prefix:]name:@sessions:audience:subject[:suffix]  JSON { creation time: entry JSON } (registry.ts)
 *   [prefix:]name:@revoked:audience:subject[:suffix]   JSON { a: cut-off, c: [single creation times] }
 *
 * memcached has no hash or sorted set: each value is rewritten whole with compare-and-swap (meta `mg`
 * with its CAS token, then `ms C<cas>`, or `ms ME` (add) when absent), and tried again when another
 * node wrote in between, so concurrent writers cannot lose each other's entries. Each key lives on the
 * server rendezvous hashing names (memcached.ts); the record and the revocations of a session are read
 * in one exchange when they share a server, else in two at once.
 */

import { isCovered, parseObject, Revocations } from "../core/registry";
import type { Platform } from "../core/platform";
import type { RegistryStore } from "../core/store-registry";
import { encodeMeta, metaFlag, MetaReply, ttlToken } from "./protocol/memcached";
import { KeyNaming, storageName } from "./names";

/** How often a compare-and-swap is tried before the update gives up (it only loses to other writers). */
const CAS_ATTEMPTS = 8;

export interface MemcachedAccess {
  /** Runs the commands on the server holding `key` (memcached.ts's run). */
  run(key: string, commands: string[]): Promise<MetaReply[]>;
  /** The server holding `key`. */
  serverOf(key: string): string;
  /** "<key>:<expiry>;" / "<key>;" (memcached.ts's metadataEntry) and their reading (latestMetadata). */
  removalEntry(key: string): string;
  listedKeys(list: string): string[];
}

function value(reply: MetaReply | undefined): string | null {
  return reply && reply.code === "VA" ? reply.value || "" : null;
}

export function memcachedRegistryStore(
  access: MemcachedAccess,
  platform: Platform,
  naming: KeyNaming,
  name: string,
  rememberName: string,
  store: string,
): RegistryStore {
  function entriesKey(audience: string, subject: string): string {
    return storageName(naming, name, "@sessions:" + audience, subject);
  }
  function revokedKey(audience: string, subject: string): string {
    return storageName(naming, name, "@revoked:" + audience, subject);
  }

  function read(key: string): Promise<string | null> {
    return access.run(key, [encodeMeta("mg", key, ["v"])]).then(function (replies) {
      return value(replies[0]);
    });
  }

  /**
   * Rewrites `key` with compare-and-swap: `change` gets the current value (null when absent) and says
   * what to write (`next`: a value, null to delete, undefined to leave it) and what to answer.
   */
  function update<T>(key: string, ttl: number, change: (current: string | null) => { next?: string | null; result: T }, attempt?: number): Promise<T> {
    const tries = attempt || 0;
    return access.run(key, [encodeMeta("mg", key, ["v", "c"])]).then(function (replies) {
      const current = value(replies[0]);
      const cas = current !== null ? metaFlag(replies[0], "c") : undefined;
      const decided = change(current);
      if (decided.next === undefined || (decided.next === null && current === null)) return decided.result;
      let command: string;
      if (decided.next === null) command = encodeMeta("md", key, ["C" + cas]);
      else if (current === null) command = encodeMeta("ms", key, ["ME", "T" + ttlToken(ttl, platform.now())], decided.next);
      else command = encodeMeta("ms", key, ["C" + cas, "T" + ttlToken(ttl, platform.now())], decided.next);
      return access.run(key, [command]).then(function (written): T | Promise<T> {
        if (written[0].code === "HD") return decided.result;
        // EX (another writer's CAS won), NS (another add won), NF (deleted meanwhile): read again.
        if (tries + 1 >= CAS_ATTEMPTS) throw new Error(store + ": the session registry kept changing under this update");
        return update(key, ttl, change, tries + 1);
      });
    });
  }

  function entryMap(current: string | null): { [created: string]: string } {
    const parsed = parseObject(current);
    const out: { [created: string]: string } = {};
    const ids = Object.keys(parsed);
    for (let i = 0; i < ids.length; i++) if (typeof parsed[ids[i]] === "string") out[ids[i]] = parsed[ids[i]] as string;
    return out;
  }

  function revocationsOf(current: string | null): Revocations {
    const parsed = parseObject(current) as Revocations;
    const out: Revocations = {};
    if (typeof parsed.a === "number") out.a = parsed.a;
    if (Array.isArray(parsed.c)) {
      out.c = parsed.c.filter(function (created) {
        return typeof created === "number";
      });
    }
    return out;
  }

  function revokedIn(current: string | null, created: number): boolean {
    return isCovered(revocationsOf(current), created);
  }

  /** Deletes each record of cookie `cookieName`, on whichever server holds it. */
  function deleteRecords(cookieName: string, keys: string[]): Promise<void> {
    return Promise.all(
      keys.map(function (key) {
        const recordKey = storageName(naming, cookieName, key);
        return access.run(recordKey, [encodeMeta("md", recordKey, [])]);
      }),
    ).then(function () {});
  }

  /**
   * Deletes records of cookie `cookieName` and takes them off the peer's metadata list of the subject:
   * the keys given (the peer's "<key>;" removal entries appended), or every key the list names, and
   * the list.
   */
  function dropFrom(cookieName: string, audience: string, subject: string, keys: string[] | "all"): Promise<void> {
    const metadataKey = storageName(naming, cookieName, audience, subject);
    if (keys !== "all") {
      if (!keys.length) return Promise.resolve();
      let removals = "";
      for (let i = 0; i < keys.length; i++) removals += access.removalEntry(keys[i]);
      return Promise.all([deleteRecords(cookieName, keys), access.run(metadataKey, [encodeMeta("ms", metadataKey, ["MA"], removals)])]).then(function () {});
    }
    return read(metadataKey).then(function (list) {
      return deleteRecords(cookieName, list === null ? [] : access.listedKeys(list)).then(function () {
        return access.run(metadataKey, [encodeMeta("md", metadataKey, [])]).then(function () {});
      });
    });
  }

  return {
    store: store,
    entries: function (audience, subject) {
      return read(entriesKey(audience, subject)).then(entryMap);
    },
    entry: function (audience, subject, created) {
      return read(entriesKey(audience, subject)).then(function (current) {
        const text = entryMap(current)[String(created)];
        return text === undefined ? null : text;
      });
    },
    addEntry: function (audience, subject, created, text, ttl) {
      return update(entriesKey(audience, subject), ttl, function (current) {
        const entries = entryMap(current);
        if (entries[String(created)] !== undefined) return { result: false };
        entries[String(created)] = text;
        return { next: JSON.stringify(entries), result: true };
      });
    },
    putEntry: function (audience, subject, created, text, ttl) {
      return update(entriesKey(audience, subject), ttl, function (current) {
        const entries = entryMap(current);
        entries[String(created)] = text;
        return { next: JSON.stringify(entries), result: undefined };
      });
    },
    dropEntries: function (audience, subject, created, ttl) {
      return update(entriesKey(audience, subject), ttl, function (current) {
        const entries = entryMap(current);
        let changed = false;
        for (let i = 0; i < created.length; i++) {
          if (entries[String(created[i])] !== undefined) {
            delete entries[String(created[i])];
            changed = true;
          }
        }
        if (!changed) return { result: undefined };
        return { next: Object.keys(entries).length ? JSON.stringify(entries) : null, result: undefined };
      });
    },
    revocations: function (audience, subject) {
      return read(revokedKey(audience, subject)).then(revocationsOf);
    },
    revoke: function (audience, subject, cutoff, single, forgetBefore, ttl) {
      return update(revokedKey(audience, subject), ttl, function (current) {
        const revocations = revocationsOf(current);
        // The cut-off only rises: a node with a slower clock does not lower it.
        let all = revocations.a;
        if (cutoff !== undefined && (all === undefined || cutoff > all)) all = cutoff;
        if (all !== undefined && all < forgetBefore) all = undefined;
        const kept: number[] = [];
        const candidates = (revocations.c || []).concat(single);
        for (let i = 0; i < candidates.length; i++) {
          const created = candidates[i];
          if (created >= forgetBefore && (all === undefined || created > all) && kept.indexOf(created) < 0) kept.push(created);
        }
        const next: Revocations = {};
        if (all !== undefined) next.a = all;
        if (kept.length) next.c = kept;
        return { next: JSON.stringify(next), result: undefined };
      });
    },
    isRevoked: function (audience, subject, created) {
      return read(revokedKey(audience, subject)).then(function (current) {
        return revokedIn(current, created);
      });
    },
    dropRecords: function (audience, subject, keys) {
      return Promise.all([
        dropFrom(name, audience, subject, keys === "all" ? "all" : keys.session),
        dropFrom(rememberName, audience, subject, keys === "all" ? "all" : keys.remember),
      ]).then(function () {});
    },
    readChecked: function (recordName, key, audience, subject, created) {
      const recordKey = storageName(naming, recordName, key);
      const checkKey = revokedKey(audience, subject);
      const recordRead = encodeMeta("mg", recordKey, ["v"]);
      const checkRead = encodeMeta("mg", checkKey, ["v"]);
      if (access.serverOf(recordKey) === access.serverOf(checkKey)) {
        return access.run(recordKey, [recordRead, checkRead]).then(function (replies) {
          return { stored: value(replies[0]), revoked: revokedIn(value(replies[1]), created) };
        });
      }
      return Promise.all([access.run(recordKey, [recordRead]), access.run(checkKey, [checkRead])]).then(function (replies) {
        return { stored: value(replies[0][0]), revoked: revokedIn(value(replies[1][0]), created) };
      });
    },
  };
}
