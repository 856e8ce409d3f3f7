/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The cold part: under the njs engine, a session cookie not verified before (a new visitor, a cookie
 * just re-issued) opened with the location's check view instead of the whole module. Every request
 * there starts from the module's top level, and building the full part (every storage, the Session,
 * the configuration) costs more than the cold check itself. build/build.mjs compiles this file into
 * njsSessionCold(), declared within the warm part, which calls it only for a cookie the verified cache
 * does not hold, with a view that has a key (cookie or shm storage).
 *
 * It is the full check's own cold check (cold-check.ts, the same function QuickJS runs there) with the
 * view's settings and key, and the same publishing. So it only ever finishes a valid session with
 * nothing to re-issue; whatever else (a fallback key, a refresh due, a failure, anything thrown)
 * answers false, and the full check runs, deciding, logging and failing closed as always. What it
 * verified is in the verified cache by then, so the full check does not decrypt it again.
 */

import { decodeBase64Url } from "../core/bytes";
import { coldCheck, ColdCheckSettings } from "../core/cold-check";
import { createNjsPlatform, njsBindSource } from "../platform/njs";
import type { LocationView } from "./check-view";
import { CheckMode, publicationOf, publishNow } from "./publication";

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
  const ikm = view.key ? decodeBase64Url(view.key) : null;
  if (!ikm) return false;
  const viewSettings = view.settings;
  const settings: ColdCheckSettings = Object.assign({}, viewSettings, { ikm: ikm, ikmFallbacks: NO_FALLBACKS });
  const opened = coldCheck(settings, createNjsPlatform(), cookie, now, r, njsBindSource);
  if (!opened) return false;
  return opened.then(function (known) {
    if (!known) return false;
    publishNow(r, mode, publicationOf(known, viewSettings, view.entry, null, now), NO_COOKIES);
    return true;
  }, declined);
}

export interface ColdPart {
  access: typeof coldAccess;
}

const part: ColdPart = { access: coldAccess };

export default part;
