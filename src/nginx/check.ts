/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The session check of both modes, the hot path:
 *
 *   access        js_access: open + refresh (as start()); no session → 401/403 or a login redirect
 *   authRequest   js_content behind auth_request (njs < 0.9.9): 204 or 401/403, cookies and identity
 *                 carried back in X-Session-* headers for auth_request_set
 *   loginRedirect js_content for `error_page 401 = @...` in auth_request mode
 *
 * What it finds is published (publishable.ts's rule) in $session_state for the js_set getters
 * (variables.ts), and, with `csrf` on, an unsafe method must carry the session's token (csrf.ts).
 */

import { HEADER_NAMES, Settings } from "../core/config";
import { isSafeMethod } from "../core/csrf";
import { fastCheck, KnownSession } from "../core/fast-check";
import { MAX_COOKIES } from "../core/format";
import { MaybePromise, then } from "../core/maybe";
import { timingProperty } from "../core/properties";
import { publishedData } from "../core/publishable";
import { quickCookie } from "../core/cookies";
import type { Session } from "../core/session";
import { createNjsExchange, njsBindSource } from "../platform/njs";
import type { EntryOptions } from "./configuration";
import type { CsrfChecks } from "./csrf";
import { stateBinding } from "./csrf";
import type { EntryEnvironment, RequestContext } from "./entry-context";
import { encodeState, PublishedState } from "./state";

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

export function createCheckHandlers(env: EntryEnvironment, csrf: CsrfChecks) {
  const platform = env.platform;
  const library = env.library;
  const requestContext = env.requestContext;
  const failClosed = env.failClosed;
  const deny = env.deny;
  const setVariable = env.setVariable;
  const respond = env.respond;

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
      // The session computed it for the verified cache already, if it filled it.
      loggableId: session.loggableId() as string,
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

  return { access: access, authRequest: authRequest, loginRedirect: loginRedirect };
}
