/**
 * The middleware of the Node package in each framework, against a real server on an ephemeral port:
 * Express (njs-session/express), Fastify (njs-session/fastify) and plain node:http (withSessions).
 * Each app logs in, reads the session back from the request, has its cookie re-issued on refresh, and
 * fails closed when the store cannot answer (a redis storage pointed at a port nobody listens on).
 */

import assert from "node:assert/strict";
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import express from "express";
import Fastify, { FastifyInstance } from "fastify";
// Express 4 and Fastify 4 as npm aliases (devDependencies): the middleware against the older majors too.
// @ts-expect-error express4 has no type declarations of its own (@types/express is 5's); used as 5's
import express4 from "express4";
import Fastify4 from "fastify4";
import { createSessions, NodeSessionOptions, Sessions, withSessions } from "../../src/node";
import { expressSessions } from "../../src/node/express";
import { fastifySessions } from "../../src/node/fastify";
import { configError, storeUnavailableError } from "../../src/core/errors";
import { freePort } from "../e2e/demo-server";
import { cookieHeader, request } from "../node/http-client";

const SECRET = "node-middleware-test-secret-41b7";
const T0 = 1_760_000_000;

/** What every app serves: /login (saves alice), /me (the session on the request), /app-cookie (a cookie of the app's own). */
interface App {
  port: number;
  close(): Promise<void>;
}

type Framework = (sessions: Sessions) => Promise<App>;

