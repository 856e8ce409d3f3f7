/**
 * The Node package through a Sentinel failover and a Cluster slot migration, against real servers (the
 * rootfs's redis-server and redis-sentinel; no nginx). The routers (redis-sentinel.ts, redis-cluster.ts)
 * are nginx's, tested there by t/160 and t/170; here they run over Node's transport (node-store.ts), whose
 * connections, pool and errors are not the store bridge's: these tests are what shows that a failover
 * or a resharding is followed from Node too. Run through build/interop.sh (`npm run test:interop`), in
 * its network namespace (fixed ports).
 *
 * What the servers hold and where is always asked of Redis over a socket of the test's own (KEYS,
 * EXISTS, CLUSTER KEYSLOT/NODES/GETKEYSINSLOT); whether a redirection happened is read from Redis's
 * command statistics (INFO commandstats: rejected_calls counts MOVED/ASK answers), as t/170 does.
 *
 * Every request goes through the middleware over node:http: the answers are 200 with the session's
 * subject, 401 without a session, 503 when the store cannot answer; anything else is a wrong answer.
 */

import assert from "node:assert/strict";
import { createServer, Server } from "node:http";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { createSessions, isStoreUnavailable, NodeSessionOptions, Sessions, withSessions } from "../../src/node";
import { cookieHeader, request } from "../node/http-client";
import { RootfsServers, startRootfsServers } from "./rootfs-nginx";

const SECRET = "failover-secret-4b8e1d07c3";
const HTTP_PORT = 7520;
const MASTER = 7511;
const REPLICA = 7512;
const SENTINEL = 7513;
const CLUSTER_PORTS = [7501, 7502, 7503];
const PREFIX = "failover";

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

type Reply = string | number | null | { error: string } | Reply[];

/** Reads one RESP reply from `text` at `at`: the reply and where it ends, or undefined when incomplete. */
function readReply(text: string, at: number): [Reply, number] | undefined {
  const lineEnd = text.indexOf("\r\n", at);
  if (lineEnd < 0) return undefined;
  const kind = text.charAt(at);
  const line = text.substring(at + 1, lineEnd);
  if (kind === "+") return [line, lineEnd + 2];
  if (kind === "-") return [{ error: line }, lineEnd + 2];
  if (kind === ":") return [Number(line), lineEnd + 2];
  if (kind === "$") {
    const length = Number(line);
    if (length < 0) return [null, lineEnd + 2];
    // Byte length: the replies read here are ASCII (keys, node lines, INFO).
    if (text.length < lineEnd + 2 + length + 2) return undefined;
    return [text.substring(lineEnd + 2, lineEnd + 2 + length), lineEnd + 2 + length + 2];
  }
  if (kind === "*") {
    const count = Number(line);
    if (count < 0) return [null, lineEnd + 2];
    const items: Reply[] = [];
    let next = lineEnd + 2;
    for (let i = 0; i < count; i++) {
      const item = readReply(text, next);
      if (!item) return undefined;
      items.push(item[0]);
      next = item[1];
    }
    return [items, next];
  }
  throw new Error("not a RESP reply: " + JSON.stringify(text.substring(at, at + 40)));
}

/**
 * One command to one server on a socket of its own, no redirection followed: Redis's own answer, read
 * by this test (no code of the package's). A server that closes without a reply (SHUTDOWN) gives null.
 */
function redis(port: number, ...words: Array<string | number>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    let done = false;
    socket.on("data", (chunk) => {
      text += chunk.toString("utf8");
      const reply = readReply(text, 0);
      if (reply && !done) {
        done = true;
        socket.end();
        resolve(reply[0]);
      }
    });
    socket.on("close", () => done || ((done = true), resolve(null)));
    socket.on("error", (e) => done || ((done = true), reject(e)));
    socket.write(`*${words.length}\r\n` + words.map((word) => `$${Buffer.byteLength(String(word))}\r\n${word}\r\n`).join(""));
  });
}

async function waitFor(what: string, test: () => Promise<boolean>, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    assert.ok(Date.now() < deadline, "timed out waiting for " + what);
    await sleep(50);
  }
}

/** The session record keys a server holds itself (KEYS answers from its own keyspace). */
async function sessionKeys(port: number): Promise<string[]> {
  return (await redis(port, "KEYS", PREFIX + ":session:*")) as string[];
}

