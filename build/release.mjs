#!/usr/bin/env node
// `npm run release`: writes njs-session-<version>.tar.gz in the repository root, for people who
// install the nginx side without npm: the njs modules, the snippets, the example configurations,
// the demo, README, the docs/ pages it links and CHANGELOG, under one njs-session-<version>/ folder.
//
// The file list is the npm package's (package.json `files`, as `npm pack` reads it) minus
// package.json, so that the two can never disagree on what an nginx needs; build/test-package.sh
// checks that they hold the same bytes.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { name, version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const folder = `${name}-${version}`;
const output = join(root, `${folder}.tar.gz`);

execFileSync("node", ["build/build.mjs"], { cwd: root, stdio: "inherit" });
// --ignore-scripts: dist/ was just built, and prepack's output would land in the JSON.
const packed = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8" }));
const files = packed[0].files.map((file) => file.path).filter((path) => path !== "package.json").sort();

const scratch = mkdtempSync(join(tmpdir(), "njs-session-release-"));
try {
  const list = join(scratch, "files");
  writeFileSync(list, files.join("\n") + "\n");
  // Reproducible: sorted names, no local owners, every file dated to the last commit.
  const committed = execFileSync("git", ["log", "-1", "--format=%ct"], { cwd: root, encoding: "utf8" }).trim();
  execFileSync(
    "tar",
    [
      "--create", "--gzip", "--file", output,
      "--sort=name", "--owner=0", "--group=0", "--numeric-owner", `--mtime=@${committed}`,
      "--transform", `s,^,${folder}/,`,
      "--files-from", list,
    ],
    { cwd: root, stdio: "inherit" },
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`wrote ${output} (${files.length} files)`);
