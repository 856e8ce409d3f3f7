/**
 * A shared dictionary as the core sees it: njs's `ngx.shared.<zone>` (js_shared_dict_zone), shared by
 * all workers of one nginx. Only the verbs that are atomic in njs are used (add/replace/set/delete are
 * each one locked operation on the zone); nothing here may rely on a read-modify-write being atomic.
 * Timeouts are in milliseconds and need a zone declared with `timeout=`.
 */

import { configError, errorText } from "./errors";
import type { Platform } from "./platform";

export interface SharedDict {
  readonly name?: string;
  get(key: string): string | number | undefined;
  /** Throws (njs: SharedMemoryError) when the zone is full and cannot evict. */
  set(key: string, value: string, timeoutMs?: number): unknown;
  /** Stores only if absent; false if the key exists. */
  add(key: string, value: string, timeoutMs?: number): boolean;
  /** Stores only if present; false if the key does not exist. */
  replace(key: string, value: string, timeoutMs?: number): boolean;
  delete(key: string): boolean;
}

/**
 * The longest timeout a shared dict key can be given: QuickJS hands njs the timeout as a 32-bit
 * unsigned number of milliseconds (measured here: 400 days became 2.3 days), so anything longer wraps.
 * About 49.7 days: (2^32 - 1) ms in whole seconds, written out because a computed constant would be
 * computed by the njs engine on every request of every part that imports this file
 * (test/unit/registry.test.ts holds the value).
 */
export const MAX_DICT_TIMEOUT_SECONDS = 4294967;

/** A TTL in seconds as a shared dict timeout in milliseconds, capped so that it cannot wrap. */
export function dictTimeout(seconds: number): number {
  return Math.max(1, Math.min(seconds, MAX_DICT_TIMEOUT_SECONDS)) * 1000;
}

/** A zone by name; a zone nginx.conf does not declare is a configuration error naming the fix. */
export function lookupZone(platform: Pick<Platform, "sharedDict">, zone: string, purpose: string): SharedDict {
  const dict = platform.sharedDict ? platform.sharedDict(zone) : undefined;
  if (!dict) {
    throw configError('js_shared_dict_zone "' + zone + '" (' + purpose + ") is not declared (js_shared_dict_zone zone=" + zone + ":10m timeout=1d;)");
  }
  return dict;
}

/**
 * Turns njs's complaints about how a zone was declared into configuration errors, so a protected
 * location fails closed with one [error] line instead of treating every session as missing.
 */
export function zoneError(zone: string, e: unknown): Error {
  const message = errorText(e);
  if (/must be declared with timeout/.test(message)) {
    return configError('js_shared_dict_zone "' + zone + '" needs a timeout= parameter (sessions expire through it)');
  }
  if (/value is expected|not a number dict/.test(message)) {
    return configError('js_shared_dict_zone "' + zone + '" must hold strings (type=string, the default)');
  }
  if (e && typeof e === "object" && (e as Error).name === "SharedMemoryError") {
    return new Error('shared dict zone "' + zone + '" is full');
  }
  return e instanceof Error ? e : new Error(message);
}