/** INFO commandstats of a server for one command: calls and rejected_calls (zeros when unseen). */
async function commandStat(port: number, command: string): Promise<{ calls: number; rejected: number }> {
  const info = (await redis(port, "INFO", "commandstats")) as string;
  const line = info.split("\r\n").find((text) => text.startsWith(`cmdstat_${command}:`)) || "";
  return { calls: Number(/calls=(\d+)/.exec(line)?.[1] || 0), rejected: Number(/rejected_calls=(\d+)/.exec(line)?.[1] || 0) };
}

let current: Sessions;
let http: Server;
/** Every line the package logged, every body it answered: the secret must be in none. */
const outputs: string[] = [];

function sessionsWith(redisOptions: { [name: string]: unknown }): Sessions {
  return createSessions({ secret: SECRET, storage: "redis", redis: { prefix: PREFIX, ...redisOptions }, log: (level, message) => outputs.push(level + " " + message) } as NodeSessionOptions);
}

/** POST /login?subject: saves a session (204; 503 when the store cannot take it). */
async function login(subject: string): Promise<{ status: number; cookie: string }> {
  const answer = await request(HTTP_PORT, "POST", "/login?" + encodeURIComponent(subject));
  outputs.push(answer.body);
  return { status: answer.status, cookie: cookieHeader(answer.setCookies) };
}

/** GET /me: the status and the subject the session opened with. */
async function open(cookie: string): Promise<{ status: number; subject: string }> {
  const answer = await request(HTTP_PORT, "GET", "/me", { cookie });
  outputs.push(answer.body);
  return { status: answer.status, subject: answer.body };
}

/** POST /resave: saves the open session again: a new record, and the old one's TTL cut to stale_ttl (EXPIRE). */
async function resave(cookie: string): Promise<{ status: number; cookie: string }> {
  const answer = await request(HTTP_PORT, "POST", "/resave", { cookie });
  outputs.push(answer.body);
  return { status: answer.status, cookie: cookieHeader(answer.setCookies) };
}

/** POST /logout: destroys the session (its record deleted). */
async function logout(cookie: string): Promise<number> {
  const answer = await request(HTTP_PORT, "POST", "/logout", { cookie });
  outputs.push(answer.body);
  return answer.status;
}

before(async () => {
  http = createServer((req, res) =>
    withSessions(current, async (session, response) => {
      const [path, query] = (session.url || "").split("?");
      // A store that cannot take a save rejects with StoreUnavailable: 503, as the middleware answers for an open.
      const asStatus = (done: Promise<{ ok: boolean }>, ok: number) => done.then((result) => (result.ok ? ok : 500), (e: unknown) => (isStoreUnavailable(e) ? 503 : 500));
      if (path === "/login") {
        session.session.setSubject(decodeURIComponent(query || ""));
        response.writeHead(await asStatus(session.session.save(), 204)).end();
      } else if (path === "/resave") {
        response.writeHead(session.sessionExists ? await asStatus(session.session.save(), 204) : 401).end();
      } else if (path === "/logout") {
        response.writeHead(session.sessionExists ? await asStatus(session.session.destroy(), 204) : 401).end();
      } else response.writeHead(session.sessionExists ? 200 : 401).end(session.session.getSubject() ?? "");
    })(req, res),
  );
  await new Promise<void>((done) => http.listen(HTTP_PORT, "127.0.0.1", done));
});

after(async () => {
  current?.close();
  await new Promise<void>((done) => http.close(() => done()));
  for (const text of outputs) assert.equal(text.includes(SECRET), false, "no secret in the package's output: " + text);
});

/**
 * The describe's servers: started before its tests, then `ready` waits until they can serve and gives
 * the package's Sessions over them; stopped after, their output holding no secret.
 */
function useServers(options: { name: string; stores: string; ports: number[] }, ready: () => Promise<Sessions>): void {
  let servers: RootfsServers;
  before(async () => {
    servers = await startRootfsServers({ ...options, env: {} });
    current = await ready();
  });
  after(async () => {
    current.close();
    const output = servers.output();
    await servers.stop();
    assert.equal(output.includes(SECRET), false, "no secret in the servers' output");
  });
}

