/**
 * The front's check of a request body (src/bridge/commands.ts): a connection that remembers the last
 * body's framing must reach the very verdict, prelude size and prelude key that a full walk of the
 * body reaches (respCommandsEnd, metaCommandsEnd), for any body, whatever it remembers.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkedBody, commandsHeld, type CheckedBody } from "../../src/bridge/commands";
import { encodeMeta, metaCommandsEnd } from "../../src/storage/protocol/memcached";
import { encodeCommand, respCommandsEnd } from "../../src/storage/protocol/resp";

/** A body inside a larger buffer, as the filter sees it after the request's head. */
function inBuffer(body: string): { bytes: Buffer; start: number; end: number } {
  const head = "POST http://10.0.0.5:6379/redis?n=1&p=0&t=1000 HTTP/1.1\r\n\r\n";
  const bytes = Buffer.from(head + body);
  return { bytes, start: head.length, end: bytes.length };
}

/** What a full walk finds: the verdict and, when well-formed, the prelude's size and key. */
function walked(protocol: "redis" | "memcached", body: string, commands: number, prelude: number): { held: boolean; preludeSize?: number; preludeKey?: string } {
  const { bytes, start, end } = inBuffer(body);
  const walk = protocol === "redis" ? respCommandsEnd : metaCommandsEnd;
  if (walk(bytes, start, end, commands) !== end) return { held: false };
  const preludeEnd = prelude > 0 ? walk(bytes, start, end, prelude) : start;
  return { held: true, preludeSize: preludeEnd - start, preludeKey: prelude > 0 ? bytes.toString("base64", start, preludeEnd) : "" };
}

function checked(last: CheckedBody, protocol: "redis" | "memcached", body: string, commands: number, prelude: number): { held: boolean; preludeSize?: number; preludeKey?: string } {
  const { bytes, start, end } = inBuffer(body);
  if (!commandsHeld(last, protocol, bytes, start, end, commands, prelude)) return { held: false };
  return { held: true, preludeSize: last.preludeSize, preludeKey: last.preludeKey };
}

const KEY = "session:" + "k".repeat(43);
const OTHER_KEY = "session:" + "z".repeat(43);
const GET = encodeCommand(["GET", KEY]);
const AUTH = encodeCommand(["AUTH", "secret"]);

/** Every body one byte away from `body` (each position set to each of a few telling bytes), and one byte shorter and longer. */
function neighbours(body: string): string[] {
  const out: string[] = [body.slice(0, -1), body + "\n", body + "*"];
  for (let i = 0; i < body.length; i++) {
    for (const c of ["0", "9", "\r", "\n", "*", "$", "x"]) {
      if (body[i] !== c) out.push(body.slice(0, i) + c + body.slice(i + 1));
    }
  }
  return out;
}

