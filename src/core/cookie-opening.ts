/**
 * The steps of opening a session cookie that need its key: the MAC check, the decryption, and the
 * verified-cache entry that records both; and the one step of re-issuing it that does, a touch's new
 * MAC. The Session (session.ts), the cold check (cold-check.ts) and the touch check (touch-check.ts)
 * take them through these functions, so they cannot drift apart.
 */

import { concatBytes, utf8Decode, utf8Encode } from "./bytes";
import { FLAG_DEFLATE, HEADER_AAD_SIZE, HEADER_MAC_INPUT_SIZE, MAC_OFFSET, MAX_DATA_SIZE, MAX_IDLING_OFFSET } from "./format";
import { headerTag, SessionHeader, setIdlingOffset, setMac } from "./header";
import { AesKeyAndIv, calculateMacFromPrk, macMatches, pseudorandomKey, PseudorandomKey } from "./keys";
import type { Platform } from "./platform";
import type { SessionEntry } from "./session";
import type { Settings } from "./settings";
import type { VerifiedSession } from "./verified-cache";

/** What checking or making a header's MAC calls of the platform. */
export type MacPlatform = Pick<Platform, "sha256" | "hmacSha256" | "hmacSha256Parts" | "sha256Started" | "sha256Continued">;

/** The MAC input: header[0, 66), plus "#" and SHA-256 of the bound request attributes. */
export function macInput(platform: Pick<Platform, "sha256">, headerBytes: Uint8Array, bound: string): Uint8Array {
  const head = headerBytes.subarray(0, HEADER_MAC_INPUT_SIZE);
  if (!bound) return head;
  return concatBytes([head, utf8Encode("#"), platform.sha256(utf8Encode(bound))]);
}

/**
 * Which configured key made the header's MAC (0: the current key, 1..: the fallbacks), or -1.
 * `currentPrk`: the current key's PRK, when the caller has it at hand for its next step (the
 * decryption), so that one request looks it up once.
 */
export function macKeyIndex(
  platform: MacPlatform,
  settings: Pick<Settings, "ikm" | "ikmFallbacks">,
  header: SessionHeader,
  bound: string,
  currentPrk?: PseudorandomKey,
): number {
  const input = macInput(platform, header.bytes, bound);
  if (macMatches(platform, currentPrk || pseudorandomKey(platform, settings.ikm), header.sid, input, header.bytes, MAC_OFFSET)) return 0;
  for (let i = 0; i < settings.ikmFallbacks.length; i++) {
    if (macMatches(platform, pseudorandomKey(platform, settings.ikmFallbacks[i]), header.sid, input, header.bytes, MAC_OFFSET)) return i + 1;
  }
  return -1;
}

/** A touch's idling offset: the seconds since the session last rolled, as the header's field holds them. */
export function touchedIdlingOffset(now: number, creationTime: number, rollingOffset: number): number {
  const sinceRoll = now - creationTime - rollingOffset;
  return sinceRoll < 0 ? 0 : sinceRoll > MAX_IDLING_OFFSET ? MAX_IDLING_OFFSET : sinceRoll;
}

/**
 * A touched header: a copy of `headerBytes` with the new idling offset and the MAC over it (made with
 * the key of `prk`, for the bound request attributes `bound`). No new id, no storage call.
 */
export function touchedHeader(platform: MacPlatform, prk: PseudorandomKey, sid: Uint8Array, headerBytes: Uint8Array, idlingOffset: number, bound: string): Uint8Array {
  const bytes = headerBytes.slice();
  setIdlingOffset(bytes, idlingOffset);
  setMac(bytes, calculateMacFromPrk(platform, prk, sid, macInput(platform, bytes, bound)));
  return bytes;
}

/** Why a payload whose MAC held did not open (the Session's reasons). */
export interface UnsealFailure {
  error: string;
}

/** A server-side storage record, [ciphertext, info?] as stored text, parsed; or why it is not one. */
export function parseRecord(stored: unknown): unknown[] | UnsealFailure {
  if (stored === null || stored === undefined) return { error: "unable to load session" };
  let record: unknown;
  try {
    record = typeof stored === "string" ? JSON.parse(stored) : undefined;
  } catch (e) {
    record = undefined;
  }
  return Array.isArray(record) && typeof record[0] === "string" ? record : { error: "unable to json decode session" };
}

/**
 * The payload decrypted with these keys (the header's first bytes are the additional data, its tag
 * the tag); null when it does not decrypt. The caller reads it with payloadText in its own next step:
 * a step of ours here would cost every cold check another promise job.
 */
export function decryptPayload(platform: Pick<Platform, "aesGcmDecrypt">, keys: AesKeyAndIv, header: SessionHeader, ciphertext: Uint8Array): Promise<Uint8Array | null> {
  return platform.aesGcmDecrypt(keys.key, keys.iv, ciphertext, header.bytes.subarray(0, HEADER_AAD_SIZE), headerTag(header));
}

/** The text of what decryptPayload gave, inflated when the header says so; or why there is none. */
export function payloadText(platform: Pick<Platform, "inflateRaw">, header: SessionHeader, decrypted: Uint8Array | null): string | UnsealFailure {
  let plaintext = decrypted;
  if (!plaintext) return { error: "unable to decrypt session data" };
  if (header.flags & FLAG_DEFLATE) {
    plaintext = platform.inflateRaw(plaintext, MAX_DATA_SIZE);
    if (!plaintext) return { error: "unable to inflate session data" };
  }
  return utf8Decode(plaintext);
}

/**
 * What the verified cache keeps of a cookie whose MAC and decryption both held. `sid` is the header's
 * session id as base64url text: a caller that read a record already encoded it for the storage key.
 * `entries`: decodeEntries' result for `plaintext`, when the caller hands its parse on (the cold
 * check); in the object from the start, as a property added later costs QuickJS a shape change.
 */
export function verifiedEntry(
  settings: Pick<Settings, "keyIds">,
  keyIndex: number,
  bound: string,
  header: SessionHeader,
  sid: string,
  ciphertext: string,
  plaintext: string,
  loggableId: string,
  entries?: SessionEntry[],
): VerifiedSession {
  return {
    keyId: settings.keyIds[keyIndex],
    bind: bound,
    ciphertext: ciphertext,
    plaintext: plaintext,
    flags: header.flags,
    creationTime: header.creationTime,
    rollingOffset: header.rollingOffset,
    idlingOffset: header.idlingOffset,
    sid: sid,
    loggableId: loggableId,
    entries: entries,
  };
}
