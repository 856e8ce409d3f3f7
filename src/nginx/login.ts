/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * login (js_content): asks the login backend (a subrequest to an internal location, same method and
 * body) and turns its verdict header into a saved session. The verdict never reaches the client, a
 * verdict from the client is never read, and a subject nginx could not publish as it is gets a 400
 * (login-steps.ts, which the njs engine's login part shares).
 */

import { encryptPayload } from "../core/cookie-sealing";
import { pseudorandomKey } from "../core/keys";
import type { SessionOptions } from "../core/options";
import type { Result } from "../core/session";
import { createNjsExchange } from "../platform/njs";
import { keepCheckView, keepLoginView, loginSavesAlone } from "./check-view";
import { EntryEnvironment } from "./entry-context";
import { finishNewSession, startNewSession } from "./login-save";
import { askLoginBackend, finishLogin, LoginVerdict, startLogin } from "./login-steps";

export function createLoginHandler(env: EntryEnvironment) {
  const platform = env.platform;
  const library = env.library;
  const requestContext = env.requestContext;
  const failClosed = env.failClosed;

  /** The full save: a new Session with the location's settings, as a user's own handler makes one. */
  function saveWith(r: NginxHTTPRequest, options: SessionOptions | undefined, verdict: LoginVerdict) {
    const session = library.new(createNjsExchange(r), options);
    session.setSubject(verdict.subject);
    if (verdict.data) session.setData(verdict.data);
    if (typeof verdict.remember === "boolean") session.setRemember(verdict.remember);
    return session.save();
  }

  /** The full save for the login part, which hands on a verdict it does not save itself. */
  function save(r: NginxHTTPRequest, verdict: LoginVerdict) {
    return saveWith(r, requestContext(r).options, verdict);
  }

  async function login(r: NginxHTTPRequest): Promise<void> {
    try {
      const context = requestContext(r);
      if (!platform.keepsModuleState) {
        // Under the njs engine: what the next logins' login part (login-part.ts) and checks read.
        const settings = library.settings(context.options);
        keepLoginView(platform, context.locationText, settings, context.entry);
        keepCheckView(platform, context.locationText, settings, context.entry);
      }
      const reply = await askLoginBackend(r, context.entry.login_backend);
      const verdict = startLogin(r, reply, context.entry.login_verdict_header, platform.log);
      if (!verdict) return;
      // Sealed alone (login-save.ts, as the njs engine's login part seals) where the location's
      // settings allow it and the verdict asks nothing more, else the Session's save. A failure of
      // either fails the login closed (the Session's save would fail the same way: the same sealing).
      const settings = library.settings(context.options);
      // The retained PRK: under QuickJS it lasts the context; under the njs engine this full login
      // runs only where the login part could not (login-part.ts takes its PRK from the login view).
      const sealing = loginSavesAlone(settings) ? startNewSession(r, platform, settings, pseudorandomKey(platform, settings.ikm), verdict) : null;
      let saved: Result;
      if (sealing) {
        // The key's import and the encryption awaited here, not behind a promise of the save or of
        // one encryption call: each would be an async step more.
        const aesKey = await sealing.encryption.key;
        const encrypted = await encryptPayload(platform, sealing.encryption, aesKey);
        saved = finishNewSession(sealing, encrypted);
      } else {
        // Awaited on a line of its own: njs 0.8.9 (the floor) refuses await in a call's arguments.
        saved = await saveWith(r, context.options, verdict);
      }
      finishLogin(r, reply, verdict, saved, platform.log);
    } catch (e) {
      failClosed(r, e);
    }
  }

  // save and failClosed also for the login part, which hands on what it does not finish itself.
  return { login: login, save: save, failClosed: failClosed };
}
