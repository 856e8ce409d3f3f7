/**
 * recordHolds (fast-check.ts): whether a store's record holds the very ciphertext verified, read by
 * every warm check of redis and memcached storage. It compares the first field as text and parses only
 * the rest; its verdict must be the one a whole parse gives (the reference below: JSON.parse, then the
 * first element compared), for the records the session writes and for every record one edit away.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { recordHolds } from "../../src/core/fast-check";

const CIPHERTEXT = "q1w2e3R4T5y6_-u7i8o9p0AsDfGhJkL";
const INFO = Buffer.from(JSON.stringify({ remember: false })).toString("base64url");

/** The verdict of a whole parse, independent of the code under test. */
function reference(stored: unknown, ciphertext: string): boolean {
  if (typeof stored !== "string") return false;
  try {
    const record = JSON.parse(stored);
    return Array.isArray(record) && record[0] === ciphertext;
  } catch (e) {
    return false;
  }
}

/** Records as the session writes them (JSON.stringify([ciphertext, info])) and other shapes JSON allows. */
const RECORDS = [
  JSON.stringify([CIPHERTEXT, INFO]),
  JSON.stringify([CIPHERTEXT]),
  JSON.stringify([CIPHERTEXT, INFO, "third"]),
  JSON.stringify([CIPHERTEXT, null]),
  JSON.stringify([CIPHERTEXT, { info: INFO }]),
  JSON.stringify([CIPHERTEXT, [1, 2]]),
  `[ "${CIPHERTEXT}", "${INFO}" ]`,
  `["${CIPHERTEXT}" , "${INFO}"]`,
  `["${CIPHERTEXT}","${INFO}"] `,
  `["${CIPHERTEXT}",]`,
  `["${CIPHERTEXT}",`,
  `["${CIPHERTEXT}"`,
  `["${CIPHERTEXT}"]]`,
  `["${CIPHERTEXT}",""]`,
  `["${CIPHERTEXT}","a"]"]`,
  `["${CIPHERTEXT}","\\u0041"]`,
  `["${CIPHERTEXT}","\\x"]`,
  `["${CIPHERTEXT}","a\u0001"]`,
  `["${CIPHERTEXT}","a","b"]`,
  `["${CIPHERTEXT}",1 2]`,
  `["${CIPHERTEXT.substring(1)}","${INFO}"]`,
  `["${CIPHERTEXT}x","${INFO}"]`,
  `["\\u0071${CIPHERTEXT.substring(1)}","${INFO}"]`,
  `{"0":"${CIPHERTEXT}"}`,
  `"${CIPHERTEXT}"`,
  `[]`,
  ``,
  `[`,
];

/** Every record one character away from `record`: each character dropped, doubled, or replaced by a structural one. */
function oneEditAway(record: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < record.length; i++) {
    out.push(record.substring(0, i) + record.substring(i + 1));
    out.push(record.substring(0, i) + record[i] + record.substring(i));
    for (const c of ['"', ",", "]", "[", " ", "\\", "x"]) out.push(record.substring(0, i) + c + record.substring(i + 1));
  }
  return out;
}

describe("recordHolds: the text comparison says what a whole parse says", () => {
  it("the records the session writes hold their ciphertext, and no other", () => {
    assert.equal(recordHolds(JSON.stringify([CIPHERTEXT, INFO]), CIPHERTEXT), true);
    assert.equal(recordHolds(JSON.stringify([CIPHERTEXT]), CIPHERTEXT), true);
    assert.equal(recordHolds(JSON.stringify([CIPHERTEXT, INFO]), CIPHERTEXT.substring(1)), false);
    assert.equal(recordHolds(JSON.stringify([CIPHERTEXT, INFO]), CIPHERTEXT + "A"), false);
  });

  it("no record, or not text: false", () => {
    for (const stored of [null, undefined, 1, {}, [CIPHERTEXT]]) assert.equal(recordHolds(stored, CIPHERTEXT), false);
  });

  it("every shape listed, and every record one edit away from them, as a whole parse", () => {
    let checked = 0;
    let holding = 0;
    for (const record of RECORDS) {
      for (const stored of [record, ...oneEditAway(record)]) {
        const expected = reference(stored, CIPHERTEXT);
        assert.equal(recordHolds(stored, CIPHERTEXT), expected, JSON.stringify(stored));
        checked++;
        if (expected) holding++;
      }
    }
    // Both verdicts are exercised, so a recordHolds that always said one of them would fail above.
    assert.ok(checked > 5000 && holding > 100 && holding < checked - 1000, checked + " checked, " + holding + " holding");
  });
});
