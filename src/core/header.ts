/**
 * The 82-byte session header: parsing with every check the format allows before any crypto, and
 * building. See format.ts for the field table.
 */

import { decodeBase64Url } from "./bytes";
import { retainedTable } from "./retained";
import {
  COOKIE_TYPE,
  CREATION_TIME_OFFSET,
  DATA_SIZE_OFFSET,
  FLAGS_OFFSET,
  HEADER_ENCODED_SIZE,
  HEADER_SIZE,
  IDLING_OFFSET_OFFSET,
  KNOWN_FLAGS,
  MAC_OFFSET,
  MAC_SIZE,
  ROLLING_OFFSET_OFFSET,
  SID_OFFSET,
  SID_SIZE,
  TAG_OFFSET,
  TAG_SIZE,
} from "./format";

export interface SessionHeader {
  /** The raw 82 bytes, kept so a touch can rewrite only the idling offset and the MAC. */
  bytes: Uint8Array;
  flags: number;
  sid: Uint8Array;
  creationTime: number;
  rollingOffset: number;
  /** Length of the base64url payload text. */
  dataSize: number;
  idlingOffset: number;
}

/*
 * The tag and the MAC stay in `bytes` until asked for: a session found in the verified cache needs
 * neither, and every view costs QuickJS a species lookup and a constructor call.
 */

/** The AES-GCM tag (a view into the header's bytes). */
export function headerTag(header: SessionHeader): Uint8Array {
  return header.bytes.subarray(TAG_OFFSET, TAG_OFFSET + TAG_SIZE);
}

/** The MAC (a view into the header's bytes); the check itself compares in place (keys.macMatches). */
export function headerMac(header: SessionHeader): Uint8Array {
  return header.bytes.subarray(MAC_OFFSET, MAC_OFFSET + MAC_SIZE);
}

/**
 * parseHeader's answer: the header, or why the value holds none (a short reason for the log). A string,
 * not an object around either: every cold request parses a header, and each object costs QuickJS.
 */
export type ParsedHeader = SessionHeader | string;

/** Decodes the first 110 characters of a cookie value. Rejects by shape only; the MAC is checked later. */
export function parseHeader(cookieValue: string): ParsedHeader {
  if (cookieValue.length < HEADER_ENCODED_SIZE) return "invalid session header";
  const bytes = decodeBase64Url(cookieValue.substring(0, HEADER_ENCODED_SIZE));
  if (!bytes || bytes.length !== HEADER_SIZE) return "unable to base64url decode session header";
  if (bytes[0] !== COOKIE_TYPE) return "invalid session cookie type";
  // The little-endian fields read in place, each one expression: no loop (QuickJS interprets every step
  // of one) and no reader function (each distinct function a cold request calls is read from memory
  // under concurrency: docs/NOTES.md, "where QuickJS's misses under concurrency go"). Multiplications,
  // not shifts, above 24 bits (shifts work on signed 32-bit integers).
  const flags = bytes[FLAGS_OFFSET] | (bytes[FLAGS_OFFSET + 1] << 8);
  // The peer ignores unknown bits; we refuse them, as they can only come from a newer format or tampering
  // (and tampering is caught by the MAC anyway, so no valid cookie of 4.x is refused by this).
  if ((flags & ~KNOWN_FLAGS) !== 0) return "invalid session flags";
  return {
    bytes: bytes,
    flags: flags,
    sid: bytes.subarray(SID_OFFSET, SID_OFFSET + SID_SIZE),
    creationTime:
      (bytes[CREATION_TIME_OFFSET] | (bytes[CREATION_TIME_OFFSET + 1] << 8) | (bytes[CREATION_TIME_OFFSET + 2] << 16)) +
      bytes[CREATION_TIME_OFFSET + 3] * 0x1000000 +
      bytes[CREATION_TIME_OFFSET + 4] * 0x100000000,
    rollingOffset: (bytes[ROLLING_OFFSET_OFFSET] | (bytes[ROLLING_OFFSET_OFFSET + 1] << 8) | (bytes[ROLLING_OFFSET_OFFSET + 2] << 16)) + bytes[ROLLING_OFFSET_OFFSET + 3] * 0x1000000,
    dataSize: bytes[DATA_SIZE_OFFSET] | (bytes[DATA_SIZE_OFFSET + 1] << 8) | (bytes[DATA_SIZE_OFFSET + 2] << 16),
    idlingOffset: bytes[IDLING_OFFSET_OFFSET] | (bytes[IDLING_OFFSET_OFFSET + 1] << 8) | (bytes[IDLING_OFFSET_OFFSET + 2] << 16),
  };
}

