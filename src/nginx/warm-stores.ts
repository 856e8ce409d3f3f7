/**
 * The stores a check view may name (shm storage, a zone registry), made by the very factories the full
 * configuration uses, and for redis or memcached with store_revalidate the answer within the bound
 * (fast-store-check.ts's storeCheckable, storeConfirmedAt and answerWithinBound, the full check's own).
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

export interface WarmStores {
  /** The platform the stores below are made with and called with: made with this part, not per view. */
  platform: WarmPlatform;
  createShmStorage: typeof createShmStorage;
  createRegistry: typeof createRegistry;
  /** The view's storage for redis or memcached (below). */
  answeredStore: Storage;
  storeCheckable: typeof storeCheckable;
  storeConfirmedAt: typeof storeConfirmedAt;
  answerWithinBound: typeof answerWithinBound;
}

function notAsked(): never {
  throw new Error("the warm check does not ask the store");
}

/**
 * The warm view's storage for redis or memcached: never read (the warm check only answers within
 * store_revalidate, from what the full check's store read confirmed), but there, and asynchronous as
 * the real one is, for the checks that look at the storage's kind (the storage flag, a record answered).
 */
const answeredStore: Storage = { synchronous: false, get: notAsked, set: notAsked, delete: notAsked };

const stores: WarmStores = {
  platform: createNjsWarmPlatform(),
  createShmStorage: createShmStorage,
  createRegistry: createRegistry,
  answeredStore: answeredStore,
  storeCheckable: storeCheckable,
  storeConfirmedAt: storeConfirmedAt,
  answerWithinBound: answerWithinBound,
};

export default stores;