describe("Sentinel failover seen from Node (a master, a replica, one sentinel)", { timeout: 30000 }, () => {
  useServers(
    {
      name: "failover-sentinel",
      // As t/160: the master is down after 500 ms without an answer; one sentinel, quorum 1.
      stores: [
        // No diskless-sync delay: the replica is in sync at once, not after Redis's default 5 s.
        `redis-server --port ${MASTER} --bind 127.0.0.1 --save '' --appendonly no --dir /tmp --repl-diskless-sync-delay 0 &`,
        `redis-server --port ${REPLICA} --bind 127.0.0.1 --save '' --appendonly no --dir /tmp --replicaof 127.0.0.1 ${MASTER} &`,
        `printf 'port ${SENTINEL}\\nbind 127.0.0.1\\nsentinel monitor mymaster 127.0.0.1 ${MASTER} 1\\nsentinel down-after-milliseconds mymaster 500\\nsentinel failover-timeout mymaster 3000\\n' >/tmp/sentinel.conf`,
        // The sentinel learns the replicas from the master's INFO: on connecting, then every 10 s. Started
        // once the replica is in sync, its first INFO names it.
        `until redis-cli -p ${REPLICA} info replication | grep -q master_link_status:up; do sleep 0.05; done`,
        "redis-sentinel /tmp/sentinel.conf &",
      ].join("\n"),
      ports: [MASTER, REPLICA, SENTINEL],
    },
    async () => {
      // Ready for a failover when the sentinel knows the replica.
      await waitFor("the sentinel to know the replica", async () => JSON.stringify(await redis(SENTINEL, "SENTINEL", "replicas", "mymaster")).includes(String(REPLICA)));
      return sessionsWith({ master: "mymaster", sentinels: [`127.0.0.1:${SENTINEL}`] });
    },
  );

  it("the master killed: 503 while none answers, then the session opens on the promoted replica and new logins are written there", async () => {
    const carol = await login("carol");
    assert.equal(carol.status, 204);
    assert.deepEqual(await open(carol.cookie), { status: 200, subject: "carol" }, "opens before the failover (Node now knows the master)");
    const [key] = await sessionKeys(MASTER);
    assert.match(key, /^failover:session:[A-Za-z0-9_-]{43}$/, "written on the master the sentinel names");
    assert.equal(await redis(MASTER, "WAIT", 1, 2000), 1, "and replicated");
    assert.equal(await redis(REPLICA, "EXISTS", key), 1);

    // SHUTDOWN NOW: no wait for the replica, the socket closed; for a client, a master gone.
    assert.equal(await redis(MASTER, "SHUTDOWN", "NOSAVE", "NOW"), null);
    const killed = Date.now();
    // The sentinel needs 500 ms to call the master down: until then it names the dead one.
    assert.deepEqual(await open(carol.cookie), { status: 503, subject: "session store unavailable\n" }, "no master: the middleware's 503");
    assert.equal((await login("nobody")).status, 503, "no master: a save is StoreUnavailable");

    const seen: { [status: string]: number } = {};
    let opened = false;
    while (!opened) {
      assert.ok(Date.now() - killed < 20000, "the session did not open again within 20 s: " + JSON.stringify(seen));
      const answer = await open(carol.cookie);
      seen[answer.status] = (seen[answer.status] || 0) + 1;
      assert.ok(answer.status === 503 || (answer.status === 200 && answer.subject === "carol"), `only 503 or carol's 200 meanwhile, got ${answer.status} ${answer.subject}`);
      opened = answer.status === 200;
      if (!opened) await sleep(50);
    }
    assert.ok(seen[503] >= 1, "the outage was seen: " + JSON.stringify(seen));
    assert.deepEqual(await redis(SENTINEL, "SENTINEL", "get-master-addr-by-name", "mymaster"), ["127.0.0.1", String(REPLICA)], "the sentinel names the replica");
    assert.match((await redis(REPLICA, "INFO", "replication")) as string, /role:master/);

    const dave = await login("dave");
    assert.equal(dave.status, 204, "a login after the failover");
    const added = (await sessionKeys(REPLICA)).filter((name) => name !== key);
    assert.equal(added.length, 1, "dave's record is on the new master");
    assert.deepEqual(await open(dave.cookie), { status: 200, subject: "dave" });
    assert.equal(await logout(carol.cookie), 204, "carol's logout");
    assert.equal(await redis(REPLICA, "EXISTS", key), 0, "deleted on the new master");
    assert.equal((await open(carol.cookie)).status, 401);

    const incidents = outputs.filter((line) => /^error .*unavailable/.test(line));
    assert.ok(incidents.length >= 1, "the outage was logged: " + outputs.join("\n"));
  });
});

