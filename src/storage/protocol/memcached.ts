/**
 * memcached's meta text protocol (memcached ≥ 1.6): one command per line, one reply per command, in
 * order. Meta commands rather than the classic get/set because every reply has one shape, whatever
 * the command:
 *
 *   <CODE> [<flags>]\r\n                      HD stored/touched/deleted, EN miss, NF not found,
 *                                             NS not stored, EX cas mismatch, MN no-op
 *   VA <size> [<flags>]\r\n<data>\r\n         a value
 *   ERROR\r\n, CLIENT_ERROR <why>\r\n, SERVER_ERROR <why>\r\n
 *
 * so the bridge can count replies without knowing which command each answers. Records are the same
 * items classic `set` writes (flags 0), so OpenResty nodes using lua-resty-memcached read them too.
 */

import { utf8Decode } from "../../core/bytes";
import { asciiText, CR, findLineEnd, INCOMPLETE, LF, MALFORMED, readInteger } from "./lines";
import { utf8Length } from "./resp";

export { INCOMPLETE, MALFORMED };

/** memcached's limit on key length, in bytes. */
export const MAX_KEY_BYTES = 250;
/** memcached reads a TTL beyond 30 days as an absolute unix time. */
export const MAX_RELATIVE_TTL = 30 * 24 * 3600;

export interface MetaReply {
  /** "VA", "HD", "EN", "NF", "NS", "EX", "MN", "ERROR", "CLIENT_ERROR", "SERVER_ERROR". */
  code: string;
  /** The flags returned after the code (after the size for VA), e.g. ["t59", "c12"]. */
  flags: string[];
  /** With VA: the data. */
  value?: string;
  /** With CLIENT_ERROR / SERVER_ERROR: the server's words. */
  message?: string;
}

/** Whether memcached accepts this as a key: at most 250 bytes, no whitespace or control characters. */
export function isValidKey(key: string): boolean {
  return key.length > 0 && utf8Length(key) <= MAX_KEY_BYTES && !/[\x00-\x20\x7f]/.test(key);
}

/** The T (and N) flag value for a TTL in seconds: absolute time beyond memcached's 30-day limit. */
export function ttlToken(ttl: number, now: number): number {
  return ttl > MAX_RELATIVE_TTL ? now + ttl : ttl;
}

/** A meta command line; with `data`, the data block follows (ms). */
export function encodeMeta(command: string, key: string, flags: Array<string>, data?: string): string {
  if (!isValidKey(key)) throw new Error("invalid memcached key");
  let line = command + " " + key;
  if (data !== undefined) line += " " + utf8Length(data);
  for (let i = 0; i < flags.length; i++) line += " " + flags[i];
  return data !== undefined ? line + "\r\n" + data + "\r\n" : line + "\r\n";
}

/** Where the reply at `start` ends (exclusive), INCOMPLETE, or MALFORMED. */
export function metaReplyEnd(bytes: Uint8Array, start: number, end: number): number {
  const lineEnd = findLineEnd(bytes, start, end);
  if (lineEnd < 0) return lineEnd;
  if (lineEnd - start < 2) return MALFORMED;
  // "VA <size> ...": the data block and its CRLF follow.
  if (bytes[start] === 0x56 && bytes[start + 1] === 0x41 && bytes[start + 2] === 0x20) {
    let sizeEnd = start + 3;
    while (sizeEnd < lineEnd && bytes[sizeEnd] !== 0x20) sizeEnd++;
    const size = readInteger(bytes, start + 3, sizeEnd);
    if (size === null || size < 0) return MALFORMED;
    const dataEnd = lineEnd + 2 + size;
    if (dataEnd + 2 > end) return INCOMPLETE;
    if (bytes[dataEnd] !== CR || bytes[dataEnd + 1] !== LF) return MALFORMED;
    return dataEnd + 2;
  }
  return lineEnd + 2;
}

/** Where `count` consecutive replies starting at `start` end, or INCOMPLETE / MALFORMED. */
export function metaRepliesEnd(bytes: Uint8Array, start: number, end: number, count: number): number {
  let at = start;
  for (let i = 0; i < count; i++) {
    at = metaReplyEnd(bytes, at, end);
    if (at < 0) return at;
  }
  return at;
}

/** Exactly `count` replies, the whole of `bytes`: anything else is a protocol error. */
export function parseMetaReplies(bytes: Uint8Array, count: number): MetaReply[] {
  if (metaRepliesEnd(bytes, 0, bytes.length, count) !== bytes.length) throw new Error("malformed store reply");
  const replies: MetaReply[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const lineEnd = findLineEnd(bytes, at, bytes.length);
    const words = asciiText(bytes, at, lineEnd).split(" ");
    const reply: MetaReply = { code: words[0], flags: [] };
    if (reply.code === "CLIENT_ERROR" || reply.code === "SERVER_ERROR") {
      reply.message = words.slice(1).join(" ");
      at = lineEnd + 2;
    } else if (reply.code === "VA") {
      const size = Number(words[1]);
      reply.flags = words.slice(2);
      reply.value = utf8Decode(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    } else {
      reply.flags = words.slice(1);
      at = lineEnd + 2;
    }
    replies.push(reply);
  }
  return replies;
}

/** The value of a returned flag ("t59" → "59" for "t"), or undefined. */
export function metaFlag(reply: MetaReply, flag: string): string | undefined {
  for (let i = 0; i < reply.flags.length; i++) if (reply.flags[i].charAt(0) === flag) return reply.flags[i].substring(1);
  return undefined;
}
