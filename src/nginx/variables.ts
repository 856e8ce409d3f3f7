/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The js_set getters that need the configuration: csrfToken and upstreamCookie. (The published
 * identity needs none: njs-session.conf's maps read it out of $session_state, state.ts.)
 */

import { chunkCookieName, withoutSessionCookies } from "../core/cookies";
import { MAX_COOKIES } from "../core/format";
import type { CsrfChecks } from "./csrf";
import { stateBinding } from "./csrf";
import type { EntryEnvironment } from "./entry-context";
import { decodeState } from "./state";

export function createVariableHandlers(env: EntryEnvironment, csrf: CsrfChecks): { [name: string]: (r: NginxHTTPRequest) => string } {
  const library = env.library;
  const requestContext = env.requestContext;

  /** The session's CSRF token: one HMAC, only for requests that read $session_csrf_token. */
  function csrfToken(r: NginxHTTPRequest): string {
    const binding = stateBinding(decodeState(r.variables.session_state));
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

  return { upstreamCookie: upstreamCookie, csrfToken: csrfToken };
}
