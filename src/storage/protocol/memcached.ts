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

import { CR, findLineEnd, INCOMPLETE, LF, lineText, MALFORMED, readInteger } from "./lines";
import { utf8Length } from "./resp";

export { INCOMPLETE, MALFORMED };

/** More digits than any value size a reply holds (readInteger's bound). */
const MAX_SIZE_DIGITS = 15;

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
  // A value without flags ("VA <size>\r\n", what `mg <key> v` answers): its size's digits read as
  // what ends them is looked for, as singleMetaValue reads them; anything else is framed below.
  if (bytes[start] === 0x56 && bytes[start + 1] === 0x41 && bytes[start + 2] === 0x20) {
    let size = 0;
    let at = start + 3;
    const digitsEnd = Math.min(end, at + MAX_SIZE_DIGITS);
    for (; at < digitsEnd; at++) {
      const digit = bytes[at] - 0x30;
      if (digit < 0 || digit > 9) break;
      size = size * 10 + digit;
    }
    if (at > start + 3 && bytes[at] === CR && bytes[at + 1] === LF) {
      const dataEnd = at + 2 + size;
      if (dataEnd + 2 > end) return INCOMPLETE;
      return bytes[dataEnd] === CR && bytes[dataEnd + 1] === LF ? dataEnd + 2 : MALFORMED;
    }
  }
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

/**
 * The commands a bridge body may hold: each is answered by exactly one reply that metaReplyEnd frames
 * (one line, or VA and its data), so that counting replies keeps requests apart. Not here: classic
 * retrieval (get/gets/gat/gats answer VALUE blocks then END), stats and the like (many lines), quit.
 * The value is the index of the word giving the size of the data block that follows the line, or 0.
 */
const ONE_REPLY_COMMANDS: { [name: string]: number } = {
  ms: 2, // ms <key> <datalen> <flags>*
  mg: 0,
  md: 0,
  ma: 0,
  mn: 0,
  me: 0,
  set: 4, // set <key> <flags> <exptime> <bytes> [noreply], and so on
  add: 4,
  replace: 4,
  append: 4,
  prepend: 4,
  cas: 4,
  delete: 0,
  incr: 0,
  decr: 0,
  touch: 0,
};

/**
 * Where `count` commands starting at `start` end, INCOMPLETE, or MALFORMED: not a command of
 * ONE_REPLY_COMMANDS, a line with a bare LF (memcached ends a line there), a data block of another
 * size, or a command that asks for no reply (the meta `q` flag, classic `noreply`).
 */
export function metaCommandsEnd(bytes: Uint8Array, start: number, end: number, count: number): number {
  let at = start;
  for (let i = 0; i < count; i++) {
    const lineEnd = findLineEnd(bytes, at, end);
    if (lineEnd < 0) return lineEnd;
    const line = lineText(bytes, at, lineEnd);
    if (line.indexOf("\n") >= 0) return MALFORMED;
    // memcached splits on runs of spaces.
    const words = splitWords(line);
    const name = words.length > 0 ? words[0] : "";
    if (!Object.prototype.hasOwnProperty.call(ONE_REPLY_COMMANDS, name)) return MALFORMED;
    // Flags and options follow the key (and the data size of ms); mn has neither.
    const quiet = name.charAt(0) === "m" ? "q" : "noreply";
    for (let w = 2; w < words.length; w++) if (words[w] === quiet) return MALFORMED;
    at = lineEnd + 2;
    const sizeWord = ONE_REPLY_COMMANDS[name];
    if (sizeWord === 0) continue;
    if (sizeWord >= words.length) return MALFORMED;
    const size = sizeOf(words[sizeWord]);
    if (size < 0) return MALFORMED;
    if (at + size + 2 > end) return INCOMPLETE;
    if (bytes[at + size] !== CR || bytes[at + size + 1] !== LF) return MALFORMED;
    at += size + 2;
  }
  return at;
}

/** The line's words, as memcached reads them: runs of spaces separate (a single space, as we write them, is split as is). */
function splitWords(line: string): string[] {
  const singleSpaced = line.indexOf("  ") < 0 && line.charAt(0) !== " " && line.charAt(line.length - 1) !== " ";
  return singleSpaced ? line.split(" ") : nonEmpty(line.split(" "));
}

/** The words that are not empty, in order (a loop: a callback per call costs the interpreters more). */
function nonEmpty(words: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < words.length; i++) if (words[i] !== "") kept.push(words[i]);
  return kept;
}

/** A data size word: decimal digits only (memcached's strtol would take "+5" or " 5"; we need not). */
function sizeOf(word: string): number {
  return /^[0-9]{1,9}$/.test(word) ? Number(word) : -1;
}

/**
 * The value when `bytes` are exactly one `VA <size>` reply with its data, null when exactly `EN`
 * (a miss), else undefined (any other reply, an error among them: parseMetaReplies then decides).
 * What `mg <key> v` answers, read in one pass: every session check's read.
 */
export function singleMetaValue(bytes: Uint8Array): string | null | undefined {
  const length = bytes.length;
  if (length === 4 && bytes[0] === 0x45 && bytes[1] === 0x4e && bytes[2] === CR && bytes[3] === LF) return null;
  if (length < 7 || bytes[0] !== 0x56 || bytes[1] !== 0x41 || bytes[2] !== 0x20) return undefined;
  // The size's digits read as what ends them is looked for: each byte looked at costs QuickJS about a
  // call, and `mg <key> v` answers "VA <size>" with no flags, so the line usually ends right there.
  // metaReplyEnd reads them alike; one helper for both costs a call more on each side and a search for
  // the data's start here (docs/NOTES.md, branch store10).
  let size = 0;
  let at = 3;
  for (; at < length && at < 3 + MAX_SIZE_DIGITS; at++) {
    const digit = bytes[at] - 0x30;
    if (digit < 0 || digit > 9) break;
    size = size * 10 + digit;
  }
  if (at === 3) return undefined;
  let lineEnd = at;
  if (bytes[at] === 0x20) {
    // Flags follow: the line's end found as parseMetaReplies finds it (its bound counted from the line's start).
    lineEnd = findLineEnd(bytes, 3, length);
    if (lineEnd < 0) return undefined;
  } else if (bytes[at] !== CR || bytes[at + 1] !== LF) {
    return undefined;
  }
  const dataEnd = lineEnd + 2 + size;
  if (dataEnd + 2 !== length || bytes[dataEnd] !== CR || bytes[dataEnd + 1] !== LF) return undefined;
  return lineText(bytes, lineEnd + 2, dataEnd);
}

/** Exactly `count` replies, the whole of `bytes`: anything else is a protocol error. */
export function parseMetaReplies(bytes: Uint8Array, count: number): MetaReply[] {
  if (metaRepliesEnd(bytes, 0, bytes.length, count) !== bytes.length) throw new Error("malformed store reply");
  const replies: MetaReply[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const lineEnd = findLineEnd(bytes, at, bytes.length);
    const words = lineText(bytes, at, lineEnd).split(" ");
    const reply: MetaReply = { code: words[0], flags: [] };
    if (reply.code === "CLIENT_ERROR" || reply.code === "SERVER_ERROR") {
      reply.message = words.slice(1).join(" ");
      at = lineEnd + 2;
    } else if (reply.code === "VA") {
      const size = Number(words[1]);
      reply.flags = words.slice(2);
      reply.value = lineText(bytes, lineEnd + 2, lineEnd + 2 + size);
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
