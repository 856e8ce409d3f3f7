/**
 * inspect COOKIE: what a session cookie says about itself. Without a key, its header (format.ts):
 * type, flags, creation, rolling and idling offsets, and when each timeout ends (the core's own
 * timing: properties.ts, checks.ts). With a key, the cookie is opened the way nginx opens it (a
 * Session of the core, on a platform whose clock is --now): the MAC checked, the payload decrypted,
 * every entry (data, audience, subject) shown, and which configured key sealed it.
 *
 * An expired cookie is opened as of its last use, when it was still valid, to show what it held; the
 * verdict (and the exit status) stays "expired". A server-side session's record is read from its
 * store (file, redis, memcached: opening.ts), not from shm storage, which is nginx's memory.
 */

import { readFileSync } from "node:fs";
import { createSessionLibrary } from "../core/api";
import { chunkCookieName, cookieChunkCount, CookiePairs, parseCookieHeader } from "../core/cookies";
import { errorText } from "../core/errors";
import { FLAG_BIND_IP, FLAG_BIND_SCHEME, FLAG_BIND_USER_AGENT, FLAG_DEFLATE, FLAG_FORGET, FLAG_STORAGE, KEY_SIZE, MAX_COOKIES } from "../core/format";
import { parseHeader, SessionHeader } from "../core/header";
import { lifetimeProblem } from "../core/checks";
import { createMemoryExchange } from "../core/memory-exchange";
import { SessionOptions } from "../core/options";
import { timingProperty, TimingSettings } from "../core/properties";
import { loggableId, SessionEntry } from "../core/session";
import { resolveSettings, Settings } from "../core/settings";
import type { Arguments, CommandSpec } from "./args";
import { cliFailure, EXIT, ExitStatus, usage } from "./failure";
import type { ValidUntil } from "./inspect-report";
import { escapeText, shown } from "./output";
import { ADMIN_OPTIONS, askRevocation, Revocation, TOKEN_VARIABLE } from "./sessions";
import { printInspection } from "./inspect-report";
import { bindRequestOptions, missingBindValues, outsideNginx } from "./opening";
import { CliPlatform, cliPlatform, parseNow } from "./platform";
import { asCoreFailure, KEY_HELP, KEY_OPTIONS, loadOptions, SECRET_VARIABLE } from "./sources";

export const inspectSpec: CommandSpec = {
  name: "inspect",
  summary: "decode a session cookie; with a key, verify it and show its data",
  options: { ...KEY_OPTIONS, ...ADMIN_OPTIONS, name: "string", remember: "boolean", audience: "string", now: "string", ip: "string", scheme: "string", "user-agent": "string", json: "boolean" },
  positionals: { min: 1, max: 1, names: "COOKIE" },
  help: `usage: njs-session inspect COOKIE [options]

COOKIE is the cookie's value, name=value, or a whole Cookie header (the session's chunks session2 ...
come with it); "-" reads it from standard input (keeps it out of the shell history).

Without a key: the header (type, flags, creation time, rolling and idling offsets) and until when each
timeout lets the session live. With a key: the MAC checked, the data decrypted, every audience with its
subject and data, and which key sealed it (the current one or which fallback).

${KEY_HELP}
  --name NAME          the cookie to read in a Cookie header (default: the configured cookie_name,
                       else remember_cookie_name, else the only cookie)
  --remember           COOKIE is a remember cookie (implied by the configured remember_cookie_name)
  --audience AUD       the audience to check for (default: the configured one)
  --now TIME           as of TIME: unix seconds or ISO 8601 (default: now)
  --ip ADDR, --scheme http|https, --user-agent UA
                       the request's values, for a cookie bound to them (bind)
  --url URL            nginx's admin location (session.admin): also ask it whether the session is
                       revoked (the cookie cannot say); the token as for \`sessions list\`:
  --token-file FILE    the admin bearer token; else the environment variable ${TOKEN_VARIABLE}
  --json               the report as JSON

Timeouts come from --config, else the defaults of session.json.

example: njs-session inspect --config /etc/nginx/session.json 'session=AQAA...'`,
};

const FLAG_NAMES: Array<[number, string]> = [
  [FLAG_STORAGE, "server-side storage"],
  [FLAG_FORGET, "forget (remember off)"],
  [FLAG_DEFLATE, "deflate"],
  [FLAG_BIND_IP, "bound to ip"],
  [FLAG_BIND_SCHEME, "bound to scheme"],
  [FLAG_BIND_USER_AGENT, "bound to user agent"],
];

