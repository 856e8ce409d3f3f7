/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The ready-made nginx entry points: thin adapters from `r` to the core.
 *
 *   access        js_access: open + refresh (as start()); no session → 401/403 or a login redirect
 *   authRequest   js_content behind auth_request (njs < 0.9.9): 204 or 401/403, cookies and identity
 *                 carried back in X-Session-* headers for auth_request_set
 *   loginRedirect js_content for `error_page 401 = @...` in auth_request mode
 *   login         js_content: asks the login backend (subrequest), turns its verdict header into a session
 *   logoutHandler js_content: POST with the CSRF token (logout_get: any method), logs out (or destroys),
 *                 then redirects or answers 204
 *   admin         js_content: the session registry as JSON: list a subject's sessions, revoke one or all
 *   cleanupFiles  js_periodic: removes the files of expired sessions (file storage)
 *   subject, audience, id, timeout, exists, data, upstreamCookie, csrfToken, requestHeader*, responseHeader*:
 *                 synchronous js_set handlers reading what the access check published in $session_state
 *
 * Every handler fails closed: a configuration problem is one error line (with the request id a user
 * can quote) and a 500 on a protected location; bad cookies are "no session", never a 500.
 */

import { constantTimeEqual, utf8Encode } from "../core/bytes";
import type { SessionLibrary } from "../core/api";
import { HEADER_NAMES, isConfigError, SessionOptions, Settings } from "../core/config";
import { chunkCookieName, quickCookie, withoutSessionCookies } from "../core/cookies";
import { MAX_COOKIES } from "../core/format";
import type { Platform } from "../core/platform";
import type { RegistryEntry } from "../core/registry";
import { configError, isStoreUnavailable } from "../core/errors";
import { isSafeMethod } from "../core/csrf";
import { fastCheck, KnownSession } from "../core/fast-check";
import { guard, MaybePromise, then } from "../core/maybe";
import { asciiJson, identityProblem, publishedData } from "../core/publishable";
import { timingProperty } from "../core/properties";
import { errorText, loggableId, Session } from "../core/session";
import { createNjsExchange, njsBindSource } from "../platform/njs";
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
import { createCsrfChecks, stateBinding } from "./csrf";
import { decodeState, encodeState, PublishedState } from "./state";

/**
 * Set-Cookie lines the auth_request handler can hand back (X-Session-Cookie-1 ..): a session cookie
 * and a remember cookie of up to nine chunks each. nginx/session-auth-request.conf forwards as many.
 */
export const MAX_FORWARDED_COOKIES = 2 * MAX_COOKIES;

/** Which entry point runs a check: how it denies and where it publishes. */
const enum CheckMode {
  /** js_access: deny with a status or a login redirect, publish in $session_state. */
  Access,
  /** js_content behind auth_request: 401/403 or 204 with X-Session-* headers. */
  AuthRequest,
}

/** A fast check never re-issues a cookie. */
const NO_COOKIES: string[] = [];

