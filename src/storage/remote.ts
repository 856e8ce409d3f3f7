/**
 * What the network storages (redis.ts, memcached.ts) share: their connection options, the round trip
 * through the platform's store transport, and the incident log.
 *
 * Incidents: when a store cannot answer, every request that needs it fails closed, but the error log
 * gets one line when the incident starts and one when the store answers again, not one per request.
 * The "incident open" mark lives in the verified-cache zone (njs_session_cache, declared by
 * nginx/njs-session.conf), so all workers share it and the njs engine, which keeps nothing between
 * requests, logs once too; without that zone it is kept in module memory (per worker under QuickJS).
 */

import { DEFAULT_VERIFIED_CACHE_ZONE } from "../core/options";
import { configError, errorText, storeUnavailableError } from "../core/errors";
import type { Platform, StoreConnectionOption, StoreReader, StoreRequest, StoreTls } from "../core/platform";
import { BoundedTable, retainedTable } from "../core/retained";
import type { SharedDict } from "../core/shared-dict";
import { askAnswered, StoreAsking } from "../core/storage";
import { incidentKey } from "./incident-key";
import { matchesWhole } from "../core/whole-text";

/** Options every network storage takes, in milliseconds, as lua-resty-session names them. */
export interface Timeouts {
  connect_timeout?: number;
  send_timeout?: number;
  read_timeout?: number;
}

export const DEFAULT_TIMEOUT_MS = 1000;

/** The whole round trip's budget: a request may need a new connection, then to send, then to read. */
export function roundTripTimeout(options: Timeouts): number {
  return (
    (options.connect_timeout || DEFAULT_TIMEOUT_MS) + (options.send_timeout || DEFAULT_TIMEOUT_MS) + (options.read_timeout || DEFAULT_TIMEOUT_MS)
  );
}

/**
 * lua-resty-session options that are nginx's business there, with where to set them instead: the
 * bridge makes the connections, so TLS and pooling are its directives. A platform whose store
 * transport makes its own connections (Node) takes those it lists in storeConnectionOptions.
 */
const NGINX_SIDE: { [option: string]: string } = {
  ssl: "proxy_ssl on; in the store bridge's relay server (nginx/store-bridge.conf)",
  ssl_verify: "proxy_ssl_verify on; in the store bridge's relay server",
  server_name: "proxy_ssl_name in the store bridge's relay server",
  ssl_trusted_certificate: "proxy_ssl_trusted_certificate in the store bridge's relay server",
  pool: "js_fetch_keepalive (connections are pooled per store address)",
  pool_size: "js_fetch_keepalive",
  backlog: "js_fetch_keepalive",
  keepalive_timeout: "js_fetch_keepalive_timeout",
  socket: "a host and port (the bridge connects; a unix socket needs a relay server of its own)",
};

/**
 * Fails loudly on a connection option the platform's transport does not take: in nginx, with the
 * directive that does it instead; elsewhere (only pooling is left), saying the transport pools itself.
 */
export function rejectNginxSideOptions(storage: string, options: unknown, platform: Platform): void {
  if (!options || typeof options !== "object") return;
  const own = platform.storeConnectionOptions;
  const names = Object.keys(options);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const where = NGINX_SIDE[name];
    if (!where || (own && own.indexOf(name as StoreConnectionOption) >= 0)) continue;
    if (!own) throw configError(storage + "." + name + " is set in nginx.conf: " + where);
    throw configError(storage + "." + name + " is not taken outside nginx: the store transport keeps and pools its own connections");
  }
}

/** How a storage's connections are made beyond host:port, from the options the platform takes. */
export interface ConnectionOptions {
  tls?: StoreTls;
  /** unix:/path of the server's socket. */
  socket?: string;
}

