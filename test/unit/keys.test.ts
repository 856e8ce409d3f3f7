/**
 * keys.ts against node:crypto's own HKDF and PBKDF2 (RFC 5869 with an empty salt), for session ids of
 * random bytes: the MAC key, the AES key and IV, and the retained PRK giving the same answers when a
 * second, equal ikm (another object) asks, or when the keys of other ikms were derived in between.
 */

import assert from "node:assert/strict";
import { createHmac, hkdfSync, pbkdf2Sync, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import {
  calculateMac,
  calculateMacFromPrk,
  deriveAesKeyAndIv,
  deriveAesKeyAndIvFromPrk,
  deriveMacKeyFromPrk,
  deriveRememberAesKeyAndIv,
  hkdfSha256,
  macMatches,
  extractedKey,
  pseudorandomKey,
} from "../../src/core/keys";
import { createNodePlatform } from "../../src/platform/node";

const platform = createNodePlatform();

function referenceHkdf(ikm: Uint8Array, info: Uint8Array, size: number): Buffer {
  return Buffer.from(hkdfSync("sha256", ikm, Buffer.alloc(0), info, size));
}

function info(prefix: string, sid: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(prefix), sid]);
}

describe("keys: HKDF against node:crypto", () => {
  it("the PRK keys HMACs as HMAC(empty salt, ikm) does, and equal ikms share it", () => {
    const ikm = new Uint8Array(randomBytes(32));
    const sid = new Uint8Array(randomBytes(32));
    const prk = pseudorandomKey(platform, ikm);
    const referencePrk = createHmac("sha256", Buffer.alloc(0)).update(ikm).digest();
    const expected = createHmac("sha256", referencePrk).update(Buffer.concat([Buffer.from("authentication:"), sid, Buffer.from([1])])).digest();
    assert.deepEqual(Buffer.from(deriveMacKeyFromPrk(platform, prk, sid)), expected);
    assert.equal(pseudorandomKey(platform, ikm.slice()), prk);
  });

  it("extractedKey: the PRK pseudorandomKey retains, made anew on every call", () => {
    const ikm = new Uint8Array(randomBytes(32));
    const sid = new Uint8Array(randomBytes(32));
    const stateless = { ...platform, sha256Started: undefined, sha256Continued: undefined };
    for (const host of [platform, stateless]) {
      const made = extractedKey(host, ikm);
      assert.notEqual(extractedKey(host, ikm), made, "not retained");
      assert.deepEqual(Buffer.from(made.bytes), Buffer.from(pseudorandomKey(platform, ikm).bytes));
      assert.equal(made.inner !== null, host === platform, "states where the platform makes them");
      assert.deepEqual(Buffer.from(deriveMacKeyFromPrk(host, made, sid)), referenceHkdf(ikm, info("authentication:", sid), 32));
    }
  });

  it("a platform without SHA-256 states (the njs engine's) derives the same, from its PRK or one made with states", () => {
    const stateless = { ...platform, sha256Started: undefined, sha256Continued: undefined };
    const ikm = new Uint8Array(randomBytes(32));
    const sid = new Uint8Array(randomBytes(32));
    const withStates = pseudorandomKey(platform, ikm);
    assert.ok(withStates.inner && withStates.outer, "the Node platform makes the states");
    const keyAndIv = referenceHkdf(ikm, info("encryption:", sid), 44);
    const macKey = referenceHkdf(ikm, info("authentication:", sid), 32);
    for (const prk of [withStates, { bytes: withStates.bytes, inner: null, outer: null }]) {
      for (const host of [stateless, platform]) {
        assert.deepEqual(Buffer.from(deriveMacKeyFromPrk(host, prk, sid)), macKey);
        const derived = deriveAesKeyAndIvFromPrk(host, prk, sid);
        assert.deepEqual(Buffer.from(derived.key), keyAndIv.subarray(0, 32));
        assert.deepEqual(Buffer.from(derived.iv), keyAndIv.subarray(32, 44));
      }
    }
  });

  it("MAC key, MAC, AES key and IV for many ikms and session ids", () => {
    const ikms = [0, 1, 2].map(() => new Uint8Array(randomBytes(32)));
    for (let round = 0; round < 20; round++) {
      const ikm = ikms[round % ikms.length];
      const sid = new Uint8Array(randomBytes(32));
      const prk = pseudorandomKey(platform, ikm);
      const macKey = referenceHkdf(ikm, info("authentication:", sid), 32);
      assert.deepEqual(Buffer.from(deriveMacKeyFromPrk(platform, prk, sid)), macKey);
      const message = randomBytes(66);
      const mac = createHmac("sha256", macKey).update(message).digest().subarray(0, 16);
      assert.deepEqual(Buffer.from(calculateMacFromPrk(platform, prk, sid, message)), mac);
      assert.deepEqual(Buffer.from(calculateMac(platform, ikm, sid, message)), mac);
      const keyAndIv = referenceHkdf(ikm, info("encryption:", sid), 44);
      for (const derived of [deriveAesKeyAndIvFromPrk(platform, prk, sid), deriveAesKeyAndIv(platform, ikm, sid)]) {
        assert.deepEqual(Buffer.from(derived.key), keyAndIv.subarray(0, 32));
        assert.deepEqual(Buffer.from(derived.iv), keyAndIv.subarray(32, 44));
      }
    }
  });

  it("any size up to two blocks, any info", () => {
    const ikm = new Uint8Array(randomBytes(32));
    for (const size of [1, 16, 31, 32, 33, 44, 63, 64]) {
      assert.deepEqual(Buffer.from(hkdfSha256(platform, ikm, "csrf", size)), referenceHkdf(ikm, Buffer.from("csrf"), size), String(size));
    }
  });

  it("remember cookies: PBKDF2 with iterations, HKDF without", async () => {
    const ikm = new Uint8Array(randomBytes(32));
    const sid = new Uint8Array(randomBytes(32));
    const pbkdf2 = pbkdf2Sync(ikm, info("encryption:", sid), 1000, 44, "sha256");
    const slow = await deriveRememberAesKeyAndIv(platform, ikm, sid, 1000);
    assert.deepEqual(Buffer.concat([slow.key, slow.iv]), pbkdf2);
    const fast = await deriveRememberAesKeyAndIv(platform, ikm, sid, 0);
    assert.deepEqual(Buffer.concat([fast.key, fast.iv]), referenceHkdf(ikm, info("encryption:", sid), 44));
  });
});

describe("keys: macMatches", () => {
  it("holds for the MAC at its offset and fails when any one of its 16 bytes differs", () => {
    const prk = pseudorandomKey(platform, new Uint8Array(randomBytes(32)));
    const sid = new Uint8Array(randomBytes(32));
    const message = new Uint8Array(randomBytes(66));
    const offset = 5;
    const holder = new Uint8Array(offset + 16 + 3);
    holder.set(calculateMacFromPrk(platform, prk, sid, message), offset);
    assert.equal(macMatches(platform, prk, sid, message, holder, offset), true);
    for (let i = 0; i < 16; i++) {
      const changed = holder.slice();
      changed[offset + i] ^= 0x01;
      assert.equal(macMatches(platform, prk, sid, message, changed, offset), false, "byte " + i);
    }
    assert.equal(macMatches(platform, prk, sid, message, holder.subarray(0, offset + 15), offset), false, "too short");
  });
});
