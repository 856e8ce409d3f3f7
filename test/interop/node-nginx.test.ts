/**
 * The same sessions in Node and in nginx, both ways, under both njs engines, for cookie, redis (a
 * single server, through Sentinel, a Cluster), memcached and file storage: a session an Express app (the Node package) saves opens in nginx's access check, and a
 * session nginx's login handler saves opens in the Express app. With the registry in Redis
 * (store_metadata), nginx's admin API lists Node's logins and Node refuses what it revokes. nginx and
 * redis-server are the rootfs's (rootfs-nginx.ts); run through build/interop.sh (`npm run test:interop`).
 *
 * Nothing here is compared with our own output: each side sees only what the other side produced, and
 * the subject and data it reads must be the ones the other side was given.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { createServer, Server } from "node:http";
import { AddressInfo, connect } from "node:net";
import { after, before, describe, it } from "node:test";
import express from "express";
import { createSessions, NodeSessionOptions, Sessions } from "../../src/node";
import { expressSessions } from "../../src/node/express";
import { freePort, isListening } from "../e2e/demo-server";
import { cookieHeader, request } from "../node/http-client";
import { runCli, runCliJson } from "../support/cli";
import { RootfsServers, startRootfsServers } from "./rootfs-nginx";

const SECRET = "interop-secret-0c5e93b1d7a2";
const NGINX_PORT = 18080;
const REDIS_PORT = 16379;
const MEMCACHED_PORT = 16211;
const SENTINEL_PORT = 26379;
const BRIDGE_FRONT = 17379;
const BRIDGE_RELAY = 17380;

interface StorageCase {
  /** session.json's storage options and createSessions' (the same, but for the secret's form). */
  options: { [name: string]: unknown };
  /** The stores to start in the rootfs (shell, rootfs-nginx.ts), and the ports they listen on. */
  stores?: string;
  ports?: number[];
}

const CLUSTER_PORTS = [17100, 17101, 17102];

/** redis-server on `port`, no persistence; `extra`: more arguments. */
function redisServer(port: number, extra = ""): string {
  return `redis-server --port ${port} --bind 127.0.0.1 --save '' --appendonly no --dir /tmp ${extra} &`;
}

const STORES = {
  redis: redisServer(REDIS_PORT),
  // Sentinel rewrites its configuration file: one of its own, in the rootfs's /tmp.
  sentinel: [
    redisServer(REDIS_PORT),
    `printf 'port ${SENTINEL_PORT}\\nbind 127.0.0.1\\nsentinel monitor mymaster 127.0.0.1 ${REDIS_PORT} 1\\n' >/tmp/sentinel.conf`,
    "redis-sentinel /tmp/sentinel.conf &",
  ].join("\n"),
  // Three masters, no replicas, formed before nginx starts (as t/170-redis-cluster.t does).
  cluster: [
    ...CLUSTER_PORTS.map((port) => redisServer(port, `--cluster-enabled yes --cluster-config-file /tmp/nodes-${port}.conf --cluster-node-timeout 2000`)),
    ...CLUSTER_PORTS.map((port) => `until redis-cli -p ${port} ping >/dev/null 2>&1; do sleep 0.05; done`),
    `redis-cli --cluster create ${CLUSTER_PORTS.map((port) => "127.0.0.1:" + port).join(" ")} --cluster-replicas 0 --cluster-yes >/dev/null`,
    ...CLUSTER_PORTS.map((port) => `until redis-cli -p ${port} cluster info | grep -q cluster_state:ok; do sleep 0.1; done`),
  ].join("\n"),
  memcached: `memcached -l 127.0.0.1 -p ${MEMCACHED_PORT} -U 0 -u root -m 16 &`,
};

