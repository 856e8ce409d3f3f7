/**
 * What inspect and mint share to run the core outside nginx: the configuration without nginx's
 * shared state, and the request values a session bound to them (the `bind` option) needs.
 */

import type { MemoryRequest } from "../core/memory-exchange";
import { FLAG_BIND_IP, FLAG_BIND_SCHEME, FLAG_BIND_USER_AGENT } from "../core/format";
import type { SessionOptions } from "../core/options";
import { nginxZoneOptions } from "../node/runtime";
import type { Arguments } from "./args";
import { usage } from "./failure";

/**
 * The configuration without what lives in nginx's zones (src/node/runtime.ts), out of reach here: the
 * registry (so revocation is not checked here, and a minted session is not listed until nginx renews
 * it), the shared verified cache, and shm storage (read as cookie storage: a server-side cookie then
 * says it cannot be verified). File, redis and memcached storage are read and written where nginx
 * does, through the package's store transport.
 */
export function outsideNginx(options: SessionOptions): SessionOptions {
  const table: { [name: string]: unknown } = { ...options };
  const zones = nginxZoneOptions(options);
  delete table.registry_zone;
  table.verified_cache_entries = 0;
  table.verified_cache_zone = false;
  if (zones.indexOf("storage") >= 0 || !isServerSide(table.storage)) {
    table.storage = "cookie";
    table.store_metadata = false;
  }
  return table as SessionOptions;
}

/** Storage the CLI reaches as nginx does: a directory on this host, or a store server. */
export function isServerSide(storage: unknown): boolean {
  return storage === "file" || storage === "redis" || storage === "memcached";
}

/** --ip, --scheme and --user-agent as the request the session sees. */
export function bindRequestOptions(args: Arguments): MemoryRequest {
  return { remoteAddress: args.string("ip"), scheme: args.string("scheme"), userAgent: args.string("user-agent") };
}

/** The options a session with these bind flags needs and were not given. */
export function missingBindValues(flags: number, args: Arguments): string[] {
  const missing: string[] = [];
  if (flags & FLAG_BIND_IP && args.string("ip") === undefined) missing.push("--ip");
  if (flags & FLAG_BIND_SCHEME && args.string("scheme") === undefined) missing.push("--scheme");
  if (flags & FLAG_BIND_USER_AGENT && args.string("user-agent") === undefined) missing.push("--user-agent");
  return missing;
}

/** A session bound to request values cannot be sealed without them. */
export function checkBindValues(flags: number, args: Arguments): void {
  const missing = missingBindValues(flags, args);
  if (missing.length) throw usage("the session is bound to the client's request (bind): pass " + missing.join(", "));
}
