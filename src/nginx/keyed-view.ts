/**
 * The check view with its key: what the njs engine's cold part (cold.ts) and touch part (touch.ts)
 * hand cold-check.ts and touch-check.ts as the location's settings. One file both import, so that the
 * two parts, each built only for its own request, read the view's key one way.
 */

import { decodeBase64Url } from "../core/bytes";
import type { Settings } from "../core/settings";
import type { LocationView } from "./check-view";

/** Only the current key: a cookie sealed with a fallback key is the full check's to re-seal. */
const NO_FALLBACKS: Uint8Array[] = [];

/** The view with its key as the settings name it. */
export type KeyedView = LocationView & Pick<Settings, "ikm" | "ikmFallbacks">;

/**
 * The view with its key, or null when it has none (a network store's view). Added to the view itself,
 * not to a copy of its two dozen properties: readCheckView makes the view anew for each request, so no
 * other request sees it.
 */
export function keyedView(view: LocationView): KeyedView | null {
  const ikm = view.key ? decodeBase64Url(view.key) : null;
  if (!ikm) return null;
  const keyed = view as KeyedView;
  keyed.ikm = ikm;
  keyed.ikmFallbacks = NO_FALLBACKS;
  return keyed;
}
