/**
 * memcached storage's pure helpers (src/storage/memcached.ts): the hash and rendezvous placement of
 * keys over several servers, and the store_metadata list format shared with lua-resty-session 4.x
 * (lib/resty/session/utils.lua: bpack/bunpack, meta_get_value, meta_get_next, meta_get_latest).
 *
 * Expected metadata encodings are built here with Buffer.writeUIntLE and base64url, and the decoder is
 * compared with a line-by-line transliteration of the peer's meta_get_latest, not with our encoder.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { hash32, latestMetadata, metadataEntry, serverFor } from "../../src/storage/memcached";

/** A session key as the storages see it: 32 bytes as base64url, 43 characters. */
function sessionKey(seed: string | number): string {
  return createHash("sha256").update("key " + seed).digest("base64url");
}

/** Deterministic pseudo-random numbers (xorshift32), so the statistical tests cannot flake. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x100000000;
  };
}

describe("hash32", () => {
  const MASK = 0xffffffffn;
  /** FNV-1a over UTF-16 code units, in BigInt arithmetic. */
  function fnv1a(text: string): bigint {
    let h = 0x811c9dc5n;
    for (let i = 0; i < text.length; i++) {
      h ^= BigInt(text.charCodeAt(i));
      h = (h * 0x01000193n) & MASK;
    }
    return h;
  }
  /** murmur3's 32-bit finalizer (fmix32). */
  function fmix32(h: bigint): bigint {
    h ^= h >> 16n;
    h = (h * 0x85ebca6bn) & MASK;
    h ^= h >> 13n;
    h = (h * 0xc2b2ae35n) & MASK;
    h ^= h >> 16n;
    return h;
  }

  it("the reference here is FNV-1a: the published test vectors", () => {
    assert.equal(fnv1a(""), 0x811c9dc5n);
    assert.equal(fnv1a("a"), 0xe40c292cn);
    assert.equal(fnv1a("foobar"), 0xbf9cf968n);
  });

  it("is FNV-1a then murmur3's finalizer, as an unsigned 32-bit integer (every node must place keys alike)", () => {
    const samples = ["", "a", "foobar", "10.0.0.5:11211\nsession:" + sessionKey(1), "[::1]:11211\nsessions:session:aud:subject:suffix", "é€😀"];
    for (const text of samples) {
      const value = hash32(text);
      assert.equal(Number.isInteger(value) && value >= 0 && value < 2 ** 32, true, JSON.stringify(text));
      assert.equal(BigInt(value), fmix32(fnv1a(text)), JSON.stringify(text));
    }
  });

  it("pinned values: a change here moves keys between servers while old and new nodes share them", () => {
    assert.equal(hash32(""), 0xab3e7c0b);
    assert.equal(hash32("a"), 0x1a80b1b3);
    assert.equal(hash32("10.0.0.5:11211\nsession:abc"), 0x2bf26843);
  });
});