describe("Cluster slot migration seen from Node (three masters): ASK during, MOVED after", { timeout: 30000 }, () => {
  /** port => node id, as each node says. */
  async function ids(): Promise<{ [port: number]: string }> {
    const known: { [port: number]: string } = {};
    for (const port of CLUSTER_PORTS) known[port] = (await redis(port, "CLUSTER", "MYID")) as string;
    return known;
  }

  /** The master owning a slot, by `asked`'s CLUSTER NODES (migration marks [..] ignored). */
  async function owner(slot: number, asked = CLUSTER_PORTS[0]): Promise<number | undefined> {
    for (const line of ((await redis(asked, "CLUSTER", "NODES")) as string).split("\n")) {
      const field = line.split(" ");
      const port = /:(\d+)@/.exec(field[1] || "");
      if (!port || !/master/.test(field[2])) continue;
      for (const range of field.slice(8)) {
        if (range.startsWith("[")) continue;
        const [first, last] = range.split("-").map(Number);
        if (slot >= first && slot <= (last ?? first)) return Number(port[1]);
      }
    }
    return undefined;
  }

  /** The nodes whose own keyspace holds the key (CLUSTER GETKEYSINSLOT: no redirection). */
  async function holders(key: string): Promise<number[]> {
    const slot = (await redis(CLUSTER_PORTS[0], "CLUSTER", "KEYSLOT", key)) as number;
    const found: number[] = [];
    for (const port of CLUSTER_PORTS) if (((await redis(port, "CLUSTER", "GETKEYSINSLOT", slot, 1000)) as string[]).includes(key)) found.push(port);
    return found;
  }

  /** The one session record added since `before`, its slot and the master holding it. */
  async function addedRecord(before: string[]): Promise<{ key: string; slot: number; src: number }> {
    const added: Array<{ key: string; port: number }> = [];
    for (const port of CLUSTER_PORTS) for (const key of await sessionKeys(port)) if (!before.includes(key)) added.push({ key, port });
    assert.equal(added.length, 1, "one record added: " + JSON.stringify(added));
    const slot = (await redis(CLUSTER_PORTS[0], "CLUSTER", "KEYSLOT", added[0].key)) as number;
    assert.equal(await owner(slot), added[0].port, "on the master owning its slot");
    return { key: added[0].key, slot, src: added[0].port };
  }

  async function allKeys(): Promise<string[]> {
    return (await Promise.all(CLUSTER_PORTS.map(sessionKeys))).flat();
  }

  /** The manual migration of the Cluster specification, as t/170 does it; `stopBeforeNode`: left half-way (ASK). */
  async function migrate(slot: number, src: number, dst: number, stopBeforeNode = false): Promise<void> {
    const id = await ids();
    assert.equal(await redis(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", id[src]), "OK");
    assert.equal(await redis(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", id[dst]), "OK");
    for (const key of (await redis(src, "CLUSTER", "GETKEYSINSLOT", slot, 1000)) as string[]) {
      assert.equal(await redis(src, "MIGRATE", "127.0.0.1", dst, "", 0, 5000, "KEYS", key), "OK");
    }
    if (!stopBeforeNode) await finishMigration(slot, dst);
  }

  async function finishMigration(slot: number, dst: number): Promise<void> {
    const id = await ids();
    for (const port of [dst, ...CLUSTER_PORTS.filter((other) => other !== dst)]) assert.equal(await redis(port, "CLUSTER", "SETSLOT", slot, "NODE", id[dst]), "OK");
  }

  async function resetStats(): Promise<void> {
    for (const port of CLUSTER_PORTS) assert.equal(await redis(port, "CONFIG", "RESETSTAT"), "OK");
  }

  useServers(
    {
      name: "failover-cluster",
      // As node-nginx.test.ts's cluster and t/170: three masters, no replicas, formed before the test runs.
      stores: [
        ...CLUSTER_PORTS.map(
          (port) =>
            `redis-server --port ${port} --bind 127.0.0.1 --save '' --appendonly no --dir /tmp --cluster-enabled yes --cluster-config-file /tmp/nodes-${port}.conf --cluster-node-timeout 2000 &`,
        ),
        ...CLUSTER_PORTS.map((port) => `until redis-cli -p ${port} ping >/dev/null 2>&1; do sleep 0.05; done`),
        `redis-cli --cluster create ${CLUSTER_PORTS.map((port) => "127.0.0.1:" + port).join(" ")} --cluster-replicas 0 --cluster-yes >/dev/null`,
      ].join("\n"),
      ports: CLUSTER_PORTS,
    },
    async () => {
      // Settled when every node says ok and each names the same owner for every slot range.
      await waitFor("the cluster to settle", async () => {
        const views: string[] = [];
        for (const port of CLUSTER_PORTS) {
          if (!/cluster_state:ok/.test((await redis(port, "CLUSTER", "INFO")) as string)) return false;
          views.push(JSON.stringify(await redis(port, "CLUSTER", "SLOTS")));
        }
        return views.every((view) => view.replace(/"[0-9a-f]{40}"/g, "") === views[0].replace(/"[0-9a-f]{40}"/g, "")) && JSON.parse(views[0]).length === 3;
      });
      return sessionsWith({ nodes: CLUSTER_PORTS.map((port) => ({ ip: "127.0.0.1", port })) });
    },
  );

  it("MOVED: the slot moved while Node holds the old map; the session opens, the map is read again, writes land on the new owner", async () => {
    const moved = await login("moved");
    assert.equal(moved.status, 204);
    const { key, slot, src } = await addedRecord([]);
    const dst = CLUSTER_PORTS.find((port) => port !== src) as number;
    assert.deepEqual(await open(moved.cookie), { status: 200, subject: "moved" }, "opens before the move (Node now holds the slot map)");

    await migrate(slot, src, dst);
    for (const port of CLUSTER_PORTS) assert.equal(await owner(slot, port), dst, `${port} says ${dst} owns slot ${slot}`);
    assert.deepEqual(await holders(key), [dst], "the record is on the new owner only");

    await resetStats();
    assert.deepEqual(await open(moved.cookie), { status: 200, subject: "moved" }, "opens after the move");
    assert.equal((await commandStat(src, "get")).rejected, 1, "the old owner answered the GET with MOVED");
    assert.ok((await commandStat(dst, "get")).calls >= 1, "the new owner served it");

    await resetStats();
    assert.deepEqual(await open(moved.cookie), { status: 200, subject: "moved" }, "opens again");
    assert.equal((await commandStat(src, "get")).rejected, 0, "straight to the new owner: Node read the map again");

    // A save of the open session: a new record wherever its slot is, and the old record's TTL cut to
    // stale_ttl (10 s) by an EXPIRE that must reach the new owner of the old key's slot.
    await resetStats();
    const saved = await resave(moved.cookie);
    assert.equal(saved.status, 204);
    assert.equal((await commandStat(dst, "expire")).calls, 1, "the EXPIRE of the old record went to the new owner");
    assert.equal((await commandStat(src, "expire")).rejected, 0, "not to the old one");
    const ttl = (await redis(dst, "TTL", key)) as number;
    assert.ok(ttl > 0 && ttl <= 10, `the old record expires within stale_ttl on the new owner (${ttl})`);
    const renewed = await addedRecord([key]);
    assert.deepEqual(await open(saved.cookie), { status: 200, subject: "moved" });
    assert.equal(await logout(saved.cookie), 204);
    assert.deepEqual(await holders(renewed.key), [], "logout deleted the new record");
  });

  it("ASK: the record migrated, the slot not yet reassigned; the session opens and logout deletes it on the target (UNLINK after ASK)", async () => {
    const before = await allKeys();
    const asked = await login("asked");
    assert.equal(asked.status, 204);
    const { key, slot, src } = await addedRecord(before);
    const dst = [...CLUSTER_PORTS].reverse().find((port) => port !== src) as number;
    assert.deepEqual(await open(asked.cookie), { status: 200, subject: "asked" }, "opens before the migration");

    await migrate(slot, src, dst, true);
    for (const port of CLUSTER_PORTS) assert.equal(await owner(slot, port), src, `${port} still says ${src} owns slot ${slot}`);
    assert.deepEqual(await holders(key), [dst], "the record is on the target only");
    assert.deepEqual(await redis(src, "GET", key), { error: `ASK ${slot} 127.0.0.1:${dst}` }, "the source answers ASK");

    await resetStats();
    assert.deepEqual(await open(asked.cookie), { status: 200, subject: "asked" }, "opens during the migration");
    assert.equal((await commandStat(src, "get")).rejected, 1, "the source redirected the GET");
    assert.ok((await commandStat(dst, "asking")).calls >= 1, "the target got ASKING");
    assert.ok((await commandStat(dst, "get")).calls >= 1, "and served the GET");

    await resetStats();
    assert.equal(await logout(asked.cookie), 204, "logout during the migration");
    assert.ok((await commandStat(dst, "unlink")).calls >= 1, "the UNLINK went to the target");
    assert.equal((await commandStat(src, "unlink")).rejected, 1, "after the source's ASK");
    assert.deepEqual(await holders(key), [], "the record is deleted on the target");
    assert.equal((await open(asked.cookie)).status, 401);
    await finishMigration(slot, dst);
  });
});
