/**
 * The verified-session cache: what a full check of a session cookie established, keyed by the exact
 * cookie value, so that the next request carrying that very value (browsers send the same cookie until
 * it is refreshed) skips the MAC and the decryption. A key is a value as the Cookie header's parse gives
 * it (cookies.ts; a chunked session's values joined): it never holds ";" and never starts or ends with
 * white space, which the session check's lookup by the cookie's tail relies on (fast-check.ts).
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
   * The session id's hashed storage key (hash_storage_key), once a check derived it (storageKeyOf):
   * a function of `sid` alone, kept so that a warm request hashes nothing. In memory only; never logged.
   */
  hashedStorageKey?: string;
  /**
   * The payload parsed: decodeEntries' result for `plaintext`, as the writer accepted it; kept in
   * memory, and in the zone's text (zoneText); read, never changed, by the fast check (fast-check.ts).
   */
  entries?: unknown;
}

/** What the fast check reads of a verified cache. */
export interface VerifiedCacheReader {
  /** The js_shared_dict_zone behind it, if any. */
  readonly zone?: string;
  get(cookie: string): VerifiedSession | null;
  /**
   * get, in worker memory only: no shared-dict access, for a lookup that may well miss (check.ts's
   * lookup by the cookie's tail). Absent from a cache without a memory tier.
   */
  getInMemory?(cookie: string): VerifiedSession | null;
  /**
   * get, past worker memory only, for a cookie getInMemory just missed: the zone's entry (kept in
   * memory when found), without asking memory twice; null from a cache with nothing past memory.
   * Present where getInMemory is.
   */
  getBeyondMemory?(cookie: string): VerifiedSession | null;
}

export interface VerifiedCache extends VerifiedCacheReader {
  /** `ttl`: seconds the session can live at most from now; the entry need not outlive it. */
  set(cookie: string, session: VerifiedSession, ttl: number): void;
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

  /*
   * The entry's size and the generations' turn written out in set, which get's hit in the old
   * generation calls too, rather than helpers of their own: under QuickJS every distinct function a
   * cold request calls (set, on every fill) is read from memory (docs/NOTES.md, "where QuickJS's misses
   * under concurrency go").
   */
  function set(cookie: string, session: VerifiedSession): void {
    // A rough memory cost: strings twice (the parsed payload is about as big as its text), UTF-16,
    // plus the objects around them.
    const bytes = 2 * (cookie.length + session.keyId.length + session.bind.length + session.ciphertext.length + 2 * session.plaintext.length) + 600;
    // One huge session must not flush everything else.
    if (bytes > byteLimit / 4 || young.has(cookie)) return;
    if (young.size >= entryLimit || youngBytes + bytes > byteLimit) {
      old = young;
      young = new Map<string, VerifiedSession>();
      youngBytes = 0;
    }
    young.set(cookie, session);
    youngBytes += bytes;
  }

  function get(cookie: string): VerifiedSession | null {
    const recent = young.get(cookie);
    if (recent) return recent;
    const aged = old.get(cookie);
    if (!aged) return null;
    old.delete(cookie);
    // Back to the young generation (set's size test passed when it first went in).
    set(cookie, aged);
    return aged;
  }

  return { get: get, getInMemory: get, getBeyondMemory: nothingBeyondMemory, set: set };
}

function nothingBeyondMemory(): null {
  return null;
}

/**
 * Worker memory in front of a zone (QuickJS): a hit in memory costs no shared-dict access (which costs
 * a QuickJS request about as much as the rest of the check); a miss there looks in the zone, which
 * every worker and every QuickJS context shares, and keeps what it finds.
 */
export function createTieredVerifiedCache(memory: VerifiedCache, zone: VerifiedCache): VerifiedCache {
  function getBeyondMemory(cookie: string): VerifiedSession | null {
    const far = zone.get(cookie);
    if (far) memory.set(cookie, far, 0);
    return far;
  }
  return {
    zone: zone.zone,
    get: function (cookie) {
      return memory.get(cookie) || getBeyondMemory(cookie);
    },
    getInMemory: memory.get,
    getBeyondMemory: getBeyondMemory,
    set: function (cookie, session, ttl) {
      memory.set(cookie, session, ttl);
      zone.set(cookie, session, ttl);
    },
  };
}

/**
 * The zone's text of an entry: a flat JSON array, the fields in this order, led by the format's number.
 *
 *   [5, flags, creation, rolling, idling, sid, loggable id, keyId, bind, ciphertext, form, size, payload]
 *
 * An array, not an object: no key to write or read per field, for the stringify on a cold request
 * (among QuickJS's costliest calls) and for the parse on every warm request of the njs engine, where
 * the zone is the only cache. Entries of another format (an object, or an array of format 2 to 4, from
 * before) read as absent: since format 5 the fill caches only payloads whose every subject nginx can
 * publish (subjectsPublishable), which the fast check relies on; format 4's were not checked so.
 *
 * The payload, last, in one of two forms:
 *   - PAYLOAD_RAW: the plaintext itself, unquoted, when the writer has its entries (the plaintext is
 *     then JSON that decodeEntries accepted). The reader's parse of the text gives the entries, the
 *     very values decodeEntries' parse gave the writer, and the plaintext is the text's last `size`
 *     characters before the closing bracket. So the payload is in the text once, and the cold check's
 *     write neither walks nor stringifies the entries: QuickJS's stringify quotes and copies every
 *     string it meets, at a cost per character.
 *   - PAYLOAD_QUOTED: the plaintext as a JSON string: an entry written without its entries (the
 *     Session's, whose entries are its own to change), or one whose parse decodeEntries changed (a
 *     JSON null subject, read as none). The fast check parses it when it needs the entries.
 */
