/**
 * A redis or memcached record's read for the njs engine's warm check (warm.ts): the view's storage
 * for a location with a read route (check-view.ts), and the full check's own asking and judging
 * (fast-store-check.ts askStore and storeVerdict). A lazy part of its own inside warm-stores.ts
 * (build/build.mjs compiles it into njsSessionStoreReads()), built only for such a read.
 */

import { askStore, storeVerdict } from "../core/fast-store-check";
import { DEFAULT_VERIFIED_CACHE_ZONE } from "../core/options";
import type { StoreReader, StoreReadPlatform, WarmPlatform } from "../core/platform";
import type { Storage, StoreAsking, StoreReadRoute } from "../core/storage";
import { createNjsStoreReadPlatform } from "../platform/njs";
import { incidentKey } from "../storage/incident-key";
import { storageName } from "../storage/names";
import { readRequest, routedValue } from "../storage/read-route";

export interface StoreReads {
  /** The platform the reads are made with: the warm stores' members and the store transport. */
  platform: StoreReadPlatform;
  /** The view's storage for redis or memcached with a read route (below). */
  routedStore: typeof routedStore;
  askStore: typeof askStore;
  storeVerdict: typeof storeVerdict;
}

function notAsked(): never {
  throw new Error("the warm check only reads a record");
}

/**
 * A routed read the store could not answer (the transport failed, or the bridge answered its error):
 * what the warm check hands the full check, which fails closed with it as its own read would
 * (check.ts storeFailed: the incident logged once, store_unavailable_status), instead of asking again
 * and making a request wait out the round trip's budget twice.
 */
export interface StoreFailure {
  route: StoreReadRoute;
  reason: unknown;
}

/**
 * The warm view's storage for redis or memcached with a read route (Storage.readRoute): a session's
 * record asked for as the storage itself asks (read-route.ts), through the platform's store transport.
 * A reply that is no plain value or none (an error reply, a reply cut short), and any reply during an
 * incident (its end is logged by the full check's read, where it was opened), go to the asking's answer
 * as no record (undefined): no session passes on it, and the full check asks again and decides. A
 * round trip that failed goes to answer.failed, as the storage's own read hands it on.
 */
function routedStore(route: StoreReadRoute, platform: StoreReadPlatform): Storage {
  const reader: StoreReader<StoreAsking<unknown>, unknown> = {
    read: function (replies, asking) {
      let value: string | null | undefined;
      try {
        value = routedValue(route, replies);
      } catch (e) {
        value = undefined;
      }
      return asking.answer.stored(asking, value === undefined || incidentOpen(platform, route.store) ? undefined : value);
    },
    failed: function (e, asking) {
      return asking.answer.failed(asking, e);
    },
  };
  return {
    synchronous: false,
    readRoute: route,
    get: notAsked,
    set: notAsked,
    delete: notAsked,
    ask: function <T>(name: string, key: string, now: number, host: unknown, asking: StoreAsking<T>): Promise<T> {
      return platform.storeExchange(readRequest(route, storageName(route, name, key)), reader as StoreReader<StoreAsking<T>, T>, asking);
    },
  };
}

/** Whether the store's incident mark (remote.ts) is in the zone: an incident logged and not yet over. */
function incidentOpen(platform: WarmPlatform, store: string): boolean {
  const dict = platform.sharedDict ? platform.sharedDict(DEFAULT_VERIFIED_CACHE_ZONE) : undefined;
  try {
    return dict !== undefined && dict.get(incidentKey(store)) !== undefined;
  } catch (e) {
    return true;
  }
}

const reads: StoreReads = {
  platform: createNjsStoreReadPlatform(),
  routedStore: routedStore,
  askStore: askStore,
  storeVerdict: storeVerdict,
};

export default reads;