describe("serverFor (rendezvous hashing)", () => {
  const NAMES = Array.from({ length: 10000 }, (_, i) => "session:" + sessionKey(i));
  const FIVE = ["10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211", "10.0.0.4:11211", "10.0.0.5:11211"];

  function placement(servers: string[]): Map<string, string> {
    const where = new Map<string, string>();
    for (const name of NAMES) where.set(name, serverFor(servers, name));
    return where;
  }

  function counts(where: Map<string, string>): Map<string, number> {
    const out = new Map<string, number>();
    for (const server of where.values()) out.set(server, (out.get(server) || 0) + 1);
    return out;
  }

  it("one server holds every key", () => {
    for (const name of NAMES.slice(0, 100)) assert.equal(serverFor(["127.0.0.1:11211"], name), "127.0.0.1:11211");
  });

  it("is the server with the highest hash32(server + LF + name)", () => {
    for (const name of NAMES.slice(0, 200)) {
      let best = "";
      let bestWeight = -1;
      for (const server of FIVE) {
        const weight = hash32(server + "\n" + name);
        if (weight > bestWeight) [best, bestWeight] = [server, weight];
      }
      assert.equal(serverFor(FIVE, name), best);
    }
  });

  it("is deterministic, and does not depend on the order the servers are listed in", () => {
    const first = placement(FIVE);
    assert.deepEqual(placement(FIVE), first);
    assert.deepEqual(placement([...FIVE].reverse()), first);
    assert.deepEqual(placement([FIVE[2], FIVE[4], FIVE[0], FIVE[3], FIVE[1]]), first);
  });

  const SETS: Array<[string, string[]]> = [
    ["2 servers", FIVE.slice(0, 2)],
    ["3 servers", FIVE.slice(0, 3)],
    ["5 addresses in a row", FIVE],
    ["10 ports of one host", Array.from({ length: 10 }, (_, i) => "127.0.0.1:" + (11211 + i))],
    ["10 host names", Array.from({ length: 10 }, (_, i) => "cache-" + i + ".internal:11211")],
  ];
  for (const [what, servers] of SETS) {
    it(`10k keys over ${what}: every server gets its share (within 15% of an even split)`, () => {
      const share = NAMES.length / servers.length;
      const byServer = counts(placement(servers));
      assert.equal(byServer.size, servers.length, "every server holds keys");
      for (const [server, count] of byServer) {
        assert.ok(Math.abs(count - share) < share * 0.15, `${server}: ${count} keys, an even share is ${share}`);
      }
    });
  }

  for (const removed of [0, 2, 4]) {
    it(`removing server ${removed} of 5 moves exactly the keys it held, spread over the others`, () => {
      const before = placement(FIVE);
      const rest = FIVE.filter((_, i) => i !== removed);
      const after = placement(rest);
      let moved = 0;
      const movedTo = new Map<string, number>();
      for (const name of NAMES) {
        const was = before.get(name)!;
        const now = after.get(name)!;
        if (was === FIVE[removed]) {
          moved++;
          movedTo.set(now, (movedTo.get(now) || 0) + 1);
        } else {
          assert.equal(now, was, `${name} was on ${was}, a server that stayed: it must not move`);
        }
      }
      assert.equal(moved, counts(before).get(FIVE[removed]));
      assert.equal(movedTo.size, 4, "the removed server's keys go to all of the remaining servers");
      for (const [server, count] of movedTo) assert.ok(Math.abs(count - moved / 4) < (moved / 4) * 0.3, `${server} took ${count} of ${moved}`);
    });
  }

  it("adding a sixth server moves keys only onto it, about a sixth of them", () => {
    const before = placement(FIVE);
    const six = [...FIVE, "10.0.0.6:11211"];
    const after = placement(six);
    let moved = 0;
    for (const name of NAMES) {
      if (after.get(name) === before.get(name)) continue;
      moved++;
      assert.equal(after.get(name), "10.0.0.6:11211", `${name} moved from ${before.get(name)} to ${after.get(name)}`);
    }
    assert.ok(Math.abs(moved - NAMES.length / 6) < (NAMES.length / 6) * 0.15, `${moved} keys moved`);
  });
});

/** lua-resty-session's meta_get_value, from its definition: "<key>;" or "<key>:" base64url(bpack(5, exp)) ";". */
function peerEntry(key: string, exp?: number): string {
  if (!exp) return key + ";";
  const packed = Buffer.alloc(5);
  packed.writeUIntLE(exp, 0, 5);
  return key + ":" + packed.toString("base64url") + ";";
}

/**
 * lua-resty-session's meta_get_latest and meta_get_next, transliterated (1-based string indexes, as in
 * Lua; sub(s, i, j) is s.substring(i - 1, j); a decode error makes the whole read fail: null).
 */
function peerLatest(sessions: string, currentTime: number): { [key: string]: number } | null {
  const KEY_OFFSET = 43;
  const DEL_OFFSET = 1;
  const EXP_OFFSET = 7;
  const COLON = ":".charCodeAt(0);
  const sub = (s: string, i: number, j: number) => s.substring(i - 1, j);
  const latest: { [key: string]: number } = {};
  let index = 1;
  const length = sessions.length;
  while (index < length) {
    const key = sub(sessions, index, index + KEY_OFFSET - 1);
    index = index + KEY_OFFSET;
    const del = sessions.charCodeAt(index + DEL_OFFSET - 1 - 1);
    index = index + DEL_OFFSET;
    if (del !== COLON) {
      delete latest[key];
      continue;
    }
    const text = sub(sessions, index, index + EXP_OFFSET - 1);
    index = index + EXP_OFFSET + DEL_OFFSET;
    if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
    const packed = Buffer.from(text, "base64url");
    let exp = 0;
    for (let i = 1; i <= 5; i++) exp = exp + packed[i - 1] * 2 ** ((i - 1) * 8);
    if (exp > currentTime) latest[key] = exp;
    else delete latest[key];
  }
  return latest;
}

