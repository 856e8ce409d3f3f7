/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The warm check: the session check of a request whose cookie was fully verified before, built
 * without the rest of the module. It is the njs engine's path: there every request starts from the
 * module's top level, and the rest (configuration, Session, storages) would be built again for each
 * one. build/build.mjs compiles this file into njsSessionWarm(), which index.ts calls first under the
 * njs engine (under QuickJS the rest is built once per context and its own check is cheaper).
 *
 * It finishes only what it can finish exactly as the full check (check.ts) would: the location's
 * settings are the ones the full check resolved (check-view.ts), the check is the same fastCheck (for
 * redis and memcached with store_revalidate, the same answer within the bound), and publishing is the
 * same publication.ts. For cookie and shm storage, a cookie the verified cache does not hold goes to the
 * cold part (cold.ts: the full check's own cold check), and one due for a touch only to the touch part
 * (touch.ts: its touch check). For redis and memcached, a session verified before is judged after the
 * same read of its record the full check makes (fast-store-check.ts askStore, by the read route the
 * view holds: warm-stores.ts), or within store_revalidate without it; whatever the read does not
 * settle plainly (a record gone or changed, a failed read, an open incident) goes to the full check.
 * Anything else (no view yet, no cookie, a re-save due, a CSRF check due, anything thrown) answers
 * false, and the full check runs, deciding, logging and failing closed as always.
 */

import { quickCookie } from "../core/cookies";
import { isSafeMethod } from "../core/csrf";
import { refreshDue, RefreshDue } from "../core/checks";
import { checkVerified, verifiedEntryOf } from "../core/fast-check";
import { njsBindSource, njsNow, njsSharedDict, njsWarmHashing } from "../platform/njs";
import { readCheckView } from "./check-view";
import type { StoreQuestion } from "../core/fast-store-check";
import type { StoreAnswer, StoreReadRoute } from "../core/storage";
import { CheckMode } from "./check-mode";
import { keepAnswer } from "./known-answers";
import { publishChecked } from "./warm-publication";
import type { StoreFailure } from "./store-reads";
import type { WarmStores } from "./warm-stores";
import type { ColdPart } from "./cold";
import type { TouchPart } from "./touch";

/** warm-stores.ts, compiled by build/build.mjs into this function of the warm part. */
declare function njsSessionWarmStores(): WarmStores;
/** cold.ts, likewise: built only for a cookie not verified before. */
declare function njsSessionCold(): ColdPart;
/** touch.ts, likewise: built only for a verified cookie due for a touch. */
declare function njsSessionTouch(): TouchPart;

/** A fast check never re-issues a cookie. */
const NO_COOKIES: string[] = [];

/** warm-stores.ts, built at most once per load of this part (each call of its function builds it anew). */
let builtStores: WarmStores | null = null;

function warmStores(): WarmStores {
  if (!builtStores) builtStores = njsSessionWarmStores();
  return builtStores;
}

/**
 * True when the request was checked and published; false: run the full check. A promise of either
 * when the cold part opens the cookie; when the store is asked for the session's record, a promise of
 * either or of the store's failure (the full check fails closed with it: check.ts storeFailed).
 */
function warmCheck(r: NginxHTTPRequest, mode: CheckMode, text: string, header: string | undefined, answerKey: string | null): boolean | Promise<boolean | StoreFailure> {
  try {
    const view = readCheckView(njsSharedDict, text, warmStores);
    if (!view) return false;
    // An auth_request subrequest is a GET: the client's method is the main request's.
    if (view.csrf && !isSafeMethod(mode === CheckMode.Access ? r.method : String(r.variables.request_method))) return false;
    const cookie = typeof header === "string" ? quickCookie(header, view.cookieName) : undefined;
    if (!cookie) return false;
    const now = njsNow();
    // fastCheck, in its two steps: whether the cache holds the cookie decides where a miss goes.
    const verified = verifiedEntryOf(view, cookie);
    let known = verified ? checkVerified(verified, view, njsWarmHashing, cookie, now, r, njsBindSource) : null;
    if (!known && (!view.storage || view.storage.synchronous)) {
      // Not verified before: the cold check (the cold part); due for a touch: the touch check (the touch
      // part). A network store's sessions are the full check's: no cold check opens them.
      if (!verified) return njsSessionCold().access(r, mode, view, text, cookie, now);
      if (refreshDue(view, verified, now) === RefreshDue.Touch) return njsSessionTouch().touch(r, mode, view, text, verified, cookie, now);
    }
    // store_revalidate: when the store confirmed the session, within the bound (the answer ends with it).
    let confirmedAt: number | undefined;
    if (!known && view.storage && !view.storage.synchronous) {
      // redis, memcached: the session the full check would ask the store about (else the full check)...
      const stores = warmStores();
      const entry = stores.storeCheckable(view, cookie, now);
      if (!entry) return false;
      // ...answered as the full check answers it: within store_revalidate, from what the store confirmed;
      confirmedAt = view.storeRevalidate > 0 ? stores.storeConfirmedAt(stores.platform, view, entry) : undefined;
      if (confirmedAt !== undefined) known = stores.answerWithinBound(entry, view, stores.platform, cookie, now, r, njsBindSource);
      // else after its read of the record, where the view has the read's route (store-reads.ts routedStore).
      else if (view.storage.ask) {
        // Where the store's answer goes: the session judged against the record as the full check judges
        // it (storeVerdict), and published. False when the record does not pass it or anything throws:
        // the full check then asks again and decides (a logout on another node: refused and logged
        // there). A failed round trip: the failure, for the full check to fail closed with. Never
        // rejects. Made here, not at the part's top level, which the njs engine runs on every warm
        // request, a network store's or not.
        const reads = stores.reads();
        const route = view.storage.readRoute as StoreReadRoute;
        const answer: StoreAnswer<boolean | StoreFailure> = {
          stored: function (asking, stored) {
            try {
              const found = reads.storeVerdict(asking as StoreQuestion<boolean | StoreFailure>, stored, view, stores.platform, now, r, njsBindSource);
              if (!found) return false;
              publishChecked(r, mode, found, view, NO_COOKIES);
              // store_revalidate: the answer for the bound, from the mark storeVerdict made.
              if (answerKey !== null && view.storeRevalidate > 0) keepAnswer(answerKey, view, found, now, stores.storeConfirmedAt(stores.platform, view, entry));
              return true;
            } catch (e) {
              return false;
            }
          },
          failed: function (asking, e) {
            const failure: StoreFailure = { route: route, reason: e };
            return failure;
          },
        };
        const question: StoreQuestion<boolean | StoreFailure> = { answer: answer, cookie: cookie, entry: entry };
        return reads.askStore(question, view, stores.platform, now);
      }
    }
    if (!known) return false;
    publishChecked(r, mode, known, view, NO_COOKIES);
    // For the worker's next requests with this header (known-answers.ts), where the answer is one.
    if (answerKey !== null) keepAnswer(answerKey, view, known, now, confirmedAt);
    return true;
  } catch (e) {
    // The full check meets the same problem, and reports it.
    return false;
  }
}

export default {
  /**
   * True when the request was checked and published; false: run the full check; or the store's
   * failure (warmCheck says when). `text` is the location's $session_location_config, `header` the
   * request's Cookie header, `answerKey` where known-answers.ts keeps this request's answer, or null
   * (index.ts read and made them).
   */
  check: warmCheck,
};
