/**
 * RESP2, the wire protocol of Redis and Valkey: commands out, replies in.
 *
 *   command   *<argc>\r\n  then per argument  $<byte length>\r\n<bytes>\r\n
 *   replies   +simple\r\n   -error\r\n   :integer\r\n   $<len>\r\n<bytes>\r\n ($-1: nil)
 *             *<count>\r\n followed by that many replies (*-1: nil), nested for CLUSTER SLOTS
 *
 * Used on both sides of the store bridge: the storage (src/storage/redis.ts) encodes commands and
 * parses the replies it gets back; the bridge (src/bridge) only needs where each reply (or command,
 * also a RESP array) ends, to count them without understanding them. Bulk strings are length-prefixed,
 * so values are binary-safe and a reply split across packets is simply "incomplete" until the rest comes.
 */

import { utf8Encode } from "../../core/bytes";
import { CR, findLineEnd, INCOMPLETE, LF, lineText, MALFORMED, readInteger } from "./lines";

export { INCOMPLETE, MALFORMED };

/** A RESP error reply ("-WRONGTYPE ...", "-MOVED 3999 127.0.0.1:7001"). */
export interface RespError {
  error: string;
}

export type RespValue = string | number | null | RespError | RespValue[];

/**
 * UTF-8 byte length of a string: the engine's own encoder for all but the shortest (a JavaScript loop
 * costs the interpreters about a microsecond a character; the native encoder one call). Not
 * Buffer.byteLength: QuickJS's tries the text as a typed array first and builds (and drops) a
 * TypeError each time (docs/NOTES.md, branch store7).
 */
export function utf8Length(text: string): number {
  if (text.length > 8) return utf8Encode(text).length;
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) length += 1;
    else if (code < 0x800) length += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length += 4;
        i++;
      } else length += 3;
    } else length += 3;
  }
  return length;
}

/** One command as RESP text; its bytes are the text's UTF-8 encoding. */
export function encodeCommand(args: Array<string | number>): string {
  let out = "*" + args.length + "\r\n";
  for (let i = 0; i < args.length; i++) {
    const text = typeof args[i] === "number" ? String(args[i]) : (args[i] as string);
    out += "$" + utf8Length(text) + "\r\n" + text + "\r\n";
  }
  return out;
}

/**
 * How deep arrays may nest. Our deepest reply is CLUSTER SLOTS (an array of slot ranges, each holding
 * node arrays: depth 3); a command is depth 1. The bound keeps a hostile nesting from blowing the
 * stack of parseValue (recursive) and from reaching a store that would close on it.
 */
export const MAX_NESTING = 8;
/** Redis' own limits (proto-max-bulk-len, 512 MB; a multibulk of at most 2^20 items unauthenticated): beyond them it is not a reply. */
export const MAX_BULK_BYTES = 512 * 1024 * 1024;
export const MAX_ARRAY_ITEMS = 1024 * 1024;

/**
 * Where the RESP value starting at `start` ends (exclusive), INCOMPLETE when `bytes` (up to `end`)
 * holds only part of it, MALFORMED when it is not RESP or exceeds the bounds above. Iterative: the
 * values still owed by each open array are a stack of at most MAX_NESTING counts.
 */
export function respValueEnd(bytes: Uint8Array, start: number, end: number): number {
  // Most replies are no array (a GET's bulk string, +OK, an integer): no stack for them.
  if (start < end && bytes[start] !== 0x2a) return scalarEnd(bytes, start, end);
  /** Values still owed, innermost array last; the outermost entry is the value asked for. */
  const owed = [1];
  let at = start;
  while (owed.length > 0) {
    if (at >= end) return INCOMPLETE;
    owed[owed.length - 1]--;
    if (bytes[at] === 0x2a) {
      const lineEnd = findLineEnd(bytes, at + 1, end);
      if (lineEnd < 0) return lineEnd;
      const count = readInteger(bytes, at + 1, lineEnd);
      if (count === null || count < -1 || count > MAX_ARRAY_ITEMS) return MALFORMED;
      if (count > 0) {
        if (owed.length > MAX_NESTING) return MALFORMED;
        owed.push(count);
      }
      at = lineEnd + 2;
    } else {
      at = scalarEnd(bytes, at, end);
      if (at < 0) return at;
    }
    while (owed.length > 0 && owed[owed.length - 1] === 0) owed.pop();
  }
  return at;
}

