/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * Configuration of the ready-made entry points, without code:
 *
 *   - global options: a JSON file named by the environment variable NJS_SESSION_CONFIG (declare it
 *     with `env NJS_SESSION_CONFIG=/etc/nginx/session.json;`), read once when the module loads, or a
 *     user module calling `session.init({...})`;
 *   - secrets never inline in nginx.conf: in the JSON file a secret may be `{"env": "NAME"}` (needs
 *     `env NAME;`) or `{"file": "/run/secrets/session"}`;
 *   - per-location overrides through nginx variables `$session_config_<name>` (`set` or `js_var`),
 *     read by one typed getter.
 *
 * The JSON file holds resty.session options at the top level and the entry points' own options under
 * "nginx".
 */

import fs from "fs";
import { decodeBase64Url } from "../core/bytes";
import { configError } from "../core/errors";
import type { SessionOptions } from "../core/options";
import { matchesWhole } from "../core/whole-text";

/** What the entry points do beyond resty.session's options. */
export interface EntryOptions {
  /** Browsers without a session are redirected here (GET/HEAD only), with the original URL. */
  login_url: string | null;
  /** Query parameter carrying the original URL to the login page. */
  return_to_parameter: string;
  /** Status for requests without a session when no redirect applies: 401 or 403. */
  unauthorized_status: number;
  /** Status when the session store (Redis, memcached) cannot answer: 503 (default), 401 or 403. */
  store_unavailable_status: number;
  /** Data keys published as $session_data_<key> (js_access) / X-Session-Data-<key> (auth_request). */
  expose_data: string[];
  /** Remove the session cookies from the request sent upstream ($session_upstream_cookie). */
  clear_request_cookie: boolean;
  /** Where the logout handler sends the browser afterwards (a local path); none: 204. */
  logout_redirect: string | null;
  /** Logout destroys the whole session instead of leaving only the current audience. */
  logout_destroy: boolean;
  /** The internal location the login handler asks (subrequest) to check credentials. */
  login_backend: string;
  /** Response header of the login backend carrying the verdict: JSON {subject, data?, remember?}. */
  login_verdict_header: string;
  /** Bearer token the admin API requires (from {"env"} or {"file"}); none: only the location's own checks. */
  admin_token: string | null;
  /** The access check refuses unsafe methods (not GET, HEAD, OPTIONS, TRACE) without the session's CSRF token. */
  csrf: boolean;
  /** Request header carrying the CSRF token (fetch/XHR; the only source behind auth_request). */
  csrf_header: string;
  /** Form field carrying the CSRF token (urlencoded or multipart bodies, js_access and logout). */
  csrf_field: string;
  /** With csrf (and on logout): refuse Sec-Fetch-Site: cross-site and an Origin other than the Host. */
  csrf_origin_check: boolean;
  /** Logout by any method and without a token: any page can then log a user out (<img src=/logout>). */
  logout_get: boolean;
}

export const ENTRY_DEFAULTS: EntryOptions = {
  login_url: null,
  return_to_parameter: "return_to",
  unauthorized_status: 401,
  store_unavailable_status: 503,
  expose_data: [],
  clear_request_cookie: false,
  logout_redirect: null,
  logout_destroy: false,
  login_backend: "/_session_login_backend",
  login_verdict_header: "X-Session-Login",
  admin_token: null,
  csrf: false,
  csrf_header: "X-CSRF-Token",
  csrf_field: "csrf_token",
  csrf_origin_check: true,
  logout_get: false,
};

type Kind = "string" | "number" | "boolean" | "list" | "status";

