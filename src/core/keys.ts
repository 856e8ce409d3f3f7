/**
 * Key derivation, all synchronous except PBKDF2:
 *   ikm            = SHA-256(secret), or the raw 32-byte `ikm`
 *   PRK            = HKDF-Extract(salt = empty, ikm)            (cached per ikm)
 *   MAC key        = HKDF-Expand(PRK, "authentication:" || sid, 32)
 *   AES key || IV  = HKDF-Expand(PRK, "encryption:" || sid, 44)
 *   remember cookies with remember_safety other than "None":
 *   AES key || IV  = PBKDF2-HMAC-SHA256(password = ikm, salt = "encryption:" || sid, iterations, 44)
 * HKDF with an empty salt is plain HMAC-SHA256 (RFC 5869), so the MAC key, the MAC check and a touch
 * need no WebCrypto call and no await.
 */

import { concatBytes, utf8Encode } from "./bytes";
import { IV_SIZE, KEY_AND_IV_SIZE, KEY_SIZE, MAC_SIZE } from "./format";
import type { Platform } from "./platform";

const EMPTY_SALT = new Uint8Array(0);
const AUTHENTICATION_INFO = utf8Encode("authentication:");
const ENCRYPTION_INFO = utf8Encode("encryption:");

/** Extracted keys by ikm (as text of its bytes): a handful of entries, one per configured key. */
const extractedKeys: { [ikm: string]: Uint8Array } = {};
let extractedKeyCount = 0;
/** Keys come from configuration, so few distinct ones exist; the bound only guards against misuse. */
const MAX_EXTRACTED_KEYS = 64;

export function sha256Bytes(platform: Platform, text: string): Uint8Array {
  return platform.sha256(utf8Encode(text));
}

/** The last ikm extracted and its PRK: the settings' ikm is one object, asked for on every open. */
let lastIkm: Uint8Array | null = null;
let lastPrk: Uint8Array | null = null;

function extract(platform: Platform, ikm: Uint8Array): Uint8Array {
  if (ikm === lastIkm) return lastPrk as Uint8Array;
  const prk = extractByValue(platform, ikm);
  lastIkm = ikm;
  lastPrk = prk;
  return prk;
}

function extractByValue(platform: Platform, ikm: Uint8Array): Uint8Array {
  const cacheKey = String.fromCharCode.apply(null, Array.prototype.slice.call(ikm) as number[]);
  const cached = extractedKeys[cacheKey];
  if (cached) return cached;
  const prk = platform.hmacSha256(EMPTY_SALT, ikm);
  if (extractedKeyCount < MAX_EXTRACTED_KEYS) {
    extractedKeys[cacheKey] = prk;
    extractedKeyCount++;
  }
  return prk;
}

/** HKDF-Expand for at most two SHA-256 blocks (64 bytes), which is all this format needs. */
function expand(platform: Platform, prk: Uint8Array, info: Uint8Array, size: number): Uint8Array {
  const first = platform.hmacSha256(prk, concatBytes([info, new Uint8Array([1])]));
  if (size <= 32) return first.subarray(0, size);
  const second = platform.hmacSha256(prk, concatBytes([first, info, new Uint8Array([2])]));
  return concatBytes([first, second]).subarray(0, size);
}

export function hkdfSha256(platform: Platform, ikm: Uint8Array, info: Uint8Array, size: number): Uint8Array {
  return expand(platform, extract(platform, ikm), info, size);
}

export function deriveMacKey(platform: Platform, ikm: Uint8Array, sid: Uint8Array): Uint8Array {
  return hkdfSha256(platform, ikm, concatBytes([AUTHENTICATION_INFO, sid]), KEY_SIZE);
}

/** The 16-byte MAC over `message` (the first 66 header bytes, plus the bind suffix when bound). */
export function calculateMac(platform: Platform, ikm: Uint8Array, sid: Uint8Array, message: Uint8Array): Uint8Array {
  return platform.hmacSha256(deriveMacKey(platform, ikm, sid), message).subarray(0, MAC_SIZE);
}

export interface AesKeyAndIv {
  key: Uint8Array;
  iv: Uint8Array;
}

function splitKeyAndIv(bytes: Uint8Array): AesKeyAndIv {
  return { key: bytes.subarray(0, KEY_SIZE), iv: bytes.subarray(KEY_SIZE, KEY_SIZE + IV_SIZE) };
}

/** Session cookies (and remember cookies with safety "None"): HKDF, synchronous. */
export function deriveAesKeyAndIv(platform: Platform, ikm: Uint8Array, sid: Uint8Array): AesKeyAndIv {
  return splitKeyAndIv(hkdfSha256(platform, ikm, concatBytes([ENCRYPTION_INFO, sid]), KEY_AND_IV_SIZE));
}

/** Remember cookies: PBKDF2 with the iteration count `remember_safety` names (0 means HKDF). */
export function deriveRememberAesKeyAndIv(
  platform: Platform,
  ikm: Uint8Array,
  sid: Uint8Array,
  iterations: number,
): Promise<AesKeyAndIv> {
  if (iterations <= 0) return Promise.resolve(deriveAesKeyAndIv(platform, ikm, sid));
  return platform
    .pbkdf2Sha256(ikm, concatBytes([ENCRYPTION_INFO, sid]), iterations, KEY_AND_IV_SIZE)
    .then(splitKeyAndIv);
}
