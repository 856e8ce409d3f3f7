/**
 * dist/session.js's surface: the eager part (src/nginx/index.ts) forwards to the lazy part (full.ts),
 * dist/session-api.js (api-module.ts) adds the resty.session surface to session.js's entry points,
 * and nginx's maps (njs-session.conf) read the variables out of $session_state (state.ts), so nothing
 * but these tests ties the names and positions together:
 *   - every `session.<name>` the nginx snippets and docs use is exported by index.ts;
 *   - every entry point full.ts provides has a forwarding function in index.ts, and every function of
 *     the resty.session surface one in api-module.ts;
 *   - each $session_* map takes its own field of what encodeState writes, for every Session-* header
 *     of options.ts's headerNames();
 *   - the version is package.json's.
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { headerNames } from "../../src/core/options";
import { decodeState, encodeState, headerFields, NO_HEADER_FIELDS, PLAIN_STATE_TAIL, PublishedState, STATE_HEADER_NAMES, stateLine, stateLineAroundTimeout, stateTail } from "../../src/nginx/state";
import { stateHeader } from "../../src/nginx/state-header";

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
    names.push("upstreamCookie", "csrfToken");
    const exported = exportedNames();
    for (const name of names) assert.ok(exported.includes(name), `index.ts does not forward ${name}`);
    assert.ok(exported.includes("library"), "index.ts does not hand api-module.ts the full part (library)");
    const apiModule = readFileSync(join(root, "src/nginx/api-module.ts"), "utf8");
    for (const name of ["init", "new", "open", "start", "logout", "destroy"]) {
      assert.match(apiModule, new RegExp(`^api\\.${name} = `, "m"), `api-module.ts does not forward ${name}`);
      assert.ok(!exported.includes(name), `index.ts exports ${name}: it belongs to session-api.js (api-module.ts)`);
    }
  });

  /**
   * One of njs-session.conf's maps, as nginx evaluates it: an exact "" entry first (nginx looks exact
   * keys up before trying regexes), then the regexes in order ("$1" or a literal value), then the
   * default ("" when none is given).
   */
  function evaluateMap(body: string, source: string, name: string): string {
    const entries = [...body.matchAll(/("(?:[^"\\]|\\.)*"|\S+)\s+("(?:[^"\\]|\\.)*"|\S+);/g)].map((e) => [e[1], e[2]]);
    assert.ok(entries.length > 0, `no entries in the map for $${name}`);
    const unquote = (text: string): string => (text.startsWith('"') ? text.slice(1, -1) : text);
    let fallback = "";
    for (const [key, value] of entries) {
      if (key === "default") fallback = unquote(value);
      else if (unquote(key) === "" && source === "") return unquote(value);
    }
    for (const [key, value] of entries) {
      const text = unquote(key);
      if (!text.startsWith("~")) continue;
      // nginx turns \t in a quoted string into a TAB, as a JavaScript RegExp reads \t.
      const found = new RegExp(text.slice(1)).exec(source);
      if (found) return value === "$1" ? found[1] : unquote(value);
    }
    return fallback;
  }

  /**
   * njs-session.conf's maps over $session_state, and over the maps over it: variable name → the value
   * nginx would give it.
   */
  function mapsOver(state: string): { [variable: string]: string } {
    const conf = readFileSync(join(root, "nginx/njs-session.conf"), "utf8");
    const values: { [variable: string]: string } = { session_state: state };
    for (const m of conf.matchAll(/^map \$(\w+) \$(\w+)\s*\{(.*)\}\s*$/gm)) {
      if (!(m[1] in values)) continue;
      values[m[2]] = evaluateMap(m[3].trim(), values[m[1]], m[2]);
    }
    delete values.session_state;
    delete values.session_header_fields;
    return values;
  }

  it("has one map per published variable, each taking its own field of $session_state", () => {
    const headers = [...new Set(Object.values(headerNames()))];
    assert.deepEqual([...STATE_HEADER_NAMES].sort(), headers.sort(), "state.ts publishes every Session-* header");
    const q: { [name: string]: string } = {};
    const p: { [name: string]: string } = {};
    for (const header of headers) {
      q[header] = "q:" + header;
      p[header] = "p:" + header;
    }
    const state: PublishedState = { s: "alice ü", a: "app", i: "abc", t: 60, c: 1700000000, d: { k: "v%25" }, q: q, p: p };
    const values = mapsOver(encodeState(state));
    const expected: { [variable: string]: string } = {
      session_subject: "alice ü",
      session_audience: "app",
      session_id: "abc",
      session_timeout: "60",
      session_exists: "1",
      session_data: '{"k":"v%25"}',
    };
    for (const header of headers) {
      const name = header.substring("Session-".length).toLowerCase().split("-").join("_");
      expected["session_request_header_" + name] = "q:" + header;
      expected["session_response_header_" + name] = "p:" + header;
    }
    assert.deepEqual(values, expected);
    const none = mapsOver("");
    for (const variable of Object.keys(expected)) assert.equal(none[variable], variable === "session_exists" ? "0" : "", variable);
    // Most sessions configure no header (every header field empty: the maps' "" entry), some one.
    const plain = mapsOver(encodeState({ ...state, q: {}, p: {} }));
    const one = mapsOver(encodeState({ ...state, q: {}, p: { "Session-Absolute-Timeout": "99" } }));
    for (const variable of Object.keys(expected)) {
      const header = variable.startsWith("session_request_header_") || variable.startsWith("session_response_header_");
      assert.equal(plain[variable], header ? "" : expected[variable], `no header fields: ${variable}`);
      assert.equal(one[variable], variable === "session_response_header_absolute_timeout" ? "99" : header ? "" : expected[variable], `one header field: ${variable}`);
    }
  });

  it("frames the state for X-Session-State, and $session_state_unframed takes exactly that frame off", () => {
    const conf = readFileSync(join(root, "nginx/njs-session.conf"), "utf8");
    const map = conf.match(/^map \$session_state_header \$session_state_unframed\s*\{(.*)\}\s*$/m);
    assert.ok(map, "njs-session.conf has the $session_state_unframed map");
    const unframe = (header: string): string => evaluateMap(map[1].trim(), header, "session_state_unframed");
    // An anonymous session without header fields: TABs at both ends, which the frame keeps.
    const anonymous = encodeState({ a: "app", i: "id", t: 5, c: 7, d: {}, q: {}, p: {} });
    assert.ok(anonymous.startsWith("\t") && anonymous.endsWith("\t"));
    assert.equal(unframe(stateHeader(anonymous)), anonymous);
    const named = encodeState({ s: "zoë <x>", a: "app", i: "id", d: { k: "v" }, q: {}, p: { "Session-Subject": "zoë <x>" } });
    assert.equal(unframe(stateHeader(named)), named);
    // No framed header: whatever $session_state held before auth_request (what `js_access
    // session.accessKnown` published in front, or nothing), never the header's own text.
    assert.equal(unframe(""), "$session_state", "no header: $session_state as it was");
    assert.equal(unframe(anonymous), "$session_state", "an unframed value: $session_state as it was");
    assert.equal(unframe("<" + anonymous), "$session_state", "half a frame: $session_state as it was");
  });

  it("decodes what it encodes, and refuses any other shape", () => {
    const state: PublishedState = { s: "bob", a: "app", i: "id", t: 5, c: 7, d: {}, q: { "Session-Subject": "bob" }, p: {} };
    assert.deepEqual(decodeState(encodeState(state)), state);
    const noSubject: PublishedState = { a: "app", i: "id", d: {}, q: {}, p: {} };
    assert.deepEqual(decodeState(encodeState(noSubject)), noSubject);
    assert.equal(decodeState(encodeState(state) + "\textra"), null);
    assert.equal(decodeState("{}"), null);
    assert.equal(decodeState(encodeState(state).replace('{}', "[")), null);
    assert.equal(decodeState(""), null);
  });

  it("writes a session without request_headers or response_headers with the constant empty header fields", () => {
    assert.equal(NO_HEADER_FIELDS, headerFields({}, {}));
    assert.equal(PLAIN_STATE_TAIL, stateTail("{}", headerFields({}, {})));
    assert.equal(NO_HEADER_FIELDS.split("\t").length - 1, 2 * STATE_HEADER_NAMES.length);
  });

  it("splits a state line around its timeout field as stateLine writes it (known answers publish it again so)", () => {
    for (const subject of [undefined, "alice", ""])
      for (const timeout of [undefined, 0, 899, -3])
        for (const created of [undefined, 1700000000]) {
          const parts = stateLineAroundTimeout(subject, "app", "id", created, PLAIN_STATE_TAIL);
          const line = stateLine(subject, "app", "id", timeout, created, PLAIN_STATE_TAIL);
          assert.equal(parts[0] + (timeout === undefined ? "" : timeout) + parts[1], line);
          const state = decodeState(line);
          assert.equal(state && state.t, timeout);
        }
  });

  it("says package.json's version", () => {
    const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
    assert.match(indexSource, new RegExp(`const VERSION = "${version.replace(/\./g, "\\.")}";`));
  });
});