/** Every per-location override: `$session_config_<name>`, its type, and whether it is an entry option. */
const LOCATION_SETTINGS: { [name: string]: { kind: Kind; entry: boolean } } = {
  audience: { kind: "string", entry: false },
  idling_timeout: { kind: "number", entry: false },
  rolling_timeout: { kind: "number", entry: false },
  absolute_timeout: { kind: "number", entry: false },
  remember: { kind: "boolean", entry: false },
  request_headers: { kind: "list", entry: false },
  response_headers: { kind: "list", entry: false },
  login_url: { kind: "string", entry: true },
  unauthorized_status: { kind: "status", entry: true },
  expose_data: { kind: "list", entry: true },
  clear_request_cookie: { kind: "boolean", entry: true },
  logout_redirect: { kind: "string", entry: true },
  logout_destroy: { kind: "boolean", entry: true },
  login_backend: { kind: "string", entry: true },
  csrf: { kind: "boolean", entry: true },
  logout_get: { kind: "boolean", entry: true },
};

export type LocationSettingName = keyof typeof LOCATION_SETTINGS;

/**
 * njs-session.conf's $session_location_config: every $session_config_<name>, in this order, joined by
 * newlines (a character none of them can hold), or EMPTY_LOCATION_CONFIG when the location sets none.
 */
export const LOCATION_CONFIG_ORDER = Object.keys(LOCATION_SETTINGS);
/**
 * What the map gives a location that sets no $session_config_<name> (or only empty ones): nginx
 * compares their concatenation with "", so the common case costs it no join.
 */
export const EMPTY_LOCATION_CONFIG = "";

/** The one typed getter over `$session_config_<name>`: undefined when unset or empty. */
export function locationSetting(r: NginxHTTPRequest, name: string): string | number | boolean | string[] | undefined {
  const spec = LOCATION_SETTINGS[name];
  const raw = r.variables["session_config_" + name];
  if (raw === undefined || raw === null || raw === "") return undefined;
  const text = String(raw).trim();
  // $session_location_config separates the settings with newlines; none of them has a use for one.
  if (text.indexOf("\n") >= 0) throw configError("$session_config_" + name + " must not contain a line break");
  switch (spec.kind) {
    case "string":
      return text;
    case "number": {
      if (!/^[0-9]+$/.test(text)) throw configError("$session_config_" + name + " must be a whole number, not \"" + text + "\"");
      return Number(text);
    }
    case "status": {
      if (text !== "401" && text !== "403") throw configError("$session_config_" + name + " must be 401 or 403");
      return Number(text);
    }
    case "boolean": {
      if (text === "on" || text === "true" || text === "1") return true;
      if (text === "off" || text === "false" || text === "0") return false;
      throw configError("$session_config_" + name + " must be on or off");
    }
    case "list":
      return text.split(/[\s,]+/).filter(function (item) {
        return item !== "";
      });
  }
  return undefined;
}

/**
 * expose_data names become nginx variable names ($session_data_<key>) and, in auth_request mode,
 * header names (X-Session-Data-<key>): letters, digits and "_" only, as nginx variable names are.
 */
export function checkExposedNames(names: string[]): void {
  for (let i = 0; i < names.length; i++) {
    if (!matchesWhole(/^[A-Za-z0-9_]{1,64}$/, names[i])) {
      throw configError("expose_data: " + JSON.stringify(names[i]) + " is not a usable name (letters, digits and _ only, up to 64)");
    }
  }
}

export interface LocationOverrides {
  options: SessionOptions;
  entry: Partial<EntryOptions>;
}

/** Reads every `$session_config_<name>` the location sets. */
export function locationOverrides(r: NginxHTTPRequest): LocationOverrides {
  const options: { [name: string]: unknown } = {};
  const entry: { [name: string]: unknown } = {};
  const names = Object.keys(LOCATION_SETTINGS);
  for (let i = 0; i < names.length; i++) {
    const value = locationSetting(r, names[i]);
    if (value === undefined) continue;
    if (LOCATION_SETTINGS[names[i]].entry) entry[names[i]] = value;
    else options[names[i]] = value;
  }
  return { options: options as SessionOptions, entry: entry as Partial<EntryOptions> };
}

// -------------------------------------------------------------------------------------------------
// The JSON file

