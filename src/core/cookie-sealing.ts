/**
 * Sealing a new session cookie: the header, the AES-GCM encryption of the payload, the MAC, and the
 * Set-Cookie lines (chunked as lua-resty-session chunks them, stale chunks expired). The Session's
 * save (session.ts) and the njs engine's login part (src/nginx/login-part.ts) seal through these
 * functions, so the two cannot write different cookies.
 */

import { base64UrlSize, encodeBase64Url } from "./bytes";
import { chunkCookieName, CookiePairs, expiredCookieLine, firstChunkPayloadSize, mergeSetCookie, nextChunkPayloadSize } from "./cookies";
import { macInput } from "./cookie-opening";
import { HEADER_AAD_SIZE, MAX_COOKIES } from "./format";
import { buildHeader, setMac, setTag } from "./header";
import { AesKeyAndIv, calculateMacFromPrk, deriveAesKeyAndIvFromPrk } from "./keys";
import type { Platform } from "./platform";

/** What a new cookie seals: its header's fields, the payload's bytes, and the keys. */
export interface CookieToSeal {
  flags: number;
  sid: Uint8Array;
  creationTime: number;
  rollingOffset: number;
  /** The payload as it is encrypted (deflated already when the flags say so). */
  plaintext: Uint8Array;
  /** The bound request attributes (boundValues), "" when the flags bind none. */
  bound: string;
  /** The pseudorandom key of the current key: the MAC's, and the AES key's unless `keys` is given. */
  prk: Uint8Array;
  /** The AES key and IV when they are not derived from `prk` (a remember cookie's PBKDF2 ones). */
  keys: AesKeyAndIv | null;
}

export interface SealedCookie {
  /** The 82 header bytes, tag and MAC written, idling offset 0. */
  header: Uint8Array;
  headerText: string;
  /** The ciphertext, base64url: the cookie's payload characters (or the stored record's, server side). */
  payload: string;
}

/** The new cookie's header, its tag and MAC still to write, and the payload's encryption under way. */
export interface CookieEncryption {
  header: Uint8Array;
  encrypted: Promise<{ ciphertext: Uint8Array; tag: Uint8Array }>;
}

/**
 * Sealing's first half: the header made and the payload's encryption started. The caller awaits
 * `encrypted` and hands it to sealedCookie: two synchronous halves rather than one promise, as every
 * further async step costs QuickJS a job and a promise. The payload size is the caller's to have checked.
 */
export function encryptCookie(platform: Platform, cookie: CookieToSeal): CookieEncryption {
  // A new header's idling offset is 0 as made (the array starts zeroed).
  const header = buildHeader({
    flags: cookie.flags,
    sid: cookie.sid,
    creationTime: cookie.creationTime,
    rollingOffset: cookie.rollingOffset,
    dataSize: base64UrlSize(cookie.plaintext.length),
  });
  const keys = cookie.keys || deriveAesKeyAndIvFromPrk(platform, cookie.prk, cookie.sid);
  return { header: header, encrypted: platform.aesGcmEncrypt(keys.key, keys.iv, cookie.plaintext, header.subarray(0, HEADER_AAD_SIZE)) };
}

/** Sealing's second half: the tag and the MAC written into the header, header and payload encoded. */
export function sealedCookie(platform: Platform, cookie: CookieToSeal, header: Uint8Array, encrypted: { ciphertext: Uint8Array; tag: Uint8Array }): SealedCookie {
  setTag(header, encrypted.tag);
  setMac(header, calculateMacFromPrk(platform, cookie.prk, cookie.sid, macInput(platform, header, cookie.bound)));
  return { header: header, headerText: encodeBase64Url(header), payload: encodeBase64Url(encrypted.ciphertext) };
}

/**
 * Puts a cookie-storage session's Set-Cookie lines into `cookies` (the response's, a line for the same
 * name replaced): `chunks` cookies carrying header and payload, then an expired line for each chunk
 * up to `staleChunks` that the new cookie no longer has (it would linger and be sent back with every
 * request). `attributes` are the new cookies' (a remember cookie's carry Expires), `expiryAttributes`
 * the expired lines'. Returns the payload characters the first cookie carries.
 */
export function putSessionCookieLines(
  cookies: string[],
  cookieName: string,
  sealed: SealedCookie,
  chunks: number,
  attributes: string,
  staleChunks: number,
  expiryAttributes: string,
): string {
  const payload = sealed.payload;
  let initialChunk = payload;
  if (chunks === 1) {
    mergeSetCookie(cookies, cookieName, cookieName + "=" + sealed.headerText + payload + attributes);
  } else {
    const firstSize = firstChunkPayloadSize(cookieName.length);
    const nextSize = nextChunkPayloadSize(cookieName.length);
    initialChunk = payload.substring(0, firstSize);
    mergeSetCookie(cookies, cookieName, cookieName + "=" + sealed.headerText + initialChunk + attributes);
    for (let i = 2, offset = firstSize; i <= chunks; i++, offset += nextSize) {
      const name = chunkCookieName(cookieName, i);
      mergeSetCookie(cookies, name, name + "=" + payload.substring(offset, offset + nextSize) + attributes);
    }
  }
  for (let i = chunks + 1; i <= staleChunks; i++) {
    const name = chunkCookieName(cookieName, i);
    mergeSetCookie(cookies, name, expiredCookieLine(name, expiryAttributes));
  }
  return initialChunk;
}

/**
 * The highest chunk index of this cookie in the request's Cookie header (1 when none beyond the
 * first). `pairs` parses the header (the Session passes the parse it keeps).
 */
export function requestChunkCount(header: string | undefined, cookieName: string, pairs: (header: string) => CookiePairs): number {
  if (!header || header.indexOf(cookieName) < 0) return 1;
  // One pass over the pairs: chunk names are the name and one digit, 2 to MAX_COOKIES (chunkCookieName).
  const parsed = pairs(header);
  const size = cookieName.length;
  let highest = 1;
  for (let i = 0; i < parsed.length; i++) {
    const name = parsed[i][0];
    if (name.length !== size + 1 || name.substring(0, size) !== cookieName) continue;
    const index = name.charCodeAt(size) - 48;
    if (index >= 2 && index <= MAX_COOKIES && index > highest) highest = index;
  }
  return highest;
}
