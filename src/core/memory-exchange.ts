/**
 * An Exchange held in memory: a Cookie header in, Set-Cookie lines and headers out. Used by tools and
 * tests that open or mint sessions outside a live HTTP request (e.g. "open this cookie as of time T").
 */

import type { Exchange } from "./platform";

export interface MemoryExchange extends Exchange {
  requestCookieHeader: string | null | undefined;
  requestHeaders: { [name: string]: string };
  responseHeaders: { [name: string]: string };
  responseCookies: string[];
}

export interface MemoryRequest {
  cookie?: string;
  remoteAddress?: string;
  scheme?: string;
  userAgent?: string;
}

export function createMemoryExchange(request: MemoryRequest = {}): MemoryExchange {
  const exchange: MemoryExchange = {
    requestCookieHeader: request.cookie,
    requestHeaders: {},
    responseHeaders: {},
    responseCookies: [],
    cookieHeader: () => (exchange.requestCookieHeader === null ? undefined : exchange.requestCookieHeader),
    setRequestCookieHeader: (value) => {
      exchange.requestCookieHeader = value;
    },
    setRequestHeader: (name, value) => {
      exchange.requestHeaders[name] = value;
    },
    setResponseHeader: (name, value) => {
      exchange.responseHeaders[name] = value;
    },
    getResponseCookies: () => exchange.responseCookies,
    setResponseCookies: (cookies) => {
      exchange.responseCookies = cookies;
    },
    remoteAddress: () => request.remoteAddress,
    scheme: () => request.scheme,
    userAgent: () => request.userAgent,
  };
  return exchange;
}

/** The Cookie header a browser would send back after these Set-Cookie lines (expired ones dropped). */
export function cookieHeaderFromSetCookies(setCookies: string[], previous?: string): string {
  const jar: Array<[string, string]> = [];
  const put = (name: string, value: string | null): void => {
    for (let i = 0; i < jar.length; i++) {
      if (jar[i][0] === name) {
        if (value === null) jar.splice(i, 1);
        else jar[i][1] = value;
        return;
      }
    }
    if (value !== null) jar.push([name, value]);
  };
  if (previous) {
    previous.split(";").forEach((part) => {
      const equals = part.indexOf("=");
      if (equals > 0) put(part.substring(0, equals).trim(), part.substring(equals + 1).trim());
    });
  }
  setCookies.forEach((line) => {
    const first = line.split(";")[0];
    const equals = first.indexOf("=");
    const name = first.substring(0, equals);
    const expired = /;\s*Max-Age=0(;|$)/i.test(line);
    put(name, expired ? null : first.substring(equals + 1));
  });
  return jar.map((pair) => pair[0] + "=" + pair[1]).join("; ");
}
