/**
 * The identity an access check hands to the rest of the request: one line of TAB-separated fields in
 * the per-request nginx variable $session_state (js_var). nginx's own `map`s in njs-session.conf take
 * each $session_* variable out of it with a regex, only when something reads that variable, and with
 * no JavaScript at all: no getter to call, none to declare at module load (under the njs engine every
 * request pays for each function the module declares), no JSON to parse again per variable.
 *
 * No field can hold a TAB: identity is publishable (publishable.ts refuses control characters), the
 * numbers and the loggable id are plain, data is JSON (which escapes control characters) of
 * percent-encoded values, and the Session-* header values are these. In auth_request mode the same
 * text travels in the X-Session-State header of the 204 (a TAB may stand in a header value, and this
 * one never leaves nginx) and `auth_request_set` copies it into $session_state.
 *
 * Kept in nginx's per-request variables, never in module scope: QuickJS keeps module scope across
 * requests, so nothing there may carry one request's identity.
 */

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
 * The fields, in order: subject, audience, id, timeout, creation time, data, then the value of each
 * of these headers for request_headers, then for response_headers ("" where not configured). The
 * maps of nginx/njs-session.conf name the same positions (test/unit/module-surface.test.ts).
 */
export const STATE_HEADER_NAMES = [
  "Session-Id",
  "Session-Audience",
  "Session-Subject",
  "Session-Timeout",
  "Session-Idling-Timeout",
  "Session-Rolling-Timeout",
  "Session-Absolute-Timeout",
];
const FIXED_FIELDS = 6;
const SEPARATOR = "\t";

/**
 * The header fields of a session with neither request_headers nor response_headers (most sessions):
 * all empty. A literal, as the module's top level runs on every request under the njs engine.
 */
export const NO_HEADER_FIELDS = "\t\t\t\t\t\t\t\t\t\t\t\t\t\t";

/**
 * stateTail("{}", NO_HEADER_FIELDS): the fields after the creation time of a session with no exposed
 * data and no header fields (most sessions). A literal, likewise, so that their state line is two
 * concatenations shorter.
 */
export const PLAIN_STATE_TAIL = "\t{}\t\t\t\t\t\t\t\t\t\t\t\t\t\t";

/** The header fields: the value of each STATE_HEADER_NAMES header toward the upstream, then toward the client. */
export function headerFields(request: { [name: string]: string }, response: { [name: string]: string }): string {
  let text = "";
  for (let i = 0; i < STATE_HEADER_NAMES.length; i++) text += SEPARATOR + optional(request[STATE_HEADER_NAMES[i]]);
  for (let i = 0; i < STATE_HEADER_NAMES.length; i++) text += SEPARATOR + optional(response[STATE_HEADER_NAMES[i]]);
  return text;
}

function optional(value: string | number | undefined): string {
  return value === undefined ? "" : String(value);
}

/** The fields after the creation time: `dataJson` is the exposed data as JSON, `fields` what headerFields() gives. */
export function stateTail(dataJson: string, fields: string): string {
  return SEPARATOR + dataJson + fields;
}

/**
 * $session_state's text (and the X-Session-State header's), from its fields: `tail` is stateTail()'s
 * (or PLAIN_STATE_TAIL). One expression, and no call for the optional fields: every step of building
 * it costs the interpreter, on every warm check of the njs engine and every cold check.
 */
export function stateLine(subject: string | undefined, audience: string, id: string, timeout: number | undefined, created: number | undefined, tail: string): string {
  return (
    (subject === undefined ? "" : subject) +
    SEPARATOR +
    audience +
    SEPARATOR +
    id +
    SEPARATOR +
    (timeout === undefined ? "" : timeout) +
    SEPARATOR +
    (created === undefined ? "" : created) +
    tail
  );
}

/**
 * stateLine's text in two parts around its timeout field, for a line published again later with the
 * seconds then left (known-answers.ts): stateLine(s, a, i, t, c, tail) is the first part, t (or "" when
 * undefined), then the second.
 */
export function stateLineAroundTimeout(subject: string | undefined, audience: string, id: string, created: number | undefined, tail: string): [string, string] {
  return [(subject === undefined ? "" : subject) + SEPARATOR + audience + SEPARATOR + id + SEPARATOR, SEPARATOR + (created === undefined ? "" : created) + tail];
}

/** The state as $session_state's text: stateLine() of its fields. */
export function encodeState(state: PublishedState): string {
  return stateLine(state.s, state.a, state.i, state.t, state.c, stateTail(JSON.stringify(state.d), headerFields(state.q, state.p)));
}

/**
 * A request that needs the state decoded ($session_csrf_token) may ask more than once: where module
 * state persists (QuickJS), the last decoding is found here. Safe across requests: the value is a
 * function of the text alone, and a request only ever hands in its own variable's text.
 */
interface LastDecoding {
  text: string;
  state: PublishedState | null;
}

function numberField(text: string): number | undefined {
  if (text === "") return undefined;
  const value = Number(text);
  return isFinite(value) ? value : undefined;
}

/** The state of this request, or null when the access check did not run or found no session. */
export function decodeState(value: unknown): PublishedState | null {
  if (typeof value !== "string" || value === "") return null;
  const memo = retainedTable<LastDecoding>("published-state", 1);
  const last = memo.get("last");
  if (last && last.text === value) return last.state;
  const state = parseState(value);
  memo.set("last", { text: value, state: state });
  return state;
}

function parseState(text: string): PublishedState | null {
  const fields = text.split(SEPARATOR);
  // The count computed here, not in a module constant: a constant read from STATE_HEADER_NAMES would
  // keep that array, built at load, in every part that publishes (the njs engine's warm part among them).
  if (fields.length !== FIXED_FIELDS + 2 * STATE_HEADER_NAMES.length || fields[1] === "") return null;
  let data: unknown;
  try {
    data = JSON.parse(fields[5]);
  } catch (e) {
    return null;
  }
  if (!data || typeof data !== "object" || Array.isArray(data)) return null;
  const state: PublishedState = { a: fields[1], i: fields[2], d: data as { [key: string]: string }, q: {}, p: {} };
  if (fields[0] !== "") state.s = fields[0];
  const timeout = numberField(fields[3]);
  if (timeout !== undefined) state.t = timeout;
  const created = numberField(fields[4]);
  if (created !== undefined) state.c = created;
  for (let i = 0; i < STATE_HEADER_NAMES.length; i++) {
    const requestValue = fields[FIXED_FIELDS + i];
    if (requestValue !== "") state.q[STATE_HEADER_NAMES[i]] = requestValue;
    const responseValue = fields[FIXED_FIELDS + STATE_HEADER_NAMES.length + i];
    if (responseValue !== "") state.p[STATE_HEADER_NAMES[i]] = responseValue;
  }
  return state;
}