/** Reasons that mean the cookie given is incomplete or broken rather than sealed by another key. */
const MALFORMED_REASONS = ["invalid session payload", "missing session cookie chunk", "unable to base64url decode session data", "cookie size limit exceeded"];

/** An inspection that needs no key's bytes: timeouts and names only. Never used to verify anything. */
const NO_KEY = new Uint8Array(KEY_SIZE);

interface Chosen {
  name: string;
  value: string;
  remember: boolean;
  /** The chosen cookie and its chunks, as the Cookie header the opening reads. */
  cookieHeader: string;
}

function readInput(argument: string): string {
  if (argument !== "-") return argument;
  try {
    return readFileSync(0, "utf8");
  } catch (e) {
    throw cliFailure(EXIT.UNREADABLE, "cannot read the cookie from standard input: " + errorText(e));
  }
}

function chunksOf(pairs: CookiePairs, name: string): string {
  const out: string[] = [];
  for (let i = 1; i <= MAX_COOKIES; i++) {
    const chunk = chunkCookieName(name, i);
    for (let p = 0; p < pairs.length; p++) {
      if (pairs[p][0] === chunk) {
        out.push(chunk + "=" + pairs[p][1]);
        break;
      }
    }
  }
  return out.join("; ");
}

/** The cookie to inspect, from a value, name=value, a Cookie header or a Set-Cookie line. */
function chooseCookie(input: string, settings: Settings, args: Arguments): Chosen {
  let text = input.trim();
  const setCookie = /^set-cookie:/i.test(text);
  text = text.replace(/^(set-)?cookie:\s*/i, "");
  if (setCookie) text = text.split(";")[0];
  const wanted = args.string("name");
  if (text.indexOf("=") < 0) {
    const name = wanted || (args.boolean("remember") ? settings.rememberCookieName : settings.cookieName);
    return { name: name, value: text, remember: args.boolean("remember") || name === settings.rememberCookieName, cookieHeader: name + "=" + text };
  }
  const pairs = parseCookieHeader(text);
  const has = (name: string) => pairs.some((pair) => pair[0] === name);
  let name: string | undefined = wanted;
  if (name === undefined) {
    if (has(settings.cookieName) && !args.boolean("remember")) name = settings.cookieName;
    else if (has(settings.rememberCookieName)) name = settings.rememberCookieName;
    else if (pairs.length === 1) name = pairs[0][0];
  }
  if (name === undefined || !has(name)) {
    const found = pairs.map((pair) => '"' + escapeText(pair[0]) + '"').join(", ");
    throw usage("no cookie " + (name === undefined ? "named " + settings.cookieName : '"' + escapeText(name) + '"') + " in COOKIE (found " + (found || "none") + "): pass --name");
  }
  const value = pairs.filter((pair) => pair[0] === name)[0][1];
  return { name: name, value: value, remember: args.boolean("remember") || name === settings.rememberCookieName, cookieHeader: chunksOf(pairs, name) };
}

function flagNames(flags: number): string[] {
  return FLAG_NAMES.filter((flag) => (flags & flag[0]) !== 0).map((flag) => flag[1]);
}

/** The timeouts of this kind of cookie, as properties.ts reads them (a remember cookie has no idling one). */
function timeoutsOf(settings: Settings, remember: boolean): TimingSettings {
  return remember
    ? { idlingTimeout: 0, rollingTimeout: settings.rememberRollingTimeout, absoluteTimeout: settings.rememberAbsoluteTimeout }
    : { idlingTimeout: settings.idlingTimeout, rollingTimeout: settings.rollingTimeout, absoluteTimeout: settings.absoluteTimeout };
}

/** The last second each timeout lets the session live: now plus what properties.ts says is left. */
function validUntil(timeouts: TimingSettings, header: SessionHeader, now: number): ValidUntil {
  const timing = { timestamp: now, creationTime: header.creationTime, rollingOffset: header.rollingOffset, idlingOffset: header.idlingOffset };
  const at = (name: string): number | null => {
    const left = timingProperty(name, timeouts, timing);
    return left === undefined ? null : now + left;
  };
  return { idling: at("idling_timeout"), rolling: at("rolling_timeout"), absolute: at("absolute_timeout"), session: at("timeout") };
}

