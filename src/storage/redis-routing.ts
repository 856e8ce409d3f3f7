/**
 * Where redis storage's commands go: one server, the master a set of Sentinels names, or the nodes of
 * a Redis Cluster by hash slot. Each router runs a list of commands and resolves to their replies in
 * the same order, or rejects with a StoreUnavailable error; redis.ts never knows which one it has.
 *
 *   single    every command, pipelined, to host:port
 *   sentinel  `SENTINEL get-master-addr-by-name <master>` asked of the sentinels in turn; the answer is
 *             remembered for a second (shared by the workers), and forgotten at once when the master
 *             stops answering or answers as a replica (READONLY): a failover is followed within a second
 *   cluster   each command to the node owning its key's slot (CRC16 of the key or its {hash tag}),
 *             one pipeline per node; the slot map comes from CLUSTER SLOTS of any known node and is
 *             shared by the workers; MOVED updates it and retries, ASK retries once with ASKING
 */

import { utf8Encode } from "../core/bytes";
import { configError, errorText, isStoreUnavailable } from "../core/errors";
import type { Platform, StoreRequest } from "../core/platform";
import { BoundedTable, retainedTable } from "../core/retained";
import type { SharedDict } from "../core/shared-dict";
import { DEFAULT_VERIFIED_CACHE_ZONE } from "../core/options";
import { encodeCommand, isRespError, parseReplies, RespValue } from "./protocol/resp";
import { answered, at, exchange, unavailable } from "./remote";

export type Command = Array<string | number>;

export interface RedisRouter {
  run(commands: Command[]): Promise<RespValue[]>;
  /** GET key: the value, or null. */
  get(key: string): Promise<string | null>;
}

/** How to reach any server of the deployment: timeouts, the bridge in direct mode, the prelude. */
export interface Connection {
  platform: Platform;
  /** The deployment's name in logs and incidents ("redis 10.0.0.5:6379", "redis cluster 10.0.0.5:7000,..."). */
  store: string;
  timeout: number;
  bridge?: string;
  /** AUTH / SELECT, as commands, run first on every connection (by the bridge, once per connection). */
  prelude: Command[];
}

function encodePrelude(prelude: Command[]): string {
  let text = "";
  for (let i = 0; i < prelude.length; i++) text += encodeCommand(prelude[i]);
  return text;
}

/**
 * One pipeline on one server: its replies, error replies included (the router decides about them),
 * or with `checkReplies`, checked() in the same step.
 */
export function pipeline(connection: Connection, target: string, commands: Command[], prelude?: Command[], checkReplies?: boolean): Promise<RespValue[]> {
  return exchange(connection.platform, connection.store, storeRequest(connection, target, commands, prelude || connection.prelude), function (bytes) {
    const replies = parsedReplies(connection, target, bytes, commands.length);
    return checkReplies ? checked(connection, target, commands, replies) : replies;
  });
}

/** GET on one server: the value, or null; checked, in one promise step (every session check's read). */
function getValue(connection: Connection, target: string, key: string): Promise<string | null> {
  const commands: Command[] = [["GET", key]];
  return exchange(connection.platform, connection.store, storeRequest(connection, target, commands, connection.prelude), function (bytes) {
    return storedValue(checked(connection, target, commands, parsedReplies(connection, target, bytes, 1)));
  });
}

/** A GET's reply as redis storage hands it on: the value, or null. */
function storedValue(replies: RespValue[]): string | null {
  return typeof replies[0] === "string" ? replies[0] : null;
}

function storeRequest(connection: Connection, target: string, commands: Command[], setUp: Command[]): StoreRequest {
  let payload = encodePrelude(setUp);
  for (let i = 0; i < commands.length; i++) payload += encodeCommand(commands[i]);
  const request: StoreRequest = {
    protocol: "redis",
    target: target,
    payload: payload,
    commands: setUp.length + commands.length,
    prelude: setUp.length,
    timeout: connection.timeout,
  };
  if (connection.bridge !== undefined) request.bridge = connection.bridge;
  return request;
}