/** Where the value at `start` (< end), which is not an array, ends; INCOMPLETE or MALFORMED. */
function scalarEnd(bytes: Uint8Array, start: number, end: number): number {
  const type = bytes[start];
  if (type === 0x24 && start + 1 < end && bytes[start + 1] !== 0x2d) {
    // A bulk string (not nil's "-1"): the usual reply.
    return bulkStringEnd(bytes, start + 1, end);
  }
  const lineEnd = findLineEnd(bytes, start + 1, end);
  if (lineEnd < 0) return lineEnd;
  // + simple string, - error, : integer; $-1 the nil bulk string.
  if (type === 0x2b || type === 0x2d || type === 0x3a) return lineEnd + 2;
  if (type === 0x24 && readInteger(bytes, start + 1, lineEnd) === -1) return lineEnd + 2;
  return MALFORMED;
}

/**
 * Where the bulk string whose size line starts at `sizeStart` (after its "$") ends, after its data's
 * CRLF; INCOMPLETE or MALFORMED. The size is a length (lengthLine's), so nil's "$-1" is MALFORMED here:
 * a reply's caller tells it apart first. One reading for a reply's bulk string and a command's items.
 */
function bulkStringEnd(bytes: Uint8Array, sizeStart: number, end: number): number {
  const size = lengthLine(bytes, sizeStart, end);
  if (size < 0) return size;
  if (size > MAX_BULK_BYTES) return MALFORMED;
  const dataEnd = LENGTH_LINE_END[0] + size;
  if (dataEnd + 2 > end) return INCOMPLETE;
  if (bytes[dataEnd] !== CR || bytes[dataEnd + 1] !== LF) return MALFORMED;
  return dataEnd + 2;
}

/** Where `count` consecutive values starting at `start` end, or INCOMPLETE / MALFORMED. */
export function respValuesEnd(bytes: Uint8Array, start: number, end: number, count: number): number {
  let at = start;
  for (let i = 0; i < count; i++) {
    at = respValueEnd(bytes, at, end);
    if (at < 0) return at;
  }
  return at;
}

/**
 * Where `count` commands starting at `start` end, INCOMPLETE, or MALFORMED. A command is what Redis
 * reads as exactly one: an array of one or more bulk strings. Redis reads anything else differently
 * (an inline command ends at a bare LF, so one line can be two commands) or answers it with a protocol
 * error and closes (a nested array): either way its replies would no longer match the count.
 */
export function respCommandsEnd(bytes: Uint8Array, start: number, end: number, count: number): number {
  let at = start;
  for (let i = 0; i < count; i++) {
    if (at >= end) return INCOMPLETE;
    if (bytes[at] !== 0x2a) return MALFORMED;
    const items = lengthLine(bytes, at + 1, end);
    if (items < 0) return items;
    if (items < 1 || items > MAX_ARRAY_ITEMS) return MALFORMED;
    at = LENGTH_LINE_END[0];
    for (let item = 0; item < items; item++) {
      if (at >= end) return INCOMPLETE;
      if (bytes[at] !== 0x24) return MALFORMED;
      at = bulkStringEnd(bytes, at + 1, end);
      if (at < 0) return at;
    }
  }
  return at;
}

/**
 * Where the data of the last bulk string respCommandsEnd read begins (the end of its size line), for
 * the bridge's memory of a body's framing (src/bridge/commands.ts). Valid right after a
 * respCommandsEnd that returned an end, before any other reading.
 */
export function lastBulkDataStart(): number {
  return LENGTH_LINE_END[0];
}

/** More digits than any count or size a length line holds (readInteger's bound). */
const MAX_LENGTH_DIGITS = 15;
/**
 * Where the last line lengthLine read ends (after its LF). One slot reused, not an array or object
 * per call: an allocation costs QuickJS more than reading the line; only a number, read at once.
 */
