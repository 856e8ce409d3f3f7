/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The login's steps around the save, shared by the full login (login.ts) and the njs engine's login
 * part (login-part.ts): the backend subrequest, the verdict read out of its reply, the reply copied
 * to ours (the verdict never reaches the client), and the answer (a 400 for a subject nginx could not
 * publish as it is or data too large, the redirect rules): startLogin before the save, finishLogin
 * after it. Only the save differs between the two.
 */

import type { Result } from "../core/session";
import { identityProblem } from "../core/publishable";
import type { LogLevel } from "../core/platform";
import { headerValue, isLocalPath, requestReference } from "./answer-values";

/** Deeper verdict data than this is refused as an invalid verdict (no session data needs it). */
const MAX_DATA_DEPTH = 32;

/** The login backend's verdict: JSON {subject, data?, remember?, redirect?}. */
export interface LoginVerdict {
  subject: string;
  data?: { [key: string]: unknown };
  remember?: boolean;
  redirect?: string;
}

/** Saves a new session for the verdict, its cookie put on the response of `r`. */
export type LoginSave = (r: NginxHTTPRequest, verdict: LoginVerdict) => Promise<Result>;

type Log = (level: LogLevel, message: string) => void;

/** Whether objects or arrays nest deeper than `limit` in `value`; iterative, so depth cannot hurt it. */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const pending: Array<{ value: unknown; depth: number }> = [{ value: value, depth: 1 }];
  while (pending.length > 0) {
    const item = pending.pop() as { value: unknown; depth: number };
    if (item.value === null || typeof item.value !== "object") continue;
    if (item.depth > limit) return true;
    const table = item.value as { [key: string]: unknown };
    const keys = Object.keys(table);
    for (let i = 0; i < keys.length; i++) pending.push({ value: table[keys[i]], depth: item.depth + 1 });
  }
  return false;
}

/** The save errors that mean the data does not fit (session.ts), as opposed to a storage failure. */
function isDataTooLarge(error: string | undefined): boolean {
  return error === "cookie size limit exceeded" || error === "session maximum data size exceeded";
}

/** The verdict in the backend's header value; null if absent or invalid. */
function readVerdict(value: string | undefined): LoginVerdict | null {
  if (!value) return null;
  try {
    const verdict = JSON.parse(value);
    if (!verdict || typeof verdict.subject !== "string" || verdict.subject === "") return null;
    if (verdict.data !== undefined && (verdict.data === null || typeof verdict.data !== "object")) return null;
    // QuickJS parses any depth but overflows its stack writing it back (JSON.stringify on save).
    if (verdict.data !== undefined && nestedDeeperThan(verdict.data, MAX_DATA_DEPTH)) return null;
    return verdict;
  } catch (e) {
    return null;
  }
}

/** The login backend's reply: a subrequest to its internal location, with the client's method, args and body. */
export function askLoginBackend(r: NginxHTTPRequest, backend: string): Promise<NginxHTTPRequest> {
  return r.subrequest(backend, {
    method: r.method as NginxSubrequestOptions["method"],
    args: String(r.variables.args || ""),
    body: r.requestText === undefined ? undefined : String(r.requestText),
  });
}

/** Hop-by-hop and framing headers of the backend reply that must not be copied to ours. */
const NOT_COPIED = ["content-length", "content-type", "connection", "transfer-encoding", "keep-alive", "location"];

/**
 * The backend's reply made ours, up to the save: its headers copied but the verdict, and the verdict
 * to save returned; null when there is none to save (no valid verdict, a failed reply, a subject nginx
 * could not publish), and then the request is answered already. finishLogin answers after the save.
 * Two synchronous halves rather than one function around the save: every further async step costs
 * QuickJS a job and a promise.
 */
