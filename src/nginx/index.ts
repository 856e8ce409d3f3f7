/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * dist/session.js, the njs module: its small eager part. The default export holds the ready-made
 * entry points (access, authRequest, loginRedirect, login, logoutHandler, admin, cleanupFiles, and
 * the js_set handlers upstreamCookie, csrfToken, stateFromHeader), see handlers.ts and
 * nginx/njs-session.conf, and library(), the built full part. The resty.session surface for users'
 * own handlers (init, new, open, start, logout, destroy) is dist/session-api.js (api-module.ts),
 * which reaches the full part through library(): a module of its own, so that an http{} that only
 * names the entry points does not pay for six more exported functions on every request.
 *
 * Why eager and lazy parts: under the njs engine every request starts from the module's top level
 * (ngx_njs_clone → njs_vm_start), for every js_import of the http{} block, whether or not the request
 * runs any of its code. So the top level here only declares one forwarding function per entry point.
 * (The $session_* variables need none: nginx's own maps read them out of $session_state, state.ts.)
 * Everything else (configuration, Session, storages, handlers) is full.ts, which build/build.mjs
 * compiles into the function njsSessionFull() and which is built on the first call that needs it:
 * once per JS context under QuickJS, once per request that needs it under the njs engine. Under the
 * njs engine a session check first tries warm.ts (njsSessionWarm()): a cookie verified before,
 * checked with the settings the full check left in the cache zone, without building the rest; and a
 * login first tries login-part.ts (njsSessionLogin()): the common login saved with those settings.
 */

import { refuseBelowFloor } from "./floor";
import type { retainedGet, retainedSet, retainedTable } from "../core/retained";
import { stateFromHeader } from "./state-header";
import { CheckMode } from "./check-mode";
import type { StoreFailure } from "./store-reads";

/** The package's version (package.json's; a unit test holds them together). */
const VERSION = "0.1.0";

type Handler = (...args: unknown[]) => unknown;

/** What full.ts's default export holds. */
interface FullModule {
  [name: string]: Handler;
}

/** retained.ts's exports, handed to each lazy part (build/build.mjs SHARED_MODULES). */
interface SharedModules {
  retainedTable: typeof retainedTable;
  retainedGet: typeof retainedGet;
  retainedSet: typeof retainedSet;
}

/**
 * retained.ts (state that outlives a request), compiled by build/build.mjs into a function of the
 * bundle's top level like the other lazy parts: its tables and functions are made only in a request
 * that builds a lazy part, not in every request the njs engine runs this top level for.
 */
declare function njsSessionRetained(): SharedModules;

/**
 * full.ts, compiled likewise. The modules both lazy parts need a single instance of (retained.ts)
 * are handed in.
 */
declare function njsSessionFull(shared: SharedModules): FullModule;

/**
 * True: checked and published; false: the full check decides; a promise of either (the cold part), or
 * of the store's failure (a redis or memcached read: the full check fails closed with it).
 */
type WarmAnswer = boolean | Promise<boolean | StoreFailure>;

/** warm.ts's default export, compiled likewise into njsSessionWarm(). */
interface WarmModule {
  check(r: NginxHTTPRequest, mode: CheckMode, locationText: string, cookieHeader: string | undefined, answerKey: string | null): WarmAnswer;
}
declare function njsSessionWarm(shared: SharedModules): WarmModule;

/** answer-part.ts's default export, compiled likewise into njsSessionAnswers(). */
interface AnswersModule {
  publish(r: NginxHTTPRequest, mode: CheckMode, record: string): boolean;
}
declare function njsSessionAnswers(): AnswersModule;

/** login-part.ts's default export, compiled likewise into njsSessionLogin(): the login answered, or false. */
interface LoginModule {
  login(r: unknown, full: () => FullModule): Promise<void> | false;
}
declare function njsSessionLogin(shared: SharedModules): LoginModule;

// The lazy parts once built. Module variables, not retained.ts slots, so that retained.ts itself can
// be a lazy part. They hold code only, never a request's data: under QuickJS they live on with the
// context, under the njs engine for one request (retained.ts says why).
let retainedPart: SharedModules | undefined;
let fullPart: FullModule | undefined;
let warmPart: WarmModule | undefined;

function full(): FullModule {
  if (!fullPart) {
    refuseBelowFloor();
    if (!retainedPart) retainedPart = njsSessionRetained();
    fullPart = njsSessionFull(retainedPart);
  }
  return fullPart;
}

/**
 * The session check in `mode` before the rest is built. Under the njs engine, in a request that has
 * not built the rest anyway (a user's module may have called init() already), first the check without
 * it: the answer a warm check of the worker kept for this location and Cookie header (known-answers.ts,
 * its own small part), then the warm check (warm.ts); both get the location's text and the header read
 * here once. Under QuickJS the rest lives on in the context, and its own check is cheaper than reading
 * the warm check's settings from the zone. One function, not two: the njs engine declares each of the
 * eager part's functions on every request.
 */
function check(r: unknown, mode: CheckMode) {
  let answer: WarmAnswer = false;
  if ((njs as unknown as { engine?: string }).engine !== "QuickJS") {
    refuseBelowFloor();
    const request = r as NginxHTTPRequest;
    const text = request.variables.session_location_config;
    if (typeof text === "string") {
      const header = request.headersIn["Cookie"];
      // The answer's key in njs_session_cache: answer-key.ts's zoneAnswerKey, for this worker or, in
      // auth_request mode, the worker a front named (namedFront). Written out here, not called: under
      // the njs engine each function of this part is declared on every request of the http{} block.
      // Made here, not in the answers' part: a request with no answer kept (a new cookie, a touch, a
      // location whose answers depend on more) then builds no part for it.
      const named = mode === CheckMode.AuthRequest ? request.variables.session_front_scope : undefined;
      const worker = typeof named === "string" && named.length > 0 && named.length <= 10 && /^[0-9]+$/.test(named) ? named : process.pid;
      const key = typeof header === "string" && header.length <= 4096 ? "@answer/1:" + worker + ":" + text.length + ":" + text + header : null;
      let record: unknown;
      try {
        const zone = key === null ? undefined : (ngx as unknown as { shared?: { [zone: string]: { get(key: string): unknown } | undefined } }).shared;
        const dict = zone ? zone.njs_session_cache : undefined;
        record = dict ? dict.get(key as string) : undefined;
      } catch (e) {
        // No answer: the warm check, or the full one, meets whatever this was, and reports it.
      }
      if (typeof record === "string" && njsSessionAnswers().publish(request, mode, record)) return;
      if (mode !== CheckMode.Known) {
        if (!warmPart) {
          if (!retainedPart) retainedPart = njsSessionRetained();
          warmPart = njsSessionWarm(retainedPart);
        }
        answer = warmPart.check(request, mode, text, header, key);
      }
    }
    if (mode === CheckMode.Known) {
      // In front of the check server, no answer: the check server's, undecided here. This worker named,
      // so that it leaves the answer it makes where this front looks (answer-key.ts); a js_var not
      // declared only means that it does not.
      try {
        request.variables.session_front_scope = String(process.pid);
      } catch (e) {
        // Undecided all the same.
      }
      return;
    }
  }
  if (answer === true) return;
  if (answer === false) return full().check(r, mode);
  return answer.then(function (checked) {
    if (checked === true) return;
    return checked === false ? full().check(r, mode) : full().storeFailed(r, mode, checked);
  });
}

// One declared function per entry point: cheaper at load than closures made in a loop, and each
// passes on exactly what nginx or a user's module hands it.
function access(r: unknown) {
  // Once the rest is built (for the context under QuickJS), straight to its check: a call fewer.
  if (fullPart) return fullPart.check(r, CheckMode.Access);
  return check(r, CheckMode.Access);
}
function authRequest(r: unknown) {
  if (fullPart) return fullPart.check(r, CheckMode.AuthRequest);
  return check(r, CheckMode.AuthRequest);
}
function accessKnown(r: unknown) {
  if (fullPart) return fullPart.accessKnown(r);
  // The njs engine's front needs no more than the answers; QuickJS's keeps them in the built part.
  if ((njs as unknown as { engine?: string }).engine !== "QuickJS") return check(r, CheckMode.Known);
  return full().accessKnown(r);
}
function loginRedirect(r: unknown) {
  return full().loginRedirect(r);
}
function login(r: unknown) {
  // Under the njs engine, in a request that has not built the rest: the login part first (the common
  // login, with the check view; it asks the backend itself), as the warm part is for the check.
  if (!fullPart && (njs as unknown as { engine?: string }).engine !== "QuickJS") {
    refuseBelowFloor();
    if (!retainedPart) retainedPart = njsSessionRetained();
    const answer = njsSessionLogin(retainedPart).login(r, full);
    if (answer !== false) return answer;
  }
  // The built part read in place, as access does: a call fewer on every QuickJS login.
  return (fullPart || full()).login(r);
}
function logoutHandler(r: unknown) {
  return full().logoutHandler(r);
}
function admin(r: unknown) {
  return full().admin(r);
}
function cleanupFiles() {
  return full().cleanupFiles();
}
function upstreamCookie(r: unknown) {
  return full().upstreamCookie(r);
}
function csrfToken(r: unknown) {
  return full().csrfToken(r);
}

const api: { [name: string]: unknown } = {
  version: VERSION,
  // For dist/session-api.js: the full part, built on first call (its init, new, open, ...).
  library: full,
  access: access,
  authRequest: authRequest,
  accessKnown: accessKnown,
  loginRedirect: loginRedirect,
  login: login,
  logoutHandler: logoutHandler,
  admin: admin,
  cleanupFiles: cleanupFiles,
  upstreamCookie: upstreamCookie,
  csrfToken: csrfToken,
  stateFromHeader: stateFromHeader,
};

export default api;
