#!/usr/bin/env node
// `npm run keygen`: prints a fresh random session secret (48 bytes, base64: 64 characters) and nothing
// else, for {"secret": {"env": ...}} or {"secret": {"file": ...}}. `--ikm` prints 32 bytes of key
// material (base64) for {"ikm": ...} instead. Same as `openssl rand -base64 48` / `-base64 32`.
import { randomBytes } from "node:crypto";

const args = process.argv.slice(2);
if (args.some((arg) => arg !== "--ikm")) {
    process.stderr.write("usage: npm run keygen [-- --ikm]\n");
    process.exit(2);
}
process.stdout.write(randomBytes(args.includes("--ikm") ? 32 : 48).toString("base64") + "\n");
