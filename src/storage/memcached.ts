/**
 * memcached storage: sessions in one or several memcached servers, through the store bridge
 * (nginx/store-bridge.conf).
 *
 *   { "storage": "memcached", "memcached": { "servers": ["10.0.0.5:11211", "10.0.0.6:11211"] } }
 *
 * Keys and values are lua-resty-session's (lib/resty/session/memcached.lua), so OpenResty nodes read
 * the same records:
 *
 *   [prefix:]name:key[:suffix]                 the session record, with the session's TTL
 *   [prefix:]name:audience:subject[:suffix]    store_metadata: "<key>:<expiry>;" entries appended per
 *                                              save, "<key>;" per removal, the latest entry of a key
 *                                              winning; compacted on deletes and on one save in ten
 *
 * Several servers: each key lives on one of them, chosen by rendezvous hashing of the key's name (the
 * server with the highest hash of server and name wins), so adding or removing a server moves only the
 * keys that must move. A server that is down fails closed for its keys; they are not moved elsewhere,
 * where a second copy could outlive a logout.
 *
 * read_locations (opt-in, nginx only): the session check's read of a record from a server goes through
 * nginx's memcached_pass in the location named for that server, instead of the bridge:
 *
 *   "read_locations": { "10.0.0.5:11211": "/_session_memcached_a" }
 */

import { decodeBase64Url, encodeBase64Url } from "../core/bytes";
import { configError, errorText } from "../core/errors";
import type { StorageOptions } from "../core/options";
import type { Platform, StoreRequest } from "../core/platform";
import type { Storage, StoreAsking, StoreMetadata, StoreReadRoute } from "../core/storage";
import { matchesWhole } from "../core/whole-text";
import { encodeMeta, isValidKey, metaFlag, MetaReply, parseMetaReplies, singleMetaValue, ttlToken } from "./protocol/memcached";
import { memcachedRegistryStore } from "./memcached-registry";
import { KeyNaming, metadataNames, readStorageOptions, storageName } from "./names";
import { readRequest } from "./read-route";
import { answered, askValue, checkBridgeOption, exchange, readConnectionOptions, rejectNginxSideOptions, roundTripTimeout, serverAddress, unavailable, valueAsked, ValueReader, valueReader } from "./remote";

const DEFAULT_PORT = 11211;
/** lua-resty-session compacts a subject's metadata on one save in ten. */
const CLEANUP_PROBABILITY = 0.1;
/** Session keys are 32 bytes of base64url; metadata entries are parsed by that length, as the peer does. */
const KEY_SIZE = 43;
const EXPIRY_SIZE = 7;

/** A 32-bit hash of text (FNV-1a, then murmur3's finalizer to spread it), unsigned. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The server a key lives on: rendezvous (highest random weight) hashing. */
export function serverFor(servers: string[], name: string): string {
  // One server holds everything: no hashing (hash32 walks the name in JavaScript).
  if (servers.length === 1) return servers[0];
  let best = servers[0];
  let bestWeight = -1;
  for (let i = 0; i < servers.length; i++) {
    const weight = hash32(servers[i] + "\n" + name);
    if (weight > bestWeight) {
      bestWeight = weight;
      best = servers[i];
    }
  }
  return best;
}

/** lua-resty-session's meta_get_value: "<key>:<5-byte little-endian expiry, base64url>;" or "<key>;". */
export function metadataEntry(key: string, expires: number): string {
  if (!expires) return key + ";";
  const packed = new Uint8Array(5);
  let value = expires;
  for (let i = 0; i < 5; i++) {
    packed[i] = value % 256;
    value = Math.floor(value / 256);
  }
  return key + ":" + encodeBase64Url(packed) + ";";
}

/** lua-resty-session's meta_get_latest: { key: expiry } of the entries still live, the latest entry per key winning. */
export function latestMetadata(list: string, now: number): { [key: string]: number } {
  const latest: { [key: string]: number } = {};
  let at = 0;
  while (at + KEY_SIZE < list.length) {
    const key = list.substring(at, at + KEY_SIZE);
    at += KEY_SIZE;
    if (list.charAt(at) !== ":") {
      delete latest[key];
      at += 1;
      continue;
    }
    const packed = decodeBase64Url(list.substring(at + 1, at + 1 + EXPIRY_SIZE));
    at += 1 + EXPIRY_SIZE + 1;
    if (!packed || packed.length !== 5) break;
    let expires = 0;
    for (let i = 4; i >= 0; i--) expires = expires * 256 + packed[i];
    if (expires > now) latest[key] = expires;
    else delete latest[key];
  }
  return latest;
}

