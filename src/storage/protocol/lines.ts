/**
 * CRLF-terminated lines in a byte buffer, as both store protocols (RESP, memcached's) frame them.
 * The scanners return offsets, or one of two negative verdicts, so that a framer can tell "wait for
 * more bytes" from "this is not the protocol" without exceptions on the hot path of the bridge.
 */

/** More bytes are needed. */
export const INCOMPLETE = -1;
/** The bytes cannot be the protocol: the connection is beyond repair. */
export const MALFORMED = -2;

import { hostEncodesViews, utf8Decode } from "../../core/bytes";

export const CR = 0x0d;
export const LF = 0x0a;

/** No line of either protocol comes near this; a longer one is garbage, not a slow packet. */
const MAX_LINE = 4096;

/** Bytes looked at one by one before the engine's indexOf takes over (RESP's lines are mostly shorter). */
const SHORT_LINE = 4;

/**
 * Offset of the CR of the first CRLF at or after `start`, INCOMPLETE, or MALFORMED (a bare CR, too long).
 * A short line's CR is found by a loop; a longer one's by the engine's indexOf: a JavaScript loop over
 * the bytes costs QuickJS hundreds of instructions a byte (a memcached command line is mostly its
 * key), a call to indexOf more than a loop over a few bytes.
 */
export function findLineEnd(bytes: Uint8Array, start: number, end: number): number {
  const limit = Math.min(end, start + MAX_LINE);
  const short = Math.min(limit, start + SHORT_LINE);
  let cr = -1;
  for (let i = start; i < short; i++) {
    if (bytes[i] === CR) {
      cr = i;
      break;
    }
  }
  if (cr < 0 && short < limit) cr = bytes.indexOf(CR, short);
  if (cr < 0 || cr >= limit) return limit < end ? MALFORMED : INCOMPLETE;
  if (cr + 1 >= end) return INCOMPLETE;
  return bytes[cr + 1] === LF ? cr : MALFORMED;
}

/** A decimal integer (optional "-") filling [start, end) exactly, or null. */
export function readInteger(bytes: Uint8Array, start: number, end: number): number | null {
  let at = start;
  let negative = false;
  if (at < end && bytes[at] === 0x2d) {
    negative = true;
    at++;
  }
  if (at >= end || end - at > 15) return null;
  let value = 0;
  for (; at < end; at++) {
    const digit = bytes[at] - 0x30;
    if (digit < 0 || digit > 9) return null;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

/** A Buffer's own decoder of a range (njs and Node), which a plain Uint8Array does not have. */
interface RangeDecoder {
  toString(encoding: "utf8", start: number, end: number): string;
}

const PLAIN_TO_STRING = Uint8Array.prototype.toString;
const BUFFER_TO_STRING = Buffer.prototype.toString as unknown as (this: Uint8Array, encoding: "utf8", start: number, end: number) => string;

/**
 * A protocol line's text, decoded by the engine (UTF-8): a JavaScript loop costs the interpreters
 * about a microsecond a byte. Spaces and line feeds come out as they went in (an invalid sequence
 * becomes U+FFFD without swallowing the ASCII byte after it), and they are all a reader splits on.
 * A Buffer (the bridge's data, Node's socket data) decodes the range itself, and so does Buffer's
 * toString on a plain Uint8Array where the host allows it (a store's reply under QuickJS): no view
 * to make first, which costs QuickJS a typed array construction.
 */
export function lineText(bytes: Uint8Array, start: number, end: number): string {
  if (bytes.toString !== PLAIN_TO_STRING) return (bytes as unknown as RangeDecoder).toString("utf8", start, end);
  if (hostEncodesViews()) return BUFFER_TO_STRING.call(bytes, "utf8", start, end);
  return utf8Decode(bytes.subarray(start, end));
}

/** The bytes of [start, end) as latin1 text: protocol lines are ASCII. */
export function asciiText(bytes: Uint8Array, start: number, end: number): string {
  let out = "";
  for (let i = start; i < end; i++) out += String.fromCharCode(bytes[i]);
  return out;
}
