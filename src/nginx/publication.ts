/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * What a session check hands to the rest of the request, and how: in js_access mode the state goes
 * into $session_state (and $session_data_* per exposed key) and response_headers onto the response;
 * in auth_request mode everything travels back in headers of a 204 (nginx/session-auth-request.conf).
 * Shared by the full check (check.ts) and the warm check (warm.ts), so both publish alike.
 */

import { HEADER_NAMES } from "../core/options";
import type { KnownSession } from "../core/fast-check";
import { MAX_COOKIES } from "../core/format";
import { timingProperty } from "../core/properties";
import type { TimingSettings } from "../core/properties";
import { publishedData } from "../core/publishable";
import type { EntryOptions } from "./configuration";
import { encodeState, PublishedState, rememberPublishedState } from "./state";
import { stateHeader } from "./state-header";

/**
 * Set-Cookie lines the auth_request handler can hand back (X-Session-Cookie-1 ..): a session cookie
 * and a remember cookie of up to nine chunks each. nginx/session-auth-request.conf forwards as many.
 */
export const MAX_FORWARDED_COOKIES = 2 * MAX_COOKIES;

/** Which entry point runs a check: how it denies and where it publishes. */
export const enum CheckMode {
  /** js_access: deny with a status or a login redirect, publish in $session_state. */
  Access,
  /** js_content behind auth_request: 401/403 or 204 with X-Session-* headers. */
  AuthRequest,
}

/** The entry options publishing reads. */
export type PublishingEntry = Pick<EntryOptions, "expose_data">;

/** The settings publishing reads. */
export interface PublishingSettings extends TimingSettings {
  requestHeaders: string[];
  responseHeaders: string[];
}

/** What the rest of the request may know about the session (a Session, or the fast check's find). */
export interface StateSource {
  subject: string | undefined;
  audience: string;
  loggableId: string;
  data: { [key: string]: unknown };
  property(name: string): string | number | Uint8Array | undefined;
}

export function knownSource(known: KnownSession, settings: TimingSettings): StateSource {
  return {
    subject: known.subject,
    audience: known.audience,
    loggableId: known.loggableId,
    data: known.data,
    property: function (name) {
      if (name === "audience") return known.audience;
      if (name === "subject") return known.subject;
      return timingProperty(name, settings, known.timing);
    },
  };
}

/** What a check hands on; kept on a KnownSession for the rest of the second (check.ts). */
export interface Publication {
  at: number;
  /** Who made it, to tell whether a kept one still applies (check.ts compares them by identity). */
  context: unknown;
  settings: unknown;
  entry: PublishingEntry;
  state: PublishedState;
  /** encodeState(state): $session_state's text (and X-Session-State's). */
  text: string;
  /** Names in state.p and state.d: most sessions have none, and then nothing else is written. */
  responseHeaderNames: string[];
  dataNames: string[];
}

export function publicationOf(source: StateSource, settings: PublishingSettings, entry: PublishingEntry, context: unknown, at: number): Publication {
  const state = stateOf(source, settings, entry);
  return {
    at: at,
    context: context,
    settings: settings,
    entry: entry,
    state: state,
    text: encodeState(state),
    responseHeaderNames: Object.keys(state.p),
    dataNames: Object.keys(state.d),
  };
}

/** The Session-* headers for these properties. Session-Id carries the loggable id, like $session_id. */
function propertyHeaders(source: StateSource, properties: string[]): { [name: string]: string } {
  const headers: { [name: string]: string } = {};
  for (let i = 0; i < properties.length; i++) {
    const name = HEADER_NAMES[properties[i]];
    if (!name) continue;
    const value = properties[i] === "id" ? source.loggableId : source.property(properties[i]);
    if (value === undefined || value instanceof Uint8Array) continue;
    // Numbers, the loggable id, and an identity no session can hold unless it is publishable.
    headers[name] = String(value);
  }
  return headers;
}

/** What the rest of the request may know about the session; response_headers go on the response. */
function stateOf(source: StateSource, settings: PublishingSettings, entry: PublishingEntry): PublishedState {
  const exposed: { [key: string]: string } = {};
  for (let i = 0; i < entry.expose_data.length; i++) {
    const key = entry.expose_data[i];
    if (Object.prototype.hasOwnProperty.call(source.data, key)) exposed[key] = publishedData(source.data[key]);
  }
  const state: PublishedState = {
    a: source.audience,
    i: source.loggableId,
    d: exposed,
    q: propertyHeaders(source, settings.requestHeaders),
    p: propertyHeaders(source, settings.responseHeaders),
  };
  if (source.subject !== undefined) state.s = source.subject;
  const timeout = source.property("timeout");
  if (typeof timeout === "number") state.t = timeout;
  const created = source.property("creation_time");
  if (typeof created === "number") state.c = created;
  return state;
}

/** Sets an nginx variable the snippets declare; a missing declaration is a configuration error. */
export function setVariable(r: NginxHTTPRequest, name: string, value: string): void {
  try {
    r.variables[name] = value;
  } catch (e) {
    const error = new Error(
      "invalid session configuration: nginx variable $" + name + " is not declared (add `js_var $" + name + ";`, see nginx/njs-session.conf)",
    );
    error.name = "ConfigError";
    throw error;
  }
}

/** response_headers: on the response at once (in auth_request mode also carried in the state). */
function applyResponseHeaders(r: NginxHTTPRequest, publication: Publication): void {
  const names = publication.responseHeaderNames;
  for (let i = 0; i < names.length; i++) r.headersOut[names[i]] = publication.state.p[names[i]];
}

/** js_access: publish the session in $session_state. */
function publishAccess(r: NginxHTTPRequest, publication: Publication): void {
  applyResponseHeaders(r, publication);
  setVariable(r, "session_state", publication.text);
  const names = publication.dataNames;
  for (let i = 0; i < names.length; i++) setVariable(r, "session_data_" + names[i], publication.state.d[names[i]]);
  // Returning without r.return() lets the request go on; the Set-Cookie lines of a refresh are
  // already on r.headersOut and survive proxy_pass.
}

/** auth_request: everything travels back in headers of the 204 (nginx/session-auth-request.conf). */
function publishAuthRequest(r: NginxHTTPRequest, publication: Publication, cookies: string[]): void {
  const state = publication.state;
  applyResponseHeaders(r, publication);
  r.headersOut["X-Session-State"] = stateHeader(publication.text);
  const names = publication.dataNames;
  for (let i = 0; i < names.length; i++) r.headersOut["X-Session-Data-" + names[i]] = state.d[names[i]];
  if (cookies.length > MAX_FORWARDED_COOKIES) {
    throw new Error(cookies.length + " Set-Cookie lines exceed the " + MAX_FORWARDED_COOKIES + " auth_request can forward");
  }
  for (let i = 0; i < cookies.length; i++) r.headersOut["X-Session-Cookie-" + (i + 1)] = cookies[i];
  r.return(204);
}

/**
 * Publishes as the mode does (the CSRF check, where due, comes first: check.ts). `remember`: also
 * leave the state decoded for this request's getters (state.ts), where module state is per request.
 */
export function publishNow(r: NginxHTTPRequest, mode: CheckMode, publication: Publication, cookies: string[], remember: boolean): void {
  if (mode === CheckMode.Access) {
    publishAccess(r, publication);
    if (remember) rememberPublishedState(publication.text, publication.state);
  } else {
    publishAuthRequest(r, publication, cookies);
  }
}
