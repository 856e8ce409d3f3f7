/**
 * inspect's report: its shape (what --json prints, documented in docs/cli.md) and its human form.
 * Everything in it that came from the cookie is escaped on the way out (output.ts).
 */

import { escapeText, fields, print, printJson, shown, utc, when } from "./output";
import type { Revocation } from "./sessions";

/** The last second each timeout lets the session live; null for a timeout set to 0. */
export interface ValidUntil {
  idling: number | null;
  rolling: number | null;
  absolute: number | null;
  session: number | null;
}

export interface InspectReport {
  cookie: string;
  remember: boolean;
  header: {
    type: number;
    flags: number;
    flag_names: string[];
    /** The loggable id ($session_id), not the session id. */
    id: string;
    creation_time: number;
    rolling_offset: number;
    idling_offset: number;
    data_size: number;
    /** Cookies the payload takes (0: server-side; null: too large for cookies). */
    chunks: number | null;
  };
  now: number;
  timeouts: { idling: number; rolling: number; absolute: number };
  valid_until: ValidUntil;
  status: "valid" | "expired";
  /** Why it expired, as nginx logs it. */
  reason: string | null;
  /** null: not checked (no key, or a session in a store out of reach). */
  verified: boolean | null;
  verification_error: string | null;
  key: { index: number; name: string; id: string } | null;
  entries: Array<{ audience: string; subject: string | null; data: unknown }> | null;
  /** What nginx's admin API (--url) says of each entry with a subject; null: not asked. */
  revocation: Revocation[] | null;
  note: string | null;
}

export interface ReportStyle {
  json: boolean;
  /** --now was given: the human form says so. */
  nowGiven: boolean;
  /** "secret_fallbacks" or "ikm_fallbacks": how the configuration names the fallback keys. */
  fallbacksOption: string;
  /** The verification failed on the MAC or the decryption (not on a malformed payload). */
  rejected: boolean;
}

function dataSize(header: InspectReport["header"]): string {
  if (header.chunks === 0) return header.data_size + " characters (in the store)";
  if (header.chunks === null) return header.data_size + " characters (too large for cookies)";
  return header.data_size + " characters (" + header.chunks + " cookie" + (header.chunks === 1 ? "" : "s") + ")";
}

function verification(report: InspectReport, style: ReportStyle): string {
  if (!report.verified) return "NO: " + escapeText(report.verification_error || "") + (style.rejected ? " (not sealed by the configured keys, or altered)" : "");
  const key = report.key;
  if (key === null) return "yes";
  const sealer = key.index === 0 ? "the current key" : "fallback key " + key.index + " (" + style.fallbacksOption + "[" + key.index + "])";
  return "yes, sealed by " + sealer + ", key id " + key.id;
}

function revocation(answers: Revocation[]): string {
  if (!answers.length) return "not asked: no entry has a subject (the registry lists subjects' sessions)";
  return answers
    .map(function (answer) {
      const where = "audience " + shown(answer.audience);
      if (answer.revoked) return "YES in " + where + ": nginx refuses it";
      return "no in " + where + (answer.listed ? " (listed)" : " (not listed: minted, or not renewed since the registry was set)");
    })
    .join("; ");
}

export function printInspection(report: InspectReport, style: ReportStyle): void {
  if (style.json) {
    printJson(report);
    return;
  }
  const header = report.header;
  const now = report.now;
  const renewed = header.creation_time + header.rolling_offset;
  const rows: Array<[string, string]> = [
    ["cookie", escapeText(report.cookie) + (report.remember ? " (remember cookie)" : " (session cookie)")],
    ["type", String(header.type)],
    ["flags", "0x" + ("000" + header.flags.toString(16)).slice(-4) + (header.flags ? " " + header.flag_names.join(", ") : "")],
    ["id", header.id + " (as $session_id in nginx's logs)"],
    ["created", when(header.creation_time, now)],
    ["rolling offset", header.rolling_offset + " s: renewed " + when(renewed, now)],
    ["idling offset", header.idling_offset + " s: last seen " + when(renewed + header.idling_offset, now)],
    ["data size", dataSize(header)],
    ["now", utc(now) + (style.nowGiven ? " (--now)" : "")],
  ];
  const timeouts: Array<[string, number, number | null]> = [
    ["idling timeout", report.timeouts.idling, report.valid_until.idling],
    ["rolling timeout", report.timeouts.rolling, report.valid_until.rolling],
    ["absolute timeout", report.timeouts.absolute, report.valid_until.absolute],
  ];
  for (let i = report.remember ? 1 : 0; i < timeouts.length; i++) {
    const [label, seconds, end] = timeouts[i];
    rows.push([label, end === null ? "none" : seconds + " s, until " + when(end, now)]);
  }
  const until = report.valid_until.session;
  rows.push(["status", report.reason ? "EXPIRED: " + report.reason : until === null ? "valid (no timeout)" : "valid until " + when(until, now)]);
  if (report.verified !== null) rows.push(["verified", verification(report, style)]);
  if (report.revocation !== null) rows.push(["revoked", revocation(report.revocation)]);
  if (report.note) rows.push(["note", report.note]);
  print(fields(rows));
  if (!report.entries) return;
  print("entries:");
  for (let i = 0; i < report.entries.length; i++) {
    const entry = report.entries[i];
    print("  audience " + shown(entry.audience) + ", subject " + (entry.subject === null ? "(none)" : shown(entry.subject)));
    print("    data " + shown(entry.data));
  }
}
