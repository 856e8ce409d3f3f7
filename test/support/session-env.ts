/**
 * A session library over the Node platform with a controllable clock and a captured log, plus small
 * helpers to read Set-Cookie lines and play the browser between requests.
 */

import { createSessionLibrary, type SessionLibrary } from "../../src/core/api";
import type { SessionOptions } from "../../src/core/options";
import { cookieHeaderFromSetCookies, createMemoryExchange, type MemoryExchange, type MemoryRequest } from "../../src/core/memory-exchange";
import type { LogLevel, Platform } from "../../src/core/platform";
import { createNodePlatform } from "../../src/platform/node";

/** A fixed, arbitrary "now" (2025-10-09T08:53:20Z) every test starts from. */
export const T0 = 1_760_000_000;

export interface LogLine {
  level: LogLevel;
  message: string;
}

export interface TestEnv {
  clock: { now: number };
  logs: LogLine[];
  platform: Platform;
  library: SessionLibrary;
  /** A fresh exchange for one request. */
  request(cookie?: string, extra?: Omit<MemoryRequest, "cookie">): MemoryExchange;
}

export function createEnv(start: number = T0): TestEnv {
  const clock = { now: start };
  const logs: LogLine[] = [];
  const platform = createNodePlatform({
    now: () => clock.now,
    log: (level, message) => logs.push({ level, message }),
  });
  const library = createSessionLibrary(platform);
  return {
    clock,
    logs,
    platform,
    library,
    request: (cookie, extra) => createMemoryExchange({ cookie, ...(extra || {}) }),
  };
}

/** The Set-Cookie line for `name`, or undefined. */
export function setCookieLine(lines: string[], name: string): string | undefined {
  return lines.find((line) => line.startsWith(name + "="));
}

/** The value part of the Set-Cookie line for `name` (between "name=" and the first ";"). */
export function setCookieValue(lines: string[], name: string): string | undefined {
  const line = setCookieLine(lines, name);
  if (line === undefined) return undefined;
  const end = line.indexOf(";");
  return line.substring(name.length + 1, end < 0 ? line.length : end);
}

export function isExpiredLine(line: string | undefined): boolean {
  return line !== undefined && /;\s*Max-Age=0(;|$)/.test(line) && /;\s*Expires=Thu, 01 Jan 1970 00:00:01 GMT/.test(line);
}

/** Cookie names the response sets (expired or not), in order. */
export function setCookieNames(lines: string[]): string[] {
  return lines.map((line) => line.substring(0, line.indexOf("=")));
}

/** The next request's Cookie header after a response (browser behaviour: expired cookies dropped). */
export function nextCookie(exchange: MemoryExchange, previous?: string): string {
  return cookieHeaderFromSetCookies(exchange.responseCookies, previous);
}

/** Saves a new session with `data` (and optional subject) and returns the Cookie header a browser sends back. */
export async function mint(
  env: TestEnv,
  options: SessionOptions,
  data: { [key: string]: unknown } = { user: "john" },
  extra?: { subject?: string; request?: Omit<MemoryRequest, "cookie"> },
): Promise<{ cookie: string; exchange: MemoryExchange }> {
  const exchange = env.request(undefined, extra && extra.request);
  const session = env.library.new(exchange, options);
  session.setData(data);
  if (extra && extra.subject !== undefined) session.setSubject(extra.subject);
  const saved = await session.save();
  if (!saved.ok) throw new Error("mint: save failed: " + saved.error);
  return { cookie: nextCookie(exchange), exchange };
}
