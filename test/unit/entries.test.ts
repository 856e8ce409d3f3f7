/**
 * session.ts's encodeEntries writes the payload's entries by hand: its text must be JSON.stringify's
 * for the same entries (the absent subject left out, as lua-cjson writes it), whatever the names hold.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeEntries, SessionEntry } from "../../src/core/session";

/** What encodeEntries wrote before: the entries through JSON.stringify, absent subjects left out. */
function stringified(entries: SessionEntry[]): string {
  return JSON.stringify(entries.map((entry) => (entry[2] === undefined ? [entry[0], entry[1]] : [entry[0], entry[1], entry[2]])));
}

describe("encodeEntries", () => {
  const names = ["alice", "", 'say "hi"', "back\\slash", "tab\there", "nul\u0000", "del\u007f", "é ü 中文", "line\u2028sep", "pair \ud83d\ude00", "lone \ud800", "lone \udc00 low", "</script>"];
  for (const name of names) {
    it("names " + JSON.stringify(name) + ": JSON.stringify's text", () => {
      const entries: SessionEntry[] = [
        [{ role: "admin", quote: '"', n: 3, nested: { list: [1, "x"] } }, name, name],
        [{}, "other", undefined],
        [{}, name, "bob"],
      ];
      assert.equal(encodeEntries(entries), stringified(entries));
      assert.deepEqual(JSON.parse(encodeEntries(entries)), JSON.parse(stringified(entries)));
    });
  }
  it("no entries: []", () => {
    assert.equal(encodeEntries([]), "[]");
  });
});
