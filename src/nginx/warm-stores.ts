/**
 * The stores a check view may name (shm storage, a zone registry), made by the very factories the full
 * configuration uses. A lazy part of its own inside the warm part (build/build.mjs compiles it into
 * njsSessionWarmStores(), declared within njsSessionWarm()): the warm check builds it only for a view
 * that names one of them, so that a location with cookie storage and no registry does not pay, on
 * each warm request under the njs engine, for the ~18 functions they bring (a function of a lazy part
 * costs the part's load ~550 instructions; docs/NOTES.md, issue 14, branch njstax).
 */

import { createRegistry } from "../core/shm-registry";
import { createShmStorage } from "../storage/shm";

export interface WarmStores {
  createShmStorage: typeof createShmStorage;
  createRegistry: typeof createRegistry;
}

const stores: WarmStores = { createShmStorage: createShmStorage, createRegistry: createRegistry };

export default stores;
