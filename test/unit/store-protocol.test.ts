/**
 * The store protocols' framing and parsing (src/storage/protocol): RESP2 for Redis/Valkey and
 * memcached's meta protocol. Both sides of the store bridge lean on these to know where a reply ends,
 * so every test of a multi-reply buffer also walks every prefix of it: a prefix is never "complete"
 * beyond what it really holds, and never "malformed" for being short.
 *
 * Buffers are built here byte by byte (Buffer, TextEncoder), expected lengths with Buffer.byteLength
 * and TextEncoder, never with the code under test.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { asciiText, findLineEnd, INCOMPLETE, lineText, MALFORMED, readInteger } from "../../src/storage/protocol/lines";
import {
  encodeMeta,
  isValidKey,
  MAX_KEY_BYTES,
  MAX_RELATIVE_TTL,
  metaFlag,
  metaCommandsEnd,
  metaRepliesEnd,
  metaReplyEnd,
  parseMetaReplies,
  singleMetaValue,
  ttlToken,
  type MetaReply,
} from "../../src/storage/protocol/memcached";
import {
  encodeCommand,
  isRespError,
  MAX_ARRAY_ITEMS,
  MAX_BULK_BYTES,
  MAX_NESTING,
  parseReplies,
  singleBulkValue,
  respCommandsEnd,
  respValueEnd,
  respValuesEnd,
  utf8Length,
  type RespValue,
} from "../../src/storage/protocol/resp";

/** One byte per char, as written (latin1); a char above 0xFF is a mistake in the test. */
function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => {
    const code = char.charCodeAt(0);
    if (code > 0xff) throw new Error("not a byte: " + JSON.stringify(char));
    return code;
  });
}

