/**
 * The core's Node platform as the CLI runs it: the package's own set-up (src/node/runtime.ts: the store
 * transport for redis and memcached storage), with the clock at --now, log lines kept (the core reports
 * some reasons only there), and shared dict zones that exist in this process only. nginx.conf's
 * zones are out of the CLI's reach: a zone the configuration names is taken as declared, and
 * remembered, so that check-config can list the zones nginx.conf must declare.
 */

import type { LogLevel, Platform } from "../core/platform";
import type { SharedDict } from "../core/shared-dict";
import { createNodeRuntime } from "../node/runtime";
import { EXIT, cliFailure } from "./failure";

export interface CliPlatform {
  platform: Platform;
  clock: { now: number };
  logs: Array<{ level: LogLevel; message: string }>;
  /** The zones asked for, in order. */
  zones: string[];
  /** Closes the store connections (a command is done with the store). */
  close(): void;
}

function memoryDict(name: string): SharedDict {
  const values = new Map<string, string>();
  return {
    name: name,
    get: (key) => values.get(key),
    set: (key, value) => values.set(key, value),
    add: (key, value) => (values.has(key) ? false : (values.set(key, value), true)),
    replace: (key, value) => (values.has(key) ? (values.set(key, value), true) : false),
    delete: (key) => values.delete(key),
  };
}

export function cliPlatform(now: number): CliPlatform {
  const clock = { now: now };
  const logs: Array<{ level: LogLevel; message: string }> = [];
  const zones: string[] = [];
  const dicts: { [zone: string]: SharedDict } = {};
  const anyZone = new Proxy(dicts, {
    get(target, zone) {
      if (typeof zone !== "string") return undefined;
      if (!target[zone]) {
        zones.push(zone);
        target[zone] = memoryDict(zone);
      }
      return target[zone];
    },
  });
  const runtime = createNodeRuntime({
    now: () => clock.now,
    log: (level, message) => logs.push({ level: level, message: message }),
    sharedDicts: anyZone,
  });
  return { platform: runtime.platform, clock: clock, logs: logs, zones: zones, close: runtime.close };
}

/** --now: unix seconds, or an ISO 8601 time ("2026-12-05T06:00:00Z"); the real clock when absent. */
export function parseNow(text: string | undefined): number {
  if (text === undefined) return Math.floor(Date.now() / 1000);
  if (/^[0-9]{1,12}$/.test(text)) return Number(text);
  const parsed = /^[0-9]{4}-[0-9]{2}-[0-9]{2}/.test(text) ? Date.parse(text) : NaN;
  if (!isFinite(parsed)) throw cliFailure(EXIT.MALFORMED, "--now must be unix seconds or an ISO 8601 time (2026-12-05T06:00:00Z)");
  return Math.floor(parsed / 1000);
}
