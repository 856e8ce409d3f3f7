/**
 * The cold check: a session cookie that was not verified before (a new visitor, a cookie just
 * re-issued), opened without building a Session, for the common case only: one cookie (no chunks),
 * sealed with the current key, with cookie storage or a storage read in the same step (shm, file;
 * redis and memcached take the full path, which makes the one round trip).
 *
 * It opens the cookie as Session.openCookie does, through the same functions: header.ts's parser,
 * checks.ts's storage-flag and lifetime checks, the current key's MAC check (cookie-opening.ts's
 * input, keys.ts's comparison), cookie-opening.ts's record parser, decryption and cache entry,
 * session.ts's rule for a decrypted payload (openPayload). What it verified goes into the verified
 * cache, and fast-check.ts judges it (checkJustVerified: what checkVerified would check again on the
 * next request and this check has not, the audience's session and the revocation list). So it only
 * ever says "valid, nothing to re-issue". Anything else answers null: a failure, a refresh due (seen in
 * the header, before any key is used), a fallback key, a missing audience. The full path (Session)
 * then decides, logs and refreshes as always. It finds in the verified cache whatever was verified
 * here, so a valid cookie is never decrypted twice.
 */

import { decodeBase64Url, encodeBase64Url } from "./bytes";
import { lifetimeLeft, lifetimeProblem, refreshDue, RefreshDue, storageFlagsMismatch } from "./checks";
import { decryptPayload, macInput, parseRecord, payloadText, verifiedEntry } from "./cookie-opening";
import { checkJustVerified, FastCheckSettings, KnownSession, storageKeyOf } from "./fast-check";
import { FLAG_BIND_ANY, HEADER_ENCODED_SIZE, MAC_OFFSET } from "./format";
import { handOnHeader, parseHeader } from "./header";
import { deriveAesKeyAndIvFromPrk, macMatches, pseudorandomKey, type PseudorandomKey } from "./keys";
import type { Platform } from "./platform";
import { BindSource, boundValues, loggableId, openPayload, subjectsPublishable } from "./session";
import type { Settings } from "./settings";
import type { Storage } from "./storage";

/** What the cold check reads of the settings. */
export type ColdCheckSettings = FastCheckSettings & Pick<Settings, "ikm" | "ikmFallbacks" | "verifiedCache">;

/** What the cold check calls of the platform (the njs engine's cold part makes only these). */
export type ColdCheckPlatform = Pick<Platform, "sha256" | "sha256Base64Url" | "hmacSha256" | "hmacSha256Parts" | "sha256Started" | "sha256Continued" | "aesGcmDecrypt" | "inflateRaw">;

/**
 * The session of this cookie when it is valid with nothing to re-issue, after the one decryption it
 * needs; null (at once, or once decrypted) when the full path must decide. `cookie` is found as for
 * fastCheck.
 */
export function coldCheck<R>(
  settings: ColdCheckSettings,
  platform: ColdCheckPlatform,
  cookie: string | undefined,
  now: number,
  request: R,
  bindSourceOf: (request: R) => BindSource,
  /**
   * The current key's PRK, when the caller has it (the njs engine's cold part: its key entry's, as
   * retained tables would last the request only there); else keys.ts's pseudorandomKey (retained).
   */
  currentPrk?: PseudorandomKey,
): Promise<KnownSession | null> | null {
  const cache = settings.verifiedCache;
  const storage = settings.storage;
  if (!cache || !cookie || (storage && !storage.synchronous)) return null;
  const header = parseHeader(cookie);
  if (typeof header === "string") return null;
  if (
    // A chunked cookie (the full path gathers the chunks), or one of the wrong size; with a storage
    // the header alone is the cookie.
    cookie.length !== (storage ? HEADER_ENCODED_SIZE : HEADER_ENCODED_SIZE + header.dataSize) ||
    storageFlagsMismatch(settings, header.flags) ||
    lifetimeProblem(settings, false, header, now) !== null ||
    // Due for a touch or a re-save: the full path opens it and refreshes in one go.
    refreshDue(settings, header, now) !== RefreshDue.Nothing
  ) {
    handOnHeader(cookie, header);
    return null;
  }
  // The request's bound attributes, read only when the flags bind any: a view of the request per
  // check costs QuickJS an object for nothing otherwise.
  const bound = header.flags & FLAG_BIND_ANY ? boundValues(header.flags, bindSourceOf(request)) : "";
  const prk = currentPrk || pseudorandomKey(platform, settings.ikm);
  // Not the current key's MAC: forged (the full path says so), or a fallback key's (it re-seals). The
  // current key's check of macKeyIndex, without its search of the fallbacks the full path makes anyway.
  if (!macMatches(platform, prk, header.sid, macInput(platform, header.bytes, bound), header.bytes, MAC_OFFSET)) {
    handOnHeader(cookie, header);
    return null;
  }
  const sid = encodeBase64Url(header.sid);
  const record = storage ? storedRecord(settings, platform, storage, sid, now) : null;
  const ciphertextText = record ? (record[0] as string) : cookie.substring(HEADER_ENCODED_SIZE);
  // No record, or not this header's: the full path reads it again and says why.
  if ((storage && !record) || ciphertextText.length !== header.dataSize) {
    handOnHeader(cookie, header);
    return null;
  }
  const ciphertext = decodeBase64Url(ciphertextText, true);
  if (!ciphertext) return null;
  const keys = deriveAesKeyAndIvFromPrk(platform, prk, header.sid);
  return decryptPayload(platform, keys, header, ciphertext).then(function (decrypted) {
    const plaintext = payloadText(platform, header, decrypted);
    if (typeof plaintext !== "string") return null;
    // The Session's rule for what it opens; what it refuses is not cached (the full path says why).
    const opened = openPayload(plaintext, settings.audience, !!storage, record ? record[1] : undefined);
    if (!("entries" in opened)) return null;
    // With the parse, for the judgement and the cache (an in-memory cache holds this very object; the
    // zone's text keeps the entries).
    const verified = verifiedEntry(settings, 0, bound, header, sid, ciphertextText, plaintext, loggableId(platform, header.sid), opened.entries);
    // As the Session's fill: only a payload whose every subject nginx can publish.
    if (subjectsPublishable(opened.entries, opened.index)) cache.set(cookie, verified, lifetimeLeft(settings, false, header, now));
    return checkJustVerified(verified, settings, opened.index, now);
  });
}

/** The record of the session `sid` (base64url), [ciphertext, info?], in a synchronous storage; null when there is none to open. */
function storedRecord(settings: ColdCheckSettings, platform: Pick<Platform, "sha256">, storage: Storage, sid: string, now: number): unknown[] | null {
  let stored: unknown;
  try {
    stored = storage.get(settings.cookieName, storageKeyOf(settings, platform, sid), now);
  } catch (e) {
    // A storage that throws: the full path fails closed or says why.
    return null;
  }
  const record = parseRecord(stored);
  return Array.isArray(record) ? record : null;
}
