/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The cold part: under the njs engine, the keyed steps of the session check without the whole module,
 * with the location's check view: a session cookie not verified before (a new visitor, a cookie just
 * re-issued) opened, and a verified one due for a touch touched. Every request there starts from the
 * module's top level, and building the full part (every storage, the Session, the configuration) costs
 * more than either. build/build.mjs compiles this file into njsSessionCold(), declared within the warm
 * part, which calls it only for those two, with a view that has a key (cookie or shm storage).
 *
 * They are the full check's own (cold-check.ts and touch-check.ts, the functions QuickJS runs there)
 * with the view's settings and key, and the same publishing. So they only ever finish a valid session
 * with nothing else to re-issue; whatever else (a fallback key, a re-save due, a registry to record a
 * touch in, a failure, anything thrown) answers false, and the full check runs, deciding, logging and
 * failing closed as always. What the cold check verified is in the verified cache by then, so the full
 * check does not decrypt it again.
 */

import { decodeBase64Url } from "../core/bytes";
import { coldCheck, ColdCheckSettings } from "../core/cold-check";
import { setResponseCookie } from "../core/cookies";
import { touchCheck, TouchCheckSettings } from "../core/touch-check";
import type { Platform } from "../core/platform";
import { createZoneVerifiedCache, VerifiedSession } from "../core/verified-cache";
import { createNjsCryptoPlatform, createNjsExchange, njsBindSource } from "../platform/njs";
import type { LocationView } from "./check-view";
import { CheckMode, publishSession } from "./publication";

/** A cold check never re-issues a cookie. */
const NO_COOKIES: string[] = [];
/** Only the current key: a cookie sealed with a fallback key is the full check's to re-seal. */
const NO_FALLBACKS: Uint8Array[] = [];

function declined(): boolean {
  return false;
}

/**
 * True once the request was checked and published; false (at once, or once decrypted): run the full
 * check. `cookie` is the value the warm check found (quickCookie), `now` its clock.
 */
function coldAccess(r: NginxHTTPRequest, mode: CheckMode, view: LocationView, cookie: string, now: number): boolean | Promise<boolean> {
  const platform = createNjsCryptoPlatform();
  const settings = keyedSettings(view, platform);
  if (!settings) return false;
  const opened = coldCheck(settings, platform, cookie, now, r, njsBindSource);
  if (!opened) return false;
  return opened.then(function (known) {
    if (!known) return false;
    try {
      publishSession(r, mode, known, view, view, NO_COOKIES);
      return true;
    } catch (e) {
      // As the warm check's: the full check meets the same problem, and reports it.
      return false;
    }
  }, declined);
}

/**
 * True once a cookie due for a touch (`verified`: its verified-cache entry) was touched, re-issued and
 * published, as the full check does it; false: run the full check.
 */
function touchAccess(r: NginxHTTPRequest, mode: CheckMode, view: LocationView, verified: VerifiedSession, cookie: string, now: number): boolean {
  const platform = createNjsCryptoPlatform();
  const settings = keyedSettings(view, platform);
  if (!settings) return false;
  const touched = touchCheck(verified, settings, platform, cookie, now, r, njsBindSource);
  if (!touched) return false;
  // Re-issued as the full check re-issues it (js_access: on the response; auth_request: handed back).
  const exchange = createNjsExchange(r);
  setResponseCookie(exchange, view.cookieName, touched.setCookie);
  publishSession(r, mode, touched.known, view, view, exchange.getResponseCookies());
  return true;
}

/**
 * The view's settings with its key, and its verified cache writable (the warm part only reads it);
 * null when the view has no key or its zone is gone.
 */
function keyedSettings(view: LocationView, platform: Platform): (ColdCheckSettings & TouchCheckSettings) | null {
  const ikm = view.key ? decodeBase64Url(view.key) : null;
  const zone = view.verifiedCache.zone;
  const dict = zone && platform.sharedDict ? platform.sharedDict(zone) : undefined;
  if (!ikm || !zone || !dict) return null;
  return Object.assign({}, view, { ikm: ikm, ikmFallbacks: NO_FALLBACKS, verifiedCache: createZoneVerifiedCache(dict, zone) });
}

export interface ColdPart {
  access: typeof coldAccess;
  touch: typeof touchAccess;
}

const part: ColdPart = { access: coldAccess, touch: touchAccess };

export default part;
