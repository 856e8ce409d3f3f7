/** The core's platform on Node: node:crypto (synchronous hashes, WebCrypto for AES-GCM) and node:zlib. */

import { createHash, createHmac, type Hash, randomBytes as nodeRandomBytes, webcrypto } from "node:crypto";
import { readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { FileSystem, LogLevel, Platform } from "../core/platform";
import { errorCode } from "../core/errors";
import type { SharedDict } from "../core/shared-dict";

const subtle = webcrypto.subtle;

function bytes(buffer: ArrayBuffer | Uint8Array): Uint8Array {
  return buffer instanceof Uint8Array ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) : new Uint8Array(buffer);
}

export interface NodePlatformOptions {
  /** Clock override (unix seconds), e.g. to open a session "as of" a recorded time. */
  now?: () => number;
  log?: (level: LogLevel, message: string) => void;
  /** Shared dictionaries by zone name (a Node process has no nginx zones; tests and tools pass their own). */
  sharedDicts?: { [zone: string]: SharedDict };
}


export const nodeFiles: FileSystem = {
  read: (path) => {
    try {
      return readFileSync(path, "utf8");
    } catch (e) {
      if (errorCode(e) === "ENOENT") return null;
      throw e;
    }
  },
  writeAtomic: (path, data, mode) => {
    const temporary = path + ".tmp-" + nodeRandomBytes(6).toString("hex");
    try {
      writeFileSync(temporary, data, { mode });
      renameSync(temporary, path);
    } catch (e) {
      try {
        unlinkSync(temporary);
      } catch {
        // Already gone, or never written.
      }
      throw e;
    }
  },
  remove: (path) => {
    try {
      unlinkSync(path);
    } catch (e) {
      if (errorCode(e) !== "ENOENT") throw e;
    }
  },
  list: (directory) => readdirSync(directory),
  modifiedAt: (path) => {
    try {
      return Math.floor(statSync(path).mtimeMs / 1000);
    } catch (e) {
      if (errorCode(e) === "ENOENT") return null;
      throw e;
    }
  },
};

export function createNodePlatform(options: NodePlatformOptions = {}): Platform {
  return {
    now: options.now || (() => Math.floor(Date.now() / 1000)),
    randomBytes: (size) => bytes(webcrypto.getRandomValues(new Uint8Array(size))),
    sha256: (data) => bytes(createHash("sha256").update(data).digest()),
    sha256Base64Url: (data) => createHash("sha256").update(data).digest("base64url"),
    hmacSha256: (key, data) => bytes(createHmac("sha256", key).update(data).digest()),
    hmacSha256Parts: (key, first, second, third, fourth) => {
      const hmac = createHmac("sha256", key).update(first).update(second);
      if (third) hmac.update(third);
      if (fourth) hmac.update(fourth);
      return bytes(hmac.digest());
    },
    sha256Started: (prefix) => createHash("sha256").update(prefix),
    sha256Continued: (state, first, second, third, fourth) => {
      const hash = (state as Hash).copy().update(first);
      if (second) hash.update(second);
      if (third) hash.update(third);
      if (fourth) hash.update(fourth);
      return bytes(hash.digest());
    },
    pbkdf2Sha256: async (password, salt, iterations, size) => {
      const key = await subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
      return bytes(await subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, size * 8));
    },
    aesGcmEncryptionKey: (key) => subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]),
    aesGcmEncrypt: (cryptoKey, iv, plaintext, aad) =>
      subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad, tagLength: 128 }, cryptoKey as webcrypto.CryptoKey, plaintext),
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
    sharedDict: (zone) => (options.sharedDicts ? options.sharedDicts[zone] : undefined),
    files: nodeFiles,
    keepsModuleState: true,
  };
}
