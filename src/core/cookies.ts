/**
 * Cookies on the wire: reading the Cookie request header, splitting a large session into chunks the way
 * lua-resty-session does, building and merging Set-Cookie lines, and hiding session cookies from an
 * upstream.
 *
 * Chunking: a session needs len(name) + 1 + 110 + dataSize bytes. Up to 4096 it is one cookie. Beyond,
 * it is split into "<name>", "<name>2", ... "<name>9": the first holds the header and
 * 4096 - 110 - len(name) - 1 payload characters, the others 4096 - len(name) - 2 each. The reader
 * derives the count from the header's data size alone.
 */

import { HEADER_ENCODED_SIZE, MAX_COOKIE_SIZE, MAX_COOKIES, MAX_COOKIES_SIZE } from "./format";
import type { Exchange } from "./platform";

export const COOKIE_EXPIRE_ATTRIBUTES = "; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0";

export type CookiePairs = Array<[string, string]>;

/** Splits a Cookie header into name/value pairs, in order. Values are kept verbatim (no unquoting). */
export function parseCookieHeader(header: string | undefined): CookiePairs {
  const pairs: CookiePairs = [];
  if (!header) return pairs;
  const parts = header.split(";");
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const equals = part.indexOf("=");
    if (equals < 0) continue;
    const name = part.substring(0, equals).trim();
    if (name === "") continue;
    pairs.push([name, part.substring(equals + 1).trim()]);
  }
  return pairs;
}

/** The first cookie of that name, as nginx's $cookie_NAME gives it. */
export function findCookie(pairs: CookiePairs, name: string): string | undefined {
  for (let i = 0; i < pairs.length; i++) if (pairs[i][0] === name) return pairs[i][1];
  return undefined;
}

/**
 * findCookie(parseCookieHeader(header), name), fast, for the common shapes only: the first occurrence
 * of `name` in the header is the start of a part ("name=value", at the start or after ";" or "; ").
 * Then no earlier part can carry that name, and the value is the part's, trimmed, as the full parse
 * gives it. Any other shape ("name =v", the name inside an earlier cookie's name or value, ...) gives
 * null: "cannot tell quickly", and the caller takes the full path. undefined: no such cookie at all.
 */
export function quickCookie(header: string | undefined, name: string): string | null | undefined {
  const tail = cookieTail(header, name);
  return typeof tail === "string" ? tailValue(tail) : tail;
}

/**
 * quickCookie in two steps: the header from the value of the cookie `name` on (that value and every
 * cookie after it), or null or undefined as quickCookie says. Its value is tailValue(tail); a caller
 * that can use the tail itself (the session check's lookup in worker memory, src/nginx/check.ts)
 * skips the search for the value's end, which costs QuickJS a step per character of the value.
 */
export function cookieTail(header: string | undefined, name: string): string | null | undefined {
  if (!header) return undefined;
  const at = header.indexOf(name);
  if (at < 0) return undefined;
  if (header.charCodeAt(at + name.length) !== 61 /* = */) return null;
  if (at > 0) {
    const before = header.charCodeAt(at - 1);
    if (before !== 59 /* ; */ && !(before === 32 /* space */ && at > 1 && header.charCodeAt(at - 2) === 59)) return null;
  }
  return header.substring(at + name.length + 1);
}

/** The value a cookieTail starts with: up to the first ";", trimmed, as the full parse gives it. */
export function tailValue(tail: string): string {
  const end = tail.indexOf(";");
  return (end < 0 ? tail : tail.substring(0, end)).trim();
}

/** How many cookies a payload of `dataSize` characters needs, or null when it cannot fit in nine. */
export function cookieChunkCount(cookieNameSize: number, dataSize: number): number | null {
  let spaceNeeded = cookieNameSize + 1 + HEADER_ENCODED_SIZE + dataSize;
  if (spaceNeeded > MAX_COOKIES_SIZE) return null;
  if (spaceNeeded <= MAX_COOKIE_SIZE) return 1;
  for (let i = 2; i <= MAX_COOKIES; i++) {
    spaceNeeded += cookieNameSize + 2;
    if (spaceNeeded > MAX_COOKIES_SIZE) return null;
    if (spaceNeeded <= MAX_COOKIE_SIZE * i) return i;
  }
  return null;
}

/** Payload characters carried by the first cookie when a session is chunked. */
export function firstChunkPayloadSize(cookieNameSize: number): number {
  return MAX_COOKIE_SIZE - HEADER_ENCODED_SIZE - cookieNameSize - 1;
}

/** Payload characters carried by each cookie after the first. */
export function nextChunkPayloadSize(cookieNameSize: number): number {
  return MAX_COOKIE_SIZE - cookieNameSize - 2;
}

export function chunkCookieName(cookieName: string, index: number): string {
  return index === 1 ? cookieName : cookieName + index;
}

/** Replaces the Set-Cookie line for `name` if the response already has one, or appends it. */
export function mergeSetCookie(cookies: string[], name: string, line: string): string[] {
  const prefix = name + "=";
  for (let i = 0; i < cookies.length; i++) {
    if (cookies[i].substring(0, prefix.length) === prefix) {
      cookies[i] = line;
      return cookies;
    }
  }
  cookies.push(line);
  return cookies;
}

/** Sets one cookie's Set-Cookie line on the response, replacing a line for the same name already set. */
export function setResponseCookie(exchange: Pick<Exchange, "getResponseCookies" | "setResponseCookies">, name: string, line: string): void {
  exchange.setResponseCookies(mergeSetCookie(exchange.getResponseCookies().slice(), name, line));
}

export function expiredCookieLine(name: string, attributes: string): string {
  return name + "=" + attributes + COOKIE_EXPIRE_ATTRIBUTES;
}

/**
 * The Cookie header without the session's cookies (the cookie itself and chunks 2..chunkCount), or
 * null when nothing would be left.
 */
export function withoutSessionCookies(header: string, cookieNames: string[]): string | null {
  const kept: string[] = [];
  const parts = header.split(";");
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i].trim();
    if (part === "") continue;
    const equals = part.indexOf("=");
    const name = (equals < 0 ? part : part.substring(0, equals)).trim();
    if (cookieNames.indexOf(name) >= 0) continue;
    kept.push(part);
  }
  return kept.length ? kept.join("; ") : null;
}

/** HTTP-date for Expires (RFC 7231 IMF-fixdate), as nginx's ngx.http_time formats it. */
export function httpDate(unixSeconds: number): string {
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const date = new Date(unixSeconds * 1000);
  const two = function (n: number): string {
    return n < 10 ? "0" + n : String(n);
  };
  return (
    days[date.getUTCDay()] + ", " + two(date.getUTCDate()) + " " + months[date.getUTCMonth()] + " " +
    date.getUTCFullYear() + " " + two(date.getUTCHours()) + ":" + two(date.getUTCMinutes()) + ":" +
    two(date.getUTCSeconds()) + " GMT"
  );
}
