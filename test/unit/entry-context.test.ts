/**
 * requestContext (src/nginx/entry-context.ts): a location's $session_location_config text resolved into
 * its context once, and found again for the entry options in force, whichever location came before.
 * The text is what njs-session.conf's map gives, evaluated here from the file itself.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createSessionLibrary } from "../../src/core/api";
import { isConfigError } from "../../src/core/errors";
import { createNodePlatform } from "../../src/platform/node";
import { createEntryEnvironment, EntryPointsConfiguration } from "../../src/nginx/entry-context";
import { EMPTY_LOCATION_CONFIG, LOCATION_CONFIG_ORDER } from "../../src/nginx/configuration";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** njs-session.conf's map of $session_location_config: its source, and its value for any other source than "". */
function locationMap(): { source: string; joined: string } {
  const conf = readFileSync(join(root, "nginx/njs-session.conf"), "utf8");
  const map = /^map "([^"]*)" \$session_location_config \{\n\s*"" "";\n\s*default "([^"]*)";\n\}/m.exec(conf);
  assert.ok(map, "njs-session.conf maps $session_location_config from a source, \"\" to \"\", anything else to the join");
  return { source: map[1], joined: map[2] };
}

/** A quoted nginx string with its variables substituted: nginx reads \n there as a line feed. */
function evaluate(template: string, variables: { [name: string]: string }): string {
  return template.replace(/\\n/g, "\n").replace(/\$(\w+)/g, (_, name: string) => variables[name] ?? "");
}

/** The variable names a quoted nginx string reads, in order. */
function variablesOf(template: string): string[] {
  return [...template.matchAll(/\$(\w+)/g)].map((m) => m[1]);
}

/** A request of a location that sets these $session_config_* (the rest empty), its text as the map gives it. */
function requestOf(settings: { [name: string]: string }): NginxHTTPRequest {
  const variables: { [name: string]: string } = {};
  for (const name of LOCATION_CONFIG_ORDER) variables["session_config_" + name] = settings[name] || "";
  const map = locationMap();
  variables.session_location_config = evaluate(map.source, variables) === "" ? "" : evaluate(map.joined, variables);
  return { variables } as unknown as NginxHTTPRequest;
}

describe("njs-session.conf's $session_location_config", () => {
  it("reads every $session_config_<name>, in configuration.ts's order, in its source and in its join", () => {
    const names = LOCATION_CONFIG_ORDER.map((name) => "session_config_" + name);
    const map = locationMap();
    assert.deepEqual(variablesOf(map.source), names);
    assert.deepEqual(variablesOf(map.joined), names);
    assert.equal(map.joined, names.map((name) => "$" + name).join("\\n"), "the join separates them with newlines");
  });

  it("is EMPTY_LOCATION_CONFIG for a location that sets none, and differs for each one it sets", () => {
    assert.equal(requestOf({}).variables.session_location_config, EMPTY_LOCATION_CONFIG);
    const texts = new Set([EMPTY_LOCATION_CONFIG]);
    for (const name of LOCATION_CONFIG_ORDER) texts.add(String(requestOf({ [name]: "1" }).variables.session_location_config));
    assert.equal(texts.size, LOCATION_CONFIG_ORDER.length + 1);
  });
});

describe("requestContext", () => {
  const platform = createNodePlatform({});
  const library = createSessionLibrary(platform);
  library.init({ secret: "entry-context-secret" });

  it("finds each location's context again, in any order, and a new one after the entry options change", () => {
    const configuration: EntryPointsConfiguration = { file: null, fileError: null, entry: {} };
    const env = createEnvironment(configuration);
    const plain = requestOf({});
    const api = requestOf({ audience: "api", unauthorized_status: "403" });
    const first = env.requestContext(plain);
    assert.equal(first.locationText, EMPTY_LOCATION_CONFIG);
    assert.equal(first.options, undefined);
    assert.equal(first.entry.unauthorized_status, 401);
    assert.equal(env.requestContext(plain), first);
    const other = env.requestContext(api);
    assert.notEqual(other, first);
    assert.equal(other.options?.audience, "api");
    assert.equal(other.entry.unauthorized_status, 403);
    assert.equal(env.requestContext(plain), first);
    assert.equal(env.requestContext(api), other);
    assert.equal(env.requestContext(api), other);

    // init({ nginx: {...} }) replaces the entry options: every context is made afresh.
    configuration.entry = { unauthorized_status: 401 };
    const renewedApi = env.requestContext(api);
    assert.notEqual(renewedApi, other);
    assert.equal(renewedApi.entry.unauthorized_status, 403);
    configuration.entry = { unauthorized_status: 403 };
    const renewed = env.requestContext(plain);
    assert.notEqual(renewed, first);
    assert.equal(renewed.entry.unauthorized_status, 403);
    assert.equal(env.requestContext(plain), renewed);
  });

  it("fails loudly on an override holding a line break, as on any broken override", () => {
    const env = createEnvironment({ file: null, fileError: null, entry: {} });
    for (const [settings, reason] of [
      [{ audience: "a\nb" }, /\$session_config_audience must not contain a line break/],
      [{ idling_timeout: "15m" }, /\$session_config_idling_timeout must be a whole number/],
      [{ csrf: "maybe" }, /\$session_config_csrf must be on or off/],
    ] as Array<[{ [name: string]: string }, RegExp]>) {
      assert.throws(
        () => env.requestContext(requestOf(settings)),
        (e: unknown) => isConfigError(e) && reason.test(String((e as Error).message)),
      );
    }
  });

  function createEnvironment(configuration: EntryPointsConfiguration) {
    return createEntryEnvironment(platform, library, configuration);
  }
});