/** A DNS name: what SNI carries (never an IP address) and what the certificate is checked for. */
const HOST_NAME = /^(?=.*[A-Za-z])[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/**
 * ssl, ssl_verify, server_name, ssl_trusted_certificate and socket, checked; only a platform that takes
 * them gets here (rejectNginxSideOptions runs first). ssl_verify defaults to off, as lua-resty-session's
 * (nil, which OpenResty's sslhandshake takes as no verification). The trusted certificates are read
 * now, so that a missing file is a ConfigError at start, not a store incident at the first request.
 */
export function readConnectionOptions(storage: string, read: { [name: string]: unknown }, platform: Platform): ConnectionOptions {
  const out: ConnectionOptions = {};
  const tlsOnly = ["ssl_verify", "server_name", "ssl_trusted_certificate"];
  for (let i = 0; i < tlsOnly.length; i++) {
    if (read[tlsOnly[i]] !== undefined && read.ssl !== true) throw configError(storage + "." + tlsOnly[i] + " needs " + storage + ".ssl: true");
  }
  if (read.socket !== undefined) {
    const socket = read.socket as string;
    const path = socket.substring(0, 5) === "unix:" ? socket.substring(5) : socket;
    if (path.charAt(0) !== "/") throw configError(storage + '.socket must be a unix socket\'s absolute path, like "unix:/run/redis/redis.sock"');
    if (read.ssl === true) throw configError(storage + ".ssl over a unix socket: the store serves TLS on a TCP port only");
    out.socket = "unix:" + path;
  }
  if (read.ssl === true) {
    const tls: StoreTls = { verify: read.ssl_verify === true };
    if (read.server_name !== undefined) {
      if (!matchesWhole(HOST_NAME, read.server_name as string)) throw configError(storage + ".server_name must be a host name (SNI carries no IP address)");
      tls.serverName = read.server_name as string;
    }
    if (read.ssl_trusted_certificate !== undefined) tls.trustedCertificates = trustedCertificates(storage, read.ssl_trusted_certificate as string, platform);
    out.tls = tls;
  }
  return out;
}

function trustedCertificates(storage: string, path: string, platform: Platform): string {
  let pem: string | null = null;
  try {
    pem = platform.files ? platform.files.read(path) : null;
  } catch (e) {
    // Unreadable: said below, without the system's wording.
  }
  if (pem === null) throw configError(storage + ".ssl_trusted_certificate: cannot read " + path);
  if (pem.indexOf("-----BEGIN CERTIFICATE-----") < 0) throw configError(storage + ".ssl_trusted_certificate: " + path + " holds no PEM certificate");
  return pem;
}

/** The `bridge` option (direct mode, no js_fetch_proxy): the front's own http://host:port. */
export function checkBridgeOption(storage: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !matchesWhole(/^http:\/\/[^/?#\s]+$/, value)) {
    throw configError(storage + '.bridge must be the store bridge\'s address, like "http://127.0.0.1:7379"');
  }
  return value;
}

/** host:port from a "host:port" text or a {host, port} table; the default port when none is given. */
export function serverAddress(storage: string, value: unknown, defaultPort: number): string {
  let host: unknown;
  let port: unknown = defaultPort;
  if (typeof value === "string") {
    const colon = value.lastIndexOf(":");
    if (colon > 0 && value.charAt(value.length - 1) !== "]") {
      host = value.substring(0, colon);
      port = Number(value.substring(colon + 1));
    } else host = value;
  } else if (value && typeof value === "object") {
    host = (value as { host?: unknown }).host;
    if ((value as { port?: unknown }).port !== undefined) port = (value as { port?: unknown }).port;
  }
  if (typeof host !== "string" || !matchesWhole(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)$/, host)) {
    throw configError(storage + ": a server must be \"host:port\" or {\"host\": ..., \"port\": ...}");
  }
  if (typeof port !== "number" || !(port > 0 && port < 65536) || Math.floor(port) !== port) {
    throw configError(storage + ": port must be 1-65535");
  }
  return host + ":" + port;
}

/** Without the zone: open incidents by store, with when they started (this worker's memory). */
function incidentsInMemory(): BoundedTable<number> {
  // Stores are few (a cluster's masters at most); the bound is a backstop.
  return retainedTable<number>("store incidents", 1024);
}
/** Long enough for any outage; the mark only decides whether to log. */
const INCIDENT_MARK_SECONDS = 7 * 24 * 3600;

function incidentDict(platform: Platform): SharedDict | undefined {
  return platform.sharedDict ? platform.sharedDict(DEFAULT_VERIFIED_CACHE_ZONE) : undefined;
}

/** The first failure of an incident logs; later ones do not, until the store answers again. */
function incidentStarted(platform: Platform, store: string, now: number): boolean {
  const dict = incidentDict(platform);
  if (dict) {
    try {
      return dict.add(incidentKey(store), String(now), INCIDENT_MARK_SECONDS * 1000);
    } catch (e) {
      // A full zone: fall back to this worker's memory.
    }
  }
  const memory = incidentsInMemory();
  if (memory.get(store) !== undefined) return false;
  memory.set(store, now);
  return true;
}

/** When the incident this success ends started, or undefined when there was none (or another worker logged the end). */
function incidentEnded(platform: Platform, store: string): number | undefined {
  const dict = incidentDict(platform);
  let since: number | undefined;
  if (dict) {
    try {
      const key = incidentKey(store);
      const mark = dict.get(key);
      if (mark !== undefined && dict.delete(key)) since = Number(mark);
    } catch (e) {
      // As above: memory only.
    }
  }
  const memory = incidentsInMemory();
  const remembered = memory.get(store);
  if (remembered !== undefined) {
    if (since === undefined) since = remembered;
    memory.delete(store);
  }
  return since;
}

/**
 * One round trip to a store server. `store` names what fails as one, for the incident log: a server
 * ("redis 10.0.0.5:6379", "memcached 10.0.0.6:11211", "redis cluster node 10.0.0.7:7000") or a
 * Sentinel deployment ("redis sentinel master mymaster"), whichever of its servers the requests went
 * to. Resolves to what `read` makes of the raw replies (in the same step: every promise step costs
 * the interpreter more than reading a short reply);
 * rejects with a StoreUnavailable error (logged once per incident) when the server cannot answer.
 * Replies may still say it cannot serve (LOADING, out of memory): only answered() ends an incident.
 */
export function exchange<T>(platform: Platform, store: string, request: StoreRequest, read: (replies: Uint8Array) => T): Promise<T> {
  if (!platform.storeExchange) return Promise.reject(noTransport(store));
  const reader: StoreReader<undefined, T> = {
    read: read,
    failed: function (e) {
      throw roundTripFailed(platform, store, request.target, e);
    },
  };
  return platform.storeExchange(request, reader, undefined);
}

function noTransport(store: string): Error {
  return configError(store + " needs a store transport, which this platform lacks");
}

/** The reader of one server's answers to a value read (Storage.ask), made once per server (valueReader). */
export interface ValueReader<R = Uint8Array> {
  read<T>(replies: R, asking: StoreAsking<T>): T;
  failed<T>(reason: unknown, asking: StoreAsking<T>): T;
}

/** A valueReader's own state: its methods below read it from `this` (no closures per reader). */
interface ValueReading<R> extends ValueReader<R> {
  platform: Platform;
  store: string;
  target: string;
  value: (replies: R) => string | null;
}

/**
 * The reader of a value read from one server (a session check's GET or `mg <key> v`): `value` reads
 * the replies (the value or null; it throws when they say the store cannot serve), and the outcome goes
 * to the asking's answer in the same step, a failure of the round trip as a store incident (logged
 * once). Made once per server: the read's own state is the asking. One object whose methods are
 * module functions: under the njs engine every request builds its storages again, and a closure
 * costs it more than an object's fields.
 */
export function valueReader<R = Uint8Array>(platform: Platform, store: string, target: string, value: (replies: R) => string | null): ValueReader<R> {
  const reading: ValueReading<R> = { read: readValue, failed: valueUnavailable, platform: platform, store: store, target: target, value: value };
  return reading;
}

function readValue<R, T>(this: ValueReading<R>, replies: R, asking: StoreAsking<T>): T {
  let found: string | null;
  try {
    found = this.value(replies);
  } catch (e) {
    return asking.answer.failed(asking, e);
  }
  return asking.answer.stored(asking, found);
}

function valueUnavailable<R, T>(this: ValueReading<R>, reason: unknown, asking: StoreAsking<T>): T {
  return asking.answer.failed(asking, roundTripFailed(this.platform, this.store, this.target, reason));
}

/** A value read (Storage.ask) through `reader`, the server's valueReader: resolves to what the asking's answer returns. */
export function askValue<T>(platform: Platform, store: string, request: StoreRequest, reader: ValueReader, asking: StoreAsking<T>): Promise<T> {
  if (!platform.storeExchange) return askAnswered(Promise.reject(noTransport(store)), asking);
  return platform.storeExchange<StoreAsking<T>, T>(request, reader, asking);
}

/** What Storage.get hands ask (valueAsked): the promise resolves to the value, or rejects with the failure. */
let valueAskedOnce: StoreAsking<string | null | undefined> | undefined;

/** Made on the first get, not by the module's top level, which the njs engine runs for every request. */
export function valueAsked(): StoreAsking<string | null | undefined> {
  if (!valueAskedOnce) valueAskedOnce = { answer: { stored: storedAsIs, failed: failureThrown } };
  return valueAskedOnce;
}

function storedAsIs(asking: unknown, value: string | null | undefined): string | null | undefined {
  return value;
}

function failureThrown(asking: unknown, error: unknown): never {
  throw error;
}

/**
 * Per store, when this context (a QuickJS context; the njs engine starts each request afresh) last
 * looked for an open incident and found none. Within QUIET_RECHECK_SECONDS of that, and while the
 * store has not failed here, a success does not read the zone: reading it on every answer costs more
 * than the rest of handing a reply on (docs/NOTES.md, branch store7). An incident another worker
 * logged is then ended (and its "answers again" line written) by that worker's next success, or by
 * this one's within the interval.
 */
const QUIET_STORES = "quiet stores";
// Stores are few (a cluster's masters at most); the bound is a backstop.
const QUIET_STORES_BOUND = 256;
const QUIET_RECHECK_SECONDS = 1;

/** The store served a request (not only answered it): an open incident ends, with one line. */
export function answered(platform: Platform, store: string): void {
  const now = platform.now();
  // The table asked for here, not through a helper: a call more on every store read.
  const quiet = retainedTable<number>(QUIET_STORES, QUIET_STORES_BOUND);
  const lastQuiet = quiet.get(store);
  if (lastQuiet !== undefined && now - lastQuiet < QUIET_RECHECK_SECONDS && now >= lastQuiet) return;
  const since = incidentEnded(platform, store);
  if (since !== undefined) platform.log("warn", "[session] " + store + " answers again, after " + Math.max(0, now - since) + " s");
  quiet.set(store, now);
}

/** "<target>: " when the store's name does not already say which server it is. */
export function at(store: string, target: string): string {
  return store.substring(store.length - target.length) === target ? "" : target + ": ";
}

/**
 * The error for a round trip to `target` of `store` that failed for `reason` (the transport's, or the
 * bridge's answer): unavailable(), naming the server where the store's name does not.
 */
export function roundTripFailed(platform: Platform, store: string, target: string, reason: unknown): Error {
  return unavailable(platform, store, at(store, target) + errorText(reason));
}

/** The error for a store that cannot serve; the first of an incident is logged. */
export function unavailable(platform: Platform, store: string, reason: string): Error {
  // Its next success here looks for the incident at once.
  retainedTable<number>(QUIET_STORES, QUIET_STORES_BOUND).delete(store);
  if (incidentStarted(platform, store, platform.now())) {
    platform.log("error", "[session] " + store + " unavailable: " + reason + " (requests needing it fail closed; logged once until it answers again)");
  }
  return storeUnavailableError(store, reason);
}
