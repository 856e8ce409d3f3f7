/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The login's save of a new session without a Session: the common case (cookie storage, no registry,
 * no remember cookie; check-view.ts's loginSavesAlone says where) sealed through cookie-sealing.ts as
 * the Session's save seals it. The njs engine's login part saves with it (its location settings from
 * the login view), and so does the full login (login.ts) where the location qualifies: a Session's
 * construction and its save's steps cost QuickJS more than the sealing they wrap.
 */

import { base64UrlSize, utf8Encode } from "../core/bytes";
import { encryptCookie, putSessionCookieLines, requestChunkCount, sealedCookie } from "../core/cookie-sealing";
import { cookieChunkCount } from "../core/cookies";
import { MAX_CREATION_TIME, SID_SIZE } from "../core/format";
import { pseudorandomKey } from "../core/keys";
import type { Platform } from "../core/platform";
import { boundValues, encodeEntries, Result } from "../core/session";
import { createNjsExchange } from "../platform/njs";
import type { LoginVerdict } from "./login-steps";

/** The location settings the save reads (the login view has them, and so have the resolved settings). */
export interface LoginSaveSettings {
  cookieName: string;
  audience: string;
  cookieAttributes: string;
  bindFlags: number;
  compressionThreshold: number;
}

const SAVED: Result = { ok: true };

/**
 * The new session's cookie on the response, sealed as the Session's save seals a new cookie-storage
 * session with these settings (flags: the bind flags; creation time: now; one entry for the
 * settings' audience) and the key `ikm`; null when that save would do more or fail (the Session's
 * save's then).
 */
export function saveNewSession(r: NginxHTTPRequest, platform: Platform, settings: LoginSaveSettings, ikm: Uint8Array, verdict: LoginVerdict): Promise<Result> | null {
  if (verdict.remember !== undefined) return null;
  const now = platform.now();
  if (now > MAX_CREATION_TIME) return null;
  const plaintext = utf8Encode(encodeEntries([[verdict.data || {}, settings.audience, verdict.subject]]));
  const threshold = settings.compressionThreshold;
  if (threshold !== 0 && plaintext.length > threshold) return null;
  const cookieName = settings.cookieName;
  const chunks = cookieChunkCount(cookieName.length, base64UrlSize(plaintext.length));
  if (chunks === null) return null;
  const flags = settings.bindFlags;
  const cookieAttributes = settings.cookieAttributes;
  const exchange = createNjsExchange(r);
  const sid = platform.randomBytes(SID_SIZE);
  const prk = pseudorandomKey(platform, ikm);
  const bound = boundValues(flags, exchange);
  const encryption = encryptCookie(platform, flags, sid, now, 0, plaintext, prk, null);
  return encryption.encrypted.then(function (encrypted) {
    const sealed = sealedCookie(platform, encryption.header, encrypted, prk, sid, bound);
    const cookies = exchange.getResponseCookies().slice();
    const staleChunks = requestChunkCount(exchange.cookieHeader(), cookieName, undefined);
    putSessionCookieLines(cookies, cookieName, sealed, chunks, cookieAttributes, staleChunks, cookieAttributes);
    exchange.setResponseCookies(cookies);
    return SAVED;
  });
}
