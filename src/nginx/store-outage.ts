/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * A store outage in auth_request mode. auth_request passes only 2xx, 401 and 403 on: a 503 from the
 * check's subrequest would reach the client as a 500, with "auth request unexpected status" in the
 * error log on every request. So the subrequest answers 401 (or 403, when that is the configured
 * store_unavailable_status) and names the status it means in X-Session-Unavailable;
 * nginx/session-auth-request.conf hands that on in $session_unavailable, and session.loginRedirect
 * (the error_page 401 location) answers it. A location without that error_page answers 401: closed
 * either way, and the incident is logged once where it was detected (src/storage/remote.ts).
 */

/** The subrequest's header, read by session-auth-request.conf's auth_request_set. */
export const UNAVAILABLE_HEADER = "X-Session-Unavailable";
/** Where session-auth-request.conf puts it for the error_page 401 location. */
const UNAVAILABLE_VARIABLE = "session_unavailable";

/** The check subrequest's answer to a store outage: a status auth_request passes on, and the one meant. */
export function answerOutageToAuthRequest(r: NginxHTTPRequest, status: number): void {
  r.headersOut[UNAVAILABLE_HEADER] = String(status);
  r.return(status === 403 ? 403 : 401);
}

/**
 * The status the check subrequest meant, when it reported a store outage; undefined otherwise. Only the
 * statuses store_unavailable_status may take: the variable is ours, but it is read as untrusted.
 */
export function reportedOutageStatus(r: NginxHTTPRequest): number | undefined {
  let text: unknown;
  try {
    text = r.variables[UNAVAILABLE_VARIABLE];
  } catch (e) {
    // Not declared: an nginx.conf with an older copy of session-auth-request.conf.
    return undefined;
  }
  return text === "503" || text === "401" || text === "403" ? Number(text) : undefined;
}
