/**
 * The stores a check view may name (shm storage, a zone registry), made by the very factories the full
 * configuration uses, and for redis or memcached the store-backed fast check of the full check
 * (fast-store-check.ts: storeCheckable; with store_revalidate, storeConfirmedAt and answerWithinBound;
 * the record's read in a part of its own, store-reads.ts).
 * A lazy part of its own inside the warm part (build/build.mjs compiles it into
 * njsSessionWarmStores(), declared within njsSessionWarm()): the warm check builds it only for a view
 * that names one of them, so that a location with cookie storage and no registry does not pay, on
 * each warm request under the njs engine, for the ~18 functions they bring (a function of a lazy part
 * costs the part's load ~550 instructions; docs/NOTES.md, issue 14, branch njstax).
 */

import { answerWithinBound, storeCheckable, storeConfirmedAt } from "../core/fast-store-check";
import type { WarmPlatform } from "../core/platform";
import { createRegistry } from "../core/shm-registry";
import type { Storage } from "../core/storage";
import { createNjsWarmPlatform } from "../platform/njs";
import { createShmStorage } from "../storage/shm";
import type { StoreReads } from "./store-reads";

/** store-reads.ts, compiled by build/build.mjs into this function of the part: built only for a read. */
declare function njsSessionStoreReads(): StoreReads;

export interface WarmStores {
  /** The platform the stores below are made with and called with: made with this part, not per view. */
  platform: WarmPlatform;
  createShmStorage: typeof createShmStorage;
  createRegistry: typeof createRegistry;
  /** The view's storage for redis or memcached with store_revalidate and no read route (below). */
  answeredStore: Storage;
  /** A redis or memcached record's read (store-reads.ts), built on first use by this load of the part. */
  reads(): StoreReads;
  storeCheckable: typeof storeCheckable;
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

/** store-reads.ts, built at most once per load of this part. */
let builtReads: StoreReads | null = null;

/**
 * The record's read: a part of its own, so that a view of shm storage or a registry, and
 * store_revalidate's answers within the bound, do not pay, on each warm request under the njs engine,
 * for its ~25 functions (the transport, the protocols' encoders and readers).
 */
function reads(): StoreReads {
  if (!builtReads) builtReads = njsSessionStoreReads();
  return builtReads;
}

const stores: WarmStores = {
  platform: createNjsWarmPlatform(),
  createShmStorage: createShmStorage,
  createRegistry: createRegistry,
  answeredStore: answeredStore,
  reads: reads,
  storeCheckable: storeCheckable,
  storeConfirmedAt: storeConfirmedAt,
  answerWithinBound: answerWithinBound,
};

export default stores;
