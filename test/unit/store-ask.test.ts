/**
 * Storage.ask (src/storage/remote.ts valueReader, redis.ts, memcached.ts) and askStore
 * (src/core/fast-store-check.ts): a session check's store read hands its outcome to the asking's
 * answer in the step the store's reply arrives (inside the transport's reader.read), not in a promise
 * step of the caller's own; a transport failure, an error reply and a malformed reply go to
 * answer.failed as StoreUnavailable (the incident logged once), and the promise never rejects unless
 * the answer throws. The transport here is a fake with Platform.storeExchange's contract, whose
 * replies the test hands over itself, so that "in the same step" is seen, not assumed; with
 * memcached.read_locations, the location's answer is handed on in its own promise step, not one later.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isStoreUnavailable } from "../../src/core/errors";
import type { StorageOptions } from "../../src/core/options";
import type { Platform, StoreReader, StoreRequest } from "../../src/core/platform";
import { askAnswered, Storage, StoreAnswer, StoreAsking } from "../../src/core/storage";
import { createNodePlatform } from "../../src/platform/node";
import { storeExchangeOf } from "../../src/platform/node-store";
import { createMemcachedStorage } from "../../src/storage/memcached";
import { createRedisStorage } from "../../src/storage/redis";

const SID = "k".repeat(43);
const NOW = 1700000000;

/** A round trip the test settles itself: the transport's reader and asking, as the platform holds them. */
interface Pending {
  request: StoreRequest;
  deliver(replies: string): unknown;
  fail(reason: unknown): unknown;
  promise: Promise<unknown>;
}

function fakeTransport() {
  const pending: Pending[] = [];
  const logged: string[] = [];
  const platform = Object.assign(Object.create(createNodePlatform({})) as Platform, {
    log: (level: string, message: string) => logged.push(level + " " + message),
    storeExchange: <A, T>(request: StoreRequest, reader: StoreReader<A, T>, asking: A) => {
      let settle!: (value: T | PromiseLike<T>) => void;
      let refuse!: (reason: unknown) => void;
      const promise = new Promise<T>((resolve, reject) => {
        settle = resolve;
        refuse = reject;
      });
      // As njs.ts's fetchFromStore: what read or failed returns (or throws) settles the round trip.
      function run(step: () => T): T {
        try {
          const value = step();
          settle(value);
          return value;
        } catch (e) {
          refuse(e);
          throw e;
        }
      }
      pending.push({
        request,
        deliver: (replies) => run(() => reader.read(new TextEncoder().encode(replies), asking)),
        fail: (reason) => run(() => reader.failed(reason, asking)),
        promise,
      });
      return promise;
    },
  });
  return { platform, pending, logged };
}

/** An answer that records each call, and returns what it was handed, tagged. */
function recordingAnswer() {
  const calls: Array<[string, unknown]> = [];
  const answer: StoreAnswer<string> = {
    stored: (asking, value) => {
      calls.push(["stored", value]);
      return "stored:" + String(value);
    },
    failed: (asking, error) => {
      calls.push(["failed", error]);
      return "failed";
    },
  };
  return { calls, asking: { answer } as StoreAsking<string> };
}

const STORAGES: Array<[string, (platform: Platform) => Storage, { value: string; nil: string; error: string; malformed: string }]> = [
  ["redis", (platform) => createRedisStorage({ port: 6390 } as StorageOptions, platform), { value: "$3\r\nbig\r\n", nil: "$-1\r\n", error: "-LOADING loading\r\n", malformed: "$9\r\nbig\r\n" }],
  ["memcached", (platform) => createMemcachedStorage({ port: 11290 } as StorageOptions, platform), { value: "VA 3\r\nbig\r\n", nil: "EN\r\n", error: "SERVER_ERROR out of memory\r\n", malformed: "VA x\r\nbig\r\n" }],
];

