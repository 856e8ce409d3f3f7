/**
 * The Node package's own connections to the stores, against real servers (the rootfs's redis-server and
 * memcached; no nginx): TLS to Redis with the certificate verified against a CA of ours, refused as a
 * store outage when the CA or the name is wrong, taken unverified when ssl_verify is off; unix sockets
 * to Redis and memcached. The certificates are made at test time by openssl in the servers' directory
 * (a throwaway CA, a server certificate for "localhost", a second CA that signed nothing), and removed
 * at the end. Run through build/interop.sh (`npm run test:interop`), in its network namespace.
 *
 * Every store case goes through the middleware over node:http: a login saves (204), the cookie opens
 * (200 and the subject), and a store Node cannot reach (or will not trust) answers 503, as an
 * unreachable one does, for an open (the middleware's answer) and for a save (the route's).
 */

import assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import { createServer, Server } from "node:http";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { createSessions, isStoreUnavailable, NodeSessionOptions, Sessions, withSessions } from "../../src/node";
import { cookieHeader, request } from "../node/http-client";
import { RootfsServers, startRootfsServers } from "./rootfs-nginx";

const SECRET = "store-tls-secret-6a0f2c9e41";
const PASSWORD = "store-tls-password-93d1c07b";
const REDIS_PORT = 7401;
const REDIS_TLS_PORT = 7402;
const HTTP_PORT = 7410;
const SUBJECT = "tls@example.com";

/** The throwaway CAs and the server certificate, made in the rootfs (its openssl) before redis starts. */
const CERTIFICATES = [
  'T="$1/tls"; mkdir -p "$T"',
  'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=store-ca -keyout "$T/ca.key" -out "$T/ca.crt" 2>/dev/null',
  'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=other-ca -keyout "$T/other-ca.key" -out "$T/other-ca.crt" 2>/dev/null',
  'openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost -keyout "$T/server.key" -out "$T/server.csr" 2>/dev/null',
  "printf 'subjectAltName=DNS:localhost\\n' >\"$T/ext\"",
  'openssl x509 -req -in "$T/server.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 1 -extfile "$T/ext" -out "$T/server.crt" 2>/dev/null',
  'chmod 644 "$T"/*',
];

/** One redis with a plain port (the test's own look at the keys), a TLS port and a unix socket; one memcached on a socket. */
const STORES = [
  ...CERTIFICATES,
  `redis-server --port ${REDIS_PORT} --bind 127.0.0.1 --save '' --appendonly no --dir /tmp --requirepass ${PASSWORD}` +
    ` --tls-port ${REDIS_TLS_PORT} --tls-cert-file "$T/server.crt" --tls-key-file "$T/server.key" --tls-ca-cert-file "$T/ca.crt" --tls-auth-clients no` +
    ` --unixsocket "$1/redis.sock" --unixsocketperm 777 &`,
  'memcached -s "$1/memcached.sock" -a 777 -U 0 -u root -m 16 &',
].join("\n");

let servers: RootfsServers;
let http: Server;
let directory: string;
/** The sessions the HTTP server runs on, set by each case. */
let current: Sessions;
const logs: string[] = [];

function sessionsWith(storage: NodeSessionOptions): Sessions {
  return createSessions({ secret: SECRET, log: (level, message) => logs.push(level + " " + message), ...storage });
}

function redisTls(options: { [name: string]: unknown }): NodeSessionOptions {
  return { storage: "redis", redis: { host: "127.0.0.1", port: REDIS_TLS_PORT, password: PASSWORD, prefix: "tls", ssl: true, ...options } };
}

/** A command on redis's plain port, with the password: the store's own answer, no code of ours. */
function redisCommand(...words: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(REDIS_PORT, "127.0.0.1");
    let answer = "";
    socket.on("data", (chunk) => {
      answer += chunk.toString("utf8");
      if (/^\+OK\r\n(?:[+:-][^\r]*\r\n|\*[\s\S]*\r\n)$/.test(answer)) socket.end();
    });
    socket.on("end", () => resolve(answer.substring("+OK\r\n".length)));
    socket.on("error", reject);
    socket.write(`AUTH ${PASSWORD}\r\n${words.join(" ")}\r\n`);
    setTimeout(() => socket.end(), 2000);
  });
}

/** Logs in (the route saves a session), then opens it: the statuses and what the second answer read. */
async function loginThenOpen(): Promise<{ login: number; open: number; subject: string; cookie: string }> {
  const login = await request(HTTP_PORT, "POST", "/login");
  const cookie = cookieHeader(login.setCookies);
  const open = await request(HTTP_PORT, "GET", "/me", { cookie });
  return { login: login.status, open: open.status, subject: open.body, cookie };
}

/** The verified TLS set-up of the first case. */
const verified = () => redisTls({ ssl_verify: true, server_name: "localhost", ssl_trusted_certificate: `${directory}/tls/ca.crt` });

/** A cookie whose session is in redis, saved over `storage` (a set-up that works). */
async function cookieSavedOver(storage: NodeSessionOptions): Promise<string> {
  current = sessionsWith(storage);
  const seen = await loginThenOpen();
  current.close();
  assert.equal(seen.open, 200);
  return seen.cookie;
}

