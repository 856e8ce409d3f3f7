/**
 * CSRF tokens bound to a session, and the request checks around them. Platform-free: the nginx side
 * (src/nginx/csrf.ts) reads the request and answers; this file decides.
 *
 *   csrf key  = HKDF-Expand(PRK(ikm), "csrf", 32)             (PRK as in keys.ts; cached per ikm)
 *   message   = field(creation time, decimal) ‖ field(audience) [‖ field(subject)]
 *               field(x) = 4-byte big-endian length of UTF-8(x) ‖ UTF-8(x); no subject, no third field
 *   token     = base64url(HMAC-SHA256(csrf key, message))      (43 characters)
 *
 * Why these inputs: the session id changes on every save (a refresh re-issues the cookie under a new
 * one), so a page rendered before a refresh must still post; the creation time stays for the life of a
 * session and changes with every login. Audience and subject tie the token to whom it was made for.
 * The token is worthless without the session cookie it belongs to: the check recomputes it from the
 * session the request carries.
 *
 * Residual: two sessions of one subject (or two sessions without a subject) in one audience created
 * in the same second share a token. With the session registry on, creation times are unique per
 * subject (registry.ts reserves them), which closes it for sessions with a subject.
 */

import { concatBytes, constantTimeEqual, encodeBase64Url, utf8Encode } from "./bytes";
import { hkdfSha256 } from "./keys";
import type { Platform } from "./platform";
import { retainedTable } from "./retained";

/** HKDF info of the csrf key: "csrf" (built when a key is first derived, not at module load). */
const CSRF_INFO_TEXT = "csrf";
const CSRF_KEY_SIZE = 32;
const LENGTH_SIZE = 4;

/** What a token is bound to: the parts of a session that survive its refreshes. */
export interface CsrfBinding {
  creationTime: number;
  audience: string;
  subject: string | undefined;
}

/** Keys come from configuration, so few exist; the bound only guards against misuse. */
const MAX_CSRF_KEYS = 16;

/** The csrf key of an ikm, retained by the ikm's bytes (retained.ts). */
function csrfKey(platform: Platform, ikm: Uint8Array): Uint8Array {
  const table = retainedTable<Uint8Array>("csrf.keys", MAX_CSRF_KEYS);
  const name = encodeBase64Url(ikm);
  let key = table.get(name);
  if (!key) {
    key = hkdfSha256(platform, ikm, CSRF_INFO_TEXT, CSRF_KEY_SIZE);
    table.set(name, key);
  }
  return key;
}

function field(text: string): Uint8Array {
  const bytes = utf8Encode(text);
  const out = new Uint8Array(LENGTH_SIZE + bytes.length);
  const size = bytes.length;
  out[0] = (size >>> 24) & 0xff;
  out[1] = (size >>> 16) & 0xff;
  out[2] = (size >>> 8) & 0xff;
  out[3] = size & 0xff;
  out.set(bytes, LENGTH_SIZE);
  return out;
}

function message(binding: CsrfBinding): Uint8Array {
  const parts = [field(String(binding.creationTime)), field(binding.audience)];
  if (binding.subject !== undefined) parts.push(field(binding.subject));
  return concatBytes(parts);
}

/** The token of a session under one key (the current ikm when issuing). */
export function csrfToken(platform: Platform, ikm: Uint8Array, binding: CsrfBinding): string {
  return encodeBase64Url(platform.hmacSha256(csrfKey(platform, ikm), message(binding)));
}

/** Longest text worth comparing: a token is 43 characters; anything much longer is not one. */
const MAX_TOKEN_LENGTH = 64;

/**
 * Whether `token` is the session's token under the current key or a fallback (a page rendered before
 * a key rotation still posts). The text is compared, in constant time per key: comparing decoded bytes
 * would accept the variants base64url's unused trailing bits allow.
 */
export function verifyCsrfToken(platform: Platform, keys: Uint8Array[], binding: CsrfBinding, token: string): boolean {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return false;
  const given = utf8Encode(token);
  const signed = message(binding);
  let valid = false;
  for (let i = 0; i < keys.length; i++) {
    const expected = utf8Encode(encodeBase64Url(platform.hmacSha256(csrfKey(platform, keys[i]), signed)));
    // No early exit: the time taken does not tell which key (if any) matched.
    if (constantTimeEqual(given, expected)) valid = true;
  }
  return valid;
}

/** Methods that must not change state (RFC 9110 "safe"): they pass without a token. */
export function isSafeMethod(method: string): boolean {
  return method === "GET" || method === "HEAD" || method === "OPTIONS" || method === "TRACE";
}

/** "host[:port]" lower-cased, without `suffix` (the scheme's default port) at its end. */
function authority(text: string, suffix: string): string {
  const lower = text.toLowerCase();
  const cut = lower.length - suffix.length;
  return cut > 0 && lower.substring(cut) === suffix ? lower.substring(0, cut) : lower;
}

/** Whether an Origin header names the site of the request's Host header (scheme aside). */
function sameHost(origin: string, host: string): boolean {
  const match = /^(https?):\/\/([^\/?#@\s]+)$/i.exec(origin);
  if (!match) return false;
  // The scheme's default port (no table at module level: the njs engine would build it per request).
  const defaultPort = match[1].toLowerCase() === "https" ? ":443" : ":80";
  return authority(match[2], defaultPort) === authority(host.trim(), defaultPort);
}

/**
 * The browser's own word on where an unsafe request comes from; null when nothing says it is foreign.
 * Refused: `Sec-Fetch-Site: cross-site`, and an `Origin` whose host differs from the request's Host
 * (including `Origin: null`, sent by sandboxed documents and after cross-origin redirects). A request
 * without either header (an old browser, a non-browser client) is left to the token.
 */
export function foreignOrigin(secFetchSite: string | undefined, origin: string | undefined, host: string | undefined): string | null {
  if (secFetchSite !== undefined && secFetchSite.trim().toLowerCase() === "cross-site") return "cross-site request (Sec-Fetch-Site)";
  if (origin === undefined) return null;
  if (host === undefined || !sameHost(origin.trim(), host)) return "Origin does not match Host";
  return null;
}
