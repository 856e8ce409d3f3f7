/**
 * An independent reference of the lua-resty-session 4.x cookie format, written from the format table
 * (src/core/format.ts header comment, the vectors' "notes") with node:crypto and node:zlib only. It
 * imports NOTHING from src/, so checking our output against it is not checking our code against itself.
 *
 *   [ Type 1 | Flags 2 LE | SID 32 | Creation 5 LE | Rolling offset 4 LE | Data size 3 LE | Tag 16 |
 *     Idling offset 3 LE | MAC 16 ]  = 82 bytes, base64url (no padding) = 110 characters
 *
 *   ikm          = SHA-256(secret)  (or the raw 32-byte ikm)
 *   MAC key      = HKDF-SHA256(ikm, salt = empty, info = "authentication:" || sid, 32)
 *   MAC          = HMAC-SHA256(MAC key, header[0:66] [|| "#" || SHA-256(bound values joined by "|")])[0:16]
 *   key || iv    = HKDF-SHA256(ikm, salt = empty, info = "encryption:" || sid, 44)
 *   remember key = PBKDF2-HMAC-SHA256(ikm, "encryption:" || sid, iterations, 44) unless safety "None"
 *   AES-256-GCM, AAD = header[0:47], tag in header[47:63]
 */

import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, pbkdf2Sync, randomBytes } from "node:crypto";
import { inflateRawSync } from "node:zlib";

export const REF_HEADER_SIZE = 82;
export const REF_HEADER_TEXT_SIZE = 110;

/** Byte offsets written out from the table, on purpose not imported from src/core/format.ts. */
export const REF = {
  type: 0,
  flags: 1,
  sid: 3,
  creation: 35,
  rolling: 40,
  dataSize: 44,
  tag: 47,
  idling: 63,
  mac: 66,
  end: 82,
} as const;

export const REF_FLAG_STORAGE = 0x0001;
export const REF_FLAG_FORGET = 0x0002;
export const REF_FLAG_DEFLATE = 0x0010;
export const REF_FLAG_BIND_IP = 0x0100;
export const REF_FLAG_BIND_SCHEME = 0x0200;
export const REF_FLAG_BIND_USER_AGENT = 0x0400;

export interface RefHeader {
  bytes: Buffer;
  type: number;
  flags: number;
  sid: Buffer;
  creationTime: number;
  rollingOffset: number;
  dataSize: number;
  tag: Buffer;
  idlingOffset: number;
  mac: Buffer;
}

export function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

export function fromB64u(text: string): Buffer {
  return Buffer.from(text, "base64url");
}

