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
 */

import { configError } from "../core/errors";
import type { StorageOptions } from "../core/config";
import type { Platform, StoreRequest } from "../core/platform";
import type { Storage, StoreMetadata } from "../core/storage";
import { encodeCommand, isRespError, parseReplies, RespValue } from "./protocol/resp";
import { KeyNaming, readStorageOptions, storageName } from "./names";
import { exchange, rejectNginxSideOptions, roundTripTimeout, serverAddress, unavailable } from "./remote";

const DEFAULT_PORT = 6379;

type Command = Array<string | number>;

export function createRedisStorage(options: StorageOptions | undefined, platform: Platform): Storage {
  rejectNginxSideOptions("redis", options);
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
  });
  const target = serverAddress("redis", { host: read.host || "127.0.0.1", port: read.port === undefined ? DEFAULT_PORT : read.port }, DEFAULT_PORT);
  if (read.username !== undefined && read.password === undefined) throw configError("redis.username needs redis.password");
  if (read.bridge !== undefined && !/^http:\/\/[^/?#]+$/.test(read.bridge as string)) {
    throw configError('redis.bridge must be the store bridge\'s address, like "http://127.0.0.1:7379"');
  }
  const naming: KeyNaming = { prefix: read.prefix as string | undefined, suffix: read.suffix as string | undefined };
  const timeout = roundTripTimeout(read as { [name: string]: number });

  const prelude: Command[] = [];
  if (read.password !== undefined) {
    prelude.push(read.username !== undefined ? ["AUTH", read.username as string, read.password as string] : ["AUTH", read.password as string]);
  }
  if (read.database !== undefined) prelude.push(["SELECT", read.database as number]);
  let preludeText = "";
  for (let i = 0; i < prelude.length; i++) preludeText += encodeCommand(prelude[i]);

  /** Runs the commands as one pipeline; resolves to their replies, rejects if any is an error. */
  function run(commands: Command[]): Promise<RespValue[]> {
    let payload = preludeText;
    for (let i = 0; i < commands.length; i++) payload += encodeCommand(commands[i]);
    const request: StoreRequest = {
      protocol: "redis",
      target: target,
      payload: payload,
      commands: prelude.length + commands.length,
      prelude: prelude.length,
      timeout: timeout,
    };
    if (read.bridge !== undefined) request.bridge = read.bridge as string;
    return exchange(platform, "redis", request).then(function (bytes) {
      let replies: RespValue[];
      try {
        replies = parseReplies(bytes, commands.length);
      } catch (e) {
        throw unavailable(platform, "redis", target, "malformed reply");
      }
      for (let i = 0; i < replies.length; i++) {
        const reply = replies[i];
        // An error reply (out of memory, read-only replica, wrong type) means the store cannot serve.
        if (isRespError(reply)) throw unavailable(platform, "redis", target, String(commands[i][0]) + ": " + reply.error);
      }
      return replies;
    });
  }

  function metadataNames(name: string, metadata: StoreMetadata): string[] {
    const names: string[] = [];
    for (let i = 0; i < metadata.audiences.length; i++) names.push(storageName(naming, name, metadata.audiences[i], metadata.subjects[i]));
    return names;
  }

  return {
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
          const metaNames = metadataNames(name, metadata);
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
      return run([["GET", storageName(naming, name, key)]]).then(function (replies) {
        return typeof replies[0] === "string" ? replies[0] : null;
      });
    },
    delete: function (name, key, now, metadata) {
      const commands: Command[] = [["UNLINK", storageName(naming, name, key)]];
      if (metadata) {
        const metaNames = metadataNames(name, metadata);
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
  };
}
