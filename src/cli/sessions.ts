/**
 * sessions list|revoke: a client of nginx's admin API (src/nginx/admin.ts): GET ?subject=S[&audience=A]
 * lists a subject's sessions, DELETE ?subject=S&id=I revokes one, DELETE ?subject=S all of them. The
 * bearer token comes from NJS_SESSION_ADMIN_TOKEN or --token-file, never from the command line (the
 * process list would show it). Also inspect's question (askRevocation): GET ?subject=S&created=T says
 * whether the session created at T is revoked, which nothing in the cookie can tell.
 */

import type { Arguments, CommandSpec } from "./args";
import { cliFailure, EXIT, usage } from "./failure";
import { escapeText, nodeProcess, print, printJson, registerSecret, relative, shown, table, utc } from "./output";
import { readSecretFile } from "./sources";
import { errorText } from "../core/errors";

export const TOKEN_VARIABLE = "NJS_SESSION_ADMIN_TOKEN";
/** How long the admin API may take to answer. */
const REQUEST_TIMEOUT_MS = 10000;

export const ADMIN_OPTIONS = { url: "string", "token-file": "string" } as const;

const COMMON_HELP = `  --url URL          the admin location, e.g. http://127.0.0.1/session-admin (session.admin)
  --subject SUBJECT  whose sessions
  --audience AUD     in which audience (default: the location's configured one)
  --token-file FILE  the bearer token (nginx.admin_token); else the environment variable ${TOKEN_VARIABLE}
  --json             the admin API's answer as JSON`;

const COMMON_OPTIONS = { url: "string", subject: "string", audience: "string", "token-file": "string", json: "boolean" } as const;

export const sessionsListSpec: CommandSpec = {
  name: "sessions list",
  summary: "list a subject's sessions (admin API)",
  options: { ...COMMON_OPTIONS },
  positionals: { min: 0, max: 0, names: "" },
  help: `usage: njs-session sessions list --url URL --subject SUBJECT [options]

Lists the subject's live sessions from nginx's session registry: id, created, last seen, expiry,
remember, and the device (user agent, and the address of sessions bound to it).

${COMMON_HELP}

example: NJS_SESSION_ADMIN_TOKEN=... njs-session sessions list --url http://127.0.0.1/session-admin --subject alice`,
};

export const sessionsRevokeSpec: CommandSpec = {
  name: "sessions revoke",
  summary: "revoke one (--id) or all (--all) of a subject's sessions (admin API)",
  options: { ...COMMON_OPTIONS, id: "string", all: "boolean" },
  positionals: { min: 0, max: 0, names: "" },
  help: `usage: njs-session sessions revoke --url URL --subject SUBJECT (--id ID | --all) [options]

Revokes one session (its id from \`sessions list\`) or every session of the subject, at once, in
every worker.

${COMMON_HELP}
  --id ID            the session to revoke
  --all              every session of the subject

example: njs-session sessions revoke --url http://127.0.0.1/session-admin --subject alice --all`,
};

export const sessionsSpec: CommandSpec = {
  name: "sessions",
  summary: "list or revoke a subject's sessions through nginx's admin API",
  options: {},
  positionals: { min: 0, max: 0, names: "" },
  help: `usage: njs-session sessions list|revoke [options]

  list     ${sessionsListSpec.summary}
  revoke   ${sessionsRevokeSpec.summary}

See njs-session sessions list --help and njs-session sessions revoke --help.`,
};

interface AdminSession {
  id: string;
  created: number;
  last_seen: number;
  expires: number;
  remember: boolean;
  user_agent?: string;
  ip?: string;
}

function token(args: Arguments): string | undefined {
  const file = args.string("token-file");
  const text = file !== undefined ? readSecretFile("the token file", file) : nodeProcess.env[TOKEN_VARIABLE];
  if (text) registerSecret(text);
  return text || undefined;
}

