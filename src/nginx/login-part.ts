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
 * one step of its own, the save, seals the new cookie as the Session's save does (login-save.ts,
 * which the full login shares); a verdict it does not save exactly so (remember given, compression
 * due, too large for the cookies, anything thrown) is handed on to the full save, and anything thrown
 * after the backend's answer to the full part's failing closed: they decide, log and fail closed as
 * always.
 */

import { decodeBase64Url } from "../core/bytes";
import { encryptPayload } from "../core/cookie-sealing";
import { statelessPseudorandomKey } from "../core/keys";
import type { Result } from "../core/session";
import { createNjsSealingPlatform } from "../platform/njs";
import { LoginView, readLoginView } from "./check-view";
import { finishNewSession, NewSessionSealing, startNewSession } from "./login-save";
import { askLoginBackend, finishLogin, LoginSave, startLogin } from "./login-steps";

/** What the login part hands on to the full part (handlers.ts's loginSave, loginFailed). */
export interface FullLogin {
  loginSave: LoginSave;
  loginFailed(r: NginxHTTPRequest, error: unknown): void;
}

/**
 * The login, answered (a promise), or false: run the full login. `full` builds the full part, for
 * what this part hands on.
 */
function login(r: NginxHTTPRequest, full: () => FullLogin): Promise<void> | false {
  const platform = createNjsSealingPlatform();
  let view: LoginView | null;
  let prkBytes: Uint8Array | null;
  try {
    const text = r.variables.session_location_config;
    if (typeof text !== "string") return false;
    view = readLoginView(platform, text);
    if (!view) return false;
    // The host's bytes (a Buffer) as they are: the PRK is only ever an HMAC's key.
    prkBytes = decodeBase64Url(view.prk, true);
    if (!prkBytes) return false;
  } catch (e) {
    // A view that cannot be used: the full login resolves the configuration itself.
    return false;
  }
  const location = view;
  // The view's PRK as it is: no HMAC to make it on each login.
  const prk = statelessPseudorandomKey(prkBytes);
  function failed(e: unknown): void {
    full().loginFailed(r, e);
  }
  /** The backend's reply answered, the session saved by this part or handed on. */
  function answer(reply: NginxHTTPRequest): void {
    const verdict = startLogin(r, reply, location.verdictHeader, platform.log);
    if (!verdict) return;
    let sealing: NewSessionSealing | null;
    try {
      sealing = startNewSession(r, platform, location, prk, verdict);
    } catch (e) {
      sealing = null;
    }
    const finish = function (result: Result): void {
      finishLogin(r, reply, verdict, result, platform.log);
    };
    const handedOn = function (): void {
      try {
        full().loginSave(r, verdict).then(finish).then(undefined, failed);
      } catch (e) {
        failed(e);
      }
    };
    if (!sealing) return handedOn();
    const started = sealing;
    // Each promise's reactions end the chain (none returns a promise, which would cost a job more to
    // adopt): the key import's, the encryption's, then the save's second half and the answer, or the
    // full save.
    started.encryption.key.then(function (aesKey) {
      let encrypting: Promise<ArrayBuffer>;
      try {
        encrypting = encryptPayload(platform, started.encryption, aesKey);
      } catch (e) {
        return handedOn();
      }
      encrypting.then(function (encrypted) {
        let saved: Result | null;
        try {
          saved = finishNewSession(started, encrypted);
        } catch (e) {
          saved = null;
        }
        if (!saved) return handedOn();
        try {
          finish(saved);
        } catch (e) {
          failed(e);
        }
      }, handedOn);
    }, handedOn);
  }
  try {
    return askLoginBackend(r, location.backend).then(function (reply) {
      try {
        answer(reply);
      } catch (e) {
        failed(e);
      }
    }, failed);
  } catch (e) {
    failed(e);
    return Promise.resolve();
  }
}

export interface LoginPart {
  login: typeof login;
}

const part: LoginPart = { login: login };

export default part;