interface RequestContext {
  /** The location's overrides of the session options; undefined when it has none. */
  options: SessionOptions | undefined;
  entry: EntryOptions;
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

/** A path on this site: "/..." but not "//host" or "/\host", and no control characters. */
export function isLocalPath(value: string): boolean {
  return /^\/(?![\/\\])[^\x00-\x1f\x7f]*$/.test(value);
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

function headerValue(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return Array.isArray(value) ? String(value[0]) : String(value);
}

export function createEntryPoints(platform: Platform, library: SessionLibrary, configuration: EntryPointsConfiguration) {
  /** The context of a location without overrides, made once per configuration (init() may change it). */
  let plainContext: RequestContext | null = null;
  let plainContextEntry: Partial<EntryOptions> | null = null;
  /** Contexts by the location's overrides text, where module state outlives a request (QuickJS). */
  const contextsByOverrides: { [text: string]: RequestContext } = {};
  let contextCount = 0;

  function contextWith(overrides: LocationOverrides): RequestContext {
    const entry = mergeEntry([ENTRY_DEFAULTS, configuration.file ? configuration.file.entry : undefined, configuration.entry, overrides.entry]);
    checkExposedNames(entry.expose_data);
    return { options: overrides.options, entry: entry };
  }

  /**
   * The options of this request's location. njs-session.conf gathers every $session_config_* into
   * $session_location_config, so the common case (no overrides) is one variable read; a location with
   * overrides is parsed once per distinct text where module state persists. Without that variable
   * (an nginx.conf that declares the $session_config_* itself), each one is read.
   */
  function requestContext(r: NginxHTTPRequest): RequestContext {
    if (configuration.fileError) throw configuration.fileError;
    if (plainContextEntry !== configuration.entry) {
      plainContext = null;
      plainContextEntry = configuration.entry;
      const texts = Object.keys(contextsByOverrides);
      for (let i = 0; i < texts.length; i++) delete contextsByOverrides[texts[i]];
      contextCount = 0;
    }
    const text = r.variables.session_location_config;
    if (text === EMPTY_LOCATION_CONFIG) {
      if (!plainContext) plainContext = { options: undefined, entry: contextWith({ options: {}, entry: {} }).entry };
      return plainContext;
    }
    if (text === undefined) return contextWith(locationOverrides(r));
    const known = contextsByOverrides[text];
    if (known) return known;
    const context = contextWith(locationOverrides(r));
    // Locations are few; the bound only guards against overrides set from request data.
    if (platform.keepsModuleState && contextCount < 256) {
      contextsByOverrides[text] = context;
      contextCount++;
    }
    return context;
  }

  /** A reference a user can quote and an operator can grep: the request id. */
  function reference(r: NginxHTTPRequest): string {
    const id = r.variables.request_id;
    return id ? String(id) : "-";
  }

  const csrf = createCsrfChecks(platform, reference);

  function failClosed(r: NginxHTTPRequest, error: unknown): void {
    if (isStoreUnavailable(error)) {
      // Logged once per incident where it was detected (src/storage/remote.ts), not per request.
      let status = ENTRY_DEFAULTS.store_unavailable_status;
      try {
        status = requestContext(r).entry.store_unavailable_status;
      } catch (e) {
        // The configuration that named the store loaded; this cannot fail now, and 503 is safe.
      }
      r.return(status, "session store unavailable\n");
      return;
    }
    const kind = isConfigError(error) ? "" : "unexpected error: ";
    // Read once: unless the configuration uses $request_id, nginx makes a new one on every read.
    const requestReference = reference(r);
    platform.log("error", "[session] " + kind + errorText(error) + " (request " + requestReference + ")");
    r.return(500, "session check failed, reference " + requestReference + "\n");
  }

  function deny(r: NginxHTTPRequest, entry: EntryOptions): void {
    if (entry.login_url && (r.method === "GET" || r.method === "HEAD")) {
      r.return(302, loginLocation(entry, String(r.variables.request_uri || "")));
      return;
    }
    r.return(entry.unauthorized_status);
  }

  /** What the rest of the request may know about the session (a Session, or the fast check's find). */
  interface StateSource {
    subject: string | undefined;
    audience: string;
    loggableId: string;
    data: { [key: string]: unknown };
    property(name: string): string | number | Uint8Array | undefined;
  }

  function sessionSource(session: Session): StateSource {
    return {
      subject: session.getSubject(),
      audience: session.getAudience(),
      loggableId: loggableId(platform, session.getProperty("nonce") as Uint8Array),
      data: session.getData(),
      property: function (name) {
        return session.getProperty(name);
      },
    };
  }

  function knownSource(known: KnownSession, settings: Settings): StateSource {
    return {
      subject: known.subject,
      audience: known.audience,
      loggableId: known.loggableId,
      data: known.data,
      property: function (name) {
        if (name === "audience") return known.audience;
        if (name === "subject") return known.subject;
        return timingProperty(name, settings, known.timing);
      },
    };
  }

  /** The Session-* headers for these properties. Session-Id carries the loggable id, like $session_id. */
  function propertyHeaders(source: StateSource, properties: string[]): { [name: string]: string } {
    const headers: { [name: string]: string } = {};
    for (let i = 0; i < properties.length; i++) {
      const name = HEADER_NAMES[properties[i]];
      if (!name) continue;
      const value = properties[i] === "id" ? source.loggableId : source.property(properties[i]);
      if (value === undefined || value instanceof Uint8Array) continue;
      // Numbers, the loggable id, and an identity no session can hold unless it is publishable.
      headers[name] = String(value);
    }
    return headers;
  }

  /** What a check hands on; kept on a KnownSession for the rest of the second (see check()). */
  interface Publication {
    at: number;
    context: RequestContext;
    settings: Settings;
    state: PublishedState;
    /** encodeState(state, false): $session_state's text. */
    json: string;
    /** Names in state.p and state.d: most sessions have none, and then nothing else is written. */
    responseHeaderNames: string[];
    dataNames: string[];
  }

  function publicationOf(source: StateSource, settings: Settings, context: RequestContext, at: number): Publication {
    const state = stateOf(source, settings, context.entry);
    return {
      at: at,
      context: context,
      settings: settings,
      state: state,
      json: encodeState(state, false),
      responseHeaderNames: Object.keys(state.p),
      dataNames: Object.keys(state.d),
    };
  }

  /** What the rest of the request may know about the session; response_headers go on the response. */
  function stateOf(source: StateSource, settings: Settings, entry: EntryOptions): PublishedState {
    const exposed: { [key: string]: string } = {};
    for (let i = 0; i < entry.expose_data.length; i++) {
      const key = entry.expose_data[i];
      if (Object.prototype.hasOwnProperty.call(source.data, key)) exposed[key] = publishedData(source.data[key]);
    }
    const responseHeaders = propertyHeaders(source, settings.responseHeaders);
    const state: PublishedState = {
      a: source.audience,
      i: source.loggableId,
      d: exposed,
      q: propertyHeaders(source, settings.requestHeaders),
      p: responseHeaders,
    };
    if (source.subject !== undefined) state.s = source.subject;
    const timeout = source.property("timeout");
    if (typeof timeout === "number") state.t = timeout;
    const created = source.property("creation_time");
    if (typeof created === "number") state.c = created;
    return state;
  }

  function setVariable(r: NginxHTTPRequest, name: string, value: string): void {
    try {
      r.variables[name] = value;
    } catch (e) {
      const error = new Error(
        "invalid session configuration: nginx variable $" + name + " is not declared (add `js_var $" + name + ";`, see nginx/njs-session.conf)",
      );
      error.name = "ConfigError";
      throw error;
    }
  }

  /**
   * Runs a handler's steps, failing closed on anything thrown or rejected. Synchronous as long as the
   * steps are: the njs engine charges ~14 µs for an access handler that returns a promise.
   */
  function respond<T>(r: NginxHTTPRequest, run: () => MaybePromise<T>, done: (value: T) => MaybePromise<void>): MaybePromise<void> {
    return guard(
      function () {
        return then(run(), done);
      },
      function (e) {
        failClosed(r, e);
      },
    );
  }

  /** response_headers: on the response at once (in auth_request mode also carried in the state). */
  function applyResponseHeaders(r: NginxHTTPRequest, publication: Publication): void {
    const names = publication.responseHeaderNames;
    for (let i = 0; i < names.length; i++) r.headersOut[names[i]] = publication.state.p[names[i]];
  }

  /** js_access: publish the session in $session_state. */
  function publishAccess(r: NginxHTTPRequest, publication: Publication): void {
    applyResponseHeaders(r, publication);
    setVariable(r, "session_state", publication.json);
    const names = publication.dataNames;
    for (let i = 0; i < names.length; i++) setVariable(r, "session_data_" + names[i], publication.state.d[names[i]]);
    // Returning without r.return() lets the request go on; the Set-Cookie lines of a refresh are
    // already on r.headersOut and survive proxy_pass.
  }

  /** auth_request: everything travels back in headers of the 204 (nginx/session-auth-request.conf). */
  function publishAuthRequest(r: NginxHTTPRequest, publication: Publication, cookies: string[]): void {
    const state = publication.state;
    applyResponseHeaders(r, publication);
    r.headersOut["X-Session-State"] = encodeState(state, true);
    const names = publication.dataNames;
    for (let i = 0; i < names.length; i++) r.headersOut["X-Session-Data-" + names[i]] = state.d[names[i]];
    if (cookies.length > MAX_FORWARDED_COOKIES) {
      throw new Error(cookies.length + " Set-Cookie lines exceed the " + MAX_FORWARDED_COOKIES + " auth_request can forward");
    }
    for (let i = 0; i < cookies.length; i++) r.headersOut["X-Session-Cookie-" + (i + 1)] = cookies[i];
    r.return(204);
  }

  /**
   * The session check of both modes. First the fast check (fast-check.ts: a cookie verified before,
   * nothing to re-issue): no Session, no promise, and what it publishes is kept on the session for the
   * rest of the second (the state only changes with the clock). Else the full start() (open, refresh),
   * synchronous too when it can be.
   */
  function check(r: NginxHTTPRequest, mode: CheckMode): MaybePromise<void> {
    let context: RequestContext;
    let settings: Settings;
    try {
      context = requestContext(r);
      settings = library.settings(context.options);
      const now = platform.now();
      const header = r.headersIn["Cookie"];
      // Not nginx's $cookie_<name>: it matches names regardless of case, so a value cached under
      // "session" would also pass as "SESSION" (or "__HOST-session", planted next to __Host-session).
      const cookie = typeof header === "string" ? quickCookie(header, settings.cookieName) : undefined;
      const known = fastCheck(settings, platform, cookie || undefined, now, r, njsBindSource);
      if (known) {
        let publication = known.publication as Publication | undefined;
        if (!publication || publication.at !== now || publication.context !== context || publication.settings !== settings) {
          publication = publicationOf(knownSource(known, settings), settings, context, now);
          known.publication = publication;
        }
        return publish(r, mode, publication, NO_COOKIES);
      }
    } catch (e) {
      return failClosed(r, e);
    }
    const exchange = createNjsExchange(r);
    return respond(
      r,
      function () {
        return library.startMaybe(exchange, context.options);
      },
      function (started) {
        if (!started.exists) return denied(r, mode, context);
        return publish(r, mode, publicationOf(sessionSource(started.session), settings, context, 0), exchange.getResponseCookies());
      },
    );
  }

  function denied(r: NginxHTTPRequest, mode: CheckMode, context: RequestContext): void {
    if (mode === CheckMode.Access) deny(r, context.entry);
    else r.return(context.entry.unauthorized_status);
  }

  function publish(r: NginxHTTPRequest, mode: CheckMode, publication: Publication, cookies: string[]): MaybePromise<void> {
    const entry = publication.context.entry;
    if (entry.csrf) {
      // An auth_request subrequest is a GET: the client's method is the main request's.
      const method = mode === CheckMode.Access ? r.method : String(r.variables.request_method);
      if (!isSafeMethod(method)) {
        const binding = stateBinding(publication.state);
        // Every session has a creation time; should one not, the check fails closed rather than open.
        if (!binding) throw new Error("no creation time to check the CSRF token against");
        return then(csrf.check(r, method, entry, publication.settings, binding, mode === CheckMode.Access), function (passed) {
          if (passed) publishNow(r, mode, publication, cookies);
        });
      }
    }
    publishNow(r, mode, publication, cookies);
  }

  function publishNow(r: NginxHTTPRequest, mode: CheckMode, publication: Publication, cookies: string[]): void {
    if (mode === CheckMode.Access) publishAccess(r, publication);
    else publishAuthRequest(r, publication, cookies);
  }

  // A mode rather than callbacks: two closures per request cost QuickJS more than the rest of publishing.
  function access(r: NginxHTTPRequest): MaybePromise<void> {
    return check(r, CheckMode.Access);
  }

  function authRequest(r: NginxHTTPRequest): MaybePromise<void> {
    return check(r, CheckMode.AuthRequest);
  }

  function loginRedirect(r: NginxHTTPRequest): void {
    try {
      deny(r, requestContext(r).entry);
    } catch (e) {
      failClosed(r, e);
    }
  }

  /** The login backend's verdict: JSON {subject, data?, remember?, redirect?}; null if absent or invalid. */
  function readVerdict(value: string | undefined): { subject: string; data?: { [key: string]: unknown }; remember?: boolean; redirect?: string } | null {
    if (!value) return null;
    try {
      const verdict = JSON.parse(value);
      if (!verdict || typeof verdict.subject !== "string" || verdict.subject === "") return null;
      if (verdict.data !== undefined && (verdict.data === null || typeof verdict.data !== "object")) return null;
      return verdict;
    } catch (e) {
      return null;
    }
  }

  /** Hop-by-hop and framing headers of the backend reply that must not be copied to ours. */
  const NOT_COPIED = ["content-length", "content-type", "connection", "transfer-encoding", "keep-alive", "location"];

  async function login(r: NginxHTTPRequest): Promise<void> {
    try {
      const context = requestContext(r);
      const verdictHeader = context.entry.login_verdict_header;
      const reply = await r.subrequest(context.entry.login_backend, {
        method: r.method as NginxSubrequestOptions["method"],
        args: String(r.variables.args || ""),
        body: r.requestText === undefined ? undefined : String(r.requestText),
      });
      const verdict = readVerdict(headerValue(reply.headersOut[verdictHeader]));
      // Copy the backend's reply, minus the verdict: the client never sees it.
      const names = Object.keys(reply.headersOut);
      for (let i = 0; i < names.length; i++) {
        const lower = names[i].toLowerCase();
        if (lower === verdictHeader.toLowerCase() || NOT_COPIED.indexOf(lower) >= 0) continue;
        r.headersOut[names[i]] = reply.headersOut[names[i]] as string;
      }
      const contentType = headerValue(reply.headersOut["Content-Type"]);
      if (contentType) r.headersOut["Content-Type"] = contentType;
      let status = reply.status;
      let location = headerValue(reply.headersOut["Location"]);
      const subjectProblem = verdict && status < 400 ? identityProblem(verdict.subject) : null;
      if (subjectProblem !== null) {
        // The login backend vouched for a name nginx could not publish as it is (a line break would
        // split $session_subject into two headers). Nothing of it reaches the log or the client.
        platform.log("warn", "[session] login refused: the verdict's subject " + subjectProblem + " (request " + reference(r) + ")");
        return r.return(400, "login refused: this user name cannot be used for a session\n");
      }
      if (verdict && status < 400) {
        const session = library.new(createNjsExchange(r), context.options);
        session.setSubject(verdict.subject);
        if (verdict.data) session.setData(verdict.data);
        if (typeof verdict.remember === "boolean") session.setRemember(verdict.remember);
        const saved = await session.save();
        if (!saved.ok) throw new Error("unable to save the new session: " + saved.error);
        if (verdict.redirect !== undefined) {
          if (typeof verdict.redirect !== "string" || !isLocalPath(verdict.redirect)) {
            platform.log("warn", "[session] login verdict redirect ignored: not a local path (request " + reference(r) + ")");
          } else {
            status = 303;
            location = verdict.redirect;
          }
        }
      } else if (reply.headersOut[verdictHeader] !== undefined) {
        platform.log("warn", "[session] login verdict ignored: " + (verdict ? "backend status " + status : "not valid JSON {subject}") + " (request " + reference(r) + ")");
      }
      if (status >= 300 && status < 400 && location) return r.return(status, location);
      r.return(status, reply.responseText === undefined ? "" : String(reply.responseText));
    } catch (e) {
      failClosed(r, e);
    }
  }

  /**
   * Logout changes state, so by default it takes POST with the session's CSRF token (header or form
   * field): a GET would let any page end the session with <img src=/logout>. logout_get allows any
   * method without a token. Without a valid session there is nothing to protect, nor to log out.
   */
  async function logout(r: NginxHTTPRequest): Promise<void> {
    try {
      const context = requestContext(r);
      const entry = context.entry;
      if (!entry.logout_get && r.method !== "POST") {
        r.headersOut["Allow"] = "POST";
        r.headersOut["Content-Type"] = "text/plain";
        return r.return(405, "log out with POST and the CSRF token\n");
      }
      const opened = await library.open(createNjsExchange(r), context.options);
      if (opened.exists) {
        const session = opened.session;
        if (!entry.logout_get) {
          const binding = {
            creationTime: session.getProperty("creation_time") as number,
            audience: session.getAudience(),
            subject: session.getSubject(),
          };
          if (!(await csrf.check(r, r.method, entry, library.settings(context.options), binding, true))) return;
        }
        const result = entry.logout_destroy ? await session.destroy() : await session.logout();
        if (!result.ok) throw new Error("logout failed: " + result.error);
      }
      const target = entry.logout_redirect;
      if (target && isLocalPath(target)) return r.return(303, target);
      r.return(204);
    } catch (e) {
      failClosed(r, e);
    }
  }

  // -----------------------------------------------------------------------------------------------
  // The admin API: GET ?subject=S[&audience=A] lists; DELETE ?subject=S&id=I revokes one session,
  // DELETE ?subject=S revokes all of them. Protect the location (allow/deny) and/or set nginx.admin_token.

  function adminReply(r: NginxHTTPRequest, status: number, body: unknown): void {
    r.headersOut["Content-Type"] = "application/json";
    r.headersOut["Cache-Control"] = "no-store";
    // The subject is the caller's, the user agents are the clients': ASCII-only JSON (publishable.ts).
    r.return(status, asciiJson(body) + "\n");
  }

  function publicEntry(entry: RegistryEntry): { [name: string]: unknown } {
    const out: { [name: string]: unknown } = {
      id: String(entry.created),
      created: entry.created,
      last_seen: entry.lastSeen,
      expires: entry.expires,
      remember: entry.remember === true,
    };
    if (entry.userAgent !== undefined) out.user_agent = entry.userAgent;
    if (entry.ip !== undefined) out.ip = entry.ip;
    return out;
  }

  function queryArgument(r: NginxHTTPRequest, name: string): string | undefined {
    const value = (r.args as { [name: string]: unknown })[name];
    if (value === undefined || value === null) return undefined;
    const text = Array.isArray(value) ? String(value[0]) : String(value);
    return text === "" ? undefined : text;
  }

  function bearerMatches(r: NginxHTTPRequest, token: string): boolean {
    const header = headerValue(r.headersIn["Authorization"]);
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    return match !== null && constantTimeEqual(platform.sha256(utf8Encode(match[1])), platform.sha256(utf8Encode(token)));
  }

  async function admin(r: NginxHTTPRequest): Promise<void> {
    try {
      const context = requestContext(r);
      const settings = library.settings(context.options);
      const registry = settings.registry;
      if (!registry) {
        throw configError("the admin API needs the session registry: set registry_zone, or use shm storage with store_metadata");
      }
      if (context.entry.admin_token && !bearerMatches(r, context.entry.admin_token)) {
        r.headersOut["WWW-Authenticate"] = 'Bearer realm="session admin"';
        return adminReply(r, 401, { error: "a valid bearer token is required" });
      }
      const subject = queryArgument(r, "subject");
      if (subject === undefined) return adminReply(r, 400, { error: "the subject query argument is required" });
      const audience = queryArgument(r, "audience") || settings.audience;
      const now = platform.now();
      if (r.method === "GET" || r.method === "HEAD") {
        const sessions = registry.list(audience, subject, now).map(publicEntry);
        return adminReply(r, 200, { audience: audience, subject: subject, sessions: sessions });
      }
      if (r.method !== "DELETE") {
        r.headersOut["Allow"] = "GET, HEAD, DELETE";
        return adminReply(r, 405, { error: "use GET to list and DELETE to revoke" });
      }
      const id = queryArgument(r, "id");
      let revoked: RegistryEntry[];
      if (id !== undefined) {
        if (!/^[0-9]{1,15}$/.test(id)) return adminReply(r, 400, { error: "id must be a session id from the list" });
        revoked = registry.revokeOne(audience, subject, Number(id), now);
        if (!revoked.length) return adminReply(r, 404, { error: "no such session" });
      } else {
        revoked = registry.revokeAll(audience, subject, now);
      }
      // The revocation already holds; deleting the records only frees their memory at once.
      const storage = settings.storage;
      for (let i = 0; i < revoked.length; i++) {
        const entry = revoked[i];
        if (!storage || entry.name === undefined || entry.key === undefined) continue;
        try {
          await storage.delete(entry.name, entry.key, now);
        } catch (e) {
          platform.log("warn", "[session] admin: revoked, but unable to delete a session record (" + errorText(e) + ")");
        }
      }
      platform.log(
        "info",
        "[session] admin: revoked " + (id === undefined ? "all sessions (" + revoked.length + " listed)" : revoked.length + " session(s)") +
          " of subject " + registry.encodeSubject(subject) + " in audience " + registry.encodeAudience(audience) +
          " (request " + reference(r) + ")",
      );
      return adminReply(r, 200, { audience: audience, subject: subject, all: id === undefined, revoked: revoked.map(publicEntry) });
    } catch (e) {
      failClosed(r, e);
    }
  }

  /** js_periodic: one worker sweeps the session files that expired (file storage); others do nothing. */
  async function cleanupFiles(): Promise<void> {
    if (typeof ngx !== "undefined" && (ngx as unknown as { worker_id?: number }).worker_id) return;
    try {
      if (configuration.fileError) throw configuration.fileError;
      const storage = library.settings().storage;
      if (!storage || !storage.cleanup) return;
      const removed = await storage.cleanup(platform.now());
      if (removed) platform.log("info", "[session] cleanup removed " + removed + " expired session file(s)");
    } catch (e) {
      platform.log("error", "[session] cleanup failed: " + errorText(e));
    }
  }

  // -----------------------------------------------------------------------------------------------
  // js_set handlers: synchronous, reading only this request's $session_state.

  function state(r: NginxHTTPRequest): PublishedState | null {
    return decodeState(r.variables.session_state);
  }

  function subject(r: NginxHTTPRequest): string {
    const current = state(r);
    return current && current.s !== undefined ? current.s : "";
  }

  function audience(r: NginxHTTPRequest): string {
    const current = state(r);
    return current ? current.a : "";
  }

  function id(r: NginxHTTPRequest): string {
    const current = state(r);
    return current ? current.i : "";
  }

  function timeout(r: NginxHTTPRequest): string {
    const current = state(r);
    return current && current.t !== undefined ? String(current.t) : "";
  }

  function exists(r: NginxHTTPRequest): string {
    return state(r) ? "1" : "0";
  }

  function data(r: NginxHTTPRequest): string {
    const current = state(r);
    return current ? JSON.stringify(current.d) : "";
  }

  /** The session's CSRF token: one HMAC, only for requests that read $session_csrf_token. */
  function csrfToken(r: NginxHTTPRequest): string {
    const binding = stateBinding(state(r));
    if (!binding) return "";
    try {
      return csrf.token(library.settings(requestContext(r).options), binding);
    } catch (e) {
      // A broken configuration already fails the access check that published the state.
      return "";
    }
  }

  /** The Cookie header for the upstream: without the session's cookies when clear_request_cookie is on. */
  function upstreamCookie(r: NginxHTTPRequest): string {
    const header = r.headersIn["Cookie"];
    if (header === undefined) return "";
    try {
      const context = requestContext(r);
      if (!context.entry.clear_request_cookie) return String(header);
      const settings = library.settings(context.options);
      const names: string[] = [];
      for (let i = 1; i <= MAX_COOKIES; i++) {
        names.push(chunkCookieName(settings.cookieName, i));
        names.push(chunkCookieName(settings.rememberCookieName, i));
      }
      return withoutSessionCookies(String(header), names) || "";
    } catch (e) {
      // A broken configuration already fails the access check; never hand session cookies on.
      return "";
    }
  }

  const handlers: { [name: string]: unknown } = {
    access: access,
    authRequest: authRequest,
    loginRedirect: loginRedirect,
    login: login,
    logoutHandler: logout,
    admin: admin,
    cleanupFiles: cleanupFiles,
    subject: subject,
    audience: audience,
    id: id,
    timeout: timeout,
    exists: exists,
    data: data,
    upstreamCookie: upstreamCookie,
    csrfToken: csrfToken,
  };

  // requestHeaderSubject, responseHeaderTimeout, ...: one js_set handler per Session-* header, empty
  // unless request_headers / response_headers names it (an empty proxy_set_header sends nothing).
  const headerNames = Object.keys(HEADER_NAMES)
    .map(function (property) {
      return HEADER_NAMES[property];
    })
    .filter(function (name, index, all) {
      return all.indexOf(name) === index;
    });
  for (let i = 0; i < headerNames.length; i++) {
    const headerName = headerNames[i];
    // "Session-Idling-Offset" → "IdlingOffset". No RegExp: under the njs engine this runs on every
    // request (the module is re-run per request), and twenty replace() calls cost more than a check.
    const suffix = headerName.substring("Session-".length).split("-").join("");
    handlers["requestHeader" + suffix] = function (r: NginxHTTPRequest): string {
      const current = state(r);
      return current && current.q[headerName] !== undefined ? current.q[headerName] : "";
    };
    handlers["responseHeader" + suffix] = function (r: NginxHTTPRequest): string {
      const current = state(r);
      return current && current.p[headerName] !== undefined ? current.p[headerName] : "";
    };
  }
  return handlers;
}
