/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * Known answers: a check's answer, remembered per location and Cookie header, so that the next requests
 * with the same header publish it again without checking. Two homes, one rule (answerable) and one
 * answer (knownAnswerOf):
 *   - the njs engine: njs_session_cache, per worker (keepAnswer, publishKnownAnswer; index.ts looks the
 *     record up before building any part);
 *   - QuickJS: worker memory, per JS context (retained.ts; check.ts looks it up first).
 * And one reader that checks nothing: the front, `js_access session.accessKnown` before auth_request
 * (check.ts accessKnown; index.ts under the njs engine), which publishes the answer left for its worker
 * in njs_session_cache (QuickJS: kept in its context's memory once found), else leaves the request to
 * auth_request and the check server, which leave the answer they make there for it (leaveAnswer,
 * answer-key.ts).
 *
 * Under the njs engine every request starts from the module's top level, so a warm check loads the
 * warm part, parses the location's view and the verified-cache entry, runs the checks and builds the
 * state line again on every request. For most sessions, though, what it publishes is a function of
 * the Cookie header, the location's settings and the clock alone: cookie storage (no record to look
 * up), no registry (nothing to revoke), no CSRF check (the method does not matter), a session not
 * bound to request attributes, and nothing to publish but the state line (knownAnswerOf). The warm check
 * that publishes such a session leaves its state line here with the last second at which every check
 * would still answer the same (checks.ts unchangedUntil: the timeouts, and no touch or re-save due),
 * and until then a request with the same header and location gets the same line, with the seconds
 * then left, from one zone read (index.ts finds the record, answer-part.ts publishes it). Past that
 * second, or with any other header, the warm check runs as before, and the full check behind it.
 *
 * With redis or memcached storage and store_revalidate, a node may answer a session the store
 * confirmed without asking again within the bound (store-revalidation.ts): the check that asked, or
 * that answered within the bound, leaves its answer too, ending with the bound (confirmedAnswerOf), so
 * that within it the session's requests are answered as a cookie's are, in every worker and context.
 *
 * The zone's key (answer-key.ts; index.ts makes it once per request and hands it to the warm check) is
 * keyed like the check view (check-view.ts): a worker's pid scopes an answer to one configuration
 * generation (a rotated secret or a changed option never meets an older answer), and an answer lives
 * at most VIEW_SECONDS for the same reason the view does; the location text, after its length, scopes
 * it to the location's overrides. Then the whole Cookie header, as the warm check read it: the answer
 * is the warm check's for exactly this header, so nothing here looks for the session cookie in it, and
 * another cookie of the header changing only means another entry. Headers over ANSWER_HEADER_MAX get no
 * key: a client could otherwise fill the zone with large keys, at the price of a warm check each.
 *
 * The zone is njs_session_cache, which already holds what an answer holds (the verified sessions the
 * answers were published from) and never leaves the node's memory.
 *
 * Under QuickJS the rest of the module lives on in the context, so its full check already runs without
 * loading anything; but it still finds the location's settings, parses the Cookie header, looks the
 * cookie up and runs the checks on every request. Its answers live in a retained.ts table of the
 * context, keyed by the location text (after its length) and the whole header; no pid (a context lives
 * in one worker, of one configuration) and no minute's bound (that is the zone's, for the pid's sake);
 * init() forgets them all (full.ts), since it may change the settings they were made with. The table
 * holds at most ANSWERS_BOUND answers and ANSWERS_CHARS characters of keys and answers: a context that
 * grows past js_context_reuse_max_size is not reused.
 */

import { CheckedSettings, unchangedUntil } from "../core/checks";
import type { KnownSession } from "../core/fast-check";
import { DEFAULT_VERIFIED_CACHE_ZONE } from "../core/options";
import { closestTimeout } from "../core/properties";
import { BoundedTable, retainedTable } from "../core/retained";
import { dictTimeout } from "../core/shared-dict";
import { njsNow, njsSharedDict } from "../platform/njs";
import { VIEW_SECONDS } from "./check-view";
import { CheckMode } from "./check-mode";
import type { EntryOptions } from "./configuration";
import { PublishingEntry, PublishingSettings, publishesPlainly, publishStateText } from "./publication";
import type { Settings } from "../core/settings";
import { PLAIN_STATE_TAIL, stateLineAroundTimeout } from "./state";

/** A known answer publishes no cookie. */
const NO_COOKIES: string[] = [];

/** QuickJS's answers per context: at most this many, of at most ANSWERS_CHARS characters in all. */
const ANSWERS_BOUND = 256;
const ANSWERS_CHARS = 131072;

/** What the answer depends on besides the session: the settings and entry options of the location. */
export type AnswerSettings = CheckedSettings & PublishingSettings;
export type AnswerEntry = PublishingEntry & Pick<EntryOptions, "csrf">;

