/**
 * The identity an access check hands to the rest of the request. The access handler writes it into
 * the per-request nginx variable $session_state (js_var; in auth_request mode it travels back in the
 * X-Session-State header and `auth_request_set`), and the synchronous js_set handlers read it. Kept
 * in nginx's per-request variables, never in module scope: QuickJS keeps module scope across
 * requests, so nothing there may carry one request's identity.
 */

import { decodeBase64Url, encodeBase64Url, utf8Decode, utf8Encode } from "../core/bytes";

export interface PublishedState {
  /** subject */
  s?: string;
  /** audience */
  a: string;
  /** a loggable session id: truncated SHA-256 of the real one */
  i: string;
  /** seconds left before the closest timeout */
  t?: number;
  /** exposed data keys, as strings */
  d: { [key: string]: string };
  /** request headers toward the upstream (request_headers) */
  q: { [name: string]: string };
  /** response headers toward the client (response_headers) */
  p: { [name: string]: string };
}

export function encodeState(state: PublishedState): string {
  return encodeBase64Url(utf8Encode(JSON.stringify(state)));
}

/** The state of this request, or null when the access check did not run or found no session. */
export function decodeState(value: unknown): PublishedState | null {
  if (typeof value !== "string" || value === "") return null;
  const bytes = decodeBase64Url(value);
  if (!bytes) return null;
  try {
    const state = JSON.parse(utf8Decode(bytes));
    return state && typeof state === "object" && typeof state.a === "string" ? state : null;
  } catch (e) {
    return null;
  }
}

/** A data value as a header or variable can carry it: strings as they are, the rest as JSON. */
export function variableText(value: unknown): string {
  if (value === undefined || value === null) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  // A header value cannot hold line breaks; anything else nginx passes through.
  return text.replace(/[\r\n]+/g, " ");
}
