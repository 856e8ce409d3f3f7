/**
 * The session state machine over a fake clock: open/save round trips, the three timeouts, touch and
 * rolling refresh, audiences, remember cookies, key rotation, binding, chunking, the info store,
 * request/response headers, closed sessions and server-side storage. Expected behaviour is
 * lua-resty-session 4.1.5's (session.lua), and cookie contents are read with the independent
 * reference (test/support/reference-crypto.ts), not with src/.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import type { SessionOptions } from "../../src/core/options";
import type { Session } from "../../src/core/session";
import { createMemoryStorage } from "../support/memory-storage";
import { b64u, refIkm, refOpen, refSplitCookie, REF_FLAG_FORGET, REF_FLAG_STORAGE } from "../support/reference-crypto";
import {
  createEnv,
  isExpiredLine,
  mint,
  nextCookie,
  setCookieLine,
  setCookieNames,
  setCookieValue,
  T0,
  type TestEnv,
} from "../support/session-env";

const SECRET = "lifecycle-secret";
const APP: SessionOptions = { secret: SECRET, audience: "app" };

/** The session cookie's value in a Cookie header. */
function cookieValueIn(header: string, name: string): string | undefined {
  for (const part of header.split(";")) {
    const equals = part.indexOf("=");
    if (part.substring(0, equals).trim() === name) return part.substring(equals + 1).trim();
  }
  return undefined;
}

function headerOf(cookieHeader: string, name = "session") {
  return refSplitCookie(cookieValueIn(cookieHeader, name)!).header;
}

async function openAt(env: TestEnv, now: number, cookie: string | undefined, options: SessionOptions) {
  env.clock.now = now;
  const exchange = env.request(cookie);
  const result = await env.library.open(exchange, options);
  return { ...result, exchange };
}

async function startAt(env: TestEnv, now: number, cookie: string, options: SessionOptions) {
  env.clock.now = now;
  const exchange = env.request(cookie);
  const result = await env.library.start(exchange, options);
  return { ...result, exchange };
}

describe("open / save round trip", () => {
  it("data, audience and subject come back", async () => {
    const env = createEnv();
    const data = { name: "John", n: 1.5, list: [1, 2, { x: null }], nested: { deep: { ok: true } }, text: "ünï/\"quoted\"" };
    const { cookie } = await mint(env, APP, data, { subject: "john@example.com" });
    const opened = await openAt(env, T0 + 10, cookie, APP);
    assert.equal(opened.error, undefined);
    assert.equal(opened.exists, true);
    assert.equal(opened.session.state, "open");
    assert.deepEqual(opened.session.getData(), data);
    assert.equal(opened.session.getAudience(), "app");
    assert.equal(opened.session.getSubject(), "john@example.com");
    assert.equal(opened.session.get("name"), "John");
    assert.equal(opened.exchange.responseCookies.length, 0, "open alone writes no cookie");
  });

  it("no cookie: exists false, 'missing session cookie', nothing logged", async () => {
    const env = createEnv();
    const opened = await openAt(env, T0, undefined, APP);
    assert.equal(opened.exists, false);
    assert.equal(opened.error, "missing session cookie");
    assert.equal(opened.session.state, "new");
    assert.deepEqual(env.logs, []);
  });

  it("a cookie under another name is not ours", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, APP);
    const opened = await openAt(env, T0, cookie, { ...APP, cookie_name: "other" });
    assert.equal(opened.error, "missing session cookie");
  });

  it("a new session's id and timeouts are unknown until it is saved", async () => {
    const env = createEnv();
    const session = env.library.new(env.request(), APP);
    assert.equal(session.getProperty("id"), undefined);
    assert.equal(session.getProperty("timeout"), undefined);
    assert.equal(session.getProperty("audience"), "app");
    assert.equal((await session.save()).ok, true);
    assert.match(String(session.getProperty("id")), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(session.getProperty("timeout"), 900);
  });

  it("operations that need an open session say so on a new one", async () => {
    const env = createEnv();
    const session = env.library.new(env.request(), APP);
    assert.deepEqual(session.touch(), { ok: false, error: "unable to touch nonexistent session" });
    assert.deepEqual(await session.refresh(), { ok: false, error: "unable to refresh nonexistent session" });
    assert.deepEqual(await session.logout(), { ok: false, error: "unable to logout nonexistent session" });
    assert.deepEqual(await session.destroy(), { ok: false, error: "unable to destroy nonexistent session" });
    assert.equal(session.clearRequestCookie().ok, false);
    assert.equal(session.setHeaders().ok, false);
    const logout = await env.library.logout(env.request(), APP);
    assert.deepEqual(logout, { ok: false, exists: false, loggedOut: false, error: "missing session cookie" });
    const destroy = await env.library.destroy(env.request(), APP);
    assert.deepEqual(destroy, { ok: false, exists: false, destroyed: false, error: "missing session cookie" });
  });
});