type LocationGet = NonNullable<Platform["locationGet"]>;
type LocationValue = NonNullable<Platform["locationValue"]>;

/** A server's read location, with the reader of its answers (made once per server). */
interface LocationReader {
  location: string;
  answers: ValueReader<unknown>;
}

/** A location path as nginx.conf names it: no arguments, spaces or escapes. */
const LOCATION_PATH = /^\/[A-Za-z0-9._~\/-]*$/;

/**
 * read_locations checked: { server: location } for the servers listed, each named as in `servers`;
 * a server of another list, or a platform that cannot read through nginx, is a ConfigError.
 */
function readLocations(value: unknown, servers: string[], platform: Platform): { [server: string]: string } | undefined {
  if (value === undefined) return undefined;
  if (!platform.locationGet || !platform.locationValue) throw configError("memcached.read_locations needs nginx (memcached_pass): leave it out here");
  const out: { [server: string]: string } = {};
  const named = Object.keys(value as object);
  for (let i = 0; i < named.length; i++) {
    const server = serverAddress("memcached", named[i], DEFAULT_PORT);
    if (servers.indexOf(server) < 0) throw configError("memcached.read_locations names " + server + ", which is not one of memcached's servers");
    const location = (value as { [server: string]: unknown })[named[i]];
    if (typeof location !== "string" || !matchesWhole(LOCATION_PATH, location)) {
      throw configError('memcached.read_locations: each server\'s location must be a path, like "/_session_memcached"');
    }
    out[server] = location;
  }
  return out;
}

/**
 * Whether the location's `set $memcached_key $arg_k` hands memcached this very key: $arg_k ends at "&"
 * and memcached_pass escapes "%" (with spaces and control characters, which no key holds).
 */
function passableKey(key: string): boolean {
  return key.indexOf("&") < 0 && key.indexOf("%") < 0;
}

function allReplies(replies: MetaReply[]): MetaReply[] {
  return replies;
}

/** An `mg <key> v` reply as memcached storage hands it on: the value, or null. */
function storedValue(replies: MetaReply[]): string | null {
  return replies[0].code === "VA" ? (replies[0].value as string) : null;
}

