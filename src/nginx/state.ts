/**
 * The identity an access check hands to the rest of the request. The access handler writes it into
 * the per-request nginx variable $session_state (js_var; in auth_request mode it travels back in the
 * X-Session-State header and `auth_request_set`), and the synchronous js_set handlers read it. Kept
 * in nginx's per-request variables, never in module scope: QuickJS keeps module scope across
 * requests, so nothing there may carry one request's identity.
 */

import { decodeBase64Url, encodeBase64Url, utf8Decode, utf8Encode } from "../core/bytes";
import { retainedTable } from "../core/retained";

export interface PublishedState {
  /** subject */
  s?: string;
  /** audience */
  a: string;
  /** a loggable session id: truncated SHA-256 of the real one */
  i: string;
  /** seconds left before the closest timeout */
  t?: number;
  /** creation time (unix seconds): with a and s, what the CSRF token is bound to (src/core/csrf.ts) */
  c?: number;
  /** exposed data keys, as strings */
  d: { [key: string]: string };
  /** request headers toward the upstream (request_headers) */
  q: { [name: string]: string };
  /** response headers toward the client (response_headers) */
  p: { [name: string]: string };
}

/**
 * The state as text: JSON in $session_state (js_access), base64url of it in the X-Session-State header
 * (auth_request), where nginx hands header values on byte for byte but a line break or a non-ASCII
 * character has no business.
 */
export function encodeState(state: PublishedState, forHeader: boolean): string {
  const json = JSON.stringify(state);
  return forHeader ? encodeBase64Url(utf8Encode(json)) : json;
}

/**
 * A request reads several $session_* variables, each a js_set call decoding the same $session_state:
 * where module state persists (QuickJS) the next call finds the last decoding here. Safe across
 * requests: the value is a function of the text alone, and a request only ever hands in its own
 * variable's text.
 */
interface LastDecoding {
  text: string;
  state: PublishedState | null;
}

/**
 * What the check just published, so that the getters of this request find it decoded. Worth it where
 * module state lives for one request (the njs engine): there the memo is empty at every request.
 */
export function rememberPublishedState(text: string, state: PublishedState): void {
  retainedTable<LastDecoding>("published-state", 1).set("last", { text: text, state: state });
}

/** The state of this request, or null when the access check did not run or found no session. */
export function decodeState(value: unknown): PublishedState | null {
  if (typeof value !== "string" || value === "") return null;
  const memo = retainedTable<LastDecoding>("published-state", 1);
  const last = memo.get("last");
  if (last && last.text === value) return last.state;
  let state: PublishedState | null = null;
  const json = value.charAt(0) === "{" ? value : base64Json(value);
  if (json !== null) {
    try {
      const parsed = JSON.parse(json);
      state = parsed && typeof parsed === "object" && typeof parsed.a === "string" ? parsed : null;
    } catch (e) {
      state = null;
    }
  }
  memo.set("last", { text: value, state: state });
  return state;
}

function base64Json(value: string): string | null {
  const bytes = decodeBase64Url(value);
  return bytes ? utf8Decode(bytes) : null;
}
