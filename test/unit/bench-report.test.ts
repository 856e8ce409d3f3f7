/** bench/report.ts: the cache runs (BENCH_CACHE), from callgrind's totals to the report's table. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cacheInstructionsCell, cachePerRequest, cacheTable, parseCallgrindEvents, summarize, type RawResults, type ScenarioResult } from "../../bench/report";

// The last lines of two callgrind outputs with --cache-sim=yes (the njs engine's cold check at 32
// connections, runs of 1000 and 3000 requests).
const EVENTS = "events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\n";
const RUN_1000 = `${EVENTS}summary: 1038946467 244133013 154591526 10549614 5398565 2934554 23234 214481 975147\ntotals: 1038946592 244133049 154591541 10549628 5398577 2934559 23244 214486 975147\n`;
const RUN_3000 = `${EVENTS}totals: 2361726734 568470291 323993555 29430003 15269007 7135526 30704 352414 2743224\n`;

function run(rps: number) {
  return {
    requests: rps,
    seconds: 1,
    rps,
    errors: { connect: 0, read: 0, write: 0, status: 0, timeout: 0 },
    latency_us: { p50: 1, p90: 1, p99: 1, max: 1 },
    worker_cpu: 1,
  };
}

function scenario(id: string, extra: Partial<ScenarioResult>): ScenarioResult {
  return { id, label: id, engine: id === "proxy" || id === "return200" ? null : "njs", job: id, group: "protected", runs: [run(1000)], ...extra };
}

function results(scenarios: ScenarioResult[], cache: string | null): RawResults {
  return { date: "2026-12-06", versions: [], settings: { cache }, scenarios, rss: [], log_problems: [] };
}

describe("the bench's cache runs", () => {
  it("read callgrind's event names and the first totals line", () => {
    const counts = parseCallgrindEvents(RUN_1000);
    assert.equal(counts.Ir, 1038946467);
    assert.equal(counts.DLmr, 214481);
    assert.equal(counts.DLmw, 975147);
    assert.equal(Object.keys(counts).length, 9);
  });

  it("refuse totals that do not match the event names, and an output without them", () => {
    assert.throws(() => parseCallgrindEvents(`${EVENTS}totals: 1 2 3\n`), /do not match/);
    assert.throws(() => parseCallgrindEvents("totals: 1 2 3\n"), /no callgrind events/);
  });

  it("take per request the difference of the two runs over the difference of their requests", () => {
    const result = cachePerRequest(32, [1000, 3000], [parseCallgrindEvents(RUN_1000), parseCallgrindEvents(RUN_3000)], [31, 32]);
    assert.deepEqual(result.runtimes_made, [31, 32]);
    assert.equal(result.connections, 32);
    // (2361726734 − 1038946467) / 2000, (352414 − 214481) / 2000, (2743224 − 975147) / 2000, (30704 − 23234) / 2000
    assert.deepEqual(result.per_request, { instructions: 661390, ll_read_misses: 69, ll_write_misses: 884, ll_instruction_misses: 3.7 });
  });

  it("say so when the runs were made without the cache simulation", () => {
    const plain = parseCallgrindEvents("events: Ir\ntotals: 100\n");
    assert.throws(() => cachePerRequest(32, [1000, 3000], [plain, plain], [0, 0]), /DLmr/);
  });

  it("print the pair's instructions against the one-connection figure", () => {
    assert.equal(cacheInstructionsCell(661390, 659000), "661.4k (+0.4%)");
    assert.equal(cacheInstructionsCell(446000, 464000), "446.0k (−3.9%)");
    assert.equal(cacheInstructionsCell(446000, null), "446.0k");
    assert.equal(cacheInstructionsCell(null, 464000), "—");
  });

  it("add a table of the misses per request only to a run that measured them", () => {
    const perRequest = { instructions: 661390, ll_read_misses: 69, ll_write_misses: 884, ll_instruction_misses: 3.7 };
    const withCache = results(
      [
        scenario("return200", {}),
        scenario("proxy", { instructions: { per_request: 20000, requests: [200, 1200], totals: [] } }),
        scenario("njs-cookie-cold", {
          instructions: { per_request: 659000, requests: [200, 1200], totals: [] },
          cache: { connections: 32, requests: [1000, 3000], per_request: perRequest, totals: [], runtimes_made: [0, 0] },
        }),
      ],
      "callgrind --cache-sim=yes --LL=2097152,16,64",
    );
    const table = cacheTable(withCache, summarize(withCache).summaries);
    assert.match(table.join("\n"), /LL misses\/request at 32 connections \(2 MB LL simulated\): callgrind --cache-sim=yes --LL=2097152,16,64/);
    assert.ok(table.includes("| njs-cookie-cold | 69 | 884 | 3.7 | 661.4k (+0.4%) | 0, 0 |"), table.join("\n"));
    assert.ok(!table.some((line) => line.startsWith("| proxy ")), "a scenario without cache runs gets no row");

    const without = results([scenario("return200", {}), scenario("proxy", {}), scenario("njs-cookie-cold", {})], null);
    assert.deepEqual(cacheTable(without, summarize(without).summaries), []);
  });
});
