/**
 * The checks every session check makes, whichever path it takes: the full path (Session.openCookie,
 * refreshMaybe) and the fast path (fast-check.ts) call these same functions, so that what one of
 * them refuses the other cannot let through. Each returns the stable reason the full path reports, or
 * null when the session passes.
 */

import type { Settings } from "./settings";
import type { MaybePromise } from "./maybe";
import { FLAG_STORAGE, MAX_ROLLING_OFFSET, MAX_TTL } from "./format";

/**
 * The settings the checks read of a session cookie (the full Settings, or the warm check's part of
 * them). A remember cookie's timeouts are RememberSettings: only the full path opens one, so the fast,
 * cold and touch checks' settings need not carry them.
 */
export type CheckedSettings = Pick<
  Settings,
  "storage" | "registry" | "idlingTimeout" | "rollingTimeout" | "absoluteTimeout" | "touchThreshold" | "rollingRenewal"
>;

/** The remember cookie's own timeouts, read when the checks judge one. */
export type RememberSettings = Pick<Settings, "rememberRollingTimeout" | "rememberAbsoluteTimeout">;

/** The cookie fields the timeouts count from (a header, a verified-cache entry, a CookieMeta). */
export interface TimingFields {
  creationTime: number;
  rollingOffset: number;
  idlingOffset: number;
}

/** A cookie written for server-side storage read with cookie storage configured, or the reverse. */
export function storageFlagsMismatch(settings: CheckedSettings, flags: number): boolean {
  return settings.storage ? !(flags & FLAG_STORAGE) : (flags & FLAG_STORAGE) !== 0;
}

/**
 * Whether the session (or the remember cookie) has outlived a timeout as of `now`. A remember cookie
 * has its own rolling and absolute timeouts, no idling one, and an idling offset that must be 0.
 */
export function lifetimeProblem(settings: CheckedSettings, remember: false, timing: TimingFields, now: number): string | null;
export function lifetimeProblem(settings: CheckedSettings & RememberSettings, remember: boolean, timing: TimingFields, now: number): string | null;
export function lifetimeProblem(checked: CheckedSettings, remember: boolean, timing: TimingFields, now: number): string | null {
  // The overloads: remember only with the remember timeouts.
  const settings = checked as CheckedSettings & RememberSettings;
  const sinceCreation = now - timing.creationTime;
  if (sinceCreation > MAX_ROLLING_OFFSET) return "session lifetime exceeded";
  const absoluteTimeout = remember ? settings.rememberAbsoluteTimeout : settings.absoluteTimeout;
  if (absoluteTimeout !== 0 && sinceCreation > absoluteTimeout) {
    return remember ? "session remember absolute timeout exceeded" : "session absolute timeout exceeded";
  }
  const sinceRoll = sinceCreation - timing.rollingOffset;
  const rollingTimeout = remember ? settings.rememberRollingTimeout : settings.rollingTimeout;
  if (rollingTimeout !== 0 && sinceRoll > rollingTimeout) {
    return remember ? "session remember rolling timeout exceeded" : "session rolling timeout exceeded";
  }
  if (remember) {
    if (timing.idlingOffset !== 0) return "invalid session idling offset";
  } else if (settings.idlingTimeout !== 0 && sinceRoll - timing.idlingOffset > settings.idlingTimeout) {
    return "session idling timeout exceeded";
  }
  return null;
}

/** Seconds the session can live at most from `now` (at least 1): how long a verification may be cached. */
export function lifetimeLeft(settings: CheckedSettings, remember: false, timing: TimingFields, now: number): number;
export function lifetimeLeft(settings: CheckedSettings & RememberSettings, remember: boolean, timing: TimingFields, now: number): number;
export function lifetimeLeft(checked: CheckedSettings, remember: boolean, timing: TimingFields, now: number): number {
  // The overloads: remember only with the remember timeouts.
  const settings = checked as CheckedSettings & RememberSettings;
  const sinceCreation = now - timing.creationTime;
  const sinceRoll = sinceCreation - timing.rollingOffset;
  const absoluteTimeout = remember ? settings.rememberAbsoluteTimeout : settings.absoluteTimeout;
  const rollingTimeout = remember ? settings.rememberRollingTimeout : settings.rollingTimeout;
  let lifetime = MAX_TTL;
  if (absoluteTimeout !== 0) lifetime = Math.min(lifetime, absoluteTimeout - sinceCreation);
  if (rollingTimeout !== 0) lifetime = Math.min(lifetime, rollingTimeout - sinceRoll);
  if (!remember && settings.idlingTimeout !== 0) lifetime = Math.min(lifetime, settings.idlingTimeout - (sinceRoll - timing.idlingOffset));
  return Math.max(1, lifetime);
}

/** What a refresh of a valid session must do as of `now`. */
export const enum RefreshDue {
  Nothing,
  /** Re-send the header with a new idling offset (the idle clock restarts). */
  Touch,
  /** Save under a new session id (past 3/4 of the rolling timeout, as the peer does). */
  Resave,
}

export function refreshDue(settings: CheckedSettings, timing: TimingFields, now: number): RefreshDue {
  const sinceRoll = now - timing.creationTime - timing.rollingOffset;
  if (settings.rollingTimeout > 0 && sinceRoll > settings.rollingRenewal) return RefreshDue.Resave;
  if (settings.idlingTimeout > 0 && sinceRoll - timing.idlingOffset > settings.touchThreshold) return RefreshDue.Touch;
  return RefreshDue.Nothing;
}

/**
 * The last second at which lifetimeProblem still finds nothing and refreshDue still says Nothing, for a
 * session of which both say so now. Each of their tests is "a clock has passed a bound", so their
 * answer changes only once `now` passes the earliest bound: until then a check of the same session with
 * the same settings answers the same (the njs engine's known answers, src/nginx/known-answers.ts, are
 * published again until this second). The bounds are theirs, in their order;
 * test/unit/checks.test.ts holds this to both over every second of many timings.
 */
export function unchangedUntil(settings: CheckedSettings, timing: TimingFields): number {
  const rolled = timing.creationTime + timing.rollingOffset;
  const idled = rolled + timing.idlingOffset;
  let until = timing.creationTime + MAX_ROLLING_OFFSET;
  if (settings.absoluteTimeout !== 0) until = Math.min(until, timing.creationTime + settings.absoluteTimeout);
  if (settings.rollingTimeout !== 0) until = Math.min(until, rolled + settings.rollingTimeout);
  if (settings.idlingTimeout !== 0) until = Math.min(until, idled + settings.idlingTimeout);
  if (settings.rollingTimeout > 0) until = Math.min(until, rolled + settings.rollingRenewal);
  if (settings.idlingTimeout > 0) until = Math.min(until, idled + settings.touchThreshold);
  return until;
}

/**
 * Whether the registry says this session was revoked: "session revoked", or a registry that cannot
 * answer ("unable to check session revocation (...)": refused, a revoked one must not slip through);
 * a misconfigured one, or a store that cannot answer, throws (fail closed, loudly). A registry in the
 * network store answers with a promise. The registry's own method (registry.ts
 * registryRevocationProblem) judges it.
 */
export function revocationProblem(settings: CheckedSettings, audience: string, subject: string | undefined, creationTime: number, now: number): MaybePromise<string | null> {
  if (!settings.registry || subject === undefined) return null;
  return settings.registry.revocationProblem(audience, subject, creationTime, now);
}
