/**
 * requestContext (src/nginx/entry-context.ts): a location's $session_location_config text resolved into
 * its context once, and found again for the entry options in force, whichever location came before.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createSessionLibrary } from "../../src/core/api";
import { createNodePlatform } from "../../src/platform/node";
import { createEntryEnvironment, EntryPointsConfiguration } from "../../src/nginx/entry-context";
import { EMPTY_LOCATION_CONFIG, LOCATION_CONFIG_ORDER } from "../../src/nginx/configuration";

/** A request of a location that sets these $session_config_* (the rest empty), as njs-session.conf joins them. */
function requestOf(settings: { [name: string]: string }): NginxHTTPRequest {
  const variables: { [name: string]: string } = {};
  for (const name of LOCATION_CONFIG_ORDER) variables["session_config_" + name] = settings[name] || "";
  variables.session_location_config = LOCATION_CONFIG_ORDER.map((name) => variables["session_config_" + name]).join("\n");
  return { variables } as unknown as NginxHTTPRequest;
}

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

  function createEnvironment(configuration: EntryPointsConfiguration) {
    return createEntryEnvironment(platform, library, configuration);
  }
});
