/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * Known answers: the njs engine's warm check (warm.ts), remembered per worker, location and Cookie
 * header, so that the worker's next requests with the same header publish it again without it.
 *
 * Under the njs engine every request starts from the module's top level, so a warm check loads the
 * warm part, parses the location's view and the verified-cache entry, runs the checks and builds the
 * state line again on every request. For most sessions, though, what it publishes is a function of
 * the Cookie header, the location's settings and the clock alone: cookie storage (no record to look
 * up), no registry (nothing to revoke), no CSRF check (the method does not matter), a session not
 * bound to request attributes, and nothing to publish but the state line (answerable). The warm check
 * that publishes such a session leaves its state line here with the last second at which every check
 * would still answer the same (checks.ts unchangedUntil: the timeouts, and no touch or re-save due),
 * and until then a request with the same header and location gets the same line, with the seconds
 * then left, from one zone read (index.ts finds the record, answer-part.ts publishes it). Past that
 * second, or with any other header, the warm check runs as before, and the full check behind it.
 *
 * The key (index.ts makes it, once per request, and hands it to the warm check) is keyed like the
 * check view (check-view.ts): the worker's pid scopes an answer to one configuration generation (a
 * rotated secret or a changed option never meets an older answer), and an answer lives at most
 * VIEW_SECONDS for the same reason the view does; the location text, after its length, scopes it to
 * the location's overrides. Then the whole Cookie header, as the warm check read it: the answer is the
 * warm check's for exactly this header, so nothing here looks for the session cookie in it, and
 * another cookie of the header changing only means another entry. Headers over 4096 characters get no
 * key: a client could otherwise fill the zone with large keys, at the price of a warm check each.
 *
 * The zone is njs_session_cache, which already holds what an answer holds (the verified sessions the
 * answers were published from) and never leaves the node's memory.
 */

import { FLAG_BIND_ANY } from "../core/format";
import { unchangedUntil } from "../core/checks";
import type { KnownSession } from "../core/fast-check";
import { DEFAULT_VERIFIED_CACHE_ZONE } from "../core/options";
import { closestTimeout } from "../core/properties";
import { dictTimeout } from "../core/shared-dict";
import type { VerifiedSession } from "../core/verified-cache";
import { njsNow, njsSharedDict } from "../platform/njs";
import { LocationView, VIEW_SECONDS } from "./check-view";
import { CheckMode } from "./check-mode";
import { publishesPlainly, publishStateText } from "./publication";
import { PLAIN_STATE_TAIL, stateLineAroundTimeout } from "./state";

/** A known answer publishes no cookie. */
const NO_COOKIES: string[] = [];

/**
 * Whether a session the warm check found valid in this location is answered the same until
 * unchangedUntil, whatever else the request carries: see the module's comment.
 */
function answerable(view: LocationView, verified: VerifiedSession): boolean {
  return (
    view.storage === null &&
    view.registry === null &&
    !view.csrf &&
    publishesPlainly(view, view) &&
    verified.bind === "" &&
    (verified.flags & FLAG_BIND_ANY) === 0
  );
}

/**
 * Leaves the answer the warm check just published for `known` (as of `now`) under `key`, for the
 * worker's next requests with the same location text and Cookie header, when it is one (answerable).
 *
 * The record, one line per field: the last second it holds; the second at which the closest timeout
 * falls ("" when none is configured: the state line's timeout field is then empty); the state line
 * before its timeout field; the state line after it. The state line holds no line feed (state.ts:
 * no field holds a control character but the TABs between them).
 */
export function keepAnswer(key: string, view: LocationView, verified: VerifiedSession, known: KnownSession, now: number): void {
  // Never throws: the warm check has published already, and its caller would run the full check too.
  try {
    if (!answerable(view, verified)) return;
    const timing = known.timing;
    const until = unchangedUntil(view, timing);
    const timeout = closestTimeout(view, timing);
    const parts = stateLineAroundTimeout(known.subject, known.audience, known.loggableId, timing.creationTime, PLAIN_STATE_TAIL);
    const record = until + "\n" + (timeout === undefined ? "" : now + timeout) + "\n" + parts[0] + "\n" + parts[1];
    const dict = njsSharedDict(DEFAULT_VERIFIED_CACHE_ZONE);
    if (dict) dict.set(key, record, dictTimeout(Math.min(until - now + 1, VIEW_SECONDS)));
  } catch (e) {
    // A full zone (declared without evict) only means the next request runs the warm check too.
  }
}

/**
 * Publishes a kept answer's record (index.ts found it under the request's key), if it holds now: true;
 * false: it does not (the warm check runs). Anything thrown ($session_state not declared, say) is false
 * too: the warm check, or the full one, meets it and reports it.
 */
export function publishKnownAnswer(r: NginxHTTPRequest, mode: CheckMode, record: string): boolean {
  try {
    const fields = record.split("\n");
    const now = njsNow();
    if (fields.length !== 4 || !(now <= Number(fields[0]))) return false;
    publishStateText(r, mode, fields[2] + (fields[1] === "" ? "" : Number(fields[1]) - now) + fields[3], NO_COOKIES);
    return true;
  } catch (e) {
    return false;
  }
}
