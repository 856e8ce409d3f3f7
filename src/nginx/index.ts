/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * dist/session.js: the njs module. Its default export holds
 *   - the resty.session surface for users' own handlers, taking nginx's `r`
 *     (init, new, open, start, logout, destroy), and
 *   - the ready-made entry points (access, authRequest, login, logout, js_set handlers), see
 *     handlers.ts and nginx/njs-session.conf.
 *
 *   import session from "session.js";
 *   session.init({ secret: process.env.SESSION_SECRET, nginx: { login_url: "/login" } });
 */

// First: refuses an njs older than the floor before any other code of the bundle runs.
import "./floor";
import { createSessionLibrary } from "../core/api";
import type { SessionOptions } from "../core/config";
import { createNjsExchange, createNjsPlatform } from "../platform/njs";
import type { EntryOptions } from "./configuration";
import { createEntryPoints, loadFileConfiguration } from "./handlers";
import { registerBuiltinStorages } from "../storage";

const VERSION = "0.1.0";

registerBuiltinStorages();
const platform = createNjsPlatform();
const library = createSessionLibrary(platform);
// Read once when the module loads (per worker under QuickJS; before the per-request clone under njs).
const configuration = loadFileConfiguration(library);
const entryPoints = createEntryPoints(platform, library, configuration);

/** resty.session's init(), plus the entry points' own options under `nginx`. */
function init(options?: SessionOptions & { nginx?: Partial<EntryOptions> }) {
  const sessionOptions: { [name: string]: unknown } = {};
  const table = (options || {}) as { [name: string]: unknown };
  const names = Object.keys(table);
  for (let i = 0; i < names.length; i++) if (names[i] !== "nginx") sessionOptions[names[i]] = table[names[i]];
  library.init(sessionOptions as SessionOptions);
  if (options && options.nginx) configuration.entry = options.nginx;
}

const api: { [name: string]: unknown } = {
  version: VERSION,
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