/** Exactly `count` replies, or the store is unavailable (a reply we cannot read is no answer). */
function parsedReplies(connection: Connection, target: string, bytes: Uint8Array, count: number): RespValue[] {
  try {
    return parseReplies(bytes, count);
  } catch (e) {
    throw unavailable(connection.platform, connection.store, at(connection.store, target) + "malformed reply");
  }
}

/**
 * Rejects on the first error reply: out of memory, a read-only replica, still loading its data: the
 * store cannot serve. Otherwise it did, which ends an incident (a sentinel or a cluster node telling
 * where things are does not: only session commands come here).
 */
function checked(connection: Connection, target: string, commands: Command[], replies: RespValue[], endsIncident?: boolean): RespValue[] {
  for (let i = 0; i < replies.length; i++) {
    const reply = replies[i];
    if (isRespError(reply)) throw unavailable(connection.platform, connection.store, at(connection.store, target) + String(commands[i][0]) + ": " + reply.error);
  }
  if (endsIncident !== false) answered(connection.platform, connection.store);
  return replies;
}

export function singleRouter(connection: Connection, target: string): RedisRouter {
  return {
    run: function (commands) {
      return pipeline(connection, target, commands, undefined, true);
    },
    get: function (key) {
      return getValue(connection, target, key);
    },
  };
}

/** Remembered topology (a master's address, a slot map): in the shared zone, else in module memory. */
interface TopologyCache {
  get(key: string): string | undefined;
  set(key: string, value: string, ttlMs: number): void;
  forget(key: string): void;
}

/** Without the zone: remembered topology in this worker's memory. */
function topologyInMemory(): BoundedTable<{ value: string; until: number }> {
  // One entry per configured deployment (its master, its slot map); the bound is a backstop.
  return retainedTable<{ value: string; until: number }>("redis topology", 256);
}

function topologyCache(platform: Platform): TopologyCache {
  function dict(): SharedDict | undefined {
    return platform.sharedDict ? platform.sharedDict(DEFAULT_VERIFIED_CACHE_ZONE) : undefined;
  }
  return {
    get: function (key) {
      const shared = dict();
      if (shared) {
        try {
          const value = shared.get(key);
          return typeof value === "string" ? value : undefined;
        } catch (e) {
          // Fall through to memory.
        }
      }
      const known = topologyInMemory().get(key);
      return known && known.until > Date.now() ? known.value : undefined;
    },
    set: function (key, value, ttlMs) {
      const shared = dict();
      if (shared) {
        try {
          shared.set(key, value, ttlMs);
          return;
        } catch (e) {
          // A full zone: memory.
        }
      }
      topologyInMemory().set(key, { value: value, until: Date.now() + ttlMs });
    },
    forget: function (key) {
      const shared = dict();
      if (shared) {
        try {
          shared.delete(key);
        } catch (e) {
          // Nothing to forget there.
        }
      }
      topologyInMemory().delete(key);
    },
  };
}

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
const CRC16_TABLE: number[] = [];
function crc16(bytes: Uint8Array): number {
  if (CRC16_TABLE.length === 0) {
    for (let i = 0; i < 256; i++) {
      let crc = i << 8;
      for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
      CRC16_TABLE.push(crc);
    }
  }
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ bytes[i]) & 0xff];
  return crc;
}

export const SLOT_COUNT = 16384;

/** The hash slot of a key: of its {hash tag} when it has a non-empty one. */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  if (open >= 0) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) key = key.substring(open + 1, close);
  }
  return crc16(utf8Encode(key)) % SLOT_COUNT;
}

/** The slot map: [first slot, last slot, "host:port" of its master] ranges. */
type SlotRanges = Array<[number, number, string]>;

function nodeOf(ranges: SlotRanges, slot: number): string | undefined {
  for (let i = 0; i < ranges.length; i++) if (slot >= ranges[i][0] && slot <= ranges[i][1]) return ranges[i][2];
  return undefined;
}

