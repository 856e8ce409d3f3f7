/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * What a session check hands to the rest of the request, and how: in js_access mode the state goes
 * into $session_state (and $session_data_* per exposed key) and response_headers onto the response;
 * in auth_request mode everything travels back in headers of a 204 (nginx/session-auth-request.conf).
 * Shared by the full check (check.ts) and the warm check (warm.ts), so both publish alike.
 */

import { CheckMode } from "./check-mode";
import { headerNames } from "../core/options";
import { MAX_COOKIES } from "../core/format";
import { closestTimeout, timingProperty } from "../core/properties";
import type { SessionTiming, TimingSettings } from "../core/properties";
import { publishedData } from "../core/publishable";
import type { EntryOptions } from "./configuration";
import { headerFields, NO_HEADER_FIELDS, PLAIN_STATE_TAIL, stateLine, stateTail } from "./state";
import { stateHeader } from "./state-header";

/**
 * Set-Cookie lines the auth_request handler can hand back (X-Session-Cookie-1 ..): a session cookie
 * and a remember cookie of up to nine chunks each. nginx/session-auth-request.conf forwards as many.
 */
export const MAX_FORWARDED_COOKIES = 2 * MAX_COOKIES;

/** The js_var a js_access check publishes the state line in (nginx/njs-session.conf declares it). */
const STATE_VARIABLE = "session_state";


/** The entry options publishing reads. */
export type PublishingEntry = Pick<EntryOptions, "expose_data">;

/** The settings publishing reads. */
export interface PublishingSettings extends TimingSettings {
  requestHeaders: string[];
  responseHeaders: string[];
}

/**
 * What the rest of the request may know about a session: the fast check's KnownSession is one, and
 * check.ts makes one of a Session. Plain fields, no closures: a cold check builds one per request.
 */
export interface StateSource {
  subject: string | undefined;
  audience: string;
  loggableId: string;
  data: { [key: string]: unknown };
  /** As of this request. */
  timing: SessionTiming;
}

/** What a check hands on; kept on a KnownSession for the rest of the second (check.ts). */
export interface Publication {
  at: number;
  /** Who made it, to tell whether a kept one still applies (check.ts compares them by identity). */
  context: unknown;
  settings: unknown;
  /** $session_state's text (and X-Session-State's): state.ts's stateLine. */
  text: string;
  /** What a CSRF token is bound to (core/csrf.ts). */
  audience: string;
  subject: string | undefined;
  creationTime: number;
  /** response_headers as name, value, name, value...; null for the many sessions that have none. */
  responseHeaders: string[] | null;
  /** expose_data as key, value, key, value...; null when nothing is exposed. */
  data: string[] | null;
}

/**
 * The publication of a session, kept by the full check (check.ts) for the rest of the second. Sessions
 * with no request_headers, response_headers or expose_data (most) take the short way: their header
 * fields and data are constants.
 */
export function publicationOf(source: StateSource, settings: PublishingSettings, entry: PublishingEntry, context: unknown, at: number): Publication {
  const timing = source.timing;
  let fields = NO_HEADER_FIELDS;
  let responseHeaders: string[] | null = null;
  if (publishesHeaders(settings)) {
    const toClient = propertyHeaders(source, settings, settings.responseHeaders);
    fields = headerFields(propertyHeaders(source, settings, settings.requestHeaders), toClient);
    responseHeaders = pairs(toClient);
  }
  let dataJson = "{}";
  let data: string[] | null = null;
  if (exposesData(entry)) {
    const exposed = exposedData(source, entry);
    dataJson = JSON.stringify(exposed);
    data = pairs(exposed);
  }
  return {
    at: at,
    context: context,
    settings: settings,
    // PLAIN_STATE_TAIL is stateTail("{}", NO_HEADER_FIELDS): most sessions' tail without a call.
    text: stateText(source, settings, fields === NO_HEADER_FIELDS && dataJson === "{}" ? PLAIN_STATE_TAIL : stateTail(dataJson, fields)),
    audience: source.audience,
    subject: source.subject,
    creationTime: timing.creationTime,
    responseHeaders: responseHeaders,
    data: data,
  };
}

/**
 * Publishes a session that nothing keeps (the njs engine's warm, cold and touch checks): for the many
 * sessions with no request_headers, response_headers or expose_data, without building a Publication,
 * of which publishing reads three fields (an object literal costs the njs engine per property).
 */
export function publishSession(
  r: NginxHTTPRequest,
  mode: CheckMode,
  source: StateSource,
  settings: PublishingSettings,
  entry: PublishingEntry,
  cookies: string[],
): void {
  if (!publishPlain(r, mode, source, settings, entry, cookies)) publishNow(r, mode, publicationOf(source, settings, entry, null, 0), cookies);
}

/**
 * publishSession's short way alone: true when published; false for a session with request_headers,
 * response_headers or expose_data, which publishSession publishes. Apart so that the njs engine's warm
 * part holds only this, and builds the rest only for such a session (warm-publication.ts).
 */
export function publishPlain(
  r: NginxHTTPRequest,
  mode: CheckMode,
  source: StateSource,
  settings: PublishingSettings,
  entry: PublishingEntry,
  cookies: string[],
): boolean {
  if (publishesHeaders(settings) || exposesData(entry)) return false;
  publishStateText(r, mode, stateText(source, settings, PLAIN_STATE_TAIL), cookies);
  return true;
}

