/**
 * Key derivation, all synchronous except PBKDF2:
 *   ikm            = SHA-256(secret), or the raw 32-byte `ikm`
 *   PRK            = HKDF-Extract(salt = empty, ikm)            (retained per ikm)
 *   MAC key        = HKDF-Expand(PRK, "authentication:" || sid, 32)
 *   AES key || IV  = HKDF-Expand(PRK, "encryption:" || sid, 44)
 *   remember cookies with remember_safety other than "None":
 *   AES key || IV  = PBKDF2-HMAC-SHA256(password = ikm, salt = "encryption:" || sid, iterations, 44)
 * HKDF with an empty salt is plain HMAC-SHA256 (RFC 5869), so the MAC key, the MAC check and a touch
 * need no WebCrypto call and no await.
 *
 * A session operation looks its PRK up once (pseudorandomKey) and derives from it (the *FromPrk
 * functions); the ikm-taking functions are the same derivations for one-off callers.
 */

import { encodeBase64Url, utf8Encode } from "./bytes";
import { IV_SIZE, KEY_SIZE, MAC_SIZE } from "./format";
import type { Platform, Sha256State } from "./platform";
import { retainedGet, retainedSet, retainedTable } from "./retained";

/** What the HMAC-based derivations call of the platform (the njs engine's cold part makes only what it calls). */
export type HmacPlatform = Pick<Platform, "hmacSha256" | "hmacSha256Parts" | "sha256Started" | "sha256Continued">;

/** HMAC-SHA256's output: one HKDF-Expand block. */
const HASH_SIZE = 32;
/** SHA-256's block: an HMAC key is padded to it (RFC 2104). */
const HMAC_BLOCK_SIZE = 64;
/** RFC 2104's ipad and opad bytes, four to a word. */
const IPAD_WORD = 0x36363636;
const OPAD_WORD = 0x5c5c5c5c;
/** Keys come from configuration, so few distinct ones exist; the bound only guards against misuse. */
const MAX_PSEUDORANDOM_KEYS = 64;
/** HKDF info prefixes (encoded when a key is first derived: no work at module load). */
const AUTHENTICATION_INFO = "authentication:";
const ENCRYPTION_INFO = "encryption:";

/**
 * The prefixes' bytes and HKDF-Expand's block counters (T(1)'s 0x01, T(2)'s 0x02): constants built on
 * first use, as encoding them again for every derivation costs QuickJS a TextEncoder call each time.
 * One object read where it is needed, not a getter function each: under QuickJS every distinct
 * function a cold request calls is read from memory (docs/NOTES.md, "where QuickJS's misses under
 * concurrency go"). Nothing writes into them: they are only handed to the HMAC.
 */
interface HkdfConstants {
  authentication: Uint8Array;
  encryption: Uint8Array;
  firstCounter: Uint8Array;
  secondCounter: Uint8Array;
}

let hkdfConstants: HkdfConstants | undefined;

function madeHkdfConstants(): HkdfConstants {
  hkdfConstants = {
    authentication: utf8Encode(AUTHENTICATION_INFO),
    encryption: utf8Encode(ENCRYPTION_INFO),
    firstCounter: new Uint8Array([1]),
    secondCounter: new Uint8Array([2]),
  };
  return hkdfConstants;
}

export function sha256Bytes(platform: Platform, text: string): Uint8Array {
  return platform.sha256(utf8Encode(text));
}

/**
 * HKDF-Extract's output, and where the platform offers SHA-256 states (sha256Started: where module
 * state lasts), the same made ready for HKDF-Expand's HMACs (RFC 2104): SHA-256 started on its block
 * XOR ipad (inner) and on its block XOR opad (outer), continued by every HMAC it keys (expandedBlock).
 * Made once per key: a host's HMAC object hashes both blocks again for every HMAC.
 */
export interface PseudorandomKey {
  bytes: Uint8Array;
  inner: Sha256State | null;
  outer: Sha256State | null;
}

/**
 * A PRK as it is, without SHA-256 states: where the platform makes none (the njs engine's), and where
 * a part of the njs engine takes the PRK the full check left in its view.
 */
export function statelessPseudorandomKey(prk: Uint8Array): PseudorandomKey {
  return { bytes: prk, inner: null, outer: null };
}

