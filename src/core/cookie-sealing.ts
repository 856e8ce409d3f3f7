/**
 * Sealing a new session cookie: the header, the AES-GCM encryption of the payload, the MAC, and the
 * Set-Cookie lines (chunked as lua-resty-session chunks them, stale chunks expired). The Session's
 * save (session.ts) and the njs engine's login part (src/nginx/login-part.ts) seal through these
 * functions, so the two cannot write different cookies.
 */

import { base64UrlSize, encodeBase64Url } from "./bytes";
import { chunkCookieName, CookiePairs, expiredCookieLine, firstChunkPayloadSize, mergeSetCookie, nextChunkPayloadSize, parseCookieHeader } from "./cookies";
import { macInput } from "./cookie-opening";
import { HEADER_AAD_SIZE, MAX_COOKIES, TAG_SIZE } from "./format";
import { buildHeader, setMac, setTag } from "./header";
import { AesKeyAndIv, calculateMacFromPrk, deriveAesKeyAndIvFromPrk, PseudorandomKey } from "./keys";
import type { AesGcmKey, Platform } from "./platform";

/** What sealing a new cookie calls of the platform (the njs engine's login part makes only these). */
export type SealingPlatform = Pick<Platform, "now" | "randomBytes" | "sha256" | "hmacSha256" | "hmacSha256Parts" | "sha256Started" | "sha256Continued" | "aesGcmEncryptionKey" | "aesGcmEncrypt">;

export interface SealedCookie {
  /** The 82 header bytes, tag and MAC written, idling offset 0. */
  header: Uint8Array;
  headerText: string;
  /** The ciphertext, base64url: the cookie's payload characters (or the stored record's, server side). */
  payload: string;
}

/** The new cookie's header, its tag and MAC still to write, and what its payload's encryption needs. */
export interface CookieEncryption {
  header: Uint8Array;
  iv: Uint8Array;
  /** Deflated already when the flags say so. */
  plaintext: Uint8Array;
  /** The AES key's import, under way. */
  key: Promise<AesGcmKey>;
}

/**
 * Sealing in three steps the caller takes in turn: startEncryption; once its `key` is imported,
 * encryptPayload; once that is done, sealedCookie. Synchronous steps around the platform's two
 * WebCrypto promises rather than one promise of the whole, and arguments rather than objects, as every
 * further async step and object costs QuickJS.
 *
 * The first step: the header of a new cookie made (idling offset 0) and the import of its AES key
 * started, the key and IV derived from `prk` (the current key's pseudorandom key) unless `keys` are
 * given (a remember cookie's PBKDF2 ones). The payload size is the caller's to have checked.
 */
export function startEncryption(
  platform: SealingPlatform,
  flags: number,
  sid: Uint8Array,
  creationTime: number,
  rollingOffset: number,
  plaintext: Uint8Array,
  prk: PseudorandomKey,
  keys: AesKeyAndIv | null,
): CookieEncryption {
  // A new header's idling offset is 0 as made (the array starts zeroed).
  const header = buildHeader(flags, sid, creationTime, rollingOffset, base64UrlSize(plaintext.length));
  const aes = keys || deriveAesKeyAndIvFromPrk(platform, prk, sid);
  return { header: header, iv: aes.iv, plaintext: plaintext, key: platform.aesGcmEncryptionKey(aes.key) };
}

/** The second step: the payload encrypted with the imported key, the header's fields before the tag as AAD. */
export function encryptPayload(platform: SealingPlatform, encryption: CookieEncryption, key: AesGcmKey): Promise<ArrayBuffer> {
  return platform.aesGcmEncrypt(key, encryption.iv, encryption.plaintext, encryption.header.subarray(0, HEADER_AAD_SIZE));
}

/**
 * The last step: the tag (the encryption's last TAG_SIZE bytes) and the MAC (with the key of `prk`,
 * over the bound request attributes `bound`, "" when the flags bind none) written into the header,
 * header and ciphertext encoded.
 */
export function sealedCookie(
  platform: SealingPlatform,
  header: Uint8Array,
  encrypted: ArrayBuffer,
  prk: PseudorandomKey,
  sid: Uint8Array,
  bound: string,
): SealedCookie {
  const sealed = new Uint8Array(encrypted);
  const tagStart = sealed.length - TAG_SIZE;
  setTag(header, sealed.subarray(tagStart));
  setMac(header, calculateMacFromPrk(platform, prk, sid, macInput(platform, header, bound)));
  return { header: header, headerText: encodeBase64Url(header), payload: encodeBase64Url(sealed.subarray(0, tagStart)) };
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
 * first). `pairs`: the header's parse when the caller has it already.
 */
export function requestChunkCount(header: string | undefined, cookieName: string, pairs: CookiePairs | undefined): number {
  if (!header || header.indexOf(cookieName) < 0) return 1;
  // One pass over the pairs: chunk names are the name and one digit, 2 to MAX_COOKIES (chunkCookieName).
  const parsed = pairs || parseCookieHeader(header);
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
