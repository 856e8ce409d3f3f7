/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The oldest njs session.js runs on, checked before anything else of the module runs (index.ts
 * imports this file first, so the bundle evaluates it first).
 *
 * Why a check at all: an older njs often loads the bundle and then fails somewhere later, on a
 * missing API, with a message that says nothing about versions. Why it throws at module evaluation:
 * that is the earliest moment JavaScript runs, a request, never `nginx -t`: nginx only compiles
 * modules at configuration time (measured: a module throwing at its top level passes `nginx -t` on
 * njs 0.7.9, 0.8.9 and 1.0.2, QuickJS too). What `nginx -t` says on an njs too old to compile the
 * bundle is arranged elsewhere: a comment at njs-session.conf's js_shared_dict_zone (njs < 0.8.0)
 * and at the built-in imports that head dist/session.js (build/build.mjs; njs < 0.7.12).
 *
 * Why it must cost nothing: under the njs engine the module's top level runs again on every request
 * (docs/NOTES.md, issue 5): two property reads and a comparison.
 */

/** The floor: njs 0.8.9 (Debian trixie's), the oldest njs the test suite runs on (build/prove.sh). */
export const NJS_FLOOR = "0.8.9";
/** NJS_FLOOR as njs.version_number writes it (0xMMmmpp); t/210 rewrites both to test the refusal. */
export const NJS_FLOOR_NUMBER = 0x000809;

if (njs.version_number < NJS_FLOOR_NUMBER) {
  // The njs engine logs this at every request (and answers 500). QuickJS drops an exception thrown
  // while a module is evaluated and logs only 'js function "session.x" not found' (measured on njs
  // 1.0.2; ngx.log at that moment crashes the worker there, so it cannot be said another way). Only
  // njs 0.8.6-0.8.8 has QuickJS below the floor.
  throw new Error("njs-session needs njs >= " + NJS_FLOOR + "; this nginx has njs " + njs.version);
}
