/**
 * The resty.session module surface — init, new, open, start, logout, destroy — over any platform and
 * exchange. Lua's multiple return values become result objects.
 */

import { mergeOptions, resolveSettings, SessionOptions, Settings, validateOptions } from "./config";
import type { Exchange, Platform } from "./platform";
import { Session } from "./session";

export interface OpenResult {
  session: Session;
  exists: boolean;
  error?: string;
}

export interface StartResult extends OpenResult {
  /** A cookie was re-issued (touched or re-saved with a new id). */
  refreshed: boolean;
}

export interface LogoutResult {
  ok: boolean;
  exists: boolean;
  loggedOut: boolean;
  error?: string;
}

export interface DestroyResult {
  ok: boolean;
  exists: boolean;
  destroyed: boolean;
  error?: string;
}

export interface SessionLibrary {
  /** Sets global defaults for every session; validated now, so a bad configuration fails at start. */
  init(options?: SessionOptions): void;
  /** Whether init() was called: entry points fall back to their configuration file otherwise. */
  initialized(): boolean;
  /** The resolved settings for these overrides (throws a ConfigError when they are invalid). */
  settings(options?: SessionOptions): Settings;
  /** Quoted: unquoted, `new(...)` in an interface declares a construct signature. */
  "new": (exchange: Exchange, options?: SessionOptions) => Session;
  open(exchange: Exchange, options?: SessionOptions): Promise<OpenResult>;
  start(exchange: Exchange, options?: SessionOptions): Promise<StartResult>;
  logout(exchange: Exchange, options?: SessionOptions): Promise<LogoutResult>;
  destroy(exchange: Exchange, options?: SessionOptions): Promise<DestroyResult>;
}

/** Reasons that are the normal state of an anonymous request, not worth a log line. */
const QUIET_REASONS = ["missing session cookie"];

export function createSessionLibrary(platform: Platform): SessionLibrary {
  let globalOptions: SessionOptions = {};
  let globalSettings: Settings | null = null;
  let initCalled = false;

  function settingsFor(options?: SessionOptions): Settings {
    if (options && Object.keys(options).length) {
      return resolveSettings(mergeOptions(globalOptions, validateOptions(options)), platform);
    }
    if (!globalSettings) globalSettings = resolveSettings(globalOptions, platform);
    return globalSettings;
  }

  function logRejection(session: Session, error: string | undefined): void {
    if (!error || QUIET_REASONS.indexOf(error) >= 0) return;
    platform.log("info", "[session] no session for cookie \"" + session.settings.cookieName + "\": " + error);
  }

  async function open(exchange: Exchange, options?: SessionOptions): Promise<OpenResult> {
    const session = new Session(settingsFor(options), platform, exchange);
    const opened = await session.open();
    if (!opened.ok) logRejection(session, opened.error);
    return { session: session, exists: opened.ok, error: opened.error };
  }

  return {
    init: function (options?: SessionOptions): void {
      const merged = mergeOptions(globalOptions, validateOptions(options));
      globalSettings = resolveSettings(merged, platform);
      globalOptions = merged;
      initCalled = true;
    },
    initialized: function (): boolean {
      return initCalled;
    },
    settings: settingsFor,
    new: function (exchange: Exchange, options?: SessionOptions): Session {
      return new Session(settingsFor(options), platform, exchange);
    },
    open: open,
    start: async function (exchange: Exchange, options?: SessionOptions): Promise<StartResult> {
      const opened = await open(exchange, options);
      if (!opened.exists) return { session: opened.session, exists: false, refreshed: false, error: opened.error };
      const refreshed = await opened.session.refresh();
      return {
        session: opened.session,
        exists: true,
        refreshed: refreshed.refreshed === true,
        error: refreshed.ok ? undefined : refreshed.error,
      };
    },
    logout: async function (exchange: Exchange, options?: SessionOptions): Promise<LogoutResult> {
      const opened = await open(exchange, options);
      if (!opened.exists) return { ok: false, exists: false, loggedOut: false, error: opened.error };
      const result = await opened.session.logout();
      return { ok: result.ok, exists: true, loggedOut: result.ok, error: result.error };
    },
    destroy: async function (exchange: Exchange, options?: SessionOptions): Promise<DestroyResult> {
      const opened = await open(exchange, options);
      if (!opened.exists) return { ok: false, exists: false, destroyed: false, error: opened.error };
      const result = await opened.session.destroy();
      return { ok: result.ok, exists: true, destroyed: result.ok, error: result.error };
    },
  };
}