/** A known answer: the state line a check published, as of any second up to `until`. */
export interface KnownAnswer {
  /** The last second it holds (unchangedUntil). */
  until: number;
  /**
   * store_revalidate's answers: the millisecond (Date.now()) from which it no longer holds; undefined for
   * the others. Always present: QuickJS reads an absent property through the prototypes, dearer on the
   * hit path than an own one.
   */
  endsAt: number | undefined;
  /** The second at which the closest timeout falls; undefined when none is configured (the field is then empty). */
  timeoutAt: number | undefined;
  /** The state line before its timeout field, and after it. */
  head: string;
  rest: string;
}

/**
 * Whether what a check published for a session it found valid in this location depends on the Cookie
 * header and the clock alone, whatever else the request carries (no CSRF check, nothing published but
 * the state line, no bound request attributes): see the module's comment. Whether the session can
 * change behind the cookie (a store, a registry) is each answer's own condition, below.
 */
function answerable(settings: AnswerSettings, entry: AnswerEntry, known: KnownSession): boolean {
  return !entry.csrf && publishesPlainly(settings, entry) && known.bound === false;
}

/** The answer to `known` as of `now`, holding until the second `until`. */
function answerUntil(settings: AnswerSettings, known: KnownSession, now: number, until: number): KnownAnswer {
  const timing = known.timing;
  const timeout = closestTimeout(settings, timing);
  const parts = stateLineAroundTimeout(known.subject, known.audience, known.loggableId, timing.creationTime, PLAIN_STATE_TAIL);
  return { until: until, endsAt: undefined, timeoutAt: timeout === undefined ? undefined : now + timeout, head: parts[0], rest: parts[1] };
}

/**
 * The answer a check just published for `known` (as of `now`), when it is one; else null. Only cookie
 * storage without a registry: nothing but the cookie says what the session is, so the answer holds
 * until the checks' own next change (unchangedUntil).
 */
export function knownAnswerOf(settings: AnswerSettings, entry: AnswerEntry, known: KnownSession, now: number): KnownAnswer | null {
  if (settings.storage !== null || settings.registry !== null || !answerable(settings, entry, known)) return null;
  return answerUntil(settings, known, now, unchangedUntil(settings, known.timing));
}

/**
 * store_revalidate (redis, memcached): the answer a check published for `known` (as of `now`) for a
 * session the store confirmed at the millisecond `confirmedAt` (its mark: fast-store-check.ts
 * storeConfirmedAt), when it is one; else null. Within the bound from that moment a node may answer
 * the session without asking (store-revalidation.ts), so the answer holds as long and no longer: it
 * ends at `confirmedAt` + the bound, to the millisecond, or at the checks' own next change if that
 * comes first. With a registry, only the store's (read in the same round trip as the record): a
 * registry of the node's own, read on every request, makes none (settings.ts refuses one beside a
 * network store today; this keeps the answer right if that changes).
 */
export function confirmedAnswerOf(
  settings: AnswerSettings & Pick<Settings, "storeRevalidate">,
  entry: AnswerEntry,
  known: KnownSession,
  now: number,
  confirmedAt: number,
): KnownAnswer | null {
  const endsAt = confirmedAt + settings.storeRevalidate;
  // The second that holds its last millisecond.
  const until = Math.min(Math.floor((endsAt - 1) / 1000), unchangedUntil(settings, known.timing));
  if (!(until >= now) || (settings.registry !== null && !settings.registry.readChecked) || !answerable(settings, entry, known)) return null;
  const answer = answerUntil(settings, known, now, until);
  answer.endsAt = endsAt;
  return answer;
}

/** The answer's state line as of `now`: with the seconds then left before its timeout. */
function answerText(answer: KnownAnswer, now: number): string {
  return answer.head + (answer.timeoutAt === undefined ? "" : answer.timeoutAt - now) + answer.rest;
}

/**
 * An answer as a zone record, one line per field: the last second it holds; the second at which the
 * closest timeout falls ("" when none is configured); the state line before its timeout field; the
 * state line after it; and, for store_revalidate's answers only, the millisecond it ends at. The state
 * line holds no line feed (state.ts: no field holds a control character but the TABs between them).
 */
function answerRecord(answer: KnownAnswer): string {
  const record = answer.until + "\n" + (answer.timeoutAt === undefined ? "" : answer.timeoutAt) + "\n" + answer.head + "\n" + answer.rest;
  return answer.endsAt === undefined ? record : record + "\n" + answer.endsAt;
}

