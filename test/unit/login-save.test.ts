/**
 * src/nginx/login-save.ts: the login's save without a Session (the njs engine's login part, and the
 * full login where check-view.ts's loginSavesAlone allows) must put on the response exactly the
 * Set-Cookie lines a Session's save puts there for the same verdict, settings, clock and session id;
 * and it must decline (null) what only the Session's save does.
 */

// First: src/platform/njs.ts reads njs's global ngx when it loads.
import "../support/fake-ngx";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createSessionLibrary } from "../../src/core/api";
import { encryptPayload } from "../../src/core/cookie-sealing";
import { extractedKey, pseudorandomKey, PseudorandomKey } from "../../src/core/keys";
import type { SessionOptions } from "../../src/core/options";
import type { Platform } from "../../src/core/platform";
import { createNjsExchange } from "../../src/platform/njs";
import { createNodePlatform } from "../../src/platform/node";
import { keepLoginView, loginSavesAlone, readLoginView } from "../../src/nginx/check-view";
import type { EntryOptions } from "../../src/nginx/configuration";
import { createMemorySharedDict } from "../support/memory-shared-dict";
import { finishNewSession, startNewSession } from "../../src/nginx/login-save";
import type { LoginVerdict } from "../../src/nginx/login-steps";
import { T0 } from "../support/session-env";

const SECRET = "login-save-test-secret-of-enough-length";

/** The same session id for both saves: a counter would differ between them, a fixed fill does not. */
const platform: Platform = { ...createNodePlatform({ now: () => T0 }), randomBytes: (size) => new Uint8Array(size).fill(0x5a) };

interface FakeRequest {
  headersIn: { [name: string]: string };
  headersOut: { [name: string]: string | string[] };
  variables: { [name: string]: string };
  remoteAddress: string;
}

function fakeRequest(cookie?: string): FakeRequest {
  const headersIn: { [name: string]: string } = { "User-Agent": "test agent" };
  if (cookie !== undefined) headersIn["Cookie"] = cookie;
  return { headersIn, headersOut: {}, variables: { scheme: "https" }, remoteAddress: "192.0.2.7" };
}

function asNginx(r: FakeRequest): NginxHTTPRequest {
  return r as unknown as NginxHTTPRequest;
}

/** Set-Cookie lines of the Session's save of `verdict` (as login.ts's saveWith makes it). */
async function sessionSave(options: SessionOptions, verdict: LoginVerdict, cookie?: string): Promise<unknown> {
  const r = fakeRequest(cookie);
  const session = createSessionLibrary(platform).new(createNjsExchange(asNginx(r)), options);
  session.setSubject(verdict.subject);
  if (verdict.data) session.setData(verdict.data);
  const saved = await session.save();
  assert.ok(saved.ok, "the Session's save succeeds");
  return r.headersOut["Set-Cookie"];
}

/** Makes the PRK of the settings' key for the save. */
type PrkOf = (ikm: Uint8Array) => PseudorandomKey;

/**
 * Set-Cookie lines of login-save.ts's save of `verdict`, or null when it declines; the PRK made by
 * `prkOf` (the full login's retained pseudorandomKey unless given).
 */
async function aloneSave(options: SessionOptions, verdict: LoginVerdict, cookie?: string, prkOf: PrkOf = (ikm) => pseudorandomKey(platform, ikm)): Promise<unknown> {
  const r = fakeRequest(cookie);
  const settings = createSessionLibrary(platform).settings(options);
  assert.ok(loginSavesAlone(settings), "these settings are the login's to save alone");
  const sealing = startNewSession(asNginx(r), platform, settings, prkOf(settings.ikm), verdict);
  if (sealing === null) return null;
  const aesKey = await sealing.encryption.key;
  const encrypted = await encryptPayload(platform, sealing.encryption, aesKey);
  assert.ok(finishNewSession(sealing, encrypted).ok, "the login's save succeeds");
  return r.headersOut["Set-Cookie"];
}

describe("the login's save without a Session", () => {
  const cases: Array<{ name: string; options: SessionOptions; verdict: LoginVerdict; cookie?: string }> = [
    { name: "subject only", options: { secret: SECRET }, verdict: { subject: "alice" } },
    { name: "data, audience, bound to ip, scheme and user agent", options: { secret: SECRET, audience: "app", bind: ["ip", "scheme", "user_agent"] }, verdict: { subject: "bob", data: { role: "admin", n: 3 } } },
    {
      name: "data over several cookies, stale chunks of the request expired",
      options: { secret: SECRET, compression_threshold: 0 },
      verdict: { subject: "carol", data: { blob: "x".repeat(9000) } },
      cookie: "session=old; session2=old; session3=old; session4=old; session5=old",
    },
    { name: "cookie attributes", options: { secret: SECRET, cookie_name: "sid", cookie_path: "/app", cookie_same_site: "Strict" }, verdict: { subject: "dave" } },
  ];
  for (const c of cases) {
    it(c.name + ": the Session's lines", async () => {
      const expected = await sessionSave(c.options, c.verdict, c.cookie);
      assert.ok(Array.isArray(expected) && expected.length > 0, "the Session's save sets cookies");
      assert.deepEqual(await aloneSave(c.options, c.verdict, c.cookie), expected);
    });
    it(c.name + ": the Session's lines with the key made anew (the njs engine's login part)", async () => {
      const expected = await sessionSave(c.options, c.verdict, c.cookie);
      assert.deepEqual(await aloneSave(c.options, c.verdict, c.cookie, (ikm) => extractedKey(platform, ikm)), expected);
    });
    it(c.name + ": the Session's lines with the login view's PRK (the njs engine's login part)", async () => {
      const expected = await sessionSave(c.options, c.verdict, c.cookie);
      const zone = createMemorySharedDict({ name: "njs_session_cache", timeout: 86_400_000, evict: false, clock: () => T0 * 1000 });
      const viewPlatform = createNodePlatform({ now: () => T0, sharedDicts: { njs_session_cache: zone } });
      const settings = createSessionLibrary(viewPlatform).settings(c.options);
      keepLoginView(viewPlatform, "location text", settings, { login_backend: "/backend", login_verdict_header: "X-Verdict" } as EntryOptions);
      const view = readLoginView(viewPlatform, "location text");
      assert.ok(view, "a login view");
      // As login-part.ts reads it: the view's PRK as it is, no ikm.
      const prk: PseudorandomKey = { bytes: new Uint8Array(Buffer.from(view.prk, "base64url")), inner: null, outer: null };
      assert.deepEqual(await aloneSave(c.options, c.verdict, c.cookie, () => prk), expected);
    });
  }

  it("declines a verdict with remember, and data due for compression", async () => {
    assert.equal(await aloneSave({ secret: SECRET }, { subject: "erin", remember: false }), null);
    assert.equal(await aloneSave({ secret: SECRET, compression_threshold: 16 }, { subject: "erin", data: { long: "y".repeat(64) } }), null);
  });
});
