/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The login's save of a new session without a Session: the common case (cookie storage, no registry,
 * no remember cookie; check-view.ts's loginSavesAlone says where) sealed through cookie-sealing.ts as
 * the Session's save seals it, in two halves around the encryption (startNewSession, finishNewSession).
 * The njs engine's login part saves with it (its location settings from the login view), and so does
 * the full login (login.ts) where the location qualifies: a Session's construction and its save's
 * steps cost QuickJS more than the sealing they wrap.
 */

import { base64UrlSize, utf8Encode } from "../core/bytes";
import { CookieEncryption, putSessionCookieLines, requestChunkCount, SealingPlatform, sealedCookie, startEncryption } from "../core/cookie-sealing";
import { cookieChunkCount } from "../core/cookies";
import { MAX_CREATION_TIME, SID_SIZE } from "../core/format";
import type { PseudorandomKey } from "../core/keys";
import { boundValues, encodeEntries, Result } from "../core/session";
import { njsBindSource, njsResponseCookies } from "../platform/njs";
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
 * A new session's sealing under way: startNewSession's, for finishNewSession once `encryption` is done
 * (its key's import awaited, then cookie-sealing.ts's encryptPayload).
 */
export interface NewSessionSealing {
  encryption: CookieEncryption;
  r: NginxHTTPRequest;
  settings: LoginSaveSettings;
  platform: SealingPlatform;
  prk: PseudorandomKey;
  sid: Uint8Array;
  bound: string;
  chunks: number;
}

/**
 * The save's first half: the new session sealed as the Session's save seals a new cookie-storage
 * session with these settings (flags: the bind flags; creation time: now; one entry for the settings'
 * audience) and the key whose PRK is `prk`, up to the import of the payload's AES key, started; null when that save
 * would do more or fail (the Session's save's then). The caller awaits `encryption.key`, then
 * encryptPayload's promise, and hands the result to finishNewSession: synchronous halves rather than
 * one promise, as every further async step costs QuickJS a job and a promise (cookie-sealing.ts's
 * steps are the same). `prk`: keys.ts's pseudorandomKey (retained) where module state lasts (QuickJS,
 * Node); the njs engine's login part gives its login view's, as retained tables would last the
 * request only there.
 */
export function startNewSession(
  r: NginxHTTPRequest,
  platform: SealingPlatform,
  settings: LoginSaveSettings,
  prk: PseudorandomKey,
  verdict: LoginVerdict,
): NewSessionSealing | null {
  if (verdict.remember !== undefined) return null;
  const now = platform.now();
  if (now > MAX_CREATION_TIME) return null;
  const plaintext = utf8Encode(encodeEntries([[verdict.data || {}, settings.audience, verdict.subject]]));
  const threshold = settings.compressionThreshold;
  if (threshold !== 0 && plaintext.length > threshold) return null;
  const chunks = cookieChunkCount(settings.cookieName.length, base64UrlSize(plaintext.length));
  if (chunks === null) return null;
  const flags = settings.bindFlags;
  const sid = platform.randomBytes(SID_SIZE);
  return {
    encryption: startEncryption(platform, flags, sid, now, 0, plaintext, prk, null),
    r: r,
    settings: settings,
    platform: platform,
    prk: prk,
    sid: sid,
    // The request read directly, not through an exchange object (a dozen properties made per login).
    bound: flags === 0 ? "" : boundValues(flags, njsBindSource(r)),
    chunks: chunks,
  };
}

/** The save's second half: the cookie sealed with the encryption's result and put on the response. */
export function finishNewSession(sealing: NewSessionSealing, encrypted: ArrayBuffer): Result {
  const r = sealing.r;
  const cookieName = sealing.settings.cookieName;
  const cookieAttributes = sealing.settings.cookieAttributes;
  const sealed = sealedCookie(sealing.platform, sealing.encryption.header, encrypted, sealing.prk, sealing.sid, sealing.bound);
  const cookies = njsResponseCookies(r);
  const staleChunks = requestChunkCount(r.headersIn["Cookie"], cookieName, undefined);
  putSessionCookieLines(cookies, cookieName, sealed, sealing.chunks, cookieAttributes, staleChunks, cookieAttributes);
  r.headersOut["Set-Cookie"] = cookies;
  return SAVED;
}
