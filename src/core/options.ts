/**
 * The options of resty.session under their own snake_case names (so a Lua `init{}` table ports by
 * syntax only): their schema, their defaults and their validation. Unknown options are errors, never
 * silently ignored. settings.ts resolves validated options into the settings the core reads.
 */

import { utf8Encode } from "./bytes";
import { configError } from "./errors";
import { FLAG_BIND_IP, FLAG_BIND_SCHEME, FLAG_BIND_USER_AGENT, KEY_SIZE, REMEMBER_SAFETY_ITERATIONS } from "./format";
import type { Storage } from "./storage";
import { matchesWhole } from "./whole-text";

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
  /**
   * njs-session extension: the clock, in whole unix seconds (default: the real one), so that tests and
   * tools open, save and refresh a session "as of" a given time (sources.ts).
   */
  now?: () => number;
  /** njs-session extension: the random source, `size` bytes per call (default: the platform's CSPRNG). */
  random?: (size: number) => Uint8Array;
  /**
   * njs-session extension, redis and memcached only: milliseconds within which a node may answer a
   * session it verified and asked the store about from its verified cache, without asking again
   * (store-revalidation.ts). 0 (the default): every request asks the store.
   */
  store_revalidate?: number;
}

export type StorageOptions = { [name: string]: unknown };

/** headerNames()'s table, made on first use. */
let headerTable: { [property: string]: string } | null = null;

/**
 * Property names usable in request_headers / response_headers, mapped to the header they set. Made on
 * first use, not at load: the njs engine builds the module's parts on every request, and most
 * locations name no such header.
 */
export function headerNames(): { [property: string]: string } {
  if (headerTable) return headerTable;
  headerTable = {
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
  return headerTable;
}
export type HeaderProperty = string;

export const BIND_FLAGS: { [name: string]: number } = {
  ip: FLAG_BIND_IP,
  scheme: FLAG_BIND_SCHEME,
  user_agent: FLAG_BIND_USER_AGENT,
  "user-agent": FLAG_BIND_USER_AGENT,
};

/** Storage names the peer knows; storages this build does not ship are refused at configuration time. */
export const STORAGE_OPTION_NAMES = ["dshm", "file", "memcached", "mysql", "postgres", "redis", "shm"];

export const DEFAULTS = {
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
  store_revalidate: 0,
};

/** The verified cache's zone when none is named: njs-session.conf declares it. */
export const DEFAULT_VERIFIED_CACHE_ZONE = "njs_session_cache";

type OptionKind = "string" | "boolean" | "count" | "strings" | "keys" | "key" | "object" | "storage" | "list" | "zone" | "function";

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
  now: "function",
  random: "function",
  store_revalidate: "count",
};

/** Every option name init()/new()/open() take (README's options table is checked against it). */
export function optionNames(): string[] {
  return Object.keys(OPTION_KINDS);
}

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
    case "function":
      if (typeof value !== "function") fail(name + " must be a function");
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

/** Key material as bytes: a string is its UTF-8. */
export function keyBytes(value: KeyMaterial): Bytes {
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
    for (let i = 0; i < list.length; i++) oneOf(headerLists[l][0], list[i], Object.keys(headerNames()));
  }
  const names: Array<[string, string | undefined]> = [
    ["cookie_name", options.cookie_name],
    ["remember_cookie_name", options.remember_cookie_name],
  ];
  for (let i = 0; i < names.length; i++) {
    const value = names[i][1];
    // An RFC 6265 token: anything else would break the Set-Cookie line or the Cookie header parse.
    if (value !== undefined && value !== null && !matchesWhole(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, value)) {
      fail(names[i][0] + " must be a cookie token (letters, digits and !#$%&'*+-.^_`|~)");
    }
  }
  if (options.cookie_path !== undefined && options.cookie_path !== null && !matchesWhole(/^\/[^;\x00-\x1f\x7f]*$/, options.cookie_path)) {
    fail("cookie_path must start with / and contain no ; or control characters");
  }
  if (options.cookie_domain && !matchesWhole(/^[A-Za-z0-9.\-]+$/, options.cookie_domain)) {
    fail("cookie_domain must be a host name");
  }
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
