/**
 * The check view with its key: what the njs engine's cold part (cold.ts) and touch part (touch.ts)
 * hand cold-check.ts and touch-check.ts as the location's settings. One file both import, so that the
 * two parts, each built only for its own request, read the location's key entry (check-view.ts) one
 * way.
 */

import { decodeBase64Url } from "../core/bytes";
import { type PseudorandomKey, statelessPseudorandomKey } from "../core/keys";
import { DEFAULT_VERIFIED_CACHE_ZONE } from "../core/options";
import type { WarmPlatform } from "../core/platform";
import type { Settings } from "../core/settings";
import { LocationView, readLocationKey } from "./check-view";

/** Only the current key: a cookie sealed with a fallback key is the full check's to re-seal. */
const NO_FALLBACKS: Uint8Array[] = [];
/**
 * The key entry holds the current key's PRK, not its ikm: the parts hand coldCheck and touchCheck
 * the PRK itself (`prk`), so they never read the ikm. Empty, so that a reader of it would fail to
 * verify anything, not verify with the wrong key.
 */
const NO_IKM = new Uint8Array(0);

/**
 * The view with its key and cookie attributes as the settings name them, and the current key's PRK
 * as keys.ts makes it, for the checks' `currentPrk`.
 */
export type KeyedView = LocationView & Pick<Settings, "ikm" | "ikmFallbacks" | "cookieAttributes"> & { prk: PseudorandomKey };

/**
 * The view with the key entry the full check left beside it for `locationText`, or null when there is
 * none (a network store's location, or an entry evicted: the full check leaves it again). Added to the
 * view itself, not to a copy of its two dozen properties: readCheckView makes the view anew for each
 * request, so no other request sees it. The key entry is in the njs_session_cache zone, which is also
 * the view's verified cache's zone unless the location names another; when it is, the cache's reader
 * already holds that zone's dict, and the part need not ask ngx.shared for it again.
 */
export function keyedView(view: LocationView, locationText: string, sharedDict: NonNullable<WarmPlatform["sharedDict"]>): KeyedView | null {
  const keyed = view as KeyedView;
  const cache = view.verifiedCache;
  const dict = cache.zone === DEFAULT_VERIFIED_CACHE_ZONE ? cache.dict : sharedDict(DEFAULT_VERIFIED_CACHE_ZONE);
  // Sets keyed.cookieAttributes.
  const key = readLocationKey(dict, locationText, keyed);
  const prk = key ? decodeBase64Url(key) : null;
  if (!prk) return null;
  keyed.ikm = NO_IKM;
  keyed.ikmFallbacks = NO_FALLBACKS;
  keyed.prk = statelessPseudorandomKey(prk);
  return keyed;
}
