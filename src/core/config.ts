/**
 * Configuration: the options of resty.session under their own snake_case names (so a Lua `init{}` table
 * ports by syntax only), their defaults, their validation, and their resolution into the camelCase
 * settings the rest of the core reads. Unknown options are errors, never silently ignored.
 */

import { identityProblem } from "./publishable";
import { sha256Bytes } from "./keys";
import { encodeBase64Url, utf8Encode } from "./bytes";
import {
  MAX_TTL,
  FLAG_BIND_IP,
  FLAG_BIND_SCHEME,
  FLAG_BIND_USER_AGENT,
  KEY_SIZE,
  REMEMBER_SAFETY_ITERATIONS,
} from "./format";
import { configError, isConfigError } from "./errors";
import { retainedGet, retainedSet } from "./retained";
import type { Platform } from "./platform";
import { createRegistry, Registry } from "./registry";
import { lookupZone, MAX_DICT_TIMEOUT_SECONDS } from "./shared-dict";
import type { Storage } from "./storage";
import { createMemoryVerifiedCache, createTieredVerifiedCache, createZoneVerifiedCache, VerifiedCache } from "./verified-cache";

export type Bytes = Uint8Array;
export type KeyMaterial = string | Uint8Array;

/** The options table exactly as lua-resty-session 4.x documents it. */
export interface SessionOptions {
  secret?: string;
  secret_fallbacks?: string[];
  ikm?: KeyMaterial;
  ikm_fallbacks?: KeyMaterial[];
  cookie_prefix?: "__Host-" | "__Secure-" | null;
  cookie_name?: string;
  cookie_path?: string;
  cookie_domain?: string | null;
  cookie_http_only?: boolean;
  cookie_secure?: boolean | null;
  cookie_priority?: "Low" | "Medium" | "High" | null;
  cookie_same_site?: "Lax" | "Strict" | "None" | "Default" | null;
  cookie_same_party?: boolean | null;
  cookie_partitioned?: boolean | null;
  remember?: boolean;
  remember_safety?: "None" | "Low" | "Medium" | "High" | "Very High";
  remember_cookie_name?: string;
  audience?: string;
  subject?: string | null;
  enforce_same_subject?: boolean;
  stale_ttl?: number;
  idling_timeout?: number;
  rolling_timeout?: number;
  absolute_timeout?: number;
  remember_rolling_timeout?: number;
  remember_absolute_timeout?: number;
  hash_storage_key?: boolean;
  hash_subject?: boolean;
  store_metadata?: boolean;
  touch_threshold?: number;
  compression_threshold?: number;
  bind?: Array<"ip" | "scheme" | "user_agent" | "user-agent">;
  request_headers?: HeaderProperty[];
  response_headers?: HeaderProperty[];
  storage?: string | Storage | null | false;
  dshm?: StorageOptions;
  file?: StorageOptions;
  memcached?: StorageOptions;
  mysql?: StorageOptions;
  postgres?: StorageOptions;
  redis?: StorageOptions;
  shm?: StorageOptions;
  /**
   * njs-session extension: the js_shared_dict_zone holding the session registry and the revocation
   * list (see registry.ts). Defaults to the shm storage's zone when store_metadata is on.
   */
  registry_zone?: string;
  /**
   * njs-session extension, the verified-session cache (verified-cache.ts): a js_shared_dict_zone for it
   * (false: none). Default: the zone "njs_session_cache" when nginx.conf declares it (njs-session.conf
   * does), else worker memory where module state outlives a request.
   */
  verified_cache_zone?: string | false;
  /** Entries the in-memory verified cache may hold (0 turns both caches off). */
  verified_cache_entries?: number;
  /** Bytes the in-memory verified cache may use, roughly. */
  verified_cache_bytes?: number;
}

export type StorageOptions = { [name: string]: unknown };