describe("timeouts", () => {
  it("idling: open at +900 succeeds, at +901 'session idling timeout exceeded' (logged at info)", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, APP);
    assert.equal((await openAt(env, T0 + 900, cookie, APP)).exists, true);
    const late = await openAt(env, T0 + 901, cookie, APP);
    assert.equal(late.exists, false);
    assert.equal(late.error, "session idling timeout exceeded");
    assert.ok(env.logs.some((l) => l.level === "info" && l.message.includes("session idling timeout exceeded")));
  });

  it("rolling: with idling off, open at +3600 succeeds, at +3601 'session rolling timeout exceeded'", async () => {
    const env = createEnv();
    const options = { ...APP, idling_timeout: 0 };
    const { cookie } = await mint(env, options);
    assert.equal((await openAt(env, T0 + 3600, cookie, options)).exists, true);
    assert.equal((await openAt(env, T0 + 3601, cookie, options)).error, "session rolling timeout exceeded");
  });

  it("absolute: with idling and rolling off, open at +86400 succeeds, at +86401 'session absolute timeout exceeded'", async () => {
    const env = createEnv();
    const options = { ...APP, idling_timeout: 0, rolling_timeout: 0 };
    const { cookie } = await mint(env, options);
    assert.equal((await openAt(env, T0 + 86400, cookie, options)).exists, true);
    assert.equal((await openAt(env, T0 + 86401, cookie, options)).error, "session absolute timeout exceeded");
  });

  it("absolute: rolling re-saves never extend the session past absolute_timeout from creation", async () => {
    const env = createEnv();
    const options = { ...APP, idling_timeout: 0 };
    let { cookie } = await mint(env, options);
    let t = T0;
    for (;;) {
      t += 3000; // > 3/4 of rolling_timeout: every start() re-saves
      const started = await startAt(env, t, cookie, options);
      if (t - T0 > 86400) {
        assert.equal(started.exists, false);
        assert.equal(started.error, "session absolute timeout exceeded");
        break;
      }
      assert.equal(started.exists, true, "alive at +" + (t - T0));
      assert.equal(started.refreshed, true);
      assert.equal(headerOf(nextCookie(started.exchange, cookie)).creationTime, T0);
      cookie = nextCookie(started.exchange, cookie);
    }
  });

  it("a zero timeout disables that check", async () => {
    const env = createEnv();
    const options = { ...APP, idling_timeout: 0, rolling_timeout: 0, absolute_timeout: 0 };
    const { cookie } = await mint(env, options);
    assert.equal((await openAt(env, T0 + 10 * 86400, cookie, options)).exists, true);
  });

  it("getProperty timeouts are what is left", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, APP);
    const { session } = await openAt(env, T0 + 100, cookie, APP);
    assert.equal(session.getProperty("idling-timeout"), 800);
    assert.equal(session.getProperty("idling_timeout"), 800);
    assert.equal(session.getProperty("rolling-timeout"), 3500);
    assert.equal(session.getProperty("rolling_timeout"), 3500);
    assert.equal(session.getProperty("absolute-timeout"), 86300);
    assert.equal(session.getProperty("absolute_timeout"), 86300);
    assert.equal(session.getProperty("timeout"), 800, "the smallest of the three");
    assert.equal(session.getProperty("creation-time"), T0);

    const noIdle = await openAt(env, T0 + 100, cookie, { ...APP, idling_timeout: 0 });
    assert.equal(noIdle.session.getProperty("idling-timeout"), undefined);
    assert.equal(noIdle.session.getProperty("timeout"), 3500);
    const onlyAbsolute = await openAt(env, T0 + 100, cookie, { ...APP, idling_timeout: 0, rolling_timeout: 0 });
    assert.equal(onlyAbsolute.session.getProperty("timeout"), 86300);
    const none = await openAt(env, T0 + 100, cookie, { ...APP, idling_timeout: 0, rolling_timeout: 0, absolute_timeout: 0 });
    assert.equal(none.session.getProperty("timeout"), undefined);
  });
});

describe("refresh via start()", () => {
  it("before touch_threshold: refreshed false and no Set-Cookie", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, APP);
    for (const dt of [0, 1, 59, 60]) {
      const started = await startAt(env, T0 + dt, cookie, APP);
      assert.equal(started.exists, true);
      assert.equal(started.refreshed, false, "+" + dt);
      assert.deepEqual(started.exchange.responseCookies, []);
    }
  });

  it("after touch_threshold: touched (refreshed, same id), and the session lives longer", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, APP);
    const id = (await openAt(env, T0, cookie, APP)).session.getProperty("id");

    const started = await startAt(env, T0 + 61, cookie, APP);
    assert.equal(started.exists, true);
    assert.equal(started.refreshed, true);
    assert.equal(started.error, undefined);
    assert.equal(started.session.getProperty("id"), id, "a touch keeps the session id");
    assert.equal(started.exchange.responseCookies.length, 1);
    const touched = nextCookie(started.exchange, cookie);
    const before = headerOf(cookie);
    const after = headerOf(touched);
    assert.deepEqual(after.sid, before.sid);
    assert.equal(after.idlingOffset, 61);
    assert.equal(after.creationTime, T0);
    assert.equal(after.rollingOffset, 0);
    assert.equal(started.session.getProperty("idling-timeout"), 900, "idling restarts at the touch");

    // The untouched cookie dies 900 s after creation; the touched one 900 s after the touch.
    assert.equal((await openAt(env, T0 + 901, cookie, APP)).error, "session idling timeout exceeded");
    assert.equal((await openAt(env, T0 + 961, touched, APP)).exists, true);
    assert.equal((await openAt(env, T0 + 962, touched, APP)).error, "session idling timeout exceeded");
  });

  it("after 3/4 of rolling_timeout: re-saved with a new id, same creation time", async () => {
    const env = createEnv();
    const options = { ...APP, idling_timeout: 0 };
    const { cookie } = await mint(env, options, { k: "v" });
    const original = await openAt(env, T0, cookie, options);
    const id = original.session.getProperty("id");

    const early = await startAt(env, T0 + 2700, cookie, options);
    assert.equal(early.refreshed, false, "at exactly 3/4 nothing happens");

    const started = await startAt(env, T0 + 2701, cookie, options);
    assert.equal(started.refreshed, true);
    assert.notEqual(started.session.getProperty("id"), id);
    assert.equal(started.session.getProperty("creation-time"), T0);
    const rolled = nextCookie(started.exchange, cookie);
    const h = headerOf(rolled);
    assert.equal(h.creationTime, T0);
    assert.equal(h.rollingOffset, 2701);
    assert.equal(b64u(h.sid), started.session.getProperty("id"));

    assert.equal((await openAt(env, T0 + 3601, cookie, options)).error, "session rolling timeout exceeded");
    const reopened = await openAt(env, T0 + 3601, rolled, options);
    assert.equal(reopened.exists, true);
    assert.deepEqual(reopened.session.getData(), { k: "v" });
  });

  it("rolls once more than ceil(0.75 × rolling_timeout) has elapsed, as the peer's refresh() does", async () => {
    // session.lua declares `local floor = math.ceil`, so its refresh() threshold is ceil(0.75 × rolling).
    const env = createEnv();
    const options = { ...APP, idling_timeout: 0, rolling_timeout: 1001 }; // 0.75 × 1001 = 750.75
    const { cookie } = await mint(env, options);
    const atThreshold = await startAt(env, T0 + 751, cookie, options);
    assert.equal(atThreshold.exists, true);
    assert.equal(atThreshold.refreshed, false, "751 > ceil(750.75) = 751 is false: the peer does not re-save yet");
    const started = await startAt(env, T0 + 752, cookie, options);
    assert.equal(started.refreshed, true, "752 > 751: re-saved with a new id");
    assert.notDeepEqual(headerOf(nextCookie(started.exchange, cookie)).sid, headerOf(cookie).sid);
  });

  it("session.refresh() and session.touch() directly", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, APP);
    const opened = await openAt(env, T0 + 30, cookie, APP);
    assert.deepEqual(await opened.session.refresh(), { ok: true, refreshed: false });
    assert.deepEqual(opened.session.touch(), { ok: true });
    assert.equal(headerOf(nextCookie(opened.exchange, cookie)).idlingOffset, 30);
  });
});

