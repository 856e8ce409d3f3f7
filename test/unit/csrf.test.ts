/**
 * CSRF tokens (src/core/csrf.ts): the token against an independent node:crypto computation (HKDF with
 * its own "csrf" label, HMAC over the length-prefixed creation time, audience and subject), what it is
 * bound to (another creation time, audience or subject fails), key rotation (a fallback key still
 * verifies, an unknown key does not), the token surviving a refresh of a real session (new session id,
 * same creation time) and changing with a new login, the Origin / Sec-Fetch-Site rule, and the
 * configuration file's csrf options (a header name nginx cannot carry fails loudly).
 */

import assert from "node:assert/strict";
import { createHash, createHmac, hkdfSync } from "node:crypto";
import { describe, it } from "node:test";
import { csrfToken, foreignOrigin, isSafeMethod, verifyCsrfToken, type CsrfBinding } from "../../src/core/csrf";
import { fromJson } from "../../src/nginx/configuration";
import { urlencodedField } from "../../src/nginx/csrf";
import { createNodePlatform } from "../../src/platform/node";
import { createEnv, mint, nextCookie, T0 } from "../support/session-env";

const platform = createNodePlatform();
const IKM = createHash("sha256").update("csrf-secret").digest();
const OLD_IKM = createHash("sha256").update("csrf-old-secret").digest();
const BINDING: CsrfBinding = { creationTime: T0, audience: "default", subject: "alice" };