describe("Storage.ask: the outcome in the step the reply arrives", () => {
  for (const [name, create, replies] of STORAGES) {
    it(`${name}: a value and a miss reach answer.stored inside the transport's read, and the round trip resolves to what it returned`, async () => {
      const { platform, pending } = fakeTransport();
      const storage = create(platform);
      for (const [bytes, expected] of [
        [replies.value, "big"],
        [replies.nil, null],
      ] as Array<[string, string | null]>) {
        const { calls, asking } = recordingAnswer();
        const asked = (storage.ask as NonNullable<Storage["ask"]>)("session", SID, NOW, undefined, asking);
        assert.equal(calls.length, 0, "nothing before the reply");
        const returned = pending[pending.length - 1].deliver(bytes);
        assert.deepEqual(calls, [["stored", expected]], "called within the transport's read");
        assert.equal(returned, "stored:" + String(expected));
        assert.equal(await asked, "stored:" + String(expected));
      }
    });

    it(`${name}: an error reply, a malformed reply and a transport failure go to answer.failed as StoreUnavailable; one error line for the incident`, async () => {
      const { platform, pending, logged } = fakeTransport();
      const storage = create(platform);
      const outcomes: unknown[] = [];
      for (const settle of [(p: Pending) => p.deliver(replies.error), (p: Pending) => p.deliver(replies.malformed), (p: Pending) => p.fail(new Error("connect failed"))]) {
        const { calls, asking } = recordingAnswer();
        const asked = (storage.ask as NonNullable<Storage["ask"]>)("session", SID, NOW, undefined, asking);
        settle(pending[pending.length - 1]);
        assert.equal(calls.length, 1);
        assert.equal(calls[0][0], "failed");
        assert.ok(isStoreUnavailable(calls[0][1]), String(calls[0][1]));
        outcomes.push(await asked);
      }
      assert.deepEqual(outcomes, ["failed", "failed", "failed"], "resolved, never rejected");
      assert.equal(logged.filter((line) => line.startsWith("error")).length, 1, logged.join("\n"));
      assert.match(logged[0], new RegExp("unavailable: .*" + (name === "redis" ? "LOADING" : "SERVER_ERROR")));
      const { calls, asking } = recordingAnswer();
      const asked = (storage.ask as NonNullable<Storage["ask"]>)("session", SID, NOW, undefined, asking);
      pending[pending.length - 1].deliver(replies.value);
      assert.deepEqual(calls, [["stored", "big"]]);
      await asked;
      assert.equal(logged.filter((line) => line.startsWith("warn") && / answers again/.test(line)).length, 1, "the incident's end, once");
    });

    it(`${name}: get is ask's outcome as a promise: the value, or a rejection with the failure`, async () => {
      const { platform, pending } = fakeTransport();
      const storage = create(platform);
      const value = storage.get("session", SID, NOW);
      pending[0].deliver(replies.value);
      assert.equal(await value, "big");
      const failed = storage.get("session", SID, NOW);
      assert.throws(() => pending[1].deliver(replies.error));
      await assert.rejects(Promise.resolve(failed), (e) => isStoreUnavailable(e));
      const unreachable = storage.get("session", SID, NOW);
      assert.throws(() => pending[2].fail(new Error("connect failed")));
      await assert.rejects(Promise.resolve(unreachable), (e) => isStoreUnavailable(e));
    });
  }

  it("an answer that throws rejects the round trip (the answer's own guard is the caller's: check.ts catches)", async () => {
    const { platform, pending } = fakeTransport();
    const storage = createRedisStorage({ port: 6391 } as StorageOptions, platform);
    const throwing: StoreAsking<string> = {
      answer: {
        stored: () => {
          throw new Error("publishing failed");
        },
        failed: () => "failed",
      },
    };
    const asked = (storage.ask as NonNullable<Storage["ask"]>)("session", SID, NOW, undefined, throwing);
    assert.throws(() => pending[0].deliver("$3\r\nbig\r\n"), /publishing failed/);
    await assert.rejects(asked, /publishing failed/);
  });
});

