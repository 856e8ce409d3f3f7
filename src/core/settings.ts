/**
 * Settings: validated options (options.ts) resolved into the camelCase settings the rest of the core
 * reads: keys derived, cookie attributes pre-rendered, the storage, registry and verified cache made.
 */

import { encodeBase64Url } from "./bytes";
import { sha256Bytes } from "./keys";
import { configError } from "./errors";
import { MAX_TTL, REMEMBER_SAFETY_ITERATIONS } from "./format";
import { BIND_FLAGS, Bytes, DEFAULTS, DEFAULT_VERIFIED_CACHE_ZONE, keyBytes, SessionOptions, STORAGE_OPTION_NAMES, StorageOptions, validateOptions } from "./options";
import type { Platform } from "./platform";
import { identityProblem } from "./publishable";
import type { Registry } from "./registry";
import { createRegistry } from "./shm-registry";
import { createStoreRegistry } from "./store-registry";
import { MAX_STORE_REVALIDATE_MS } from "./store-revalidation";
import { retainedGet, retainedSet } from "./retained";
import { lookupZone, MAX_DICT_TIMEOUT_SECONDS } from "./shared-dict";
import type { Storage } from "./storage";
import { createMemoryVerifiedCache, createTieredVerifiedCache, createZoneVerifiedCache, VerifiedCache } from "./verified-cache";
import { StorageFactory, storageFactory } from "../storage/factories";

/** What the core reads: validated, derived (ikm hashed, cookie attributes pre-rendered), immutable. */
export interface Settings {
  ikm: Bytes;
  ikmFallbacks: Bytes[];
  cookieName: string;
  rememberCookieName: string;
  /** "; Path=/; SameSite=Lax; HttpOnly" and so on, appended to every Set-Cookie. */
  cookieAttributes: string;
  remember: boolean;
  rememberSafety: string;
  rememberIterations: number;
  audience: string;
  subject: string | undefined;
  enforceSameSubject: boolean;
  staleTtl: number;
  idlingTimeout: number;
  rollingTimeout: number;
  absoluteTimeout: number;
  rememberRollingTimeout: number;
  rememberAbsoluteTimeout: number;
  hashStorageKey: boolean;
  hashSubject: boolean;
  storeMetadata: boolean;
  touchThreshold: number;
  /** Seconds after its last roll at which refresh() re-saves a session: 3/4 of rolling_timeout (0: never). */
  rollingRenewal: number;
  compressionThreshold: number;
  bindFlags: number;
  requestHeaders: string[];
  responseHeaders: string[];
  storage: Storage | null;
  /** The `storage` option's name ("cookie", "shm", ...), or "custom" for a storage object. */
  storageName: string;
  /** The raw options of the chosen storage (e.g. `shm = { zone = "sessions" }`). */
  storageOptions: StorageOptions | undefined;
  /** The session registry and revocation list, when a zone holds them; null otherwise. */
  registry: Registry | null;
  /** Ids of `ikm` and then of each fallback, in that order: what a verified-cache entry names its key by. */
  keyIds: string[];
  /** Fully verified sessions by cookie value (verified-cache.ts); null when off or not possible here. */
  verifiedCache: VerifiedCache | null;
  /** store_revalidate (ms): how long a node may answer a session from what the store last told it; 0: never. */
  storeRevalidate: number;
}

function fail(message: string): never {
  throw configError(message);
}

/**
 * Storages made from a name, kept per platform, name and options (retained.ts): settings are resolved
 * again for every call with per-request overrides, and a storage may hold connections or state worth
 * keeping. Bounded: per-request overrides could otherwise make one per distinct options table.
 */
function namedStorage(name: string, options: StorageOptions | undefined, platform: Platform): Storage {
  const key = name + "\n" + JSON.stringify(options === undefined ? null : options);
  const known = retainedGet<Storage>("storages", key, platform);
  return known || retainedSet("storages", 64, key, platform, (storageFactory(name) as StorageFactory)(options, platform));
}

