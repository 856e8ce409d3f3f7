/**
 * header.ts's fixed-size field readers and writers against an independent little-endian encoding
 * (Buffer's writeUIntLE/readUIntLE), at the extremes of every field and for random values.
 */

import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { describe, it } from "node:test";
import { encodeBase64Url } from "../../src/core/bytes";
import { MAX_CREATION_TIME, MAX_DATA_SIZE, MAX_IDLING_OFFSET, MAX_ROLLING_OFFSET } from "../../src/core/format";
import { buildHeader, handOnHeader, parseHandedOnHeader, parseHeader, setIdlingOffset, setMac, setTag } from "../../src/core/header";

interface Fields {
  flags: number;
  creationTime: number;
  rollingOffset: number;
  dataSize: number;
  idlingOffset: number;
}

/** The 82 bytes as the format table says, written by Buffer. */
function reference(fields: Fields, sid: Buffer, tag: Buffer, mac: Buffer): Buffer {
  const b = Buffer.alloc(82);
  b[0] = 1;
  b.writeUIntLE(fields.flags, 1, 2);
  sid.copy(b, 3);
  b.writeUIntLE(fields.creationTime, 35, 5);
  b.writeUIntLE(fields.rollingOffset, 40, 4);
  b.writeUIntLE(fields.dataSize, 44, 3);
  tag.copy(b, 47);
  b.writeUIntLE(fields.idlingOffset, 63, 3);
  mac.copy(b, 66);
  return b;
}

function roundTrip(fields: Fields): void {
  const sid = randomBytes(32);
  const tag = randomBytes(16);
  const mac = randomBytes(16);
  const bytes = buildHeader(fields.flags, sid, fields.creationTime, fields.rollingOffset, fields.dataSize);
  setTag(bytes, tag);
  setIdlingOffset(bytes, fields.idlingOffset);
  setMac(bytes, mac);
  const expected = reference(fields, sid, tag, mac);
  assert.deepEqual(Buffer.from(bytes), expected, JSON.stringify(fields));
  const h = parseHeader(encodeBase64Url(expected));
  assert.ok(typeof h !== "string", h as string);
  assert.deepEqual(
    { flags: h.flags, creationTime: h.creationTime, rollingOffset: h.rollingOffset, dataSize: h.dataSize, idlingOffset: h.idlingOffset },
    fields,
  );
}

describe("header fields", () => {
  it("the extremes of every field", () => {
    roundTrip({ flags: 0, creationTime: 0, rollingOffset: 0, dataSize: 0, idlingOffset: 0 });
    roundTrip({ flags: 0x0713, creationTime: MAX_CREATION_TIME, rollingOffset: MAX_ROLLING_OFFSET, dataSize: MAX_DATA_SIZE, idlingOffset: MAX_IDLING_OFFSET });
    roundTrip({ flags: 0x0001, creationTime: 2 ** 32, rollingOffset: 2 ** 31, dataSize: 2 ** 23, idlingOffset: 2 ** 23 });
    roundTrip({ flags: 0x0400, creationTime: 2 ** 32 - 1, rollingOffset: 2 ** 31 - 1, dataSize: 2 ** 16, idlingOffset: 255 });
  });

  it("random values", () => {
    for (let i = 0; i < 200; i++) {
      roundTrip({
        flags: [0, 1, 2, 0x10, 0x100, 0x200, 0x400, 0x713][i % 8],
        creationTime: randomInt(0, 2 ** 40 - 1),
        rollingOffset: randomInt(0, 2 ** 32 - 1),
        dataSize: randomInt(0, 2 ** 24 - 1),
        idlingOffset: randomInt(0, 2 ** 24 - 1),
      });
    }
  });
});

describe("a header handed on within a request", () => {
  it("is found for the very value it was parsed from, and for no other", () => {
    // Two well-formed headers (a header object, not a reason, is what identity can tell apart).
    const value = encodeBase64Url(buildHeader(0, randomBytes(32), 1, 0, 7)) + "payload";
    const other = encodeBase64Url(buildHeader(0, randomBytes(32), 1, 0, 7)) + "payload";
    const parsed = parseHeader(value);
    assert.ok(typeof parsed !== "string", parsed as string);
    handOnHeader(value, parsed);
    assert.equal(parseHandedOnHeader(value), parsed);
    assert.notEqual(parseHandedOnHeader(other), parsed);
    assert.deepEqual(parseHandedOnHeader(other), parseHeader(other));
  });

  it("a reason is handed on as it is", () => {
    const value = "A".repeat(110) + "payload";
    handOnHeader(value, parseHeader(value));
    assert.equal(parseHandedOnHeader(value), "invalid session cookie type");
  });
});
