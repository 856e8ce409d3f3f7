/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * $session_state on its way back from an auth_request subrequest, or from the check server: the
 * X-Session-State header carries the state line between "<" and ">", so that a proxied hop (the check
 * server's answer) keeps the TABs that begin or end it (an anonymous session's empty subject, the
 * empty header fields), which nginx would strip from a header value. nginx itself takes the frame off
 * (njs-session.conf's $session_state_unframed map), so the protected location runs no JavaScript for
 * it:
 *
 *   auth_request_set $session_state_header $sent_http_x_session_state;
 *   auth_request_set $session_state $session_state_unframed;
 *
 * The state never holds a line break or a NUL (state.ts says why), so it is a valid header value as it is.
 */

const FRAME_START = "<";
const FRAME_END = ">";

/** The header's value for a state line. */
export function stateHeader(stateText: string): string {
  return FRAME_START + stateText + FRAME_END;
}

/**
 * js_set (session.stateFromHeader, $session_state_from_header): the state the subrequest handed back,
 * or "" (no session). What session-auth-request.conf used before $session_state_unframed; kept for
 * configurations that name it.
 */
export function stateFromHeader(r: NginxHTTPRequest): string {
  const header = r.variables.session_state_header;
  if (typeof header !== "string" || header.length < 2) return "";
  if (header[0] !== FRAME_START || header[header.length - 1] !== FRAME_END) return "";
  return header.substring(1, header.length - 1);
}
