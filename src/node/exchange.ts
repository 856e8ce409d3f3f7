/**
 * The session's view of one Node HTTP exchange (core/platform.ts's Exchange) over an
 * `http.IncomingMessage` and the response's headers. The headers are reached through the few methods
 * `http.ServerResponse` has (getHeader, setHeader, removeHeader), so that a framework that keeps its own
 * response headers (Fastify's reply) passes an object with those methods instead.
 *
 * Scheme and client address are the connection's unless the caller says otherwise: a framework that
 * knows its proxies (Express's `trust proxy`) passes what it derived; forwarded headers are never read
 * here, as they are whatever the client sent.
 */

import type { IncomingMessage } from "node:http";
import type { Exchange } from "../core/platform";

/** The response-header methods the session uses; `http.ServerResponse` has them all. */
export interface ResponseHeaders {
  getHeader(name: string): number | string | string[] | undefined;
  setHeader(name: string, value: number | string | readonly string[]): unknown;
  removeHeader(name: string): unknown;
  /** When true, headers can no longer change (ServerResponse.headersSent). */
  readonly headersSent?: boolean;
}

export interface ExchangeOverrides {
  /** "https" or "http" as the application knows it (e.g. Express's req.protocol). */
  scheme?: string;
  /** The client's address as the application knows it (e.g. Express's req.ip). */
  remoteAddress?: string;
}

function asList(value: number | string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value.slice() : [String(value)];
}

function writable(headers: ResponseHeaders): void {
  // Saving a session after the body started is a bug of the caller's, not a cookie to lose silently.
  if (headers.headersSent) throw new Error("njs-session: the response headers were already sent; save or refresh the session before writing the body");
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}

export function createHttpExchange(request: IncomingMessage, headers: ResponseHeaders, overrides?: ExchangeOverrides): Exchange {
  const socket = request.socket as (IncomingMessage["socket"] & { encrypted?: boolean }) | undefined;
  return {
    // Node joins repeated Cookie headers with "; ", as the core expects.
    cookieHeader: () => request.headers.cookie,
    setRequestCookieHeader: (value) => {
      if (value === null) delete request.headers.cookie;
      else request.headers.cookie = value;
    },
    setRequestHeader: (name, value) => {
      request.headers[name.toLowerCase()] = value;
    },
    setResponseHeader: (name, value) => {
      writable(headers);
      headers.setHeader(name, value);
    },
    getResponseCookies: () => asList(headers.getHeader("set-cookie")),
    setResponseCookies: (cookies) => {
      writable(headers);
      if (cookies.length === 0) headers.removeHeader("set-cookie");
      else headers.setHeader("set-cookie", cookies);
    },
    remoteAddress: () => (overrides && overrides.remoteAddress) || (socket ? socket.remoteAddress : undefined),
    scheme: () => (overrides && overrides.scheme) || (socket && socket.encrypted ? "https" : "http"),
    userAgent: () => single(request.headers["user-agent"]),
  };
}
