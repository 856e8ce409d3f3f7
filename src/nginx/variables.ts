/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The js_set getters: synchronous, reading only this request's $session_state (never module scope:
 * QuickJS keeps it across requests). subject, audience, id, timeout, exists, data, csrfToken,
 * upstreamCookie, and a requestHeader... and a responseHeader... getter per Session-* header.
 */

import { HEADER_NAMES } from "../core/config";
import { chunkCookieName, withoutSessionCookies } from "../core/cookies";
import { MAX_COOKIES } from "../core/format";
import type { CsrfChecks } from "./csrf";
import { stateBinding } from "./csrf";
import type { EntryEnvironment } from "./entry-context";
import { decodeState, PublishedState } from "./state";

export function createVariableHandlers(env: EntryEnvironment, csrf: CsrfChecks): { [name: string]: (r: NginxHTTPRequest) => string } {
  const library = env.library;
  const requestContext = env.requestContext;

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

  const handlers: { [name: string]: (r: NginxHTTPRequest) => string } = {
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