function listening(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

/** The same Express app on Express 5 and on Express 4 (npm alias express4): package.json's peer range takes both. */
function expressApp(createApp: typeof express): Framework {
  return async (sessions) => {
    const app = createApp();
    app.use(expressSessions(sessions));
    app.post("/login", async (req, res) => {
      req.session.setSubject("alice");
      req.session.setData({ via: "express" });
      const saved = await req.session.save();
      res.status(saved.ok ? 204 : 500).end();
    });
    app.get("/me", (req, res) => {
      res.status(req.sessionExists ? 200 : 401).json({ subject: req.session.getSubject() ?? null });
    });
    app.get("/app-cookie", (req, res) => {
      res.cookie("theme", "dark");
      res.status(200).json({ subject: req.session.getSubject() ?? null });
    });
    const server = createServer(app);
    const port = await listening(server);
    return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
  };
}

/** The same Fastify app on Fastify 5 and on Fastify 4 (npm alias fastify4), typed as 5's: the plugin uses what both have. */
function fastifyApp(createApp: typeof Fastify): Framework {
  return async (sessions) => {
    const app: FastifyInstance = createApp();
    await app.register(fastifySessions(sessions));
    app.post("/login", async (request, reply) => {
      request.session.setSubject("alice");
      request.session.setData({ via: "fastify" });
      const saved = await request.session.save();
      return reply.code(saved.ok ? 204 : 500).send();
    });
    app.get("/me", async (request, reply) => {
      return reply.code(request.sessionExists ? 200 : 401).send({ subject: request.session.getSubject() ?? null });
    });
    app.get("/app-cookie", async (request, reply) => {
      reply.header("set-cookie", "theme=dark; Path=/");
      return reply.send({ subject: request.session.getSubject() ?? null });
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
  };
}

const FRAMEWORKS: { [name: string]: Framework } = {
  express: expressApp(express),
  "express 4": expressApp(express4 as unknown as typeof express),
  fastify: fastifyApp(Fastify),
  "fastify 4": fastifyApp(Fastify4 as unknown as typeof Fastify),
  "node:http": async (sessions) => {
    const server = createServer(
      withSessions(sessions, async (req, res) => {
        if (req.url === "/login") {
          req.session.setSubject("alice");
          req.session.setData({ via: "node:http" });
          const saved = await req.session.save();
          res.statusCode = saved.ok ? 204 : 500;
          res.end();
          return;
        }
        // appendHeader: setHeader would replace the session's re-issued cookie (docs/node.md says so).
        if (req.url === "/app-cookie") res.appendHeader("Set-Cookie", "theme=dark; Path=/");
        res.statusCode = req.url === "/me" && !req.sessionExists ? 401 : 200;
        res.setHeader("Content-Type", "application/json");
        res.end(JSON.stringify({ subject: req.session.getSubject() ?? null }));
      }),
    );
    const port = await listening(server);
    return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
  },
};

for (const [name, framework] of Object.entries(FRAMEWORKS)) {
  describe(`${name} middleware`, () => {
    let clock = T0;
    let sessions: Sessions;
    let app: App;
    before(async () => {
      sessions = createSessions({ secret: SECRET, now: () => clock, log: () => {} });
      app = await framework(sessions);
    });
    after(async () => {
      await app.close();
      sessions.close();
    });

    it("no cookie: the request has an empty session, and the route decides (401)", async () => {
      const me = await request(app.port, "GET", "/me");
      assert.equal(me.status, 401);
      assert.deepEqual(JSON.parse(me.body), { subject: null });
      assert.deepEqual(me.setCookies, []);
    });

    it("login saves a session; the next request has it on the request", async () => {
      clock = T0;
      const login = await request(app.port, "POST", "/login");
      assert.equal(login.status, 204);
      const me = await request(app.port, "GET", "/me", { Cookie: cookieHeader(login.setCookies) });
      assert.equal(me.status, 200);
      assert.deepEqual(JSON.parse(me.body), { subject: "alice" });
    });

    it("a refresh re-issues the cookie, beside the app's own cookies", async () => {
      clock = T0;
      const cookie = cookieHeader((await request(app.port, "POST", "/login")).setCookies);
      clock = T0 + 120; // past touch_threshold (60 s)
      const answer = await request(app.port, "GET", "/app-cookie", { Cookie: cookie });
      assert.equal(answer.status, 200);
      assert.deepEqual(JSON.parse(answer.body), { subject: "alice" });
      const names = answer.setCookies.map((line) => line.split("=")[0]).sort();
      assert.deepEqual(names, ["session", "theme"]);
    });

    it("an expired or forged cookie is no session (401 from the route), not an error", async () => {
      clock = T0;
      const cookie = cookieHeader((await request(app.port, "POST", "/login")).setCookies);
      clock = T0 + 86400 + 1;
      assert.equal((await request(app.port, "GET", "/me", { Cookie: cookie })).status, 401);
      clock = T0;
      assert.equal((await request(app.port, "GET", "/me", { Cookie: cookie.slice(0, -4) + "AAAA" })).status, 401);
    });
  });

  describe(`${name} middleware: what a failure shows`, () => {
    /** What the store says when it fails: in the log at most, never in the answer. */
    const MARKER = "store-password-9c1d77e0";
    let failure: () => Error = () => new Error("unset");
    let sessions: Sessions;
    let app: App;
    let cookie: string;
    before(async () => {
      const storage = { get: () => { throw failure(); }, set: () => undefined, delete: () => undefined };
      sessions = createSessions({ secret: SECRET, storage: storage, log: () => {} });
      app = await framework(sessions);
      // A cookie whose record is in that storage, saved by a twin that can write.
      const writer = createSessions({ secret: SECRET, storage: { get: () => null, set: () => undefined, delete: () => undefined }, log: () => {} });
      const headers = { cookies: [] as string[], getHeader: () => headers.cookies, setHeader: (_: string, v: unknown) => void (headers.cookies = v as string[]), removeHeader: () => undefined };
      const session = writer.new({ headers: {}, socket: {} } as never, headers);
      session.setSubject("alice");
      assert.equal((await session.save()).ok, true);
      cookie = cookieHeader(headers.cookies);
    });
    after(async () => {
      await app.close();
      sessions.close();
    });

    it("an unavailable store is 503, a configuration error 500: the route never runs, the cause is not shown", async () => {
      const cases: Array<[() => Error, number]> = [
        [() => storeUnavailableError("vault 10.0.0.9:6379", "AUTH " + MARKER + " refused"), 503],
        [() => configError("storage password " + MARKER + " \u001b[2J"), 500],
      ];
      for (const [cause, status] of cases) {
        failure = cause;
        const answer = await request(app.port, "GET", "/me", { Cookie: cookie });
        assert.equal(answer.status, status, answer.body);
        for (const hidden of [MARKER, "alice", cookie.split("=")[1].slice(0, 40), "\u001b"]) assert.ok(!answer.body.includes(hidden), "the answer shows no " + JSON.stringify(hidden));
        assert.ok(!answer.setCookies.some((line) => line.includes(MARKER)));
      }
    });
  });

  describe(`${name} middleware fails closed`, () => {
    let sessions: Sessions;
    let app: App;
    before(async () => {
      const options: NodeSessionOptions = { secret: SECRET, storage: "redis", redis: { port: await freePort(), connect_timeout: 200 }, log: () => {} };
      sessions = createSessions(options);
      app = await framework(sessions);
    });
    after(async () => {
      await app.close();
      sessions.close();
    });

    it("a store that cannot answer: 503, the route never runs", async () => {
      // A cookie with the shape of a redis session (a header for a stored payload) so that opening reads the store.
      const minted = createSessions({ secret: SECRET, storage: { get: () => null, set: () => undefined, delete: () => undefined }, log: () => {} });
      const fakeResponse = { cookies: [] as string[], getHeader: () => fakeResponse.cookies, setHeader: (_: string, v: unknown) => void (fakeResponse.cookies = v as string[]), removeHeader: () => undefined };
      const session = minted.new({ headers: {}, socket: {} } as never, fakeResponse);
      session.setSubject("alice");
      assert.equal((await session.save()).ok, true);
      const answer = await request(app.port, "GET", "/me", { Cookie: cookieHeader(fakeResponse.cookies) });
      assert.equal(answer.status, 503, answer.body);
      assert.ok(!answer.body.includes("alice"));
    });
  });
}
