/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The lazy part of dist/session.js: everything but the module's small eager part (index.ts), built
 * by build/build.mjs into one function that index.ts calls on the first request that needs it. Its
 * default export holds
 *   - the resty.session surface for users' own handlers, taking nginx's `r`
 *     (init, new, open, start, logout, destroy), and
 *   - the ready-made entry points (access, authRequest, login, logout, ...), see handlers.ts.
 * Its top level runs once per JS context under QuickJS, and under the njs engine once per request
 * that needs it (the engine starts every request from the module's top level).
 */

import { createSessionLibrary } from "../core/api";
import { configError } from "../core/errors";
import type { SessionOptions } from "../core/options";
import { createNjsExchange, createNjsPlatform } from "../platform/njs";
import type { EntryOptions } from "./configuration";
import { createEntryPoints, loadFileConfiguration } from "./handlers";
import { forgetAnswersInMemory } from "./known-answers";
import { registerBuiltinStorages } from "../storage";

registerBuiltinStorages();
const platform = createNjsPlatform();
const library = createSessionLibrary(platform);
// Read once when the module loads (per worker under QuickJS; before the per-request clone under njs).
const configuration = loadFileConfiguration(library);
const entryPoints = createEntryPoints(platform, library, configuration);

/**
 * init()'s options would reach the entry points too (access, login, admin, ...), and those run on
 * nginx's clock and random source: the fast and warm checks read the clock before any init() option,
 * the verified cache and the registry are shared by every worker, and a session id must never come
 * from a caller's bytes there. So `now` and `random` are refused here, not half honoured; a user's
 * own handlers pass them per call (session.open(r, { now })), which touches no entry point.
 */
function refuseSourcesInInit(table: { [name: string]: unknown }): void {
  const given = ["now", "random"].filter(function (name) {
    return table[name] !== undefined && table[name] !== null;
  });
  if (!given.length) return;
  throw configError(
    "init() in nginx takes no " + given.join(" or ") + ": the entry points (access, login, ...) run on nginx's own clock and random source; " +
      "pass " + given[0] + " to each call of your own handlers instead (session.open(r, { " + given[0] + " }))",
  );
}

/** resty.session's init(), plus the entry points' own options under `nginx`. */
function init(options?: SessionOptions & { nginx?: Partial<EntryOptions> }) {
  const sessionOptions: { [name: string]: unknown } = {};
  const table = (options || {}) as { [name: string]: unknown };
  refuseSourcesInInit(table);
  const names = Object.keys(table);
  for (let i = 0; i < names.length; i++) if (names[i] !== "nginx") sessionOptions[names[i]] = table[names[i]];
  library.init(sessionOptions as SessionOptions);
  if (options && options.nginx) configuration.entry = options.nginx;
  // Made with the settings init() may just have changed (QuickJS keeps them in the context).
  forgetAnswersInMemory();
}

const api: { [name: string]: unknown } = {
  init: init,
  new: function (r: NginxHTTPRequest, options?: SessionOptions) {
    return library.new(createNjsExchange(r), options);
  },
  open: function (r: NginxHTTPRequest, options?: SessionOptions) {
    return library.open(createNjsExchange(r), options);
  },
  start: function (r: NginxHTTPRequest, options?: SessionOptions) {
    return library.start(createNjsExchange(r), options);
  },
  logout: function (r: NginxHTTPRequest, options?: SessionOptions) {
    return library.logout(createNjsExchange(r), options);
  },
  destroy: function (r: NginxHTTPRequest, options?: SessionOptions) {
    return library.destroy(createNjsExchange(r), options);
  },
};

// The entry points under the names the nginx snippets use (`logout` above is the API helper; the
// logout location handler is `logoutHandler`).
const names = Object.keys(entryPoints);
for (let i = 0; i < names.length; i++) api[names[i]] = entryPoints[names[i]];

export default api;