/** The options the cookie is opened with: the configuration's, for this very cookie name. */
function openingOptions(options: SessionOptions, chosen: Chosen, audience: string | undefined): SessionOptions {
  const table: { [name: string]: unknown } = { ...outsideNginx(options) };
  // The cookie's own name, whatever the configuration calls it (a prefix included).
  table.cookie_prefix = null;
  if (chosen.remember) {
    // A remember cookie is read when the session cookie is missing: name that one after no cookie given.
    table.remember_cookie_name = chosen.name;
    table.cookie_name = chosen.name === "njs-session-none" ? "njs-session-none2" : "njs-session-none";
    table.remember = true;
  } else {
    table.cookie_name = chosen.name;
    if (table.remember_cookie_name === chosen.name) table.remember_cookie_name = chosen.name + "-remember";
    // A session cookie is inspected on its own: no falling back to a remember cookie.
    table.remember = false;
  }
  if (audience !== undefined) table.audience = audience;
  return table as SessionOptions;
}

interface Opening {
  ok: boolean;
  reason?: string;
  entries: SessionEntry[] | null;
}

async function openAt(options: SessionOptions, chosen: Chosen, args: Arguments, now: number): Promise<Opening> {
  const cli = cliPlatform(now);
  try {
    return await openOn(cli, options, chosen, args);
  } finally {
    cli.close();
  }
}

async function openOn(cli: CliPlatform, options: SessionOptions, chosen: Chosen, args: Arguments): Promise<Opening> {
  const library = createSessionLibrary(cli.platform);
  const exchange = createMemoryExchange({ cookie: chosen.cookieHeader, ...bindRequestOptions(args) });
  let session;
  try {
    session = library.new(exchange, options);
  } catch (e) {
    throw asCoreFailure(e);
  }
  let result;
  try {
    result = await session.open();
  } catch (e) {
    throw asCoreFailure(e);
  }
  if (result.ok) return { ok: true, entries: session.getEntries() };
  if (result.error === "missing session audience") {
    // Authentic, without the configured audience: the last entry is the one the session added for it.
    const entries = session.getEntries();
    return { ok: true, reason: result.error, entries: entries.slice(0, entries.length - 1) };
  }
  let reason = result.error || "unable to open session";
  if (chosen.remember) {
    // A remember cookie is read when the session cookie is missing; the core logs why it did not open.
    const prefix = 'remember cookie "' + chosen.name + '" not used: ';
    const line = cli.logs.filter((log) => log.message.indexOf(prefix) >= 0)[0];
    if (line) reason = line.message.substring(line.message.indexOf(prefix) + prefix.length);
    if (reason === "missing session audience") {
      const entries = session.getEntries();
      return { ok: true, reason: reason, entries: entries.slice(0, entries.length - 1) };
    }
  }
  return { ok: false, reason: reason, entries: null };
}

/** Which key sealed the cookie: each configured key alone, in order (0: the current one, i: fallback i). */
async function sealingKey(options: SessionOptions, settings: Settings, chosen: Chosen, args: Arguments, at: number): Promise<number> {
  const keys = [settings.ikm].concat(settings.ikmFallbacks);
  if (keys.length === 1) return 0;
  for (let i = 0; i < keys.length; i++) {
    const alone: { [name: string]: unknown } = { ...options, ikm: keys[i], ikm_fallbacks: [] };
    delete alone.secret;
    delete alone.secret_fallbacks;
    if ((await openAt(alone as SessionOptions, chosen, args, at)).ok) return i;
  }
  return -1;
}

function statusOf(reason: string): ExitStatus {
  if (MALFORMED_REASONS.some((known) => reason.indexOf(known) === 0)) return EXIT.MALFORMED;
  return EXIT.REJECTED;
}

