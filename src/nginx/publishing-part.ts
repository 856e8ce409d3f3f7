/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The publishing part: publication.ts's publishSession whole, for the njs engine's warm, cold and touch
 * checks when the session has request_headers, response_headers or expose_data (its Publication, the
 * header fields, the exposed data). build/build.mjs compiles this file into njsSessionPublishing(),
 * declared within the warm part, which holds only publishSession's short way (publishPlain): under the
 * njs engine every function a loaded part declares is paid on each request that loads it, and most
 * sessions publish none of these.
 */

import { publishSession } from "./publication";

export interface PublishingPart {
  publishSession: typeof publishSession;
}

const part: PublishingPart = { publishSession: publishSession };

export default part;
