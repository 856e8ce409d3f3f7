/**
 * Everything the CLI prints goes through here, for two promises: no secret it was given is ever
 * printed (each is registered when read, and any text that would carry one shows "[redacted]"
 * instead), and nothing that came from a cookie or a server (subjects, data, user agents, error
 * bodies) reaches the terminal raw: control characters and the characters that reorder text
 * (bidirectional overrides) are escaped, so that a hostile value cannot rewrite the screen.
 */

import { asciiJson } from "../core/publishable";

// Node's process: tsconfig.json also loads njs-types (through src/nginx/configuration.ts), whose
// global `process` (njs's) hides Node's type.
export const nodeProcess = (globalThis as unknown as { process: NodeJS.Process }).process;

/**
 * Secrets shorter than this are not searched for: they would turn up by chance inside ordinary text
 * and cookie values (a short secret is refused by no one, but is no secret worth the corruption).
 */
const MIN_REDACTED_SIZE = 8;
const secrets: string[] = [];

/** A secret the CLI read (key, token): from now on never printed. */
export function registerSecret(secret: string): void {
  if (secret.length >= MIN_REDACTED_SIZE && secrets.indexOf(secret) < 0) secrets.push(secret);
}

export function redact(text: string): string {
  let out = text;
  for (let i = 0; i < secrets.length; i++) out = out.split(secrets[i]).join("[redacted]");
  return out;
}

/**
 * C0 and C1 controls, DEL, line and paragraph separators, bidirectional embeddings, overrides and
 * isolates, and lone surrogates.
 */
const MISLEADING = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])([\udc00-\udfff])/g;

/** `text` fit for a terminal: each misleading character as \xNN or \u{NNNN}. */
export function escapeText(text: string): string {
  return text.replace(MISLEADING, function (match) {
    // The last alternative matches the character before a lone low surrogate too: keep that one.
    const lead = match.length === 2 ? match.charAt(0) : "";
    const code = match.charCodeAt(match.length - 1);
    return lead + (code < 0x100 ? "\\x" + ("0" + code.toString(16)).slice(-2) : "\\u{" + code.toString(16) + "}");
  });
}

/**
 * A value from a cookie or a server as human output shows it: its JSON (a string in quotes, with
 * its quotes, backslashes and C0 controls escaped by JSON itself), the other misleading characters
 * escaped too. Unambiguous: no two values look alike.
 */
export function shown(value: unknown): string {
  return escapeText(JSON.stringify(value));
}

export function print(text: string): void {
  nodeProcess.stdout.write(redact(text) + "\n");
}

export function printError(text: string): void {
  nodeProcess.stderr.write(redact(text) + "\n");
}

/** --json: ASCII-only JSON (every other character escaped), one document per line. */
export function printJson(value: unknown): void {
  print(asciiJson(value));
}

/** Unix seconds as "2026-12-05T06:00:00Z". */
export function utc(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.000Z$/, "Z");
}

/** A duration in seconds in its largest whole unit: "45 s", "12 min", "3 h", "6 d". */
export function duration(seconds: number): string {
  const s = Math.abs(seconds);
  if (s < 120) return s + " s";
  if (s < 120 * 60) return Math.floor(s / 60) + " min";
  if (s < 48 * 3600) return Math.floor(s / 3600) + " h";
  return Math.floor(s / 86400) + " d";
}

/** `at` relative to `now`: "in 3 h", "2 min ago", "now". */
export function relative(at: number, now: number): string {
  if (at === now) return "now";
  return at > now ? "in " + duration(at - now) : duration(now - at) + " ago";
}

/** "2026-12-05T06:00:00Z (in 3 h)". */
export function when(at: number, now: number): string {
  return utc(at) + " (" + relative(at, now) + ")";
}

/** Label/value lines, the labels padded to one column. */
export function fields(rows: Array<[string, string]>): string {
  let width = 0;
  for (let i = 0; i < rows.length; i++) width = Math.max(width, rows[i][0].length);
  return rows
    .map(function (row) {
      return (row[0] + ":").padEnd(width + 2) + row[1];
    })
    .join("\n");
}

/** A table: a header row and columns padded to their widest cell (the cells already escaped). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map(function (title, column) {
    return rows.reduce(function (width, row) {
      return Math.max(width, row[column].length);
    }, title.length);
  });
  return [header]
    .concat(rows)
    .map(function (row) {
      return row
        .map(function (cell, column) {
          return column === row.length - 1 ? cell : cell.padEnd(widths[column]);
        })
        .join("  ");
    })
    .join("\n");
}