function verifiedCacheFor(options: SessionOptions, platform: Platform): VerifiedCache | null {
  const entries = pick(options.verified_cache_entries, DEFAULTS.verified_cache_entries);
  if (entries === 0) return null;
  const zoneOption = options.verified_cache_zone;
  let zone: VerifiedCache | null = null;
  if (typeof zoneOption === "string") {
    zone = createZoneVerifiedCache(lookupZone(platform, zoneOption, "verified_cache_zone"), zoneOption);
  } else if (zoneOption === undefined || zoneOption === null) {
    const declared = platform.sharedDict ? platform.sharedDict(DEFAULT_VERIFIED_CACHE_ZONE) : undefined;
    if (declared) zone = createZoneVerifiedCache(declared, DEFAULT_VERIFIED_CACHE_ZONE);
  }
  if (!platform.keepsModuleState) return zone;
  const memory = memoryCache(platform, entries, pick(options.verified_cache_bytes, DEFAULTS.verified_cache_bytes));
  return zone ? createTieredVerifiedCache(memory, zone) : memory;
}

/**
 * The in-memory verified caches, one per platform and bounds (retained.ts): settings resolved for
 * different locations share it (an entry names the key and bind it was verified with, so sharing is safe).
 */
function memoryCache(platform: Platform, entries: number, bytes: number): VerifiedCache {
  const key = entries + ":" + bytes;
  const known = retainedGet<VerifiedCache>("memory-verified-caches", key, platform);
  return known || retainedSet("memory-verified-caches", 8, key, platform, createMemoryVerifiedCache(entries, bytes));
}

/** A key's id for the verified cache: a prefix of its SHA-256 (keys are random; this reveals nothing). */
function keyId(platform: Platform, key: Bytes): string {
  return encodeBase64Url(platform.sha256(key).subarray(0, 12));
}

function pick<T>(value: T | null | undefined, fallback: T): T {
  return value === undefined || value === null ? fallback : value;
}

