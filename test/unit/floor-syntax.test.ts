/**
 * The build's check for what njs 0.8.9 refuses: an await anywhere inside a call's or a `new`'s
 * arguments. The cases were each loaded by njs 0.8.9 (Debian trixie's nginx -t): the refused ones
 * failed with "await in arguments not supported", the accepted ones loaded.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
// @ts-expect-error: a build script without type declarations
import { awaitInCallArguments } from "../../build/floor-syntax.mjs";

const inFunction = (statement: string): string => `async function h(f, g, F, x, y, a, b) {\n  ${statement};\n}\n`;

describe("awaitInCallArguments", () => {
  for (const statement of ["f(a, await b)", "f(await x)", "f(g(await x))", "f(1 + (await x))", "f([await x])", "y = new F(await x)", "f(`${await x}`)", "f((await x) + 1)", "[].push(await x)"]) {
    it(`finds ${statement}, which the floor refuses, and names its line`, () => {
      assert.equal(awaitInCallArguments(inFunction(statement)), statement + ";");
    });
  }
  for (const statement of ["if (await x) y()", "while (await x) break", "y = (await x)", "return (await x)", "y = typeof (await x)", "y = [1, await x]", "y = { a: await x }", "y = 1 + (await x)", "f(async function () { await x; })", "f(async () => await x)"]) {
    it(`accepts ${statement}, which the floor loads`, () => {
      assert.equal(awaitInCallArguments(inFunction(statement)), null);
    });
  }
});
