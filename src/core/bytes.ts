/**
 * Byte helpers shared by the whole core. Everything binary is a Uint8Array; nothing here depends on
 * Buffer so that the same code runs under both njs engines and on Node.
 */

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BASE64URL_DECODE: number[] = (function () {
  const table: number[] = [];
  for (let i = 0; i < 128; i++) table.push(-1);
  for (let i = 0; i < BASE64URL_ALPHABET.length; i++) table[BASE64URL_ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/** Length of the unpadded base64url text for `size` bytes. */
export function base64UrlSize(size: number): number {
  return Math.ceil((4 * size) / 3);
}

export function encodeBase64Url(bytes: Uint8Array): string {
  const alphabet = BASE64URL_ALPHABET;
  const parts: string[] = [];
  let chunk = "";
  const length = bytes.length;
  let i = 0;
  for (; i + 2 < length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    chunk +=
      alphabet[(n >> 18) & 63] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + alphabet[n & 63];
    // Keep string pieces short: repeated concatenation of a very long string is slow in the njs engine.
    if (chunk.length >= 4096) {
      parts.push(chunk);
      chunk = "";
    }
  }
  const rest = length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    chunk += alphabet[(n >> 18) & 63] + alphabet[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    chunk += alphabet[(n >> 18) & 63] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63];
  }
  parts.push(chunk);
  return parts.join("");
}

/**
 * Strict-alphabet base64url decoding (no padding, no whitespace, no "+" or "/"): returns null for any
 * other character or an impossible length, so malformed cookies are refused before any crypto runs.
 * Non-zero trailing bits are tolerated, as nginx's decoder (and so the peer) tolerates them; the MAC
 * and GCM tag catch any change they could hide.
 */
export function decodeBase64Url(text: string): Uint8Array | null {
  const length = text.length;
  const remainder = length % 4;
  if (remainder === 1) return null;
  const out = new Uint8Array(Math.floor((length * 3) / 4));
  const table = BASE64URL_DECODE;
  let o = 0;
  let i = 0;
  for (; i + 3 < length; i += 4) {
    const a = table[text.charCodeAt(i)];
    const b = table[text.charCodeAt(i + 1)];
    const c = table[text.charCodeAt(i + 2)];
    const d = table[text.charCodeAt(i + 3)];
    // Characters >= 128 index past the table and read undefined, which fails the check too.
    if (!(a >= 0 && b >= 0 && c >= 0 && d >= 0)) return null;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = (n >> 16) & 255;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  if (remainder === 2) {
    const a = table[text.charCodeAt(i)];
    const b = table[text.charCodeAt(i + 1)];
    if (!(a >= 0 && b >= 0)) return null;
    out[o++] = ((a << 18) | (b << 12)) >> 16;
  } else if (remainder === 3) {
    const a = table[text.charCodeAt(i)];
    const b = table[text.charCodeAt(i + 1)];
    const c = table[text.charCodeAt(i + 2)];
    if (!(a >= 0 && b >= 0 && c >= 0)) return null;
    const n = (a << 18) | (b << 12) | (c << 6);
    out[o++] = (n >> 16) & 255;
    out[o++] = (n >> 8) & 255;
  }
  return out;
}

const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder();

export function utf8Encode(text: string): Uint8Array {
  return UTF8_ENCODER.encode(text);
}

export function utf8Decode(bytes: Uint8Array): string {
  // njs-types declares decode(ArrayBuffer) only; both engines (and Node) take any byte view.
  return UTF8_DECODER.decode(bytes as unknown as ArrayBuffer);
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (let i = 0; i < parts.length; i++) total += parts[i].length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (let i = 0; i < parts.length; i++) {
    out.set(parts[i], offset);
    offset += parts[i].length;
  }
  return out;
}

/** Writes `value` as a `size`-byte little-endian unsigned integer (size ≤ 6, value < 2^48). */
export function writeUintLE(target: Uint8Array, offset: number, size: number, value: number): void {
  let rest = value;
  for (let i = 0; i < size; i++) {
    target[offset + i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
}

export function readUintLE(source: Uint8Array, offset: number, size: number): number {
  let value = 0;
  for (let i = size - 1; i >= 0; i--) value = value * 256 + source[offset + i];
  return value;
}

/** Compares without an early exit, so a MAC check takes the same time wherever the bytes differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** A short, non-reversible hint of a session id for logs: never log the id itself. */
export function sidHint(sid: Uint8Array): string {
  return encodeBase64Url(sid.subarray(0, 3));
}