/** Property names usable in request_headers / response_headers, mapped to the header they set. */
export const HEADER_NAMES: { [property: string]: string } = {
  id: "Session-Id",
  audience: "Session-Audience",
  subject: "Session-Subject",
  timeout: "Session-Timeout",
  idling_timeout: "Session-Idling-Timeout",
  "idling-timeout": "Session-Idling-Timeout",
  rolling_timeout: "Session-Rolling-Timeout",
  "rolling-timeout": "Session-Rolling-Timeout",
  absolute_timeout: "Session-Absolute-Timeout",
  "absolute-timeout": "Session-Absolute-Timeout",
};
export type HeaderProperty = string;

const BIND_FLAGS: { [name: string]: number } = {
  ip: FLAG_BIND_IP,
  scheme: FLAG_BIND_SCHEME,
  user_agent: FLAG_BIND_USER_AGENT,
  "user-agent": FLAG_BIND_USER_AGENT,
};

/** Storage names the peer knows; storages this build does not ship are refused at configuration time. */
const STORAGE_OPTION_NAMES = ["dshm", "file", "memcached", "mysql", "postgres", "redis", "shm"];

const DEFAULTS = {
  cookie_name: "session",
  cookie_path: "/",
  cookie_http_only: true,
  cookie_same_site: "Lax",
  remember: false,
  remember_safety: "Medium",
  remember_cookie_name: "remember",
  audience: "default",
  enforce_same_subject: false,
  stale_ttl: 10,
  idling_timeout: 900,
  rolling_timeout: 3600,
  absolute_timeout: 86400,
  remember_rolling_timeout: 604800,
  remember_absolute_timeout: 2592000,
  hash_storage_key: false,
  hash_subject: false,
  store_metadata: false,
  touch_threshold: 60,
  compression_threshold: 1024,
  // Per QuickJS context (nginx keeps up to js_context_reuse = 128 of them per worker, one per
  // concurrent request), hence small: the shared zone behind it holds the rest.
  verified_cache_entries: 256,
  verified_cache_bytes: 262144,
};

/** The verified cache's zone when none is named: njs-session.conf declares it. */
export const DEFAULT_VERIFIED_CACHE_ZONE = "njs_session_cache";

type OptionKind = "string" | "boolean" | "count" | "strings" | "keys" | "key" | "object" | "storage" | "list" | "zone";

const OPTION_KINDS: { [name: string]: OptionKind } = {
  secret: "string",
  secret_fallbacks: "strings",
  ikm: "key",
  ikm_fallbacks: "keys",
  cookie_prefix: "string",
  cookie_name: "string",
  cookie_path: "string",
  cookie_domain: "string",
  cookie_http_only: "boolean",
  cookie_secure: "boolean",
  cookie_priority: "string",
  cookie_same_site: "string",
  cookie_same_party: "boolean",
  cookie_partitioned: "boolean",
  remember: "boolean",
  remember_safety: "string",
  remember_cookie_name: "string",
  audience: "string",
  subject: "string",
  enforce_same_subject: "boolean",
  stale_ttl: "count",
  idling_timeout: "count",
  rolling_timeout: "count",
  absolute_timeout: "count",
  remember_rolling_timeout: "count",
  remember_absolute_timeout: "count",
  hash_storage_key: "boolean",
  hash_subject: "boolean",
  store_metadata: "boolean",
  touch_threshold: "count",
  compression_threshold: "count",
  bind: "list",
  request_headers: "list",
  response_headers: "list",
  storage: "storage",
  dshm: "object",
  file: "object",
  memcached: "object",
  mysql: "object",
  postgres: "object",
  redis: "object",
  shm: "object",
  registry_zone: "string",
  verified_cache_zone: "zone",
  verified_cache_entries: "count",
  verified_cache_bytes: "count",
};

/** Every option name init()/new()/open() take (README's options table is checked against it). */
export function optionNames(): string[] {
  return Object.keys(OPTION_KINDS);
}

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
}

export { isConfigError };

function fail(message: string): never {
  throw configError(message);
}

