/**
 * redis storage: sessions in Redis or Valkey, shared by every nginx node that points at the same server,
 * through the store bridge (nginx/store-bridge.conf).
 *
 *   { "storage": "redis", "redis": { "host": "10.0.0.5", "port": 6379, "password": {"env": "REDIS_PASSWORD"} } }
 *
 * Keys and values are lua-resty-session's (lib/resty/session/redis/common.lua), so OpenResty and
 * njs-session nodes can share one Redis during a migration:
 *
 *   [prefix:]name:key[:suffix]                 the session record, with the session's TTL (SET ... EX)
 *   [prefix:]name:audience:subject[:suffix]    store_metadata: a sorted set of session keys scored by
 *                                              their expiry, expired members trimmed on every write
 *
 * The connection prelude (AUTH with username and password, SELECT database) travels with every request;
 * the bridge runs it once per store connection.
 *
 * As in lua-resty-session, `sentinels` (with `master`) selects Redis Sentinel and `nodes` a Redis
 * Cluster; where each command goes is redis-routing.ts's business. TLS (`ssl`, ...) and `socket` are
 * taken where the platform's transport makes its own connections (Node; remote.ts).
 */

import { configError } from "../core/errors";
import type { StorageOptions } from "../core/options";
import type { Platform } from "../core/platform";
import { askAnswered, Storage } from "../core/storage";
import type { RespValue } from "./protocol/resp";
import { KeyNaming, metadataNames, readStorageOptions, storageName } from "./names";
import { checkClusterOptions, clusterRouter } from "./redis-cluster";
import { redisRegistryStore } from "./redis-registry";
import { Command, Connection, RedisRouter, singleRouter } from "./redis-routing";
import { sentinelRouter } from "./redis-sentinel";
import { checkBridgeOption, readConnectionOptions, rejectNginxSideOptions, roundTripTimeout, serverAddress } from "./remote";

const DEFAULT_PORT = 6379;
const DEFAULT_SENTINEL_PORT = 26379;

/** lua-resty-session picks the implementation the same way: `nodes` is a cluster, `sentinels` Sentinel. */
function createRouter(read: { [name: string]: unknown }, connection: Connection, socket: string | undefined, naming: KeyNaming): RedisRouter {
  if (socket !== undefined && (read.nodes !== undefined || read.sentinels !== undefined)) {
    throw configError("redis.socket is a single server's: sentinels and cluster nodes are reached by host and port");
  }
  if (read.nodes !== undefined) {
    if (read.sentinels !== undefined) throw configError("redis: give either nodes (a cluster) or sentinels, not both");
    checkClusterOptions(read.database);
    const nodes = (read.nodes as unknown[]).map(function (node) {
      // The peer's node records say ip, not host.
      const table = node && typeof node === "object" && "ip" in (node as object) ? { host: (node as { ip: unknown }).ip, port: (node as { port?: unknown }).port } : node;
      return serverAddress("redis.nodes", table, DEFAULT_PORT);
    });
    if (nodes.length === 0) throw configError("redis.nodes must list at least one node");
    connection.store = "redis cluster " + nodes.join(",");
    return clusterRouter(connection, { nodes: nodes, maxRedirections: read.max_redirections as number | undefined });
  }
  if (read.sentinels !== undefined) {
    if (typeof read.master !== "string") throw configError("redis.master must name the master the sentinels watch");
    if (read.role !== undefined && read.role !== "master") throw configError('redis.role: only "master" (sessions are written)');
    const sentinels = (read.sentinels as unknown[]).map(function (sentinel) {
      return serverAddress("redis.sentinels", sentinel, DEFAULT_SENTINEL_PORT);
    });
    if (sentinels.length === 0) throw configError("redis.sentinels must list at least one sentinel");
    if (read.sentinel_username !== undefined && read.sentinel_password === undefined) throw configError("redis.sentinel_username needs redis.sentinel_password");
    const sentinelPrelude: Command[] = [];
    if (read.sentinel_password !== undefined) {
      sentinelPrelude.push(
        read.sentinel_username !== undefined
          ? ["AUTH", read.sentinel_username as string, read.sentinel_password as string]
          : ["AUTH", read.sentinel_password as string],
      );
    }
    connection.store = "redis sentinel master " + read.master;
    return sentinelRouter(connection, { master: read.master as string, sentinels: sentinels, sentinelPrelude: sentinelPrelude });
  }
  const needTopology = ["master", "role", "sentinel_username", "sentinel_password", "max_redirections"];
  for (let i = 0; i < needTopology.length; i++) {
    const name = needTopology[i];
    if (read[name] !== undefined) throw configError("redis." + name + " needs redis." + (name === "max_redirections" ? "nodes" : "sentinels"));
  }
  if (socket !== undefined && (read.host !== undefined || read.port !== undefined)) throw configError("redis: give either socket or host/port");
  const target = socket !== undefined ? socket : serverAddress("redis", { host: read.host || "127.0.0.1", port: read.port === undefined ? DEFAULT_PORT : read.port }, DEFAULT_PORT);
  connection.store = "redis " + target;
  return singleRouter(connection, target, naming);
}

