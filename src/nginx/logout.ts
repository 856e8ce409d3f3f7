/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/** logoutHandler (js_content): POST with the CSRF token (logout_get: any method), then logs out. */

import { createNjsExchange } from "../platform/njs";
import type { CsrfChecks } from "./csrf";
import { EntryEnvironment, isLocalPath } from "./entry-context";

export function createLogoutHandler(env: EntryEnvironment, csrf: CsrfChecks) {
  const library = env.library;
  const requestContext = env.requestContext;
  const failClosed = env.failClosed;

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

  return logout;
}
