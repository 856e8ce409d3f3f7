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

import type { Settings } from "../core/config";
import { isSafeMethod } from "../core/csrf";
import { fastCheck } from "../core/fast-check";
import { MaybePromise, then } from "../core/maybe";
import { quickCookie } from "../core/cookies";
import { loggableId, Session } from "../core/session";
import { createNjsExchange, njsBindSource } from "../platform/njs";
import type { CsrfChecks } from "./csrf";
import { stateBinding } from "./csrf";
import type { EntryEnvironment, RequestContext } from "./entry-context";
import { CheckMode, knownSource, Publication, publicationOf, publishNow, StateSource } from "./publication";
import { keepCheckView } from "./check-view";

export { MAX_FORWARDED_COOKIES } from "./publication";

/** A fast check never re-issues a cookie. */
const NO_COOKIES: string[] = [];

export function createCheckHandlers(env: EntryEnvironment, csrf: CsrfChecks) {
  const platform = env.platform;
  const library = env.library;
  const requestContext = env.requestContext;
  const failClosed = env.failClosed;
  const deny = env.deny;
  const respond = env.respond;

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
      // Under the njs engine: what the next requests' warm check (warm.ts) needs to run without this part.
      if (!platform.keepsModuleState) keepCheckView(platform, context.locationText, settings, context.entry);
      const now = platform.now();
      const header = r.headersIn["Cookie"];
      // Not nginx's $cookie_<name>: it matches names regardless of case, so a value cached under
      // "session" would also pass as "SESSION" (or "__HOST-session", planted next to __Host-session).
      const cookie = typeof header === "string" ? quickCookie(header, settings.cookieName) : undefined;
      const known = fastCheck(settings, platform, cookie || undefined, now, r, njsBindSource);
      if (known) {
        let publication = known.publication as Publication | undefined;
        if (!publication || publication.at !== now || publication.context !== context || publication.settings !== settings) {
          publication = publicationOf(knownSource(known, settings), settings, context.entry, context, now);
          known.publication = publication;
        }
        return publish(r, mode, context, settings, publication, NO_COOKIES);
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
        return publish(r, mode, context, settings, publicationOf(sessionSource(started.session), settings, context.entry, context, 0), exchange.getResponseCookies());
      },
    );
  }

  function denied(r: NginxHTTPRequest, mode: CheckMode, context: RequestContext): void {
    if (mode === CheckMode.Access) deny(r, context.entry);
    else r.return(context.entry.unauthorized_status);
  }

  function publish(
    r: NginxHTTPRequest,
    mode: CheckMode,
    context: RequestContext,
    settings: Settings,
    publication: Publication,
    cookies: string[],
  ): MaybePromise<void> {
    const entry = context.entry;
    if (entry.csrf) {
      // An auth_request subrequest is a GET: the client's method is the main request's.
      const method = mode === CheckMode.Access ? r.method : String(r.variables.request_method);
      if (!isSafeMethod(method)) {
        const binding = stateBinding(publication.state);
        // Every session has a creation time; should one not, the check fails closed rather than open.
        if (!binding) throw new Error("no creation time to check the CSRF token against");
        return then(csrf.check(r, method, entry, settings, binding, mode === CheckMode.Access), function (passed) {
          if (passed) publishNow(r, mode, publication, cookies, !platform.keepsModuleState);
        });
      }
    }
    publishNow(r, mode, publication, cookies, !platform.keepsModuleState);
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
