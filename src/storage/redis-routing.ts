/**
 * Where redis storage's commands go: one server, the master a set of Sentinels names, or the nodes of
 * a Redis Cluster by hash slot. Each router runs a list of commands and resolves to their replies in
 * the same order, or rejects with a StoreUnavailable error; redis.ts never knows which one it has.
 * This file: what every router shares (one pipeline on one server, the replies checked) and the
 * single-server router; redis-sentinel.ts and redis-cluster.ts the others, redis-topology.ts what
 * those two remember about the deployment.
 *
 *   single    every command, pipelined, to host:port (or a unix socket, where the platform takes one)
 */

import type { Platform, StoreRequest, StoreTls } from "../core/platform";
import { encodeCommand, isRespError, parseReplies, RespValue, singleBulkValue } from "./protocol/resp";
import type { StoreAsking, StoreReadRoute } from "../core/storage";
import type { KeyNaming } from "./names";
import { readRequest } from "./read-route";
import { answered, askValue, at, exchange, unavailable, valueAsked, valueReader } from "./remote";

export type Command = Array<string | number>;

export interface RedisRouter {
  run(commands: Command[]): Promise<RespValue[]>;
  /** GET key: the value, or null. */
  get(key: string): Promise<string | null>;
  /** GET key, its outcome handed to the asking's answer in the reply's step (Storage.ask); without it, get's. */
  ask?<T>(key: string, asking: StoreAsking<T>): Promise<T>;
  /** The single server's record read (Storage.readRoute): the other routers send reads to several. */
  route?: StoreReadRoute;
}

/** How to reach any server of the deployment: timeouts, the bridge in direct mode, the prelude. */
export interface Connection {
  platform: Platform;
  /** The deployment's name in logs and incidents ("redis 10.0.0.5:6379", "redis cluster 10.0.0.5:7000,..."). */
  store: string;
  timeout: number;
  bridge?: string;
  /** TLS to every server of the deployment (sentinels, master, cluster nodes alike), where the platform takes it. */
  tls?: StoreTls;
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

/** What checked() names a GET's error reply by (its first word). */
const GET_COMMAND: Command[] = [["GET"]];

/** A GET's reply on one server read: the value, or null; checked (every session check's read). */
function getValue(connection: Connection, target: string): (bytes: Uint8Array) => string | null {
  return function (bytes) {
    const value = singleBulkValue(bytes);
    if (value === undefined) return storedValue(checked(connection, target, GET_COMMAND, parsedReplies(connection, target, bytes, 1)));
    // A value or nil: no error reply, so checked() would find nothing.
    answered(connection.platform, connection.store);
    return value;
  };
}

/** A GET's reply as redis storage hands it on: the value, or null. */
export function storedValue(replies: RespValue[]): string | null {
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
  if (connection.tls !== undefined) request.tls = connection.tls;
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
export function checked(connection: Connection, target: string, commands: Command[], replies: RespValue[], endsIncident?: boolean): RespValue[] {
  for (let i = 0; i < replies.length; i++) {
    const reply = replies[i];
    if (isRespError(reply)) throw unavailable(connection.platform, connection.store, at(connection.store, target) + String(commands[i][0]) + ": " + reply.error);
  }
  if (endsIncident !== false) answered(connection.platform, connection.store);
  return replies;
}

/** `naming`: redis storage's, which the route hands the njs engine's warm check (read-route.ts). */
export function singleRouter(connection: Connection, target: string, naming: KeyNaming): RedisRouter {
  // Made once: a closure per read costs QuickJS more than the reading of a short reply.
  const readGet = valueReader(connection.platform, connection.store, target, getValue(connection, target));
  const route: StoreReadRoute = {
    protocol: "redis",
    target: target,
    store: connection.store,
    timeout: connection.timeout,
    bridge: connection.bridge,
    prelude: encodePrelude(connection.prelude),
    preludeCommands: connection.prelude.length,
    prefix: naming.prefix,
    suffix: naming.suffix,
  };
  if (connection.tls !== undefined) route.tls = connection.tls;
  function ask<T>(key: string, asking: StoreAsking<T>): Promise<T> {
    return askValue(connection.platform, connection.store, readRequest(route, key), readGet, asking);
  }
  return {
    route: route,
    run: function (commands) {
      return pipeline(connection, target, commands, undefined, true);
    },
    get: function (key) {
      return ask(key, valueAsked()) as Promise<string | null>;
    },
    ask: ask,
  };
}