export function startLogin(r: NginxHTTPRequest, reply: NginxHTTPRequest, verdictHeader: string, log: Log): LoginVerdict | null {
  // The reply's header lines, names and values at once (headersOut would be asked for the names, then
  // for each value, and QuickJS pays for every ask). A name on several lines is read from headersOut,
  // which groups them as nginx does (Set-Cookie as an array, most others joined), so the copy is what
  // copying headersOut name by name made.
  const lines = reply.rawHeadersOut;
  const count = lines.length;
  const lowers: string[] = [];
  for (let i = 0; i < count; i++) lowers.push(lines[i][0].toLowerCase());
  const verdictLower = verdictHeader.toLowerCase();
  let verdictText: string | undefined;
  for (let i = 0; i < count; i++) {
    const lower = lowers[i];
    // A name's first line stands for all of its lines.
    if (lowers.indexOf(lower) < i) continue;
    const several = lowers.indexOf(lower, i + 1) > 0;
    if (lower === verdictLower) {
      verdictText = several ? headerValue(reply.headersOut[verdictHeader]) : lines[i][1];
      continue;
    }
    // The verdict and the framing stay behind: the client never sees the verdict.
    if (NOT_COPIED.indexOf(lower) >= 0) continue;
    const name = lines[i][0];
    r.headersOut[name] = several ? (reply.headersOut[name] as string) : lines[i][1];
  }
  const verdict = readVerdict(verdictText);
  const contentType = headerValue(reply.headersOut["Content-Type"]);
  if (contentType) r.headersOut["Content-Type"] = contentType;
  const status = reply.status;
  const subjectProblem = verdict && status < 400 ? identityProblem(verdict.subject) : null;
  if (subjectProblem !== null) {
    // The login backend vouched for a name nginx could not publish as it is (a line break would
    // split $session_subject into two headers). Nothing of it reaches the log or the client.
    log("warn", "[session] login refused: the verdict's subject " + subjectProblem + " (request " + requestReference(r) + ")");
    r.return(400, "login refused: this user name cannot be used for a session\n");
    return null;
  }
  if (verdict && status < 400) return verdict;
  if (verdictText !== undefined) {
    log("warn", "[session] login verdict ignored: " + (verdict ? "backend status " + status : "not valid JSON {subject}") + " (request " + requestReference(r) + ")");
  }
  answerAsBackend(r, reply, status, headerValue(reply.headersOut["Location"]));
  return null;
}

/**
 * Answers after the save of `verdict` (startLogin's): a 400 for data too large, the redirect rules,
 * else the backend's status and body. A save that failed otherwise throws (the caller fails closed).
 */
export function finishLogin(r: NginxHTTPRequest, reply: NginxHTTPRequest, verdict: LoginVerdict, saved: Result, log: Log): void {
  if (!saved.ok && isDataTooLarge(saved.error)) {
    // The backend's data does not fit (cookie storage holds ~36 KB): a clear refusal, not a 500.
    log("warn", "[session] login refused: " + saved.error + ": send less data or use server-side storage (request " + requestReference(r) + ")");
    return r.return(400, "login refused: the session data is too large\n");
  }
  if (!saved.ok) throw new Error("unable to save the new session: " + saved.error);
  let status = reply.status;
  let location = headerValue(reply.headersOut["Location"]);
  if (verdict.redirect !== undefined) {
    if (typeof verdict.redirect !== "string" || !isLocalPath(verdict.redirect)) {
      log("warn", "[session] login verdict redirect ignored: not a local path (request " + requestReference(r) + ")");
    } else {
      status = 303;
      location = verdict.redirect;
    }
  }
  answerAsBackend(r, reply, status, location);
}

/** A redirect with its location, else the status with the backend's body. */
function answerAsBackend(r: NginxHTTPRequest, reply: NginxHTTPRequest, status: number, location: string | undefined): void {
  if (status >= 300 && status < 400 && location) return r.return(status, location);
  r.return(status, reply.responseText === undefined ? "" : String(reply.responseText));
}
