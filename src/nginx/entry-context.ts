/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * What every entry point shares: the configuration (file, init(), per-location overrides) resolved
 * into a request's context, the request id as a reference, and failing closed. Each entry point file
 * (check.ts, login.ts, logout.ts, admin.ts, variables.ts) takes an EntryEnvironment.
 */

import type { SessionLibrary } from "../core/api";
import { SessionOptions } from "../core/options";
import { errorText, isConfigError, isStoreUnavailable } from "../core/errors";
import { guard, MaybePromise, then } from "../core/maybe";
import type { Platform } from "../core/platform";
import {
  checkExposedNames,
  EMPTY_LOCATION_CONFIG,
  ENTRY_DEFAULTS,
  EntryOptions,
  FileConfiguration,
  LocationOverrides,
  locationOverrides,
  readConfigurationFile,
} from "./configuration";
import { retainedGet, retainedSet } from "../core/retained";
import { setVariable } from "./publication";
import { isLocalPath, requestReference } from "./answer-values";

// The answer's values, in a file of their own for the njs engine's login part (answer-values.ts).
export { headerValue, isLocalPath, requestReference } from "./answer-values";

export interface RequestContext {
  /** The location's overrides of the session options; undefined when it has none. */
  options: SessionOptions | undefined;
  entry: EntryOptions;
  /** The $session_location_config text it was resolved from; undefined without that variable. */
  locationText: string | undefined;
}

export interface EntryPointsConfiguration {
  /** Set when NJS_SESSION_CONFIG names a file: its options, or why it could not be used. */
  file: FileConfiguration | null;
  fileError: Error | null;
  /** Entry options given by a user module through init({ nginx: {...} }). */
  entry: Partial<EntryOptions>;
}

export function loadFileConfiguration(library: SessionLibrary): EntryPointsConfiguration {
  const configuration: EntryPointsConfiguration = { file: null, fileError: null, entry: {} };
  const path = typeof process !== "undefined" && process.env ? process.env.NJS_SESSION_CONFIG : undefined;
  if (!path) return configuration;
  try {
    configuration.file = readConfigurationFile(String(path));
    library.init(configuration.file.options);
  } catch (e) {
    configuration.fileError = e as Error;
  }
  return configuration;
}

function mergeEntry(layers: Array<Partial<EntryOptions> | undefined>): EntryOptions {
  const merged: { [name: string]: unknown } = {};
  for (let l = 0; l < layers.length; l++) {
    const layer = layers[l] as { [name: string]: unknown } | undefined;
    if (!layer) continue;
    const names = Object.keys(layer);
    for (let i = 0; i < names.length; i++) if (layer[names[i]] !== undefined) merged[names[i]] = layer[names[i]];
  }
  return merged as unknown as EntryOptions;
}

/** Where a browser without a session goes: the login URL with the original URL, if that is local. */
export function loginLocation(entry: EntryOptions, requestUri: string): string {
  const loginUrl = entry.login_url as string;
  if (!isLocalPath(requestUri)) return loginUrl;
  let returnTo: string;
  try {
    returnTo = encodeURIComponent(requestUri);
  } catch (e) {
    // A URI that is not well-formed Unicode (QuickJS keeps unpaired surrogates): no way back, no 500.
    return loginUrl;
  }
  return loginUrl + (loginUrl.indexOf("?") >= 0 ? "&" : "?") + entry.return_to_parameter + "=" + returnTo;
}

export interface EntryEnvironment {
  platform: Platform;
  library: SessionLibrary;
  configuration: EntryPointsConfiguration;
  /**
   * The options of this request's location (throws the configuration's error, if any). `locationText`:
   * the request's $session_location_config, when the caller has read it already.
   */
  requestContext(r: NginxHTTPRequest, locationText?: unknown): RequestContext;
  /** A reference a user can quote and an operator can grep: the request id. */
  reference(r: NginxHTTPRequest): string;
  /** One error line with the reference and a 500 (or the store-unavailable status): fail closed. */
  failClosed(r: NginxHTTPRequest, error: unknown): void;
  /** The location's store_unavailable_status (503 when the configuration cannot be read). */
  storeUnavailableStatus(r: NginxHTTPRequest): number;
  /** No session: a login redirect for GET/HEAD when login_url is set, else unauthorized_status. */
  deny(r: NginxHTTPRequest, entry: EntryOptions): void;
  setVariable(r: NginxHTTPRequest, name: string, value: string): void;
  /** Runs a handler's steps; anything thrown or rejected goes to `fail` (failClosed when not given). */
  respond<T>(r: NginxHTTPRequest, run: () => MaybePromise<T>, done: (value: T) => MaybePromise<void>, fail?: (error: unknown) => void): MaybePromise<void>;
}

