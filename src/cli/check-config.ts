/**
 * check-config FILE: the validation nginx runs on NJS_SESSION_CONFIG, by the same functions with the
 * same messages: the file read and its secrets resolved (configuration.ts readConfigurationFile),
 * the options validated and resolved (the library's init(), as entry-context.ts does), and the entry
 * options' exposed names checked (checkExposedNames). What only nginx can tell is said, not guessed:
 * the zones nginx.conf must declare are listed, and {"env"} secrets must be set here as in nginx.
 */

import { createSessionLibrary } from "../core/api";
import { errorText, isConfigError } from "../core/errors";
import { DEFAULT_VERIFIED_CACHE_ZONE } from "../core/options";
import { checkExposedNames, ENTRY_DEFAULTS } from "../nginx/configuration";
import type { Arguments, CommandSpec } from "./args";
import { cliFailure, EXIT } from "./failure";
import { escapeText, fields, print, printJson } from "./output";
import { cliPlatform } from "./platform";
import { readConfiguration } from "./sources";

export const checkConfigSpec: CommandSpec = {
  name: "check-config",
  summary: "validate session.json exactly as nginx does",
  options: { json: "boolean" },
  positionals: { min: 1, max: 1, names: "FILE" },
  help: `usage: njs-session check-config FILE [--json]

Validates FILE (the file NJS_SESSION_CONFIG names) with nginx's own code and messages: JSON, option
names, types and values, secrets from {"env": NAME} (set NAME here too) and {"file": PATH} (readable
here: nginx's workers must be able to read it as well), storage options, the "nginx" block.
Exit status 0 when valid, 6 when not (the message is the one nginx would log).

Lists the js_shared_dict_zone names the configuration uses: nginx.conf must declare them.

  --json   {"valid": true, ...} on success (errors go to stderr either way)

example: NJS_SESSION_SECRET_FROM_ENV=x njs-session check-config /etc/nginx/session.json`,
};

export function checkConfig(args: Arguments): number {
  const path = args.positionals[0];
  const file = readConfiguration(path);
  const cli = cliPlatform(Math.floor(Date.now() / 1000));
  // nginx's validation: there the store bridge makes the connections, and TLS or a unix socket in the
  // storage options is refused, pointing at nginx.conf. This process's transport would take them.
  delete cli.platform.storeConnectionOptions;
  const library = createSessionLibrary(cli.platform);
  let settings;
  try {
    library.init(file.options);
    settings = library.settings();
    checkExposedNames((file.entry.expose_data as string[] | undefined) || ENTRY_DEFAULTS.expose_data);
  } catch (e) {
    if (isConfigError(e)) throw cliFailure(EXIT.CONFIG, errorText(e));
    throw e;
  }
  // Zones are looked up when first used: the lookups of a first request, made here (on zones of this
  // process, see platform.ts), record the names nginx.conf must declare. Only shm storage is asked:
  // the others would go to the network or the disk.
  const now = cli.clock.now;
  if (settings.storageName === "shm" && settings.storage) settings.storage.get(settings.cookieName, "check-config", now);
  if (settings.registry) settings.registry.list(settings.audience, "check-config", now);
  // The verified cache asks for njs-session.conf's zone by name, declared or not.
  const zones = cli.zones.filter((zone, index) => cli.zones.indexOf(zone) === index && (zone !== DEFAULT_VERIFIED_CACHE_ZONE || file.options.verified_cache_zone === zone));
  const summary = {
    valid: true,
    file: path,
    storage: settings.storageName,
    cookie_name: settings.cookieName,
    remember_cookie_name: settings.rememberCookieName,
    audience: settings.audience,
    keys: 1 + settings.ikmFallbacks.length,
    timeouts: { idling: settings.idlingTimeout, rolling: settings.rollingTimeout, absolute: settings.absoluteTimeout },
    zones: zones,
  };
  if (args.boolean("json")) {
    printJson(summary);
    return EXIT.OK;
  }
  print(
    fields([
      ["valid", escapeText(path)],
      ["storage", summary.storage],
      ["cookies", escapeText(summary.cookie_name) + ", " + escapeText(summary.remember_cookie_name) + " (remember)"],
      ["audience", escapeText(summary.audience)],
      ["keys", summary.keys === 1 ? "1 (no fallback)" : "1 + " + (summary.keys - 1) + " fallback(s)"],
      ["timeouts", "idling " + summary.timeouts.idling + " s, rolling " + summary.timeouts.rolling + " s, absolute " + summary.timeouts.absolute + " s"],
      ["zones", (zones.length ? zones.map(escapeText).join(", ") + " (js_shared_dict_zone in nginx.conf)" : "none") + " besides njs-session.conf's " + DEFAULT_VERIFIED_CACHE_ZONE],
    ]),
  );
  return EXIT.OK;
}