describe("audiences", () => {
  const A: SessionOptions = { secret: SECRET, audience: "app-a" };
  const B: SessionOptions = { secret: SECRET, audience: "app-b" };

  it("another audience's cookie: 'missing session audience', but a save writes both; logout one keeps the other; the last destroys", async () => {
    const env = createEnv();
    const { cookie: c1 } = await mint(env, A, { a: 1 }, { subject: "alice" });

    const missing = await openAt(env, T0 + 10, c1, B);
    assert.equal(missing.exists, false);
    assert.equal(missing.error, "missing session audience");
    assert.equal(missing.session.getAudience(), "app-b");
    assert.deepEqual(missing.session.getData(), {});
    missing.session.set("b", 2);
    missing.session.setSubject("alice");
    assert.equal((await missing.session.save()).ok, true);
    const c2 = nextCookie(missing.exchange, c1);
    assert.equal(headerOf(c2).creationTime, T0, "the old cookie's creation time is kept");
    assert.deepEqual(
      JSON.parse(refOpen(refIkm(SECRET), headerOf(c2), cookieValueIn(c2, "session")!.substring(110))),
      [
        [{ a: 1 }, "app-a", "alice"],
        [{ b: 2 }, "app-b", "alice"],
      ],
    );

    const openA = await openAt(env, T0 + 20, c2, A);
    assert.deepEqual(openA.session.getData(), { a: 1 });
    const openB = await openAt(env, T0 + 20, c2, B);
    assert.deepEqual(openB.session.getData(), { b: 2 });

    env.clock.now = T0 + 30;
    const logoutExchange = env.request(c2);
    const loggedOut = await env.library.logout(logoutExchange, A);
    assert.deepEqual(loggedOut, { ok: true, exists: true, loggedOut: true, error: undefined });
    const sessionLine = setCookieLine(logoutExchange.responseCookies, "session");
    assert.ok(sessionLine && !isExpiredLine(sessionLine), "the cookie is re-issued, not expired");
    const c3 = nextCookie(logoutExchange, c2);
    assert.equal((await openAt(env, T0 + 40, c3, A)).error, "missing session audience");
    const stillB = await openAt(env, T0 + 40, c3, B);
    assert.equal(stillB.exists, true);
    assert.deepEqual(stillB.session.getData(), { b: 2 });

    env.clock.now = T0 + 50;
    const lastExchange = env.request(c3);
    const last = await env.library.logout(lastExchange, B);
    assert.equal(last.loggedOut, true);
    const expired = setCookieLine(lastExchange.responseCookies, "session")!;
    assert.ok(isExpiredLine(expired), expired);
    assert.equal(expired, "session=; Path=/; SameSite=Lax; HttpOnly; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0");
    assert.equal(nextCookie(lastExchange, c3), "");
  });

  it("enforce_same_subject drops other subjects' audiences on save", async () => {
    const env = createEnv();
    const { cookie: c1 } = await mint(env, A, { a: 1 }, { subject: "alice" });
    const opened = await openAt(env, T0 + 1, c1, { ...B, enforce_same_subject: true });
    assert.equal(opened.error, "missing session audience");
    opened.session.setSubject("bob");
    assert.equal((await opened.session.save()).ok, true);
    const c2 = nextCookie(opened.exchange, c1);
    assert.equal((await openAt(env, T0 + 2, c2, A)).error, "missing session audience");
    const bob = await openAt(env, T0 + 2, c2, B);
    assert.equal(bob.session.getSubject(), "bob");
  });

  it("enforce_same_subject keeps audiences of the same subject, and without it different subjects stay", async () => {
    const env = createEnv();
    const { cookie: c1 } = await mint(env, A, { a: 1 }, { subject: "alice" });
    const same = await openAt(env, T0 + 1, c1, { ...B, enforce_same_subject: true });
    same.session.setSubject("alice");
    assert.equal((await same.session.save()).ok, true);
    assert.equal((await openAt(env, T0 + 2, nextCookie(same.exchange, c1), A)).exists, true);

    const other = await openAt(env, T0 + 1, c1, B);
    other.session.setSubject("bob");
    assert.equal((await other.session.save()).ok, true);
    const both = nextCookie(other.exchange, c1);
    assert.equal((await openAt(env, T0 + 2, both, A)).session.getSubject(), "alice");
    assert.equal((await openAt(env, T0 + 2, both, B)).session.getSubject(), "bob");
  });
});