describe("the front's check of a request body, with the last body remembered", () => {
  it("a GET of another key of the same length is held, by the remembered framing (no new copy)", () => {
    const last = checkedBody();
    assert.deepEqual(checked(last, "redis", GET, 1, 0), { held: true, preludeSize: 0, preludeKey: "" });
    const framing = last.framing;
    assert.ok(framing !== null);
    assert.deepEqual(checked(last, "redis", encodeCommand(["GET", OTHER_KEY]), 1, 0), { held: true, preludeSize: 0, preludeKey: "" });
    assert.equal(last.framing, framing, "the remembered framing answered");
  });

  it("every body one byte away from a remembered GET gets the full walk's verdict", () => {
    for (const body of neighbours(GET)) {
      const last = checkedBody();
      checked(last, "redis", GET, 1, 0);
      assert.deepEqual(checked(last, "redis", body, 1, 0), walked("redis", body, 1, 0), JSON.stringify(body));
    }
  });

  it("with a prelude: the same size and key as a full walk, for the same prelude and for another of the same length", () => {
    const body = AUTH + GET;
    for (const next of [AUTH + encodeCommand(["GET", OTHER_KEY]), encodeCommand(["AUTH", "secreT"]) + GET, ...neighbours(body)]) {
      const last = checkedBody();
      assert.deepEqual(checked(last, "redis", body, 2, 1), walked("redis", body, 2, 1));
      assert.deepEqual(checked(last, "redis", next, 2, 1), walked("redis", next, 2, 1), JSON.stringify(next));
    }
  });

  it("another count of commands or of prelude commands is checked afresh", () => {
    const last = checkedBody();
    checked(last, "redis", AUTH + GET, 2, 1);
    assert.deepEqual(checked(last, "redis", AUTH + GET, 2, 0), walked("redis", AUTH + GET, 2, 0));
    assert.deepEqual(checked(last, "redis", AUTH + GET, 1, 0), { held: false });
    assert.deepEqual(checked(last, "redis", AUTH + GET, 2, 1), walked("redis", AUTH + GET, 2, 1));
  });

  it("after a refused body nothing is remembered: the next is walked in full", () => {
    const last = checkedBody();
    checked(last, "redis", GET, 1, 0);
    assert.deepEqual(checked(last, "redis", GET.slice(0, -2) + "xx", 1, 0), { held: false });
    assert.equal(last.framing, null);
    assert.deepEqual(checked(last, "redis", GET, 1, 0), walked("redis", GET, 1, 0));
  });

  it("memcached: every line one byte away from a remembered mg gets the full walk's verdict", () => {
    const body = encodeMeta("mg", KEY, ["v"]);
    const last = checkedBody();
    assert.deepEqual(checked(last, "memcached", body, 1, 0), walked("memcached", body, 1, 0));
    const framing = last.line;
    assert.ok(framing !== null, "a one-line command is remembered");
    assert.deepEqual(checked(last, "memcached", encodeMeta("mg", OTHER_KEY, ["v"]), 1, 0), { held: true, preludeSize: 0, preludeKey: "" });
    assert.equal(last.line, framing, "another key of the same length: the remembered line answered");
    for (const next of [...neighbours(body), encodeMeta("mg", OTHER_KEY, ["q"]), encodeMeta("ms", KEY.slice(0, -3), ["q"]), "mg " + KEY.slice(0, 20) + " q " + KEY.slice(23) + " v\r\n"]) {
      const fresh = checkedBody();
      checked(fresh, "memcached", body, 1, 0);
      assert.deepEqual(checked(fresh, "memcached", next, 1, 0), walked("memcached", next, 1, 0), JSON.stringify(next));
    }
  });

  it("memcached: a line with a data block, several commands, or no single space after the command are walked in full, never remembered", () => {
    for (const [body, commands] of [
      [encodeMeta("ms", KEY, ["T60"], "data"), 1],
      [encodeMeta("mg", KEY, ["v"]) + encodeMeta("mg", OTHER_KEY, ["v"]), 2],
      ["mg  " + KEY + " v\r\n", 1],
      ["mn\r\n", 1],
    ] as Array<[string, number]>) {
      const last = checkedBody();
      assert.deepEqual(checked(last, "memcached", body, commands, 0), walked("memcached", body, commands, 0), JSON.stringify(body));
      assert.equal(last.line, null, JSON.stringify(body));
    }
  });

  it("memcached: a line led by a space is not remembered by its command (the command is no key)", () => {
    const last = checkedBody();
    const body = " mg " + KEY + " v\r\n";
    assert.deepEqual(checked(last, "memcached", body, 1, 0), walked("memcached", body, 1, 0));
    const next = " ms " + KEY + " v\r\n";
    assert.deepEqual(checked(last, "memcached", next, 1, 0), walked("memcached", next, 1, 0));
  });

  it("a framing remembered for one protocol never answers for the other", () => {
    const last = checkedBody();
    checked(last, "redis", GET, 1, 0);
    const line = encodeMeta("mg", KEY, ["v"]);
    assert.deepEqual(checked(last, "memcached", line, 1, 0), walked("memcached", line, 1, 0));
    assert.deepEqual(checked(last, "redis", GET, 1, 0), walked("redis", GET, 1, 0));
  });
});