/** Bytes from parts: strings are taken as latin1 (one byte per char, as written), arrays as bytes. */
function bytesOf(...parts: Array<string | number[] | Uint8Array>): Uint8Array {
  const buffers = parts.map((part) => Buffer.from(typeof part === "string" ? latin1(part) : part));
  return new Uint8Array(Buffer.concat(buffers));
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A buffer made of consecutive replies, with where each one ends (computed from the parts' lengths). */
interface Stream {
  bytes: Uint8Array;
  /** ends[i]: offset just past reply i. */
  ends: number[];
}

function streamOf(replies: Uint8Array[]): Stream {
  const ends: number[] = [];
  let total = 0;
  for (const reply of replies) {
    total += reply.length;
    ends.push(total);
  }
  return { bytes: bytesOf(...replies), ends };
}

type ValuesEnd = (bytes: Uint8Array, start: number, end: number, count: number) => number;
type ValueEnd = (bytes: Uint8Array, start: number, end: number) => number;

/**
 * For every prefix length L of the stream (0 .. total), both as `end` on the whole buffer and as a
 * buffer truncated to L bytes: `count` replies from the start end at ends[count-1] when that is
 * within L, else INCOMPLETE; each single reply, from its real start, likewise.
 */
function assertEveryPrefix(stream: Stream, valuesEnd: ValuesEnd, valueEnd: ValueEnd): void {
  const { bytes, ends } = stream;
  const starts = [0, ...ends.slice(0, -1)];
  for (let length = 0; length <= bytes.length; length++) {
    const truncated = bytes.slice(0, length);
    for (let count = 1; count <= ends.length; count++) {
      const expected = ends[count - 1] <= length ? ends[count - 1] : INCOMPLETE;
      assert.equal(valuesEnd(bytes, 0, length, count), expected, `${count} replies within the first ${length} bytes (end = ${length})`);
      assert.equal(valuesEnd(truncated, 0, length, count), expected, `${count} replies within a ${length}-byte buffer`);
    }
    for (let i = 0; i < ends.length; i++) {
      if (starts[i] > length) continue;
      const expected = ends[i] <= length ? ends[i] : INCOMPLETE;
      assert.equal(valueEnd(bytes, starts[i], length), expected, `reply ${i} (from ${starts[i]}) within the first ${length} bytes`);
    }
  }
  assert.equal(valuesEnd(bytes, 0, bytes.length, ends.length), bytes.length, "the whole buffer is exactly all its replies");
}

describe("protocol lines (lines.ts)", () => {
  it("findLineEnd finds the CR of the first CRLF at or after start", () => {
    const bytes = bytesOf("ab\r\ncd\r\n");
    assert.equal(findLineEnd(bytes, 0, bytes.length), 2);
    assert.equal(findLineEnd(bytes, 4, bytes.length), 6);
    assert.equal(findLineEnd(bytes, 2, bytes.length), 2, "an empty line: the CRLF right at start");
  });

  it("findLineEnd: no CRLF yet, or a CR as the last byte, is INCOMPLETE; a CR followed by anything but LF is MALFORMED", () => {
    assert.equal(findLineEnd(bytesOf("abc"), 0, 3), INCOMPLETE);
    assert.equal(findLineEnd(bytesOf("abc\r"), 0, 4), INCOMPLETE);
    assert.equal(findLineEnd(bytesOf("abc\r\n"), 0, 4), INCOMPLETE, "the LF lies beyond end");
    assert.equal(findLineEnd(bytesOf("ab\rc\r\n"), 0, 6), MALFORMED);
    assert.equal(findLineEnd(bytesOf(""), 0, 0), INCOMPLETE);
  });

  it("findLineEnd: a line far longer than any protocol line is MALFORMED, with or without its CRLF; a short start of one is INCOMPLETE", () => {
    const long = "x".repeat(10000);
    assert.equal(findLineEnd(bytesOf(long), 0, long.length), MALFORMED);
    assert.equal(findLineEnd(bytesOf(long + "\r\n"), 0, long.length + 2), MALFORMED);
    assert.equal(findLineEnd(bytesOf(long), 0, 100), INCOMPLETE);
    const fine = "y".repeat(1000);
    assert.equal(findLineEnd(bytesOf(fine + "\r\n"), 0, fine.length + 2), fine.length);
  });

  it("findLineEnd agrees with a byte-by-byte reading for every line length, CR position and end (short lines and long ones)", () => {
    // What a loop over the bytes answers; findLineEnd hands longer lines to indexOf.
    function reference(bytes: Uint8Array, start: number, end: number): number {
      const limit = Math.min(end, start + 4096);
      for (let i = start; i < limit; i++) {
        if (bytes[i] !== 0x0d) continue;
        if (i + 1 >= end) return INCOMPLETE;
        return bytes[i + 1] === 0x0a ? i : MALFORMED;
      }
      return limit < end ? MALFORMED : INCOMPLETE;
    }
    for (let length = 0; length <= 20; length++) {
      for (const tail of ["\r\n", "\r", "\rx", "", "\r\nz\r\n"]) {
        const bytes = bytesOf("k".repeat(length) + tail + "more\r\n");
        for (let start = 0; start <= 3; start++) {
          for (let end = start; end <= bytes.length; end++) {
            assert.equal(findLineEnd(bytes, start, end), reference(bytes, start, end), `${length} bytes + ${JSON.stringify(tail)}, from ${start} to ${end}`);
          }
        }
      }
    }
  });

  it("readInteger reads a decimal that fills the range exactly, with an optional minus", () => {
    const read = (text: string) => readInteger(bytesOf(text), 0, text.length);
    assert.equal(read("0"), 0);
    assert.equal(read("42"), 42);
    assert.equal(read("-1"), -1);
    assert.equal(read("1700000000"), 1700000000);
    assert.equal(read(""), null);
    assert.equal(read("-"), null);
    assert.equal(read("4x"), null);
    assert.equal(read(" 4"), null);
    assert.equal(read("+4"), null);
    assert.equal(read("1.5"), null);
    assert.equal(read("9".repeat(16)), null, "more digits than a double holds exactly");
  });

  it("lineText decodes a range as UTF-8 the same from a Buffer (its own decoder) as from a plain Uint8Array (a view), invalid sequences without swallowing the ASCII after them", () => {
    const texts: Array<number[]> = [
      [...utf8("xx mg k v q\r\n")],
      [0x6d, 0x67, 0x20, 0x6b, 0xc3, 0x20, 0x71],
      [0x6d, 0x67, 0xe2, 0x82, 0x20, 0x71, 0x20],
      [0xff, 0x80, 0x20, 0xf0, 0x9f, 0x98, 0x80, 0x20, 0xed, 0xa0, 0x80, 0x0a],
    ];
    for (const bytes of texts) {
      const plain = new Uint8Array(bytes);
      const buffer = Buffer.from(bytes);
      for (let start = 0; start <= 2; start++) {
        const expected = new TextDecoder().decode(plain.subarray(start, bytes.length - 1));
        assert.equal(lineText(plain, start, bytes.length - 1), expected, JSON.stringify(bytes));
        assert.equal(lineText(buffer, start, bytes.length - 1), expected, JSON.stringify(bytes) + " (Buffer)");
      }
    }
    const flagged = Buffer.from([0x6d, 0x67, 0x20, 0x6b, 0xc3, 0x20, 0x71, 0x0d, 0x0a]);
    assert.equal(metaCommandsEnd(flagged, 0, flagged.length, 1), MALFORMED, "the q flag after invalid UTF-8, in a Buffer");
  });

  it("asciiText maps each byte to one char", () => {
    assert.equal(asciiText(bytesOf("xHD t5\r\n"), 1, 6), "HD t5");
    assert.equal(asciiText(bytesOf([0xe9, 0xff]), 0, 2), "\u00e9\u00ff");
  });
});

describe("RESP2 (resp.ts)", () => {
  describe("utf8Length", () => {
    const samples = [
      "",
      "ascii only",
      "é",
      "€",
      "😀",
      "a😀b€cé",
      "\u0000\u007f\u0080\u07ff\u0800\uffff",
      "\ud800", // lone high surrogate
      "\udc00", // lone low surrogate
      "x\ud800", // high surrogate as the last unit
      "\ud800x", // high surrogate followed by a non-surrogate
      "\udc00\ud800", // a pair in the wrong order: two lone surrogates
      "\ud800\ud800\udc00", // a lone high surrogate, then a valid pair
      "\u{10ffff}\u{10000}",
      // Longer than 8: ASCII or not at either end, next to the ASCII bound (0x7f / 0x80).
      "session:" + "A".repeat(43) + "\u007f",
      "\u0000" + "a".repeat(20),
      "a".repeat(20) + "\u0080",
      "\u0080" + "a".repeat(20),
      "é".repeat(12),
      "a".repeat(30) + "😀",
      "a".repeat(10) + "\ud800" + "b".repeat(10),
    ];
    for (const sample of samples) {
      it(`counts the UTF-8 bytes of ${JSON.stringify(sample)} as Buffer and TextEncoder do`, () => {
        assert.equal(utf8Length(sample), Buffer.byteLength(sample, "utf8"));
        assert.equal(utf8Length(sample), utf8(sample).length);
      });
    }
  });

  describe("encodeCommand", () => {
    it("writes an array of bulk strings, numbers as their decimal text", () => {
      assert.equal(encodeCommand(["SET", "k", "v", "EX", 60]), "*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nEX\r\n$2\r\n60\r\n");
      assert.equal(encodeCommand(["PING"]), "*1\r\n$4\r\nPING\r\n");
      assert.equal(encodeCommand(["GET", ""]), "*2\r\n$3\r\nGET\r\n$0\r\n\r\n");
    });

    for (const arg of ["é", "€", "😀", "\ud800", "x\udfff", "a\r\nb\u0000c"]) {
      it(`declares the UTF-8 byte length of ${JSON.stringify(arg)}, so the sent bytes frame as one complete RESP value`, () => {
        const text = encodeCommand(["SET", arg, 7]);
        assert.equal(text, "*3\r\n$3\r\nSET\r\n$" + utf8(arg).length + "\r\n" + arg + "\r\n$1\r\n7\r\n");
        const sent = utf8(text);
        assert.equal(respValueEnd(sent, 0, sent.length), sent.length);
        assert.equal(respValueEnd(sent, 0, sent.length - 1), INCOMPLETE);
      });
    }

    it("commands are RESP arrays: the bridge frames a pipeline of them, and parses back the arguments", () => {
      const commands = [
        ["AUTH", "user", "pässwörd"],
        ["SELECT", 2],
        ["SET", "sessions:session:" + "A".repeat(43), "value 😀", "EX", 3600],
      ];
      const sent = utf8(commands.map(encodeCommand).join(""));
      assert.equal(respValuesEnd(sent, 0, sent.length, 3), sent.length);
      assert.deepEqual(parseReplies(sent, 3), commands.map((command) => command.map(String)));
    });
  });

  describe("respValueEnd / respValuesEnd", () => {
    const clusterSlots = bytesOf(
      "*2\r\n",
      "*3\r\n:0\r\n:5460\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$40\r\n",
      "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca",
      "\r\n",
      "*4\r\n:5461\r\n:10922\r\n*2\r\n$9\r\n127.0.0.1\r\n:7001\r\n*2\r\n$9\r\n127.0.0.1\r\n:7004\r\n",
    );
    const binary = [0x0d, 0x0a, 0x00, 0xff, 0x24, 0x33, 0x0d, 0x0a, 0x2a, 0x0d];
    const large = "L".repeat(10000);
    const replies = [
      bytesOf("+OK\r\n"),
      bytesOf("-ERR wrong number of arguments\r\n"),
      bytesOf(":42\r\n"),
      bytesOf(":-7\r\n"),
      bytesOf("$5\r\nhello\r\n"),
      bytesOf("$0\r\n\r\n"),
      bytesOf("$-1\r\n"),
      bytesOf("*-1\r\n"),
      bytesOf("*0\r\n"),
      bytesOf("$" + binary.length + "\r\n", binary, "\r\n"),
      clusterSlots,
      bytesOf("*4\r\n$3\r\nabc\r\n$10\r\n1700003600\r\n$-1\r\n*1\r\n+nested\r\n"),
      bytesOf("$" + large.length + "\r\n" + large + "\r\n"),
      bytesOf("-MOVED 3999 127.0.0.1:7001\r\n"),
    ];
    const stream = streamOf(replies);

    it("finds the end of each reply type on its own", () => {
      for (const reply of replies) assert.equal(respValueEnd(reply, 0, reply.length), reply.length, asciiText(reply, 0, Math.min(reply.length, 40)));
    });

    it("reads from `start`, not from 0", () => {
      const bytes = bytesOf("garbage", "+OK\r\n");
      assert.equal(respValueEnd(bytes, 7, bytes.length), bytes.length);
    });

    it("every prefix of a multi-reply buffer: INCOMPLETE until a reply's last byte, then exactly its end", () => {
      assertEveryPrefix(stream, respValuesEnd, respValueEnd);
    });

    it("a nested array is one value: CLUSTER SLOTS ends after its last inner element", () => {
      assert.equal(respValueEnd(clusterSlots, 0, clusterSlots.length), clusterSlots.length);
      assert.equal(respValueEnd(clusterSlots, 0, clusterSlots.length - 1), INCOMPLETE);
      assert.equal(respValuesEnd(clusterSlots, 0, clusterSlots.length, 2), INCOMPLETE, "one value, not two");
    });

    it("bulk strings are binary-safe: CR, LF, NUL, 0xFF, '$' and '*' inside the data do not end or break it", () => {
      const reply = bytesOf("$" + binary.length + "\r\n", binary, "\r\n");
      assert.equal(respValueEnd(reply, 0, reply.length), ("$" + binary.length + "\r\n").length + binary.length + 2);
      assert.equal(respValueEnd(reply, 0, reply.length - 1), INCOMPLETE);
    });

    it("a bulk string longer than any protocol line is still one value (session records are kilobytes)", () => {
      const reply = replies[12];
      assert.equal(respValueEnd(reply, 0, reply.length), reply.length);
      for (const cut of [8, 100, 4100, 9000, reply.length - 2, reply.length - 1]) assert.equal(respValueEnd(reply, 0, cut), INCOMPLETE, `cut at ${cut}`);
    });

    it("nesting up to MAX_NESTING arrays is a value; one more is MALFORMED, also before its end has arrived", () => {
      const deepest = bytesOf("*1\r\n".repeat(MAX_NESTING) + ":1\r\n");
      assert.equal(respValueEnd(deepest, 0, deepest.length), deepest.length);
      assert.equal(respValueEnd(deepest, 0, deepest.length - 1), INCOMPLETE);
      const tooDeep = bytesOf("*1\r\n".repeat(MAX_NESTING + 1) + ":1\r\n");
      assert.equal(respValueEnd(tooDeep, 0, tooDeep.length), MALFORMED);
      assert.equal(respValueEnd(tooDeep, 0, (MAX_NESTING + 1) * 4), MALFORMED, "the header lines alone are enough");
      // Siblings do not add up: depth is nesting, not the number of arrays.
      const wide = bytesOf("*20\r\n" + "*1\r\n".repeat(MAX_NESTING - 1).concat(":1\r\n").repeat(20));
      assert.equal(respValueEnd(wide, 0, wide.length), wide.length);
    });

    it("singleBulkValue: a GET's value or nil read in one pass, exactly as parseReplies reads it; undefined for anything else", () => {
      const bulk = ["$3\r\nabc\r\n", "$-1\r\n", "$0\r\n\r\n", "$10\r\n[\"a\r\nb\",1]\r\n", "$1234\r\n" + "x".repeat(1234) + "\r\n"];
      for (const text of bulk) {
        const bytes = bytesOf(text);
        assert.notEqual(singleBulkValue(bytes), undefined, JSON.stringify(text));
        assert.equal(singleBulkValue(bytes), parseReplies(bytes, 1)[0], JSON.stringify(text));
      }
      const emoji = bytesOf("$4\r\n", utf8("😀"), "\r\n");
      assert.equal(singleBulkValue(emoji), "😀");
      const other = ["-LOADING Redis is loading\r\n", "+OK\r\n", ":1\r\n", "*1\r\n$1\r\na\r\n", "$3\r\nabcd\r\n", "$3\r\nab", "$3\r\nabc\r\n$1\r\nx\r\n", "$-1\r\n:1\r\n", "$x\r\nabc\r\n", "$-2\r\n", "$3\r\nabc\rx", ""];
      for (const text of other) assert.equal(singleBulkValue(bytesOf(text)), undefined, JSON.stringify(text));
    });

    it("a hostile nesting (100,000 arrays) is MALFORMED for the framer and parseReplies, never a stack overflow", () => {
      const bytes = bytesOf("*1\r\n".repeat(100000) + ":1\r\n");
      assert.equal(respValueEnd(bytes, 0, bytes.length), MALFORMED);
      assert.throws(() => parseReplies(bytes, 1), /malformed store reply/);
    });

    it("sizes beyond Redis' own limits are MALFORMED, not a wait for gigabytes", () => {
      const atBulkLimit = bytesOf("$" + MAX_BULK_BYTES + "\r\nabc");
      assert.equal(respValueEnd(atBulkLimit, 0, atBulkLimit.length), INCOMPLETE);
      const overBulkLimit = bytesOf("$" + (MAX_BULK_BYTES + 1) + "\r\nabc");
      assert.equal(respValueEnd(overBulkLimit, 0, overBulkLimit.length), MALFORMED);
      const atArrayLimit = bytesOf("*" + MAX_ARRAY_ITEMS + "\r\n:1\r\n");
      assert.equal(respValueEnd(atArrayLimit, 0, atArrayLimit.length), INCOMPLETE);
      const overArrayLimit = bytesOf("*" + (MAX_ARRAY_ITEMS + 1) + "\r\n:1\r\n");
      assert.equal(respValueEnd(overArrayLimit, 0, overArrayLimit.length), MALFORMED);
    });

    const garbage: Array<[string, Uint8Array]> = [
      ["an unknown type byte", bytesOf("?foo\r\n")],
      ["a RESP3 type byte", bytesOf("%1\r\n+a\r\n+b\r\n")],
      ["a bare CR in a simple string", bytesOf("+OK\rX\r\n")],
      ["a bare CR in an error", bytesOf("-ERR\rbad\r\n")],
      ["a non-digit bulk length", bytesOf("$abc\r\nxyz\r\n")],
      ["an empty bulk length", bytesOf("$\r\n\r\n")],
      ["a bulk length with a plus sign", bytesOf("$+3\r\nabc\r\n")],
      ["a bulk length below -1", bytesOf("$-2\r\n")],
      ["bulk data without its trailing CRLF", bytesOf("$3\r\nabcXY")],
      ["bulk data one byte longer than declared", bytesOf("$3\r\nabcd\r\n")],
      ["bulk data followed by LF CR", bytesOf("$3\r\nabc\n\r")],
      ["a non-digit array count", bytesOf("*x\r\n")],
      ["an array count below -1", bytesOf("*-2\r\n")],
      ["garbage inside an array", bytesOf("*2\r\n:1\r\n?x\r\n")],
      ["garbage deep inside CLUSTER SLOTS", bytesOf("*1\r\n*3\r\n:0\r\n:5460\r\n*2\r\n$9\r\n127.0.0.1\r\n!7000\r\n")],
      ["an overlong line with its CRLF", bytesOf("+" + "a".repeat(10000) + "\r\n")],
      ["an overlong line without a CRLF", bytesOf("-" + "a".repeat(10000))],
      ["an overlong bulk length line", bytesOf("$" + "1".repeat(5000) + "\r\n")],
    ];
    for (const [what, bytes] of garbage) {
      it(`MALFORMED: ${what}`, () => {
        assert.equal(respValueEnd(bytes, 0, bytes.length), MALFORMED);
        assert.throws(() => parseReplies(bytes, 1), /malformed/);
      });
    }

    it("MALFORMED after complete replies: respValuesEnd reports it for the count that reaches it", () => {
      const bytes = bytesOf("+OK\r\n:1\r\n?bad\r\n");
      assert.equal(respValuesEnd(bytes, 0, bytes.length, 2), 9);
      assert.equal(respValuesEnd(bytes, 0, bytes.length, 3), MALFORMED);
    });

    it("an empty buffer is INCOMPLETE, never complete or malformed", () => {
      assert.equal(respValueEnd(new Uint8Array(0), 0, 0), INCOMPLETE);
      assert.equal(respValuesEnd(new Uint8Array(0), 0, 0, 1), INCOMPLETE);
    });
  });

  describe("respCommandsEnd (the bridge counts a body's commands)", () => {
    const commands = [encodeCommand(["SET", "k", "v\r\n*1\r\n$4\r\nPING\r\n"]), encodeCommand(["GET", "k"]), encodeCommand(["PING"])].map(utf8);
    const stream = streamOf(commands);

    it("every prefix of a command stream: INCOMPLETE until a command's last byte, then exactly its end", () => {
      assertEveryPrefix(stream, respCommandsEnd, (bytes, start, end) => respCommandsEnd(bytes, start, end, 1));
    });

    it("a bulk argument holding commands is data: three commands, not five", () => {
      assert.equal(respCommandsEnd(stream.bytes, 0, stream.bytes.length, 3), stream.bytes.length);
      assert.equal(respCommandsEnd(stream.bytes, 0, stream.bytes.length, 4), INCOMPLETE);
    });

    const notCommands: Array<[string, string]> = [
      ["a nested array (Redis: protocol error, then it closes)", "*1\r\n*1\r\n$4\r\nPING\r\n"],
      ["5,000 nested arrays", "*1\r\n".repeat(5000) + "$4\r\nPING\r\n"],
      ["an inline command (Redis ends it at a bare LF: two commands)", "+x\nSET k v\r\n"],
      ["an empty array (Redis answers nothing)", "*0\r\n"],
      ["a nil array", "*-1\r\n"],
      ["an integer argument", "*1\r\n:1\r\n"],
      ["a nil bulk argument", "*1\r\n$-1\r\n"],
      ["an argument without its CRLF", "*1\r\n$4\r\nPINGXX"],
    ];
    for (const [what, text] of notCommands) {
      it(`MALFORMED: ${what}`, () => {
        const bytes = bytesOf(text);
        assert.equal(respCommandsEnd(bytes, 0, bytes.length, 1), MALFORMED);
      });
    }

    // A count or size line is digits up to its CRLF: anything else is known as soon as it arrives,
    // without waiting for a CR that may be kilobytes away (or never come).
    const notLengthLines: Array<[string, string]> = [
      ["a signed count", "*-"],
      ["a count with a letter", "*1x"],
      ["a size with a space", "*1\r\n$ 4"],
      ["a size of sixteen digits", "*1\r\n$" + "1".repeat(16)],
      ["a count line without digits", "*\r"],
      ["a size line whose CR is not followed by LF", "*1\r\n$4\rX"],
    ];
    for (const [what, text] of notLengthLines) {
      it(`MALFORMED before the line ends: ${what}`, () => {
        const bytes = bytesOf(text);
        assert.equal(respCommandsEnd(bytes, 0, bytes.length, 1), MALFORMED);
      });
    }
  });

  describe("parseReplies", () => {
    it("turns each reply type into its value: text, {error}, integer, null for nil bulk and nil array, nested arrays", () => {
      const bytes = bytesOf(
        "+OK\r\n",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ":42\r\n",
        ":-2\r\n",
        "$5\r\nhello\r\n",
        "$0\r\n\r\n",
        "$-1\r\n",
        "*-1\r\n",
        "*0\r\n",
        "*2\r\n*3\r\n:0\r\n:5460\r\n*2\r\n$9\r\n127.0.0.1\r\n:7000\r\n$-1\r\n",
      );
      const expected: RespValue[] = [
        "OK",
        { error: "WRONGTYPE Operation against a key holding the wrong kind of value" },
        42,
        -2,
        "hello",
        "",
        null,
        null,
        [],
        [[0, 5460, ["127.0.0.1", 7000]], null],
      ];
      const replies = parseReplies(bytes, expected.length);
      assert.deepEqual(replies, expected);
      assert.equal(isRespError(replies[1]), true);
      for (const i of [0, 2, 4, 6, 8, 9]) assert.equal(isRespError(replies[i]), false, `reply ${i} is no error`);
    });

    it("bulk data with CRLF and NUL comes back whole; UTF-8 is decoded", () => {
      const value = "a\r\nb\u0000c\r\n$3\r\n😀é";
      const data = utf8(value);
      const bytes = bytesOf("$" + data.length + "\r\n", data, "\r\n");
      assert.deepEqual(parseReplies(bytes, 1), [value]);
    });

    it("ZRANGE ... WITHSCORES: members and scores as bulk strings", () => {
      const key = "k".repeat(43);
      const bytes = bytesOf("*4\r\n$43\r\n" + key + "\r\n$10\r\n1700003600\r\n$43\r\n" + key.toUpperCase() + "\r\n$10\r\n1700007200\r\n");
      assert.deepEqual(parseReplies(bytes, 1), [[key, "1700003600", key.toUpperCase(), "1700007200"]]);
    });

    it("needs exactly `count` replies filling the whole buffer: fewer, more, trailing bytes or a cut reply all throw", () => {
      const two = bytesOf("+OK\r\n:1\r\n");
      assert.deepEqual(parseReplies(two, 2), ["OK", 1]);
      assert.throws(() => parseReplies(two, 3), /malformed/);
      assert.throws(() => parseReplies(two, 1), /malformed/);
      assert.throws(() => parseReplies(bytesOf("+OK\r\n:1\r\n\r\n"), 2), /malformed/);
      assert.throws(() => parseReplies(bytesOf("$5\r\nhel"), 1), /malformed/);
      assert.throws(() => parseReplies(new Uint8Array(0), 1), /malformed/);
      assert.deepEqual(parseReplies(new Uint8Array(0), 0), []);
    });

    it("an integer reply that is not an integer throws", () => {
      assert.throws(() => parseReplies(bytesOf(":abc\r\n"), 1), /malformed/);
      assert.throws(() => parseReplies(bytesOf(":\r\n"), 1), /malformed/);
    });
  });
});

describe("memcached meta protocol (protocol/memcached.ts)", () => {
  describe("isValidKey", () => {
    it("takes session and metadata names as the storage builds them", () => {
      assert.equal(isValidKey("session:" + "AbC-_".repeat(8) + "xyz"), true);
      assert.equal(isValidKey("prefix:session:aud:user@example.com:suffix"), true);
      assert.equal(isValidKey("ключ"), true, "non-ASCII is bytes to memcached, not whitespace");
    });

    it("refuses empty keys, whitespace and control characters", () => {
      for (const key of ["", "a b", "a\tb", "a\nb", "a\rb", "a\u0000b", "a\u001fb", "a\u007fb", " ", "trailing "]) {
        assert.equal(isValidKey(key), false, JSON.stringify(key));
      }
    });

    it("allows at most 250 bytes, counted in UTF-8 bytes, not characters", () => {
      assert.equal(MAX_KEY_BYTES, 250);
      assert.equal(isValidKey("k".repeat(250)), true);
      assert.equal(isValidKey("k".repeat(251)), false);
      const e125 = "é".repeat(125);
      assert.equal(Buffer.byteLength(e125), 250);
      assert.equal(isValidKey(e125), true);
      assert.equal(isValidKey(e125 + "é"), false, "126 characters, 252 bytes");
      assert.equal(isValidKey("€".repeat(83)), true, "249 bytes");
      assert.equal(isValidKey("€".repeat(84)), false, "252 bytes");
      assert.equal(isValidKey("😀".repeat(62) + "ab"), true, "250 bytes");
      assert.equal(isValidKey("😀".repeat(63)), false, "252 bytes in 126 UTF-16 units");
    });
  });

  describe("ttlToken", () => {
    const now = 1700000000;
    it("keeps a TTL up to 30 days relative, as memcached reads it", () => {
      assert.equal(MAX_RELATIVE_TTL, 2592000);
      assert.equal(ttlToken(60, now), 60);
      assert.equal(ttlToken(0, now), 0);
      assert.equal(ttlToken(2592000, now), 2592000, "exactly 30 days is still relative (memcached: exptime > 30 days is absolute)");
    });
    it("turns a TTL beyond 30 days into an absolute unix time", () => {
      assert.equal(ttlToken(2592001, now), now + 2592001);
      assert.equal(ttlToken(365 * 86400, now), now + 365 * 86400);
    });
  });

  describe("encodeMeta", () => {
    it("writes a command line: command, key, flags", () => {
      assert.equal(encodeMeta("mg", "session:abc", ["v"]), "mg session:abc v\r\n");
      assert.equal(encodeMeta("mg", "session:abc", ["v", "c"]), "mg session:abc v c\r\n");
      assert.equal(encodeMeta("md", "session:abc", []), "md session:abc\r\n");
      assert.equal(encodeMeta("mg", "session:abc", ["T60"]), "mg session:abc T60\r\n");
    });

    it("with data (ms): the data's UTF-8 byte length after the key, then the data block", () => {
      assert.equal(encodeMeta("ms", "k", ["T60"], "hello"), "ms k 5 T60\r\nhello\r\n");
      assert.equal(encodeMeta("ms", "k", [], ""), "ms k 0\r\n\r\n");
      for (const data of ["héllo", "€uro", "😀", "line\r\nEN\r\nbreak"]) {
        assert.equal(encodeMeta("ms", "k", ["MA", "N0"], data), "ms k " + Buffer.byteLength(data) + " MA N0\r\n" + data + "\r\n");
      }
    });

    it("refuses a key memcached would not take", () => {
      assert.throws(() => encodeMeta("mg", "a b", ["v"]), /invalid memcached key/);
      assert.throws(() => encodeMeta("mg", "", ["v"]), /invalid memcached key/);
      assert.throws(() => encodeMeta("ms", "k".repeat(251), [], "x"), /invalid memcached key/);
      assert.throws(() => encodeMeta("md", "a\r\nmn", []), /invalid memcached key/, "no command injection through the key");
    });
  });

  describe("metaReplyEnd / metaRepliesEnd", () => {
    const tricky = "x\r\nEN\r\nVA 3\r\nyz";
    const large = "D".repeat(10000);
    const replies = [
      bytesOf("VA " + Buffer.byteLength(tricky) + " t59 c12\r\n" + tricky + "\r\n"),
      bytesOf("HD t-1 c7\r\n"),
      bytesOf("HD\r\n"),
      bytesOf("EN\r\n"),
      bytesOf("NF\r\n"),
      bytesOf("NS\r\n"),
      bytesOf("EX\r\n"),
      bytesOf("MN\r\n"),
      bytesOf("VA 0\r\n\r\n"),
      bytesOf("CLIENT_ERROR bad data chunk\r\n"),
      bytesOf("SERVER_ERROR out of memory storing object\r\n"),
      bytesOf("ERROR\r\n"),
      bytesOf("VA 4 f0\r\n", [0x00, 0xff, 0x0d, 0x0a], "\r\n"),
      bytesOf("VA " + large.length + "\r\n" + large + "\r\n"),
    ];
    const stream = streamOf(replies);

    it("finds the end of each reply on its own", () => {
      for (const reply of replies) assert.equal(metaReplyEnd(reply, 0, reply.length), reply.length, asciiText(reply, 0, Math.min(reply.length, 30)));
    });

    it("VA: the data block is length-counted, so CRLF, 'EN', 'VA' inside the data end nothing", () => {
      const reply = replies[0];
      assert.equal(metaReplyEnd(reply, 0, reply.length), reply.length);
      const line = ("VA " + Buffer.byteLength(tricky) + " t59 c12\r\n").length;
      assert.equal(metaReplyEnd(reply, 0, line + 3), INCOMPLETE, "cut right after the data's first CRLF");
      assert.equal(metaReplyEnd(reply, 0, line + 7), INCOMPLETE, "cut right after the data's 'EN\\r\\n'");
    });

    it("VA data longer than any protocol line is still one reply", () => {
      const reply = replies[13];
      assert.equal(metaReplyEnd(reply, 0, reply.length), reply.length);
      for (const cut of [9, 100, 5000, reply.length - 1]) assert.equal(metaReplyEnd(reply, 0, cut), INCOMPLETE, `cut at ${cut}`);
    });

    it("every prefix of a multi-reply buffer: INCOMPLETE until a reply's last byte, then exactly its end", () => {
      assertEveryPrefix(stream, metaRepliesEnd, metaReplyEnd);
    });

    const garbage: Array<[string, Uint8Array]> = [
      ["an empty line", bytesOf("\r\n")],
      ["a one-character line", bytesOf("H\r\n")],
      ["a bare CR", bytesOf("HD\rX\r\n")],
      ["a bare CR in a VA line", bytesOf("VA 1\r t1\r\nx\r\n")],
      ["a non-digit VA size", bytesOf("VA abc\r\nxyz\r\n")],
      ["an empty VA size", bytesOf("VA  t1\r\n\r\n")],
      ["a negative VA size", bytesOf("VA -1\r\n\r\n")],
      ["VA data without its trailing CRLF", bytesOf("VA 3\r\nabcXY")],
      ["VA data longer than declared", bytesOf("VA 3 t1\r\nabcd\r\n")],
      ["an overlong line with its CRLF", bytesOf("SERVER_ERROR " + "a".repeat(10000) + "\r\n")],
      ["an overlong line without a CRLF", bytesOf("HD " + "a".repeat(10000))],
    ];
    for (const [what, bytes] of garbage) {
      it(`MALFORMED: ${what}`, () => {
        assert.equal(metaReplyEnd(bytes, 0, bytes.length), MALFORMED);
        assert.throws(() => parseMetaReplies(bytes, 1), /malformed/);
      });
    }

    it("an empty buffer is INCOMPLETE", () => {
      assert.equal(metaReplyEnd(new Uint8Array(0), 0, 0), INCOMPLETE);
    });

    /**
     * The framing as the protocol states it, over latin1 text: the line runs to its first CRLF (a CR
     * followed by anything else, or no CRLF within 4096 bytes, is no reply); a VA line's second word is
     * the size of the data block, which its own CRLF follows.
     */
    function referenceReplyEnd(bytes: Uint8Array, start: number, end: number): number {
      const text = Array.from(bytes.subarray(start, end), (b) => String.fromCharCode(b)).join("");
      const limit = Math.min(text.length, 4096);
      const cr = text.indexOf("\r");
      if (cr < 0 || cr >= limit) return limit < text.length ? MALFORMED : INCOMPLETE;
      if (cr + 1 >= text.length) return INCOMPLETE;
      if (text[cr + 1] !== "\n" || cr < 2) return MALFORMED;
      const line = text.substring(0, cr);
      if (line.substring(0, 3) !== "VA ") return start + cr + 2;
      const size = line.substring(3).split(" ")[0];
      if (!/^[0-9]{1,15}$/.test(size)) return MALFORMED;
      const dataEnd = cr + 2 + Number(size);
      if (dataEnd + 2 > text.length) return INCOMPLETE;
      return text.substring(dataEnd, dataEnd + 2) === "\r\n" ? start + dataEnd + 2 : MALFORMED;
    }

    it("a value without flags (read as its size's digits are): every cut and every byte changed, as the protocol frames it", () => {
      const values = ["VA 3\r\nabc\r\n", "VA 0\r\n\r\n", "VA 12\r\n" + tricky.substring(0, 12) + "\r\nHD\r\n", "VA 3 f1\r\nabc\r\n", "VA 123456789012345\r\nx\r\n", "VA 1234567890123456\r\nx\r\n"];
      const substitutes = [0x56, 0x41, 0x20, 0x30, 0x31, 0x39, 0x2f, 0x3a, 0x2d, 0x0d, 0x0a, 0x61];
      let checked = 0;
      const seen = new Set<number>();
      for (const value of values) {
        const original = bytesOf("HD\r\n" + value);
        const variants: Uint8Array[] = [original];
        for (let i = 4; i < original.length; i++) {
          for (const b of substitutes) {
            const changed = original.slice();
            changed[i] = b;
            variants.push(changed);
          }
          variants.push(new Uint8Array([...original.subarray(0, i), ...original.subarray(i + 1)]));
        }
        for (const bytes of variants) {
          for (let end = 4; end <= bytes.length; end++) {
            const expected = referenceReplyEnd(bytes, 4, end);
            assert.equal(metaReplyEnd(bytes, 4, end), expected, JSON.stringify(asciiText(bytes, 4, end)));
            seen.add(expected < 0 ? expected : 0);
            checked++;
          }
        }
      }
      // All three verdicts came up: a framer that gave only some of them would have failed above.
      assert.deepEqual([...seen].sort(), [MALFORMED, INCOMPLETE, 0].sort());
      assert.ok(checked > 10000, checked + " checked");
    });
  });

  describe("metaCommandsEnd (the bridge counts a body's commands)", () => {
    const commands = [
      encodeMeta("ms", "k", ["T60"], "mn\r\nmn\r\nVA 2\r\n"),
      encodeMeta("mg", "k", ["v", "c"]),
      "set classic 0 0 4\r\nmn\r\n\r\n",
      encodeMeta("md", "k", []),
      "mn\r\n",
    ].map(utf8);
    const stream = streamOf(commands);

    it("every prefix of a command stream: INCOMPLETE until a command's last byte, then exactly its end", () => {
      assertEveryPrefix(stream, metaCommandsEnd, (bytes, start, end) => metaCommandsEnd(bytes, start, end, 1));
    });

    it("a data block is data, whatever it looks like: five commands, not more", () => {
      assert.equal(metaCommandsEnd(stream.bytes, 0, stream.bytes.length, 5), stream.bytes.length);
      assert.equal(metaCommandsEnd(stream.bytes, 0, stream.bytes.length, 6), INCOMPLETE);
    });

    it("three mn are three commands: counted as one, they end before the body does", () => {
      const bytes = bytesOf("mn\r\nmn\r\nmn\r\n");
      assert.equal(metaCommandsEnd(bytes, 0, bytes.length, 1), 4);
      assert.equal(metaCommandsEnd(bytes, 0, bytes.length, 3), bytes.length);
    });

    it("runs of spaces separate words, as memcached reads them (leading, doubled, trailing)", () => {
      const accepted = bytesOf(" mg  k   v \r\nms k  2 T60\r\nxy\r\n");
      assert.equal(metaCommandsEnd(accepted, 0, accepted.length, 2), accepted.length);
      for (const text of ["mg  k  v  q\r\n", " mg k q\r\n", "mg k q \r\n", "ms  k  +1\r\nx\r\n"]) {
        const bytes = bytesOf(text);
        assert.equal(metaCommandsEnd(bytes, 0, bytes.length, 1), MALFORMED, JSON.stringify(text));
      }
    });

    it("a key named q or noreply is a key", () => {
      const bytes = bytesOf("mg q v\r\ndelete noreply\r\n");
      assert.equal(metaCommandsEnd(bytes, 0, bytes.length, 2), bytes.length);
    });

    const refused: Array<[string, string]> = [
      ["a bare LF (memcached ends the line there)", "mn\nmn\r\n"],
      ["the q flag (no reply on a miss)", "mg k v q\r\n"],
      ["noreply", "set k 0 0 1 noreply\r\nx\r\n"],
      ["classic get (VALUE lines, then END)", "get k\r\n"],
      ["stats (many lines)", "stats\r\n"],
      ["an unknown command", "flush_all\r\n"],
      ["a command in upper case (memcached: ERROR)", "MN\r\n"],
      ["an empty line", "\r\n"],
      ["ms without a data size", "ms k\r\n"],
      ["ms with a size that is not a number", "ms k +1\r\nx\r\n"],
      ["a data block longer than its size", "ms k 1\r\nxy\r\n"],
    ];
    for (const [what, text] of refused) {
      it(`MALFORMED: ${what}`, () => {
        const bytes = bytesOf(text);
        assert.equal(metaCommandsEnd(bytes, 0, bytes.length, 1), MALFORMED);
      });
    }
  });

  describe("singleMetaValue (every session check's mg)", () => {
    it("a lone VA with its data, or EN, read in one pass exactly as parseMetaReplies reads it; undefined for anything else", () => {
      const lone = ["VA 3\r\nabc\r\n", "VA 0\r\n\r\n", "VA 3 t59 c12\r\nabc\r\n", "VA 10\r\n[\"a\r\nb\",1]\r\n", "VA 1234\r\n" + "x".repeat(1234) + "\r\n"];
      for (const text of lone) {
        const bytes = bytesOf(text);
        assert.notEqual(singleMetaValue(bytes), undefined, JSON.stringify(text));
        assert.equal(singleMetaValue(bytes), parseMetaReplies(bytes, 1)[0].value, JSON.stringify(text));
      }
      assert.equal(singleMetaValue(bytesOf("EN\r\n")), null);
      assert.equal(singleMetaValue(bytesOf("VA 4\r\n", utf8("😀"), "\r\n")), "😀");
      const other = ["HD\r\n", "NF\r\n", "ERROR\r\n", "SERVER_ERROR out of memory\r\n", "VA 3\r\nabcd\r\n", "VA 3\r\nab", "VA 3\r\nabc\r\nEN\r\n", "EN\r\nEN\r\n", "VA x\r\nabc\r\n", "VA -1\r\n", "VA\r\n", ""];
      // The size's end: anything but a space or CRLF after the digits, a bare CR, more digits than any size.
      other.push("VA 3x\r\nabc\r\n", "VA 3\rxabc\r\n", "VA 3\nabc\r\n", "VA 1234567890123456\r\nabc\r\n", "VA 3 t59\rxabc\r\n", "VA 3");
      for (const text of other) assert.equal(singleMetaValue(bytesOf(text)), undefined, JSON.stringify(text));
    });

    it("every byte of a lone value changed to another, dropped or doubled: a value only where parseMetaReplies reads the same one", () => {
      const replacements = [0x00, 0x0a, 0x0d, 0x20, 0x2d, 0x30, 0x31, 0x33, 0x39, 0x41, 0x45, 0x4e, 0x56, 0x61, 0x74, 0xff];
      let values = 0;
      for (const text of ["VA 3\r\nabc\r\n", "VA 3 t59\r\nabc\r\n", "VA 12\r\n[\"a\r\nb\",17]\r\n", "EN\r\n"]) {
        const lone = bytesOf(text);
        const variants: Uint8Array[] = [];
        for (let i = 0; i < lone.length; i++) {
          for (const byte of replacements) {
            const changed = Uint8Array.from(lone);
            changed[i] = byte;
            variants.push(changed);
          }
          variants.push(Uint8Array.from([...lone.subarray(0, i), ...lone.subarray(i + 1)]));
          variants.push(Uint8Array.from([...lone.subarray(0, i + 1), ...lone.subarray(i)]));
        }
        for (const bytes of variants) {
          const value = singleMetaValue(bytes);
          if (value === undefined) continue;
          let parsed: MetaReply[];
          try {
            parsed = parseMetaReplies(bytes, 1);
          } catch (e) {
            assert.fail("parseMetaReplies refuses what singleMetaValue read: " + JSON.stringify(asciiText(bytes, 0, bytes.length)));
          }
          assert.equal(value, parsed[0].code === "VA" ? parsed[0].value : null, JSON.stringify(asciiText(bytes, 0, bytes.length)));
          if (value !== null) values++;
        }
      }
      assert.ok(values > 20, values + " variants read as values");
    });
  });

  describe("parseMetaReplies and metaFlag", () => {
    it("each reply's code and flags; VA's data; the words of CLIENT_ERROR and SERVER_ERROR", () => {
      const data = "v=1\r\nEN\r\n😀";
      const size = Buffer.byteLength(data);
      const bytes = bytesOf(
        "VA " + size + " t59 c12\r\n",
        utf8(data),
        "\r\nHD t-1 c7\r\nHD\r\nEN\r\nNF\r\nNS\r\nEX\r\nMN\r\n",
        "CLIENT_ERROR bad data chunk\r\nSERVER_ERROR out of memory storing object\r\nERROR\r\nVA 0\r\n\r\n",
      );
      const expected: MetaReply[] = [
        { code: "VA", flags: ["t59", "c12"], value: data },
        { code: "HD", flags: ["t-1", "c7"] },
        { code: "HD", flags: [] },
        { code: "EN", flags: [] },
        { code: "NF", flags: [] },
        { code: "NS", flags: [] },
        { code: "EX", flags: [] },
        { code: "MN", flags: [] },
        { code: "CLIENT_ERROR", flags: [], message: "bad data chunk" },
        { code: "SERVER_ERROR", flags: [], message: "out of memory storing object" },
        { code: "ERROR", flags: [] },
        { code: "VA", flags: [], value: "" },
      ];
      assert.deepEqual(parseMetaReplies(bytes, expected.length), expected);
    });

    it("metaFlag reads a returned flag's value by its letter", () => {
      const [va, hd, plain] = parseMetaReplies(bytesOf("VA 1 t59 c12 f0\r\nx\r\nHD t-1\r\nHD\r\n"), 3);
      assert.equal(metaFlag(va, "t"), "59");
      assert.equal(metaFlag(va, "c"), "12");
      assert.equal(metaFlag(va, "f"), "0");
      assert.equal(metaFlag(va, "s"), undefined);
      assert.equal(metaFlag(hd, "t"), "-1", "no expiry");
      assert.equal(metaFlag(plain, "t"), undefined);
    });

    it("needs exactly `count` replies filling the whole buffer", () => {
      const two = bytesOf("HD\r\nEN\r\n");
      assert.equal(parseMetaReplies(two, 2).length, 2);
      assert.throws(() => parseMetaReplies(two, 1), /malformed/);
      assert.throws(() => parseMetaReplies(two, 3), /malformed/);
      assert.throws(() => parseMetaReplies(bytesOf("HD\r\nEN\r\nX"), 2), /malformed/);
      assert.throws(() => parseMetaReplies(bytesOf("VA 5\r\nhel"), 1), /malformed/);
    });
  });
});
