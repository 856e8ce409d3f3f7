/**
 * What inspect and mint share to run the core outside nginx: the configuration without nginx's
 * shared state, and the request values a session bound to them (the `bind` option) needs.
 */

import type { MemoryRequest } from "../core/memory-exchange";
import { FLAG_BIND_IP, FLAG_BIND_SCHEME, FLAG_BIND_USER_AGENT } from "../core/format";
import type { SessionOptions } from "../core/options";
import type { Arguments } from "./args";
import { usage } from "./failure";

/**
 * The configuration without what lives in nginx's zones, out of reach here: the registry (so
 * revocation is not checked, and a minted session is not listed until nginx renews it) and the
 * shared verified cache. Server-side storage can be read from here only when it is files on this host.
 */
export function outsideNginx(options: SessionOptions): SessionOptions {
  const table: { [name: string]: unknown } = { ...options };
  delete table.registry_zone;
  table.store_metadata = false;
  table.verified_cache_entries = 0;
  table.verified_cache_zone = false;
  if (table.storage !== "file") table.storage = "cookie";
  return table as SessionOptions;
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
