/**
 * Byte helpers shared by the whole core. Everything binary is a Uint8Array, so that the same code runs
 * under both njs engines and on Node; only base64url leans on Buffer, which all three have.
 */

/**
 * base64url through the host's Buffer (njs under both engines, and Node, have one): a JavaScript loop
 * over the bytes costs tens of microseconds per cookie in njs's interpreters, the native codec well
 * under one.
 */
interface NativeBuffer {
  from(text: string, encoding: "base64url"): Uint8Array;
  from(bytes: Uint8Array): { toString(encoding: "base64url"): string };
  prototype: { toString: (this: Uint8Array, encoding: "base64url") => string };
}
const NATIVE = Buffer as unknown as NativeBuffer;
/** Length of the unpadded base64url text for `size` bytes. */
export function base64UrlSize(size: number): number {
  return Math.ceil((4 * size) / 3);
}

/**
 * Whether Buffer's toString encodes a plain Uint8Array (asked of the host once, on first use); also
 * how the store replies' text is decoded (storage/protocol/lines.ts).
 */
let encodesViews: boolean | undefined;

export function hostEncodesViews(): boolean {
  if (encodesViews === undefined) {
    try {
      encodesViews = NATIVE.prototype.toString.call(new Uint8Array([0xfb, 0xff]), "base64url") === "-_8";
    } catch (e) {
      // Node: its toString asks the Buffer for its own encoders.
      encodesViews = false;
    }
  }
  return encodesViews;
}

/**
 * Where the host's Buffer encodes any byte view in place (njs's QuickJS engine), Buffer's toString
 * called on the view itself; elsewhere (Node's works on its Buffers only) a Buffer copy of the view,
 * from the view itself, not from its ArrayBuffer: QuickJS's Buffer.from tries a typed array first and
 * builds (and drops) a TypeError, stack trace included, for anything else. The copy costs QuickJS a
 * Buffer allocation per encoding (a session id, a loggable id, a header on every cold request).
 */
export function encodeBase64Url(bytes: Uint8Array): string {
  // The probe's answer read in place once known: under QuickJS every distinct function a cold request
  // calls is read from memory (docs/NOTES.md, "where QuickJS's misses under concurrency go").
  return (encodesViews === undefined ? hostEncodesViews() : encodesViews) ? NATIVE.prototype.toString.call(bytes, "base64url") : NATIVE.from(bytes).toString("base64url");
}

/**
 * Whether the host's base64url decoder also reads "+" and "/" (as "-" and "_"): Node's does, njs's
 * (both engines) stops at them. Asked of the host once, on first use: searching every text for the two
 * characters costs QuickJS more than the decoding itself, and only Node needs it.
 */
let readsStandardAlphabet: boolean | undefined;

function hostReadsStandardAlphabet(): boolean {
  if (readsStandardAlphabet === undefined) readsStandardAlphabet = NATIVE.from("+/+/", "base64url").length !== 0;
  return readsStandardAlphabet;
}

/**
 * Strict-alphabet base64url decoding (no padding, no whitespace, no "+" or "/"): returns null for any
 * other character or an impossible length, so malformed cookies are refused before any crypto runs.
 * Non-zero trailing bits are tolerated, as nginx's decoder (and so the peer) tolerates them; the MAC
 * and GCM tag catch any change they could hide.
 *
 * The alphabet is checked by the decoded length: n characters of the alphabet are exactly
 * floor(3n / 4) bytes, and the hosts' decoders give fewer for any other character (njs stops at the
 * first one, Node skips each), except "+" and "/" on a host that reads them (Node), where they are
 * looked for apart. A RegExp over the text, or encoding the bytes again, costs QuickJS more.
 *
 * `hostBytes`: the bytes as the host's decoder made them (a Buffer), without a plain view over them,
 * for bytes that are only read or copied whole (a ciphertext handed to the decryption). The view costs
 * QuickJS a constructor call; a subarray of a Buffer costs it a construction through Buffer's species,
 * dearer than one of a plain view, so bytes that are cut into parts (a header) get the view. A flag,
 * not a second function around this one: the njs engine's warm check decodes a key on every request,
 * and a call more costs it.
 */
export function decodeBase64Url(text: string, hostBytes?: boolean): Uint8Array | null {
  const length = text.length;
  if (length % 4 === 1) return null;
  const decoded = NATIVE.from(text, "base64url");
  if (decoded.length !== (length * 3) >>> 2) return null;
  if ((readsStandardAlphabet === undefined ? hostReadsStandardAlphabet() : readsStandardAlphabet) && (text.indexOf("+") >= 0 || text.indexOf("/") >= 0)) return null;
  return hostBytes ? decoded : new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.length);
}

/**
 * The first `size` bytes of `bytes` as a plain view: for a digest (a Buffer under njs and Node), whose
 * own subarray costs QuickJS a construction through Buffer's species.
 */
export function leadingBytes(bytes: Uint8Array, size: number): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, size);
}

/**
 * For each character code of the base64url alphabet, the character with the same two high bits and
 * zero low bits ("=" elsewhere: never read for a host's encoding); tied to the alphabet by a unit test.
 */
const HIGH_TWO_BITS =
  "=============================================w==wwwwwwwwww=======AAAAAAAAAAAAAAAAQQQQQQQQQQ====w=QQQQQQggggggggggggggggwwww=====";

/**
 * The unpadded base64url text of the first 16 bytes of what `text` (unpadded base64url, at least 22
 * characters) encodes: its first 21 characters, then the 22nd with only its two high bits, where the
 * 16th byte ends. For a digest the host encoded itself (the loggable id): no bytes made to be cut.
 */
export function leading16BytesText(text: string): string {
  return text.substring(0, 21) + HIGH_TWO_BITS[text.charCodeAt(21)];
}

// Pure: a bundle that never encodes (the store bridge) drops them.
const UTF8_ENCODER = /* @__PURE__ */ new TextEncoder();
const UTF8_DECODER = /* @__PURE__ */ new TextDecoder();

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
