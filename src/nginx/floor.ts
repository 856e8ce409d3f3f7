/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The oldest njs session.js runs on, checked before any lazy part of the module is built (index.ts
 * calls refuseBelowFloor() first in each of its loaders): every entry point but the js_set
 * stateFromHeader (a frame taken off, eager) goes through one.
 *
 * Why a check at all: an older njs often loads the bundle and then fails somewhere later, on a
 * missing API, with a message that says nothing about versions. Why at a request: that is the
 * earliest moment JavaScript runs, never `nginx -t`: nginx only compiles modules at configuration
 * time (measured: a module throwing at its top level passes `nginx -t` on njs 0.7.9, 0.8.9 and 1.0.2,
 * QuickJS too). What `nginx -t` says on an njs too old to compile the bundle is arranged elsewhere: a
 * comment at njs-session.conf's js_shared_dict_zone (njs < 0.8.0) and at the built-in imports that
 * head dist/session.js (build/build.mjs; njs < 0.7.12).
 *
 * Why not at the module's top level: under the njs engine the top level runs again on every request,
 * also those that never use session.js, and reading the `njs` global there costs each of them ~1.5k
 * instructions (docs/NOTES.md, issue 14, branch njstax). Called from the loaders it costs only the
 * requests that build a lazy part. It also reaches QuickJS's log: QuickJS drops an exception thrown
 * while a module is evaluated, not one thrown by a call.
 */

/** The floor: njs 0.8.9 (Debian trixie's), the oldest njs the test suite runs on (build/prove.sh). */
export const NJS_FLOOR = "0.8.9";
/** NJS_FLOOR as njs.version_number writes it (0xMMmmpp); t/210 rewrites both to test the refusal. */
export const NJS_FLOOR_NUMBER = 0x000809;

/** Throws, naming both versions, on an njs older than the floor. */
export function refuseBelowFloor(): void {
  if (njs.version_number < NJS_FLOOR_NUMBER) {
    throw new Error("njs-session needs njs >= " + NJS_FLOOR + "; this nginx has njs " + njs.version);
  }
}