function field(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** The token as docs/security.md ("CSRF protection") specifies it, with node:crypto only. */
function referenceToken(ikm: Uint8Array, binding: CsrfBinding): string {
  const key = Buffer.from(hkdfSync("sha256", ikm, Buffer.alloc(0), Buffer.from("csrf"), 32));
  const parts = [field(String(binding.creationTime)), field(binding.audience)];
  if (binding.subject !== undefined) parts.push(field(binding.subject));
  return createHmac("sha256", key).update(Buffer.concat(parts)).digest("base64url");
}

describe("csrf token", () => {
  it("is base64url(HMAC-SHA256(HKDF(ikm, 'csrf'), creation time ‖ audience ‖ subject))", () => {
    const token = csrfToken(platform, IKM, BINDING);
    assert.equal(token, referenceToken(IKM, BINDING));
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    const anonymous = { creationTime: T0, audience: "default", subject: undefined };
    assert.equal(csrfToken(platform, IKM, anonymous), referenceToken(IKM, anonymous));
  });

  it("verifies only for the session it was made for", () => {
    const token = csrfToken(platform, IKM, BINDING);
    assert.equal(verifyCsrfToken(platform, [IKM], BINDING, token), true);
    const others: Array<[string, CsrfBinding]> = [
      ["another creation time", { ...BINDING, creationTime: T0 + 1 }],
      ["another audience", { ...BINDING, audience: "admin" }],
      ["another subject", { ...BINDING, subject: "mallory" }],
      ["no subject", { ...BINDING, subject: undefined }],
      ["an empty subject", { ...BINDING, subject: "" }],
      // Fields are length-prefixed: moving bytes between audience and subject changes the message.
      ["audience and subject shifted", { ...BINDING, audience: "defaulta", subject: "lice" }],
    ];
    for (const [name, other] of others) {
      assert.equal(verifyCsrfToken(platform, [IKM], other, token), false, name);
      assert.notEqual(csrfToken(platform, IKM, other), token, name);
    }
  });

  it("refuses tampered, empty, oversized and foreign tokens", () => {
    const token = csrfToken(platform, IKM, BINDING);
    const flipped = (token[0] === "A" ? "B" : "A") + token.substring(1);
    for (const bad of [flipped, "", token + "A", token.substring(1), token + "=", token.toLowerCase(), "x".repeat(10_000)]) {
      assert.equal(verifyCsrfToken(platform, [IKM], BINDING, bad), false, JSON.stringify(bad.substring(0, 50)));
    }
    assert.equal(verifyCsrfToken(platform, [IKM], BINDING, csrfToken(platform, OLD_IKM, BINDING)), false, "made under another key");
  });

  it("key rotation: a token made under a fallback key still verifies; none verifies without keys", () => {
    const old = csrfToken(platform, OLD_IKM, BINDING);
    assert.equal(verifyCsrfToken(platform, [IKM, OLD_IKM], BINDING, old), true, "fallback");
    assert.equal(verifyCsrfToken(platform, [IKM, OLD_IKM], BINDING, csrfToken(platform, IKM, BINDING)), true, "current");
    assert.equal(verifyCsrfToken(platform, [IKM], BINDING, old), false, "the old key no longer configured");
    assert.equal(verifyCsrfToken(platform, [], BINDING, old), false, "no keys");
  });

  it("survives a refresh (new session id, same creation time) and changes with a new login", async () => {
    const env = createEnv();
    const options = { secret: "csrf-secret", rolling_timeout: 100 };
    const { cookie } = await mint(env, options, { user: "alice" }, { subject: "alice" });
    const bindingOf = async (header: string) => {
      const opened = await env.library.open(env.request(header), options);
      assert.equal(opened.exists, true);
      const session = opened.session;
      return {
        binding: { creationTime: session.getProperty("creation_time") as number, audience: session.getAudience(), subject: session.getSubject() },
        id: session.getProperty("id"),
      };
    };
    const first = await bindingOf(cookie);
    const token = csrfToken(env.platform, env.library.settings(options).ikm, first.binding);
    assert.equal(token, referenceToken(IKM, { creationTime: T0, audience: "default", subject: "alice" }));

    env.clock.now = T0 + 80; // past 3/4 of the rolling timeout: refresh() re-saves under a new id
    const exchange = env.request(cookie);
    const started = await env.library.start(exchange, options);
    assert.equal(started.refreshed, true);
    const refreshed = await bindingOf(nextCookie(exchange, cookie));
    assert.notEqual(refreshed.id, first.id, "a new session id");
    assert.equal(verifyCsrfToken(env.platform, [IKM], refreshed.binding, token), true, "the token of the page rendered before");

    env.clock.now = T0 + 90;
    const again = await mint(env, options, { user: "alice" }, { subject: "alice" });
    const relogged = await bindingOf(again.cookie);
    assert.equal(verifyCsrfToken(env.platform, [IKM], relogged.binding, token), false, "a new login, a new token");
  });
});

describe("csrf request rules", () => {
  it("safe methods are GET, HEAD, OPTIONS and TRACE; everything else needs the token", () => {
    for (const method of ["GET", "HEAD", "OPTIONS", "TRACE"]) assert.equal(isSafeMethod(method), true, method);
    for (const method of ["POST", "PUT", "PATCH", "DELETE", "PROPFIND", "get", "CONNECT", ""]) assert.equal(isSafeMethod(method), false, method);
  });

  it("Origin must name the Host; Sec-Fetch-Site cross-site is refused; neither header: left to the token", () => {
    const cases: Array<[string | undefined, string | undefined, string | undefined, string | null]> = [
      [undefined, undefined, "app.example", null],
      ["same-origin", "https://app.example", "app.example", null],
      ["same-site", undefined, "app.example", null],
      ["none", undefined, "app.example", null],
      [undefined, "https://APP.example:443", "app.example", null],
      [undefined, "http://app.example", "app.example:80", null],
      [undefined, "http://127.0.0.1:8080", "127.0.0.1:8080", null],
      [undefined, "http://[::1]:8080", "[::1]:8080", null],
      ["cross-site", "https://app.example", "app.example", "cross-site request (Sec-Fetch-Site)"],
      [" Cross-Site ", undefined, "app.example", "cross-site request (Sec-Fetch-Site)"],
      [undefined, "https://evil.example", "app.example", "Origin does not match Host"],
      [undefined, "https://app.example.evil", "app.example", "Origin does not match Host"],
      [undefined, "http://127.0.0.1:9090", "127.0.0.1:8080", "Origin does not match Host"],
      [undefined, "https://app.example:8443", "app.example", "Origin does not match Host"],
      [undefined, "null", "app.example", "Origin does not match Host"],
      [undefined, "https://user@app.example", "app.example", "Origin does not match Host"],
      [undefined, "https://app.example/path", "app.example", "Origin does not match Host"],
      [undefined, "https://app.example", undefined, "Origin does not match Host"],
    ];
    for (const [site, origin, host, expected] of cases) {
      assert.equal(foreignOrigin(site, origin, host), expected, JSON.stringify([site, origin, host]));
    }
  });
});

describe("csrf options in the configuration file", () => {
  it("takes csrf, csrf_header, csrf_field, csrf_origin_check and logout_get", () => {
    const nginx = { csrf: true, csrf_header: "X-XSRF-Token", csrf_field: "_csrf", csrf_origin_check: false, logout_get: true };
    assert.deepEqual(fromJson({ secret: "s", nginx: { ...nginx } }).entry, nginx);
  });

  it("refuses what would make every unsafe request a 403, or a switch that is not a boolean", () => {
    const bad: Array<[{ [name: string]: unknown }, RegExp]> = [
      [{ csrf_header: "X CSRF" }, /nginx\.csrf_header must be a header name/],
      [{ csrf_header: "X-CSRF:" }, /nginx\.csrf_header must be a header name/],
      [{ csrf_header: "" }, /nginx\.csrf_header must be a header name/],
      [{ csrf_field: "" }, /nginx\.csrf_field must not be empty/],
      [{ csrf: "on" }, /nginx\.csrf must be a boolean/],
      [{ logout_get: 1 }, /nginx\.logout_get must be a boolean/],
    ];
    for (const [nginx, message] of bad) assert.throws(() => fromJson({ secret: "s", nginx }), message, JSON.stringify(nginx));
  });
});

describe("urlencodedField: the form field on njs without readRequestForm()", () => {
  it("finds the first value of the field, decoded as a browser encodes it", () => {
    const token = "a-b_c+d/e=";
    const body = new URLSearchParams([["note", "x & y"], ["csrf_token", token], ["csrf_token", "second"]]).toString();
    assert.equal(urlencodedField(body, "csrf_token"), token);
    assert.equal(urlencodedField(body, "note"), "x & y");
    assert.equal(urlencodedField("csrf_token=", "csrf_token"), "");
  });

  it("is undefined when the field is missing or the body is not decodable", () => {
    assert.equal(urlencodedField("note=1&other=2", "csrf_token"), undefined);
    assert.equal(urlencodedField("", "csrf_token"), undefined);
    assert.equal(urlencodedField("csrf_token=%E0%A4%A", "csrf_token"), undefined);
  });
});
