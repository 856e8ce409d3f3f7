/**
 * keygen: a new random key in a form the configuration takes. A secret is 48 random bytes as base64
 * (64 characters, for "secret" as {"env"}/{"file"}); an ikm is 32 random bytes as base64 (what
 * configuration.ts decodes for "ikm"). `npm run keygen` in the repository runs this too.
 */

import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { errorCode } from "../core/errors";
import { KEY_SIZE } from "../core/format";
import type { CommandSpec, Arguments } from "./args";
import { cliFailure, EXIT } from "./failure";
import { nodeProcess, printJson } from "./output";

/** Random bytes in a secret: more than the 32 of the derived key, so the secret is never the weaker part. */
const SECRET_SIZE = 48;

export const keygenSpec: CommandSpec = {
  name: "keygen",
  summary: "print a new random secret (or --ikm key material)",
  options: { ikm: "boolean", out: "string", json: "boolean" },
  positionals: { min: 0, max: 0, names: "" },
  help: `usage: njs-session keygen [--ikm] [--out FILE] [--json]

Prints a new random secret: ${SECRET_SIZE} bytes, base64 (64 characters), for "secret" in session.json
(as {"file": PATH} or {"env": NAME}). The same as \`openssl rand -base64 ${SECRET_SIZE}\`.

  --ikm        ${KEY_SIZE} bytes of key material instead, base64, for "ikm"
  --out FILE   write it to FILE (created with mode 0600; an existing file is left alone) instead
  --json       {"secret": "..."} or {"ikm": "..."}: a fragment of session.json

example: njs-session keygen --out /etc/nginx/session.secret`,
};

export function keygen(args: Arguments): number {
  const ikm = args.boolean("ikm");
  const key = randomBytes(ikm ? KEY_SIZE : SECRET_SIZE).toString("base64");
  const out = args.string("out");
  if (out === undefined) {
    if (args.boolean("json")) printJson(ikm ? { ikm: key } : { secret: key });
    else nodeProcess.stdout.write(key + "\n");
    return EXIT.OK;
  }
  try {
    writeFileSync(out, key + "\n", { mode: 0o600, flag: "wx" });
  } catch (e) {
    const code = errorCode(e);
    const reason = code === "EEXIST" ? "it exists (keygen never overwrites a key)" : code === "EACCES" ? "permission denied" : code === "ENOENT" ? "no such directory" : code || "error";
    throw cliFailure(EXIT.UNREADABLE, "cannot write " + out + ": " + reason);
  }
  if (args.boolean("json")) printJson({ file: out, kind: ikm ? "ikm" : "secret" });
  else nodeProcess.stderr.write("wrote a new " + (ikm ? "ikm" : "secret") + " to " + out + '; use {"file": "' + out + '"} in session.json\n');
  return EXIT.OK;
}