export function createRedisStorage(options: StorageOptions | undefined, platform: Platform): Storage {
  rejectNginxSideOptions("redis", options, platform);
  const read = readStorageOptions("redis", options, {
    host: "string",
    port: "number",
    username: "string",
    password: "string",
    database: "number",
    prefix: "string",
    suffix: "string",
    connect_timeout: "number",
    send_timeout: "number",
    read_timeout: "number",
    bridge: "string",
    master: "string",
    role: "string",
    sentinels: "list",
    sentinel_username: "string",
    sentinel_password: "string",
    nodes: "list",
    max_redirections: "number",
    // Only where the platform's transport takes them (Platform.storeConnectionOptions):
    ssl: "boolean",
    ssl_verify: "boolean",
    server_name: "string",
    ssl_trusted_certificate: "string",
    socket: "string",
  });
  if (read.username !== undefined && read.password === undefined) throw configError("redis.username needs redis.password");
  const bridge = checkBridgeOption("redis", read.bridge);
  const naming: KeyNaming = { prefix: read.prefix as string | undefined, suffix: read.suffix as string | undefined };

  const prelude: Command[] = [];
  if (read.password !== undefined) {
    prelude.push(read.username !== undefined ? ["AUTH", read.username as string, read.password as string] : ["AUTH", read.password as string]);
  }
  if (read.database !== undefined) prelude.push(["SELECT", read.database as number]);
  const connection: Connection = {
    platform: platform,
    store: "redis",
    timeout: roundTripTimeout(read as { [name: string]: number }),
    prelude: prelude,
  };
  if (bridge !== undefined) connection.bridge = bridge;
  const reach = readConnectionOptions("redis", read, platform);
  if (reach.tls !== undefined) connection.tls = reach.tls;
  const router = createRouter(read, connection, reach.socket, naming);

  /** Runs the commands (one pipeline per server); resolves to their replies, rejects if any is an error. */
  function run(commands: Command[]): Promise<RespValue[]> {
    return router.run(commands);
  }

  return {
    readRoute: router.route,
    set: function (name, key, value, ttl, now, oldKey, staleTtl, metadata) {
      const sessionName = storageName(naming, name, key);
      if (!metadata && oldKey === undefined) {
        return run([["SET", sessionName, value, "EX", ttl]]).then(function () {});
      }
      const oldName = oldKey !== undefined ? storageName(naming, name, oldKey) : undefined;
      const stale = staleTtl || 0;
      // The previous record stays for stale_ttl at most, never longer than it had left: its TTL first
      // (EXPIRE ... LT would save the round trip, but needs Redis 7).
      const oldTtl: Promise<RespValue> = oldName !== undefined ? run([["TTL", oldName]]).then(function (replies) {
        return replies[0];
      }) : Promise.resolve(null);
      return oldTtl.then(function (left) {
        const commands: Command[] = [["SET", sessionName, value, "EX", ttl]];
        if (oldName !== undefined && typeof left === "number" && left > stale) commands.push(["EXPIRE", oldName, stale]);
        if (metadata) {
          const metaNames = metadataNames(naming, name, metadata);
          for (let i = 0; i < metaNames.length; i++) {
            commands.push(["ZREMRANGEBYSCORE", metaNames[i], 0, now - 1]);
            commands.push(["ZADD", metaNames[i], now + ttl, key]);
            if (oldKey !== undefined) commands.push(["ZREM", metaNames[i], oldKey]);
            commands.push(["EXPIRE", metaNames[i], ttl]);
          }
        }
        return run(commands).then(function () {});
      });
    },
    get: function (name, key) {
      return router.get(storageName(naming, name, key));
    },
    ask: function (name, key, now, host, asking) {
      const sessionName = storageName(naming, name, key);
      return router.ask ? router.ask(sessionName, asking) : askAnswered(router.get(sessionName), asking);
    },
    delete: function (name, key, now, metadata) {
      const commands: Command[] = [["UNLINK", storageName(naming, name, key)]];
      if (metadata) {
        const metaNames = metadataNames(naming, name, metadata);
        for (let i = 0; i < metaNames.length; i++) {
          commands.push(["ZREMRANGEBYSCORE", metaNames[i], 0, now - 1]);
          commands.push(["ZREM", metaNames[i], key]);
        }
      }
      return run(commands).then(function () {});
    },
    /** lua-resty-session's read_metadata: { [session key]: expiry } of a subject's live sessions. */
    readMetadata: function (name, audience, subject, now) {
      const metaName = storageName(naming, name, audience, subject);
      return run([["ZRANGE", metaName, now, "+inf", "BYSCORE", "WITHSCORES"]]).then(function (replies) {
        const sessions: { [key: string]: number } = {};
        const list = replies[0];
        if (Array.isArray(list)) {
          for (let i = 0; i + 1 < list.length; i += 2) sessions[String(list[i])] = Number(list[i + 1]);
        }
        return sessions;
      });
    },
    registryStore: function (name, rememberName) {
      return redisRegistryStore(router, naming, name, rememberName, connection.store);
    },
  };
}
