/**
 * What the Sentinel and Cluster routers remember about a deployment (a master's address, a slot map):
 * in the shared zone, so every worker follows a failover or a resharding at once, else in this
 * worker's memory (retained.ts).
 */

import type { Platform } from "../core/platform";
import { BoundedTable, retainedTable } from "../core/retained";
import type { SharedDict } from "../core/shared-dict";
import { DEFAULT_VERIFIED_CACHE_ZONE } from "../core/options";

/** Remembered topology (a master's address, a slot map): in the shared zone, else in module memory. */
export interface TopologyCache {
  get(key: string): string | undefined;
  set(key: string, value: string, ttlMs: number): void;
  forget(key: string): void;
}

/** Without the zone: remembered topology in this worker's memory. */
function topologyInMemory(): BoundedTable<{ value: string; until: number }> {
  // One entry per configured deployment (its master, its slot map); the bound is a backstop.
  return retainedTable<{ value: string; until: number }>("redis topology", 256);
}

export function topologyCache(platform: Platform): TopologyCache {
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
