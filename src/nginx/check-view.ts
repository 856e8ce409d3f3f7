/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The check view: what the warm check (warm.ts) needs of a location's settings, kept where the njs
 * engine can find it again. Under the njs engine every request starts from the module's top level, so
 * resolving the configuration (reading the file, validating, deriving keys) would be paid by every
 * request. Instead, a request that ran the full check leaves a compact copy of what it resolved in the
 * njs_session_cache zone, and later requests of the same worker and location read it back.
 *
 * Keyed by worker pid and the location's $session_location_config text:
 *   - the pid scopes a view to one worker of one configuration generation: a reload starts new
 *     workers, so a rotated secret or a changed option is never read from an older view. A view
 *     lives VIEW_SECONDS: for a new generation's worker to read an old view, the kernel would have
 *     to hand its pid out again within that time;
 *   - the text scopes it to the location's overrides (what requestContext() resolves from it).
 * Cookie and shm storage have a view; redis and memcached where their reads go to one server by the
 * bridge (the view holds the read's route, and the warm check asks the store as the full check does),
 * and with store_revalidate, for the sessions the store confirmed within the bound. A missing or
 * unreadable view only means the full check runs.
 *
 * Beside the view of a cookie or shm location, the location's key entry (same keying) holds the
 * current key's PRK (HKDF-Extract of its ikm) and the cookie attributes, for the cold and touch parts
 * (cold.ts, touch.ts, through keyed-view.ts): a cookie not verified before is opened with it, and one
 * due for a touch touched and re-issued, without the configuration. The PRK, not the ikm: every key
 * the format derives starts from it, so each part would otherwise make it (one HMAC) on every request,
 * where the full check makes it once when it leaves the entry. It is as secret as the key it replaces. An entry of its own, not items of the view: the
 * warm check parses the view on every request and never reads them. The zone already holds what the
 * key protects (decrypted payloads: verified-cache.ts), never leaves the node's memory (it must not
 * have `state=`), and what can read it, nginx's workers, can read the secret's source too.
 * Fallback keys stay out: a cookie sealed with one goes to the full check, which re-seals it.
 *
 * The full login leaves a login view beside it (same keying): what the njs engine's login part
 * (login-part.ts) needs to save a new session, only for a location whose login it can save (cookie
 * storage, no registry, no remember cookie by default). An entry of its own, not items of the check
 * view: the warm check parses that view on every request, and would pay for the login's settings.
 */

import type { CheckedSettings } from "../core/checks";
import type { Settings } from "../core/settings";
import type { StorageOptions } from "../core/options";
import type { StoreReadRoute } from "../core/storage";
import { DEFAULT_VERIFIED_CACHE_ZONE } from "../core/options";
import type { Platform, WarmPlatform } from "../core/platform";
import type { RegistryOptions } from "../core/registry";
import { encodeBase64Url } from "../core/bytes";
import { pseudorandomKey } from "../core/keys";
import { dictTimeout, SharedDict } from "../core/shared-dict";
import { createZoneVerifiedCacheReader, ZoneReader } from "../core/verified-cache";
import type { EntryOptions } from "./configuration";
import type { WarmStores } from "./warm-stores";

/** Seconds a view is kept: a minute of requests per worker and location read it, then one resolves again. */
export const VIEW_SECONDS = 60;
/** "/8": the array form below, the storage item a read route where there is one (a view of an older form is never read as one). */
const VIEW_PREFIX = "@check-view/8:";
/** "/2": the location's key entry (locationKeyText), with the PRK ("/1" held the ikm). */
const KEY_PREFIX = "@check-key/2:";

/**
 * The plain settings the warm check reads: the checks' timeouts (checks.ts's CheckedSettings, whose
 * storage and registry the view rebuilds), and fastCheck's and publishing's own. Not the remember
 * cookie's timeouts: only the full check opens a remember cookie.
 */
type PlainSettings = Omit<CheckedSettings, "storage" | "registry"> &
  Pick<Settings, "cookieName" | "audience" | "keyIds" | "hashStorageKey" | "requestHeaders" | "responseHeaders">;

