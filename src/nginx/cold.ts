/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The cold part: under the njs engine, a session cookie not verified before (a new visitor, a cookie
 * just re-issued) opened without the whole module, with the location's check view. Every request there
 * starts from the module's top level, and building the full part (every storage, the Session, the
 * configuration) costs more than this. build/build.mjs compiles this file into njsSessionCold(),
 * declared within the warm part, which calls it only for such a cookie, with a view that has a key
 * (cookie or shm storage). Its sibling, the touch part (touch.ts), touches a verified cookie due for a
 * touch: two parts, so that neither request loads the other's code.
 *
 * It is the full check's own cold check (cold-check.ts, the function QuickJS runs there) with the
 * view's settings and key, and the same publishing. So it only ever finishes a valid session with
 * nothing else to re-issue; whatever else (a fallback key, a re-save due, a failure, anything thrown)
 * answers false, and the full check runs, deciding, logging and failing closed as always. What the cold
 * check verified is in the verified cache by then, so the full check does not decrypt it again.
 */

import { coldCheck, ColdCheckSettings } from "../core/cold-check";
import { type VerifiedCache, type ZoneReader, zoneWriterSet } from "../core/verified-cache";
import { createNjsOpeningPlatform, njsBindSource, njsSharedDict } from "../platform/njs";
import type { LocationView } from "./check-view";
import { keyedView } from "./keyed-view";
import { CheckMode } from "./check-mode";
import { publishChecked } from "./warm-publication";

/** A cold check never re-issues a cookie. */
const NO_COOKIES: string[] = [];

function declined(): boolean {
  return false;
}

/**
 * True once the request was checked and published; false (at once, or once decrypted): run the full
 * check. `locationText` is the location's $session_location_config (the view's and its key's), `cookie`
 * the value the warm check found (quickCookie), `now` its clock.
 */
function coldAccess(r: NginxHTTPRequest, mode: CheckMode, view: LocationView, locationText: string, cookie: string, now: number): boolean | Promise<boolean> {
  const keyed = keyedView(view, locationText, njsSharedDict);
  if (!keyed) return false;
  // The verified cache writable (the warm part only reads it), for the cold check to fill: the view's
  // reader itself, given the zone writer's set, as keyedView sets the key on the view (the view is
  // made anew for each request). (The casts: the reader has its set from the line after it.)
  (keyed.verifiedCache as ZoneReader & Pick<VerifiedCache, "set">).set = zoneWriterSet;
  // The key entry's PRK, as it is: no HMAC to make it on each request.
  const opened = coldCheck(keyed as unknown as ColdCheckSettings, createNjsOpeningPlatform(), cookie, now, r, njsBindSource, keyed.prk);
  if (!opened) return false;
  return opened.then(function (known) {
    if (!known) return false;
    try {
      publishChecked(r, mode, known, view, NO_COOKIES);
      return true;
    } catch (e) {
      // As the warm check's: the full check meets the same problem, and reports it.
      return false;
    }
  }, declined);
}

export interface ColdPart {
  access: typeof coldAccess;
}

const part: ColdPart = { access: coldAccess };

export default part;
