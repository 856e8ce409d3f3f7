/**
 * src/core/format.ts spells its derived values as literals (the bundler would keep a computed one in
 * every part that imports the file): each is held here to its derivation from the field sizes.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as format from "../../src/core/format";

describe("format.ts's derived values", () => {
  it("each field starts where the one before it ends, and the header ends after the MAC", () => {
    // [offset, size] of each header field, in order; the type is at 0.
    const fields: [number, number][] = [
      [0, format.COOKIE_TYPE_SIZE],
      [format.FLAGS_OFFSET, format.FLAGS_SIZE],
      [format.SID_OFFSET, format.SID_SIZE],
      [format.CREATION_TIME_OFFSET, format.CREATION_TIME_SIZE],
      [format.ROLLING_OFFSET_OFFSET, format.ROLLING_OFFSET_SIZE],
      [format.DATA_SIZE_OFFSET, format.DATA_SIZE_SIZE],
      [format.TAG_OFFSET, format.TAG_SIZE],
      [format.IDLING_OFFSET_OFFSET, format.IDLING_OFFSET_SIZE],
      [format.MAC_OFFSET, format.MAC_SIZE],
      [format.HEADER_SIZE, 0],
    ];
    for (let i = 1; i < fields.length; i++) assert.equal(fields[i][0], fields[i - 1][0] + fields[i - 1][1], "field " + i);
    assert.equal(format.HEADER_AAD_SIZE, format.TAG_OFFSET);
    assert.equal(format.HEADER_TOUCH_SIZE, format.IDLING_OFFSET_OFFSET);
    assert.equal(format.HEADER_MAC_INPUT_SIZE, format.MAC_OFFSET);
    assert.equal(format.HEADER_ENCODED_SIZE, Math.ceil((format.HEADER_SIZE * 4) / 3));
  });

  it("the largest values and the flag mask", () => {
    assert.equal(format.MAX_CREATION_TIME, 2 ** (format.CREATION_TIME_SIZE * 8) - 1);
    assert.equal(format.MAX_ROLLING_OFFSET, 2 ** (format.ROLLING_OFFSET_SIZE * 8) - 1);
    assert.equal(format.MAX_IDLING_OFFSET, 2 ** (format.IDLING_OFFSET_SIZE * 8) - 1);
    assert.equal(format.MAX_DATA_SIZE, 2 ** (format.DATA_SIZE_SIZE * 8) - 1);
    assert.equal(format.MAX_COOKIES_SIZE, format.MAX_COOKIES * format.MAX_COOKIE_SIZE);
    const flags = format.FLAG_STORAGE | format.FLAG_FORGET | format.FLAG_DEFLATE | format.FLAG_BIND_IP | format.FLAG_BIND_SCHEME | format.FLAG_BIND_USER_AGENT;
    assert.equal(format.KNOWN_FLAGS, flags);
    assert.equal(format.FLAG_BIND_ANY, format.FLAG_BIND_IP | format.FLAG_BIND_SCHEME | format.FLAG_BIND_USER_AGENT);
  });
});