/** What the warm check reads of the settings: the plain ones, and the storage, registry and cache. */
export type CheckSettings = PlainSettings &
  Pick<Settings, "storage" | "registry" | "storeRevalidate"> & { verifiedCache: ZoneReader };

/**
 * The storage item of a redis or memcached location whose reads the warm check cannot make (no read
 * route, or the registry in the store: its revocations are read with the record): with
 * store_revalidate only, answered within the bound.
 */
const NETWORK_STORE = "network store";

/**
 * A read route (Storage.readRoute) as the view holds it, by position (routeOfItem reads it back):
 *   [protocol, target, store, timeout, bridge or null, prelude, prelude commands, prefix or null,
 *    suffix or null]
 * None with TLS (only Node's transport takes it, and Node has no view). The prelude holds AUTH's
 * password as the bridge sends it: what the zone already holds beside it (the key entry's PRK,
 * decrypted payloads) is no less secret, and the zone never leaves the node's memory.
 */
const ROUTE_LENGTH = 9;

function routeItem(route: StoreReadRoute): unknown[] | null {
  if (route.tls !== undefined) return null;
  const bridge = route.bridge === undefined ? null : route.bridge;
  const prefix = route.prefix === undefined ? null : route.prefix;
  const suffix = route.suffix === undefined ? null : route.suffix;
  return [route.protocol, route.target, route.store, route.timeout, bridge, route.prelude, route.preludeCommands, prefix, suffix];
}

function routeOfItem(item: unknown[]): StoreReadRoute | null {
  if (item.length !== ROUTE_LENGTH) return null;
  return {
    protocol: item[0] as StoreReadRoute["protocol"],
    target: item[1] as string,
    store: item[2] as string,
    timeout: item[3] as number,
    bridge: item[4] === null ? undefined : (item[4] as string),
    prelude: item[5] as string,
    preludeCommands: item[6] as number,
    prefix: item[7] === null ? undefined : (item[7] as string),
    suffix: item[8] === null ? undefined : (item[8] as string),
  };
}

/**
 * The read route of a redis or memcached location as its view holds it, or null: where the warm check
 * can read a session's record as the full check does (fast-store-check.ts askStore without the
 * registry's readChecked, which reads the revocations with the record).
 */
function viewRoute(settings: Settings): unknown[] | null {
  const route = settings.storage ? settings.storage.readRoute : undefined;
  if (!route || (settings.registry && settings.registry.readChecked)) return null;
  return routeItem(route);
}

/**
 * A location's view, as a JSON array in the zone, by position: viewOf writes it, readCheckView reads
 * it back (test/unit/check-view.test.ts holds them together). An array, not an object, and read back
 * with one object literal, not a loop over names: on every warm request under the njs engine,
 * JSON.parse takes ~14k instructions for it against ~36k for the same view as an object, and the
 * literal ~13k less than a loop (docs/NOTES.md, issue 14, branch njstax).
 *
 *   [cookie name, audience, key ids, idling, rolling, absolute, touch threshold, rolling renewal,
 *    cache zone, more]
 *
 * key ids: the one id as a string when there is one (no fallback keys: most locations), else the
 * array; cache zone: null when it is the zone the view is in (most). JSON.parse pays for a nested
 * array, and for every character of a string.
 *
 * `more` holds the settings most locations leave at their defaults, and is null when they all are
 * (cookie storage, no registry, no request_headers, response_headers or expose_data, no csrf, no
 * store_revalidate, no hash_storage_key): JSON.parse pays the njs engine per item, on every warm
 * request, so the common view is ten items, not nineteen (docs/NOTES.md, issue 14, branches njswarm6
 * and njswarm7).
 *
 *   [hash storage key, request headers, response headers, storage, registry, expose_data, csrf,
 *    store revalidate]
 *
 * storage: shm's options when the storage is shm (null: none given), false for cookie storage; for
 * redis or memcached its read route as an array (routeItem) where it has one and no registry is in
 * the store, else NETWORK_STORE; registry: the registry's options, or null.
 */
