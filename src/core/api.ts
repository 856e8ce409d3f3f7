/**
 * The resty.session module surface — init, new, open, start, logout, destroy — over any platform and
 * exchange. Lua's multiple return values become result objects.
 */

import { mergeOptions, SessionOptions, validateOptions } from "./options";
import { resolveSettings, Settings } from "./settings";
import type { Exchange, Platform } from "./platform";
import { isPromise, MaybePromise } from "./maybe";
import { Result, Session } from "./session";
import { retainedGet, retainedSet } from "./retained";
import { withSources } from "./sources";

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
  /**
   * start() that stays synchronous when nothing needs waiting for (a session cookie found in the
   * verified cache, then no refresh or only a touch): nginx's access check uses it, so that a known
   * cookie costs no promise. Throws, or rejects, with configuration errors as start() rejects.
   */
  startMaybe(exchange: Exchange, options?: SessionOptions): MaybePromise<StartResult>;
  logout(exchange: Exchange, options?: SessionOptions): Promise<LogoutResult>;
  destroy(exchange: Exchange, options?: SessionOptions): Promise<DestroyResult>;
}

/** JSON of options made of strings, numbers, booleans and lists of strings only; null otherwise. */
function plainJson(options: SessionOptions): string | null {
  const table = options as { [name: string]: unknown };
  const names = Object.keys(table);
  for (let i = 0; i < names.length; i++) {
    const value = table[names[i]];
    const kind = typeof value;
    if (kind === "string" || kind === "number" || kind === "boolean" || value === undefined || value === null) continue;
    if (Array.isArray(value) && value.every(function (item) { return typeof item === "string"; })) continue;
    return null;
  }
  return JSON.stringify(table);
}

/** retained.ts's table of settings resolved for overrides; overrides are few (locations), the bound guards. */
const RESOLVED_SETTINGS = "resolved-settings";
const MAX_RESOLVED_SETTINGS = 64;

/** Reasons that are the normal state of an anonymous request, not worth a log line. */
const QUIET_REASONS = ["missing session cookie"];

export function createSessionLibrary(platform: Platform): SessionLibrary {
  let globalOptions: SessionOptions = {};
  let globalSettings: Settings | null = null;
  /** The platform with init()'s clock and random source, if it set them. */
  let globalPlatform: Platform = platform;
  let initCalled = false;

  /**
   * The owner of the settings resolved for plain-data overrides (nginx's per-location options) under
   * the configuration in force, kept in retained.ts by their JSON: resolving derives keys and renders
   * cookie attributes, too much for every request. init() makes a new owner, so nothing resolved
   * before it is found again (the table's bound drops the old entries).
   */
  let configuration: object = {};

  function settingsFor(options?: SessionOptions): Settings {
    if (options && Object.keys(options).length) {
      const json = plainJson(options);
      const known = json !== null ? retainedGet<Settings>(RESOLVED_SETTINGS, json, configuration) : undefined;
      if (known) return known;
      const settings = resolveSettings(mergeOptions(globalOptions, validateOptions(options)), platform);
      return json !== null ? retainedSet(RESOLVED_SETTINGS, MAX_RESOLVED_SETTINGS, json, configuration, settings) : settings;
    }
    if (!globalSettings) globalSettings = resolveSettings(globalOptions, platform);
    return globalSettings;
  }

  /** The platform a call runs on: init()'s, or with the call's own clock or random source. */
  function platformFor(options?: SessionOptions): Platform {
    if (!options || (!options.now && !options.random)) return globalPlatform;
    return withSources(globalPlatform, options.now, options.random);
  }

  function logRejection(session: Session, error: string | undefined): void {
    if (!error || QUIET_REASONS.indexOf(error) >= 0) return;
    platform.log("info", "[session] no session for cookie \"" + session.settings.cookieName + "\": " + error);
  }

  function openResult(session: Session, opened: Result): OpenResult {
    if (!opened.ok) logRejection(session, opened.error);
    return { session: session, exists: opened.ok, error: opened.error };
  }

  function openMaybe(exchange: Exchange, options?: SessionOptions): MaybePromise<OpenResult> {
    return new Session(settingsFor(options), platformFor(options), exchange).openThen(openResult);
  }

  function startResult(session: Session, opened: Result): MaybePromise<StartResult> {
    if (!opened.ok) {
      logRejection(session, opened.error);
      return { session: session, exists: false, refreshed: false, error: opened.error };
    }
    const refreshed = session.refreshMaybe();
    // No closure unless the refresh has to wait (a save).
    if (!isPromise(refreshed)) return refreshedResult(session, refreshed);
    return refreshed.then(function (result) {
      return refreshedResult(session, result);
    });
  }

  function refreshedResult(session: Session, refreshed: Result & { refreshed?: boolean }): StartResult {
    return {
      session: session,
      exists: true,
      refreshed: refreshed.refreshed === true,
      error: refreshed.ok ? undefined : refreshed.error,
    };
  }

  /** openMaybe() and the refresh in one promise step (Session.openThen). */
  function startMaybe(exchange: Exchange, options?: SessionOptions): MaybePromise<StartResult> {
    return new Session(settingsFor(options), platformFor(options), exchange).openThen(startResult);
  }

  async function open(exchange: Exchange, options?: SessionOptions): Promise<OpenResult> {
    return openMaybe(exchange, options);
  }

  return {
    init: function (options?: SessionOptions): void {
      const merged = mergeOptions(globalOptions, validateOptions(options));
      globalSettings = resolveSettings(merged, platform);
      globalOptions = merged;
      globalPlatform = withSources(platform, merged.now, merged.random);
      configuration = {};
      initCalled = true;
    },
    initialized: function (): boolean {
      return initCalled;
    },
    settings: settingsFor,
    new: function (exchange: Exchange, options?: SessionOptions): Session {
      return new Session(settingsFor(options), platformFor(options), exchange);
    },
    open: open,
    start: async function (exchange: Exchange, options?: SessionOptions): Promise<StartResult> {
      return startMaybe(exchange, options);
    },
    startMaybe: startMaybe,
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
