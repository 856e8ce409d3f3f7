/**
 * shm storage: sessions in a js_shared_dict_zone, shared by every worker of one nginx.
 *
 *   js_shared_dict_zone zone=sessions:10m timeout=1d state=/var/lib/nginx/sessions.json;
 *   { "storage": "shm", "shm": { "zone": "sessions" } }
 *
 * Each record is `<expiry>;<value>` with the zone's own per-key timeout set to the session's TTL: the
 * zone frees it, and the expiry in the value lets a read honour the caller's clock (and survives a
 * state-file restore that lost the timeout). The zone must be declared with `timeout=` (per-key
 * timeouts need it) and hold strings. A full zone is a save error, or an eviction of the records
 * closest to expiry when the zone has `evict`: never a silent loss of an arbitrary session.
 */

import type { Platform } from "../core/platform";
import { configError } from "../core/errors";
import { dictTimeout, lookupZone, SharedDict, zoneError } from "../core/shared-dict";
import type { Storage } from "../core/storage";
import type { StorageOptions } from "../core/options";
import { readListedSessions } from "../core/shm-registry";
import { KeyNaming, readStorageOptions, storageName } from "./names";

export const DEFAULT_SHM_ZONE = "sessions";

/** A record as stored: its expiry (unix seconds) and the session's value; null when unreadable. */
export function parseRecord(raw: string): { expires: number; value: string } | null {
  const separator = raw.indexOf(";");
  if (separator <= 0 || separator > 15) return null;
  const digits = raw.substring(0, separator);
  if (!/^[0-9]+$/.test(digits)) return null;
  const expires = Number(digits);
  return { expires: expires, value: raw.substring(separator + 1) };
}

export function createShmStorage(options: StorageOptions | undefined, platform: Pick<Platform, "sharedDict">): Storage {
  const read = readStorageOptions("shm", options, { zone: "string", prefix: "string", suffix: "string" });
  const zone = (read.zone as string | undefined) || DEFAULT_SHM_ZONE;
  const naming: KeyNaming = { prefix: read.prefix as string | undefined, suffix: read.suffix as string | undefined };

  // Looked up on first use, not here: zones exist only once nginx has set up shared memory, after the
  // module loads. Then kept, as the verified cache keeps its zone (settings.ts): the lookup's calls and
  // the host's new dict object per access cost every shm request (a cold one under QuickJS reads each
  // distinct function from memory: docs/NOTES.md).
  let found: SharedDict | undefined;
  function dict(): SharedDict {
    return found || (found = lookupZone(platform, zone, "shm storage"));
  }

  function readRecord(shared: SharedDict, name: string): { expires: number; value: string } | null {
    const raw = shared.get(name);
    if (raw === undefined) return null;
    if (typeof raw !== "string") throw configError('js_shared_dict_zone "' + zone + '" must hold strings (type=string, the default)');
    return parseRecord(raw);
  }

  return {
    synchronous: true,
    set: function (name, key, value, ttl, now, oldKey, staleTtl) {
      const shared = dict();
      try {
        // A TTL beyond the dict's limit (~49.7 days) is cut short: the record then goes early (a logout),
        // never late.
        shared.set(storageName(naming, name, key), String(now + ttl) + ";" + value, dictTimeout(ttl));
        if (oldKey !== undefined) {
          // The previous id stays valid for stale_ttl, never longer than it had left, so requests
          // still in flight with the previous cookie pass.
          const oldName = storageName(naming, name, oldKey);
          const old = readRecord(shared, oldName);
          const stale = staleTtl || 0;
          if (old && old.expires - now > stale) {
            if (stale > 0) shared.replace(oldName, String(now + stale) + ";" + old.value, dictTimeout(stale));
            else shared.delete(oldName);
          }
        }
      } catch (e) {
        throw zoneError(zone, e);
      }
    },
    get: function (name, key, now) {
      const shared = dict();
      let record: { expires: number; value: string } | null;
      try {
        record = readRecord(shared, storageName(naming, name, key));
      } catch (e) {
        throw zoneError(zone, e);
      }
      return record && record.expires > now ? record.value : null;
    },
    /**
     * lua-resty-session's read_metadata: { [storage key]: expiry } of a subject's live sessions, from
     * the session registry kept in this zone (store_metadata); audience and subject come encoded.
     */
    readMetadata: function (name, audience, subject, now) {
      const shared = dict();
      try {
        const sessions: { [key: string]: number } = {};
        const listed = readListedSessions(shared, audience, subject, now);
        for (let i = 0; i < listed.length; i++) {
          const entry = listed[i];
          if (entry.name === name && entry.key !== undefined) sessions[entry.key] = entry.expires;
        }
        return sessions;
      } catch (e) {
        throw zoneError(zone, e);
      }
    },
    delete: function (name, key) {
      const shared = dict();
      try {
        shared.delete(storageName(naming, name, key));
      } catch (e) {
        throw zoneError(zone, e);
      }
    },
  };
}