/** Forgets every session record of a server-side case, the store's own way (no code of ours). */
const FORGET: { [storage: string]: () => Promise<void> } = {
  redis: async () => assert.equal(await storeCommand(REDIS_PORT, "FLUSHALL"), "+OK\r\n"),
  "redis-registry": async () => assert.equal(await storeCommand(REDIS_PORT, "FLUSHALL"), "+OK\r\n"),
  "redis-sentinel": async () => assert.equal(await storeCommand(REDIS_PORT, "FLUSHALL"), "+OK\r\n"),
  "redis-cluster": async () => {
    for (const port of CLUSTER_PORTS) assert.equal(await storeCommand(port, "FLUSHALL"), "+OK\r\n");
  },
  memcached: async () => assert.equal(await storeCommand(MEMCACHED_PORT, "flush_all"), "OK\r\n"),
  file: async () => {
    for (const name of readdirSync(FILE_DIRECTORY)) rmSync(`${FILE_DIRECTORY}/${name}`);
  },
};

/** file storage's directory: the repository is at the same path inside the rootfs, so both sides share it. */
const FILE_DIRECTORY = `${process.cwd()}/.cache/interop-sessions`;

const STORAGES: { [name: string]: StorageCase } = {
  cookie: { options: {} },
  // The audience and prefix of docs/node.md's Express example: it runs against this case too.
  redis: { options: { audience: "app", storage: "redis", redis: { port: REDIS_PORT, prefix: "sessions" } }, stores: STORES.redis, ports: [REDIS_PORT] },
  // The registry in the store (store_metadata): what Node's logins record, nginx's admin API lists and revokes.
  "redis-registry": { options: { storage: "redis", redis: { port: REDIS_PORT, prefix: "registry" }, store_metadata: true }, stores: STORES.redis, ports: [REDIS_PORT] },
  "redis-sentinel": {
    options: { storage: "redis", redis: { master: "mymaster", sentinels: [`127.0.0.1:${SENTINEL_PORT}`], prefix: "sentinel" } },
    stores: STORES.sentinel,
    ports: [REDIS_PORT, SENTINEL_PORT],
  },
  "redis-cluster": {
    options: { storage: "redis", redis: { nodes: CLUSTER_PORTS.map((port) => ({ ip: "127.0.0.1", port })), prefix: "cluster" } },
    stores: STORES.cluster,
    ports: CLUSTER_PORTS,
  },
  memcached: { options: { storage: "memcached", memcached: { port: MEMCACHED_PORT, prefix: "interop" } }, stores: STORES.memcached, ports: [MEMCACHED_PORT] },
  file: { options: { storage: "file", file: { path: FILE_DIRECTORY } } },
};

function nginxConf(engine: string): string {
  return `load_module /usr/lib/nginx/modules/ngx_http_js_module.so;
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
load_module /usr/lib/nginx/modules/ngx_stream_js_module.so;
user root; # file storage's directory belongs to the test's user
worker_processes 1;
pid $DIR/logs/nginx.pid;
error_log $DIR/logs/error.log info;
env NJS_SESSION_CONFIG=$DIR/session.json;
env NJS_SESSION_INTEROP_SECRET;
events {}
stream {
    js_engine ${engine};
    js_path ${process.cwd()}/dist/;
    include ${process.cwd()}/nginx/store-bridge.conf;
    js_var $njs_session_store_allow "127.0.0.1:*";
    server {
        listen 127.0.0.1:${BRIDGE_FRONT};
        include ${process.cwd()}/nginx/store-bridge-front.conf;
        proxy_pass 127.0.0.1:${BRIDGE_RELAY};
    }
    server {
        listen 127.0.0.1:${BRIDGE_RELAY};
        include ${process.cwd()}/nginx/store-bridge-relay.conf;
    }
}
http {
    access_log off;
    js_engine ${engine};
    js_path ${process.cwd()}/dist/;
    include ${process.cwd()}/nginx/njs-session.conf;
    variables_hash_max_size 2048;
    js_fetch_proxy http://127.0.0.1:${BRIDGE_FRONT};
    js_fetch_keepalive 4;
    js_var $session_data_via;
    server {
        listen 127.0.0.1:${NGINX_PORT};
        location /app/ {
            js_access session.access;
            proxy_set_header X-Subject $session_subject;
            proxy_set_header X-Data $session_data;
            proxy_pass http://127.0.0.1:${NGINX_PORT}/_up/;
        }
        location /_up/ { return 200 "$http_x_subject $http_x_data"; }
        location = /login { js_content session.login; }
        location = /admin { js_content session.admin; }
        location = /_session_login_backend { internal; proxy_pass http://127.0.0.1:${NGINX_PORT}/_verdict; }
        location = /_verdict {
            add_header X-Session-Login '{"subject": "nginx-user", "data": {"via": "nginx"}}';
            return 200 "";
        }
    }
}
`;
}

