/**
 * known-answers.ts: which answers are kept (one rule for both engines), and what QuickJS's answer
 * publishes at each second it holds (the state line the check itself publishes). t/135 holds the same
 * inside nginx, under both engines.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CheckMode } from "../../src/nginx/check-mode";
import { closestTimeout } from "../../src/core/properties";
import { AnswerEntry, AnswerSettings, KnownAnswer, knownAnswerOf, leaveAnswer, leftAnswer, publishAnswer, publishKnownAnswer } from "../../src/nginx/known-answers";
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
      global.ngx = { shared: {} };
      assert.equal(leftAnswer("k"), null, "no zone: no answer");
    } finally {
      global.ngx = before;
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