export function createMemcachedStorage(options: StorageOptions | undefined, platform: Platform): Storage {
  rejectNginxSideOptions("memcached", options, platform);
  const read = readStorageOptions("memcached", options, {
    host: "string",
    port: "number",
    servers: "list",
    prefix: "string",
    suffix: "string",
    connect_timeout: "number",
    send_timeout: "number",
    read_timeout: "number",
    bridge: "string",
    read_locations: "object",
    // Only where the platform's transport takes them (Platform.storeConnectionOptions):
    ssl: "boolean",
    ssl_verify: "boolean",
    server_name: "string",
    ssl_trusted_certificate: "string",
    socket: "string",
  });
  const reach = readConnectionOptions("memcached", read, platform);
  let servers: string[];
  if (reach.socket !== undefined) {
    if (read.servers !== undefined || read.host !== undefined || read.port !== undefined) throw configError("memcached: give either socket or servers/host/port");
    servers = [reach.socket];
  } else if (read.servers !== undefined) {
    if (read.host !== undefined || read.port !== undefined) throw configError("memcached: give either servers or host/port");
    const listed = read.servers as unknown as unknown[];
    if (listed.length === 0) throw configError("memcached.servers must list at least one server");
    servers = listed.map(function (server) {
      return serverAddress("memcached", server, DEFAULT_PORT);
    });
  } else {
    servers = [serverAddress("memcached", { host: read.host || "127.0.0.1", port: read.port === undefined ? DEFAULT_PORT : read.port }, DEFAULT_PORT)];
  }
  const naming: KeyNaming = { prefix: read.prefix as string | undefined, suffix: read.suffix as string | undefined };
  if (!isValidKey(storageName(naming, "session", "k", "s"))) throw configError("memcached.prefix and suffix must not contain spaces or control characters");
  const timeout = roundTripTimeout(read as { [name: string]: number });
  const bridge = checkBridgeOption("memcached", read.bridge);
  const readers = readersOf(readLocations(read.read_locations, servers, platform));

  /** Runs the commands on the server holding `name`; resolves to their replies, rejects on a protocol error. */
  function run(name: string, commands: string[]): Promise<MetaReply[]> {
    const target = serverFor(servers, name);
    return exchange(platform, "memcached " + target, storeRequest(target, commands), repliesReader("memcached " + target, commands.length, allReplies));
  }

  function storeRequest(target: string, commands: string[]): StoreRequest {
    const request: StoreRequest = { protocol: "memcached", target: target, payload: commands.join(""), commands: commands.length, prelude: 0, timeout: timeout };
    if (bridge !== undefined) request.bridge = bridge;
    if (reach.tls !== undefined) request.tls = reach.tls;
    return request;
  }

  /**
   * The reader of the replies of `count` commands to `store`: what `read` makes of them, in the
   * exchange's step; with `single`, first what it reads off the bytes of a lone reply (undefined: the
   * replies are parsed and checked as run()'s).
   */
  function repliesReader<T>(store: string, count: number, read: (replies: MetaReply[]) => T, single?: (bytes: Uint8Array) => T | undefined): (bytes: Uint8Array) => T {
    return function (bytes) {
      const lone = single ? single(bytes) : undefined;
      if (lone !== undefined) {
        // A value or a miss: no error reply, so the loop below would find nothing.
        answered(platform, store);
        return lone;
      }
      let replies: MetaReply[];
      try {
        replies = parseMetaReplies(bytes, count);
      } catch (e) {
        throw unavailable(platform, store, "malformed reply");
      }
      for (let i = 0; i < replies.length; i++) {
        const code = replies[i].code;
        if (code === "ERROR" || code === "CLIENT_ERROR" || code === "SERVER_ERROR") {
          throw unavailable(platform, store, code + (replies[i].message ? " " + replies[i].message : ""));
        }
      }
      answered(platform, store);
      return read(replies);
    };
  }

  /**
   * Per server, the reader of an `mg <key> v` reply (every session check's read), made once: a
   * closure per read costs QuickJS more than the reading of a short reply.
   */
  const valueReaders: { [server: string]: ValueReader } = {};
  /** Per server, its record reads' route (read-route.ts). */
  const routes: { [server: string]: StoreReadRoute } = {};
  for (let i = 0; i < servers.length; i++) {
    const store = "memcached " + servers[i];
    valueReaders[servers[i]] = valueReader(platform, store, servers[i], repliesReader(store, 1, storedValue, singleMetaValue));
    const route: StoreReadRoute = {
      protocol: "memcached",
      target: servers[i],
      store: store,
      timeout: timeout,
      bridge: bridge,
      prelude: "",
      preludeCommands: 0,
      prefix: naming.prefix,
      suffix: naming.suffix,
    };
    if (reach.tls !== undefined) route.tls = reach.tls;
    routes[servers[i]] = route;
  }

  /**
   * For each server with a read location (memcached_pass), what ends its reads, made once: its value
   * or null, and a server that cannot answer is a store incident as over the bridge (remote.ts: logged
   * once, failing closed).
   */
  function readersOf(locations: { [server: string]: string } | undefined): { [server: string]: LocationReader } | undefined {
    if (locations === undefined) return undefined;
    const out: { [server: string]: LocationReader } = {};
    const named = Object.keys(locations);
    const valueOf = platform.locationValue as LocationValue;
    for (let i = 0; i < named.length; i++) {
      const store = "memcached " + named[i];
      const location = locations[named[i]];
      const value = function (answer: unknown): string | null {
        let found: string | null;
        try {
          found = valueOf(answer);
        } catch (e) {
          throw unavailable(platform, store, location + ": " + errorText(e));
        }
        answered(platform, store);
        return found;
      };
      // The store's name does not end with the location: its failures read "<location>: <reason>".
      out[named[i]] = { location: location, answers: valueReader(platform, store, location, value) };
    }
    return out;
  }

  /** A session record's read (Storage.ask): through the server's read location when it has one, else the bridge. */
  function ask<T>(name: string, key: string, now: number, host: unknown, asking: StoreAsking<T>): Promise<T> {
    const sessionName = storageName(naming, name, key);
    const target = serverFor(servers, sessionName);
    if (readers !== undefined && host !== undefined) {
      const reader = readers[target];
      if (reader !== undefined && passableKey(sessionName)) {
        // The answer read and handed on in one step (two closures a read cost less than a second step).
        return (platform.locationGet as LocationGet)(host, reader.location, sessionName).then(
          function (answer) {
            return reader.answers.read(answer, asking);
          },
          function (e) {
            return reader.answers.failed(e, asking);
          },
        );
      }
    }
    const route = routes[target];
    return askValue(platform, route.store, readRequest(route, sessionName), valueReaders[target], asking);
  }

  /** Rewrites a subject's metadata to its live entries (compare-and-swap: a concurrent append wins). */
  function compact(metaName: string, now: number): Promise<void> {
    return run(metaName, [encodeMeta("mg", metaName, ["v", "c"])]).then(function (replies) {
      const reply = replies[0];
      const cas = metaFlag(reply, "c");
      if (reply.code !== "VA" || cas === undefined) return;
      const latest = latestMetadata(reply.value || "", now);
      let list = "";
      let maxExpiry = now;
      const keys = Object.keys(latest);
      for (let i = 0; i < keys.length; i++) {
        list += metadataEntry(keys[i], latest[keys[i]]);
        if (latest[keys[i]] > maxExpiry) maxExpiry = latest[keys[i]];
      }
      const command =
        list === ""
          ? encodeMeta("md", metaName, ["C" + cas])
          : encodeMeta("ms", metaName, ["C" + cas, "T" + ttlToken(maxExpiry - now, now)], list);
      return run(metaName, [command]).then(function () {});
    });
  }

  /** Appends metadata entries ("<key>:<expiry>;" / "<key>;") for each audience; compacts when asked. */
  function appendMetadata(name: string, metadata: StoreMetadata, entries: string, now: number, compactAll: boolean): Promise<void> {
    const metaNames = metadataNames(naming, name, metadata);
    const work: Array<Promise<void>> = [];
    for (let i = 0; i < metaNames.length; i++) {
      const metaName = metaNames[i];
      // Append, creating the list when missing (N0: no expiry of its own, as the peer's add); the
      // compaction gives it the expiry of its longest-lived entry.
      const appended = run(metaName, [encodeMeta("ms", metaName, ["MA", "N0"], entries)]).then(function (): Promise<void> | void {
        if (compactAll || Math.random() < CLEANUP_PROBABILITY) return compact(metaName, now);
      });
      work.push(appended);
    }
    return Promise.all(work).then(function () {});
  }

  return {
    keysLoggedBy: readers !== undefined ? "memcached.read_locations" : undefined,
    set: function (name, key, value, ttl, now, oldKey, staleTtl, metadata) {
      const sessionName = storageName(naming, name, key);
      const stored = run(sessionName, [encodeMeta("ms", sessionName, ["T" + ttlToken(ttl, now)], value)]).then(function (replies) {
        if (replies[0].code !== "HD") throw unavailable(platform, "memcached " + serverFor(servers, sessionName), "not stored (" + replies[0].code + ")");
      });
      return stored
        .then(function () {
          if (oldKey === undefined) return;
          // The previous record stays for stale_ttl at most, never longer than it had left.
          const oldName = storageName(naming, name, oldKey);
          const stale = staleTtl || 0;
          return run(oldName, [encodeMeta("mg", oldName, ["t"])]).then(function (replies) {
            const left = replies[0].code === "HD" ? Number(metaFlag(replies[0], "t")) : NaN;
            if (!(left === -1 || left > stale)) return;
            const shorten = stale > 0 ? encodeMeta("mg", oldName, ["T" + stale]) : encodeMeta("md", oldName, []);
            return run(oldName, [shorten]).then(function () {});
          });
        })
        .then(function () {
          if (!metadata) return;
          let entries = metadataEntry(key, now + ttl);
          if (oldKey !== undefined) entries += metadataEntry(oldKey, 0);
          return appendMetadata(name, metadata, entries, now, false);
        });
    },
    // One server, read through the bridge only: every read takes the one route.
    readRoute: servers.length === 1 && readers === undefined ? routes[servers[0]] : undefined,
    get: function (name, key, now, host) {
      return ask(name, key, now, host, valueAsked());
    },
    ask: ask,
    delete: function (name, key, now, metadata) {
      const sessionName = storageName(naming, name, key);
      return run(sessionName, [encodeMeta("md", sessionName, [])]).then(function (): Promise<void> | void {
        if (metadata) return appendMetadata(name, metadata, metadataEntry(key, 0), now, true);
      });
    },
    /** lua-resty-session's read_metadata: { [session key]: expiry } of a subject's live sessions. */
    readMetadata: function (name, audience, subject, now) {
      const metaName = storageName(naming, name, audience, subject);
      return run(metaName, [encodeMeta("mg", metaName, ["v"])]).then(function (replies) {
        return replies[0].code === "VA" ? latestMetadata(replies[0].value || "", now) : {};
      });
    },
    registryStore: function (name, rememberName) {
      const access = {
        run: run,
        serverOf: function (key: string) {
          return serverFor(servers, key);
        },
        removalEntry: function (key: string) {
          return metadataEntry(key, 0);
        },
        listedKeys: function (list: string) {
          // Every key the list names with an expiry, live or not: their records go too.
          return Object.keys(latestMetadata(list, 0));
        },
      };
      return memcachedRegistryStore(access, platform, naming, name, rememberName, servers.length === 1 ? "memcached " + servers[0] : "memcached");
    },
  };
}