/** One text command to a store on a socket of its own; the raw reply (one short line or a small reply). */
function storeCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    socket.on("data", (chunk) => {
      reply += chunk.toString("utf8");
      if (reply.endsWith("\r\n")) {
        socket.end();
        resolve(reply);
      }
    });
    socket.on("error", reject);
    socket.write(command + "\r\n");
  });
}

/** The session keys in Redis, as lua-resty-session names them: <prefix>:<cookie name>:<key>. */
const redisCommand = (command: string) => storeCommand(REDIS_PORT, command);

/** SET key value EX 600 in RESP (a record's JSON has quotes that an inline command would take). */
async function redisSet(key: string, value: string): Promise<boolean> {
  const words = ["SET", key, value, "EX", "600"];
  return (await redisCommand(`*${words.length}\r\n` + words.map((word) => `$${Buffer.byteLength(word)}\r\n${word}`).join("\r\n"))) === "+OK\r\n";
}

async function sessionKeys(): Promise<string[]> {
  return (await redisCommand("KEYS sessions:session:*")).split("\r\n").filter((line) => line.startsWith("sessions:session:"));
}

/**
 * The Express example of docs/node.md's "Sharing sessions with nginx" as the page shows it, but for the
 * ports: its Redis port and its own listen port are replaced (each must occur, or the page changed and
 * this test must follow).
 */
function documentedExample(appPort: number): string {
  const page = readFileSync(resolve(process.cwd(), "docs/node.md"), "utf8");
  const section = page.split("\n## Sharing sessions with nginx\n")[1]?.split("\n## ")[0];
  assert.ok(section, 'docs/node.md has a "Sharing sessions with nginx" section');
  const code = section.split("```js\n")[1]?.split("```")[0];
  assert.ok(code, "docs/node.md's Sharing sessions with nginx has a js example");
  const replacements: Array<[string, string]> = [
    ["port: 6379", `port: ${REDIS_PORT}`],
    ["app.listen(8081);", `app.listen(${appPort}, "127.0.0.1");`],
  ];
  let runnable = code;
  for (const [from, to] of replacements) {
    assert.ok(runnable.includes(from), `docs/node.md's example has "${from}"`);
    runnable = runnable.split(from).join(to);
  }
  return runnable;
}

/** An Express app of an integrator's: login saves "express-user", /me answers with the request's session. */
async function startExpress(sessions: Sessions): Promise<{ server: Server; port: number }> {
  const app = express();
  app.use(expressSessions(sessions));
  app.post("/login", async (req, res) => {
    req.session.setSubject("express-user");
    req.session.setData({ via: "express" });
    res.status((await req.session.save()).ok ? 204 : 500).end();
  });
  app.get("/me", (req, res) => {
    if (!req.sessionExists) return void res.status(401).end();
    res.json({ subject: req.session.getSubject(), data: req.session.getData() });
  });
  const server = createServer(app);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return { server, port: (server.address() as AddressInfo).port };
}