/**
 * The user this process runs as, "nobody (uid 65534)", from /proc/self/status and /etc/passwd (njs's
 * `process` has no getuid); null where they cannot be read. Only asked when a read was refused.
 */
export function processUser(read: (path: string) => string = (path) => String(fs.readFileSync(path, "utf8"))): string | null {
  try {
    const uid = /^Uid:\s+\d+\s+(\d+)/m.exec(read("/proc/self/status"));
    if (!uid) return null;
    let name = "";
    try {
      const lines = read("/etc/passwd").split("\n");
      for (let i = 0; i < lines.length && !name; i++) {
        const fields = lines[i].split(":");
        if (fields.length > 2 && fields[2] === uid[1]) name = fields[0];
      }
    } catch (e) {
      // no /etc/passwd: the uid alone
    }
    return name ? name + " (uid " + uid[1] + ")" : "uid " + uid[1];
  } catch (e) {
    return null;
  }
}

/**
 * Why a file could not be read, from the fs error's code (njs and Node both set `code`), never its
 * contents. Files named in the configuration are read by nginx's worker processes, so a file only
 * root can read fails there even though `nginx -t` run by root was fine: the message names the user.
 */
export function cannotRead(path: string, error: unknown, user: () => string | null = processUser): string {
  const code = error && typeof error === "object" ? (error as { code?: unknown }).code : undefined;
  const base = "cannot read " + path;
  if (code === "EACCES" || code === "EPERM") {
    const who = user();
    return base + ": permission denied" + (who ? " for user " + who : "") +
      " (nginx's worker processes read it; make it readable by their user, `user` in nginx.conf)";
  }
  if (code === "ENOENT") return base + ": no such file";
  if (code === "ENOTDIR") return base + ": a part of the path is not a directory";
  if (code === "EISDIR") return base + ": it is a directory";
  return typeof code === "string" ? base + ": " + code : base;
}

/** A secret given as a literal, `{"env": NAME}` or `{"file": PATH}`. */
function resolveSource(name: string, value: unknown): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object") {
    const source = value as { env?: unknown; file?: unknown };
    if (typeof source.env === "string") {
      const fromEnv = process.env[source.env];
      if (!fromEnv) throw configError(name + ": environment variable " + source.env + " is empty or not passed to nginx (add `env " + source.env + ";`)");
      return fromEnv;
    }
    if (typeof source.file === "string") {
      let text: string;
      try {
        text = String(fs.readFileSync(source.file, "utf8"));
      } catch (e) {
        throw configError(name + ": " + cannotRead(source.file, e));
      }
      // Secret files usually end with a newline that is not part of the secret.
      return text.replace(/\r?\n$/, "");
    }
  }
  throw configError(name + " must be a string, {\"env\": NAME} or {\"file\": PATH}");
}

/** ikm from a source is base64 or base64url text of 32 bytes. */
function resolveKey(name: string, value: unknown): Uint8Array {
  const text = resolveSource(name, value).trim().replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const bytes = decodeBase64Url(text);
  if (!bytes) throw configError(name + " must be base64 text of 32 bytes");
  return bytes;
}

export interface FileConfiguration {
  options: SessionOptions;
  entry: Partial<EntryOptions>;
}

const ENTRY_KINDS: { [name: string]: string } = {
  login_url: "string",
  return_to_parameter: "string",
  unauthorized_status: "number",
  store_unavailable_status: "number",
  expose_data: "list",
  clear_request_cookie: "boolean",
  logout_redirect: "string",
  logout_destroy: "boolean",
  login_backend: "string",
  login_verdict_header: "string",
  admin_token: "secret",
  csrf: "boolean",
  csrf_header: "string",
  csrf_field: "string",
  csrf_origin_check: "boolean",
  logout_get: "boolean",
};

/** Every option of the configuration file's "nginx" block (README's table is checked against it). */
export function entryOptionNames(): string[] {
  return Object.keys(ENTRY_KINDS);
}

