/**
 * The front's check of a request's body: exactly the commands the request announces, and where its
 * prelude (AUTH, SELECT) ends. A connection remembers the last body it checked, so that the next body
 * of the same framing is checked by one comparison in C instead of a walk over its length lines.
 *
 * Why that is the same check: RESP bulk strings are length-prefixed, so where every command, argument
 * and CRLF of a body lies depends only on its bytes up to its last bulk string's data. A body of the
 * same size, with the same bytes up to there and a CRLF at its end, reads as the same commands, its
 * prelude ends at the same place and holds the same bytes. Every session check's GET is such a body:
 * the same command and key length, another key. Under QuickJS each byte looked at from JavaScript
 * costs about as much as a native call, and the walk looks at a few dozen (docs/NOTES.md, issue 16,
 * branch store8).
 *
 * memcached's commands are lines of words, not length-prefixed: a body of one line (no data block) is
 * remembered with where its key, the second word, lies. A body of the same size, with the same bytes
 * before and after the key, and no space, CR or LF in the key (memcached splits words on spaces and
 * ends lines at LF), is the same command with the same words but the key: every session check's mg.
 */

import { CR, LF } from "../storage/protocol/lines";
import { metaCommandsEnd } from "../storage/protocol/memcached";
import { lastBulkDataStart, respCommandsEnd } from "../storage/protocol/resp";
import type { StoreProtocol } from "./request";

/** The last body a connection checked and found well-formed; after a check, what it found. */
export interface CheckedBody {
  size: number;
  commands: number;
  prelude: number;
  /** Redis: a copy of the body's bytes up to its last bulk string's data; null: check in full. */
  framing: Buffer | null;
  framingSize: number;
  /** memcached: a copy of the body's one line, its key at [keyStart, keyEnd); null: check in full. */
  line: Buffer | null;
  keyStart: number;
  keyEnd: number;
  /** Bytes of the body the prelude's commands take. */
  preludeSize: number;
  /** The prelude's bytes as base64, "" without one: what a connection that ran it remembers. */
  preludeKey: string;
}

export function checkedBody(): CheckedBody {
  return { size: 0, commands: 0, prelude: 0, framing: null, framingSize: 0, line: null, keyStart: 0, keyEnd: 0, preludeSize: 0, preludeKey: "" };
}

function commandsEnd(protocol: StoreProtocol, bytes: Buffer, start: number, end: number, count: number): number {
  return protocol === "redis" ? respCommandsEnd(bytes, start, end, count) : metaCommandsEnd(bytes, start, end, count);
}

/**
 * Whether bytes[start, end) is exactly `commands` commands, the first `prelude` of them the prelude;
 * if so, `last` describes it (preludeSize, preludeKey), and remembers it for the next body.
 */
export function commandsHeld(last: CheckedBody, protocol: StoreProtocol, bytes: Buffer, start: number, end: number, commands: number, prelude: number): boolean {
  if (protocol === "redis") {
    const framing = last.framing;
    if (
      framing !== null &&
      end - start === last.size &&
      commands === last.commands &&
      prelude === last.prelude &&
      bytes.compare(framing, 0, last.framingSize, start, start + last.framingSize) === 0 &&
      bytes[end - 2] === CR &&
      bytes[end - 1] === LF
    ) {
      return true;
    }
  } else {
    const line = last.line;
    const keyStart = start + last.keyStart;
    const keyEnd = start + last.keyEnd;
    if (
      line !== null &&
      end - start === last.size &&
      commands === 1 &&
      prelude === 0 &&
      bytes.compare(line, 0, last.keyStart, start, keyStart) === 0 &&
      bytes.compare(line, last.keyEnd, last.size, keyEnd, end) === 0 &&
      absentFrom(bytes, 0x20, keyStart, keyEnd) &&
      absentFrom(bytes, CR, keyStart, keyEnd) &&
      absentFrom(bytes, LF, keyStart, keyEnd)
    ) {
      return true;
    }
  }
  last.framing = null;
  last.line = null;
  if (commandsEnd(protocol, bytes, start, end, commands) !== end) return false;
  // Read before the prelude's walk below moves it.
  const framingEnd = protocol === "redis" ? lastBulkDataStart() : start;
  const preludeEnd = prelude > 0 ? commandsEnd(protocol, bytes, start, end, prelude) : start;
  last.size = end - start;
  last.commands = commands;
  last.prelude = prelude;
  last.preludeSize = preludeEnd - start;
  last.preludeKey = prelude > 0 ? bytes.toString("base64", start, preludeEnd) : "";
  last.framingSize = framingEnd - start;
  // A copy: the filter's data may be a view into nginx's buffers.
  if (protocol === "redis") last.framing = Buffer.from(bytes.subarray(start, framingEnd));
  else if (commands === 1 && prelude === 0 && rememberKey(last, bytes, start, end)) last.line = Buffer.from(bytes.subarray(start, end));
  return true;
}

/** Whether `byte` is nowhere in bytes[from, to) (indexOf: in C). */
function absentFrom(bytes: Buffer, byte: number, from: number, to: number): boolean {
  const at = bytes.indexOf(byte, from);
  return at < 0 || at >= to;
}

/**
 * For a memcached body of one well-formed line (metaCommandsEnd said so) and no data block: where its
 * key lies (last.keyStart, last.keyEnd, from the body's start), when the line starts with its command
 * and one space. false otherwise: nothing remembered.
 */
function rememberKey(last: CheckedBody, bytes: Buffer, start: number, end: number): boolean {
  const lineEnd = end - 2;
  if (bytes.indexOf(CR, start) !== lineEnd) return false;
  const firstSpace = bytes.indexOf(0x20, start);
  if (firstSpace <= start || firstSpace + 1 >= lineEnd || bytes[firstSpace + 1] === 0x20) return false;
  let keyEnd = bytes.indexOf(0x20, firstSpace + 1);
  if (keyEnd < 0 || keyEnd > lineEnd) keyEnd = lineEnd;
  last.keyStart = firstSpace + 1 - start;
  last.keyEnd = keyEnd - start;
  return true;
}