const LENGTH_LINE_END = [0];

/**
 * The number of a "*<count>" or "$<size>" line holding a length (no sign), its digits from `start`
 * (after the type byte) up to the CRLF; LENGTH_LINE_END[0] receives where the line ends. INCOMPLETE,
 * or MALFORMED (no digits, anything but digits before the CR, too many digits, a bare CR). The digits
 * are read as the CR is looked for: findLineEnd and then readInteger would look at every byte twice,
 * and each byte looked at costs QuickJS hundreds of instructions; every store request has such lines.
 */
function lengthLine(bytes: Uint8Array, start: number, end: number): number {
  let value = 0;
  let at = start;
  for (; at < end; at++) {
    const digit = bytes[at] - 0x30;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
  }
  if (at - start > MAX_LENGTH_DIGITS) return MALFORMED;
  if (at >= end) return INCOMPLETE;
  if (at === start || bytes[at] !== CR) return MALFORMED;
  if (at + 1 >= end) return INCOMPLETE;
  if (bytes[at + 1] !== LF) return MALFORMED;
  LENGTH_LINE_END[0] = at + 2;
  return value;
}

/** Parses one complete value at `start`; `next[0]` receives where it ends. Throws on anything else. */
function parseValue(bytes: Uint8Array, start: number, next: number[]): RespValue {
  const lineEnd = findLineEnd(bytes, start + 1, bytes.length);
  if (lineEnd < 0) throw new Error("malformed store reply");
  const type = bytes[start];
  next[0] = lineEnd + 2;
  if (type === 0x2b) return lineText(bytes, start + 1, lineEnd);
  if (type === 0x2d) return { error: lineText(bytes, start + 1, lineEnd) };
  const number = readInteger(bytes, start + 1, lineEnd);
  if (number === null) throw new Error("malformed store reply");
  if (type === 0x3a) return number;
  if (type === 0x24) {
    if (number < 0) return null;
    const value = lineText(bytes, lineEnd + 2, lineEnd + 2 + number);
    next[0] = lineEnd + 2 + number + 2;
    return value;
  }
  if (type === 0x2a) {
    if (number < 0) return null;
    const items: RespValue[] = [];
    for (let i = 0; i < number; i++) items.push(parseValue(bytes, next[0], next));
    return items;
  }
  throw new Error("malformed store reply");
}

/**
 * The value when `bytes` are exactly one bulk string (null: the nil bulk string), else undefined (any
 * other reply, an error among them, or anything more or less: parseReplies then decides). What a GET
 * answers, read in one pass: every session check's read.
 */
export function singleBulkValue(bytes: Uint8Array): string | null | undefined {
  const length = bytes.length;
  if (length < 5 || bytes[0] !== 0x24) return undefined;
  // Nil, as Redis writes it; any other spelling is parseReplies' to judge.
  if (bytes[1] === 0x2d) return length === 5 && bytes[2] === 0x31 && bytes[3] === CR && bytes[4] === LF ? null : undefined;
  // The size line read once, digits as its CR is looked for (lengthLine): each byte looked at costs QuickJS about a call.
  const size = lengthLine(bytes, 1, length);
  if (size < 0) return undefined;
  const dataStart = LENGTH_LINE_END[0];
  const dataEnd = dataStart + size;
  if (dataEnd + 2 !== length || bytes[dataEnd] !== CR || bytes[dataEnd + 1] !== LF) return undefined;
  return lineText(bytes, dataStart, dataEnd);
}

/** Exactly `count` replies, the whole of `bytes`: anything else is a protocol error. */
export function parseReplies(bytes: Uint8Array, count: number): RespValue[] {
  if (respValuesEnd(bytes, 0, bytes.length, count) !== bytes.length) throw new Error("malformed store reply");
  const replies: RespValue[] = [];
  const next = [0];
  for (let i = 0; i < count; i++) replies.push(parseValue(bytes, next[0], next));
  return replies;
}

export function isRespError(value: RespValue): value is RespError {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
