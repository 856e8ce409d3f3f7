/**
 * The Sentinel router: `SENTINEL get-master-addr-by-name <master>` asked of the sentinels in turn; the
 * answer is remembered for a second (shared by the workers), and forgotten at once when the master
 * stops answering or answers as a replica (READONLY): a failover is followed within a second.
 */

import { errorText, isStoreUnavailable } from "../core/errors";
import { isRespError, RespValue } from "./protocol/resp";
import { unavailable } from "./remote";
import { checked, Command, Connection, pipeline, RedisRouter, storedValue } from "./redis-routing";
import { topologyCache } from "./redis-topology";

/** How long a master's address is trusted without asking a sentinel again. */
const MASTER_ADDRESS_MS = 1000;
/** Errors from a server that is no longer the master (or not ready to be one). */
const NOT_MASTER = /^(READONLY|LOADING|MASTERDOWN)\b/;

export interface SentinelOptions {
  master: string;
  sentinels: string[];
  sentinelPrelude: Command[];
}

export function sentinelRouter(connection: Connection, options: SentinelOptions): RedisRouter {
  const cache = topologyCache(connection.platform);
  const cacheKey = "@redis-master:" + options.master + ":" + options.sentinels.join(",");

  /** The master's host:port, from the first sentinel that knows it. */
  function discover(): Promise<string> {
    const reasons: string[] = [];
    function ask(index: number): Promise<string> {
      if (index >= options.sentinels.length) {
        return Promise.reject(unavailable(connection.platform, connection.store, "no sentinel named a master \"" + options.master + "\" (" + reasons.join("; ") + ")"));
      }
      const sentinel = options.sentinels[index];
      return pipeline(connection, sentinel, [["SENTINEL", "get-master-addr-by-name", options.master]], options.sentinelPrelude).then(
        function (replies) {
          const address = replies[0];
          if (Array.isArray(address) && address.length === 2) {
            const host = String(address[0]);
            return (host.indexOf(":") >= 0 ? "[" + host + "]" : host) + ":" + String(address[1]);
          }
          reasons.push(sentinel + ": " + (isRespError(address) ? address.error : "unknown master"));
          return ask(index + 1);
        },
        function (e) {
          reasons.push(sentinel + ": " + errorText(e));
          return ask(index + 1);
        },
      );
    }
    return ask(0);
  }

  function master(): Promise<string> {
    const known = cache.get(cacheKey);
    if (known) return Promise.resolve(known);
    return discover().then(function (address) {
      cache.set(cacheKey, address, MASTER_ADDRESS_MS);
      return address;
    });
  }

  function attempt(commands: Command[], retry: boolean): Promise<RespValue[]> {
    return master().then(function (target) {
      return pipeline(connection, target, commands).then(
        function (replies) {
          for (let i = 0; i < replies.length; i++) {
            const reply = replies[i];
            if (isRespError(reply) && NOT_MASTER.test(reply.error) && retry) {
              // A failover under way: ask the sentinels again, once.
              cache.forget(cacheKey);
              return attempt(commands, false);
            }
          }
          return checked(connection, target, commands, replies);
        },
        function (e) {
          cache.forget(cacheKey);
          if (retry && isStoreUnavailable(e)) return attempt(commands, false);
          throw e;
        },
      );
    });
  }

  return {
    run: function (commands) {
      return attempt(commands, true);
    },
    get: function (key) {
      return attempt([["GET", key]], true).then(storedValue);
    },
  };
}

/** CRC16-CCITT (XMODEM), as Redis Cluster hashes keys. */
