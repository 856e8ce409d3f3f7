/**
 * The verified-session cache: what a full check of a session cookie established, keyed by the exact
 * cookie value, so that the next request carrying that very value (browsers send the same cookie until
 * it is refreshed) skips the MAC and the decryption.
 *
 * Only those two are skipped, and only when they would give the same answer again:
 *   - the MAC: the key that verified it is still configured (`keyId`), and the bound request
 *     attributes (bind: ip, scheme, user_agent) are the same as then (`bind`); the cookie value,
 *     header included, is the key itself;
 *   - the decryption: the ciphertext at hand (the cookie's, or the storage record's) is the one that
 *     was decrypted.
 * Everything else runs on every request exactly as without the cache: the timeouts against the clock,
 * the storage read (a deleted or replaced record is noticed), the revocation list, the audience.
 *
 * Two homes, one interface:
 *   - a js_shared_dict_zone (`verified_cache_zone`), shared by all workers of a node; the only one that
 *     works on the njs engine, which clones module state per request. Its size bounds it; declare it
 *     with `evict`.
 *   - worker memory, bounded by entries and bytes, where module state outlives a request (QuickJS
 *     keeps it per context, Node per process).
 * Entries hold decrypted session data: they never leave the node, and the zone must not have `state=`.
 */

import type { SessionEntry } from "./session";
import { dictTimeout, SharedDict, zoneError } from "./shared-dict";

export interface VerifiedSession {
  /** Which configured key verified the MAC (Settings.keyIds). */
  keyId: string;
  /** The bound request attributes the MAC was checked with, joined; "" when the session is not bound. */
  bind: string;
  /** The ciphertext (base64url text) that was decrypted. */
  ciphertext: string;
  /** What it decrypted to: the payload's JSON text. */
  plaintext: string;
  /** The header fields the fast check needs (the MAC covered them). */
  flags: number;
  creationTime: number;
  rollingOffset: number;
  idlingOffset: number;
  /** The session id, base64url. */
  sid: string;
  /** The loggable id ($session_id): truncated SHA-256 of the session id. */
  loggableId: string;
  /**
   * The payload parsed (SessionEntry[]), as the writer accepted it: kept in memory, and in the zone's
   * text (zoneEntries); read, never changed, by the fast check (fast-check.ts).
   */
  entries?: unknown;
}

/** What the fast check reads of a verified cache. */
export interface VerifiedCacheReader {
  /** The js_shared_dict_zone behind it, if any. */
  readonly zone?: string;
  get(cookie: string): VerifiedSession | null;
}

export interface VerifiedCache extends VerifiedCacheReader {
  /** `ttl`: seconds the session can live at most from now; the entry need not outlive it. */
  set(cookie: string, session: VerifiedSession, ttl: number): void;
}

/** An entry's rough memory cost: UTF-16 strings, plus the objects around them. */
function entryBytes(cookie: string, session: VerifiedSession): number {
  // Strings twice (the parsed payload is about as big as its text), plus the objects around them.
  return 2 * (cookie.length + session.keyId.length + session.bind.length + session.ciphertext.length + 2 * session.plaintext.length) + 600;
}

/**
 * In worker memory: two generations of at most half the bounds each. New entries go to the young one;
 * when it is full it becomes the old one (the previous old one is dropped whole), and a hit in the old
 * one moves the entry back to the young one. So the cache never holds more than `maxEntries` entries or
 * about `maxBytes` bytes, recently used sessions stay, and nothing costs more than a Map operation.
 */
export function createMemoryVerifiedCache(maxEntries: number, maxBytes: number): VerifiedCache {
  const entryLimit = Math.max(1, Math.floor(maxEntries / 2));
  const byteLimit = Math.max(1, Math.floor(maxBytes / 2));
  let young = new Map<string, VerifiedSession>();
  let old = new Map<string, VerifiedSession>();
  let youngBytes = 0;

  function insert(cookie: string, session: VerifiedSession, bytes: number): void {
    if (young.size >= entryLimit || youngBytes + bytes > byteLimit) {
      old = young;
      young = new Map<string, VerifiedSession>();
      youngBytes = 0;
    }
    young.set(cookie, session);
    youngBytes += bytes;
  }

  return {
    get: function (cookie) {
      const recent = young.get(cookie);
      if (recent) return recent;
      const aged = old.get(cookie);
      if (!aged) return null;
      old.delete(cookie);
      insert(cookie, aged, entryBytes(cookie, aged));
      return aged;
    },
    set: function (cookie, session) {
      const bytes = entryBytes(cookie, session);
      // One huge session must not flush everything else.
      if (bytes > byteLimit / 4 || young.has(cookie)) return;
      insert(cookie, session, bytes);
    },
  };
}

/**
 * Worker memory in front of a zone (QuickJS): a hit in memory costs no shared-dict access (which costs
 * a QuickJS request about as much as the rest of the check); a miss there looks in the zone, which
 * every worker and every QuickJS context shares, and keeps what it finds.
 */
export function createTieredVerifiedCache(memory: VerifiedCache, zone: VerifiedCache): VerifiedCache {
  return {
    zone: zone.zone,
    get: function (cookie) {
      const near = memory.get(cookie);
      if (near) return near;
      const far = zone.get(cookie);
      if (far) memory.set(cookie, far, 0);
      return far;
    },
    set: function (cookie, session, ttl) {
      memory.set(cookie, session, ttl);
      zone.set(cookie, session, ttl);
    },
  };
}

