/**
 * known-answers.ts: which answers are kept (one rule for both engines), and what QuickJS's answer
 * publishes at each second it holds (the state line the check itself publishes). t/135 holds the same
 * inside nginx, under both engines.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CheckMode } from "../../src/nginx/check-mode";
import { closestTimeout } from "../../src/core/properties";
import { AnswerEntry, AnswerSettings, confirmedAnswerOf, KnownAnswer, knownAnswerOf, leaveAnswer, leftAnswer, publishAnswer, publishKnownAnswer } from "../../src/nginx/known-answers";
import { ANSWER_HEADER_MAX, memoryAnswerKey, namedFront, zoneAnswerKey } from "../../src/nginx/answer-key";
import { PLAIN_STATE_TAIL, stateLine } from "../../src/nginx/state";
import type { KnownSession } from "../../src/core/fast-check";

const T0 = 1_700_000_000;

function settingsOf(changes: Partial<AnswerSettings> = {}): AnswerSettings {
  return {
    storage: null,
    registry: null,
    idlingTimeout: 900,
    rollingTimeout: 3600,
    absoluteTimeout: 86400,
    touchThreshold: 60,
    rollingRenewal: 3000,
    requestHeaders: [],
    responseHeaders: [],
    ...changes,
  } as AnswerSettings;
}

function entryOf(changes: Partial<AnswerEntry> = {}): AnswerEntry {
  return { csrf: false, expose_data: [], ...changes };
}

function knownAt(now: number, rollingOffset = 0, idlingOffset = 0, bound = false): KnownSession {
  return { audience: "default", subject: "alice", data: {}, loggableId: "id", timing: { timestamp: now, creationTime: T0, rollingOffset, idlingOffset }, bound };
}

/** A request whose $session_state js_access sets, or whose headers auth_request's 204 carries. */
function fakeRequest() {
  const request = { variables: {} as { [name: string]: string }, headersOut: {} as { [name: string]: string }, status: 0, return(status: number) { request.status = status; } };
  return request;
}

/**
 * njs_session_cache, as `ngx.shared` shows it to known-answers.ts: its records and the timeouts they
 * were set with; restore() puts the global back.
 */
function fakeZone() {
  const zone = new Map<string, string>();
  const timeouts: number[] = [];
  const dict = {
    get: (key: string) => zone.get(key),
    set: (key: string, value: string, timeout?: number) => {
      zone.set(key, value);
      timeouts.push(timeout as number);
    },
  };
  const global = globalThis as unknown as { ngx?: unknown };
  const before = global.ngx;
  global.ngx = { shared: { njs_session_cache: dict } };
  return { zone, timeouts, restore: () => (global.ngx = before) };
}