describe("remember cookie", () => {
  const R: SessionOptions = { secret: SECRET, audience: "app", remember: true, remember_safety: "None" };

  function httpDate(unixSeconds: number): string {
    return new Date(unixSeconds * 1000).toUTCString();
  }

  it("remember=true also saves a 'remember' cookie with Expires and Max-Age (remember_rolling_timeout)", async () => {
    const env = createEnv();
    const { exchange } = await mint(env, R, { a: 1 });
    assert.deepEqual(setCookieNames(exchange.responseCookies).sort(), ["remember", "session"]);
    const line = setCookieLine(exchange.responseCookies, "remember")!;
    assert.ok(line.includes("; Path=/; SameSite=Lax; HttpOnly"), line);
    assert.ok(line.includes("; Max-Age=604800"), line);
    assert.ok(line.includes("; Expires=" + httpDate(T0 + 604800)), line);
    assert.ok(!/Max-Age|Expires/.test(setCookieLine(exchange.responseCookies, "session")!), "the session cookie is a browser-session cookie");
  });

  it("the default remember_safety (Medium) round-trips", async () => {
    const env = createEnv();
    const options = { secret: SECRET, remember: true };
    const { cookie } = await mint(env, options, { m: 1 });
    const onlyRemember = "remember=" + cookieValueIn(cookie, "remember");
    const opened = await openAt(env, T0 + 5, onlyRemember, options);
    assert.equal(opened.exists, true);
    assert.deepEqual(opened.session.getData(), { m: 1 });
  });

  it("only the remember cookie present: open restores the session and issues both cookies", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, R, { a: 1 }, { subject: "john" });
    const onlyRemember = "remember=" + cookieValueIn(cookie, "remember");
    const opened = await openAt(env, T0 + 1000, onlyRemember, R);
    assert.equal(opened.error, undefined);
    assert.equal(opened.exists, true);
    assert.deepEqual(opened.session.getData(), { a: 1 });
    assert.equal(opened.session.getSubject(), "john");
    assert.deepEqual(setCookieNames(opened.exchange.responseCookies).sort(), ["remember", "session"]);
    const next = nextCookie(opened.exchange, onlyRemember);
    assert.equal(headerOf(next, "remember").creationTime, T0, "the remember cookie keeps its creation time");
    assert.notDeepEqual(headerOf(next, "remember").sid, headerOf(cookie, "remember").sid);
    assert.equal(headerOf(next, "session").creationTime, T0 + 1000, "a fresh session cookie");
    const plain = await openAt(env, T0 + 1001, "session=" + cookieValueIn(next, "session"), { ...R, remember: false });
    assert.equal(plain.exists, true);
    assert.deepEqual(plain.session.getData(), { a: 1 });
  });

  it("an idle-expired session cookie is replaced from the remember cookie", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, R, { a: 1 });
    const opened = await openAt(env, T0 + 2000, cookie, R);
    assert.equal(opened.exists, true);
    assert.deepEqual(opened.session.getData(), { a: 1 });
    assert.equal(headerOf(nextCookie(opened.exchange, cookie)).creationTime, T0 + 2000);
  });

  it("a valid session cookie without our audience: 'missing session audience', the remember cookie is not tried", async () => {
    const env = createEnv();
    const { cookie: forB } = await mint(env, { ...R, audience: "app-b" }, { b: 1 });
    const { cookie: forA } = await mint(env, { ...R, audience: "app-a" }, { a: 1 });
    // The browser holds app-a's session cookie and app-b's remember cookie.
    const header = "session=" + cookieValueIn(forA, "session") + "; remember=" + cookieValueIn(forB, "remember");
    const opened = await openAt(env, T0 + 5, header, { ...R, audience: "app-b" });
    assert.equal(opened.exists, false);
    assert.equal(opened.error, "missing session audience");
    assert.deepEqual(opened.exchange.responseCookies, [], "nothing restored from the remember cookie");
  });

  it("Max-Age of a remember cookie never outlives its absolute window; Expires agrees with Max-Age", async () => {
    const env = createEnv();
    const options = { ...R, remember_absolute_timeout: 1000 };
    const { exchange, cookie } = await mint(env, options);
    const line = setCookieLine(exchange.responseCookies, "remember")!;
    assert.ok(line.endsWith("; Expires=" + httpDate(T0 + 1000) + "; Max-Age=1000"), line);
    // Re-issued 400 s later (restored from the remember cookie): 600 s are left.
    const opened = await openAt(env, T0 + 400, "remember=" + cookieValueIn(cookie, "remember"), options);
    assert.equal(opened.exists, true);
    const again = setCookieLine(opened.exchange.responseCookies, "remember")!;
    assert.ok(again.endsWith("; Expires=" + httpDate(T0 + 1000) + "; Max-Age=600"), again);
    assert.equal((await openAt(env, T0 + 1001, "remember=" + cookieValueIn(cookie, "remember"), options)).exists, false);
  });

  it("without remember in the options, the remember cookie is not used", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, R, { a: 1 });
    const opened = await openAt(env, T0 + 5, "remember=" + cookieValueIn(cookie, "remember"), { ...R, remember: false });
    assert.equal(opened.exists, false);
    assert.equal(opened.error, "missing session cookie");
  });

  it("an expired remember cookie does not restore", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, R);
    const onlyRemember = "remember=" + cookieValueIn(cookie, "remember");
    assert.equal((await openAt(env, T0 + 604800, onlyRemember, R)).exists, true);
    const late = await openAt(env, T0 + 604801, onlyRemember, R);
    assert.equal(late.exists, false);
    assert.deepEqual(late.exchange.responseCookies, []);
  });

  it("setRemember(false): FLAG_FORGET in the session cookie, no remember cookie on later saves", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, R, { a: 1 });
    const opened = await openAt(env, T0 + 5, cookie, R);
    assert.equal(opened.session.getRemember(), true);
    opened.session.setRemember(false);
    assert.equal(opened.session.getRemember(), false);
    assert.equal((await opened.session.save()).ok, true);
    assert.deepEqual(setCookieNames(opened.exchange.responseCookies), ["session"]);
    const c2 = nextCookie(opened.exchange, cookie);
    assert.equal(headerOf(c2).flags & REF_FLAG_FORGET, REF_FLAG_FORGET);

    const later = await openAt(env, T0 + 10, c2, R);
    assert.equal(later.exists, true);
    assert.equal(later.session.getRemember(), false, "the forget flag travels in the cookie");
    assert.equal((await later.session.save()).ok, true);
    assert.deepEqual(setCookieNames(later.exchange.responseCookies), ["session"]);
    assert.equal(headerOf(nextCookie(later.exchange, c2)).flags & REF_FLAG_FORGET, REF_FLAG_FORGET);
  });

  it("destroy expires the session and the remember cookies", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, R);
    env.clock.now = T0 + 5;
    const exchange = env.request(cookie);
    const destroyed = await env.library.destroy(exchange, R);
    assert.deepEqual(destroyed, { ok: true, exists: true, destroyed: true, error: undefined });
    assert.ok(isExpiredLine(setCookieLine(exchange.responseCookies, "session")));
    assert.ok(isExpiredLine(setCookieLine(exchange.responseCookies, "remember")));
    assert.equal(nextCookie(exchange, cookie), "");
    assert.equal(destroyed.ok && exchange.responseCookies.length, 2);
  });
});