describe("memcached.read_locations: the location's answer handed on in the step it arrives", () => {
  function nginxLike(answer: () => Promise<{ status: number; value: string | null }>) {
    const logged: string[] = [];
    const platform = Object.assign(Object.create(createNodePlatform({})) as Platform, {
      log: (level: string, message: string) => logged.push(level + " " + message),
      storeExchange: () => Promise.reject(new Error("no bridge here")),
      locationGet: () => answer(),
      // As the njs platform reads a subrequest's reply: 200 the value, 404 none, else an error.
      locationValue: (reply: unknown) => {
        const { status, value } = reply as { status: number; value: string | null };
        if (status === 404) return null;
        if (status !== 200) throw new Error("memcached_pass location answered " + status);
        return value;
      },
    });
    const storage = createMemcachedStorage({ port: 11292, read_locations: { "127.0.0.1:11292": "/_mc" } } as StorageOptions, platform);
    return { storage, logged };
  }

  it("a value and a miss reach answer.stored in the first promise step after the location answered", async () => {
    for (const [reply, expected] of [
      [{ status: 200, value: "big" }, "big"],
      [{ status: 404, value: null }, null],
    ] as Array<[{ status: number; value: string | null }, string | null]>) {
      const { storage } = nginxLike(() => Promise.resolve(reply));
      const { calls, asking } = recordingAnswer();
      const asked = (storage.ask as NonNullable<Storage["ask"]>)("session", SID, NOW, { request: "r" }, asking);
      assert.equal(calls.length, 0);
      // One job: the location's reaction, queued before this await's.
      await null;
      assert.deepEqual(calls, [["stored", expected]], "not a step later");
      assert.equal(await asked, "stored:" + String(expected));
    }
  });

  it("a location that fails (a 502 answer, a refused subrequest) goes to answer.failed as StoreUnavailable, naming the location; one error line", async () => {
    const outcomes: unknown[] = [];
    let fail: () => Promise<{ status: number; value: string | null }> = () => Promise.resolve({ status: 502, value: null });
    const { storage, logged } = nginxLike(() => fail());
    for (let i = 0; i < 2; i++) {
      const { calls, asking } = recordingAnswer();
      outcomes.push(await (storage.ask as NonNullable<Storage["ask"]>)("session", SID, NOW, { request: "r" }, asking));
      assert.equal(calls[0][0], "failed");
      assert.ok(isStoreUnavailable(calls[0][1]));
      fail = () => Promise.reject(new Error("subrequest refused"));
    }
    assert.deepEqual(outcomes, ["failed", "failed"]);
    assert.deepEqual(logged.filter((line) => line.startsWith("error")), [
      "error [session] memcached 127.0.0.1:11292 unavailable: /_mc: memcached_pass location answered 502 (requests needing it fail closed; logged once until it answers again)",
    ]);
  });
});

describe("askAnswered (a storage without ask, a Sentinel or Cluster router, read_locations)", () => {
  it("hands a value or a failure to the answer, one step later, resolving to what it returned", async () => {
    const stored = recordingAnswer();
    assert.equal(await askAnswered("v", stored.asking), "stored:v");
    assert.equal(await askAnswered(Promise.resolve(null), stored.asking), "stored:null");
    const failed = recordingAnswer();
    const error = new Error("down");
    assert.equal(await askAnswered(Promise.reject(error), failed.asking), "failed");
    assert.deepEqual(failed.calls, [["failed", error]]);
  });

  it("redis over Sentinel asks through the router's get: the same outcomes", async () => {
    const { platform, pending } = fakeTransport();
    const storage = createRedisStorage({ master: "m", sentinels: ["10.0.0.7:26379"] } as StorageOptions, platform);
    const { calls, asking } = recordingAnswer();
    const asked = (storage.ask as NonNullable<Storage["ask"]>)("session", SID, NOW, undefined, asking);
    // The sentinel's own round trip (exchange's reader throws: the router's promise rejects).
    assert.throws(() => pending[0].fail(new Error("connect failed")));
    assert.equal(pending.length, 1, "one sentinel, asked once");
    assert.equal(await asked, "failed");
    assert.ok(isStoreUnavailable(calls[0][1]));
  });
});

describe("Node's transport adapter (storeExchangeOf)", () => {
  it("hands the replies to reader.read and a failure to reader.failed, each with the asking", async () => {
    const seen: unknown[] = [];
    const reader: StoreReader<string, string> = {
      read: (replies, asking) => {
        seen.push(["read", new TextDecoder().decode(replies), asking]);
        return "read";
      },
      failed: (reason, asking) => {
        seen.push(["failed", (reason as Error).message, asking]);
        return "failed";
      },
    };
    const request = { protocol: "redis", target: "127.0.0.1:1", payload: "", commands: 1, prelude: 0, timeout: 10 } as StoreRequest;
    const ok = storeExchangeOf({ exchange: () => Promise.resolve(new TextEncoder().encode("+OK\r\n")), close: () => {} });
    assert.equal(await ok(request, reader, "a"), "read");
    const down = storeExchangeOf({ exchange: () => Promise.reject(new Error("ECONNREFUSED")), close: () => {} });
    assert.equal(await down(request, reader, "b"), "failed");
    assert.deepEqual(seen, [
      ["read", "+OK\r\n", "a"],
      ["failed", "ECONNREFUSED", "b"],
    ]);
  });
});
