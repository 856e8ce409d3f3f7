/**
 * matchesWhole: a /^...$/ pattern over the whole text, alike under both njs engines. Node's `$` never
 * matches before a final line feed, so the njs engine's `$` (PCRE's, which does) is reproduced here
 * with the `m` flag; t/050 TEST 24–25 and t/190 TEST 13 check the real thing under the njs engine.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { matchesWhole } from "../../src/core/whole-text";

describe("matchesWhole", () => {
  it("refuses a trailing line feed even where the pattern's $ matches before it", () => {
    const pcreLike = /^[A-Za-z]+$/m;
    assert.equal(pcreLike.test("alice\n"), true, "the m flag reproduces the njs engine's $");
    assert.equal(matchesWhole(pcreLike, "alice\n"), false);
    assert.equal(matchesWhole(/^[0-9]{1,15}$/m, "123\n"), false);
  });

  it("accepts what the pattern matches, and refuses what it does not", () => {
    assert.equal(matchesWhole(/^[A-Za-z]+$/, "alice"), true);
    assert.equal(matchesWhole(/^[A-Za-z]+$/, "alice bob"), false);
    assert.equal(matchesWhole(/^[A-Za-z]*$/, ""), true);
    assert.equal(matchesWhole(/^[A-Za-z]+$/, "\n"), false);
  });
});