describe("key rotation", () => {
  it("a cookie sealed with secret A opens with {secret: B, secret_fallbacks: [A]}; start() re-seals it under B", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, { secret: "A", audience: "app" }, { k: 1 });
    const rotated: SessionOptions = { secret: "B", secret_fallbacks: ["Z", "A"], audience: "app" };

    assert.equal((await openAt(env, T0 + 1, cookie, { secret: "B", audience: "app" })).error, "invalid session message authentication code");
    const opened = await openAt(env, T0 + 1, cookie, rotated);
    assert.equal(opened.exists, true);
    assert.deepEqual(opened.session.getData(), { k: 1 });

    const started = await startAt(env, T0 + 1, cookie, rotated);
    assert.equal(started.refreshed, true, "opened by a fallback key: re-saved even before touch_threshold");
    const resealed = nextCookie(started.exchange, cookie);
    const withB = await openAt(env, T0 + 2, resealed, { secret: "B", audience: "app" });
    assert.equal(withB.exists, true);
    assert.deepEqual(withB.session.getData(), { k: 1 });
    assert.equal((await openAt(env, T0 + 2, resealed, { secret: "A", audience: "app" })).error, "invalid session message authentication code");
    assert.equal(headerOf(resealed).creationTime, T0);
  });

  it("session.refresh() re-seals a fallback-key session too; ikm_fallbacks work like secret_fallbacks", async () => {
    const env = createEnv();
    const oldIkm = new Uint8Array(32).fill(3);
    const newIkm = new Uint8Array(32).fill(4);
    const { cookie } = await mint(env, { ikm: oldIkm }, { k: 2 });
    const opened = await openAt(env, T0 + 1, cookie, { ikm: newIkm, ikm_fallbacks: [oldIkm] });
    assert.equal(opened.exists, true);
    assert.deepEqual(await opened.session.refresh(), { ok: true, error: undefined, refreshed: true });
    const resealed = nextCookie(opened.exchange, cookie);
    assert.equal((await openAt(env, T0 + 2, resealed, { ikm: newIkm })).exists, true);
    assert.equal((await openAt(env, T0 + 2, resealed, { ikm: oldIkm })).error, "invalid session message authentication code");
  });
});

describe("bind", () => {
  it('bind "ip": opening from another remote address fails the MAC', async () => {
    const env = createEnv();
    const options: SessionOptions = { ...APP, bind: ["ip"] };
    const { cookie } = await mint(env, options, { a: 1 }, { request: { remoteAddress: "10.0.0.1" } });
    env.clock.now = T0 + 1;
    const same = await env.library.open(env.request(cookie, { remoteAddress: "10.0.0.1" }), options);
    assert.equal(same.exists, true);
    const other = await env.library.open(env.request(cookie, { remoteAddress: "10.0.0.2" }), options);
    assert.equal(other.exists, false);
    assert.equal(other.error, "invalid session message authentication code");
    // The flag travels in the cookie: opening without bind configured still checks it.
    const unconfigured = await env.library.open(env.request(cookie, { remoteAddress: "10.0.0.2" }), APP);
    assert.equal(unconfigured.error, "invalid session message authentication code");
  });

  it('bind "user_agent" and "scheme"', async () => {
    const env = createEnv();
    const options: SessionOptions = { ...APP, bind: ["scheme", "user-agent"] };
    const request = { scheme: "https", userAgent: "UA/1" };
    const { cookie } = await mint(env, options, { a: 1 }, { request });
    assert.equal((await env.library.open(env.request(cookie, request), options)).exists, true);
    const http = await env.library.open(env.request(cookie, { ...request, scheme: "http" }), options);
    assert.equal(http.error, "invalid session message authentication code");
    const ua = await env.library.open(env.request(cookie, { ...request, userAgent: "UA/2" }), options);
    assert.equal(ua.error, "invalid session message authentication code");
  });

  it("a touch keeps the binding", async () => {
    const env = createEnv();
    const options: SessionOptions = { ...APP, bind: ["ip"] };
    const { cookie } = await mint(env, options, { a: 1 }, { request: { remoteAddress: "10.0.0.1" } });
    env.clock.now = T0 + 100;
    const exchange = env.request(cookie, { remoteAddress: "10.0.0.1" });
    const started = await env.library.start(exchange, options);
    assert.equal(started.refreshed, true);
    const touched = nextCookie(exchange, cookie);
    assert.equal((await env.library.open(env.request(touched, { remoteAddress: "10.0.0.1" }), options)).exists, true);
    assert.equal((await env.library.open(env.request(touched, { remoteAddress: "10.0.0.9" }), options)).exists, false);
  });
});

