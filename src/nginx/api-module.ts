/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * dist/session-api.js: the resty.session surface for your own njs handlers, taking nginx's `r`
 * (init, new, open, start, logout, destroy), beside every entry point of session.js, so that a module
 * of yours can also hand this object on as the one njs-session.conf imports (docs/configuration.md,
 * "Configuration without code").
 *
 *   import session from "session-api.js";
 *   session.init({ secret: process.env.SESSION_SECRET, nginx: { login_url: "/login" } });
 *
 * Why a module of its own: under the njs engine every request runs the top level of every module its
 * http{} imports, and each exported function costs each of them ~550 instructions (docs/NOTES.md,
 * issue 14, branch njstax), while nginx.conf names only the entry points. Only an http{} that imports
 * a module of yours pays for these six. This module imports session.js (build/build.mjs makes the
 * import of ./index one of "session.js"): one instance, so init() here configures the entry points
 * too, and the full part is built once, through session.library().
 */

import session from "./index";

type Handler = (...args: unknown[]) => unknown;

/** session.js's default export as this module uses it. */
interface EagerModule {
  [name: string]: unknown;
  library(): { [name: string]: Handler };
}

const eager = session as unknown as EagerModule;

function init(options: unknown) {
  return eager.library().init(options);
}
function newSession(r: unknown, options: unknown) {
  return eager.library().new(r, options);
}
function open(r: unknown, options: unknown) {
  return eager.library().open(r, options);
}
function start(r: unknown, options: unknown) {
  return eager.library().start(r, options);
}
function logout(r: unknown, options: unknown) {
  return eager.library().logout(r, options);
}
function destroy(r: unknown, options: unknown) {
  return eager.library().destroy(r, options);
}

const api: { [name: string]: unknown } = {};
// session.js's entry points, the same functions (library() is session.js's own business).
const names = Object.keys(eager);
for (let i = 0; i < names.length; i++) if (names[i] !== "library") api[names[i]] = eager[names[i]];
api.init = init;
api.new = newSession;
api.open = open;
api.start = start;
api.logout = logout;
api.destroy = destroy;

export default api;
