/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * Where a known answer (known-answers.ts) is found in njs_session_cache: its key, and the worker it is
 * left for: QuickJS's front and check server (check.ts). The njs engine's eager part (index.ts) writes
 * zoneAnswerKey and namedFront out in its own code, as its comment says why; t/066 and t/135 hold the
 * two to the same keys inside nginx, under both engines.
 *
 * The key: "@answer/1:", the worker, the location's text after its length (a text may hold ":"), then
 * the whole Cookie header. The worker is a pid: it scopes an answer to one configuration generation
 * (check-view.ts says why a pid does), and it is the worker whose requests look the answer up: this
 * one, unless a front named another. A front (`js_access session.accessKnown`) that has no answer
 * names its worker in $session_front_scope and leaves the request to auth_request; the check there
 * (in this worker's subrequest, or in the check server, nginx/session-check-server.conf, which any
 * worker may run and which sets the variable from the front's header) leaves the answer it makes
 * under that worker, where the front looks next.
 */

import { CheckMode } from "./check-mode";

/** Longer Cookie headers get no answer, under either engine: a client could otherwise fill the zone with large keys. */
export const ANSWER_HEADER_MAX = 4096;

/** This worker's pid, as text: read once (QuickJS builds `process` anew for each read). */
let workerPidText: string | undefined;

export function workerPid(): string {
  if (workerPidText === undefined) workerPidText = String(process.pid);
  return workerPidText;
}

/** The zone key of the answer for `text` and `header` left for the worker `scope`; null for a header that gets none. */
export function zoneAnswerKey(scope: string | number, text: string, header: unknown): string | null {
  return typeof header === "string" && header.length <= ANSWER_HEADER_MAX ? "@answer/1:" + scope + ":" + text.length + ":" + text + header : null;
}

/**
 * QuickJS's key in worker memory (known-answers.ts answersInMemory): as the zone's, without the worker
 * (a context lives in one); null likewise.
 */
export function memoryAnswerKey(text: string, header: unknown): string | null {
  return typeof header === "string" && header.length <= ANSWER_HEADER_MAX ? text.length + ":" + text + header : null;
}

/**
 * The worker of the front that named itself to this check ($session_front_scope: a pid, digits only),
 * in auth_request mode; else null (the variable is not read).
 */
export function namedFront(r: NginxHTTPRequest, mode: CheckMode): string | null {
  if (mode !== CheckMode.AuthRequest) return null;
  const named = r.variables.session_front_scope;
  return typeof named === "string" && named.length > 0 && named.length <= 10 && /^[0-9]+$/.test(named) ? named : null;
}