export function refIkm(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

export function refSha256(data: string | Uint8Array): Buffer {
  return createHash("sha256").update(data).digest();
}

export function refParseHeader(bytes: Uint8Array): RefHeader {
  const b = Buffer.from(bytes);
  if (b.length !== REF_HEADER_SIZE) throw new Error("reference: header must be 82 bytes, got " + b.length);
  return {
    bytes: b,
    type: b.readUIntLE(REF.type, 1),
    flags: b.readUIntLE(REF.flags, 2),
    sid: b.subarray(REF.sid, REF.creation),
    creationTime: b.readUIntLE(REF.creation, 5),
    rollingOffset: b.readUIntLE(REF.rolling, 4),
    dataSize: b.readUIntLE(REF.dataSize, 3),
    tag: b.subarray(REF.tag, REF.idling),
    idlingOffset: b.readUIntLE(REF.idling, 3),
    mac: b.subarray(REF.mac, REF.end),
  };
}

/** Splits a cookie value into its decoded header and the payload text that follows it. */
export function refSplitCookie(value: string): { headerText: string; header: RefHeader; payloadText: string } {
  const headerText = value.substring(0, REF_HEADER_TEXT_SIZE);
  return { headerText, header: refParseHeader(fromB64u(headerText)), payloadText: value.substring(REF_HEADER_TEXT_SIZE) };
}

function hkdf(ikm: Uint8Array, info: Buffer, size: number): Buffer {
  return Buffer.from(hkdfSync("sha256", ikm, Buffer.alloc(0), info, size));
}

export function refMacKey(ikm: Uint8Array, sid: Uint8Array): Buffer {
  return hkdf(ikm, Buffer.concat([Buffer.from("authentication:"), Buffer.from(sid)]), 32);
}

/** MAC input: header[0:66], plus "#" || SHA-256(values joined by "|") when any bound value is present. */
export function refMacInput(headerBytes: Uint8Array, boundValues: string[] = []): Buffer {
  const head = Buffer.from(headerBytes).subarray(0, REF.mac);
  const values = boundValues.filter((v) => v !== undefined && v !== "");
  if (!values.length) return Buffer.from(head);
  return Buffer.concat([head, Buffer.from("#"), refSha256(values.join("|"))]);
}

export function refMac(ikm: Uint8Array, sid: Uint8Array, macInput: Uint8Array): Buffer {
  return createHmac("sha256", refMacKey(ikm, sid)).update(macInput).digest().subarray(0, 16);
}

export function refKeyAndIv(ikm: Uint8Array, sid: Uint8Array): { key: Buffer; iv: Buffer } {
  const okm = hkdf(ikm, Buffer.concat([Buffer.from("encryption:"), Buffer.from(sid)]), 44);
  return { key: okm.subarray(0, 32), iv: okm.subarray(32, 44) };
}

export function refRememberKeyAndIv(ikm: Uint8Array, sid: Uint8Array, iterations: number): { key: Buffer; iv: Buffer } {
  if (iterations === 0) return refKeyAndIv(ikm, sid);
  const okm = pbkdf2Sync(ikm, Buffer.concat([Buffer.from("encryption:"), Buffer.from(sid)]), iterations, 44, "sha256");
  return { key: okm.subarray(0, 32), iv: okm.subarray(32, 44) };
}

/** AES-256-GCM open; throws when the tag does not authenticate. */
export function refDecrypt(
  keyAndIv: { key: Buffer; iv: Buffer },
  ciphertext: Uint8Array,
  aad: Uint8Array,
  tag: Uint8Array,
): Buffer {
  const decipher = createDecipheriv("aes-256-gcm", keyAndIv.key, keyAndIv.iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

export function refEncrypt(
  keyAndIv: { key: Buffer; iv: Buffer },
  plaintext: Uint8Array,
  aad: Uint8Array,
): { ciphertext: Buffer; tag: Buffer } {
  const cipher = createCipheriv("aes-256-gcm", keyAndIv.key, keyAndIv.iv);
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, tag: cipher.getAuthTag() };
}

/**
 * Verifies and opens a sealed payload the way the format says: MAC first, then AES-GCM with
 * AAD header[0:47], then raw inflate when FLAG_DEFLATE is set. Returns the plaintext JSON text.
 */
export function refOpen(
  ikm: Uint8Array,
  header: RefHeader,
  payloadText: string,
  options: { rememberIterations?: number; boundValues?: string[] } = {},
): string {
  const mac = refMac(ikm, header.sid, refMacInput(header.bytes, options.boundValues));
  if (!mac.equals(header.mac)) throw new Error("reference: MAC mismatch");
  const keyAndIv =
    options.rememberIterations === undefined
      ? refKeyAndIv(ikm, header.sid)
      : refRememberKeyAndIv(ikm, header.sid, options.rememberIterations);
  let plaintext = refDecrypt(keyAndIv, fromB64u(payloadText), header.bytes.subarray(0, REF.tag), header.tag);
  if (header.flags & REF_FLAG_DEFLATE) plaintext = inflateRawSync(plaintext);
  return plaintext.toString("utf8");
}

/** Writes `value` into a copy of the header at a field, then recomputes the MAC with `ikm` (a forger holding the key). */
export function refRewriteHeader(
  headerBytes: Uint8Array,
  edits: Array<[offset: number, size: number, value: number]>,
  ikm: Uint8Array | null,
  boundValues: string[] = [],
): Buffer {
  const out = Buffer.from(headerBytes);
  for (const [offset, size, value] of edits) {
    if (size <= 6) out.writeUIntLE(value, offset, size);
    else throw new Error("reference: field too large");
  }
  if (ikm) {
    const sid = out.subarray(REF.sid, REF.creation);
    refMac(ikm, sid, refMacInput(out, boundValues)).copy(out, REF.mac);
  }
  return out;
}

/**
 * A session cookie value sealed entirely by the reference: a session "minted elsewhere" (as
 * lua-resty-session would write it), so tests can authenticate payloads no library of ours would write.
 */
export function refSeal(ikm: Uint8Array, plaintext: Uint8Array, options: { flags?: number; creationTime: number }): string {
  const header = Buffer.alloc(REF_HEADER_SIZE);
  header.writeUIntLE(1, REF.type, 1);
  header.writeUIntLE(options.flags || 0, REF.flags, 2);
  const sid = randomBytes(32);
  sid.copy(header, REF.sid);
  header.writeUIntLE(options.creationTime, REF.creation, 5);
  header.writeUIntLE(0, REF.rolling, 4);
  const payloadLength = Math.ceil((plaintext.length * 4) / 3);
  header.writeUIntLE(payloadLength, REF.dataSize, 3);
  const sealed = refEncrypt(refKeyAndIv(ikm, sid), plaintext, header.subarray(0, REF.tag));
  sealed.tag.copy(header, REF.tag);
  refMac(ikm, sid, refMacInput(header)).copy(header, REF.mac);
  const payload = b64u(sealed.ciphertext);
  if (payload.length !== payloadLength) throw new Error("reference: payload length " + payload.length + " is not " + payloadLength);
  return b64u(header) + payload;
}
