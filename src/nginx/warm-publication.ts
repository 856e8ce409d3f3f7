/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * How the njs engine's warm, cold and touch parts publish a session they checked: publication.ts's
 * publishSession, its short way (publishPlain) in the warm part itself and the rest built only for a
 * session that needs it (publishing-part.ts).
 */

import { CheckMode } from "./check-mode";
import { PublishingEntry, PublishingSettings, publishPlain, StateSource } from "./publication";
import type { PublishingPart } from "./publishing-part";

/** publishing-part.ts, compiled by build/build.mjs into this function of the warm part. */
declare function njsSessionPublishing(): PublishingPart;

/** Publishes as publishSession does, with the view as the settings and the entry. */
export function publishChecked(r: NginxHTTPRequest, mode: CheckMode, source: StateSource, view: PublishingSettings & PublishingEntry, cookies: string[]): void {
  if (!publishPlain(r, mode, source, view, view, cookies)) njsSessionPublishing().publishSession(r, mode, source, view, view, cookies);
}