/**
 * The zone's text of an entry: a flat JSON array, the fields in this order, led by the format's number.
 *
 *   [3, flags, creation, rolling, idling, sid, loggable id, keyId, bind, ciphertext, plaintext, entries]
 *
 * An array, not an object: no key to write or read per field, for the stringify on a cold request
 * (among QuickJS's costliest calls) and for the parse on every warm request of the njs engine, where
 * the zone is the only cache. Entries of another format (an object, or an array of format 2, from
 * before) read as absent.
 */
const ZONE_FORMAT = 3;

/**
 * The last field: the session's entries as the cold check (cold-check.ts) accepted them, else 0 (an
 * entry written without its entries at hand: the Session's, whose entries are its own to change).
 * Written from the accepted parse, so what it holds was verified; with it, the fast check of the njs
 * engine's warm request has the audience, subject and data from the parse of the entry itself,
 * without a second parse of the payload and decodeEntries' pass over it (session.ts) — that pass is
 * made once, by the writer. JSON has no undefined: a session without a subject leaves the third place
 * out. 0 too when a data value would not come back as the same value (a number beyond the double
 * range, which JSON writes as null): the payload is then parsed from the plaintext as before.
 */
function zoneEntries(entries: SessionEntry[] | undefined): SessionEntry[] | 0 {
  if (!entries) return 0;
  const written: SessionEntry[] = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const data = entry[0];
    const keys = Object.keys(data);
    for (let k = 0; k < keys.length; k++) {
      const value = data[keys[k]];
      if (typeof value === "number" && !isFinite(value)) return 0;
    }
    written.push(entry[2] === undefined ? [data, entry[1]] : [data, entry[1], entry[2]]);
  }
  return written;
}

function zoneText(session: VerifiedSession): string {
  const fields = [
    ZONE_FORMAT,
    session.flags,
    session.creationTime,
    session.rollingOffset,
    session.idlingOffset,
    session.sid,
    session.loggableId,
    session.keyId,
    session.bind,
    session.ciphertext,
    session.plaintext,
    zoneEntries(session.entries as SessionEntry[] | undefined),
  ];
  try {
    return JSON.stringify(fields);
  } catch (e) {
    // Data nested past the engine's stack: the entry without its entries (the rest is flat).
    fields[11] = 0;
    return JSON.stringify(fields);
  }
}

function parseZoneText(text: string): VerifiedSession | null {
  let fields: unknown;
  try {
    fields = JSON.parse(text);
  } catch (e) {
    return null;
  }
  if (!Array.isArray(fields) || fields.length !== 12 || fields[0] !== ZONE_FORMAT) return null;
  // Spelled out, not two loops: the njs engine's warm check parses an entry on every request, and the
  // loops cost it ~2k instructions more (docs/NOTES.md, issue 14, branch njstax).
  if (typeof fields[1] !== "number" || typeof fields[2] !== "number" || typeof fields[3] !== "number" || typeof fields[4] !== "number") return null;
  if (typeof fields[5] !== "string" || typeof fields[6] !== "string" || typeof fields[7] !== "string") return null;
  if (typeof fields[8] !== "string" || typeof fields[9] !== "string" || typeof fields[10] !== "string") return null;
  const entries = fields[11];
  if (entries !== 0 && !Array.isArray(entries)) return null;
  const session: VerifiedSession = {
    flags: fields[1],
    creationTime: fields[2],
    rollingOffset: fields[3],
    idlingOffset: fields[4],
    sid: fields[5],
    loggableId: fields[6],
    keyId: fields[7],
    bind: fields[8],
    ciphertext: fields[9],
    plaintext: fields[10],
  };
  if (entries !== 0) session.entries = entries;
  return session;
}

/** In a shared dict zone: one text per cookie value (zoneText), expiring with the session. */
export function createZoneVerifiedCache(dict: SharedDict, zone: string): VerifiedCache {
  return {
    zone: zone,
    get: function (cookie) {
      return readZoneEntry(dict, zone, cookie);
    },
    set: function (cookie, session, ttl) {
      const text = zoneText(session);
      try {
        dict.set(cookie, text, dictTimeout(ttl));
      } catch (e) {
        const error = zoneError(zone, e);
        // A full zone (declared without evict) only means this session is not cached.
        if (error.name === "ConfigError") throw error;
      }
    },
  };
}

/**
 * The same zone, read only: for the njs engine's warm check (check-view.ts), which never fills the
 * cache, so that its part is built without the writing code.
 */
export function createZoneVerifiedCacheReader(dict: SharedDict, zone: string): VerifiedCacheReader {
  return {
    zone: zone,
    get: function (cookie) {
      return readZoneEntry(dict, zone, cookie);
    },
  };
}

function readZoneEntry(dict: SharedDict, zone: string, cookie: string): VerifiedSession | null {
  let text: string | number | undefined;
  try {
    text = dict.get(cookie);
  } catch (e) {
    throw zoneError(zone, e);
  }
  return typeof text === "string" ? parseZoneText(text) : null;
}