/**
 * Whether publishPlain publishes a session of these settings and entry (its state line is then all
 * there is to hand on: known-answers.ts keeps it).
 */
export function publishesPlainly(settings: PublishingSettings, entry: PublishingEntry): boolean {
  return !publishesHeaders(settings) && !exposesData(entry);
}

/**
 * A state line and nothing else, published as the mode does: publishNow's two ways with nothing but
 * the text, called directly, so that publishNow and publishAccess stay out of the njs engine's warm
 * part and its known answers (known-answers.ts).
 */
export function publishStateText(r: NginxHTTPRequest, mode: CheckMode, text: string, cookies: string[]): void {
  if (mode !== CheckMode.AuthRequest) setVariable(r, STATE_VARIABLE, text);
  else publishAuthRequest(r, text, null, null, cookies);
}

function publishesHeaders(settings: PublishingSettings): boolean {
  return settings.requestHeaders.length > 0 || settings.responseHeaders.length > 0;
}

function exposesData(entry: PublishingEntry): boolean {
  return entry.expose_data.length > 0;
}

/** $session_state's text (state.ts's stateLine) for `source`, with the fields that follow (state.ts's stateTail). */
function stateText(source: StateSource, settings: PublishingSettings, tail: string): string {
  const timing = source.timing;
  return stateLine(source.subject, source.audience, source.loggableId, closestTimeout(settings, timing), timing.creationTime, tail);
}

function pairs(values: { [name: string]: string }): string[] | null {
  const names = Object.keys(values);
  if (names.length === 0) return null;
  const flat: string[] = [];
  for (let i = 0; i < names.length; i++) flat.push(names[i], values[names[i]]);
  return flat;
}

/** The exposed data keys the session holds, each value published (publishable.ts's encoding). */
function exposedData(source: StateSource, entry: PublishingEntry): { [key: string]: string } {
  const exposed: { [key: string]: string } = {};
  for (let i = 0; i < entry.expose_data.length; i++) {
    const key = entry.expose_data[i];
    if (Object.prototype.hasOwnProperty.call(source.data, key)) exposed[key] = publishedData(source.data[key]);
  }
  return exposed;
}

/** The Session-* headers for these properties. Session-Id carries the loggable id, like $session_id. */
function propertyHeaders(source: StateSource, settings: TimingSettings, properties: string[]): { [name: string]: string } {
  const headers: { [name: string]: string } = {};
  const names = headerNames();
  for (let i = 0; i < properties.length; i++) {
    const property = properties[i];
    const name = names[property];
    if (!name) continue;
    let value: string | number | undefined;
    if (property === "id") value = source.loggableId;
    else if (property === "audience") value = source.audience;
    else if (property === "subject") value = source.subject;
    else value = timingProperty(property, settings, source.timing);
    // Numbers, the loggable id, and an identity no session can hold unless it is publishable.
    if (value !== undefined) headers[name] = String(value);
  }
  return headers;
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
function applyResponseHeaders(r: NginxHTTPRequest, headers: string[]): void {
  for (let i = 0; i < headers.length; i += 2) r.headersOut[headers[i]] = headers[i + 1];
}

/** js_access: publish the session in $session_state. */
function publishAccess(r: NginxHTTPRequest, text: string, responseHeaders: string[] | null, data: string[] | null): void {
  if (responseHeaders) applyResponseHeaders(r, responseHeaders);
  setVariable(r, STATE_VARIABLE, text);
  if (data) for (let i = 0; i < data.length; i += 2) setVariable(r, "session_data_" + data[i], data[i + 1]);
  // Returning without r.return() lets the request go on; the Set-Cookie lines of a refresh are
  // already on r.headersOut and survive proxy_pass.
}

/** auth_request: everything travels back in headers of the 204 (nginx/session-auth-request.conf). */
function publishAuthRequest(r: NginxHTTPRequest, text: string, responseHeaders: string[] | null, data: string[] | null, cookies: string[]): void {
  if (responseHeaders) applyResponseHeaders(r, responseHeaders);
  r.headersOut["X-Session-State"] = stateHeader(text);
  if (data) for (let i = 0; i < data.length; i += 2) r.headersOut["X-Session-Data-" + data[i]] = data[i + 1];
  if (cookies.length > MAX_FORWARDED_COOKIES) {
    throw new Error(cookies.length + " Set-Cookie lines exceed the " + MAX_FORWARDED_COOKIES + " auth_request can forward");
  }
  if (cookies.length) {
    for (let i = 0; i < cookies.length; i++) r.headersOut["X-Session-Cookie-" + (i + 1)] = cookies[i];
    // They travel in X-Session-Cookie-*, which the front forwards: the same lines as Set-Cookie of
    // the 204 would only double what a check server's answer carries to the front.
    delete r.headersOut["Set-Cookie"];
  }
  r.return(204);
}

/**
 * Publishes as the mode does: the state text, response_headers and exposed data (the CSRF check, where
 * due, comes first: check.ts). The mode's two ways called from here, no step between: under QuickJS
 * every distinct function a cold request calls is read from memory (docs/NOTES.md, "where QuickJS's
 * misses under concurrency go").
 */
export function publishNow(r: NginxHTTPRequest, mode: CheckMode, publication: Publication, cookies: string[]): void {
  if (mode !== CheckMode.AuthRequest) publishAccess(r, publication.text, publication.responseHeaders, publication.data);
  else publishAuthRequest(r, publication.text, publication.responseHeaders, publication.data, cookies);
}
