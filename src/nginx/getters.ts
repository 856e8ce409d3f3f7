/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The js_set getters of what the access check published: subject, audience, id, timeout, exists,
 * data, and a requestHeader... and responseHeader... getter per Session-* header. Synchronous, and
 * reading only this request's $session_state (never module scope: QuickJS keeps it across requests).
 *
 * Part of the module's eager part (index.ts): a getter never needs the configuration, so reading
 * $session_subject in a log line never loads the rest of the module.
 */

import { decodeState, PublishedState } from "./state";

function state(r: NginxHTTPRequest): PublishedState | null {
  return decodeState(r.variables.session_state);
}

export function subject(r: NginxHTTPRequest): string {
  const current = state(r);
  return current && current.s !== undefined ? current.s : "";
}

export function audience(r: NginxHTTPRequest): string {
  const current = state(r);
  return current ? current.a : "";
}

export function id(r: NginxHTTPRequest): string {
  const current = state(r);
  return current ? current.i : "";
}

export function timeout(r: NginxHTTPRequest): string {
  const current = state(r);
  return current && current.t !== undefined ? String(current.t) : "";
}

export function exists(r: NginxHTTPRequest): string {
  return state(r) ? "1" : "0";
}

export function data(r: NginxHTTPRequest): string {
  const current = state(r);
  return current ? JSON.stringify(current.d) : "";
}

function requestHeader(r: NginxHTTPRequest, name: string): string {
  const current = state(r);
  return current && current.q[name] !== undefined ? current.q[name] : "";
}

function responseHeader(r: NginxHTTPRequest, name: string): string {
  const current = state(r);
  return current && current.p[name] !== undefined ? current.p[name] : "";
}

// request_headers / response_headers: one getter per Session-* header, empty unless configured (an
// empty proxy_set_header sends nothing). Written out rather than made in a loop over the names:
// under the njs engine that loop ran on every request, and cost more than the rest of the module's
// top level together. test/unit/getters.test.ts holds them to config.ts's HEADER_NAMES.
export function requestHeaderId(r: NginxHTTPRequest): string {
  return requestHeader(r, "Session-Id");
}
export function requestHeaderAudience(r: NginxHTTPRequest): string {
  return requestHeader(r, "Session-Audience");
}
export function requestHeaderSubject(r: NginxHTTPRequest): string {
  return requestHeader(r, "Session-Subject");
}
export function requestHeaderTimeout(r: NginxHTTPRequest): string {
  return requestHeader(r, "Session-Timeout");
}
export function requestHeaderIdlingTimeout(r: NginxHTTPRequest): string {
  return requestHeader(r, "Session-Idling-Timeout");
}
export function requestHeaderRollingTimeout(r: NginxHTTPRequest): string {
  return requestHeader(r, "Session-Rolling-Timeout");
}
export function requestHeaderAbsoluteTimeout(r: NginxHTTPRequest): string {
  return requestHeader(r, "Session-Absolute-Timeout");
}
export function responseHeaderId(r: NginxHTTPRequest): string {
  return responseHeader(r, "Session-Id");
}
export function responseHeaderAudience(r: NginxHTTPRequest): string {
  return responseHeader(r, "Session-Audience");
}
export function responseHeaderSubject(r: NginxHTTPRequest): string {
  return responseHeader(r, "Session-Subject");
}
export function responseHeaderTimeout(r: NginxHTTPRequest): string {
  return responseHeader(r, "Session-Timeout");
}
export function responseHeaderIdlingTimeout(r: NginxHTTPRequest): string {
  return responseHeader(r, "Session-Idling-Timeout");
}
export function responseHeaderRollingTimeout(r: NginxHTTPRequest): string {
  return responseHeader(r, "Session-Rolling-Timeout");
}
export function responseHeaderAbsoluteTimeout(r: NginxHTTPRequest): string {
  return responseHeader(r, "Session-Absolute-Timeout");
}