describe("chunking", () => {
  const C: SessionOptions = { secret: SECRET, compression_threshold: 0 };
  const big = { blob: "x".repeat(7000) };

  it("data for 3 chunks: session, session2, session3, each name=value ≤ 4096; reopens; small data expires the stale chunks", async () => {
    const env = createEnv();
    const { cookie, exchange } = await mint(env, C, big);
    assert.deepEqual(setCookieNames(exchange.responseCookies), ["session", "session2", "session3"]);
    for (const line of exchange.responseCookies) {
      const pair = line.split(";")[0];
      assert.ok(pair.length <= 4096, pair.substring(0, 10) + " is " + pair.length);
      assert.ok(line.endsWith("; Path=/; SameSite=Lax; HttpOnly"));
    }
    assert.equal(exchange.responseCookies[0].split(";")[0].length, 4096, "the first chunk is filled up");
    assert.equal(exchange.responseCookies[1].split(";")[0].length, 4096);
    const h = headerOf(cookie);
    const payload = ["session", "session2", "session3"].map((n, i) => (i ? cookieValueIn(cookie, n)! : cookieValueIn(cookie, n)!.substring(110))).join("");
    assert.equal(payload.length, h.dataSize);
    assert.deepEqual(JSON.parse(refOpen(refIkm(SECRET), h, payload)), [[big, "default"]]);

    const opened = await openAt(env, T0 + 1, cookie, C);
    assert.equal(opened.exists, true);
    assert.deepEqual(opened.session.getData(), big);

    opened.session.setData({ small: true });
    assert.equal((await opened.session.save()).ok, true);
    const lines = opened.exchange.responseCookies;
    assert.ok(!isExpiredLine(setCookieLine(lines, "session")));
    assert.ok(isExpiredLine(setCookieLine(lines, "session2")), "stale chunk 2 expired");
    assert.ok(isExpiredLine(setCookieLine(lines, "session3")), "stale chunk 3 expired");
    const small = nextCookie(opened.exchange, cookie);
    assert.equal(cookieValueIn(small, "session2"), undefined);
    assert.equal(cookieValueIn(small, "session3"), undefined);
    const reopened = await openAt(env, T0 + 2, small, C);
    assert.deepEqual(reopened.session.getData(), { small: true });
  });

  it("destroy expires every chunk", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, C, big);
    const exchange = env.request(cookie);
    assert.equal((await env.library.destroy(exchange, C)).destroyed, true);
    assert.deepEqual(setCookieNames(exchange.responseCookies), ["session", "session2", "session3"]);
    assert.ok(exchange.responseCookies.every(isExpiredLine));
  });

  it("destroying a chunked session saved in the same request expires every chunk it set", async () => {
    const env = createEnv();
    const exchange = env.request();
    const session = env.library.new(exchange, C);
    session.setData(big);
    assert.equal((await session.save()).ok, true);
    assert.deepEqual(setCookieNames(exchange.responseCookies), ["session", "session2", "session3"]);
    assert.equal((await session.destroy()).ok, true);
    assert.deepEqual(setCookieNames(exchange.responseCookies), ["session", "session2", "session3"]);
    assert.ok(exchange.responseCookies.every(isExpiredLine), JSON.stringify(exchange.responseCookies.map((l) => l.substring(0, 20))));
  });

  it("stale chunk cookies the request carries beyond the session's own are expired on save and on destroy", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, C, { small: 1 });
    const header = cookie + "; session2=stale; session3=stale";
    const saved = await openAt(env, T0 + 1, header, C);
    assert.equal(saved.exists, true);
    assert.equal((await saved.session.save()).ok, true);
    assert.ok(isExpiredLine(setCookieLine(saved.exchange.responseCookies, "session2")));
    assert.ok(isExpiredLine(setCookieLine(saved.exchange.responseCookies, "session3")));
    env.clock.now = T0 + 2;
    const exchange = env.request(header);
    assert.equal((await env.library.destroy(exchange, C)).destroyed, true);
    assert.deepEqual(setCookieNames(exchange.responseCookies), ["session", "session2", "session3"]);
    assert.ok(exchange.responseCookies.every(isExpiredLine));
  });

  it("a touch re-sends the first chunk only, and the chunked session still opens", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, C, big);
    const started = await startAt(env, T0 + 100, cookie, C);
    assert.equal(started.refreshed, true);
    assert.deepEqual(setCookieNames(started.exchange.responseCookies), ["session"]);
    const touched = nextCookie(started.exchange, cookie);
    assert.deepEqual((await openAt(env, T0 + 101, touched, C)).session.getData(), big);
  });

  it("data too big for 9 chunks: 'cookie size limit exceeded' and no Set-Cookie", async () => {
    const env = createEnv();
    const exchange = env.request();
    const session = env.library.new(exchange, C);
    session.set("blob", "x".repeat(40000));
    const saved = await session.save();
    assert.deepEqual(saved, { ok: false, error: "cookie size limit exceeded" });
    assert.deepEqual(exchange.responseCookies, []);
  });

  it("with compression on, large compressible data fits where it would not uncompressed", async () => {
    const env = createEnv();
    const { cookie, exchange } = await mint(env, { secret: SECRET }, { blob: "x".repeat(40000) });
    assert.deepEqual(setCookieNames(exchange.responseCookies), ["session"]);
    assert.equal((await openAt(env, T0 + 1, cookie, { secret: SECRET })).session.get("blob"), "x".repeat(40000));
  });
});

describe("data keys and the cookie info store", () => {
  it('info.set stores "@key" in the data; set("@x") is stored as "$@x"', async () => {
    const env = createEnv();
    const exchange = env.request();
    const session = env.library.new(exchange, APP);
    session.info.set("role", "admin");
    session.set("@x", 5);
    session.set("plain", 1);
    assert.deepEqual(session.getData(), { "@role": "admin", "$@x": 5, plain: 1 });
    assert.equal(session.info.get("role"), "admin");
    assert.equal(session.get("@x"), 5);
    assert.equal(session.info.get("x"), undefined);
    assert.equal((await session.save()).ok, true);

    const cookie = nextCookie(exchange);
    const json = JSON.parse(refOpen(refIkm(SECRET), headerOf(cookie), cookieValueIn(cookie, "session")!.substring(110)));
    assert.deepEqual(json, [[{ "@role": "admin", "$@x": 5, plain: 1 }, "app"]]);

    const opened = await openAt(env, T0 + 1, cookie, APP);
    assert.equal(opened.session.info.get("role"), "admin");
    assert.equal(opened.session.get("@x"), 5);
    assert.equal(opened.session.get("@role"), undefined, 'get("@role") reads "$@role"');
  });

  it("info.save() saves the session in cookie mode, and refuses on a new session", async () => {
    const env = createEnv();
    const fresh = env.library.new(env.request(), APP);
    assert.deepEqual(await fresh.info.save(), { ok: false, error: "unable to save session info on nonexistent session" });
    const { cookie } = await mint(env, APP, { a: 1 });
    const opened = await openAt(env, T0 + 1, cookie, APP);
    opened.session.info.set("k", "v");
    assert.equal((await opened.session.info.save()).ok, true);
    const after = await openAt(env, T0 + 2, nextCookie(opened.exchange, cookie), APP);
    assert.equal(after.session.info.get("k"), "v");
  });
});

