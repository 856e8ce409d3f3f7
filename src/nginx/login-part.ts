/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The login part: under the njs engine, the common login saved without the full part. Every request
 * there starts from the module's top level, and building the full part (configuration, every storage,
 * the Session) costs more than the login's own work. build/build.mjs compiles this file into
 * njsSessionLogin(), which index.ts's login calls first under the njs engine.
 *
 * It reads the location's login view (check-view.ts: left by the full login of the same worker and
 * $session_location_config text, only for cookie storage without a registry or a remember cookie by
 * default) before anything else; without one it answers false and the full login runs. The backend
 * is asked once, here, and the reply answered with the full login's own steps (login-steps.ts). The
 * one step of its own, the save, seals the new cookie through cookie-sealing.ts as the Session's save
 * does; a verdict it does not save exactly so (remember given, compression due, too large for the
 * cookies, anything thrown) is handed on to the full save, and anything thrown after the backend's
 * answer to the full part's failing closed: they decide, log and fail closed as always.
 */

import { base64UrlSize, decodeBase64Url, utf8Encode } from "../core/bytes";
import { encryptCookie, putSessionCookieLines, requestChunkCount, sealedCookie } from "../core/cookie-sealing";
import { cookieChunkCount } from "../core/cookies";
import { MAX_CREATION_TIME, SID_SIZE } from "../core/format";
import { pseudorandomKey } from "../core/keys";
import type { Platform } from "../core/platform";
import { boundValues, encodeEntries, Result } from "../core/session";
import { createNjsExchange, createNjsPlatform } from "../platform/njs";
import { LoginView, readLoginView } from "./check-view";
import { askLoginBackend, finishLogin, LoginSave, LoginVerdict, startLogin } from "./login-steps";

/** What the login part hands on to the full part (handlers.ts's loginSave, loginFailed). */
export interface FullLogin {
  loginSave: LoginSave;
  loginFailed(r: NginxHTTPRequest, error: unknown): void;
}

const SAVED: Result = { ok: true };

/**
 * The login, answered (a promise), or false: run the full login. `full` builds the full part, for
 * what this part hands on.
 */
function login(r: NginxHTTPRequest, full: () => FullLogin): Promise<void> | false {
  const platform = createNjsPlatform();
  let view: LoginView | null;
  let ikm: Uint8Array | null;
  try {
    const text = r.variables.session_location_config;
    if (typeof text !== "string") return false;
    view = readLoginView(platform, text);
    if (!view) return false;
    ikm = decodeBase64Url(view.key);
    if (!ikm) return false;
  } catch (e) {
    // A view that cannot be used: the full login resolves the configuration itself.
    return false;
  }
  const location = view;
  const key = ikm;
  function failed(e: unknown): void {
    full().loginFailed(r, e);
  }
  try {
    return askLoginBackend(r, location.backend).then(function (reply) {
      const verdict = startLogin(r, reply, location.verdictHeader, platform.log);
      if (!verdict) return;
      let saved: Promise<Result> | null;
      try {
        saved = saveNew(r, platform, location, key, verdict);
      } catch (e) {
        saved = null;
      }
      const handedOn = function (): Promise<Result> {
        return full().loginSave(r, verdict);
      };
      return (saved ? saved.then(undefined, handedOn) : handedOn()).then(function (result) {
        finishLogin(r, reply, verdict, result, platform.log);
      });
    }).then(undefined, failed);
  } catch (e) {
    failed(e);
    return Promise.resolve();
  }
}

/**
 * The new session's cookie on the response, sealed as the Session's save seals a new cookie-storage
 * session with these settings (flags: the bind flags; creation time: now; one entry for the view's
 * audience); null when that save would do more or fail (the full save's then).
 */
function saveNew(r: NginxHTTPRequest, platform: Platform, view: LoginView, ikm: Uint8Array, verdict: LoginVerdict): Promise<Result> | null {
  if (verdict.remember !== undefined) return null;
  const now = platform.now();
  if (now > MAX_CREATION_TIME) return null;
  const plaintext = utf8Encode(encodeEntries([[verdict.data || {}, view.audience, verdict.subject]]));
  const threshold = view.compressionThreshold;
  if (threshold !== 0 && plaintext.length > threshold) return null;
  const cookieName = view.cookieName;
  const chunks = cookieChunkCount(cookieName.length, base64UrlSize(plaintext.length));
  if (chunks === null) return null;
  const flags = view.bindFlags;
  const exchange = createNjsExchange(r);
  const sid = platform.randomBytes(SID_SIZE);
  const prk = pseudorandomKey(platform, ikm);
  const bound = boundValues(flags, exchange);
  const encryption = encryptCookie(platform, flags, sid, now, 0, plaintext, prk, null);
  return encryption.encrypted.then(function (encrypted) {
    const sealed = sealedCookie(platform, encryption.header, encrypted, prk, sid, bound);
    const cookies = exchange.getResponseCookies().slice();
    const staleChunks = requestChunkCount(exchange.cookieHeader(), cookieName, undefined);
    putSessionCookieLines(cookies, cookieName, sealed, chunks, view.cookieAttributes, staleChunks, view.cookieAttributes);
    exchange.setResponseCookies(cookies);
    return SAVED;
  });
}

export interface LoginPart {
  login: typeof login;
}

const part: LoginPart = { login: login };

export default part;