export async function inspect(args: Arguments): Promise<number> {
  const now = parseNow(args.string("now"));
  const loaded = loadOptions(args);
  const cli = cliPlatform(now);
  let settings: Settings;
  try {
    // Without a key, the settings serve for names and timeouts only: NO_KEY never verifies anything.
    settings = resolveSettings(outsideNginx(loaded.keyGiven ? loaded.options : { ...loaded.options, ikm: NO_KEY }), cli.platform);
  } catch (e) {
    throw asCoreFailure(e);
  }
  const chosen = chooseCookie(readInput(args.positionals[0]), settings, args);
  const header = parseHeader(chosen.value);
  if (typeof header === "string") throw cliFailure(EXIT.MALFORMED, "not a session cookie: " + header);

  const timeouts = timeoutsOf(settings, chosen.remember);
  const until = validUntil(timeouts, header, now);
  const expired = lifetimeProblem(settings, chosen.remember, header, now);
  const lastRenewed = header.creationTime + header.rollingOffset;
  const lastSeen = lastRenewed + header.idlingOffset;
  const chunks = header.flags & FLAG_STORAGE ? 0 : cookieChunkCount(chosen.name.length, header.dataSize);

  let verified: boolean | null = null;
  let note: string | null = null;
  let verificationError: string | null = null;
  let keyIndex = -1;
  let entries: SessionEntry[] | null = null;
  let revocation: Revocation[] | null = null;
  let status: ExitStatus = expired ? EXIT.EXPIRED : EXIT.OK;
  if (!loaded.keyGiven) {
    note = "not verified: no key given (--secret-file, --secret, " + SECRET_VARIABLE + " or --config)";
    // The registry is asked by subject, and the subject is sealed in the cookie.
    if (args.string("url") !== undefined) note += "; --url needs the key too, to know whose session to ask about";
  } else if (header.flags & FLAG_STORAGE && !settings.storage) {
    note = "not verified: a server-side session (its data is in the store nginx uses): give --config with its file, redis or memcached storage (shm storage is nginx's memory, out of reach)";
  } else {
    const unbound = missingBindValues(header.flags, args);
    // An expired cookie is opened as of its last use, to show what it held; the verdict stays "expired".
    const at = expired ? (chosen.remember ? lastRenewed : lastSeen) : now;
    const options = openingOptions(loaded.options, chosen, args.string("audience"));
    const opening = await openAt(options, chosen, args, at);
    verified = opening.ok;
    if (opening.ok) {
      entries = opening.entries;
      keyIndex = await sealingKey(options, settings, chosen, args, at);
      if (opening.reason) note = "no entry for the audience " + shown(options.audience || settings.audience) + ": nginx refuses it there";
      if (args.string("url") !== undefined) {
        revocation = [];
        for (const entry of entries || []) {
          if (entry[2] !== undefined) revocation.push(await askRevocation(args, entry[1], entry[2], header.creationTime));
        }
        // A revoked session is refused as a cookie of another key is: nginx's reason is "session revoked".
        if (status === EXIT.OK && revocation.some((answer) => answer.revoked)) status = EXIT.REJECTED;
      }
    } else {
      verificationError = opening.reason || "unable to open session";
      status = statusOf(verificationError);
      // Bound to request values not given: the MAC could not match (or a flag was altered to say so).
      if (unbound.length) note = "the cookie says it is bound to the client's request (bind): pass " + unbound.join(", ") + " to verify it";
    }
  }

  const keyName = keyIndex < 0 ? null : keyIndex === 0 ? "current" : "fallback " + keyIndex;
  printInspection(
    {
      cookie: chosen.name,
      remember: chosen.remember,
      header: {
        type: header.bytes[0],
        flags: header.flags,
        flag_names: flagNames(header.flags),
        id: loggableId(cli.platform, header.sid),
        creation_time: header.creationTime,
        rolling_offset: header.rollingOffset,
        idling_offset: header.idlingOffset,
        data_size: header.dataSize,
        chunks: chunks,
      },
      now: now,
      timeouts: { idling: timeouts.idlingTimeout, rolling: timeouts.rollingTimeout, absolute: timeouts.absoluteTimeout },
      valid_until: until,
      status: expired ? "expired" : "valid",
      reason: expired,
      verified: verified,
      verification_error: verificationError,
      key: keyName === null ? null : { index: keyIndex, name: keyName, id: settings.keyIds[keyIndex] },
      entries: entries === null ? null : entries.map((entry) => ({ audience: entry[1], subject: entry[2] === undefined ? null : entry[2], data: entry[0] })),
      revocation: revocation,
      note: note,
    },
    {
      json: args.boolean("json"),
      nowGiven: args.string("now") !== undefined,
      fallbacksOption: loaded.options.ikm_fallbacks !== undefined ? "ikm_fallbacks" : "secret_fallbacks",
      rejected: status === EXIT.REJECTED,
    },
  );
  return status;
}
