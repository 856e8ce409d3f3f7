/**
 * The session registry's operations in Redis (store-registry.ts's RegistryStore), beside
 * lua-resty-session's own store_metadata sorted set, which redis.ts keeps as the peer does
 * (`[prefix:]name:audience:subject[:suffix]`, session keys scored by expiry). The peer has nothing
 * for what the registry adds, so these two keys are ours; "@" cannot occur in a cookie name, a
 * session key or a base64url audience, so they never meet the peer's:
 *
 *   [prefix:]name:@sessions:audience:subject[:suffix]  HASH  creation time → entry JSON (registry.ts)
 *   [prefix:]name:@revoked:audience:subject[:suffix]   ZSET  "all" scored by the cut-off; each singly
 *                                                            revoked creation time scored by itself
 *
 * A hash field per session and set members for revocations: every write is one command that cannot
 * lose a concurrent writer's entry (HSETNX reserves a creation time). ZADD GT raises the cut-off only.
 * ZADD GT and ZMSCORE need Redis 6.2, as the peer's ZRANGE ... BYSCORE already does.
 */

import type { CheckedRecord, Revocations } from "../core/registry";
import type { RegistryStore } from "../core/store-registry";
import type { RespValue } from "./protocol/resp";
import { KeyNaming, storageName } from "./names";
import type { Command, RedisRouter } from "./redis-routing";

const CUTOFF_MEMBER = "all";

/** A score reply (RESP2: a bulk string) as a number; null when absent. */
function score(value: RespValue | undefined): number | null {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return null;
  const parsed = Number(value);
  return parsed === parsed ? parsed : null;
}

/** ZMSCORE's reply for [CUTOFF_MEMBER, created]: whether `created` is revoked. */
function revokedBy(reply: RespValue | undefined, created: number): boolean {
  if (!Array.isArray(reply)) return false;
  const cutoff = score(reply[0]);
  return (cutoff !== null && created <= cutoff) || score(reply[1]) !== null;
}

export function redisRegistryStore(router: RedisRouter, naming: KeyNaming, name: string, rememberName: string, store: string): RegistryStore {
  function entriesKey(audience: string, subject: string): string {
    return storageName(naming, name, "@sessions:" + audience, subject);
  }
  function revokedKey(audience: string, subject: string): string {
    return storageName(naming, name, "@revoked:" + audience, subject);
  }
  /**
   * Deletes records of cookie `cookieName` and takes them off the peer's sorted set of the subject:
   * the keys given, or every key the set names, and the set.
   */
  function dropFrom(cookieName: string, audience: string, subject: string, keys: string[] | "all"): Promise<void> {
    const metadataKey = storageName(naming, cookieName, audience, subject);
    const listed: Promise<string[]> =
      keys === "all"
        ? router.run([["ZRANGE", metadataKey, 0, -1]]).then(function (replies) {
            return Array.isArray(replies[0]) ? replies[0].map(String) : [];
          })
        : Promise.resolve(keys);
    return listed.then(function (sessionKeys): Promise<void> | void {
      const commands: Command[] = [];
      for (let i = 0; i < sessionKeys.length; i++) commands.push(["UNLINK", storageName(naming, cookieName, sessionKeys[i])]);
      if (keys === "all") commands.push(["UNLINK", metadataKey]);
      else if (sessionKeys.length) commands.push((["ZREM", metadataKey] as Command).concat(sessionKeys));
      if (commands.length) return router.run(commands).then(function () {});
    });
  }

  function checkCommand(audience: string, subject: string, created: number): Command {
    return ["ZMSCORE", revokedKey(audience, subject), CUTOFF_MEMBER, String(created)];
  }

  return {
    store: store,
    entries: function (audience, subject) {
      return router.run([["HGETALL", entriesKey(audience, subject)]]).then(function (replies) {
        const out: { [created: string]: string } = {};
        const list = replies[0];
        if (Array.isArray(list)) {
          for (let i = 0; i + 1 < list.length; i += 2) if (typeof list[i + 1] === "string") out[String(list[i])] = list[i + 1] as string;
        }
        return out;
      });
    },
    entry: function (audience, subject, created) {
      return router.run([["HGET", entriesKey(audience, subject), String(created)]]).then(function (replies) {
        return typeof replies[0] === "string" ? replies[0] : null;
      });
    },
    addEntry: function (audience, subject, created, text, ttl) {
      const key = entriesKey(audience, subject);
      return router.run([["HSETNX", key, String(created), text], ["EXPIRE", key, ttl]]).then(function (replies) {
        return replies[0] === 1;
      });
    },
    putEntry: function (audience, subject, created, text, ttl) {
      const key = entriesKey(audience, subject);
      return router.run([["HSET", key, String(created), text], ["EXPIRE", key, ttl]]).then(function () {});
    },
    dropEntries: function (audience, subject, created) {
      const command: Command = ["HDEL", entriesKey(audience, subject)];
      for (let i = 0; i < created.length; i++) command.push(String(created[i]));
      return router.run([command]).then(function () {});
    },
    revocations: function (audience, subject) {
      return router.run([["ZRANGE", revokedKey(audience, subject), 0, -1, "WITHSCORES"]]).then(function (replies) {
        const out: Revocations = {};
        const single: number[] = [];
        const list = replies[0];
        if (Array.isArray(list)) {
          for (let i = 0; i + 1 < list.length; i += 2) {
            const value = score(list[i + 1]);
            if (value === null) continue;
            if (list[i] === CUTOFF_MEMBER) out.a = value;
            else single.push(value);
          }
        }
        if (single.length) out.c = single;
        return out;
      });
    },
    revoke: function (audience, subject, cutoff, single, forgetBefore, ttl) {
      const key = revokedKey(audience, subject);
      const commands: Command[] = [];
      if (cutoff !== undefined) commands.push(["ZADD", key, "GT", cutoff, CUTOFF_MEMBER]);
      if (single.length) {
        const add: Command = ["ZADD", key];
        for (let i = 0; i < single.length; i++) add.push(single[i], String(single[i]));
        commands.push(add);
      }
      commands.push(["ZREMRANGEBYSCORE", key, "-inf", "(" + forgetBefore], ["EXPIRE", key, ttl]);
      return router.run(commands).then(function () {});
    },
    isRevoked: function (audience, subject, created) {
      return router.run([checkCommand(audience, subject, created)]).then(function (replies) {
        return revokedBy(replies[0], created);
      });
    },
    dropRecords: function (audience, subject, keys) {
      return Promise.all([
        dropFrom(name, audience, subject, keys === "all" ? "all" : keys.session),
        dropFrom(rememberName, audience, subject, keys === "all" ? "all" : keys.remember),
      ]).then(function () {});
    },
    readChecked: function (recordName, key, audience, subject, created): Promise<CheckedRecord> {
      return router.run([["GET", storageName(naming, recordName, key)], checkCommand(audience, subject, created)]).then(function (replies) {
        return { stored: typeof replies[0] === "string" ? replies[0] : null, revoked: revokedBy(replies[1], created) };
      });
    },
  };
}