describe("request and response headers", () => {
  it("setHeaders() with request_headers [id, subject, timeout]", async () => {
    const env = createEnv();
    const options: SessionOptions = { ...APP, request_headers: ["id", "subject", "timeout"] };
    const { cookie } = await mint(env, options, { a: 1 }, { subject: "john" });
    const opened = await openAt(env, T0 + 100, cookie, options);
    assert.deepEqual(opened.session.setHeaders(), { ok: true });
    const id = opened.exchange.requestHeaders["Session-Id"];
    assert.equal(id, b64u(headerOf(cookie).sid));
    assert.deepEqual(opened.exchange.requestHeaders, { "Session-Id": id, "Session-Subject": "john", "Session-Timeout": "800" });
    assert.deepEqual(opened.exchange.responseHeaders, {}, "no response_headers configured");
  });

  it("setRequestHeaders / setResponseHeaders with explicit properties (list or arguments)", async () => {
    const env = createEnv();
    const options: SessionOptions = { ...APP, response_headers: ["audience"] };
    const { cookie } = await mint(env, options, { a: 1 });
    const opened = await openAt(env, T0 + 100, cookie, options);
    const requestHeaders: { [name: string]: string } = opened.exchange.requestHeaders;
    const responseHeaders: { [name: string]: string } = opened.exchange.responseHeaders;
    assert.equal(opened.session.setResponseHeaders().ok, true);
    assert.deepEqual({ ...responseHeaders }, { "Session-Audience": "app" });
    assert.equal(opened.session.setRequestHeaders(["idling-timeout", "rolling-timeout"]).ok, true);
    assert.equal(opened.session.setRequestHeaders("absolute-timeout").ok, true);
    assert.deepEqual({ ...requestHeaders }, {
      "Session-Idling-Timeout": "800",
      "Session-Rolling-Timeout": "3500",
      "Session-Absolute-Timeout": "86300",
    });
    assert.equal(opened.session.setResponseHeaders("timeout", "subject").ok, true);
    assert.equal(responseHeaders["Session-Timeout"], "800");
    assert.equal("Session-Subject" in responseHeaders, false, "no subject, no header");
    assert.equal(opened.session.setHeaders("id").ok, true);
    assert.match(requestHeaders["Session-Id"], /^[A-Za-z0-9_-]{43}$/);
    assert.equal(requestHeaders["Session-Id"], responseHeaders["Session-Id"]);
  });
});

describe("the loggable id", () => {
  /** Independently: base64url of the first 16 bytes of SHA-256 of the session id. */
  function referenceLoggableId(cookieHeader: string): string {
    return b64u(createHash("sha256").update(headerOf(cookieHeader).sid).digest().subarray(0, 16));
  }

  it("is the session id's, opened (cold, then from the verified cache) and after a save under a new id", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, APP);
    for (let i = 0; i < 2; i++) {
      const opened = await openAt(env, T0 + 1, cookie, APP);
      assert.equal(opened.exists, true);
      assert.equal(opened.session.loggableId(), referenceLoggableId(cookie), "request " + (i + 1));
    }
    const opened = await openAt(env, T0 + 2, cookie, APP);
    assert.ok((await opened.session.save()).ok);
    const saved = nextCookie(opened.exchange, cookie);
    assert.notEqual(referenceLoggableId(saved), referenceLoggableId(cookie));
    assert.equal(opened.session.loggableId(), referenceLoggableId(saved));
    assert.equal(env.library.new(env.request(undefined), APP).loggableId(), undefined, "no session, no id");
  });
});

describe("clearRequestCookie", () => {
  it("removes the session, its chunks and the remember cookies, keeps the others", async () => {
    const env = createEnv();
    const options: SessionOptions = { secret: SECRET, compression_threshold: 0, remember: true, remember_safety: "None" };
    const { cookie } = await mint(env, options, { blob: "y".repeat(7000) });
    const names = cookie.split("; ").map((p) => p.split("=")[0]);
    assert.deepEqual(names.sort(), ["remember", "remember2", "remember3", "session", "session2", "session3"]);
    const header = "a=1; " + cookie + "; b=2; sessionx=3";
    const opened = await openAt(env, T0 + 1, header, options);
    assert.equal(opened.exists, true);
    assert.deepEqual(opened.session.clearRequestCookie(), { ok: true });
    assert.equal(opened.exchange.requestCookieHeader, "a=1; b=2; sessionx=3");
  });

  it("keeps the remember cookie when remember is off, and drops the header when nothing is left", async () => {
    const env = createEnv();
    const { cookie } = await mint(env, APP);
    const opened = await openAt(env, T0 + 1, cookie + "; remember=abc", APP);
    opened.session.clearRequestCookie();
    assert.equal(opened.exchange.requestCookieHeader, "remember=abc");
    const alone = await openAt(env, T0 + 1, cookie, APP);
    alone.session.clearRequestCookie();
    assert.equal(alone.exchange.cookieHeader(), undefined);
  });
});

