/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The touch part: under the njs engine, a verified session cookie due for a touch only (its idle clock
 * restarted, the cookie re-issued) touched without the whole module, with the location's check view.
 * build/build.mjs compiles this file into njsSessionTouch(), declared within the warm part beside the
 * cold part (cold.ts), which the warm check calls only for such a cookie, with a view that has a key.
 *
 * It is the full check's own touch check (touch-check.ts) with the view's settings and key, re-issuing
 * the cookie as the full check does, and the same publishing. Whatever else (a registry to record the
 * touch in, a re-save due, anything thrown) answers false, and the full check runs, as always.
 */

import { touchCheck } from "../core/touch-check";
import type { VerifiedSession } from "../core/verified-cache";
import { createNjsMacPlatform, njsBindSource, njsSetResponseCookie, njsSharedDict } from "../platform/njs";
import type { LocationView } from "./check-view";
import { keyedView } from "./keyed-view";
import { CheckMode } from "./check-mode";
import { publishChecked } from "./warm-publication";

/**
 * True once a cookie due for a touch (`verified`: its verified-cache entry) was touched, re-issued and
 * published, as the full check does it; false: run the full check. `locationText` is the location's
 * $session_location_config (the view's and its key's); `cookie` and `now` are the warm check's.
 */
function touchAccess(
  r: NginxHTTPRequest,
  mode: CheckMode,
  view: LocationView,
  locationText: string,
  verified: VerifiedSession,
  cookie: string,
  now: number,
): boolean {
  const settings = keyedView(view, locationText, njsSharedDict);
  if (!settings) return false;
  // The key entry's PRK, as it is: no HMAC to make it on each request.
  const touched = touchCheck(verified, settings, createNjsMacPlatform(), cookie, now, r, njsBindSource, settings.prk);
  if (!touched) return false;
  // Re-issued as the full check re-issues it (js_access: on the response; auth_request: handed back).
  publishChecked(r, mode, touched.known, view, njsSetResponseCookie(r, view.cookieName, touched.setCookie));
  return true;
}

export interface TouchPart {
  touch: typeof touchAccess;
}

const part: TouchPart = { touch: touchAccess };

export default part;
