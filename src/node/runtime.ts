/**
 * The one Node set-up of the core, shared by the package (sessions.ts) and the CLI (src/cli/platform.ts):
 * the Node platform, the store transport under it (so that redis, with Sentinel and Cluster, and
 * memcached storages reach their servers as in nginx, over TLS or a unix socket too), and the built-in
 * storages registered. Also the one rule of what a Node process cannot reach: the options that name
 * nginx's shared memory.
 */

import type { SessionOptions } from "../core/options";
import type { Platform } from "../core/platform";
import { createNodePlatform, NodePlatformOptions } from "../platform/node";
import { createNodeStoreTransport, STORE_CONNECTION_OPTIONS, storeExchangeOf } from "../platform/node-store";
import { registerBuiltinStorages } from "../storage";

export interface NodeRuntime {
  platform: Platform;
  /** Closes the store connections kept idle (they never keep the process alive on their own). */
  close(): void;
}

export function createNodeRuntime(options: NodePlatformOptions = {}): NodeRuntime {
  registerBuiltinStorages();
  const transport = createNodeStoreTransport();
  const platform = createNodePlatform(options);
  platform.storeExchange = storeExchangeOf(transport);
  // Node makes its own store connections: TLS and unix sockets are options here, nginx.conf's in nginx.
  platform.storeConnectionOptions = STORE_CONNECTION_OPTIONS;
  return { platform: platform, close: transport.close };
}

/**
 * The options of these that name nginx's shared memory (js_shared_dict_zone), out of reach of a Node
 * process: shm storage, the session registry (and so revocation), the shared verified cache.
 * createSessions refuses them; the CLI, which reads nginx's own configuration, leaves them out.
 */
export function nginxZoneOptions(options: SessionOptions): Array<"storage" | "registry_zone" | "verified_cache_zone"> {
  const found: Array<"storage" | "registry_zone" | "verified_cache_zone"> = [];
  if (options.storage === "shm") found.push("storage");
  if (options.registry_zone !== undefined && options.registry_zone !== null) found.push("registry_zone");
  const cacheZone = (options as { verified_cache_zone?: unknown }).verified_cache_zone;
  if (cacheZone !== undefined && cacheZone !== null && cacheZone !== false) found.push("verified_cache_zone");
  return found;
}