/** Checks one options table on its own: names, types and value sets. */
export function validateOptions(options: unknown): SessionOptions {
  if (options === undefined || options === null) return {};
  if (typeof options !== "object" || Array.isArray(options)) fail("options must be an object");
  const table = options as { [name: string]: unknown };
  const names = Object.keys(table);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const kind = OPTION_KINDS[name];
    if (!kind) fail('unknown option "' + name + '"');
    const value = table[name];
    if (value === undefined || value === null) continue;
    checkKind(name, kind, value);
  }
  checkValueSets(table as SessionOptions);
  return table as SessionOptions;
}

function checkKind(name: string, kind: OptionKind, value: unknown): void {
  switch (kind) {
    case "string":
      if (typeof value !== "string") fail(name + " must be a string");
      return;
    case "boolean":
      if (typeof value !== "boolean") fail(name + " must be true or false");
      return;
    case "count":
      if (typeof value !== "number" || !isFinite(value) || Math.floor(value) !== value || value < 0) {
        fail(name + " must be a non-negative whole number");
      }
      return;
    case "strings":
    case "list":
      if (!Array.isArray(value)) fail(name + " must be an array");
      for (let i = 0; i < (value as unknown[]).length; i++) {
        if (typeof (value as unknown[])[i] !== "string") fail(name + " must be an array of strings");
      }
      return;
    case "key":
      checkKey(name, value);
      return;
    case "keys":
      if (!Array.isArray(value)) fail(name + " must be an array");
      for (let i = 0; i < (value as unknown[]).length; i++) checkKey(name + "[" + (i + 1) + "]", (value as unknown[])[i]);
      return;
    case "object":
      if (typeof value !== "object" || Array.isArray(value)) fail(name + " must be an object");
      return;
    case "zone":
      if (value !== false && (typeof value !== "string" || value === "")) fail(name + " must name a js_shared_dict_zone, or be false");
      return;
    case "storage":
      if (value === false || typeof value === "string") return;
      if (typeof value !== "object") fail("storage must be a name or an object implementing the storage interface");
      {
        const storage = value as { [verb: string]: unknown };
        const verbs = ["set", "get", "delete"];
        for (let i = 0; i < verbs.length; i++) {
          if (typeof storage[verbs[i]] !== "function") fail("custom storage lacks the " + verbs[i] + "() method");
        }
      }
      return;
  }
}

function keyBytes(value: KeyMaterial): Bytes {
  return typeof value === "string" ? utf8Encode(value) : value;
}

function checkKey(name: string, value: unknown): void {
  if (typeof value !== "string" && !(value instanceof Uint8Array)) fail(name + " must be a string or bytes");
  if (keyBytes(value as KeyMaterial).length !== KEY_SIZE) fail(name + " must be exactly " + KEY_SIZE + " bytes");
}

function oneOf(name: string, value: unknown, allowed: string[]): void {
  if (value === undefined || value === null) return;
  if (allowed.indexOf(value as string) < 0) fail(name + ' must be one of "' + allowed.join('", "') + '"');
}

function checkValueSets(options: SessionOptions): void {
  oneOf("cookie_prefix", options.cookie_prefix, ["__Host-", "__Secure-"]);
  oneOf("cookie_priority", options.cookie_priority, ["Low", "Medium", "High"]);
  oneOf("cookie_same_site", options.cookie_same_site, ["Lax", "Strict", "None", "Default"]);
  oneOf("remember_safety", options.remember_safety, Object.keys(REMEMBER_SAFETY_ITERATIONS));
  const bind = options.bind || [];
  for (let i = 0; i < bind.length; i++) oneOf("bind", bind[i], Object.keys(BIND_FLAGS));
  const headerLists: Array<[string, string[] | undefined]> = [
    ["request_headers", options.request_headers],
    ["response_headers", options.response_headers],
  ];
  for (let l = 0; l < headerLists.length; l++) {
    const list = headerLists[l][1] || [];
    for (let i = 0; i < list.length; i++) oneOf(headerLists[l][0], list[i], Object.keys(HEADER_NAMES));
  }
  const names: Array<[string, string | undefined]> = [
    ["cookie_name", options.cookie_name],
    ["remember_cookie_name", options.remember_cookie_name],
  ];
  for (let i = 0; i < names.length; i++) {
    const value = names[i][1];
    // An RFC 6265 token: anything else would break the Set-Cookie line or the Cookie header parse.
    if (value !== undefined && value !== null && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value)) {
      fail(names[i][0] + " must be a cookie token (letters, digits and !#$%&'*+-.^_`|~)");
    }
  }
  if (options.cookie_path !== undefined && options.cookie_path !== null && !/^\/[^;\x00-\x1f\x7f]*$/.test(options.cookie_path)) {
    fail("cookie_path must start with / and contain no ; or control characters");
  }
  if (options.cookie_domain && !/^[A-Za-z0-9.\-]+$/.test(options.cookie_domain)) {
    fail("cookie_domain must be a host name");
  }
}