describe("known answers", () => {
  it("are kept only where the answer depends on the header, the location and the clock alone", () => {
    const now = T0 + 10;
    assert.ok(knownAnswerOf(settingsOf(), entryOf(), knownAt(now), now), "the common session is one");
    const refused: Array<[string, AnswerSettings, AnswerEntry, KnownSession]> = [
      ["storage", settingsOf({ storage: {} as AnswerSettings["storage"] }), entryOf(), knownAt(now)],
      ["registry", settingsOf({ registry: {} as AnswerSettings["registry"] }), entryOf(), knownAt(now)],
      ["csrf", settingsOf(), entryOf({ csrf: true }), knownAt(now)],
      ["request_headers", settingsOf({ requestHeaders: ["subject"] }), entryOf(), knownAt(now)],
      ["response_headers", settingsOf({ responseHeaders: ["subject"] }), entryOf(), knownAt(now)],
      ["expose_data", settingsOf(), entryOf({ expose_data: ["role"] }), knownAt(now)],
      ["bound", settingsOf(), entryOf(), knownAt(now, 0, 0, true)],
    ];
    for (const [name, settings, entry, known] of refused) {
      assert.equal(knownAnswerOf(settings, entry, known, now), null, name);
    }
  });

  it("after the store confirmed a session (store_revalidate), end with the bound, to the millisecond, counted from the store's answer", () => {
    const now = T0 + 10;
    const store = {} as AnswerSettings["storage"];
    const storeRegistry = { readChecked: () => Promise.resolve({}) } as unknown as AnswerSettings["registry"];
    const confirmed = (bound: number, at: number, changes: Partial<AnswerSettings> = {}, entry = entryOf(), known = knownAt(now)) =>
      confirmedAnswerOf({ ...settingsOf({ storage: store, ...changes }), storeRevalidate: bound }, entry, known, now, at);
    const realNow = Date.now;
    try {
      // (A touch threshold past the bound: the bound decides.)
      for (const [bound, offset] of [[1000, 0], [1000, 300], [1000, 999], [1, 500], [3000, 250], [60000, 10]]) {
        const at = now * 1000 + offset;
        const answer = confirmed(bound, at, { touchThreshold: 600 }) as KnownAnswer;
        assert.ok(answer, `bound ${bound} at +${offset} ms`);
        assert.equal(answer.endsAt, at + bound);
        assert.equal(answer.until, Math.floor((at + bound - 1) / 1000), "until: the second of its last millisecond");
        for (const ms of [at, at + bound - 1, at + bound, at + bound + 1000]) {
          Date.now = () => ms;
          const second = Math.floor(ms / 1000);
          const r = fakeRequest();
          const published = publishAnswer(r as unknown as NginxHTTPRequest, CheckMode.Access, answer, second);
          assert.equal(published, ms < at + bound, `bound ${bound} at +${offset} ms: ${ms - at} ms after the store's answer`);
        }
      }
      // An answer over before its request's second began makes none (the store answered late), nor
      // one of no known time (store-revalidation.ts reads an older mark as 1) or of none at all.
      assert.equal(confirmed(1000, now * 1000 - 1000), null);
      assert.equal(confirmed(60000, 1), null);
      assert.equal(confirmed(60000, NaN), null);
      // The checks' own next change comes first when it is sooner (here an idling timeout's touch).
      const soon = confirmed(60000, now * 1000, { idlingTimeout: 30, touchThreshold: 5 }, entryOf(), knownAt(now, 0, 8)) as KnownAnswer;
      const plain = knownAnswerOf(settingsOf({ idlingTimeout: 30, touchThreshold: 5 }), entryOf(), knownAt(now, 0, 8), now) as KnownAnswer;
      assert.ok(plain.until < now + 59);
      assert.equal(soon.until, plain.until);
    } finally {
      Date.now = realNow;
    }
    // The store's registry is read with the record; a registry of the node's own on every request.
    const at = now * 1000;
    assert.ok(confirmed(3000, at, { registry: storeRegistry }), "the store's registry");
    assert.equal(confirmed(3000, at, { registry: {} as AnswerSettings["registry"] }), null, "a registry of this node's");
    assert.equal(confirmed(3000, at, {}, entryOf({ csrf: true })), null, "csrf");
    assert.equal(confirmed(3000, at, { requestHeaders: ["subject"] }), null, "request_headers");
    assert.equal(confirmed(3000, at, {}, entryOf(), knownAt(now, 0, 0, true)), null, "bound");
    // What it publishes is what a cookie's answer publishes.
    const answer = confirmed(3000, at) as KnownAnswer;
    const cookieAnswer = knownAnswerOf(settingsOf(), entryOf(), knownAt(now), now) as KnownAnswer;
    assert.deepEqual({ ...answer, until: 0, endsAt: 0 }, { ...cookieAnswer, until: 0, endsAt: 0 });
  });

  it("of a store (store_revalidate) go to the zone with their end, and the zone forgets them then", () => {
    const { zone, timeouts, restore } = fakeZone();
    const realNow = Date.now;
    try {
      const now = T0 + 10;
      const at = now * 1000 + 400;
      Date.now = () => at + 5;
      const answer = confirmedAnswerOf({ ...settingsOf({ storage: {} as AnswerSettings["storage"] }), storeRevalidate: 1000 }, entryOf(), knownAt(now), now, at) as KnownAnswer;
      leaveAnswer("k", answer, now);
      assert.equal(timeouts[0], 995, "the zone's timeout: what is left of the bound");
      assert.deepEqual(leftAnswer("k"), answer);
      for (const ms of [at + 5, at + 999, at + 1000]) {
        Date.now = () => ms;
        const r = fakeRequest();
        assert.equal(publishKnownAnswer(r as unknown as NginxHTTPRequest, CheckMode.Access, zone.get("k") as string), ms < at + 1000, `${ms - at} ms after`);
      }
      Date.now = () => at + 1000;
      zone.clear();
      leaveAnswer("k", answer, now);
      assert.equal(zone.size, 0, "an answer already over is not left");
    } finally {
      Date.now = realNow;
      restore();
    }
  });

  it("publish, at every second they hold, the state line the check publishes then; none after", () => {
    for (const settings of [settingsOf(), settingsOf({ idlingTimeout: 0, rollingTimeout: 0, absoluteTimeout: 0 }), settingsOf({ idlingTimeout: 30, touchThreshold: 5 })]) {
      for (const mode of [CheckMode.Access, CheckMode.AuthRequest]) {
        const made = T0 + 3;
        const answer = knownAnswerOf(settings, entryOf(), knownAt(made, 0, 2), made) as KnownAnswer;
        assert.ok(answer.until >= made);
        for (let now = made; now <= Math.min(answer.until, made + 120) + 1; now++) {
          const r = fakeRequest();
          const published = publishAnswer(r as unknown as NginxHTTPRequest, mode, answer, now);
          if (now > answer.until) {
            assert.equal(published, false, "past its last second");
            assert.equal(r.variables.session_state, undefined, "nothing published");
            continue;
          }
          assert.equal(published, true);
          const timing = { timestamp: now, creationTime: T0, rollingOffset: 0, idlingOffset: 2 };
          const line = stateLine("alice", "default", "id", closestTimeout(settings, timing), T0, PLAIN_STATE_TAIL);
          if (mode === CheckMode.Access) assert.equal(r.variables.session_state, line, `second ${now - made}`);
          else assert.equal(r.status, 204);
        }
      }
    }
  });

  it("go to the zone and come back as they were: the same state line at every second; anything else in their place is none", () => {
    const { zone, timeouts, restore } = fakeZone();
    try {
      for (const settings of [settingsOf(), settingsOf({ idlingTimeout: 0, rollingTimeout: 0, absoluteTimeout: 0 })]) {
        const made = T0 + 3;
        const answer = knownAnswerOf(settings, entryOf(), knownAt(made, 0, 2), made) as KnownAnswer;
        leaveAnswer("k", answer, made);
        assert.ok(timeouts[timeouts.length - 1] > 0, "kept for a while, never forever");
        const back = leftAnswer("k") as KnownAnswer;
        assert.deepEqual(back, answer);
        for (const now of [made, answer.until, answer.until + 1]) {
          const direct = fakeRequest();
          const viaRecord = fakeRequest();
          const published = publishAnswer(direct as unknown as NginxHTTPRequest, CheckMode.Access, answer, now);
          assert.equal(publishAnswer(viaRecord as unknown as NginxHTTPRequest, CheckMode.Access, back, now), published);
          assert.equal(viaRecord.variables.session_state, direct.variables.session_state);
        }
      }
      for (const record of ["", "x", "1\n2\n3", "x\n\nh\nr", "0\n\nh\nr", "5\nx\nh\nr", "5\n\nh\nr\nmore"]) {
        zone.set("bad", record);
        assert.equal(leftAnswer("bad"), null, JSON.stringify(record));
        const r = fakeRequest();
        assert.equal(publishKnownAnswer(r as unknown as NginxHTTPRequest, CheckMode.Access, record), false, JSON.stringify(record));
        assert.equal(r.variables.session_state, undefined);
      }
      assert.equal(leftAnswer("absent"), null);
      (globalThis as unknown as { ngx?: unknown }).ngx = { shared: {} };
      assert.equal(leftAnswer("k"), null, "no zone: no answer");
    } finally {
      restore();
    }
  });
});