/** The PRK (32 bytes: within one block, so used as it is) with its states where the platform makes them. */
function preparedPseudorandomKey(platform: HmacPlatform, prk: Uint8Array): PseudorandomKey {
  if (!platform.sha256Started) return statelessPseudorandomKey(prk);
  const block = new Uint8Array(HMAC_BLOCK_SIZE);
  block.set(prk);
  const words = new Uint32Array(block.buffer);
  const inner = new Uint32Array(HMAC_BLOCK_SIZE / 4);
  const outer = new Uint32Array(HMAC_BLOCK_SIZE / 4);
  for (let i = 0; i < inner.length; i++) {
    inner[i] = words[i] ^ IPAD_WORD;
    outer[i] = words[i] ^ OPAD_WORD;
  }
  return { bytes: prk, inner: platform.sha256Started(new Uint8Array(inner.buffer)), outer: platform.sha256Started(new Uint8Array(outer.buffer)) };
}

/**
 * HKDF-Extract with an empty salt, retained per ikm (by its bytes, so equal keys share one entry).
 * Found first by the ikm object itself (retainedGet's owner): the settings hold one ikm object per
 * configured key, and comparing objects spares encoding the key to look it up on every request;
 * retainedGet is what a check's location lookup calls already, so a cold check calls no function more
 * for its key (under QuickJS each distinct function a cold request calls is read from memory).
 */
export function pseudorandomKey(platform: HmacPlatform, ikm: Uint8Array): PseudorandomKey {
  const known = retainedGet<PseudorandomKey>("keys.pseudorandom.by-ikm", "", ikm);
  if (known) return known;
  const table = retainedTable<PseudorandomKey>("keys.pseudorandom", MAX_PSEUDORANDOM_KEYS);
  const name = encodeBase64Url(ikm);
  let prk = table.get(name);
  if (!prk) {
    prk = extractedKey(platform, ikm);
    table.set(name, prk);
  }
  return retainedSet("keys.pseudorandom.by-ikm", MAX_PSEUDORANDOM_KEYS, "", ikm, prk);
}

/**
 * HKDF-Extract with an empty salt, made anew: pseudorandomKey's miss. (The njs engine's cold, touch
 * and login parts, where retained.ts's tables would live for the request only, take the PRK their
 * view holds instead, made once by the full check: check-view.ts.)
 */
export function extractedKey(platform: HmacPlatform, ikm: Uint8Array): PseudorandomKey {
  return preparedPseudorandomKey(platform, platform.hmacSha256(new Uint8Array(0), ikm));
}

/**
 * HKDF-Expand's block T(1) = HMAC(PRK, info ‖ 0x01) when `previous` is null, else T(2) = HMAC(PRK,
 * T(1) ‖ info ‖ 0x02), info = `prefix` ‖ `infoTail`, fed to the HMAC part by part: SHA-256(outer ‖
 * SHA-256(inner ‖ message)) from the PRK's states, or the host's HMAC where it has none (or a platform
 * without states is handed a PRK that has). One function for both blocks and both ways, for the reason
 * HkdfConstants gives.
 */
function expandedBlock(platform: HmacPlatform, prk: PseudorandomKey, previous: Uint8Array | null, prefix: Uint8Array, infoTail: Uint8Array): Uint8Array {
  const constants = hkdfConstants || madeHkdfConstants();
  if (prk.inner && prk.outer && platform.sha256Continued) {
    const inner = previous
      ? platform.sha256Continued(prk.inner, previous, prefix, infoTail, constants.secondCounter)
      : platform.sha256Continued(prk.inner, prefix, infoTail, constants.firstCounter);
    return platform.sha256Continued(prk.outer, inner);
  }
  return previous
    ? platform.hmacSha256Parts(prk.bytes, previous, prefix, infoTail, constants.secondCounter)
    : platform.hmacSha256Parts(prk.bytes, prefix, infoTail, constants.firstCounter);
}

/** HKDF-SHA256 (empty salt) with the info `infoText`, up to 64 bytes. */
export function hkdfSha256(platform: HmacPlatform, ikm: Uint8Array, infoText: string, size: number): Uint8Array {
  const prk = pseudorandomKey(platform, ikm);
  const info = utf8Encode(infoText);
  const none = new Uint8Array(0);
  const first = expandedBlock(platform, prk, null, info, none);
  if (size <= HASH_SIZE) return size === HASH_SIZE ? first : first.subarray(0, size);
  const out = new Uint8Array(size);
  out.set(first, 0);
  out.set(expandedBlock(platform, prk, first, info, none).subarray(0, size - HASH_SIZE), HASH_SIZE);
  return out;
}

