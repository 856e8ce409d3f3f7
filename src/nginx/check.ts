/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The session check of both modes, the hot path:
 *
 *   access        js_access: open + refresh (as start()); no session → 401/403 or a login redirect
 *   authRequest   js_content behind auth_request (njs < 0.9.9): 204 or 401/403, cookies and identity
 *                 carried back in X-Session-* headers for auth_request_set
 *   loginRedirect js_content for `error_page 401 = @...` in auth_request mode
 *
 * What it finds is published (publishable.ts's rule) by publication.ts, in $session_state for
 * njs-session.conf's maps, and, with `csrf` on, an unsafe method must carry the session's token
 * (csrf.ts). Under the njs engine a cookie verified before is checked by warm.ts first, without this
 * part of the module; the full check leaves it the settings it needs (check-view.ts).
 */

import type { Settings } from "../core/settings";
import { isSafeMethod } from "../core/csrf";
import { checkVerified, KnownSession, verifiedEntryOf, verifiedTailEntryOf } from "../core/fast-check";
import { answerWithinBound, askStore, StoreQuestion, storeCheckable, storeConfirmedAt, storeVerdict } from "../core/fast-store-check";
import { coldCheck } from "../core/cold-check";
import { touchCheck } from "../core/touch-check";
import { isStoreUnavailable } from "../core/errors";
import { isPromise, MaybePromise, then } from "../core/maybe";
import type { StoreAnswer } from "../core/storage";
import { cookieTail, tailValue } from "../core/cookies";
import type { CookieMeta, Session } from "../core/session";
import { createNjsExchange, njsBindSource, njsSetResponseCookie } from "../platform/njs";
import { keepCheckView } from "./check-view";
import { answersInMemory, confirmedAnswerOf, keepInMemory, KnownAnswer, knownAnswerOf, leaveAnswer, leftAnswer, publishAnswer } from "./known-answers";
import { memoryAnswerKey, namedFront, workerPid, zoneAnswerKey } from "./answer-key";
import type { BoundedTable } from "../core/retained";
import type { CsrfChecks } from "./csrf";
import { publicationBinding } from "./csrf";
import type { EntryEnvironment, RequestContext } from "./entry-context";
import { CheckMode } from "./check-mode";
import { Publication, publicationOf, publishNow, StateSource } from "./publication";
import { answerOutageToAuthRequest, reportedOutageStatus } from "./store-outage";
import type { StoreFailure } from "./store-reads";
import { roundTripFailed } from "../storage/remote";

export { MAX_FORWARDED_COOKIES } from "./publication";

/** A fast check never re-issues a cookie. */
const NO_COOKIES: string[] = [];

/** A check waiting for the store's answer: the question, and what the check needs to go on (storeAnswer). */
interface PendingStoreCheck extends StoreQuestion<MaybePromise<void>> {
  r: NginxHTTPRequest;
  mode: CheckMode;
  settings: Settings;
  context: RequestContext;
  now: number;
}

export function createCheckHandlers(env: EntryEnvironment, csrf: CsrfChecks) {
  const platform = env.platform;
  const library = env.library;
  const requestContext = env.requestContext;
  const failClosed = env.failClosed;
  const deny = env.deny;
  // QuickJS's known answers (retained.ts holds the table; the njs engine keeps its own in the zone).
  const answers = platform.keepsModuleState ? answersInMemory() : null;

  function sessionSource(session: Session): StateSource {
    return {
      subject: session.getSubject(),
      audience: session.getAudience(),
      // The session computed it for the verified cache already, if it filled it.
      loggableId: session.loggableId() as string,
      data: session.getData(),
      // An open session has its cookie's fields, as of this request.
      timing: session.meta as CookieMeta,
    };
  }

  /**
   * Where the store's answer to a check goes (askStore), one object for every check: the store-backed
   * fast check's finding published, or the full path when it found nothing it could pass; a store that
   * could not answer fails the check. Nothing escapes either: the promise they resolve has no handler.
   * Declared before check(), which reads it: the njs engine refuses a closure's read of a const declared
   * after the closure ("cannot access variable before initialization").
   */
  const storeAnswer: StoreAnswer<MaybePromise<void>> = {
    stored: function (asking, stored) {
      const pending = asking as PendingStoreCheck;
      let found: KnownSession | null;
      try {
        found = storeVerdict(pending, stored, pending.settings, platform, pending.now, pending.r, njsBindSource);
      } catch (e) {
        return failCheck(pending.r, pending.mode, e);
      }
      const published = publishFound(pending.r, pending.mode, found, pending.settings, pending.context, pending.now);
      // store_revalidate: the store confirmed it just now (storeVerdict marked it).
      if (found && pending.settings.storeRevalidate > 0) {
        keepConfirmedAnswer(pending.r, pending.mode, pending.settings, pending.context, found, pending.now, storeConfirmedAt(platform, pending.settings, pending.entry));
      }
      return published;
    },
    failed: function (asking, e) {
      const pending = asking as PendingStoreCheck;
      failCheck(pending.r, pending.mode, e);
    },
  };

  /**
   * The session check of both modes. Under QuickJS, first the answer a check in this context kept for
   * the location and Cookie header, while it holds (known-answers.ts): published without checking.
   * Then the fast check (fast-check.ts: a cookie verified before, nothing to re-issue): no Session, no
   * promise, and what it publishes is kept on the session for the rest of the second (the state only
   * changes with the clock). With redis or memcached storage, the same check after its one store read
   * (fast-store-check.ts). A cookie verified before and due for a touch only is touched without a
   * Session (touch-check.ts). With cookie or shm storage, a cookie not seen before is verified without
   * a Session (cold-check.ts) and then judged by the same check. Else
   * the full start() (open, refresh), synchronous too when it can be.
   */
  function check(r: NginxHTTPRequest, mode: CheckMode): MaybePromise<void> {
    let context: RequestContext;
    let settings: Settings;
    try {
      const locationText = r.variables.session_location_config;
      const header = r.headersIn["Cookie"];
      // QuickJS: the answer a check in this context kept for this location and header (known-answers.ts).
      const answerKey = answers && typeof locationText === "string" ? memoryAnswerKey(locationText, header) : null;
      if (answerKey !== null) {
        const answer = (answers as BoundedTable<KnownAnswer>).get(answerKey);
        if (answer !== undefined) {
          const now = platform.now();
          if (publishAnswer(r, mode, answer, now)) {
            // The check server, for a front that had none: the answer where that front looks.
            if (mode === CheckMode.AuthRequest) leaveForFront(r, mode, locationText as string, header, answer, now);
            return;
          }
        }
      }
      context = requestContext(r, locationText);
      settings = library.settings(context.options);
      // Under the njs engine: what the next requests' warm check (warm.ts) needs to run without this part.
      if (!platform.keepsModuleState) keepCheckView(platform, context.locationText, settings, context.entry);
      const now = platform.now();
      // Not nginx's $cookie_<name>: it matches names regardless of case, so a value cached under
      // "session" would also pass as "SESSION" (or "__HOST-session", planted next to __Host-session).
      const tail = typeof header === "string" ? cookieTail(header, settings.cookieName) : undefined;
      // The fast check (fastCheck's two steps: the cookie's verified entry is looked up here). First by
      // the tail, in worker memory (QuickJS): the common warm request, whose value runs to the header's
      // end, then needs no search for the value's end; a miss, by the value.
      let verified = tail ? verifiedTailEntryOf(settings, tail) : null;
      const cookie = verified ? tail : typeof tail === "string" ? tailValue(tail) : tail;
      // (A value that runs to the header's end is the tail, which worker memory just missed.)
      if (!verified) verified = verifiedEntryOf(settings, cookie || undefined, cookie === tail);
      const known = verified ? checkVerified(verified, settings, platform, cookie as string, now, r, njsBindSource) : null;
      if (known) {
        const published = publishKnown(r, mode, known, settings, context, now);
        const answer = answerKey !== null ? knownAnswerOf(settings, context.entry, known, now) : null;
        if (answer) keepMadeAnswer(r, mode, locationText as string, header, answerKey, answer, now);
        return published;
      }
      // Verified before and due for a touch only: touched without a Session (touch-check.ts).
      const touched = verified ? touchCheck(verified, settings, platform, cookie as string, now, r, njsBindSource) : null;
      if (touched) {
        // Re-issued as the Session re-issues it (js_access: on the response; auth_request: handed back).
        const cookies = njsSetResponseCookie(r, settings.cookieName, touched.setCookie);
        return publish(r, mode, context, settings, publicationOf(touched.known, settings, context.entry, context, now), cookies);
      }
      // Redis, memcached: the same check, after the one store read it needs. (Asked only of such a
      // storage: one call fewer on every cold check of the others.)
      const asked = settings.storage && !settings.storage.synchronous ? storeCheckable(settings, cookie || undefined, now) : null;
      if (asked) {
        // store_revalidate: what the store said about this session within the bound (store-revalidation.ts).
        const confirmedAt = settings.storeRevalidate > 0 ? storeConfirmedAt(platform, settings, asked) : undefined;
        const recent = confirmedAt !== undefined ? answerWithinBound(asked, settings, platform, cookie as string, now, r, njsBindSource) : null;
        if (recent) {
          const published = publishKnown(r, mode, recent, settings, context, now);
          keepConfirmedAnswer(r, mode, settings, context, recent, now, confirmedAt);
          return published;
        }
        // The check goes on in the step the store's reply arrives (storeAnswer): a promise step of its
        // own, and the closures to reach it, cost the interpreter more than publishing.
        const pending: PendingStoreCheck = { answer: storeAnswer, cookie: cookie as string, entry: asked, r: r, mode: mode, settings: settings, context: context, now: now };
        // (Resolved with what publishing returns, a promise included: a promise then takes its value.)
        return askStore(pending, settings, platform, now, r) as Promise<void>;
      }
      // A cookie not verified before: opened without a Session when it can be, then the same fast check.
      const opened = coldCheck(settings, platform, cookie || undefined, now, r, njsBindSource);
      if (opened) {
        return opened.then(
          function (found) {
            return publishFound(r, mode, found, settings, context, now);
          },
          function (e) {
            failCheck(r, mode, e);
          },
        );
      }
    } catch (e) {
      return failCheck(r, mode, e);
    }
    return fullCheck(r, mode, context, settings);
  }

  /**
   * In auth_request mode (the check server, or this worker's own subrequest): leaves `answer` (made as of
   * `now`) in the zone for the front that named itself (answer-key.ts), if one did. Never throws: the
   * check publishes either way.
   */
  function leaveForFront(r: NginxHTTPRequest, mode: CheckMode, locationText: string, header: unknown, answer: KnownAnswer, now: number): void {
    try {
      const front = namedFront(r, mode);
      const key = front === null ? null : zoneAnswerKey(front, locationText, header);
      if (key !== null) leaveAnswer(key, answer, now);
    } catch (e) {
      // No answer left: the front asks again.
    }
  }

  /**
   * An answer a check just published (as of `now`), kept where the next requests with this location
   * `text` and Cookie `header` look first: QuickJS's memory under `memoryKey`, and the zone for a front
   * that named itself; the njs engine's zone, for this worker or that front (index.ts looks there).
   */
  function keepMadeAnswer(r: NginxHTTPRequest, mode: CheckMode, text: string, header: unknown, memoryKey: string | null, answer: KnownAnswer, now: number): void {
    if (answers) {
      if (memoryKey !== null) keepInMemory(answers, memoryKey, answer);
      if (mode === CheckMode.AuthRequest) leaveForFront(r, mode, text, header, answer, now);
      return;
    }
    const key = zoneAnswerKey(namedFront(r, mode) || workerPid(), text, header);
    if (key !== null) leaveAnswer(key, answer, now);
  }

  /**
   * store_revalidate: the answer a check published (as of `now`) for a session the store confirmed at
   * `confirmedAt` (store-revalidation.ts's mark; known-answers.ts confirmedAnswerOf), kept as
   * keepMadeAnswer keeps answers. Never throws: the check has published already.
   */
  function keepConfirmedAnswer(r: NginxHTTPRequest, mode: CheckMode, settings: Settings, context: RequestContext, found: KnownSession, now: number, confirmedAt: number | undefined): void {
    try {
      const answer = confirmedAt === undefined ? null : confirmedAnswerOf(settings, context.entry, found, now, confirmedAt);
      const text = context.locationText;
      if (answer === null || text === undefined) return;
      const header = r.headersIn["Cookie"];
      keepMadeAnswer(r, mode, text, header, answers ? memoryAnswerKey(text, header) : null, answer, now);
    } catch (e) {
      // Nothing kept: the next request is checked (within the bound, without asking the store).
    }
  }

  /**
   * js_access in front of the check server (`session.accessKnown`, CheckMode.Known): publishes the
   * answer a check left for this location and Cookie header (in worker memory, else in the zone, left
   * for this worker: answer-key.ts), while it holds; else names this worker in $session_front_scope,
   * so that the check server leaves the answer it makes where this front looks, and leaves the request
   * to it, undecided. Never denies and never throws: whatever goes wrong here, the check server decides.
   * The check server leaves the answers of cookies it verified before (the fast check's, its memory
   * answers'), not the cold check's: a new cookie's first request is often its last (a bot's, a client
   * that keeps no cookies), and a cold check that leaves its answer costs ~45k instructions more.
   */
  function accessKnown(r: NginxHTTPRequest): void {
    try {
      const locationText = r.variables.session_location_config;
      const header = r.headersIn["Cookie"];
      if (typeof locationText === "string") {
        const now = platform.now();
        const memoryKey = answers ? memoryAnswerKey(locationText, header) : null;
        const answer = memoryKey !== null ? (answers as BoundedTable<KnownAnswer>).get(memoryKey) : undefined;
        if (answer !== undefined && publishAnswer(r, CheckMode.Known, answer, now)) return;
        // None in memory that holds now: the zone's, kept in memory once found.
        const zoneKey = zoneAnswerKey(workerPid(), locationText, header);
        const left = zoneKey !== null ? leftAnswer(zoneKey) : null;
        if (left !== null) {
          if (memoryKey !== null) keepInMemory(answers as BoundedTable<KnownAnswer>, memoryKey, left);
          if (publishAnswer(r, CheckMode.Known, left, now)) return;
        }
      }
      r.variables.session_front_scope = workerPid();
    } catch (e) {
      // Undecided: the check server answers.
    }
  }

  /**
   * The njs engine's warm check asked the store as this check would (store-reads.ts) and the round trip
   * failed: failed closed as this check's own read fails, the incident logged once (remote.ts).
   */
  function storeFailed(r: NginxHTTPRequest, mode: CheckMode, failure: StoreFailure): void {
    failCheck(r, mode, roundTripFailed(platform, failure.route.store, failure.route.target, failure.reason));
  }

  /** failClosed, but a store outage in auth_request mode is answered so that auth_request passes it on. */
  function failCheck(r: NginxHTTPRequest, mode: CheckMode, error: unknown): void {
    if (mode === CheckMode.AuthRequest && isStoreUnavailable(error)) answerOutageToAuthRequest(r, env.storeUnavailableStatus(r));
    else failClosed(r, error);
  }

  /** After the store read or the cold check: what they found published, or else the full path. */
  function publishFound(r: NginxHTTPRequest, mode: CheckMode, found: KnownSession | null, settings: Settings, context: RequestContext, now: number): MaybePromise<void> {
    try {
      const done = found ? publishKnown(r, mode, found, settings, context, now) : fullCheck(r, mode, context, settings);
      return isPromise(done)
        ? done.then(undefined, function (e) {
            failCheck(r, mode, e);
          })
        : done;
    } catch (e) {
      failCheck(r, mode, e);
    }
  }

  /** What the fast check found, published; the publication is kept on the session for the rest of the second. */
  function publishKnown(r: NginxHTTPRequest, mode: CheckMode, known: KnownSession, settings: Settings, context: RequestContext, now: number): MaybePromise<void> {
    let publication = known.publication as Publication | undefined;
    if (!publication || publication.at !== now || publication.context !== context || publication.settings !== settings) {
      publication = publicationOf(known, settings, context.entry, context, now);
      known.publication = publication;
    }
    return publish(r, mode, context, settings, publication, NO_COOKIES);
  }

  /** The full start() (open, refresh), synchronous too when it can be. */
  function fullCheck(r: NginxHTTPRequest, mode: CheckMode, context: RequestContext, settings: Settings): MaybePromise<void> {
    const exchange = createNjsExchange(r);
    return env.respond(
      r,
      function () {
        return library.startMaybe(exchange, context.options);
      },
      function (started) {
        if (!started.exists) return denied(r, mode, context);
        return publish(r, mode, context, settings, publicationOf(sessionSource(started.session), settings, context.entry, context, 0), exchange.getResponseCookies());
      },
      function (e) {
        failCheck(r, mode, e);
      },
    );
  }

  function denied(r: NginxHTTPRequest, mode: CheckMode, context: RequestContext): void {
    if (mode === CheckMode.Access) deny(r, context.entry);
    else r.return(context.entry.unauthorized_status);
  }

  function publish(
    r: NginxHTTPRequest,
    mode: CheckMode,
    context: RequestContext,
    settings: Settings,
    publication: Publication,
    cookies: string[],
  ): MaybePromise<void> {
    const entry = context.entry;
    if (entry.csrf) {
      // An auth_request subrequest is a GET: the client's method is the main request's.
      const method = mode === CheckMode.Access ? r.method : String(r.variables.request_method);
      if (!isSafeMethod(method)) {
        return then(csrf.check(r, method, entry, settings, publicationBinding(publication), mode === CheckMode.Access), function (passed) {
          if (passed) publishNow(r, mode, publication, cookies);
        });
      }
    }
    publishNow(r, mode, publication, cookies);
  }

  // A mode rather than callbacks: two closures per request cost QuickJS more than the rest of publishing.
  function access(r: NginxHTTPRequest): MaybePromise<void> {
    return check(r, CheckMode.Access);
  }

  function authRequest(r: NginxHTTPRequest): MaybePromise<void> {
    return check(r, CheckMode.AuthRequest);
  }

  function loginRedirect(r: NginxHTTPRequest): void {
    try {
      const outage = reportedOutageStatus(r);
      if (outage !== undefined) {
        r.return(outage, "session store unavailable\n");
        return;
      }
      deny(r, requestContext(r).entry);
    } catch (e) {
      failClosed(r, e);
    }
  }

  return { access: access, authRequest: authRequest, accessKnown: accessKnown, loginRedirect: loginRedirect, check: check, storeFailed: storeFailed };
}
