/**
 * mint: a session cookie made by the core's own save path, as nginx's login would make it, on a
 * platform whose clock is --now: for tests (a session as of a fixed time) and for support (a cookie
 * for a given subject and data). With file, redis or memcached storage the record is written where
 * nginx reads it (opening.ts), through the package's store transport; shm storage is nginx's memory,
 * out of reach, and refused.
 */

import { createSessionLibrary } from "../core/api";
import { errorText } from "../core/errors";
import { createMemoryExchange, cookieHeaderFromSetCookies } from "../core/memory-exchange";
import type { SessionData } from "../core/session";
import type { Arguments, CommandSpec } from "./args";
import { cliFailure, EXIT, usage } from "./failure";
import { readFileSync } from "node:fs";
import { print, printError, printJson, shown, utc, when } from "./output";
import { bindRequestOptions, checkBindValues, isServerSide, outsideNginx } from "./opening";
import { CliPlatform, cliPlatform, parseNow } from "./platform";
import type { SessionOptions } from "../core/options";
import { asCoreFailure, KEY_HELP, KEY_OPTIONS, loadOptions, SECRET_VARIABLE, unreadable } from "./sources";

export const mintSpec: CommandSpec = {
  name: "mint",
  summary: "make a session cookie for a subject and data, as of --now",
  options: { ...KEY_OPTIONS, subject: "string", audience: "string", data: "string", "data-file": "string", remember: "boolean", now: "string", ip: "string", scheme: "string", "user-agent": "string", json: "boolean" },
  positionals: { min: 0, max: 0, names: "" },
  help: `usage: njs-session mint [options]

Makes a session the way nginx's login does (the same code) and prints the Cookie header a browser
would send back: session=...[; remember=...]. A summary goes to stderr. With file, redis or memcached
storage (--config) the session's record is written to that store, where nginx reads it.

${KEY_HELP}
  --subject SUBJECT    the session's subject (the user)
  --audience AUD       its audience (default: the configured one, else "default")
  --data JSON          its data, a JSON object (default {})
  --data-file FILE     the data from a file ("-": standard input) instead of --data
  --remember           also a remember cookie (persistent login)
  --now TIME           as of TIME: unix seconds or ISO 8601 (default: now)
  --ip ADDR, --scheme http|https, --user-agent UA
                       the request's values, when the configuration binds sessions to them
  --json               {"cookie_header", "set_cookie": [...], "valid_until", ...}

example: curl -H "Cookie: $(njs-session mint --config session.json --subject alice)" https://example.com/app/`,
};

/** --data's text, or --data-file's ("-": standard input), and which of them it came from. */
function dataText(args: Arguments): { text: string | undefined; from: string } {
  const given = args.string("data");
  const file = args.string("data-file");
  if (given !== undefined && file !== undefined) throw usage("give --data or --data-file, not both");
  if (file === undefined) return { text: given, from: "--data" };
  try {
    return { text: readFileSync(file === "-" ? 0 : file, "utf8"), from: "--data-file" };
  } catch (e) {
    throw unreadable("the data file", file === "-" ? "(standard input)" : file, e);
  }
}

function parseData(args: Arguments): SessionData {
  const { text, from } = dataText(args);
  if (text === undefined) return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    // Not the text itself: it may hold what the data is meant to keep out of sight.
    throw cliFailure(EXIT.MALFORMED, from + " is not valid JSON");
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) throw cliFailure(EXIT.MALFORMED, from + " must be a JSON object");
  return data as SessionData;
}

export async function mint(args: Arguments): Promise<number> {
  const now = parseNow(args.string("now"));
  const data = parseData(args);
  const loaded = loadOptions(args);
  if (!loaded.keyGiven) throw usage("mint needs a key: --secret-file, --secret, " + SECRET_VARIABLE + " or --config");
  const storage = loaded.options.storage;
  if (storage !== undefined && storage !== null && storage !== "cookie" && !isServerSide(storage)) {
    throw cliFailure(EXIT.CONFIG, "mint cannot write to " + JSON.stringify(storage) + " storage (nginx's shared memory): use cookie, file, redis or memcached storage");
  }
  const options = outsideNginx(loaded.options);
  const audience = args.string("audience");
  if (audience !== undefined) (options as { audience?: string }).audience = audience;

  const cli = cliPlatform(now);
  try {
    return await mintOn(cli, now, data, options, args);
  } finally {
    cli.close();
  }
}

async function mintOn(cli: CliPlatform, now: number, data: SessionData, options: SessionOptions, args: Arguments): Promise<number> {
  const library = createSessionLibrary(cli.platform);
  const exchange = createMemoryExchange(bindRequestOptions(args));
  let session;
  try {
    session = library.new(exchange, options);
  } catch (e) {
    throw asCoreFailure(e);
  }
  checkBindValues(session.settings.bindFlags, args);
  session.setData(data);
  const subject = args.string("subject");
  try {
    if (subject !== undefined) session.setSubject(subject);
  } catch (e) {
    // The core's reason (a control character, a space at an end, ...), never the subject itself.
    throw cliFailure(EXIT.MALFORMED, "--subject: " + errorText(e));
  }
  if (args.boolean("remember")) session.setRemember(true);
  let saved;
  try {
    saved = await session.save();
  } catch (e) {
    throw asCoreFailure(e);
  }
  if (!saved.ok) throw cliFailure(EXIT.MALFORMED, "unable to mint the session: " + saved.error);

  const setCookie = exchange.responseCookies;
  const cookieHeader = cookieHeaderFromSetCookies(setCookie);
  const left = session.getProperty("timeout");
  const validUntil = typeof left === "number" ? now + left : null;
  const remember = session.getRemember();
  if (args.boolean("json")) {
    printJson({
      cookie_header: cookieHeader,
      set_cookie: setCookie,
      cookie_name: session.settings.cookieName,
      audience: session.getAudience(),
      subject: subject === undefined ? null : subject,
      remember: remember,
      storage: options.storage || "cookie",
      now: now,
      valid_until: validUntil,
    });
    return EXIT.OK;
  }
  print(cookieHeader);
  printError(
    "minted a session" + (subject === undefined ? "" : " of " + shown(subject)) + " for audience " + shown(session.getAudience()) +
      (remember ? ", with a remember cookie" : "") + (options.storage && options.storage !== "cookie" ? ", its record in " + options.storage + " storage" : "") + ", created " + utc(now) +
      (validUntil === null ? "" : ", valid until " + when(validUntil, now)),
  );
  return EXIT.OK;
}
