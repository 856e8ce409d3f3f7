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

/*
 * Little-endian readers for the header's field sizes, without a loop and each one expression (no
 * calls of one another): QuickJS interprets every step of a byte loop and pays for every call.
 * Multiplications, not shifts, above 24 bits (shifts work on signed 32-bit integers).
 */
function read16(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}

function read24(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8) | (b[at + 2] << 16);
}

function read32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 0x1000000;
}

function read40(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 0x1000000 + b[at + 4] * 0x100000000;
}

/**
 * The writers' counterparts, likewise without calls of one another; values are whole, non-negative
 * and fit their fields (checked by the callers).
 */
function write16(b: Uint8Array, at: number, value: number): void {
  b[at] = value & 0xff;
  b[at + 1] = (value >>> 8) & 0xff;
}

function write24(b: Uint8Array, at: number, value: number): void {
  b[at] = value & 0xff;
  b[at + 1] = (value >>> 8) & 0xff;
  b[at + 2] = (value >>> 16) & 0xff;
}

function write32(b: Uint8Array, at: number, value: number): void {
  b[at] = value & 0xff;
  b[at + 1] = (value >>> 8) & 0xff;
  b[at + 2] = (value >>> 16) & 0xff;
  b[at + 3] = (value >>> 24) & 0xff;
}

function write40(b: Uint8Array, at: number, value: number): void {
  const low = value % 0x100000000;
  b[at] = low & 0xff;
  b[at + 1] = (low >>> 8) & 0xff;
  b[at + 2] = (low >>> 16) & 0xff;
  b[at + 3] = (low >>> 24) & 0xff;
  // (value - low) is a multiple of 2^32: the division is exact, no Math.floor to look up and call.
  b[at + 4] = ((value - low) / 0x100000000) & 0xff;
}

/** Decodes the first 110 characters of a cookie value. Rejects by shape only; the MAC is checked later. */
export function parseHeader(cookieValue: string): ParsedHeader {
  if (cookieValue.length < HEADER_ENCODED_SIZE) return "invalid session header";
  const bytes = decodeBase64Url(cookieValue.substring(0, HEADER_ENCODED_SIZE));
  if (!bytes || bytes.length !== HEADER_SIZE) return "unable to base64url decode session header";
  if (bytes[0] !== COOKIE_TYPE) return "invalid session cookie type";
  const flags = read16(bytes, FLAGS_OFFSET);
  // The peer ignores unknown bits; we refuse them, as they can only come from a newer format or tampering
  // (and tampering is caught by the MAC anyway, so no valid cookie of 4.x is refused by this).
  if ((flags & ~KNOWN_FLAGS) !== 0) return "invalid session flags";
  return {
    bytes: bytes,
    flags: flags,
    sid: bytes.subarray(SID_OFFSET, SID_OFFSET + SID_SIZE),
    creationTime: read40(bytes, CREATION_TIME_OFFSET),
    rollingOffset: read32(bytes, ROLLING_OFFSET_OFFSET),
    dataSize: read24(bytes, DATA_SIZE_OFFSET),
    idlingOffset: read24(bytes, IDLING_OFFSET_OFFSET),
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
  const bytes = new Uint8Array(HEADER_SIZE);
  bytes[0] = COOKIE_TYPE;
  // The array starts zeroed: a field that is 0 (no flags; a new session's rolling offset, as every
  // login's) is left as made, a call and its writes spared.
  if (flags !== 0) write16(bytes, FLAGS_OFFSET, flags);
  bytes.set(sid, SID_OFFSET);
  write40(bytes, CREATION_TIME_OFFSET, creationTime);
  if (rollingOffset !== 0) write32(bytes, ROLLING_OFFSET_OFFSET, rollingOffset);
  write24(bytes, DATA_SIZE_OFFSET, dataSize);
  return bytes;
}

export function setTag(bytes: Uint8Array, tag: Uint8Array): void {
  bytes.set(tag, TAG_OFFSET);
}

export function setIdlingOffset(bytes: Uint8Array, idlingOffset: number): void {
  write24(bytes, IDLING_OFFSET_OFFSET, idlingOffset);
}

export function setMac(bytes: Uint8Array, mac: Uint8Array): void {
  bytes.set(mac, MAC_OFFSET);
}
