/** The core's platform on Node: node:crypto (synchronous hashes, WebCrypto for AES-GCM) and node:zlib. */

import { createHash, createHmac, webcrypto } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { LogLevel, Platform } from "../core/platform";

const subtle = webcrypto.subtle;

function bytes(buffer: ArrayBuffer | Uint8Array): Uint8Array {
  return buffer instanceof Uint8Array ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) : new Uint8Array(buffer);
}

export interface NodePlatformOptions {
  /** Clock override (unix seconds), e.g. to open a session "as of" a recorded time. */
  now?: () => number;
  log?: (level: LogLevel, message: string) => void;
}

export function createNodePlatform(options: NodePlatformOptions = {}): Platform {
  return {
    now: options.now || (() => Math.floor(Date.now() / 1000)),
    randomBytes: (size) => bytes(webcrypto.getRandomValues(new Uint8Array(size))),
    sha256: (data) => bytes(createHash("sha256").update(data).digest()),
    hmacSha256: (key, data) => bytes(createHmac("sha256", key).update(data).digest()),
    pbkdf2Sha256: async (password, salt, iterations, size) => {
      const key = await subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
      return bytes(await subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, size * 8));
    },
    aesGcmEncrypt: async (key, iv, plaintext, aad) => {
      const cryptoKey = await subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);
      const sealed = bytes(
        await subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad, tagLength: 128 }, cryptoKey, plaintext),
      );
      return { ciphertext: sealed.subarray(0, sealed.length - 16), tag: sealed.subarray(sealed.length - 16) };
    },
    aesGcmDecrypt: async (key, iv, ciphertext, aad, tag) => {
      const cryptoKey = await subtle.importKey("raw", key, "AES-GCM", false, ["decrypt"]);
      const sealed = new Uint8Array(ciphertext.length + tag.length);
      sealed.set(ciphertext);
      sealed.set(tag, ciphertext.length);
      try {
        return bytes(await subtle.decrypt({ name: "AES-GCM", iv, additionalData: aad, tagLength: 128 }, cryptoKey, sealed));
      } catch {
        return null;
      }
    },
    deflateRaw: (data) => bytes(deflateRawSync(data)),
    inflateRaw: (data, maxSize) => {
      try {
        return bytes(inflateRawSync(data, { maxOutputLength: maxSize }));
      } catch {
        return null;
      }
    },
    log: options.log || ((level, message) => console.error(level + ": " + message)),
  };
}