describe("store_metadata entries (metadataEntry), lua-resty-session's meta_get_value", () => {
  const key = sessionKey("entry");

  it("a live session: <43-char key>:<base64url of the expiry as 5 little-endian bytes>;", () => {
    assert.equal(key.length, 43);
    const entry = metadataEntry(key, 1700000000);
    // 1700000000 = 0x65_53_F1_00: bytes 00 F1 53 65 00.
    assert.equal(entry, key + ":APFTZQA;");
    assert.equal(entry, peerEntry(key, 1700000000));
    assert.equal(entry.length, 43 + 1 + 7 + 1);
  });

  it("expiries across the 5-byte range encode as bpack(5, exp) does", () => {
    for (const exp of [1, 255, 256, 65535, 1700003600, 2 ** 32 - 1, 2 ** 32, 4102444800, 2 ** 40 - 1]) {
      assert.equal(metadataEntry(key, exp), peerEntry(key, exp), String(exp));
    }
  });

  it("a removal (expiry 0): <key>;", () => {
    assert.equal(metadataEntry(key, 0), key + ";");
  });
});

describe("store_metadata lists (latestMetadata), lua-resty-session's meta_get_latest", () => {
  const now = 1700000000;
  const [a, b, c] = [sessionKey("a"), sessionKey("b"), sessionKey("c")];

  it("an empty list holds no session", () => {
    assert.deepEqual(latestMetadata("", now), {});
  });

  it("live entries are listed with their expiry", () => {
    const list = peerEntry(a, now + 3600) + peerEntry(b, now + 60);
    assert.deepEqual(latestMetadata(list, now), { [a]: now + 3600, [b]: now + 60 });
  });

  it("an expired entry, or one expiring right now, is dropped", () => {
    assert.deepEqual(latestMetadata(peerEntry(a, now - 1) + peerEntry(b, now) + peerEntry(c, now + 1), now), { [c]: now + 1 });
  });

  it("the latest entry of a key wins: a later expiry, a removal, a re-add", () => {
    assert.deepEqual(latestMetadata(peerEntry(a, now + 100) + peerEntry(a, now + 900), now), { [a]: now + 900 });
    assert.deepEqual(latestMetadata(peerEntry(a, now + 900) + peerEntry(a, now + 100), now), { [a]: now + 100 }, "latest, not longest");
    assert.deepEqual(latestMetadata(peerEntry(a, now + 100) + peerEntry(b, now + 100) + peerEntry(a), now), { [b]: now + 100 });
    assert.deepEqual(latestMetadata(peerEntry(a) + peerEntry(a, now + 100), now), { [a]: now + 100 });
    assert.deepEqual(latestMetadata(peerEntry(a, now + 100) + peerEntry(a, now - 5), now), {}, "a later expired entry removes a live one");
  });

  it("removing a key that was never listed changes nothing", () => {
    assert.deepEqual(latestMetadata(peerEntry(a, now + 100) + peerEntry(b), now), { [a]: now + 100 });
  });

  it("the list a save and a logout write, as the peer's memcached storage appends them", () => {
    // set (rotation from a to b): "b:exp;" "a;" appended; then logout of b: "b;".
    const list = peerEntry(a, now + 3600) + peerEntry(b, now + 7200) + peerEntry(a) + peerEntry(c, now + 60) + peerEntry(b);
    assert.deepEqual(latestMetadata(list, now), { [c]: now + 60 });
    assert.deepEqual(latestMetadata(list, now + 60), {});
  });

  it("reads what metadataEntry writes", () => {
    const list = metadataEntry(a, now + 10) + metadataEntry(b, now + 20) + metadataEntry(a, 0);
    assert.deepEqual(latestMetadata(list, now), { [b]: now + 20 });
  });

  it("agrees with the peer's meta_get_latest on random append histories", () => {
    const random = randomSource(20240601);
    const keys = Array.from({ length: 6 }, (_, i) => sessionKey("history " + i));
    for (let round = 0; round < 300; round++) {
      let list = "";
      const entries = Math.floor(random() * 30);
      for (let i = 0; i < entries; i++) {
        const key = keys[Math.floor(random() * keys.length)];
        list += random() < 0.3 ? peerEntry(key) : peerEntry(key, now - 500 + Math.floor(random() * 1000));
      }
      const at = now - 200 + Math.floor(random() * 400);
      assert.deepEqual(latestMetadata(list, at), peerLatest(list, at), `round ${round}: ${list}`);
    }
  });
});