const ZONE_FORMAT = 5;
const PAYLOAD_QUOTED = 0;
const PAYLOAD_RAW = 1;

/**
 * Written by concatenation, not JSON.stringify (the same text): QuickJS's stringify costs a cold
 * request more than the rest of the fill (a property lookup per element, a copy per character of every
 * string). Only the free-form text (bind: a user agent) goes through it; the session id, the loggable
 * id, the key id and the ciphertext are base64url (the ciphertext decoded before it was decrypted),
 * which JSON quotes as they are, and the numbers are the header's whole fields.
 */
function zoneText(session: VerifiedSession): string {
  const plaintext = session.plaintext;
  // PAYLOAD_RAW when the entries are what a parse of the plaintext gives: decodeEntries reads a JSON
  // null subject as none (undefined), which no parse gives back. In place, not a function of its own:
  // under QuickJS every distinct function a cold request calls is read from memory (docs/NOTES.md).
  const entries = session.entries as SessionEntry[] | undefined;
  let raw = !!entries;
  if (entries) for (let i = 0; i < entries.length; i++) if (entries[i].length === 3 && entries[i][2] === undefined) raw = false;
  return (
    "[" + ZONE_FORMAT + "," + session.flags + "," + session.creationTime + "," + session.rollingOffset + "," + session.idlingOffset +
    ',"' + session.sid + '","' + session.loggableId + '","' + session.keyId + '",' + (session.bind === "" ? '""' : JSON.stringify(session.bind)) +
    ',"' + session.ciphertext + '",' + (raw ? PAYLOAD_RAW : PAYLOAD_QUOTED) + "," + plaintext.length + "," + (raw ? plaintext : JSON.stringify(plaintext)) + "]"
  );
}

function parseZoneText(text: string): VerifiedSession | null {
  let fields: unknown;
  try {
    fields = JSON.parse(text);
  } catch (e) {
    // Not JSON, or a payload nested past the engine's stack: a miss.
    return null;
  }
  if (!Array.isArray(fields) || fields.length !== 13 || fields[0] !== ZONE_FORMAT) return null;
  // Spelled out, not two loops: the njs engine's warm check parses an entry on every request, and the
  // loops cost it ~2k instructions more (docs/NOTES.md, issue 14, branch njstax).
  if (typeof fields[1] !== "number" || typeof fields[2] !== "number" || typeof fields[3] !== "number" || typeof fields[4] !== "number") return null;
  if (typeof fields[5] !== "string" || typeof fields[6] !== "string" || typeof fields[7] !== "string") return null;
  if (typeof fields[8] !== "string" || typeof fields[9] !== "string" || typeof fields[11] !== "number") return null;
  const form = fields[10];
  const payload = fields[12];
  let plaintext: string;
  const start = text.length - 1 - fields[11];
  if (form === PAYLOAD_RAW && Array.isArray(payload) && text.charAt(start - 1) === ",") plaintext = text.substring(start, text.length - 1);
  else if (form === PAYLOAD_QUOTED && typeof payload === "string" && payload.length === fields[11]) plaintext = payload;
  else return null;
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
    plaintext: plaintext,
  };
  if (form === PAYLOAD_RAW) session.entries = payload;
  return session;
}

/** In a shared dict zone: one text per cookie value (zoneText), expiring with the session. */
export function createZoneVerifiedCache(dict: SharedDict, zone: string): VerifiedCache {
  return {
    zone: zone,
    get: function (cookie) {
      let text: string | number | undefined;
      try {
        text = dict.get(cookie);
      } catch (e) {
        throw zoneError(zone, e);
      }
      return typeof text === "string" ? parseZoneText(text) : null;
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
 * The zone reader: its dict a property, read by a method declared once, not a closure per reader. Its
 * zone and dict are there for the njs engine's cold and touch parts too (check-view.ts, cold.ts).
 */
export interface ZoneReader extends VerifiedCacheReader {
  readonly zone: string;
  readonly dict: SharedDict;
}

/**
 * createZoneVerifiedCache's get, but a zone that cannot be read throws as the dict threw, unnamed: the
 * reader's one user, the warm check, answers any error with the full check, whose zone read names it.
 * So the warm part does not declare zoneError and the errors it makes.
 */
function zoneReaderGet(this: ZoneReader, cookie: string): VerifiedSession | null {
  const text = this.dict.get(cookie);
  return typeof text === "string" ? parseZoneText(text) : null;
}

/**
 * The same zone, read only: for the njs engine's warm check (check-view.ts), which never fills the
 * cache, so that its part is built without the writing code. Made on every warm request there: an
 * object whose method reads its properties costs it less than one capturing a closure.
 */
export function createZoneVerifiedCacheReader(dict: SharedDict, zone: string): ZoneReader {
  const reader: ZoneReader = { zone: zone, dict: dict, get: zoneReaderGet };
  return reader;
}

/**
 * createZoneVerifiedCache's set, as a method of the zone reader above (the dict its property), for the
 * njs engine's cold part (cold.ts), which gives it to the view's reader to fill the cache: no closure
 * per request. A dict that refuses the write throws as it threw, unnamed: the cold part answers any
 * error with the full check, whose writer names a misconfigured zone and leaves a full one's session
 * uncached (createZoneVerifiedCache). So the cold part does not declare zoneError and the errors it
 * makes either.
 */
export function zoneWriterSet(this: ZoneReader, cookie: string, session: VerifiedSession, ttl: number): void {
  this.dict.set(cookie, zoneText(session), dictTimeout(ttl));
}
