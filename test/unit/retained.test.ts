/** retained.ts: the one home of state that outlives a request, and its bounding policy. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { retainedGet, retainedSet, retainedTable } from "../../src/core/retained";

describe("retained tables", () => {
  it("drop the oldest entry when full, and keep replacing in place", () => {
    const table = retainedTable<number>("test-fifo", 3);
    table.set("a", 1);
    table.set("b", 2);
    table.set("c", 3);
    table.set("b", 20); // a replacement is not a new entry
    table.set("d", 4);
    assert.equal(table.get("a"), undefined);
    assert.deepEqual(["b", "c", "d"].map((key) => table.get(key)), [20, 3, 4]);
  });

  it("are one table per name, whatever bound a later caller names", () => {
    const first = retainedTable<number>("test-same", 1);
    assert.equal(retainedTable<number>("test-same", 100), first);
    first.set("x", 1);
    first.set("y", 2);
    assert.equal(first.get("x"), undefined);
  });

  it("take keys that name Object.prototype's members as plain keys", () => {
    const table = retainedTable<string>("test-keys", 4);
    assert.equal(table.get("constructor"), undefined);
    assert.equal(table.get("__proto__"), undefined);
    table.set("__proto__", "p");
    table.set("toString", "t");
    assert.equal(table.get("__proto__"), "p");
    assert.equal(table.get("toString"), "t");
  });

  it("keep values per owner under one key, at most `bound` owners", () => {
    const one = {};
    const two = {};
    assert.equal(retainedGet("test-owned", "k", one), undefined);
    retainedSet("test-owned", 2, "k", one, "for one");
    retainedSet("test-owned", 2, "k", two, "for two");
    assert.equal(retainedGet("test-owned", "k", one), "for one");
    assert.equal(retainedGet("test-owned", "k", two), "for two");
    const three = {};
    retainedSet("test-owned", 2, "k", three, "for three");
    assert.equal(retainedGet("test-owned", "k", one), undefined);
    assert.equal(retainedGet("test-owned", "k", three), "for three");
  });

  it("hand out what was found last only while the table still holds it", () => {
    const one = {};
    const two = {};
    retainedSet("test-last-owner", 1, "k", one, "for one");
    assert.equal(retainedGet("test-last-owner", "k", one), "for one");
    assert.equal(retainedGet("test-last-owner", "k", one), "for one", "found again");
    assert.equal(retainedGet("test-last-owner", "k", two), undefined, "another owner is not the last one found");
    retainedSet("test-last-owner", 1, "k", two, "for two");
    assert.equal(retainedGet("test-last-owner", "k", one), undefined, "dropped by the owners' bound");
    assert.equal(retainedGet("test-last-owner", "k", two), "for two");

    retainedSet("test-last-key", 1, "a", one, "a's");
    assert.equal(retainedGet("test-last-key", "a", one), "a's");
    assert.equal(retainedGet("test-last-key", "b", one), undefined, "another key is not the last one found");
    retainedSet("test-last-key", 1, "b", one, "b's");
    assert.equal(retainedGet("test-last-key", "a", one), undefined, "dropped by the keys' bound");
    assert.equal(retainedGet("test-last-key", "b", one), "b's");
    retainedTable<unknown>("test-last-key", 1).delete("b");
    assert.equal(retainedGet("test-last-key", "b", one), undefined, "deleted");
  });

  it("delete removes the entry and its place in the order", () => {
    const table = retainedTable<number>("test-delete", 2);
    table.set("a", 1);
    table.set("b", 2);
    table.delete("a");
    table.delete("missing");
    assert.equal(table.get("a"), undefined);
    table.set("c", 3);
    assert.deepEqual([table.get("b"), table.get("c")], [2, 3], "the freed place is used, nothing else dropped");
    table.set("d", 4);
    assert.deepEqual([table.get("b"), table.get("c"), table.get("d")], [undefined, 3, 4], "then the oldest goes");
  });

  it("bounded in characters too: the oldest go until the new entry fits, and one larger than the bound is not kept", () => {
    const table = retainedTable<string>("test-chars", 10, 20);
    table.set("a", "A", 9); // 10 characters with its key
    table.set("b", "B", 4); // 5
    table.set("c", "C", 4); // 5: 20 in all, the bound
    assert.deepEqual(["a", "b", "c"].map((key) => table.get(key)), ["A", "B", "C"]);
    table.set("d", "D", 4); // 25 would be over: a goes (10), not b
    assert.deepEqual(["a", "b", "c", "d"].map((key) => table.get(key)), [undefined, "B", "C", "D"]);
    table.set("b", "B2", 14); // replaced: its own 5 freed first, then c goes (5 + 15 + 5 = 25 > 20), d stays
    assert.deepEqual(["b", "c", "d"].map((key) => table.get(key)), ["B2", undefined, "D"]);
    table.set("huge", "H", 17); // 21 characters alone: not kept, and nothing dropped for it
    assert.deepEqual(["b", "d", "huge"].map((key) => table.get(key)), ["B2", "D", undefined]);
    table.delete("b");
    table.set("e", "E", 9); // 10: fits beside d (5) once b's 15 are freed
    assert.deepEqual(["d", "e"].map((key) => table.get(key)), ["D", "E"]);
  });

  it("bounded in characters, still at most `bound` entries", () => {
    const table = retainedTable<number>("test-chars-count", 2, 1000);
    table.set("a", 1, 1);
    table.set("b", 2, 1);
    table.set("c", 3, 1);
    assert.deepEqual(["a", "b", "c"].map((key) => table.get(key)), [undefined, 2, 3]);
  });

  it("clear empties the table, and what was found last with it", () => {
    const owner = {};
    retainedSet("test-clear", 4, "k", owner, "v");
    assert.equal(retainedGet("test-clear", "k", owner), "v");
    retainedTable<unknown>("test-clear", 4).clear();
    assert.equal(retainedGet("test-clear", "k", owner), undefined);
    const sized = retainedTable<string>("test-clear-chars", 4, 10);
    sized.set("a", "A", 9);
    sized.clear();
    sized.set("b", "B", 9); // fits: the cleared entry's characters were freed
    assert.equal(sized.get("b"), "B");
  });
});