describe("known answers' keys", () => {
  it("name the worker, the location's text after its length and the whole header; none for a long header", () => {
    assert.equal(zoneAnswerKey(42, "a:b", "session=x"), "@answer/1:42:3:a:bsession=x");
    assert.notEqual(zoneAnswerKey(42, "a", ":bsession=x"), zoneAnswerKey(42, "a:b", "session=x"), "a text's length keeps it apart from the header");
    assert.notEqual(zoneAnswerKey(42, "", "session=x"), zoneAnswerKey(43, "", "session=x"), "another worker, another key");
    assert.equal(memoryAnswerKey("a:b", "session=x"), "3:a:bsession=x");
    const long = "session=" + "x".repeat(ANSWER_HEADER_MAX);
    assert.equal(zoneAnswerKey(42, "", long), null);
    assert.equal(memoryAnswerKey("", long), null);
    assert.equal(zoneAnswerKey(42, "", undefined), null, "no header: no answer");
    assert.equal(memoryAnswerKey("", undefined), null);
  });

  it("are left for the worker a front named only in auth_request mode, and only for a pid", () => {
    const requestWith = (scope: unknown) => ({ variables: { session_front_scope: scope } }) as unknown as NginxHTTPRequest;
    assert.equal(namedFront(requestWith("12345"), CheckMode.AuthRequest), "12345");
    assert.equal(namedFront(requestWith("4000000001"), CheckMode.AuthRequest), "4000000001");
    assert.equal(namedFront(requestWith("12345"), CheckMode.Access), null, "js_access: its own worker");
    assert.equal(namedFront(requestWith("12345"), CheckMode.Known), null, "the front: its own worker");
    for (const scope of [undefined, "", "12a", "-1", "1 2", "12:3", "12345678901", " 1", "1\n"]) {
      assert.equal(namedFront(requestWith(scope), CheckMode.AuthRequest), null, JSON.stringify(scope));
    }
  });
});