export function createEntryEnvironment(platform: Platform, library: SessionLibrary, configuration: EntryPointsConfiguration): EntryEnvironment {
  function contextWith(overrides: LocationOverrides, locationText: string | undefined): RequestContext {
    const entry = mergeEntry([ENTRY_DEFAULTS, configuration.file ? configuration.file.entry : undefined, configuration.entry, overrides.entry]);
    checkExposedNames(entry.expose_data);
    return { options: overrides.options, entry: entry, locationText: locationText };
  }

  /**
   * The options of this request's location. njs-session.conf gathers every $session_config_* into
   * $session_location_config, so the common case (no overrides: "") is one variable read; each distinct
   * text is resolved once (retained.ts), for the entry options in force: init() replaces them, and
   * then every context is made afresh. Without that variable (an nginx.conf that declares the
   * $session_config_* itself), each one is read.
   */
  function requestContext(r: NginxHTTPRequest, locationText?: unknown): RequestContext {
    if (configuration.fileError) throw configuration.fileError;
    const value = locationText === undefined ? r.variables.session_location_config : locationText;
    if (value === undefined) return contextWith(locationOverrides(r), undefined);
    const text = typeof value === "string" ? value : String(value);
    // Locations are few; the bound only guards against overrides set from request data.
    let context = retainedGet<RequestContext>("location-contexts", text, configuration.entry);
    if (!context) {
      const made =
        text === EMPTY_LOCATION_CONFIG ? { options: undefined, entry: contextWith({ options: {}, entry: {} }, text).entry, locationText: text } : contextWith(locationOverrides(r), text);
      context = retainedSet("location-contexts", 256, text, configuration.entry, made);
    }
    return context;
  }

  const reference = requestReference;

  function storeUnavailableStatus(r: NginxHTTPRequest): number {
    try {
      return requestContext(r).entry.store_unavailable_status;
    } catch (e) {
      // The configuration that named the store loaded; this cannot fail now, and 503 is safe.
      return ENTRY_DEFAULTS.store_unavailable_status;
    }
  }

  function failClosed(r: NginxHTTPRequest, error: unknown): void {
    if (isStoreUnavailable(error)) {
      // Logged once per incident where it was detected (src/storage/remote.ts), not per request.
      r.return(storeUnavailableStatus(r), "session store unavailable\n");
      return;
    }
    const kind = isConfigError(error) ? "" : "unexpected error: ";
    // Read once: unless the configuration uses $request_id, nginx makes a new one on every read.
    const quoted = reference(r);
    platform.log("error", "[session] " + kind + errorText(error) + " (request " + quoted + ")");
    r.return(500, "session check failed, reference " + quoted + "\n");
  }

  function deny(r: NginxHTTPRequest, entry: EntryOptions): void {
    if (entry.login_url && (r.method === "GET" || r.method === "HEAD")) {
      r.return(302, loginLocation(entry, String(r.variables.request_uri || "")));
      return;
    }
    r.return(entry.unauthorized_status);
  }

  /**
   * Runs a handler's steps, failing closed (or as `fail` says) on anything thrown or rejected.
   * Synchronous as long as the steps are: the njs engine charges ~14 µs for an access handler that
   * returns a promise.
   */
  function respond<T>(
    r: NginxHTTPRequest,
    run: () => MaybePromise<T>,
    done: (value: T) => MaybePromise<void>,
    fail?: (error: unknown) => void,
  ): MaybePromise<void> {
    return guard(
      function () {
        return then(run(), done);
      },
      fail ||
        function (e) {
          failClosed(r, e);
        },
    );
  }

  return {
    platform: platform,
    library: library,
    configuration: configuration,
    requestContext: requestContext,
    reference: reference,
    failClosed: failClosed,
    storeUnavailableStatus: storeUnavailableStatus,
    deny: deny,
    setVariable: setVariable,
    respond: respond,
  };
}
