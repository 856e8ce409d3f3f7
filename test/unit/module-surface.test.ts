/**
 * dist/session.js's surface: the eager part (src/nginx/index.ts) forwards to the lazy part (full.ts)
 * and holds the js_set getters itself, so nothing but these tests ties the names together:
 *   - every `session.<name>` the nginx snippets and docs use is exported by index.ts;
 *   - every entry point full.ts provides has a forwarding function in index.ts;
 *   - one getter per Session-* header of config.ts's HEADER_NAMES, reading the right published header;
 *   - the version is package.json's.
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { HEADER_NAMES } from "../../src/core/config";
import * as getters from "../../src/nginx/getters";
import { encodeState, PublishedState } from "../../src/nginx/state";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const indexSource = readFileSync(join(root, "src/nginx/index.ts"), "utf8");

/** The keys of index.ts's `api` object literal. */
function exportedNames(): string[] {
  const literal = indexSource.slice(indexSource.indexOf("const api"), indexSource.indexOf("};", indexSource.indexOf("const api")));
  return [...literal.matchAll(/^\s+([A-Za-z]+):/gm)].map((m) => m[1]);
}

function filesUnder(dir: string, ending: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(path, ending));
    else if (entry.name.endsWith(ending)) found.push(path);
  }
  return found;
}

describe("dist/session.js surface", () => {
  it("exports every session.<name> the nginx snippets, examples and docs use", () => {
    const exported = new Set(exportedNames());
    const files = [...filesUnder(join(root, "nginx"), ".conf"), ...filesUnder(join(root, "docs"), ".md"), join(root, "README.md"), ...filesUnder(join(root, "docker"), ".conf")];
    let uses = 0;
    for (const file of files) {
      for (const m of readFileSync(file, "utf8").matchAll(/\b(?:js_set\s+\$\w+|js_access|js_content|js_periodic)\s+session\.([A-Za-z]+)/g)) {
        uses++;
        assert.ok(exported.has(m[1]), `${file} uses session.${m[1]}, which src/nginx/index.ts does not export`);
      }
    }
    assert.ok(uses > 30, `expected the snippets to use the module (found ${uses} uses)`);
  });

  it("forwards every entry point of full.ts", () => {
    const handlers = readFileSync(join(root, "src/nginx/handlers.ts"), "utf8");
    const table = handlers.slice(handlers.indexOf("const handlers"), handlers.indexOf("};", handlers.indexOf("const handlers")));
    const names = [...table.matchAll(/^\s+([A-Za-z]+):/gm)].map((m) => m[1]);
    names.push("upstreamCookie", "csrfToken", "init", "new", "open", "start", "logout", "destroy");
    const exported = exportedNames();
    for (const name of names) assert.ok(exported.includes(name), `index.ts does not forward ${name}`);
  });

  it("has a request and a response getter per Session-* header, each reading its own header", () => {
    const headers = [...new Set(Object.values(HEADER_NAMES))];
    const table = getters as unknown as { [name: string]: (r: unknown) => string };
    for (const header of headers) {
      const suffix = header.substring("Session-".length).split("-").join("");
      const q: { [name: string]: string } = {};
      const p: { [name: string]: string } = {};
      for (const other of headers) {
        q[other] = "q:" + other;
        p[other] = "p:" + other;
      }
      const state: PublishedState = { a: "default", i: "id", d: {}, q: q, p: p };
      const r = { variables: { session_state: encodeState(state, false) } };
      assert.equal(table["requestHeader" + suffix](r), "q:" + header);
      assert.equal(table["responseHeader" + suffix](r), "p:" + header);
      const without = { variables: { session_state: encodeState({ a: "default", i: "id", d: {}, q: {}, p: {} }, true) } };
      assert.equal(table["requestHeader" + suffix](without), "");
      assert.equal(table["responseHeader" + suffix](without), "");
      assert.ok(exportedNames().includes("requestHeader" + suffix) && exportedNames().includes("responseHeader" + suffix));
    }
  });

  it("reads the identity getters from this request's state only", () => {
    const r = { variables: { session_state: encodeState({ s: "alice", a: "app", i: "abc", t: 60, d: { k: "v" }, q: {}, p: {} }, true) } };
    assert.deepEqual([getters.subject(r as never), getters.audience(r as never), getters.id(r as never), getters.timeout(r as never), getters.exists(r as never), getters.data(r as never)], ["alice", "app", "abc", "60", "1", '{"k":"v"}']);
    const none = { variables: { session_state: "" } };
    assert.deepEqual([getters.subject(none as never), getters.exists(none as never), getters.data(none as never)], ["", "0", ""]);
  });

  it("says package.json's version", () => {
    const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
    assert.match(indexSource, new RegExp(`const VERSION = "${version.replace(/\./g, "\\.")}";`));
  });
});
