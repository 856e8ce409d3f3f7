/**
 * The touch check: a session cookie verified before whose only due refresh is a touch (the idle clock
 * restarted: the same header with a new idling offset and MAC, re-issued; no new id, no storage write,
 * no decryption), done without building a Session, for the common case only: the current key, no
 * session registry to touch, cookie storage in one cookie or a storage read in the same step (shm, file).
 *
 * It judges the session as the fast check does (fast-check.ts's checkVerified, a touch allowed) and
 * touches it as Session.touch does, through the same functions (cookie-opening.ts's touchedIdlingOffset
 * and touchedHeader). Anything else answers null and the full path (Session) decides, as always.
 */

import { encodeBase64Url } from "./bytes";
import { refreshDue, RefreshDue } from "./checks";
import { MacPlatform, touchedHeader, touchedIdlingOffset } from "./cookie-opening";
import { checkVerified, FastCheckSettings, KnownSession } from "./fast-check";
import { HEADER_ENCODED_SIZE } from "./format";
import { parseHeader } from "./header";
import { pseudorandomKey, type PseudorandomKey } from "./keys";
import type { BindSource } from "./session";
import type { Settings } from "./settings";
import type { VerifiedSession } from "./verified-cache";

/** What the touch check reads of the settings. */
export type TouchCheckSettings = FastCheckSettings & Pick<Settings, "ikm" | "cookieAttributes">;

/** A session touched: as of now, and the Set-Cookie line that re-issues its cookie (setResponseCookie). */
export interface TouchedSession {
  known: KnownSession;
  setCookie: string;
}

export function touchCheck<R>(
  /** The cookie's verified-cache entry (fast-check.ts's verifiedEntryOf). */
  verified: VerifiedSession,
  settings: TouchCheckSettings,
  /** Only what it calls: the njs engine's cold part makes no more. */
  platform: MacPlatform,
  /** As for fastCheck: the value of the cookie named exactly settings.cookieName. */
  cookie: string,
  now: number,
  request: R,
  bindSourceOf: (request: R) => BindSource,
  /**
   * The current key's PRK, when the caller has it (the njs engine's touch part: its key entry's, as
   * retained tables would last the request only there); else keys.ts's pseudorandomKey (retained).
   */
  currentPrk?: PseudorandomKey,
): TouchedSession | null {
  const storage = settings.storage;
  // A registry records every touch (Session.touchInRegistry): the full path's.
  if (settings.registry || refreshDue(settings, verified, now) !== RefreshDue.Touch) return null;
  const found = checkVerified(verified, settings, platform, cookie, now, request, bindSourceOf, undefined, true);
  if (!found) return null;
  const header = parseHeader(cookie);
  if (typeof header === "string") return null;
  const idlingOffset = touchedIdlingOffset(now, header.creationTime, header.rollingOffset);
  // The bound values the entry was verified with: checkVerified found them the request's.
  const bytes = touchedHeader(platform, currentPrk || pseudorandomKey(platform, settings.ikm), header.sid, header.bytes, idlingOffset, verified.bind);
  const value = encodeBase64Url(bytes) + (storage ? "" : cookie.substring(HEADER_ENCODED_SIZE));
  return {
    // Not the shared one the cache entry keeps: this request's, with the new idling offset.
    known: {
      audience: found.audience,
      subject: found.subject,
      data: found.data,
      loggableId: found.loggableId,
      timing: { timestamp: now, creationTime: header.creationTime, rollingOffset: header.rollingOffset, idlingOffset: idlingOffset },
      bound: found.bound,
    },
    setCookie: settings.cookieName + "=" + value + settings.cookieAttributes,
  };
}
