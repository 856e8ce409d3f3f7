/**
 * The stores a check view may name (shm storage, a zone registry), made by the very factories the full
 * configuration uses, and for redis or memcached the store-backed fast check of the full check
 * (fast-store-check.ts: storeCheckable, askStore and storeVerdict; with store_revalidate,
 * storeConfirmedAt and answerWithinBound).
 * A lazy part of its own inside the warm part (build/build.mjs compiles it into
 * njsSessionWarmStores(), declared within njsSessionWarm()): the warm check builds it only for a view
 * that names one of them, so that a location with cookie storage and no registry does not pay, on
 * each warm request under the njs engine, for the ~18 functions they bring (a function of a lazy part
 * costs the part's load ~550 instructions; docs/NOTES.md, issue 14, branch njstax).
 */

import { askStore, answerWithinBound, storeCheckable, storeConfirmedAt, storeVerdict } from "../core/fast-store-check";
import { DEFAULT_VERIFIED_CACHE_ZONE } from "../core/options";
import type { StoreReader, WarmPlatform } from "../core/platform";
import { createRegistry } from "../core/shm-registry";
import type { Storage, StoreAsking, StoreReadRoute } from "../core/storage";
import { createNjsWarmPlatform } from "../platform/njs";
import { incidentKey } from "../storage/incident-key";
import { readRequest, routedName, routedValue } from "../storage/read-route";
import { createShmStorage } from "../storage/shm";

export interface WarmStores {
  /** The platform the stores below are made with and called with: made with this part, not per view. */
  platform: WarmPlatform;
  createShmStorage: typeof createShmStorage;
  createRegistry: typeof createRegistry;
  /** The view's storage for redis or memcached with store_revalidate and no read route (below). */
  answeredStore: Storage;
  /** The view's storage for redis or memcached with a read route (below). */
  routedStore: typeof routedStore;
  storeCheckable: typeof storeCheckable;
  askStore: typeof askStore;
  storeVerdict: typeof storeVerdict;
  storeConfirmedAt: typeof storeConfirmedAt;
  answerWithinBound: typeof answerWithinBound;
}

function notAsked(): never {
  throw new Error("the warm check does not ask the store");
}

/**
 * The warm view's storage for redis or memcached without a read route (a registry in the store, several
 * servers, read_locations): never read (the warm check only answers within store_revalidate, from what
 * the full check's store read confirmed), but there, and asynchronous as the real one is, for the checks
 * that look at the storage's kind (the storage flag, a record answered).
 */
const answeredStore: Storage = { synchronous: false, get: notAsked, set: notAsked, delete: notAsked };

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
function routedStore(route: StoreReadRoute, platform: WarmPlatform): Storage {
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
      // The warm stores' platform always has the transport; without one, nothing passes here.
      if (!platform.storeExchange) return Promise.resolve(asking.answer.stored(asking, undefined));
      return platform.storeExchange(readRequest(route, routedName(route, name, key)), reader as StoreReader<StoreAsking<T>, T>, asking);
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

const stores: WarmStores = {
  platform: createNjsWarmPlatform(),
  createShmStorage: createShmStorage,
  createRegistry: createRegistry,
  answeredStore: answeredStore,
  routedStore: routedStore,
  storeCheckable: storeCheckable,
  askStore: askStore,
  storeVerdict: storeVerdict,
  storeConfirmedAt: storeConfirmedAt,
  answerWithinBound: answerWithinBound,
};

export default stores;
