/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * $session_state on its way back from an auth_request subrequest: the X-Session-State header carries
 * it as base64url, so that even that internal header holds printable ASCII only (the state holds TABs
 * and any publishable character), and the protected location decodes it into $session_state:
 *
 *   auth_request_set $session_state_header $sent_http_x_session_state;
 *   auth_request_set $session_state $session_state_from_header;    (js_set session.stateFromHeader)
 *
 * Part of the module's eager part: decoding needs no configuration.
 */

/**
 * The header's value for a state line. Buffer directly, not bytes.ts: importing bytes.ts would put
 * its module constants (a read of the Buffer global, ~650 instructions under the njs engine) into the
 * eager top level, which the njs engine runs for every request.
 */
export function stateHeader(stateText: string): string {
  return Buffer.from(stateText).toString("base64url");
}

/** js_set: the state the auth_request subrequest handed back, or "" (no session). */
export function stateFromHeader(r: NginxHTTPRequest): string {
  const header = r.variables.session_state_header;
  if (typeof header !== "string" || header === "") return "";
  // Our own subrequest's header (a client cannot set it); nothing but base64url is expected in it.
  // Not bytes.ts's decodeBase64Url + utf8Decode: they would put their functions and a TextDecoder
  // into the eager top level, which the njs engine runs for every request.
  if (/[^A-Za-z0-9_-]/.test(header)) return "";
  return Buffer.from(header, "base64url").toString();
}
