/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The njs engine's known answers (known-answers.ts) as a lazy part of their own, tried before the warm
 * part: build/build.mjs compiles this file into njsSessionAnswers(), so that a request answered from
 * the zone declares these few functions and not the warm part's.
 */

import { publishKnownAnswer } from "./known-answers";

export default {
  /** True: the kept answer's record (index.ts found it) published; false: it no longer holds. */
  publish: publishKnownAnswer,
};