/** Turns merged options into Settings; throws ConfigError for anything inconsistent. */
export function resolveSettings(options: SessionOptions, platform: Platform): Settings {
  validateOptions(options);

  let ikm: Bytes;
  if (options.ikm !== undefined && options.ikm !== null) ikm = keyBytes(options.ikm);
  else if (typeof options.secret === "string") {
    if (options.secret === "") fail("secret must not be empty");
    ikm = sha256Bytes(platform, options.secret);
  } else {
    // lua-resty-session falls back to a random key per process; inside nginx that would differ per
    // worker (and per request in the njs engine), silently breaking every session. Refuse instead.
    return fail("secret or ikm is required");
  }
  let ikmFallbacks: Bytes[] = [];
  if (options.ikm_fallbacks) ikmFallbacks = options.ikm_fallbacks.map(keyBytes);
  else if (options.secret_fallbacks) {
    ikmFallbacks = options.secret_fallbacks.map(function (secret) {
      return sha256Bytes(platform, secret);
    });
  }

  const prefix = options.cookie_prefix || "";
  let cookieName = pick(options.cookie_name, DEFAULTS.cookie_name);
  let rememberCookieName = pick(options.remember_cookie_name, DEFAULTS.remember_cookie_name);
  let path = pick(options.cookie_path, DEFAULTS.cookie_path);
  let domain = options.cookie_domain || undefined;
  const sameSite = pick(options.cookie_same_site, DEFAULTS.cookie_same_site);
  let secure = options.cookie_secure;

  if (cookieName === rememberCookieName) fail("cookie_name and remember_cookie_name must differ");
  if (prefix === "__Host-") {
    // Browsers drop __Host- cookies that are not Secure, have a Domain or a Path other than "/".
    if (secure === false) fail("the __Host- prefix requires cookie_secure");
    if (domain) fail("the __Host- prefix forbids cookie_domain");
    if (options.cookie_path !== undefined && options.cookie_path !== null && options.cookie_path !== "/") {
      fail('the __Host- prefix requires cookie_path "/"');
    }
    path = "/";
    secure = true;
  } else if (prefix === "__Secure-") {
    if (secure === false) fail("the __Secure- prefix requires cookie_secure");
    secure = true;
  } else if (sameSite === "None") {
    if (secure === false) fail("cookie_same_site None requires cookie_secure");
    secure = true;
  }
  if (options.cookie_same_party) {
    if (sameSite === "Strict") fail("SameParty session cookies cannot use SameSite=Strict");
    if (secure === false) fail("cookie_same_party requires cookie_secure");
    secure = true;
  }
  if (options.cookie_partitioned && secure === false) fail("cookie_partitioned requires cookie_secure");
  cookieName = prefix + cookieName;
  rememberCookieName = prefix + rememberCookieName;

  let attributes = "";
  if (domain && domain !== "localhost") attributes += "; Domain=" + domain;
  attributes += "; Path=" + path + "; SameSite=" + sameSite;
  if (options.cookie_priority) attributes += "; Priority=" + options.cookie_priority;
  if (options.cookie_same_party) attributes += "; SameParty";
  if (options.cookie_partitioned) attributes += "; Partitioned";
  if (secure) attributes += "; Secure";
  if (pick(options.cookie_http_only, DEFAULTS.cookie_http_only)) attributes += "; HttpOnly";

  let bindFlags = 0;
  const bind = options.bind || [];
  for (let i = 0; i < bind.length; i++) bindFlags |= BIND_FLAGS[bind[i]];

  const rememberSafety = pick(options.remember_safety, DEFAULTS.remember_safety);

  let storage: Storage | null = null;
  let storageOptions: StorageOptions | undefined;
  const storageOption = options.storage;
  if (typeof storageOption === "string" && storageOption !== "cookie") {
    const factory = storageFactory(storageOption);
    storageOptions = (options as { [name: string]: unknown })[storageOption] as StorageOptions | undefined;
    if (!factory) {
      if (STORAGE_OPTION_NAMES.indexOf(storageOption) >= 0) fail('storage "' + storageOption + '" is not available in this build');
      fail('unknown storage "' + storageOption + '"');
    }
    storage = namedStorage(storageOption, storageOptions, platform);
  } else if (storageOption && typeof storageOption === "object") {
    storage = storageOption;
  }
  const hashStorageKey = pick(options.hash_storage_key, DEFAULTS.hash_storage_key);
  if (storage && storage.keysLoggedBy !== undefined && !hashStorageKey) {
    fail(storage.keysLoggedBy + " needs hash_storage_key: true (nginx logs the storage keys it reads, and without hashing a key holds the session id)");
  }

  const hashSubject = pick(options.hash_subject, DEFAULTS.hash_subject);
  const storeMetadata = pick(options.store_metadata, DEFAULTS.store_metadata);
  const absoluteTimeout = pick(options.absolute_timeout, DEFAULTS.absolute_timeout);
  const rememberAbsoluteTimeout = pick(options.remember_absolute_timeout, DEFAULTS.remember_absolute_timeout);
  let registryZone = options.registry_zone;
  if (registryZone === "") fail("registry_zone must name a js_shared_dict_zone");
  // A storage every node shares holds the registry itself (store_metadata turns it on, as with shm):
  // a zone would be one node's, and a revocation made on another node would not hold here.
  const inStore = !!(storage && storage.registryStore);
  if (inStore && registryZone) {
    fail("registry_zone with " + storageOption + " storage: the session registry lives in the store, shared by every node; drop registry_zone and set store_metadata");
  }
  if (!registryZone && storeMetadata && storageOption === "shm") {
    const shmZone = storageOptions && storageOptions.zone;
    registryZone = typeof shmZone === "string" && shmZone ? shmZone : "sessions";
  }
  // A revocation must outlive every session it names, and a shared dict key lives ~49.7 days at most.
  const maxLifetime = Math.max(absoluteTimeout || MAX_TTL, rememberAbsoluteTimeout || MAX_TTL);
  if (registryZone && maxLifetime > MAX_DICT_TIMEOUT_SECONDS) {
    fail(
      "a session registry needs absolute_timeout and remember_absolute_timeout set, at most " +
        MAX_DICT_TIMEOUT_SECONDS + " s (a js_shared_dict_zone key lives ~49.7 days at most, and a revocation must outlive its sessions)",
    );
  }
  // Published as they are in $session_audience, Session-Audience and the like (publishable.ts).
  const audience = pick(options.audience, DEFAULTS.audience);
  const audienceProblem = identityProblem(audience);
  if (audienceProblem !== null) fail("audience " + audienceProblem);
  const subject = options.subject === null ? undefined : options.subject;
  const subjectProblem = subject === undefined ? null : identityProblem(subject);
  if (subjectProblem !== null) fail("subject " + subjectProblem);

  const verifiedCache = verifiedCacheFor(options, platform);
  const storeRevalidate = pick(options.store_revalidate, DEFAULTS.store_revalidate);
  if (storeRevalidate > 0) {
    // Loud: an operator who asked for bounded staleness must not silently get either extreme.
    if (storageOption !== "redis" && storageOption !== "memcached") fail("store_revalidate needs redis or memcached storage (other storages are read on every request anyway)");
    if (storeRevalidate > MAX_STORE_REVALIDATE_MS) fail("store_revalidate must be at most " + MAX_STORE_REVALIDATE_MS + " ms (it is how long a logout or revocation may go unseen)");
    if (!verifiedCache) fail("store_revalidate answers from the verified-session cache: declare njs_session_cache (njs-session.conf) or keep verified_cache_entries above 0");
  }
  let registry: Registry | null = null;
  if (registryZone) {
    registry = createRegistry(platform, { zone: registryZone, hashSubject: hashSubject, maxLifetime: maxLifetime });
  } else if (storage && storage.registryStore && storeMetadata) {
    registry = createStoreRegistry(platform, storage.registryStore(cookieName, rememberCookieName), { zone: "", hashSubject: hashSubject, maxLifetime: maxLifetime });
  }

  return {
    ikm: ikm,
    ikmFallbacks: ikmFallbacks,
    cookieName: cookieName,
    rememberCookieName: rememberCookieName,
    cookieAttributes: attributes,
    remember: pick(options.remember, DEFAULTS.remember),
    rememberSafety: rememberSafety,
    rememberIterations: REMEMBER_SAFETY_ITERATIONS[rememberSafety],
    audience: audience,
    subject: subject,
    enforceSameSubject: pick(options.enforce_same_subject, DEFAULTS.enforce_same_subject),
    staleTtl: pick(options.stale_ttl, DEFAULTS.stale_ttl),
    idlingTimeout: pick(options.idling_timeout, DEFAULTS.idling_timeout),
    rollingTimeout: pick(options.rolling_timeout, DEFAULTS.rolling_timeout),
    absoluteTimeout: absoluteTimeout,
    rememberRollingTimeout: pick(options.remember_rolling_timeout, DEFAULTS.remember_rolling_timeout),
    rememberAbsoluteTimeout: rememberAbsoluteTimeout,
    hashStorageKey: hashStorageKey,
    hashSubject: hashSubject,
    storeMetadata: storeMetadata,
    touchThreshold: pick(options.touch_threshold, DEFAULTS.touch_threshold),
    rollingRenewal: Math.ceil(pick(options.rolling_timeout, DEFAULTS.rolling_timeout) * 0.75),
    compressionThreshold: pick(options.compression_threshold, DEFAULTS.compression_threshold),
    bindFlags: bindFlags,
    requestHeaders: options.request_headers || [],
    responseHeaders: options.response_headers || [],
    storage: storage,
    storageName: typeof storageOption === "string" ? storageOption : storageOption ? "custom" : "cookie",
    storageOptions: storageOptions,
    registry: registry,
    keyIds: [ikm].concat(ikmFallbacks).map(function (key) {
      return keyId(platform, key);
    }),
    verifiedCache: verifiedCache,
    storeRevalidate: storeRevalidate,
  };
}
