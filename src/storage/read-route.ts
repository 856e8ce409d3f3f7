/**
 * A session record's read from a store of one server (Storage.readRoute): the request that asks for
 * it, and the record its reply holds. redis and memcached storage read their records with these, and
 * so does the njs engine's warm check, which has the route from the location's view (check-view.ts)
 * and no storage: one way to ask, whoever asks.
 */

import type { StoreRequest } from "../core/platform";
import type { StoreReadRoute } from "../core/storage";
import { encodeMeta, singleMetaValue } from "./protocol/memcached";
import { encodeCommand, singleBulkValue } from "./protocol/resp";

/** `mg <key> v`'s flags: the value only. */
const VALUE_FLAGS = ["v"];

/**
 * The request reading the record named `sessionName`: names.ts storageName's name of the key, with the
 * route's naming (the route is a KeyNaming: its prefix and suffix).
 */
export function readRequest(route: StoreReadRoute, sessionName: string): StoreRequest {
  const request: StoreRequest = {
    protocol: route.protocol,
    target: route.target,
    payload: route.prelude + (route.protocol === "redis" ? encodeCommand(["GET", sessionName]) : encodeMeta("mg", sessionName, VALUE_FLAGS)),
    commands: route.preludeCommands + 1,
    prelude: route.preludeCommands,
    timeout: route.timeout,
  };
  if (route.bridge !== undefined) request.bridge = route.bridge;
  if (route.tls !== undefined) request.tls = route.tls;
  return request;
}

/**
 * The record a read's reply holds, read in one pass: the value, null when there is none, undefined for
 * any other reply (an error reply among them: the storage's own reading then decides).
 */
export function routedValue(route: StoreReadRoute, replies: Uint8Array): string | null | undefined {
  return route.protocol === "redis" ? singleBulkValue(replies) : singleMetaValue(replies);
}