const VIEW_LENGTH = 10;
const MORE_LENGTH = 8;

/** The lists of a view with no `more`: empty, and never changed by their readers. */
const NO_NAMES: string[] = [];

/** The view's array: `unknown` per item, read back by position. */
type CheckView = unknown[];

/** The entry options the warm check reads: what it publishes, and whether a CSRF check may be due. */
export type WarmEntry = Pick<EntryOptions, "expose_data" | "csrf">;

/**
 * What the warm check gets from a view: the settings and the entry options in one object (one object
 * literal fewer on every warm request of the njs engine).
 */
export type LocationView = CheckSettings & WarmEntry;

/** "/2": the array form of loginViewOf, with the PRK ("/1" held the ikm). */
const LOGIN_VIEW_PREFIX = "@login-view/2:";
const LOGIN_VIEW_LENGTH = 8;

/** What the login part reads of a location's settings and entry options (the login view). */
export interface LoginView {
  cookieName: string;
  audience: string;
  cookieAttributes: string;
  /** The current key's PRK (HKDF-Extract of its ikm), base64url. */
  prk: string;
  bindFlags: number;
  compressionThreshold: number;
  backend: string;
  verdictHeader: string;
}

function viewKey(locationText: string, prefix: string): string {
  return prefix + process.pid + ":" + locationText;
}

function viewOf(settings: Settings, entry: EntryOptions): CheckView | null {
  const cacheZone = settings.verifiedCache ? settings.verifiedCache.zone : undefined;
  if (!cacheZone) return null;
  const network = settings.storage !== null && !settings.storage.synchronous;
  const route = network ? viewRoute(settings) : null;
  if (network ? settings.storeRevalidate === 0 && route === null : settings.storageName !== "cookie" && settings.storageName !== "shm") return null;
  // A registry in the store is answered with the record: within the bound, by the mark (not made here).
  const registry = settings.registry && !settings.registry.readChecked ? settings.registry.options : null;
  const storage = network ? route || NETWORK_STORE : settings.storageName === "shm" ? settings.storageOptions || null : false;
  const plain =
    storage === false &&
    registry === null &&
    settings.requestHeaders.length === 0 &&
    settings.responseHeaders.length === 0 &&
    entry.expose_data.length === 0 &&
    !entry.csrf &&
    settings.storeRevalidate === 0 &&
    !settings.hashStorageKey;
  return [
    settings.cookieName,
    settings.audience,
    settings.keyIds.length === 1 ? settings.keyIds[0] : settings.keyIds,
    settings.idlingTimeout,
    settings.rollingTimeout,
    settings.absoluteTimeout,
    settings.touchThreshold,
    settings.rollingRenewal,
    cacheZone === DEFAULT_VERIFIED_CACHE_ZONE ? null : cacheZone,
    plain
      ? null
      : [
          settings.hashStorageKey,
          settings.requestHeaders,
          settings.responseHeaders,
          storage,
          registry,
          entry.expose_data,
          entry.csrf,
          settings.storeRevalidate,
        ],
  ];
}

/**
 * The location's key entry, where the cold check can open a cookie (cold-check.ts: cookie and shm
 * storage, never a network store); null elsewhere. Read back by readLocationKey.
 *
 * Text, not JSON: the key's PRK, base64url (which never holds ";"), then the cookie attributes, which
 * are never empty and each start with "; " (settings.ts), so the first ";" is where they start. The
 * cold and touch parts read it on every request under the njs engine, where JSON.parse costs more
 * than the split (docs/NOTES.md, issue 14, branch njswarm7).
 */
function locationKeyText(platform: Platform, settings: Settings): string | null {
  if (settings.storage !== null && !settings.storage.synchronous) return null;
  return currentKeyPrk(platform, settings) + settings.cookieAttributes;
}

/**
 * The current key's PRK, base64url, as the views hold it. pseudorandomKey's: the full check or login
 * leaving the view has mostly made it for this very request already.
 */
function currentKeyPrk(platform: Platform, settings: Settings): string {
  return encodeBase64Url(pseudorandomKey(platform, settings.ikm).bytes);
}

