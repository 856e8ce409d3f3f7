/** retained.ts: the bounded tables that hold state outliving a request. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { retainedTable } from "../../src/core/retained";

describe("retainedTable", () => {
  it("one table per name, made on first use", () => {
    const table = retainedTable<number>("test: same name", 4);
    table.set("a", 1);
    assert.equal(retainedTable<number>("test: same name", 4).get("a"), 1);
  });

  it("drops the oldest entry at the bound", () => {
    const table = retainedTable<number>("test: bound", 2);
    table.set("a", 1);
    table.set("b", 2);
    table.set("c", 3);
    assert.deepEqual([table.get("a"), table.get("b"), table.get("c")], [undefined, 2, 3]);
  });

  it("delete removes the entry and its place in the order", () => {
    const table = retainedTable<number>("test: delete", 2);
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
});