/** The answer a zone record holds; null for anything else. */
function answerOfRecord(record: unknown): KnownAnswer | null {
  if (typeof record !== "string") return null;
  const fields = record.split("\n");
  if (fields.length !== 4 && fields.length !== 5) return null;
  const until = Number(fields[0]);
  const timeoutAt = fields[1] === "" ? undefined : Number(fields[1]);
  if (!(until > 0) || !(timeoutAt === undefined || timeoutAt > 0)) return null;
  const answer: KnownAnswer = { until: until, endsAt: undefined, timeoutAt: timeoutAt, head: fields[2], rest: fields[3] };
  if (fields.length === 5) {
    const endsAt = Number(fields[4]);
    if (!(endsAt > 0)) return null;
    answer.endsAt = endsAt;
  }
  return answer;
}

/**
 * Leaves `answer` (made as of `now`) under `key` (answer-key.ts) in the zone, for the next requests of
 * the worker the key names. Never throws: the check has published already.
 */
export function leaveAnswer(key: string, answer: KnownAnswer, now: number): void {
  try {
    const dict = njsSharedDict(DEFAULT_VERIFIED_CACHE_ZONE);
    // The zone forgets it when it ends (to the millisecond, for a store's), or with the worker's view.
    const life = answer.endsAt === undefined ? dictTimeout(Math.min(answer.until - now + 1, VIEW_SECONDS)) : Math.min(answer.endsAt - Date.now(), VIEW_SECONDS * 1000);
    if (dict && life > 0) dict.set(key, answerRecord(answer), life);
  } catch (e) {
    // A full zone (declared without evict) only means that the next request is checked too.
  }
}

/** The answer left in the zone under `key`, if any; null when there is none, or no zone. */
export function leftAnswer(key: string): KnownAnswer | null {
  try {
    const dict = njsSharedDict(DEFAULT_VERIFIED_CACHE_ZONE);
    return dict ? answerOfRecord(dict.get(key)) : null;
  } catch (e) {
    return null;
  }
}

/**
 * Leaves the answer the njs engine's warm check just published for `known` (as of `now`) under `key`
 * in the zone, when it is one; with `confirmedAt`, a session the store confirmed then (store_revalidate:
 * confirmedAnswerOf).
 */
export function keepAnswer(key: string, settings: AnswerSettings & AnswerEntry & Pick<Settings, "storeRevalidate">, known: KnownSession, now: number, confirmedAt?: number): void {
  // Never throws: the warm check has published already, and its caller would run the full check too.
  try {
    const answer = confirmedAt === undefined ? knownAnswerOf(settings, settings, known, now) : confirmedAnswerOf(settings, settings, known, now, confirmedAt);
    if (answer) leaveAnswer(key, answer, now);
  } catch (e) {
    // Nothing kept: the next request runs the warm check too.
  }
}

/**
 * Publishes a kept answer's record (index.ts found it under the request's key), if it holds now: true;
 * false: it does not (the warm check runs). Anything thrown ($session_state not declared, say) is false
 * too: the warm check, or the full one, meets it and reports it.
 */
export function publishKnownAnswer(r: NginxHTTPRequest, mode: CheckMode, record: string): boolean {
  try {
    // answerOfRecord's reading and answerText's line, written out: the njs engine's every answered
    // request would otherwise pay for the answer's object and two calls more.
    const fields = record.split("\n");
    const now = njsNow();
    // (A fifth field: a store_revalidate answer's end, to the millisecond.)
    if (fields.length === 5 ? !(Date.now() < Number(fields[4])) : fields.length !== 4) return false;
    if (!(now <= Number(fields[0]))) return false;
    publishStateText(r, mode, fields[2] + (fields[1] === "" ? "" : Number(fields[1]) - now) + fields[3], NO_COOKIES);
    return true;
  } catch (e) {
    return false;
  }
}

/** QuickJS's answers of this context (retained.ts). */
export function answersInMemory(): BoundedTable<KnownAnswer> {
  return retainedTable<KnownAnswer>("known answers", ANSWERS_BOUND, ANSWERS_CHARS);
}

/** Keeps `answer` in QuickJS's table under `key`, counted in the characters it holds (the table's bound). */
export function keepInMemory(answers: BoundedTable<KnownAnswer>, key: string, answer: KnownAnswer): void {
  answers.set(key, answer, answer.head.length + answer.rest.length);
}

/** Forgets every QuickJS answer of this context: init() changed what they were made with. */
export function forgetAnswersInMemory(): void {
  answersInMemory().clear();
}

/**
 * Publishes a QuickJS answer if it holds `now`: true; false, it does not (the check runs, and keeps
 * the answer it then publishes in its place).
 */
export function publishAnswer(r: NginxHTTPRequest, mode: CheckMode, answer: KnownAnswer, now: number): boolean {
  // Past its second, or (store_revalidate's) past its millisecond. In place: this is QuickJS's hit path.
  if (now > answer.until || (answer.endsAt !== undefined && Date.now() >= answer.endsAt)) return false;
  publishStateText(r, mode, answerText(answer, now), NO_COOKIES);
  return true;
}