/** The storage registry: storage modules register a factory by name (shm, file, redis, ...). */
export type StorageFactory = (options: StorageOptions | undefined, platform: Platform) => Storage;
const STORAGE_FACTORIES: { [name: string]: StorageFactory } = {};

export function registerStorage(name: string, factory: StorageFactory): void {
  STORAGE_FACTORIES[name] = factory;
}

/**
 * Storages made from a name, kept per platform, name and options (retained.ts): settings are resolved
 * again for every call with per-request overrides, and a storage may hold connections or state worth
 * keeping. Bounded: per-request overrides could otherwise make one per distinct options table.
 */
function namedStorage(name: string, options: StorageOptions | undefined, platform: Platform): Storage {
  const key = name + "\n" + JSON.stringify(options === undefined ? null : options);
  const known = retainedGet<Storage>("storages", key, platform);
  return known || retainedSet("storages", 64, key, platform, STORAGE_FACTORIES[name](options, platform));
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

/**
 * Merges option layers (library defaults < init() < new()/open() overrides) the way resty.session does:
 * at each layer `ikm` wins over `secret`, and a layer's `secret` replaces an `ikm` inherited from below.
 */
export function mergeOptions(base: SessionOptions, override: SessionOptions): SessionOptions {
  const merged: { [name: string]: unknown } = {};
  const baseTable = base as { [name: string]: unknown };
  const overrideTable = override as { [name: string]: unknown };
  let names = Object.keys(baseTable);
  for (let i = 0; i < names.length; i++) merged[names[i]] = baseTable[names[i]];
  names = Object.keys(overrideTable);
  for (let i = 0; i < names.length; i++) {
    if (overrideTable[names[i]] !== undefined) merged[names[i]] = overrideTable[names[i]];
  }
  if (override.secret !== undefined && override.ikm === undefined) delete merged.ikm;
  if (override.secret_fallbacks !== undefined && override.ikm_fallbacks === undefined) delete merged.ikm_fallbacks;
  return merged as SessionOptions;
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
    const factory = STORAGE_FACTORIES[storageOption];
    storageOptions = (options as { [name: string]: unknown })[storageOption] as StorageOptions | undefined;
    if (!factory) {
      if (STORAGE_OPTION_NAMES.indexOf(storageOption) >= 0) fail('storage "' + storageOption + '" is not available in this build');
      fail('unknown storage "' + storageOption + '"');
    }
    storage = namedStorage(storageOption, storageOptions, platform);
  } else if (storageOption && typeof storageOption === "object") {
    storage = storageOption;
  }

  const hashSubject = pick(options.hash_subject, DEFAULTS.hash_subject);
  const storeMetadata = pick(options.store_metadata, DEFAULTS.store_metadata);
  const absoluteTimeout = pick(options.absolute_timeout, DEFAULTS.absolute_timeout);
  const rememberAbsoluteTimeout = pick(options.remember_absolute_timeout, DEFAULTS.remember_absolute_timeout);
  let registryZone = options.registry_zone;
  if (registryZone === "") fail("registry_zone must name a js_shared_dict_zone");
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

  const registry = registryZone
    ? createRegistry(platform, {
        zone: registryZone,
        hashSubject: hashSubject,
        maxLifetime: maxLifetime,
      })
    : null;

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
    hashStorageKey: pick(options.hash_storage_key, DEFAULTS.hash_storage_key),
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
    verifiedCache: verifiedCacheFor(options, platform),
  };
}
