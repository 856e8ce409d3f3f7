/**
 * End-to-end: the `npm start` demo (build/start.mjs, nginx/demo/) in a real browser.
 *
 * Starts the demo on free ports with a 3 s idling timeout, then drives Debian's Chromium
 * (build/ensure-chromium.sh installs it) through playwright-core: the login redirect, a wrong password,
 * a login and the identity headers the upstream app receives, the HttpOnly session cookie, the idling
 * timeout, "remember me", CSRF protection (the app's form posts with the token; a POST without it, a
 * GET logout and a form another site submits are refused), and logout through the form. The protected
 * page is saved to artifacts/demo-protected.png.
 *
 *   bash build/ensure-chromium.sh && node --import tsx --test test/e2e/demo.test.ts
 *
 * The steps run in order on one browser page; after the first failure the rest are skipped (they
 * would only fail for the same reason). The demo is always stopped, and its ports checked closed, in
 * `after`. Environment: CHROMIUM_PATH (/usr/bin/chromium), NJS_SESSION_E2E_START_TIMEOUT_MS (180000:
 * a first run builds and provisions the rootfs).
 */

import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type BrowserContext, type Cookie, type Page } from "playwright-core";
import { Demo, freePort, freePorts, REPO, startDemo, waitPortsClosed } from "./demo-server";

const IDLING_TIMEOUT = 3; // seconds: NJS_SESSION_DEMO_IDLING_TIMEOUT
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const START_TIMEOUT_MS = Number(process.env.NJS_SESSION_E2E_START_TIMEOUT_MS || 180_000);
const ARTIFACTS = join(REPO, "artifacts");
const SCREENSHOT = join(ARTIFACTS, "demo-protected.png");
const SERVER_LOG = join(ARTIFACTS, "demo-e2e-server.log");
const LOGIN_REDIRECT_PATH = "/login?return_to=%2Fapp%2F";

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

let demo: Demo | undefined;
/** Another site (another origin: same host, another port) whose page posts a form to the demo. */
let attacker: Server | undefined;
let attackerUrl = "";
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;
let base = "";
/** When the last login was submitted (ms): the idling timeout counts from there. */
let loggedInAt = 0;
let failed = false;

/** A test step that is skipped once an earlier step failed: the page would be in the wrong state. */
function step(name: string, body: () => Promise<void>): void {
  it(name, async (t) => {
    if (failed) {
      t.skip("an earlier step failed");
      return;
    }
    try {
      await body();
    } catch (e) {
      failed = true;
      throw e;
    }
  });
}

function path(): string {
  const url = new URL(page.url());
  return url.pathname + url.search;
}

async function cookie(name: string): Promise<Cookie | undefined> {
  return (await context.cookies(base)).find((c) => c.name === name);
}

/** The protected page's table: header name → value as the demo app received it. */
async function upstreamHeaders(): Promise<Map<string, string>> {
  const rows = await page.locator("table tr").evaluateAll((trs) =>
    trs.map((tr) => [tr.querySelector("th")?.textContent ?? "", tr.querySelector("td")?.textContent ?? ""]),
  );
  return new Map(rows.map(([name, value]) => [name, value] as [string, string]));
}

async function logIn(username: string, password: string, remember = false): Promise<void> {
  await page.fill("#username", username);
  await page.fill("#password", password);
  if (remember) await page.check("#remember");
  loggedInAt = Date.now();
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click("#login")]);
}

async function expectProtectedPage(subject: string): Promise<void> {
  assert.equal(path(), "/app/", "on the protected page");
  assert.equal((await page.textContent("#subject"))?.trim(), subject);
}

async function expectLoginPage(expectedPath: string): Promise<void> {
  assert.equal(path(), expectedPath);
  assert.equal(await page.isVisible("#username"), true, "the login form is shown");
  assert.equal(await page.isVisible("#logout"), false, "not the protected page");
}