/** HKDF-Expand(PRK, "authentication:" ‖ sid, 32): one block. */
export function deriveMacKeyFromPrk(platform: HmacPlatform, prk: PseudorandomKey, sid: Uint8Array): Uint8Array {
  return expandedBlock(platform, prk, null, (hkdfConstants || madeHkdfConstants()).authentication, sid);
}

/** The 16-byte MAC over `message` (the first 66 header bytes, plus the bind suffix when bound). */
export function calculateMacFromPrk(platform: HmacPlatform, prk: PseudorandomKey, sid: Uint8Array, message: Uint8Array): Uint8Array {
  return platform.hmacSha256(deriveMacKeyFromPrk(platform, prk, sid), message).subarray(0, MAC_SIZE);
}

/**
 * Whether the 16 bytes at `macOffset` in `holder` are the MAC over `message`: compared with the
 * digest's first 16 bytes in place (no views made), in constant time (no early exit, so the time
 * taken does not tell where the bytes differ). One expression, not a loop over MAC_SIZE bytes:
 * QuickJS interprets every step of a loop.
 */
export function macMatches(platform: HmacPlatform, prk: PseudorandomKey, sid: Uint8Array, message: Uint8Array, holder: Uint8Array, macOffset: number): boolean {
  if (holder.length < macOffset + MAC_SIZE) return false;
  const e = platform.hmacSha256(deriveMacKeyFromPrk(platform, prk, sid), message);
  const h = holder;
  const o = macOffset;
  const diff =
    (e[0] ^ h[o]) | (e[1] ^ h[o + 1]) | (e[2] ^ h[o + 2]) | (e[3] ^ h[o + 3]) |
    (e[4] ^ h[o + 4]) | (e[5] ^ h[o + 5]) | (e[6] ^ h[o + 6]) | (e[7] ^ h[o + 7]) |
    (e[8] ^ h[o + 8]) | (e[9] ^ h[o + 9]) | (e[10] ^ h[o + 10]) | (e[11] ^ h[o + 11]) |
    (e[12] ^ h[o + 12]) | (e[13] ^ h[o + 13]) | (e[14] ^ h[o + 14]) | (e[15] ^ h[o + 15]);
  return diff === 0;
}

export function calculateMac(platform: HmacPlatform, ikm: Uint8Array, sid: Uint8Array, message: Uint8Array): Uint8Array {
  return calculateMacFromPrk(platform, pseudorandomKey(platform, ikm), sid, message);
}

export interface AesKeyAndIv {
  key: Uint8Array;
  iv: Uint8Array;
}

function splitKeyAndIv(bytes: Uint8Array): AesKeyAndIv {
  return { key: bytes.subarray(0, KEY_SIZE), iv: bytes.subarray(KEY_SIZE, KEY_SIZE + IV_SIZE) };
}

/**
 * Session cookies (and remember cookies with safety "None"): HKDF, synchronous. The 44 bytes are
 * T(1) ‖ T(2)[0, 12): the key is T(1) itself, the IV the start of T(2).
 */
export function deriveAesKeyAndIvFromPrk(platform: HmacPlatform, prk: PseudorandomKey, sid: Uint8Array): AesKeyAndIv {
  const prefix = (hkdfConstants || madeHkdfConstants()).encryption;
  const first = expandedBlock(platform, prk, null, prefix, sid);
  const second = expandedBlock(platform, prk, first, prefix, sid);
  // A plain view of the digest's first bytes (bytes.ts's leadingBytes, written out for the same reason).
  return { key: first, iv: new Uint8Array(second.buffer, second.byteOffset, IV_SIZE) };
}

export function deriveAesKeyAndIv(platform: HmacPlatform, ikm: Uint8Array, sid: Uint8Array): AesKeyAndIv {
  return deriveAesKeyAndIvFromPrk(platform, pseudorandomKey(platform, ikm), sid);
}

/** Remember cookies: PBKDF2 with the iteration count `remember_safety` names (0 means HKDF). */
export function deriveRememberAesKeyAndIv(
  platform: Platform,
  ikm: Uint8Array,
  sid: Uint8Array,
  iterations: number,
): Promise<AesKeyAndIv> {
  if (iterations <= 0) return Promise.resolve(deriveAesKeyAndIv(platform, ikm, sid));
  const prefix = (hkdfConstants || madeHkdfConstants()).encryption;
  const salt = new Uint8Array(prefix.length + sid.length);
  salt.set(prefix, 0);
  salt.set(sid, prefix.length);
  return platform.pbkdf2Sha256(ikm, salt, iterations, KEY_SIZE + IV_SIZE).then(splitKeyAndIv);
}