/**
 * Whether a login with these settings saves as login-save.ts saves (cookie storage, no registry, no
 * remember cookie by default): where the login part has a view, and where the full login seals alone.
 */
export function loginSavesAlone(settings: Settings): boolean {
  return settings.storageName === "cookie" && settings.registry === null && !settings.remember;
}

/** The login view, by position (readLoginView reads it back); null where the login part cannot save. */
function loginViewOf(platform: Platform, settings: Settings, entry: EntryOptions): unknown[] | null {
  if (!loginSavesAlone(settings)) return null;
  return [
    settings.cookieName,
    settings.audience,
    settings.cookieAttributes,
    currentKeyPrk(platform, settings),
    settings.bindFlags,
    settings.compressionThreshold,
    entry.login_backend,
    entry.login_verdict_header,
  ];
}

/** The zone of the views, when it holds none under `key` yet; null: nothing to leave. */
function zoneWithout(platform: Platform, key: string): SharedDict | null {
  if (!platform.sharedDict) return null;
  const dict = platform.sharedDict(DEFAULT_VERIFIED_CACHE_ZONE);
  try {
    return dict && dict.get(key) === undefined ? dict : null;
  } catch (e) {
    return null;
  }
}

function addView(dict: SharedDict, key: string, view: unknown[] | string | null): void {
  if (!view) return;
  try {
    dict.add(key, typeof view === "string" ? view : JSON.stringify(view), dictTimeout(VIEW_SECONDS));
  } catch (e) {
    // A full zone (declared without evict) only means the next request runs the full path too.
  }
}

/**
 * Leaves the view of this location for the warm check of the worker's next requests, unless one is
 * there. Called by the full check and the full login under the njs engine, after they resolved
 * `settings` for `entry`.
 */
export function keepCheckView(platform: Platform, locationText: string | undefined, settings: Settings, entry: EntryOptions): void {
  if (locationText === undefined) return;
  const key = viewKey(locationText, VIEW_PREFIX);
  const dict = zoneWithout(platform, key);
  if (dict) addView(dict, key, viewOf(settings, entry));
  // Looked for on its own: read only by cold and touch requests, it may be evicted before the view,
  // and a cold request without it runs the full check, which then leaves it again.
  const keyKey = viewKey(locationText, KEY_PREFIX);
  const keyDict = zoneWithout(platform, keyKey);
  if (keyDict) addView(keyDict, keyKey, locationKeyText(platform, settings));
}

/** Leaves the login view of this location for the login part; called by the full login under the njs engine. */
export function keepLoginView(platform: Platform, locationText: string | undefined, settings: Settings, entry: EntryOptions): void {
  if (locationText === undefined) return;
  const key = viewKey(locationText, LOGIN_VIEW_PREFIX);
  const dict = zoneWithout(platform, key);
  if (dict) addView(dict, key, loginViewOf(platform, settings, entry));
}

/** The array of `length` items kept under `key` in `dict`; null when none, unreadable or of another form. */
function storedView(dict: SharedDict, key: string, length: number): unknown[] | null {
  let view: unknown;
  try {
    const text = dict.get(key);
    if (typeof text !== "string") return null;
    view = JSON.parse(text);
  } catch (e) {
    return null;
  }
  return Array.isArray(view) && view.length === length ? view : null;
}

/**
 * The key entry the full check left beside the location's view: its key (the current key's PRK,
 * base64url), with its cookie attributes (what a touch re-issues the cookie with: touch-check.ts) set
 * on `view`; null when there is none (then the cold and touch parts answer false, and the full check
 * runs and leaves it again). Set on the view, not returned in an object of two: the cold and touch
 * parts read it on every request under the njs engine (keyed-view.ts). `dict` is the
 * njs_session_cache zone's (the view's reader mostly holds it: keyed-view.ts).
 */