describe("npm start demo in a browser", { timeout: START_TIMEOUT_MS + 60_000 }, () => {
  before(async () => {
    failed = true; // until the demo and the browser are up
    mkdirSync(ARTIFACTS, { recursive: true });
    rmSync(SCREENSHOT, { force: true }); // no picture from an earlier run
    assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: run bash build/ensure-chromium.sh`);
    const [port, appPort] = await freePorts();
    demo = await startDemo({ port, appPort, idlingTimeout: IDLING_TIMEOUT, startTimeoutMs: START_TIMEOUT_MS });
    base = demo.url;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 30_000,
      // No sandbox (root), and none of Chromium's own traffic to the outside (there is no outside here).
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.setDefaultNavigationTimeout(10_000);
    failed = false;
  });

  after(async () => {
    // Each part is stopped even if another part fails to; the first problem is reported at the end.
    const problems: unknown[] = [];
    try {
      await browser?.close();
    } catch (e) {
      problems.push(e);
    }
    await new Promise<void>((done) => (attacker ? attacker.close(() => done()) : done()));
    if (demo) {
      const stopped = await demo.stop();
      writeFileSync(SERVER_LOG, demo.output());
      if (failed) console.error(`\n--- demo output (${SERVER_LOG}) ---\n${demo.output()}`);
      try {
        assert.equal(stopped.killed, false, "the demo stopped on SIGTERM (it needed SIGKILL)");
        assert.equal(
          await waitPortsClosed([demo.port, demo.appPort], 5000),
          true,
          `nothing listens on ports ${demo.port} and ${demo.appPort} after the demo stopped`,
        );
      } catch (e) {
        problems.push(e);
      }
    }
    if (problems.length) throw problems[0];
  });

  step("an anonymous visit to /app/ is redirected to the login form", async () => {
    await page.goto(`${base}/app/`);
    await expectLoginPage(LOGIN_REDIRECT_PATH);
    assert.equal(await cookie("session"), undefined, "no session cookie yet");
  });

  step("a wrong password shows the error and makes no session", async () => {
    await logIn("ada", "not-the-password");
    await expectLoginPage(`/login?error=1&return_to=%2Fapp%2F`);
    assert.match((await page.textContent("#error")) ?? "", /Wrong password/);
    assert.equal(await cookie("session"), undefined, "no session cookie after a failed login");
  });

  step("logging in as ada lands on /app/ with the identity headers", async () => {
    await logIn("ada", "demo");
    await expectProtectedPage("ada");
    const headers = await upstreamHeaders();
    assert.equal(headers.get("Session-Subject"), "ada");
    assert.equal(headers.get("X-Session-Audience"), "demo");
    const timeout = Number(headers.get("Session-Timeout"));
    assert.ok(timeout > 0 && timeout <= IDLING_TIMEOUT, `Session-Timeout ${headers.get("Session-Timeout")} in (0, ${IDLING_TIMEOUT}]`);
    assert.equal((await page.textContent("#timeout"))?.trim(), headers.get("Session-Timeout"));
    assert.deepEqual(JSON.parse(headers.get("X-Session-Data") ?? "null"), { name: "ada", remember: "no" });
    // The app sees a loggable id, never the cookie (nor a piece of it), and no session cookie at all.
    const id = headers.get("Session-Id") ?? "";
    assert.match(id, /^\S{8,}$/, "Session-Id is present");
    const cookies = await context.cookies(base);
    assert.ok(cookies.length > 0, "the browser holds cookies");
    for (const c of cookies) {
      assert.notEqual(c.value, id, `Session-Id is not the value of cookie ${c.name}`);
      assert.ok(!c.value.includes(id), `Session-Id does not appear inside cookie ${c.name}`);
    }
    assert.equal(headers.get("Cookie (as the app receives it)"), "(none: session cookies removed)");
  });

  step("the session cookie is HttpOnly, Lax, and ends with the browser (not remembered)", async () => {
    const session = await cookie("session");
    assert.ok(session, "a session cookie");
    assert.equal(session.httpOnly, true, "HttpOnly");
    assert.equal(session.sameSite, "Lax");
    assert.equal(session.path, "/");
    assert.equal(session.expires, -1, "a browser-session cookie");
    assert.equal(await page.evaluate(() => document.cookie), "", "scripts cannot read it");
    assert.equal(await cookie("remember"), undefined, "no remember cookie without 'remember me'");
  });

  step(`a reload within the ${IDLING_TIMEOUT} s idling timeout keeps the session`, async () => {
    // The idling timeout counts in whole seconds from the login (the demo's touch threshold, 60 s,
    // is longer than the timeout, so requests do not extend it): the reload must come well within it.
    const since = Date.now() - loggedInAt;
    await page.reload();
    assert.equal(path(), "/app/", `still on the protected page after a reload ${since} ms after the login`);
    await expectProtectedPage("ada");
    assert.ok(since < (IDLING_TIMEOUT - 1) * 1000, `the reload came ${since} ms after the login: too late to test this`);
  });

  step("screenshot of the protected page → artifacts/demo-protected.png", async () => {
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  step(`after more than ${IDLING_TIMEOUT} s idle, a reload is sent back to the login form`, async () => {
    // Whole seconds on the server: IDLING_TIMEOUT + 1.2 s after the login is past it whatever the rounding.
    await sleep(Math.max(0, loggedInAt + (IDLING_TIMEOUT + 1.2) * 1000 - Date.now()));
    await page.reload();
    await expectLoginPage(LOGIN_REDIRECT_PATH);
  });

  step("logging in with 'remember me' sets a persistent remember cookie", async () => {
    await logIn("ada", "demo", true);
    await expectProtectedPage("ada");
    const headers = await upstreamHeaders();
    assert.deepEqual(JSON.parse(headers.get("X-Session-Data") ?? "null"), { name: "ada", remember: "yes" });
    assert.equal(headers.get("Cookie (as the app receives it)"), "(none: session cookies removed)");
    const remember = await cookie("remember");
    assert.ok(remember, "a remember cookie");
    assert.ok(remember.expires > Date.now() / 1000 + 3600, `the remember cookie has an expiry (${remember.expires})`);
    assert.equal(remember.httpOnly, true, "HttpOnly");
    assert.ok(await cookie("session"), "and a session cookie");
  });

  step("the app's form posts with the session's CSRF token", async () => {
    await page.goto(`${base}/app/`);
    await expectProtectedPage("ada");
    const field = await page.getAttribute("form[action='/app/note'] input[name=csrf_token]", "value");
    assert.match(field ?? "", /^[A-Za-z0-9_-]{43}$/, "a hidden csrf_token field");
    await page.fill("#note", "hello from the form");
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click("#save")]);
    assert.equal(path(), "/app/note");
    assert.equal((await page.textContent("#saved"))?.trim(), "hello from the form", "the app got the note (and the body after nginx read the token)");
  });

  step("a same-origin POST without the token is refused (403), with a wrong one too", async () => {
    // No named functions inside evaluate(): tsx's keepNames would reference a helper the page lacks.
    const statuses = await page.evaluate(async () => {
      const form = { "Content-Type": "application/x-www-form-urlencoded" };
      const missing = await fetch("/app/note", { method: "POST", headers: form, body: "note=no-token" });
      const wrong = await fetch("/app/note", { method: "POST", headers: { ...form, "X-CSRF-Token": "A".repeat(43) }, body: "note=x" });
      return [missing.status, await missing.text(), wrong.status];
    });
    assert.deepEqual(statuses, [403, "request refused: missing CSRF token\n", 403]);
  });

  step("logout by GET (an <img src=/logout> on any page) is refused, the session stays", async () => {
    const response = await page.goto(`${base}/logout`);
    assert.equal(response?.status(), 405);
    assert.equal(response?.headers()["allow"], "POST");
    await page.goto(`${base}/app/`);
    await expectProtectedPage("ada");
  });

  step("a form another site submits is refused (403), even with a token, and the session stays", async () => {
    // Another origin of the same site (127.0.0.1, another port): the SameSite=Lax cookie goes along,
    // so only nginx's check stands between this page and the app. Its form even carries a token.
    const target = `${base}/app/note`;
    attacker = createServer((_request, response) => {
      response.setHeader("Content-Type", "text/html; charset=utf-8");
      response.end(
        `<!doctype html><form id="forged" method="post" action="${target}">` +
          `<input name="note" value="forged"><input name="csrf_token" value="${"B".repeat(43)}"></form>` +
          `<script>document.getElementById("forged").submit()</script>`,
      );
    });
    const port = await freePort();
    await new Promise<void>((done) => attacker!.listen(port, "127.0.0.1", () => done()));
    attackerUrl = `http://127.0.0.1:${port}/`;
    const [response] = await Promise.all([
      page.waitForResponse((candidate) => candidate.url() === target && candidate.request().method() === "POST"),
      page.goto(attackerUrl),
    ]);
    assert.equal(response.status(), 403, "the forged POST is refused");
    assert.equal(await response.text(), "request refused: Origin does not match Host\n");
    await page.goto(`${base}/app/`);
    await expectProtectedPage("ada");
  });

  step("logging out goes back to /login and removes the session cookie", async () => {
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click("#logout")]);
    await expectLoginPage("/login");
    assert.equal(await cookie("session"), undefined, "the session cookie is gone");
    assert.equal(await cookie("remember"), undefined, "the remember cookie is gone");
    await page.goto(`${base}/app/`);
    await expectLoginPage(LOGIN_REDIRECT_PATH);
  });
});