interface HandedOnHeader {
  value: string;
  parsed: ParsedHeader;
}

/**
 * A header parsed by a check that then leaves the cookie to the full path (the cold check declining a
 * cookie due for a refresh, say): kept for the full path's parseHandedOnHeader, so that one request
 * decodes one header once. One entry, keyed by the whole cookie value (the result is a function of it
 * alone); nothing writes into a parsed header's bytes (a touch writes into a copy).
 */
export function handOnHeader(cookieValue: string, parsed: ParsedHeader): void {
  retainedTable<HandedOnHeader>("header.handed-on", 1).set("", { value: cookieValue, parsed: parsed });
}

/** parseHeader, or what a check of this request handed on for this very value. */
export function parseHandedOnHeader(cookieValue: string): ParsedHeader {
  const handed = retainedTable<HandedOnHeader>("header.handed-on", 1).get("");
  return handed && handed.value === cookieValue ? handed.parsed : parseHeader(cookieValue);
}

/**
 * Writes type, flags, sid, creation time, rolling offset and data size: the AAD part (47 bytes).
 * Arguments rather than an object of fields: every save makes a header, and an object costs QuickJS.
 */
export function buildHeader(flags: number, sid: Uint8Array, creationTime: number, rollingOffset: number, dataSize: number): Uint8Array {
  const b = new Uint8Array(HEADER_SIZE);
  b[0] = COOKIE_TYPE;
  // The little-endian fields written in place, as parseHeader reads them (no writer function: each
  // distinct function a login calls is read from memory under QuickJS's concurrency, docs/NOTES.md);
  // values are whole, non-negative and fit their fields (checked by the callers). The array starts
  // zeroed: a field that is 0 (no flags; a new session's rolling offset, as every login's) is left as
  // made.
  if (flags !== 0) {
    b[FLAGS_OFFSET] = flags & 0xff;
    b[FLAGS_OFFSET + 1] = (flags >>> 8) & 0xff;
  }
  b.set(sid, SID_OFFSET);
  const low = creationTime % 0x100000000;
  b[CREATION_TIME_OFFSET] = low & 0xff;
  b[CREATION_TIME_OFFSET + 1] = (low >>> 8) & 0xff;
  b[CREATION_TIME_OFFSET + 2] = (low >>> 16) & 0xff;
  b[CREATION_TIME_OFFSET + 3] = (low >>> 24) & 0xff;
  // (creationTime - low) is a multiple of 2^32: the division is exact, no Math.floor to look up and call.
  b[CREATION_TIME_OFFSET + 4] = ((creationTime - low) / 0x100000000) & 0xff;
  if (rollingOffset !== 0) {
    b[ROLLING_OFFSET_OFFSET] = rollingOffset & 0xff;
    b[ROLLING_OFFSET_OFFSET + 1] = (rollingOffset >>> 8) & 0xff;
    b[ROLLING_OFFSET_OFFSET + 2] = (rollingOffset >>> 16) & 0xff;
    b[ROLLING_OFFSET_OFFSET + 3] = (rollingOffset >>> 24) & 0xff;
  }
  b[DATA_SIZE_OFFSET] = dataSize & 0xff;
  b[DATA_SIZE_OFFSET + 1] = (dataSize >>> 8) & 0xff;
  b[DATA_SIZE_OFFSET + 2] = (dataSize >>> 16) & 0xff;
  return b;
}

export function setTag(bytes: Uint8Array, tag: Uint8Array): void {
  bytes.set(tag, TAG_OFFSET);
}

/** The one field rewritten after the header is made (a touch), in place as buildHeader writes them. */
export function setIdlingOffset(bytes: Uint8Array, idlingOffset: number): void {
  bytes[IDLING_OFFSET_OFFSET] = idlingOffset & 0xff;
  bytes[IDLING_OFFSET_OFFSET + 1] = (idlingOffset >>> 8) & 0xff;
  bytes[IDLING_OFFSET_OFFSET + 2] = (idlingOffset >>> 16) & 0xff;
}

export function setMac(bytes: Uint8Array, mac: Uint8Array): void {
  bytes.set(mac, MAC_OFFSET);
}
