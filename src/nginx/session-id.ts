/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * $session_id computed where it is read. The loggable id is a SHA-256 of the session id; under QuickJS
 * the cold check leaves it out (cold-check.ts's loggableIdWhereRead) and $session_state's id field then
 * says where to find it instead (state.ts's deferredIdField: DEFERRED_ID and the session cookie's name). njs-session.conf's maps
 * hand such a field to the js_set sessionId, any other field to $session_id as it is, so a request
 * that never reads $session_id never hashes, and one that does pays the hash once per session (kept
 * on its cache entry, which publishes it from then on).
 *
 * The cookie is this request's own, found as the check found it (cookies.ts's quickCookie: the fast and
 * cold checks take no other), so its session id is the one the check verified. Only its name travels
 * in the state: configuration, never the id.
 */

import { quickCookie } from "../core/cookies";
import { keepLoggableId } from "../core/fast-check";
import { HEADER_ENCODED_SIZE } from "../core/format";
import { parseHeader } from "../core/header";
import type { Platform } from "../core/platform";
import { loggableId } from "../core/session";
import type { Settings } from "../core/settings";
import { DEFERRED_ID } from "./state";

/**
 * js_set sessionId: the loggable id a deferred id field (`field`, $session_id_field) stands for, from
 * the request's cookie of that name; "" when there is none (which the check would not have passed).
 * `settingsOf` gives the location's settings, to keep the id on the cookie's verified-cache entry
 * (null or a throw: not kept).
 */
export function deferredSessionId(
  r: NginxHTTPRequest,
  field: unknown,
  platform: Pick<Platform, "sha256Base64Url">,
  settingsOf: (r: NginxHTTPRequest) => Pick<Settings, "cookieName" | "verifiedCache"> | null,
): string {
  if (typeof field !== "string" || field.charAt(0) !== DEFERRED_ID) return typeof field === "string" ? field : "";
  const name = field.substring(1);
  const header = r.headersIn["Cookie"];
  const cookie = quickCookie(typeof header === "string" ? header : undefined, name);
  if (typeof cookie !== "string" || cookie.length < HEADER_ENCODED_SIZE) return "";
  const parsed = parseHeader(cookie);
  if (typeof parsed === "string") return "";
  const id = loggableId(platform, parsed.sid);
  let settings: Pick<Settings, "cookieName" | "verifiedCache"> | null = null;
  try {
    settings = settingsOf(r);
  } catch (e) {
    // A location without a configuration of its own (auth_request's protected one): nothing to keep it on.
  }
  const cache = settings && settings.cookieName === name ? settings.verifiedCache : null;
  const verified = cache ? (cache.getInMemory ? cache.getInMemory(cookie) : null) : null;
  if (verified) keepLoggableId(verified, id);
  return id;
}
