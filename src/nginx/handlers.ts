/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The ready-made nginx entry points, thin adapters from `r` to the core, gathered under the names the
 * nginx snippets use. Each lives in its own file: check.ts (access, authRequest, loginRedirect),
 * login.ts, logout.ts, admin.ts, variables.ts (two js_set getters), and cleanupFiles below; what they
 * share (configuration, request context, failing closed) is entry-context.ts.
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
 *   upstreamCookie, csrfToken: js_set handlers ($session_upstream_cookie, $session_csrf_token)
 * (The other $session_* variables are nginx maps over $session_state, state.ts; stateFromHeader, its
 * auth_request form, is index.ts's.)
 *
 * Every handler fails closed: a configuration problem is one error line (with the request id a user
 * can quote) and a 500 on a protected location; bad cookies are "no session", never a 500.
 */

import type { SessionLibrary } from "../core/api";
import type { Platform } from "../core/platform";
import { errorText } from "../core/session";
import { createAdminHandler } from "./admin";
import { createCheckHandlers } from "./check";
import { createCsrfChecks } from "./csrf";
import { createEntryEnvironment, EntryPointsConfiguration } from "./entry-context";
import { createLoginHandler } from "./login";
import { createLogoutHandler } from "./logout";
import { createVariableHandlers } from "./variables";

export { loadFileConfiguration } from "./entry-context";

export function createEntryPoints(platform: Platform, library: SessionLibrary, configuration: EntryPointsConfiguration) {
  const env = createEntryEnvironment(platform, library, configuration);
  const csrf = createCsrfChecks(platform, env.reference);
  const check = createCheckHandlers(env, csrf);
  const login = createLoginHandler(env);

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

  const handlers: { [name: string]: unknown } = {
    access: check.access,
    authRequest: check.authRequest,
    accessKnown: check.accessKnown,
    loginRedirect: check.loginRedirect,
    login: login.login,
    logoutHandler: createLogoutHandler(env, csrf),
    admin: createAdminHandler(env),
    cleanupFiles: cleanupFiles,
  };
  // Not entry points: what the njs engine's login part (login-part.ts) hands on to the full part, the
  // full save of a verdict and failing closed.
  handlers.loginSave = login.save;
  // And the check itself, given its mode: index.ts's access and authRequest call it directly, a call
  // fewer on every check (under QuickJS each distinct function a cold request calls is read from memory).
  handlers.check = check.check;
  // The njs engine's warm check, when the store could not answer its read (store-reads.ts StoreFailure).
  handlers.storeFailed = check.storeFailed;
  handlers.loginFailed = login.failClosed;
  const variables = createVariableHandlers(env, csrf);
  const names = Object.keys(variables);
  for (let i = 0; i < names.length; i++) handlers[names[i]] = variables[names[i]];
  return handlers;
}
