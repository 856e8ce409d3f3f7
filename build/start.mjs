#!/usr/bin/env node
// `npm start`: installs what is missing, builds, and runs the demo (nginx/demo/) on
// http://127.0.0.1:8080 with cookie storage, in the project's nginx (the Debian-testing root
// filesystem of nginx/provision.sh). Ctrl-C stops everything.
//
// Environment: PORT (8080), NJS_SESSION_DEMO_APP_PORT (8081), NJS_SESSION_DEMO_IDLING_TIMEOUT (900 s),
// NJS_SESSION_DEMO_SECRET (random per start: sessions end when the demo restarts).
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.env.PORT || 8080);
// One folder per port, so a test run of the demo never clobbers a demo someone is looking at.
const runtime = join(root, ".cache", `demo-${port}`);
const appPort = Number(process.env.NJS_SESSION_DEMO_APP_PORT || 8081);
const idlingTimeout = Number(process.env.NJS_SESSION_DEMO_IDLING_TIMEOUT || 900);
// Touch (re-issue the cookie, moving the idle clock) well before the idling timeout, so that a reload
// keeps the session alive even with the short timeouts the end-to-end test uses.
const touchThreshold = Math.max(1, Math.min(60, Math.floor(idlingTimeout / 3)));

function run(command, args) {
  execFileSync(command, args, { cwd: root, stdio: "inherit" });
}

function needsInstall() {
  const marker = join(root, "node_modules", ".package-lock.json");
  return !existsSync(marker) || statSync(join(root, "package-lock.json")).mtimeMs > statSync(marker).mtimeMs;
}

if (needsInstall()) run("npm", ["ci", "--no-audit", "--no-fund"]);
run("node", ["build/build.mjs"]);
run("bash", ["nginx/provision.sh"]);

rmSync(runtime, { recursive: true, force: true });
mkdirSync(runtime, { recursive: true });
const fill = (text) =>
  text
    .replaceAll("@RUNTIME@", runtime)
    .replaceAll("@DIST@", join(root, "dist"))
    .replaceAll("@DEMO@", join(root, "nginx", "demo"))
    .replaceAll("@SNIPPETS@", join(root, "nginx"))
    .replaceAll("@PORT@", String(port))
    .replaceAll("@APP_PORT@", String(appPort))
    .replaceAll("@IDLING_TIMEOUT@", String(idlingTimeout))
    .replaceAll("@TOUCH_THRESHOLD@", String(touchThreshold));
writeFileSync(join(runtime, "nginx.conf"), fill(readFileSync(join(root, "nginx", "demo", "nginx.conf"), "utf8")));
writeFileSync(join(runtime, "session.json"), fill(readFileSync(join(root, "nginx", "demo", "session.json"), "utf8")));

const env = {
  ...process.env,
  NJS_SESSION_DEMO_SECRET: process.env.NJS_SESSION_DEMO_SECRET || randomBytes(32).toString("base64url"),
};
const nginxArgs = ["-p", runtime, "-c", join(runtime, "nginx.conf"), "-g", "daemon off;"];
const nginxBin = process.env.NGINX_BIN;
const child = nginxBin
  ? spawn(nginxBin, nginxArgs, { cwd: root, env, stdio: "inherit" })
  : spawn("bash", [join(root, "nginx", "in-rootfs.sh"), "nginx", ...nginxArgs], { cwd: root, env, stdio: "inherit" });

console.log(`\nnjs-session demo: http://127.0.0.1:${port}/  (any name, password "demo"; Ctrl-C stops)`);
console.log(`nginx.conf: ${join(runtime, "nginx.conf")}   error.log: ${join(runtime, "error.log")}\n`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => process.exit(signal ? 0 : code ?? 0));
