/**
 * The clock and the random source a caller sets (options `now` and `random`): the host's platform with
 * those two replaced, so that a session opens, saves and refreshes "as of" the caller's time. What the
 * caller's functions return is checked: a clock or a random source that answers nonsense is a
 * misconfiguration, and fails loudly rather than sealing a cookie with a broken id or expiry.
 */

import { configError } from "./errors";
import type { Platform } from "./platform";

export type Clock = () => number;
export type RandomSource = (size: number) => Uint8Array;

/** `platform` itself when neither is given; otherwise a platform that differs from it in those two only. */
export function withSources(platform: Platform, now: Clock | undefined, random: RandomSource | undefined): Platform {
  if (!now && !random) return platform;
  const derived = Object.create(platform) as Platform;
  if (now) {
    derived.now = function () {
      const time = now();
      if (typeof time !== "number" || !isFinite(time) || time < 0) throw configError("now() must return unix seconds, got " + typeof time);
      return Math.floor(time);
    };
  }
  if (random) {
    derived.randomBytes = function (size) {
      const bytes = random(size);
      if (!(bytes instanceof Uint8Array) || bytes.length !== size) throw configError("random(" + size + ") must return a Uint8Array of " + size + " bytes");
      return bytes;
    };
  }
  return derived;
}