for (const engine of ["njs", "qjs"]) {
  for (const [storageName, storage] of Object.entries(STORAGES)) {
    describe(`Node ↔ nginx, js_engine ${engine}, ${storageName} storage`, () => {
      let servers: RootfsServers;
      let sessions: Sessions;
      let app: { server: Server; port: number };

      before(async () => {
        rmSync(FILE_DIRECTORY, { recursive: true, force: true });
        mkdirSync(FILE_DIRECTORY, { recursive: true });
        const sessionJson = { secret: { env: "NJS_SESSION_INTEROP_SECRET" }, ...storage.options, nginx: { unauthorized_status: 401, expose_data: ["via"] } };
        servers = await startRootfsServers({
          name: `${engine}-${storageName}`,
          nginxConf: nginxConf(engine),
          sessionJson: JSON.stringify(sessionJson),
          // nginx's stream listeners (the store bridge) too: the next suite starts only once they are free.
          ports: [NGINX_PORT, BRIDGE_FRONT, BRIDGE_RELAY, ...(storage.ports || [])],
          stores: storage.stores || "",
          env: { NJS_SESSION_INTEROP_SECRET: SECRET },
        });
        sessions = createSessions({ secret: SECRET, ...storage.options, log: () => {} } as NodeSessionOptions);
        app = await startExpress(sessions);
      });

      after(async () => {
        app.server.close();
        sessions.close();
        const log = servers.errorLog();
        await servers.stop();
        assert.doesNotMatch(log, /\[(error|alert|crit|emerg)\]/, "nginx's error log");
        assert.ok(!log.includes(SECRET), "no secret in nginx's error log");
      });

      it("a session saved by Express opens in nginx", async () => {
        const login = await request(app.port, "POST", "/login");
        assert.equal(login.status, 204);
        const cookie = cookieHeader(login.setCookies);
        const answer = await request(NGINX_PORT, "GET", "/app/x", { Cookie: cookie });
        assert.equal(answer.status, 200, servers.errorLog());
        const [subject, data] = answer.body.split(" ");
        assert.equal(subject, "express-user");
        assert.deepEqual(JSON.parse(data), { via: "express" });
        assert.equal((await request(NGINX_PORT, "GET", "/app/x")).status, 401, "and without the cookie, no session");
      });

      it("a session saved by nginx's login opens in Express", async () => {
        const login = await request(NGINX_PORT, "POST", "/login");
        assert.ok(login.status < 400, `nginx login: ${login.status} ${login.body}\n${servers.errorLog()}`);
        const cookie = cookieHeader(login.setCookies);
        assert.ok(cookie.startsWith("session="), login.setCookies.join("\n"));
        const me = await request(app.port, "GET", "/me", { Cookie: cookie });
        assert.equal(me.status, 200);
        assert.deepEqual(JSON.parse(me.body), { subject: "nginx-user", data: { via: "nginx" } });
      });

      if (storageName === "redis") {
        it("the record is Redis', under lua-resty-session's key, and both sides read it from there", async () => {
          const before = await sessionKeys();
          const login = await request(app.port, "POST", "/login");
          const cookie = cookieHeader(login.setCookies);
          const added = (await sessionKeys()).filter((key) => !before.includes(key));
          assert.equal(added.length, 1, "one record added by Express's login");
          assert.match(added[0], /^sessions:session:[A-Za-z0-9_-]{43}$/);
          assert.equal((await request(NGINX_PORT, "GET", "/app/x", { Cookie: cookie })).status, 200);
          assert.equal(await redisCommand("DEL " + added[0]), ":1\r\n");
          assert.equal((await request(NGINX_PORT, "GET", "/app/x", { Cookie: cookie })).status, 401, "nginx: the record is gone");
          assert.equal((await request(app.port, "GET", "/me", { Cookie: cookie })).status, 401, "Express: the record is gone");
        });
      }

      if (storageName === "redis") {
        it("docs/node.md's Express example, as shown: its logins open in nginx, nginx's open in it", async () => {
          const directory = resolve(process.cwd(), ".cache", "interop-example");
          mkdirSync(directory, { recursive: true });
          const appPort = await freePort();
          // Inside the repository, so that `import "njs-session"` resolves to this package (self-reference).
          writeFileSync(resolve(directory, "app.mjs"), documentedExample(appPort));
          const child = spawn(process.execPath, ["app.mjs"], { cwd: directory, env: { ...process.env, SESSION_SECRET: SECRET }, stdio: ["ignore", "pipe", "pipe"] });
          let output = "";
          child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
          child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
          try {
            for (let i = 0; !(await isListening(appPort)); i++) {
              assert.ok(i < 100 && child.exitCode === null, "docs/node.md's example did not start:\n" + output);
              await new Promise((done) => setTimeout(done, 50));
            }
            const login = await request(appPort, "POST", "/login");
            assert.equal(login.status, 204, output);
            const answer = await request(NGINX_PORT, "GET", "/app/x", { Cookie: cookieHeader(login.setCookies) });
            assert.equal(answer.status, 200);
            assert.equal(answer.body.split(" ")[0], "john@example.com");
            const nginxLogin = await request(NGINX_PORT, "POST", "/login");
            const me = await request(appPort, "GET", "/me", { Cookie: cookieHeader(nginxLogin.setCookies) });
            assert.equal(me.status, 200);
            assert.deepEqual(JSON.parse(me.body), { subject: "nginx-user" });
            assert.equal((await request(appPort, "GET", "/me")).status, 401);
          } finally {
            child.kill();
          }
        });
      }

      if (storageName === "redis-registry") {
        it("the registry in the store: nginx's admin API lists Node's login, and its revocation is refused by Node", async () => {
          const admin = async (method: string, query: string) => {
            const answer = await request(NGINX_PORT, method, "/admin?" + query);
            assert.equal(answer.status, 200, `${method} /admin?${query}: ${answer.status} ${answer.body}\n${servers.errorLog()}`);
            return JSON.parse(answer.body);
          };
          // Two devices of Express's user: one to revoke, one that must stay.
          const devices: { [agent: string]: string } = {};
          for (const agent of ["Laptop/1.0", "Phone/2.0"]) {
            const login = await request(app.port, "POST", "/login", { "User-Agent": agent });
            assert.equal(login.status, 204);
            devices[agent] = cookieHeader(login.setCookies);
          }
          // The earlier tests' logins of express-user are listed too, without a user agent.
          const devicesOf = (list: { sessions: Array<{ user_agent?: string }> }) => list.sessions.filter((entry) => entry.user_agent !== undefined);
          const listed = await admin("GET", "subject=express-user");
          const agents = devicesOf(listed).map((entry) => entry.user_agent).sort();
          assert.deepEqual(agents, ["Laptop/1.0", "Phone/2.0"], "nginx lists the sessions Node saved: " + JSON.stringify(listed));
          for (const cookie of Object.values(devices)) {
            assert.equal((await request(app.port, "GET", "/me", { Cookie: cookie })).status, 200, "Express opens it (and has verified it)");
            assert.equal((await request(NGINX_PORT, "GET", "/app/x", { Cookie: cookie })).status, 200, "nginx opens it");
          }
          const laptop = listed.sessions.find((entry: { user_agent: string }) => entry.user_agent === "Laptop/1.0");
          const records = (await redisCommand("KEYS registry:session:*")).split("\r\n").filter((line) => /^registry:session:[A-Za-z0-9_-]{43}$/.test(line));
          const saved: { [key: string]: string } = {};
          for (const key of records) saved[key] = /^\$\d+\r\n([\s\S]*)\r\n$/.exec(await redisCommand("GET " + key))![1];

          const revoked = await admin("DELETE", `subject=express-user&id=${laptop.id}`);
          assert.deepEqual(revoked.revoked.map((entry: { id: unknown }) => entry.id), [laptop.id], "nginx revoked the laptop only");
          assert.equal((await request(app.port, "GET", "/me", { Cookie: devices["Laptop/1.0"] })).status, 401, "Express refuses the revoked session");
          assert.equal((await request(app.port, "GET", "/me", { Cookie: devices["Phone/2.0"] })).status, 200, "and still opens the other");
          // nginx deleted the laptop's record; a refresh in flight elsewhere could write it again. Put back,
          // it is the revocation record in the store that must refuse it: Node's open asks the registry
          // (isRevoked) after decrypting, nginx's fast check reads it with the record (readChecked), both
          // having opened the cookie before.
          let restored = 0;
          for (const key of records) if ((await redisCommand("EXISTS " + key)) === ":0\r\n") restored += Number(await redisSet(key, saved[key]));
          assert.equal(restored, 1, "the laptop's record was deleted, and is back");
          assert.equal((await request(app.port, "GET", "/me", { Cookie: devices["Laptop/1.0"] })).status, 401, "Express refuses it with its record back");
          assert.equal((await request(NGINX_PORT, "GET", "/app/x", { Cookie: devices["Laptop/1.0"] })).status, 401, "so does nginx");
          assert.deepEqual(
            devicesOf(await admin("GET", "subject=express-user")).map((entry) => entry.user_agent),
            ["Phone/2.0"],
            "nginx lists the phone only",
          );
        });
      }

      if (storageName === "redis-sentinel") {
        it("through Sentinel: the record is the master's, found by both sides through the sentinel", async () => {
          const sentinelKeys = async () => (await redisCommand("KEYS sentinel:session:*")).split("\r\n").filter((line) => line.startsWith("sentinel:session:"));
          const before = await sentinelKeys();
          const cookie = cookieHeader((await request(app.port, "POST", "/login")).setCookies);
          const keys = (await sentinelKeys()).filter((key) => !before.includes(key));
          assert.equal(keys.length, 1, "Express's record is on the master the sentinel names");
          assert.equal((await request(NGINX_PORT, "GET", "/app/x", { Cookie: cookie })).status, 200);
          assert.equal(await redisCommand("DEL " + keys[0]), ":1\r\n");
          assert.equal((await request(NGINX_PORT, "GET", "/app/x", { Cookie: cookie })).status, 401, "nginx: the record is gone");
          assert.equal((await request(app.port, "GET", "/me", { Cookie: cookie })).status, 401, "Express: the record is gone");
        });
      }

      if (storageName === "redis-cluster") {
        it("in a cluster: the record is on the node its slot names, and both sides read it from there", async () => {
          const keysOn = async (port: number) =>
            (await storeCommand(port, "KEYS cluster:session:*")).split("\r\n").filter((line) => line.startsWith("cluster:session:"));
          const all = async () => (await Promise.all(CLUSTER_PORTS.map(async (port) => (await keysOn(port)).map((key) => ({ port, key }))))).flat();
          const before = (await all()).map((entry) => entry.key);
          const cookie = cookieHeader((await request(app.port, "POST", "/login")).setCookies);
          const added = (await all()).filter((entry) => !before.includes(entry.key));
          assert.equal(added.length, 1, "one record added by Express's login, on one node");
          assert.equal((await request(NGINX_PORT, "GET", "/app/x", { Cookie: cookie })).status, 200);
          assert.equal(await storeCommand(added[0].port, "DEL " + added[0].key), ":1\r\n");
          assert.equal((await request(NGINX_PORT, "GET", "/app/x", { Cookie: cookie })).status, 401, "nginx: the record is gone");
          assert.equal((await request(app.port, "GET", "/me", { Cookie: cookie })).status, 401, "Express: the record is gone");
        });
      }

      if (storageName === "memcached") {
        it("the record is memcached's: both sides lose the session when memcached forgets it", async () => {
          const cookie = cookieHeader((await request(app.port, "POST", "/login")).setCookies);
          assert.equal((await request(NGINX_PORT, "GET", "/app/x", { Cookie: cookie })).status, 200);
          assert.equal(await storeCommand(MEMCACHED_PORT, "flush_all"), "OK\r\n");
          assert.equal((await request(NGINX_PORT, "GET", "/app/x", { Cookie: cookie })).status, 401, "nginx: the record is gone");
          assert.equal((await request(app.port, "GET", "/me", { Cookie: cookie })).status, 401, "Express: the record is gone");
        });
      }

      if (storageName === "file") {
        it("the record is a file of the shared directory, and both sides read it from there", async () => {
          const before = readdirSync(FILE_DIRECTORY);
          const cookie = cookieHeader((await request(app.port, "POST", "/login")).setCookies);
          const added = readdirSync(FILE_DIRECTORY).filter((name) => !before.includes(name));
          assert.equal(added.length, 1, "one file added by Express's login");
          assert.equal((await request(NGINX_PORT, "GET", "/app/x", { Cookie: cookie })).status, 200);
          rmSync(`${FILE_DIRECTORY}/${added[0]}`);
          assert.equal((await request(NGINX_PORT, "GET", "/app/x", { Cookie: cookie })).status, 401, "nginx: the file is gone");
          assert.equal((await request(app.port, "GET", "/me", { Cookie: cookie })).status, 401, "Express: the file is gone");
        });
      }

      if (storage.options.storage) {
        // The CLI (dist/cli.js, as a subprocess) on the same store: what it mints nginx opens, what nginx's
        // login saved it reads, and a record the store forgot it reports as refused.
        it("the CLI mints into the store a session nginx opens, and inspects nginx's from the store", async () => {
          const config = resolve(process.cwd(), ".cache", `interop-cli-${engine}-${storageName}.json`);
          writeFileSync(config, JSON.stringify(storage.options));
          const env = { NJS_SESSION_SECRET: SECRET };
          const minted = runCli(["mint", "--config", config, "--subject", "cli-user", "--data", '{"via":"cli"}'], { env });
          assert.equal(minted.status, 0, minted.stderr);
          const answer = await request(NGINX_PORT, "GET", "/app/x", { Cookie: minted.stdout.trim() });
          assert.equal(answer.status, 200, servers.errorLog());
          const [subject, data] = answer.body.split(" ");
          assert.equal(subject, "cli-user");
          assert.deepEqual(JSON.parse(data), { via: "cli" });

          const login = await request(NGINX_PORT, "POST", "/login");
          const cookie = cookieHeader(login.setCookies);
          const inspected = runCliJson(["inspect", "--config", config, cookie], { env });
          assert.equal(inspected.status, 0, inspected.stderr);
          assert.equal(inspected.json.verified, true);
          assert.deepEqual(
            inspected.json.entries.map((entry: { subject: string; data: unknown }) => [entry.subject, entry.data]),
            [["nginx-user", { via: "nginx" }]],
          );

          await FORGET[storageName]();
          assert.equal((await request(NGINX_PORT, "GET", "/app/x", { Cookie: cookie })).status, 401, "nginx: the record is gone");
          const forgotten = runCliJson(["inspect", "--config", config, cookie], { env });
          assert.equal(forgotten.status, 4, "the CLI: refused, as nginx refuses it");
          assert.equal(forgotten.json.verified, false);
        });
      }

      it("a cookie of another secret opens on neither side", async () => {
        const other = createSessions({ secret: SECRET + "-other", ...storage.options, log: () => {} } as NodeSessionOptions);
        try {
          const headers = { cookies: [] as string[], getHeader: () => headers.cookies, setHeader: (_: string, v: unknown) => void (headers.cookies = v as string[]), removeHeader: () => undefined };
          const session = other.new({ headers: {}, socket: {} } as never, headers);
          session.setSubject("mallory");
          assert.equal((await session.save()).ok, true);
          const cookie = cookieHeader(headers.cookies);
          assert.equal((await request(NGINX_PORT, "GET", "/app/x", { Cookie: cookie })).status, 401);
          assert.equal((await request(app.port, "GET", "/me", { Cookie: cookie })).status, 401);
        } finally {
          other.close();
        }
      });
    });
  }
}