function adminUrl(args: Arguments, query: { [name: string]: string | undefined }): URL {
  const base = args.string("url");
  if (base === undefined) throw usage("--url is required (the location running session.admin)");
  let url: URL;
  try {
    url = new URL(base);
  } catch (e) {
    throw usage("--url is not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw usage("--url must be http:// or https://");
  const names = Object.keys(query);
  for (let i = 0; i < names.length; i++) {
    const value = query[names[i]];
    if (value !== undefined) url.searchParams.set(names[i], value);
  }
  return url;
}

/** One request; the decoded JSON body of a 2xx, else a failure naming the status and the API's reason. */
async function call(url: URL, method: string, bearer: string | undefined): Promise<{ [name: string]: unknown }> {
  const headers: { [name: string]: string } = { Accept: "application/json" };
  if (bearer !== undefined) headers.Authorization = "Bearer " + bearer;
  let response: Response;
  try {
    response = await fetch(url, { method: method, headers: headers, redirect: "manual", signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (e) {
    // fetch's own message is "fetch failed"; the reason (ECONNREFUSED, "bad port", a timeout) is its cause.
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause && cause.code ? cause.code : cause && cause.message ? cause.message : errorText(e);
    throw cliFailure(EXIT.ADMIN, "cannot reach the admin API at " + escapeText(url.origin + url.pathname) + ": " + escapeText(reason));
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch (e) {
    // Not the admin API's JSON: said below.
  }
  const reason = body && typeof body === "object" && typeof (body as { error?: unknown }).error === "string" ? (body as { error: string }).error : null;
  if (response.status === 401 && bearer === undefined) {
    throw cliFailure(EXIT.ADMIN, "the admin API wants a token (HTTP 401): set " + TOKEN_VARIABLE + " or pass --token-file");
  }
  if (response.status >= 300) {
    throw cliFailure(EXIT.ADMIN, "the admin API answered HTTP " + response.status + (reason ? ": " + escapeText(reason) : body === null ? " (not the admin API's JSON: is --url the session.admin location?)" : ""));
  }
  if (!body || typeof body !== "object" || !Array.isArray((body as { sessions?: unknown; revoked?: unknown }).sessions || (body as { revoked?: unknown }).revoked)) {
    throw cliFailure(EXIT.ADMIN, "the answer is not the admin API's JSON (is --url the session.admin location?)");
  }
  return body as { [name: string]: unknown };
}

function subjectOf(args: Arguments): string {
  const subject = args.string("subject");
  if (subject === undefined || subject === "") throw usage("--subject is required");
  return subject;
}

function sessionRows(sessions: AdminSession[], now: number): string[][] {
  return sessions.map((session) => [
    escapeText(String(session.id)),
    utc(session.created),
    relative(session.last_seen, now),
    relative(session.expires, now),
    session.remember ? "yes" : "no",
    session.ip === undefined ? "-" : escapeText(session.ip),
    session.user_agent === undefined ? "-" : escapeText(session.user_agent),
  ]);
}

const HEADER = ["ID", "CREATED", "LAST SEEN", "EXPIRES", "REMEMBER", "IP", "USER AGENT"];

export async function sessionsList(args: Arguments): Promise<number> {
  const subject = subjectOf(args);
  const url = adminUrl(args, { subject: subject, audience: args.string("audience") });
  const body = await call(url, "GET", token(args));
  if (args.boolean("json")) {
    printJson(body);
    return EXIT.OK;
  }
  const sessions = body.sessions as AdminSession[];
  const heading = "subject " + shown(body.subject) + ", audience " + shown(body.audience) + ": " + sessions.length + " session" + (sessions.length === 1 ? "" : "s");
  print(sessions.length ? heading + "\n" + table(HEADER, sessionRows(sessions, Math.floor(Date.now() / 1000))) : heading);
  return EXIT.OK;
}

export async function sessionsRevoke(args: Arguments): Promise<number> {
  const subject = subjectOf(args);
  const id = args.string("id");
  const all = args.boolean("all");
  if ((id === undefined) === !all) throw usage("give --id ID (one session) or --all (every session of the subject)");
  if (id !== undefined && !/^[0-9]{1,15}$/.test(id)) throw usage("--id must be a session id from `sessions list`");
  const url = adminUrl(args, { subject: subject, audience: args.string("audience"), id: id });
  const body = await call(url, "DELETE", token(args));
  if (args.boolean("json")) {
    printJson(body);
    return EXIT.OK;
  }
  const revoked = body.revoked as AdminSession[];
  const what = all ? "every session of subject " + shown(body.subject) + " (" + revoked.length + " listed)" : revoked.length + " session of subject " + shown(body.subject);
  print("revoked " + what + " in audience " + shown(body.audience) + (revoked.length ? "\n" + table(HEADER, sessionRows(revoked, Math.floor(Date.now() / 1000))) : ""));
  return EXIT.OK;
}

/** A verified session's standing in nginx's registry (admin.ts's answer to ?created=). */
export interface Revocation {
  audience: string;
  subject: string;
  /** Listed among the subject's live sessions (a minted session is not, until nginx renews it). */
  listed: boolean;
  revoked: boolean;
}

/** Asks the admin API at --url whether the session of `subject` created at `created` is revoked. */
export async function askRevocation(args: Arguments, audience: string, subject: string, created: number): Promise<Revocation> {
  const url = adminUrl(args, { subject: subject, audience: audience, created: String(created) });
  const body = await call(url, "GET", token(args));
  const session = body.session as { listed?: unknown; revoked?: unknown } | undefined;
  if (!session || typeof session.revoked !== "boolean" || typeof session.listed !== "boolean") {
    throw cliFailure(EXIT.ADMIN, "the admin API does not say whether a session is revoked (an njs-session older than this CLI?)");
  }
  return { audience: audience, subject: subject, listed: session.listed, revoked: session.revoked };
}
