/**
 * known-answers.ts: which answers are kept (one rule for both engines), and what QuickJS's answer
 * publishes at each second it holds (the state line the check itself publishes). t/135 holds the same
 * inside nginx, under both engines.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CheckMode } from "../../src/nginx/check-mode";
import { FLAG_BIND_ANY } from "../../src/core/format";
import { closestTimeout } from "../../src/core/properties";
import { AnswerEntry, AnswerSettings, KnownAnswer, knownAnswerOf, publishAnswer } from "../../src/nginx/known-answers";
import { PLAIN_STATE_TAIL, stateLine } from "../../src/nginx/state";
import type { KnownSession } from "../../src/core/fast-check";
import type { VerifiedSession } from "../../src/core/verified-cache";

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

function verifiedOf(changes: Partial<VerifiedSession> = {}): VerifiedSession {
  return { keyId: "k", bind: "", ciphertext: "c", plaintext: "[]", flags: 0, creationTime: T0, rollingOffset: 0, idlingOffset: 0, sid: "s", loggableId: "id", ...changes };
}

function knownAt(now: number, rollingOffset = 0, idlingOffset = 0): KnownSession {
  return { audience: "default", subject: "alice", data: {}, loggableId: "id", timing: { timestamp: now, creationTime: T0, rollingOffset, idlingOffset } };
}

/** A request whose $session_state js_access sets, or whose headers auth_request's 204 carries. */
function fakeRequest() {
  const request = { variables: {} as { [name: string]: string }, headersOut: {} as { [name: string]: string }, status: 0, return(status: number) { request.status = status; } };
  return request;
}

describe("known answers", () => {
  it("are kept only where the answer depends on the header, the location and the clock alone", () => {
    const now = T0 + 10;
    assert.ok(knownAnswerOf(settingsOf(), entryOf(), verifiedOf(), knownAt(now), now), "the common session is one");
    const refused: Array<[string, AnswerSettings, AnswerEntry, VerifiedSession]> = [
      ["storage", settingsOf({ storage: {} as AnswerSettings["storage"] }), entryOf(), verifiedOf()],
      ["registry", settingsOf({ registry: {} as AnswerSettings["registry"] }), entryOf(), verifiedOf()],
      ["csrf", settingsOf(), entryOf({ csrf: true }), verifiedOf()],
      ["request_headers", settingsOf({ requestHeaders: ["subject"] }), entryOf(), verifiedOf()],
      ["response_headers", settingsOf({ responseHeaders: ["subject"] }), entryOf(), verifiedOf()],
      ["expose_data", settingsOf(), entryOf({ expose_data: ["role"] }), verifiedOf()],
      ["bound values", settingsOf(), entryOf(), verifiedOf({ bind: "ua" })],
      ["bound flags", settingsOf(), entryOf(), verifiedOf({ flags: FLAG_BIND_ANY & 0x0100 })],
    ];
    for (const [name, settings, entry, verified] of refused) {
      assert.equal(knownAnswerOf(settings, entry, verified, knownAt(now), now), null, name);
    }
  });

  it("publish, at every second they hold, the state line the check publishes then; none after", () => {
    for (const settings of [settingsOf(), settingsOf({ idlingTimeout: 0, rollingTimeout: 0, absoluteTimeout: 0 }), settingsOf({ idlingTimeout: 30, touchThreshold: 5 })]) {
      for (const mode of [CheckMode.Access, CheckMode.AuthRequest]) {
        const made = T0 + 3;
        const answer = knownAnswerOf(settings, entryOf(), verifiedOf(), knownAt(made, 0, 2), made) as KnownAnswer;
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
});
