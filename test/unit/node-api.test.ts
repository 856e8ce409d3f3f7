/**
 * The Node package's resty.session surface (src/node/sessions.ts) over a real node:http server on an
 * ephemeral port: what it mints is checked with the independent reference (test/support/
 * reference-crypto.ts), what the reference seals opens in it, options are refused with the core's
 * messages, and the caller's clock and random source take effect.
 */

import assert from "node:assert/strict";
import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { validateOptions } from "../../src/core/options";
import { createSessions, Sessions } from "../../src/node";
import { cookieHeader, request } from "../node/http-client";
import { refIkm, refOpen, refSeal, refSplitCookie } from "../support/reference-crypto";

const SECRET = "node-api-test-secret-5d1c0e7a";
const T0 = 1_760_000_000;

type Route = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

function listen(routes: { [path: string]: Route }): Promise<{ server: Server; port: number }> {
  const server = createServer((incoming, response) => {
    const route = routes[(incoming.url || "").split("?")[0]];
    if (!route) {
      response.statusCode = 404;
      response.end();
      return;
    }
    route(incoming, response).catch((e) => {
      response.statusCode = 500;
      response.end(String(e));
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as AddressInfo).port })));
}

describe("createSessions: options", () => {
  it("refuses what the core refuses, with the core's message", () => {
    for (const bad of [{ secret: SECRET, cookie_same_site: "Sometimes" }, { secret: SECRET, idling_timeout: -1 }, { secret: SECRET, no_such_option: 1 }]) {
      let coreMessage = "";
      try {
        validateOptions(bad);
      } catch (e) {
        coreMessage = (e as Error).message;
      }
      assert.ok(coreMessage, "the core refuses " + JSON.stringify(bad));
      assert.throws(() => createSessions(bad as never), (e: Error) => e.name === "ConfigError" && e.message === coreMessage);
    }
  });

  it("refuses nginx's shared memory at start: shm storage, registry_zone, verified_cache_zone", () => {
    assert.throws(() => createSessions({ secret: SECRET, storage: "shm", shm: { zone: "sessions" } }), /storage "shm" is nginx's shared memory/);
    assert.throws(() => createSessions({ secret: SECRET, registry_zone: "sessions" }), /registry_zone is nginx's shared memory/);
    assert.throws(() => createSessions({ secret: SECRET, verified_cache_zone: "njs_session_cache" }), /js_shared_dict_zone "njs_session_cache" \(verified_cache_zone\) is not declared/);
    createSessions({ secret: SECRET, verified_cache_zone: false }).close();
  });

  it("refuses a configuration without key material, and a clock that is not a function", () => {
    assert.throws(() => createSessions({}), /ConfigError|invalid session configuration/);
    assert.throws(() => createSessions({ secret: SECRET, now: 5 as never }), /now must be a function/);
  });
});

describe("createSessions over node:http", () => {
  let clock = T0;
  let sessions: Sessions;
  let port = 0;
  let server: Server;
  const logs: string[] = [];

  before(async () => {
    sessions = createSessions({ secret: SECRET, audience: "node", now: () => clock, log: (level, message) => logs.push(level + " " + message) });
    const routes: { [path: string]: Route } = {
      "/login": async (incoming, response) => {
        const session = sessions.new(incoming, response);
        session.setSubject("alice@example.com");
        session.setData({ plan: "gold" });
        const saved = await session.save();
        response.statusCode = saved.ok ? 204 : 500;
        response.end();
      },
      "/me": async (incoming, response) => {
        const started = await sessions.start(incoming, response);
        response.statusCode = started.exists ? 200 : 401;
        response.end(JSON.stringify({ subject: started.session.getSubject(), data: started.session.getData(), refreshed: started.refreshed, error: started.error }));
      },
      "/logout": async (incoming, response) => {
        const result = await sessions.logout(incoming, response);
        response.statusCode = result.ok ? 204 : 401;
        response.end();
      },
    };
    ({ server, port } = await listen(routes));
  });
  after(() => {
    server.close();
    sessions.close();
  });

  it("mints a cookie the reference opens: MAC, AES-GCM, data, audience, subject, creation time", async () => {
    clock = T0;
    const login = await request(port, "POST", "/login");
    assert.equal(login.status, 204);
    const line = login.setCookies.find((l) => l.startsWith("session="));
    assert.ok(line, "a session cookie");
    assert.match(line, /; HttpOnly/);
    const { header, payloadText } = refSplitCookie(line.split(";")[0].substring("session=".length));
    assert.equal(header.creationTime, T0);
    assert.deepEqual(JSON.parse(refOpen(refIkm(SECRET), header, payloadText)), [[{ plan: "gold" }, "node", "alice@example.com"]]);
  });

  it("opens a cookie the reference sealed (a session minted elsewhere)", async () => {
    clock = T0 + 10;
    const sealed = refSeal(refIkm(SECRET), Buffer.from(JSON.stringify([[{ from: "reference" }, "node", "bob"]])), { creationTime: T0 });
    const me = await request(port, "GET", "/me", { Cookie: "session=" + sealed });
    assert.equal(me.status, 200, me.body);
    assert.deepEqual(JSON.parse(me.body).subject, "bob");
    assert.deepEqual(JSON.parse(me.body).data, { from: "reference" });
  });

  it("as of a later time: within the idling timeout it opens, past it it does not", async () => {
    clock = T0;
    const cookie = cookieHeader((await request(port, "POST", "/login")).setCookies);
    clock = T0 + 900; // the default idling_timeout
    assert.equal((await request(port, "GET", "/me", { Cookie: cookie })).status, 200);
    clock = T0 + 901;
    const late = await request(port, "GET", "/me", { Cookie: cookie });
    assert.equal(late.status, 401);
    assert.equal(JSON.parse(late.body).error, "session idling timeout exceeded");
    assert.ok(logs.some((l) => l.includes("idling timeout exceeded")), "the rejection is logged (info)");
    assert.ok(!logs.some((l) => l.includes(cookie.substring(8, 60))), "the log holds no cookie");
  });

  it("start() re-issues the cookie when the touch threshold passed", async () => {
    clock = T0;
    const cookie = cookieHeader((await request(port, "POST", "/login")).setCookies);
    clock = T0 + 120;
    const me = await request(port, "GET", "/me", { Cookie: cookie });
    assert.equal(me.status, 200);
    assert.equal(JSON.parse(me.body).refreshed, true);
    assert.ok(me.setCookies.some((l) => l.startsWith("session=")));
  });

  it("bad cookies are no session, never an exception", async () => {
    clock = T0;
    for (const bad of ["session=", "session=garbage", "session=" + "A".repeat(5000), "session=\u0000\r\n"]) {
      const me = await request(port, "GET", "/me", { Cookie: encodeURI(bad) });
      assert.equal(me.status, 401, bad);
    }
  });

  it("logout clears the cookie", async () => {
    clock = T0;
    const cookie = cookieHeader((await request(port, "POST", "/login")).setCookies);
    const out = await request(port, "POST", "/logout", { Cookie: cookie });
    assert.equal(out.status, 204);
    assert.ok(out.setCookies.some((l) => /^session=;/.test(l) && /Expires=Thu, 01 Jan 1970|Max-Age=0/.test(l)), out.setCookies.join("\n"));
  });
});

describe("the caller's random source", () => {
  it("makes the session id; a wrong size fails loudly", async () => {
    let calls = 0;
    const sessions = createSessions({
      secret: SECRET,
      now: () => T0,
      random: (size) => {
        calls++;
        return new Uint8Array(size).fill(7);
      },
    });
    const { server, port } = await listen({
      "/login": async (incoming, response) => {
        const session = sessions.new(incoming, response);
        await session.save();
        response.end();
      },
    });
    try {
      const first = (await request(port, "POST", "/login")).setCookies[0];
      const { header } = refSplitCookie(first.split(";")[0].substring("session=".length));
      assert.ok(calls > 0);
      assert.deepEqual([...header.sid], new Array(32).fill(7));
    } finally {
      server.close();
    }
    const broken = createSessions({ secret: SECRET, random: () => new Uint8Array(3) });
    const fake = { headers: {}, socket: {} } as unknown as IncomingMessage;
    const headers = { getHeader: () => undefined, setHeader: () => undefined, removeHeader: () => undefined };
    await assert.rejects(broken.new(fake, headers).save(), /random\(32\) must return a Uint8Array of 32 bytes/);
  });
});
