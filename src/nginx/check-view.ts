/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The check view: what the warm check (warm.ts) needs of a location's settings, kept where the njs
 * engine can find it again. Under the njs engine every request starts from the module's top level, so
 * resolving the configuration (reading the file, validating, deriving keys) would be paid by every
 * request. Instead, a request that ran the full check leaves a compact copy of what it resolved in the
 * njs_session_cache zone, and later requests of the same worker and location read it back.
 *
 * Keyed by worker pid and the location's $session_location_config text:
 *   - the pid scopes a view to one worker of one configuration generation: a reload starts new
 *     workers, so a rotated secret or a changed option is never read from an older view. A view
 *     lives VIEW_SECONDS: for a new generation's worker to read an old view, the kernel would have
 *     to hand its pid out again within that time;
 *   - the text scopes it to the location's overrides (what requestContext() resolves from it).
 * Only cookie and shm storage have a view: the other storages are asynchronous, which the warm check
 * is not. A missing or unreadable view only means the full check runs.
 */

import type { Settings } from "../core/settings";
import type { StorageOptions } from "../core/options";
import { DEFAULT_VERIFIED_CACHE_ZONE } from "../core/options";
import type { Platform, WarmPlatform } from "../core/platform";
import type { RegistryOptions } from "../core/registry";
import { createRegistry } from "../core/shm-registry";
import { dictTimeout } from "../core/shared-dict";
import { createZoneVerifiedCache } from "../core/verified-cache";
import { createShmStorage } from "../storage/shm";
import type { EntryOptions } from "./configuration";

/** Seconds a view is kept: a minute of requests per worker and location read it, then one resolves again. */
const VIEW_SECONDS = 60;
const VIEW_PREFIX = "@check-view:";

/** The plain settings the warm check reads: fastCheck's, the checks', and publishing's. */
const PLAIN_FIELDS = [
  "cookieName",
  "audience",
  "keyIds",
  "idlingTimeout",
  "rollingTimeout",
  "absoluteTimeout",
  "rememberRollingTimeout",
  "rememberAbsoluteTimeout",
  "touchThreshold",
  "rollingRenewal",
  "hashStorageKey",
  "requestHeaders",
  "responseHeaders",
] as const;

type PlainSettings = Pick<Settings, (typeof PLAIN_FIELDS)[number]>;

/** What the warm check reads of the settings: the plain ones, and the storage, registry and cache. */
export type CheckSettings = PlainSettings & Pick<Settings, "storage" | "registry" | "verifiedCache">;

/** A location's view, as JSON in the zone. */
interface CheckView {
  s: PlainSettings;
  /** shm's options when the storage is shm; absent for cookie storage. */
  shm?: StorageOptions | null;
  registry: RegistryOptions | null;
  cacheZone: string;
  entry: WarmEntry;
}

/** The entry options the warm check reads: what it publishes, and whether a CSRF check may be due. */
export type WarmEntry = Pick<EntryOptions, "expose_data" | "csrf">;

/** What the warm check gets from a view. */
export interface LocationView {
  settings: CheckSettings;
  entry: WarmEntry;
}

function viewKey(locationText: string): string {
  return VIEW_PREFIX + process.pid + ":" + locationText;
}

function viewOf(settings: Settings, entry: EntryOptions): CheckView | null {
  const cacheZone = settings.verifiedCache ? settings.verifiedCache.zone : undefined;
  if (!cacheZone) return null;
  if (settings.storageName !== "cookie" && settings.storageName !== "shm") return null;
  const plain: { [name: string]: unknown } = {};
  for (let i = 0; i < PLAIN_FIELDS.length; i++) plain[PLAIN_FIELDS[i]] = settings[PLAIN_FIELDS[i]];
  const view: CheckView = {
    s: plain as unknown as PlainSettings,
    registry: settings.registry ? settings.registry.options : null,
    cacheZone: cacheZone,
    entry: { expose_data: entry.expose_data, csrf: entry.csrf },
  };
  if (settings.storageName === "shm") view.shm = settings.storageOptions || null;
  return view;
}

/**
 * Leaves the view of this location for the warm check of the worker's next requests, unless one is
 * there. Called by the full check under the njs engine, after it resolved `settings` for `entry`.
 */
export function keepCheckView(platform: Platform, locationText: string | undefined, settings: Settings, entry: EntryOptions): void {
  if (locationText === undefined || !platform.sharedDict) return;
  const dict = platform.sharedDict(DEFAULT_VERIFIED_CACHE_ZONE);
  if (!dict) return;
  const key = viewKey(locationText);
  try {
    if (dict.get(key) !== undefined) return;
    const view = viewOf(settings, entry);
    if (view) dict.add(key, JSON.stringify(view), dictTimeout(VIEW_SECONDS));
  } catch (e) {
    // A full zone (declared without evict) only means the next request runs the full check too.
  }
}

/** The view the full check left for this location and worker, or null (then the full check runs). */
export function readCheckView(platform: WarmPlatform, locationText: string): LocationView | null {
  if (!platform.sharedDict) return null;
  const dict = platform.sharedDict(DEFAULT_VERIFIED_CACHE_ZONE);
  if (!dict) return null;
  let view: CheckView;
  try {
    const text = dict.get(viewKey(locationText));
    if (typeof text !== "string") return null;
    view = JSON.parse(text);
  } catch (e) {
    return null;
  }
  const cacheDict = platform.sharedDict(view.cacheZone);
  if (!cacheDict) return null;
  const settings = view.s as CheckSettings;
  // The very factories the full configuration uses, so the warm check reads what the full one would.
  settings.storage = view.shm !== undefined ? createShmStorage(view.shm || undefined, platform) : null;
  settings.registry = view.registry ? createRegistry(platform, view.registry) : null;
  settings.verifiedCache = createZoneVerifiedCache(cacheDict, view.cacheZone);
  return { settings: settings, entry: view.entry };
}