/** How long a slot map is trusted before it is read again, redirections aside. */
const SLOT_MAP_MS = 60000;
const MAX_REDIRECTIONS = 5;

export interface ClusterOptions {
  nodes: string[];
  maxRedirections?: number;
}

export function clusterRouter(connection: Connection, options: ClusterOptions): RedisRouter {
  const cache = topologyCache(connection.platform);
  const cacheKey = "@redis-slots:" + options.nodes.join(",");
  const maxRedirections = options.maxRedirections || MAX_REDIRECTIONS;
  /**
   * A master that fails is an incident of its own: the others serving does not end it (their sessions
   * are fine; its sessions fail closed until it answers again).
   */
  const nodeConnections: { [node: string]: Connection } = {};
  function nodeConnection(node: string): Connection {
    let known = nodeConnections[node];
    if (!known) {
      known = { platform: connection.platform, store: "redis cluster node " + node, timeout: connection.timeout, prelude: connection.prelude };
      if (connection.bridge !== undefined) known.bridge = connection.bridge;
      nodeConnections[node] = known;
    }
    return known;
  }

  /** A node's answers to its commands: redirections aside, any error reply means it cannot serve. */
  function nodeAnswers(node: string, commands: Command[]): Promise<RespValue[]> {
    const nodeLink = nodeConnection(node);
    return pipeline(nodeLink, node, commands).then(function (answers) {
      for (let i = 0; i < answers.length; i++) {
        const answer = answers[i];
        if (isRespError(answer) && !/^(MOVED|ASK) /.test(answer.error) && commands[i][0] !== "ASKING") {
          throw unavailable(connection.platform, nodeLink.store, String(commands[i][0]) + ": " + answer.error);
        }
      }
      answered(connection.platform, nodeLink.store);
      return answers;
    });
  }

  /** CLUSTER SLOTS of the first node that answers: known masters first, then the configured seeds. */
  function readSlotMap(): Promise<SlotRanges> {
    const known = cache.get(cacheKey);
    const candidates: string[] = [];
    if (known) {
      const ranges = JSON.parse(known) as SlotRanges;
      for (let i = 0; i < ranges.length; i++) if (candidates.indexOf(ranges[i][2]) < 0) candidates.push(ranges[i][2]);
    }
    for (let i = 0; i < options.nodes.length; i++) if (candidates.indexOf(options.nodes[i]) < 0) candidates.push(options.nodes[i]);
    const reasons: string[] = [];
    function ask(index: number): Promise<SlotRanges> {
      if (index >= candidates.length) {
        return Promise.reject(unavailable(connection.platform, connection.store, "no node gave the slot map (" + reasons.join("; ") + ")"));
      }
      return pipeline(connection, candidates[index], [["CLUSTER", "SLOTS"]]).then(
        function (replies) {
          const slots = replies[0];
          if (!Array.isArray(slots) || slots.length === 0) {
            reasons.push(candidates[index] + ": " + (isRespError(slots) ? slots.error : "no slots"));
            return ask(index + 1);
          }
          const ranges: SlotRanges = [];
          for (let i = 0; i < slots.length; i++) {
            const range = slots[i] as RespValue[];
            const master = range[2] as RespValue[];
            const host = String(master[0]) || candidates[index].substring(0, candidates[index].lastIndexOf(":"));
            ranges.push([Number(range[0]), Number(range[1]), (host.indexOf(":") >= 0 ? "[" + host + "]" : host) + ":" + String(master[1])]);
          }
          cache.set(cacheKey, JSON.stringify(ranges), SLOT_MAP_MS);
          return ranges;
        },
        function (e) {
          reasons.push(candidates[index] + ": " + errorText(e));
          return ask(index + 1);
        },
      );
    }
    return ask(0);
  }

  function slotMap(): Promise<SlotRanges> {
    const known = cache.get(cacheKey);
    return known ? Promise.resolve(JSON.parse(known) as SlotRanges) : readSlotMap();
  }

  /** The commands' replies, each command sent to its slot's node (`asking`: one-off ASK targets). */
  function runMapped(commands: Command[], ranges: SlotRanges, redirections: number): Promise<RespValue[]> {
    const groups: { [node: string]: number[] } = {};
    const nodes: string[] = [];
    for (let i = 0; i < commands.length; i++) {
      const node = nodeOf(ranges, keySlot(String(commands[i][1])));
      if (node === undefined) return Promise.reject(unavailable(connection.platform, connection.store, "slot " + keySlot(String(commands[i][1])) + " is not served"));
      if (!groups[node]) {
        groups[node] = [];
        nodes.push(node);
      }
      groups[node].push(i);
    }
    const replies: RespValue[] = new Array(commands.length);
    const redirected: Array<{ index: number; kind: string; node: string }> = [];
    const work = nodes.map(function (node) {
      const indexes = groups[node];
      const batch = indexes.map(function (index) {
        return commands[index];
      });
      return nodeAnswers(node, batch).then(function (answers) {
        for (let i = 0; i < answers.length; i++) {
          const answer = answers[i];
          const redirect = isRespError(answer) ? /^(MOVED|ASK) [0-9]+ (\S+)$/.exec(answer.error) : null;
          if (redirect) redirected.push({ index: indexes[i], kind: redirect[1], node: redirect[2] });
          else replies[indexes[i]] = answer;
        }
      });
    });
    return Promise.all(work).then(function () {
      if (redirected.length === 0) return checkedAll(commands, replies);
      if (redirections >= maxRedirections) throw unavailable(connection.platform, connection.store, "too many redirections");
      const moved = redirected.some(function (item) {
        return item.kind === "MOVED";
      });
      // MOVED: the map is stale; read it again (the redirections point to where the keys are now).
      if (moved) cache.forget(cacheKey);
      return Promise.all(
        redirected.map(function (item) {
          const command = commands[item.index];
          const retried =
            item.kind === "ASK"
              ? nodeAnswers(item.node, [["ASKING"], command]).then(function (answers) {
                  return answers[1];
                })
              : nodeAnswers(item.node, [command]).then(function (answers) {
                  return answers[0];
                });
          return retried.then(function (answer) {
            if (isRespError(answer) && /^(MOVED|ASK) /.test(answer.error)) {
              // Still moving: start over from a fresh map.
              return readSlotMap().then(function (fresh) {
                return runMapped([command], fresh, redirections + 1).then(function (answers) {
                  replies[item.index] = answers[0];
                });
              });
            }
            replies[item.index] = answer;
            return undefined;
          });
        }),
      ).then(function () {
        if (moved) readSlotMap().then(undefined, function () {});
        return checkedAll(commands, replies);
      });
    });
  }

  /** Every reply is in; the nodes that served have ended their incidents already (nodeAnswers). */
  function checkedAll(commands: Command[], replies: RespValue[]): RespValue[] {
    return checked(connection, "", commands, replies, false);
  }

  function run(commands: Command[]): Promise<RespValue[]> {
    return slotMap()
      .then(function (ranges) {
        return runMapped(commands, ranges, 0);
      })
      .then(undefined, function (e) {
        // A node gone (failover, removal): read the map again and try once more.
        if (!isStoreUnavailable(e)) throw e;
        cache.forget(cacheKey);
        return readSlotMap().then(function (ranges) {
          return runMapped(commands, ranges, 0);
        });
      });
  }

  return {
    run: run,
    get: function (key) {
      return run([["GET", key]]).then(storedValue);
    },
  };
}

/** Sentinel and cluster need node lists; a cluster has one database. */
export function checkClusterOptions(database: unknown): void {
  if (database !== undefined && database !== 0) throw configError("redis.database: a Redis Cluster has only database 0");
}