before(async () => {
  servers = await startRootfsServers({ name: "store-tls", stores: STORES, ports: [REDIS_PORT, REDIS_TLS_PORT], env: {} });
  directory = servers.directory;
  const deadline = Date.now() + 10000;
  while (!existsSync(`${directory}/memcached.sock`) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 50));
  http = createServer((req, res) =>
    withSessions(current, async (session, response) => {
      if (session.url === "/login") {
        session.session.setSubject(SUBJECT);
        // A save the store cannot take rejects with StoreUnavailable: 503, as the middleware answers for an open.
        const status = await session.session.save().then(
          (saved) => (saved.ok ? 204 : 500),
          (e: unknown) => (isStoreUnavailable(e) ? 503 : 500),
        );
        response.writeHead(status).end();
        return;
      }
      response.writeHead(session.sessionExists ? 200 : 401).end(session.session.getSubject() ?? "");
    })(req, res),
  );
  await new Promise<void>((done) => http.listen(HTTP_PORT, "127.0.0.1", done));
});

after(async () => {
  current?.close();
  await new Promise<void>((done) => (http ? http.close(() => done()) : done()));
  if (servers) await servers.stop();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

describe("Node to Redis over TLS (a real redis-server with a TLS port)", { timeout: 20000 }, () => {
  it("verified against our CA, with server_name: a login saves over TLS, the record is in the store, the cookie opens", async () => {
    current = sessionsWith(verified());
    const seen = await loginThenOpen();
    assert.equal(seen.login, 204);
    assert.equal(seen.open, 200);
    assert.equal(seen.subject, SUBJECT);
    assert.match(await redisCommand("KEYS", "tls:*"), /tls:session:[A-Za-z0-9_-]{43}/, "the record the TLS connection wrote");
    current.close();
  });

  it("the CA of nobody's certificate: the store is unavailable (503, logged as an outage), no secret in any message", async () => {
    const cookie = await cookieSavedOver(verified());
    logs.length = 0;
    current = sessionsWith(redisTls({ ssl_verify: true, server_name: "localhost", ssl_trusted_certificate: `${directory}/tls/other-ca.crt` }));
    assert.equal((await request(HTTP_PORT, "GET", "/me", { cookie })).status, 503);
    assert.ok(logs.some((line) => /^error \[session\] redis 127\.0\.0\.1:7402 unavailable: /.test(line)), logs.join("\n"));
    for (const line of logs) {
      assert.equal(line.includes(PASSWORD), false, "no password: " + line);
      assert.equal(line.includes(SECRET), false, "no secret: " + line);
    }
    current.close();
  });

  it("a server_name the certificate does not carry: 503", async () => {
    const cookie = await cookieSavedOver(verified());
    current = sessionsWith(redisTls({ ssl_verify: true, server_name: "redis.example", ssl_trusted_certificate: `${directory}/tls/ca.crt` }));
    assert.equal((await request(HTTP_PORT, "GET", "/me", { cookie })).status, 503);
    current.close();
  });

  it("ssl_verify without a CA of ours: the system's CAs do not know it, 503", async () => {
    current = sessionsWith(redisTls({ ssl_verify: true, server_name: "localhost" }));
    assert.equal((await request(HTTP_PORT, "POST", "/login")).status, 503);
    current.close();
  });

  it("ssl without ssl_verify (the peer's default) and ssl_verify: false: the untrusted server is taken", async () => {
    for (const options of [{}, { ssl_verify: false }]) {
      current = sessionsWith(redisTls(options));
      const seen = await loginThenOpen();
      assert.deepEqual([seen.login, seen.open, seen.subject], [204, 200, SUBJECT], JSON.stringify(options));
      current.close();
    }
  });

  it("plain text to the TLS port is no answer: 503 for the save, within the timeouts", async () => {
    current = sessionsWith({ storage: "redis", redis: { host: "127.0.0.1", port: REDIS_TLS_PORT, password: PASSWORD, read_timeout: 300 } });
    assert.equal((await request(HTTP_PORT, "POST", "/login")).status, 503);
    current.close();
  });
});

describe("Node to the stores over unix sockets", { timeout: 20000 }, () => {
  it("redis: socket = unix:/path, a session saved and opened", async () => {
    current = sessionsWith({ storage: "redis", redis: { socket: `unix:${directory}/redis.sock`, password: PASSWORD, prefix: "sock" } });
    const seen = await loginThenOpen();
    assert.deepEqual([seen.login, seen.open, seen.subject], [204, 200, SUBJECT]);
    assert.match(await redisCommand("KEYS", "sock:*"), /sock:session:[A-Za-z0-9_-]{43}/);
    current.close();
  });

  it("memcached: socket = /path, a session saved and opened", async () => {
    current = sessionsWith({ storage: "memcached", memcached: { socket: `${directory}/memcached.sock`, prefix: "sock" } });
    const seen = await loginThenOpen();
    assert.deepEqual([seen.login, seen.open, seen.subject], [204, 200, SUBJECT]);
    current.close();
  });

  it("a socket nobody listens on: 503 for a cookie that needs it", async () => {
    const cookie = await cookieSavedOver({ storage: "redis", redis: { socket: `${directory}/redis.sock`, password: PASSWORD, prefix: "sock" } });
    current = sessionsWith({ storage: "redis", redis: { socket: `${directory}/nobody.sock`, password: PASSWORD, prefix: "sock" } });
    assert.equal((await request(HTTP_PORT, "GET", "/me", { cookie })).status, 503);
    current.close();
  });
});

