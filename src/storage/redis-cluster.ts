/**
 * The Cluster router: each command to the node owning its key's slot (CRC16 of the key or its
 * {hash tag}), one pipeline per node; the slot map comes from CLUSTER SLOTS of any known node and is
 * shared by the workers; MOVED updates it and retries, ASK retries once with ASKING.
 */

import { utf8Encode } from "../core/bytes";
import { configError, errorText, isStoreUnavailable } from "../core/errors";
import { retainedTable } from "../core/retained";
import { isRespError, RespValue } from "./protocol/resp";
import { answered, unavailable } from "./remote";
import { checked, Command, Connection, pipeline, RedisRouter, storedValue } from "./redis-routing";
import { topologyCache } from "./redis-topology";

/** CRC16/XMODEM's table, made on first use (retained.ts): only a cluster deployment needs it. */
function crc16Table(): number[] {
  const tables = retainedTable<number[]>("crc16", 1);
  let table = tables.get("xmodem");
  if (!table) {
    table = [];
    for (let i = 0; i < 256; i++) {
      let crc = i << 8;
      for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
      table.push(crc);
    }
    tables.set("xmodem", table);
  }
  return table;
}

function crc16(bytes: Uint8Array): number {
  const table = crc16Table();
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) crc = ((crc << 8) & 0xffff) ^ table[((crc >> 8) ^ bytes[i]) & 0xff];
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
      if (connection.tls !== undefined) known.tls = connection.tls;
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