function checkEntryOptions(entry: { [name: string]: unknown }): Partial<EntryOptions> {
  const names = Object.keys(entry);
  for (let i = 0; i < names.length; i++) {
    const kind = ENTRY_KINDS[names[i]];
    const value = entry[names[i]];
    if (!kind) throw configError('unknown option "nginx.' + names[i] + '"');
    if (value === null) continue;
    if (kind === "secret") {
      entry[names[i]] = resolveSource("nginx." + names[i], value);
      if ((entry[names[i]] as string).length < 16) throw configError("nginx." + names[i] + " must be at least 16 characters");
      continue;
    }
    const ok =
      kind === "list"
        ? Array.isArray(value) && value.every(function (item) { return typeof item === "string"; })
        : typeof value === kind;
    if (!ok) throw configError("nginx." + names[i] + " must be a " + (kind === "list" ? "list of strings" : kind));
  }
  if (entry.unauthorized_status !== undefined && entry.unauthorized_status !== 401 && entry.unauthorized_status !== 403) {
    throw configError("nginx.unauthorized_status must be 401 or 403");
  }
  // A header name nginx would not parse, or an empty field name, would make every unsafe request a 403.
  if (entry.csrf_header !== undefined && entry.csrf_header !== null && !matchesWhole(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, entry.csrf_header as string)) {
    throw configError("nginx.csrf_header must be a header name");
  }
  if (entry.csrf_field === "") throw configError("nginx.csrf_field must not be empty");
  const storeStatus = entry.store_unavailable_status;
  if (storeStatus !== undefined && storeStatus !== 503 && storeStatus !== 401 && storeStatus !== 403) {
    throw configError("nginx.store_unavailable_status must be 503, 401 or 403");
  }
  return entry as Partial<EntryOptions>;
}

/** Turns the parsed JSON file into options: secrets resolved, entry options checked. */
export function fromJson(document: unknown): FileConfiguration {
  if (!document || typeof document !== "object" || Array.isArray(document)) throw configError("the file must hold a JSON object");
  const table = document as { [name: string]: unknown };
  const options: { [name: string]: unknown } = {};
  let entry: Partial<EntryOptions> = {};
  const names = Object.keys(table);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const value = table[name];
    if (name === "nginx") entry = checkEntryOptions((value || {}) as { [name: string]: unknown });
    else if (name === "secret") options.secret = resolveSource(name, value);
    else if (name === "secret_fallbacks" && Array.isArray(value)) {
      options.secret_fallbacks = value.map(function (item, index) {
        return resolveSource("secret_fallbacks[" + (index + 1) + "]", item);
      });
    } else if (name === "ikm") options.ikm = resolveKey(name, value);
    else if (name === "ikm_fallbacks" && Array.isArray(value)) {
      options.ikm_fallbacks = value.map(function (item, index) {
        return resolveKey("ikm_fallbacks[" + (index + 1) + "]", item);
      });
    } else if (name === "redis" && value && typeof value === "object" && !Array.isArray(value)) {
      // The store's passwords, like the session secret, may come from the environment or a file.
      const table: { [name: string]: unknown } = {};
      const keys = Object.keys(value);
      for (let k = 0; k < keys.length; k++) {
        const item = (value as { [name: string]: unknown })[keys[k]];
        const secret = keys[k] === "password" || keys[k] === "sentinel_password";
        table[keys[k]] = secret && item !== null && typeof item === "object" ? resolveSource("redis." + keys[k], item) : item;
      }
      options[name] = table;
    } else options[name] = value;
  }
  return { options: options as SessionOptions, entry: entry };
}

export function readConfigurationFile(path: string): FileConfiguration {
  let text: string;
  try {
    text = String(fs.readFileSync(path, "utf8"));
  } catch (e) {
    throw configError(cannotRead(path, e));
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (e) {
    throw configError(path + " is not valid JSON");
  }
  return fromJson(document);
}
