/**
 * dist/session.js: the njs module. Its default export is the resty.session surface for users' own
 * njs handlers, taking nginx's request object `r`:
 *
 *   import session from "session.js";
 *   session.init({ secret: process.env.SESSION_SECRET });
 *   async function handler(r) {
 *     const opened = await session.start(r, { audience: "app" });
 *     ...
 *   }
 */

/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />

import { createSessionLibrary } from "../core/api";
import type { SessionOptions } from "../core/config";
import { createNjsExchange, createNjsPlatform } from "../platform/njs";

const VERSION = "0.1.0";

const platform = createNjsPlatform();
const library = createSessionLibrary(platform);

function init(options?: SessionOptions) {
  library.init(options);
}

function newSession(r: NginxHTTPRequest, options?: SessionOptions) {
  return library.new(createNjsExchange(r), options);
}

function open(r: NginxHTTPRequest, options?: SessionOptions) {
  return library.open(createNjsExchange(r), options);
}

function start(r: NginxHTTPRequest, options?: SessionOptions) {
  return library.start(createNjsExchange(r), options);
}

function logout(r: NginxHTTPRequest, options?: SessionOptions) {
  return library.logout(createNjsExchange(r), options);
}

function destroy(r: NginxHTTPRequest, options?: SessionOptions) {
  return library.destroy(createNjsExchange(r), options);
}

export default {
  version: VERSION,
  init: init,
  new: newSession,
  open: open,
  start: start,
  logout: logout,
  destroy: destroy,
};
