/**
 * checks.ts's unchangedUntil against the checks it bounds: over every second around many timings and
 * settings, lifetimeProblem finds nothing and refreshDue says Nothing exactly up to that second.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CheckedSettings, lifetimeProblem, refreshDue, RefreshDue, unchangedUntil } from "../../src/core/checks";
import { MAX_ROLLING_OFFSET } from "../../src/core/format";

const T0 = 1_700_000_000;

function settingsOf(idlingTimeout: number, rollingTimeout: number, absoluteTimeout: number, touchThreshold: number, rollingRenewal: number): CheckedSettings {
  return { storage: null, registry: null, idlingTimeout, rollingTimeout, absoluteTimeout, touchThreshold, rollingRenewal };
}

function quiet(settings: CheckedSettings, timing: { creationTime: number; rollingOffset: number; idlingOffset: number }, now: number): boolean {
  return lifetimeProblem(settings, false, timing, now) === null && refreshDue(settings, timing, now) === RefreshDue.Nothing;
}

describe("unchangedUntil", () => {
  it("is the last second the timeouts and the refresh find nothing, for every combination", () => {
    let combinations = 0;
    for (const idling of [0, 5, 13])
      for (const rolling of [0, 7, 20])
        for (const absolute of [0, 9, 30])
          for (const touch of [0, 1, 3, 60])
            for (const renewal of [0, 4, 15, 100])
              for (const rollingOffset of [0, 2])
                for (const idlingOffset of [0, 1, 3]) {
                  const settings = settingsOf(idling, rolling, absolute, touch, renewal);
                  const timing = { creationTime: T0, rollingOffset, idlingOffset };
                  const until = unchangedUntil(settings, timing);
                  for (let now = T0 - 2; now <= T0 + 45; now++) {
                    assert.equal(quiet(settings, timing, now), now <= until, JSON.stringify({ settings, timing, now, until }));
                  }
                  combinations++;
                }
    assert.equal(combinations, 3 * 3 * 3 * 4 * 4 * 2 * 3);
  });

  it("ends at the format's longest lifetime when no timeout is configured", () => {
    const settings = settingsOf(0, 0, 0, 60, 0);
    const timing = { creationTime: T0, rollingOffset: 0, idlingOffset: 0 };
    const until = unchangedUntil(settings, timing);
    assert.equal(until, T0 + MAX_ROLLING_OFFSET);
    for (let now = until - 2; now <= until + 2; now++) assert.equal(quiet(settings, timing, now), now <= until);
  });
});
