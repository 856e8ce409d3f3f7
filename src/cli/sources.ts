/**
 * Where inspect and mint get their options and keys: a configuration file read exactly as nginx
 * reads NJS_SESSION_CONFIG (src/nginx/configuration.ts: same secret sources, same messages), and a
 * secret from --secret, --secret-file or the environment variable NJS_SESSION_SECRET, which replaces
 * the file's key (as a secret given at a later layer does in the options). Every secret read is
 * registered with output.ts, so that no message can show it.
 */

import { readFileSync } from "node:fs";
import { errorCode, errorText, isConfigError, isStoreUnavailable } from "../core/errors";
import { mergeOptions, SessionOptions } from "../core/options";
import { EntryOptions, readConfigurationFile } from "../nginx/configuration";
import type { Arguments } from "./args";
import { cliFailure, EXIT, usage } from "./failure";
import { escapeText, nodeProcess, registerSecret } from "./output";

export const SECRET_VARIABLE = "NJS_SESSION_SECRET";

/** The options every command that needs a key takes (listed in their --help). */
export const KEY_OPTIONS = { config: "string", secret: "string", "secret-file": "string" } as const;

export const KEY_HELP = `  --config FILE        session.json, read as nginx reads it (secrets from {"env"} and {"file"} too)
  --secret-file FILE   the secret, from a file (a final newline is not part of it)
  --secret SECRET      the secret itself (visible to other users in the process list: prefer the file)
  Without these, the environment variable ${SECRET_VARIABLE} is the secret when set.`;

/** Why a file cannot be read, by its error code: never its contents. */
export function unreadable(what: string, path: string, error: unknown): Error {
  const code = errorCode(error);
  const reason =
    code === "ENOENT" ? "no such file" :
    code === "EACCES" || code === "EPERM" ? "permission denied" :
    code === "EISDIR" ? "it is a directory" :
    code === "ENOTDIR" ? "a part of the path is not a directory" :
    code || errorText(error);
  return cliFailure(EXIT.UNREADABLE, "cannot read " + what + " " + path + ": " + reason);
}

/** A secret file's text: a final newline (which editors and `echo` add) is not part of it, as in nginx. */
export function readSecretFile(what: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw unreadable(what, path, e);
  }
  const secret = text.replace(/\r?\n$/, "");
  registerSecret(secret);
  return secret;
}

export interface LoadedOptions {
  options: SessionOptions;
  entry: Partial<EntryOptions>;
  /** Whether a key was given (in the file or on the command line). */
  keyGiven: boolean;
}

function registerFileSecrets(options: SessionOptions, entry: Partial<EntryOptions>): void {
  const table = options as { [name: string]: unknown };
  const texts: unknown[] = [table.secret, entry.admin_token].concat((table.secret_fallbacks as unknown[]) || []);
  const redis = table.redis as { [name: string]: unknown } | undefined;
  if (redis) texts.push(redis.password, redis.sentinel_password);
  for (let i = 0; i < texts.length; i++) if (typeof texts[i] === "string") registerSecret(texts[i] as string);
}

/** A configuration file as nginx reads it; a ConfigError becomes the CONFIG status, with nginx's message. */
export function readConfiguration(path: string): { options: SessionOptions; entry: Partial<EntryOptions> } {
  try {
    readFileSync(path);
  } catch (e) {
    throw unreadable("the configuration", path, e);
  }
  try {
    const file = readConfigurationFile(path);
    registerFileSecrets(file.options, file.entry);
    return file;
  } catch (e) {
    if (isConfigError(e)) throw cliFailure(EXIT.CONFIG, errorText(e));
    throw e;
  }
}

/** --config, then the key from the command line or the environment over the file's. */
export function loadOptions(args: Arguments): LoadedOptions {
  const path = args.string("config");
  const file = path !== undefined ? readConfiguration(path) : { options: {}, entry: {} };
  const given = args.string("secret");
  const givenFile = args.string("secret-file");
  if (given !== undefined && givenFile !== undefined) throw usage("give --secret or --secret-file, not both");
  let secret: string | undefined;
  if (given !== undefined) {
    secret = given;
    registerSecret(secret);
  } else if (givenFile !== undefined) {
    secret = readSecretFile("the secret file", givenFile);
  } else if (nodeProcess.env[SECRET_VARIABLE]) {
    secret = nodeProcess.env[SECRET_VARIABLE] as string;
    registerSecret(secret);
  }
  const options = secret === undefined ? file.options : mergeOptions(file.options, { secret: secret });
  const keyGiven = secret !== undefined || options.secret !== undefined || options.ikm !== undefined;
  return { options: options, entry: file.entry, keyGiven: keyGiven };
}

/**
 * What the core throws, as the CLI's statuses: a ConfigError (options, settings) is CONFIG, an
 * unreachable store is STORE (its message names the store, never a secret); anything else unchanged.
 */
export function asCoreFailure(e: unknown): unknown {
  if (isConfigError(e)) return cliFailure(EXIT.CONFIG, errorText(e));
  if (isStoreUnavailable(e)) return cliFailure(EXIT.STORE, "the session store cannot be reached: " + escapeText(errorText(e)));
  return e;
}