describe("closed sessions", () => {
  async function closedSession(how: "destroy" | "close" | "logout"): Promise<Session> {
    const env = createEnv();
    const { cookie } = await mint(env, APP);
    const { session } = await openAt(env, T0 + 1, cookie, APP);
    if (how === "destroy") assert.equal((await session.destroy()).ok, true);
    else if (how === "logout") assert.equal((await session.logout()).ok, true);
    else session.close();
    assert.equal(session.state, "closed");
    return session;
  }

  for (const how of ["destroy", "close", "logout"] as const) {
    it(`after ${how}(), every use throws`, async () => {
      const session = await closedSession(how);
      const uses: Array<[string, () => unknown]> = [
        ["getData", () => session.getData()],
        ["setData", () => session.setData({})],
        ["get", () => session.get("a")],
        ["set", () => session.set("a", 1)],
        ["getAudience", () => session.getAudience()],
        ["setAudience", () => session.setAudience("x")],
        ["getSubject", () => session.getSubject()],
        ["setSubject", () => session.setSubject("x")],
        ["getRemember", () => session.getRemember()],
        ["setRemember", () => session.setRemember(true)],
        ["getProperty", () => session.getProperty("id")],
        ["open", () => session.open()],
        ["save", () => session.save()],
        ["touch", () => session.touch()],
        ["refresh", () => session.refresh()],
        ["logout", () => session.logout()],
        ["destroy", () => session.destroy()],
        ["clearRequestCookie", () => session.clearRequestCookie()],
        ["setHeaders", () => session.setHeaders()],
        ["setRequestHeaders", () => session.setRequestHeaders()],
        ["setResponseHeaders", () => session.setResponseHeaders()],
        ["info.get", () => session.info.get("a")],
        ["info.set", () => session.info.set("a", 1)],
        ["info.save", () => session.info.save()],
      ];
      for (const [name, use] of uses) {
        await assert.rejects(async () => use(), /closed session/, name);
      }
    });
  }
});

describe("server-side storage (custom storage object)", () => {
  it("cookie is the 110-char header (flag 0x0001); a re-save keeps the old record for stale_ttl; destroy deletes the record", async () => {
    const env = createEnv();
    const storage = createMemoryStorage();
    const options: SessionOptions = { ...APP, storage, idling_timeout: 0 };
    const { cookie, exchange } = await mint(env, options, { a: 1 });
    const value = setCookieValue(exchange.responseCookies, "session")!;
    assert.equal(value.length, 110);
    const h1 = headerOf(cookie);
    assert.equal(h1.flags, REF_FLAG_STORAGE);
    const key1 = "session:" + b64u(h1.sid);
    assert.deepEqual(Object.keys(storage.records), [key1]);
    assert.equal(storage.records[key1].expires, T0 + 3600, "stored for the rolling timeout");

    const opened = await openAt(env, T0 + 100, cookie, options);
    assert.equal(opened.exists, true);
    assert.deepEqual(opened.session.getData(), { a: 1 });

    const rolled = await startAt(env, T0 + 2701, cookie, options);
    assert.equal(rolled.refreshed, true);
    const cookie2 = nextCookie(rolled.exchange, cookie);
    const key2 = "session:" + b64u(headerOf(cookie2).sid);
    assert.notEqual(key2, key1);
    assert.equal(storage.records[key1].expires, T0 + 2701 + 10, "old record kept for stale_ttl (10)");
    assert.ok(storage.records[key2]);

    assert.equal((await openAt(env, T0 + 2710, cookie, options)).exists, true, "the old cookie still works within stale_ttl");
    assert.equal((await openAt(env, T0 + 2711, cookie, options)).error, "unable to load session");

    env.clock.now = T0 + 2720;
    const destroyExchange = env.request(cookie2);
    assert.equal((await env.library.destroy(destroyExchange, options)).destroyed, true);
    assert.equal(storage.records[key2], undefined);
    assert.ok(isExpiredLine(setCookieLine(destroyExchange.responseCookies, "session")));
  });

  it("a storage header is refused in cookie mode and a cookie-mode cookie in storage mode ('invalid session flags')", async () => {
    const env = createEnv();
    const storage = createMemoryStorage();
    const { cookie: stored } = await mint(env, { ...APP, storage });
    assert.equal((await openAt(env, T0, stored, APP)).error, "invalid session flags");
    const { cookie: plain } = await mint(env, APP);
    assert.equal((await openAt(env, T0, plain, { ...APP, storage })).error, "invalid session flags");
  });

  it('set("@x") is stored as "@x" with a storage (no "$" escape), as the peer does', async () => {
    const env = createEnv();
    const session = env.library.new(env.request(), { ...APP, storage: createMemoryStorage() });
    session.set("@x", 1);
    assert.deepEqual(session.getData(), { "@x": 1 });
  });

  it("info store round trip: info.set + info.save, then reopen and info.get", async () => {
    const env = createEnv();
    const storage = createMemoryStorage();
    const options: SessionOptions = { ...APP, storage };
    const { cookie } = await mint(env, options, { a: 1 });
    const opened = await openAt(env, T0 + 1, cookie, options);
    opened.session.info.set("last_seen", { ip: "10.0.0.1", at: T0 + 1 });
    assert.equal(opened.session.info.get("last_seen") !== undefined, true);
    assert.deepEqual(await opened.session.info.save(), { ok: true });
    assert.deepEqual(opened.exchange.responseCookies, [], "an info save issues no cookie");
    assert.deepEqual(opened.session.getData(), { a: 1 }, "info is not in the data");

    const key = "session:" + b64u(headerOf(cookie).sid);
    const record = JSON.parse(storage.records[key].value);
    assert.equal(record.length, 2);
    assert.deepEqual(JSON.parse(Buffer.from(record[1], "base64url").toString("utf8")), { app: { last_seen: { ip: "10.0.0.1", at: T0 + 1 } } });

    const reopened = await openAt(env, T0 + 2, cookie, options);
    assert.equal(reopened.exists, true);
    assert.deepEqual(reopened.session.info.get("last_seen"), { ip: "10.0.0.1", at: T0 + 1 });
    assert.deepEqual(reopened.session.getData(), { a: 1 });
  });
});
