/**
 * README's option tables name exactly the options the code takes: every option the code validates is
 * documented, and every documented one exists. The tables are found by their header row wherever they
 * live (README.md or docs/*.md), so moving them does not silence this test.
 */

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { optionNames } from "../../src/core/options";
import { entryOptionNames } from "../../src/nginx/configuration";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function documents(): string[] {
  const files = [join(root, "README.md")];
  const docs = join(root, "docs");
  if (existsSync(docs)) for (const name of readdirSync(docs)) if (name.endsWith(".md")) files.push(join(docs, name));
  return files.map((file) => readFileSync(file, "utf8"));
}

/** The backticked names in the first column of the table whose header row starts with `header`. */
function tableNames(header: string): string[] {
  for (const text of documents()) {
    const lines = text.split("\n");
    const start = lines.findIndex((line) => line.startsWith(header));
    if (start < 0) continue;
    const names: string[] = [];
    for (let i = start + 2; i < lines.length && lines[i].startsWith("|"); i++) {
      const firstCell = lines[i].split("|")[1];
      for (const match of firstCell.matchAll(/`([a-z_]+)`/g)) names.push(match[1]);
    }
    return names;
  }
  throw new Error("no table with the header " + JSON.stringify(header) + " in README.md or docs/");
}

describe("README's option tables match the code", () => {
  it("session options (init/new/open): the Configuration table", () => {
    assert.deepEqual([...tableNames("| option | default | meaning |")].sort(), optionNames().sort());
  });

  it('entry options (the "nginx" block): the entry option table', () => {
    assert.deepEqual([...tableNames("| entry option")].sort(), entryOptionNames().sort());
  });
});