export function readLocationKey(dict: SharedDict | undefined, locationText: string, view: { cookieAttributes?: string }): string | null {
  let text: string | number | undefined;
  try {
    text = dict ? dict.get(viewKey(locationText, KEY_PREFIX)) : undefined;
  } catch (e) {
    return null;
  }
  const attributes = typeof text === "string" ? text.indexOf(";") : -1;
  if (attributes <= 0) return null;
  view.cookieAttributes = (text as string).substring(attributes);
  return (text as string).substring(0, attributes);
}

/** The login view the full login left for this location and worker, or null (then the full login runs). */
export function readLoginView(platform: WarmPlatform, locationText: string): LoginView | null {
  if (!platform.sharedDict) return null;
  const dict = platform.sharedDict(DEFAULT_VERIFIED_CACHE_ZONE);
  if (!dict) return null;
  const view = storedView(dict, viewKey(locationText, LOGIN_VIEW_PREFIX), LOGIN_VIEW_LENGTH);
  if (!view) return null;
  return {
    cookieName: view[0] as string,
    audience: view[1] as string,
    cookieAttributes: view[2] as string,
    prk: view[3] as string,
    bindFlags: view[4] as number,
    compressionThreshold: view[5] as number,
    backend: view[6] as string,
    verdictHeader: view[7] as string,
  };
}

/**
 * The view the full check left for this location and worker, or null (then the full check runs).
 * `sharedDict` is the platform's; `stores` is called only when the view names shm storage, a network
 * store or a registry (warm-stores.ts says why), and brings the platform they are made with, so that
 * a view without them is read without a platform object.
 */
export function readCheckView(sharedDict: NonNullable<WarmPlatform["sharedDict"]>, locationText: string, stores: () => WarmStores): LocationView | null {
  const dict = sharedDict(DEFAULT_VERIFIED_CACHE_ZONE);
  if (!dict) return null;
  const view = storedView(dict, viewKey(locationText, VIEW_PREFIX), VIEW_LENGTH);
  if (!view) return null;
  const otherZone = view[8] as string | null;
  // Mostly the zone the view is in: its dict is at hand.
  const cacheDict = otherZone === null ? dict : sharedDict(otherZone);
  if (!cacheDict) return null;
  const keyIds = view[2] as string | string[];
  const more = view[9] as unknown[] | null;
  if (more !== null && !(Array.isArray(more) && more.length === MORE_LENGTH)) return null;
  const storageItem = more ? (more[3] as StorageOptions | null | false | typeof NETWORK_STORE | unknown[]) : false;
  const route = Array.isArray(storageItem) ? routeOfItem(storageItem) : null;
  if (Array.isArray(storageItem) && route === null) return null;
  const registry = more ? (more[4] as RegistryOptions | null) : null;
  return {
    cookieName: view[0] as string,
    audience: view[1] as string,
    keyIds: typeof keyIds === "string" ? [keyIds] : keyIds,
    idlingTimeout: view[3] as number,
    rollingTimeout: view[4] as number,
    absoluteTimeout: view[5] as number,
    touchThreshold: view[6] as number,
    rollingRenewal: view[7] as number,
    hashStorageKey: more ? (more[0] as boolean) : false,
    requestHeaders: more ? (more[1] as Settings["requestHeaders"]) : NO_NAMES,
    responseHeaders: more ? (more[2] as Settings["responseHeaders"]) : NO_NAMES,
    // The very factories the full configuration uses, so the warm check reads what the full one would.
    storage:
      route !== null
        ? stores().reads().routedStore(route, stores().reads().platform)
        : storageItem === NETWORK_STORE
          ? stores().answeredStore
          : storageItem !== false
            ? stores().createShmStorage((storageItem as StorageOptions | null) || undefined, stores().platform)
            : null,
    registry: registry ? stores().createRegistry(stores().platform, registry) : null,
    verifiedCache: createZoneVerifiedCacheReader(cacheDict, otherZone === null ? DEFAULT_VERIFIED_CACHE_ZONE : otherZone),
    storeRevalidate: more ? (more[7] as number) : 0,
    expose_data: more ? (more[5] as WarmEntry["expose_data"]) : NO_NAMES,
    csrf: more ? (more[6] as WarmEntry["csrf"]) : false,
  };
}
