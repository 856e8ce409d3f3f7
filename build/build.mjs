#!/usr/bin/env node
// Builds the njs modules: esbuild bundles each entry into one ES module, then babel with
// babel-preset-njs lowers what the njs engine lacks (classes, destructuring, spread, ...).
// Output: dist/session.js (the product), dist/session-api.js (its resty.session surface for users'
// own handlers), dist/store-bridge.js (the stream module that lets it reach
// Redis/Valkey and memcached) and dist/test-harness.js (handlers used only by t/*.t); then the Node
// package (buildNodePackage below): dist/node/*.js and their declarations in dist/types/; then
// dist/cli.js, the njs-session command, a plain Node bundle (build/build-cli.mjs).
//
// dist/session.js is several bundles in one module: the eager part (src/nginx/index.ts) at the top
// level, and each lazy part (src/core/retained.ts, src/nginx/full.ts, warm.ts, login-part.ts) inside one function,
// njsSessionRetained(), njsSessionFull(shared), njsSessionWarm(shared), njsSessionLogin(shared), that the eager part calls
// on first need. Under the njs engine every
// request runs the module's top level again, and a function's inner declarations cost nothing until
// it is called (src/nginx/index.ts says more). Parts declared within another (`within`: cold.ts,
// touch.ts, publishing-part.ts and warm-stores.ts, inside the warm part's function; a part may be
// declared within one of those in turn) use the enclosing parts' declarations where they are the
// same code (withoutEnclosingDeclarations) instead of declaring them again.
import { build } from "esbuild";
import { parseSync, transformAsync } from "@babel/core";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCli, CLI_OUTPUT } from "./build-cli.mjs";
import { awaitInCallArguments } from "./floor-syntax.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const ENTRIES = [
  {
    entry: "src/nginx/index.ts",
    lazy: [
      // The shared modules (SHARED_MODULES) first: the other parts are handed their exports.
      { shared: "src/core/retained.ts", name: "njsSessionRetained" },
      { entry: "src/nginx/full.ts", name: "njsSessionFull" },
      // Within the warm stores' part: built only by a warm check that reads a redis or memcached record.
      { entry: "src/nginx/store-reads.ts", name: "njsSessionStoreReads", within: "njsSessionWarmStores" },
      // Within the warm part: built only by a warm check whose view names a store or a registry.
      { entry: "src/nginx/warm-stores.ts", name: "njsSessionWarmStores", within: "njsSessionWarm" },
      // Within the warm part too: built only for a cookie the verified cache does not hold.
      { entry: "src/nginx/cold.ts", name: "njsSessionCold", within: "njsSessionWarm" },
      // Likewise, beside it: built only for a verified cookie due for a touch.
      { entry: "src/nginx/touch.ts", name: "njsSessionTouch", within: "njsSessionWarm" },
      // Likewise: built only to publish a session with request_headers, response_headers or expose_data.
      { entry: "src/nginx/publishing-part.ts", name: "njsSessionPublishing", within: "njsSessionWarm" },
      { entry: "src/nginx/warm.ts", name: "njsSessionWarm" },
      // The njs engine's known answers, tried before the warm part: a part of their own, so that a
      // request answered from the zone loads neither the warm nor the full part.
      { entry: "src/nginx/answer-part.ts", name: "njsSessionAnswers" },
      // The njs engine's login: a part of its own, so that a login loads neither the warm nor the full part.
      { entry: "src/nginx/login-part.ts", name: "njsSessionLogin" },
    ],
    output: "dist/session.js",
  },
  // The resty.session surface for users' own handlers; its import of src/nginx/index.ts stays an
  // import of the built session.js (one instance of it), not a copy.
  { entry: "src/nginx/api-module.ts", output: "dist/session-api.js", imports: { "src/nginx/index.ts": "session.js" } },
  { entry: "test/nginx/harness.ts", output: "dist/test-harness.js" },
  { entry: "src/bridge/index.ts", output: "dist/store-bridge.js" },
];
// NJS_SESSION_BUILD_ONLY=PATH: build only the product, to PATH (profiling beside a running test suite).
if (process.env.NJS_SESSION_BUILD_ONLY) {
  ENTRIES.splice(1, ENTRIES.length - 1);
  ENTRIES[0].output = process.env.NJS_SESSION_BUILD_ONLY;
}

/** njs modules are ES modules with exactly one default export, written `export default name;`. */
function toSingleDefaultExport(code, entry) {
  const exportStatement = /\nexport\s*\{\s*([A-Za-z0-9_$]+)\s+as\s+default\s*\};?\s*$/;
  const match = code.match(exportStatement);
  if (!match) throw new Error(`${entry}: expected a single default export in the bundle`);
  const body = code.replace(exportStatement, "\n");
  if (/^\s*export\s/m.test(body)) throw new Error(`${entry}: the module must have no export but the default one`);
  return `${body}export default ${match[1]};\n`;
}

const BUILTIN_IMPORT = /^import [A-Za-z0-9_$]+ from "(?:crypto|zlib|fs|querystring|xml)";\n/gm;
const NJS_FLOOR = readFileSync(resolve(root, "src/nginx/floor.ts"), "utf8").match(/NJS_FLOOR = "([0-9.]+)"/)[1];

/**
 * The built-in module imports first, under a line naming the floor. An njs that lacks one of those
 * modules fails at compile time, before any JavaScript runs (`Cannot find module "zlib" in
 * session.js:N` on njs < 0.7.12, Debian 12's 0.7.9): with the imports on top, N points at that line
 * rather than somewhere in the middle of the bundle. (ES imports are hoisted anyway: moving them
 * changes nothing else.)
 */
function hoistBuiltinImports(code) {
  const imports = code.match(BUILTIN_IMPORT) || [];
  if (imports.length === 0) return code;
  const floor = `// njs-session needs njs >= ${NJS_FLOOR}. "Cannot find module" for an import below: an older njs.\n`;
  return floor + imports.join("") + code.replace(BUILTIN_IMPORT, "");
}

/**
 * Modules of which the lazy parts must share one instance: each is a lazy part of its own (its exports
 * as the function's result), and each other lazy bundle gets, instead of its own copy, those exports
 * handed to its function (njsSessionFull(shared), ...). (Other modules several parts use are pure and
 * simply compiled into each.) Each entry lists the module's exports, checked
 * against the file so that an export added there cannot be silently missing here.
 */
const SHARED_MODULES = { "src/core/retained.ts": ["retainedTable", "retainedGet", "retainedSet"] };
const LAZY_PARAMETER = "njsSessionShared";
/** The njs globals the code uses, which the eager part's top-level names must leave alone. */
const HOST_GLOBALS = ["ngx", "njs", "process", "crypto", "Buffer", "TextEncoder", "TextDecoder", "setTimeout", "clearTimeout"];

function sharedModulesPlugin() {
  return {
    name: "shared-modules",
    setup(esbuild) {
      esbuild.onLoad({ filter: /\.ts$/ }, async (args) => {
        const path = args.path.slice(root.length + 1);
        const names = SHARED_MODULES[path];
        if (!names) return undefined;
        const exported = [...readFileSync(args.path, "utf8").matchAll(/^export (?:function|const|let) ([A-Za-z0-9_$]+)/gm)].map((m) => m[1]);
        if (exported.join() !== names.join()) throw new Error(`${path} exports ${exported.join(", ")}; build/build.mjs SHARED_MODULES says ${names.join(", ")}`);
        const lines = names.map((name) => `export const ${name} = ${LAZY_PARAMETER}.${name};`);
        return { contents: `declare const ${LAZY_PARAMETER}: any;\n${lines.join("\n")}\n`, loader: "ts" };
      });
    },
  };
}

/**
 * The shared modules' bindings (`var retainedGet = njsSessionShared.retainedGet;`) that nothing in
 * the bundle uses, dropped: esbuild keeps a property read in case it has side effects, and each costs
 * every load of the part under the njs engine (the warm part imports retained.ts's file through files
 * whose use of it the warm path never reaches).
 */
function withoutUnusedSharedBindings(code) {
  // One `var` of them all (esbuild's minifySyntax joins consecutive declarations), or one each.
  const declarator = `[A-Za-z0-9_$]+ = ${LAZY_PARAMETER}\\.[A-Za-z0-9_$]+`;
  const statement = new RegExp(`^var (${declarator}(?:,\\s*${declarator})*);\n`, "gm");
  return code.replace(statement, (line, list) => {
    const used = list.split(/,\s*/).filter((item) => {
      const name = item.slice(0, item.indexOf(" "));
      const uses = code.match(new RegExp(`(?<![A-Za-z0-9_$.])${name.replace(/\$/g, "\\$")}(?![A-Za-z0-9_$])`, "g")) || [];
      return uses.length > 1;
    });
    return used.length ? `var ${used.join(", ")};\n` : "";
  });
}

/** The bundle of one entry, or of a shared module (its SHARED_MODULES exports as the default export). */
async function bundle(entry, plugins, shared) {
  const names = shared ? SHARED_MODULES[shared] : null;
  const source = names
    ? { stdin: { contents: `import { ${names.join(", ")} } from "./${shared}";\nexport default { ${names.map((n) => `${n}: ${n}`).join(", ")} };\n`, resolveDir: root, sourcefile: `${shared}.exports.ts`, loader: "ts" } }
    : { entryPoints: [resolve(root, entry)] };
  const bundled = await build({
    ...source,
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2017",
    // Built-in njs modules, resolved by nginx at load time.
    external: ["crypto", "zlib", "fs", "querystring", "xml"],
    legalComments: "none",
    charset: "utf8",
    // Chiefly for its inlining of constants: without it, every module-level constant a function reads
    // (format.ts's offsets and sizes, say) stays a binding of the bundle's scope, which QuickJS reads
    // through a closure variable, a line of the runtime's memory that under concurrency is not in the
    // cache (docs/NOTES.md, "where QuickJS's misses under concurrency go"). Names stay as written.
    minifySyntax: true,
    plugins: plugins,
  });
  return toSingleDefaultExport(withoutUnusedSharedBindings(bundled.outputFiles[0].text), entry || shared);
}

/** babel with babel-preset-njs; its helpers (for classes, spread, ...) land at the top of `code`. */
async function lower(code, sourceType) {
  const lowered = await transformAsync(code, {
    babelrc: false,
    configFile: false,
    sourceType: sourceType,
    // The lazy part is a function body: its last statement returns the module.
    parserOpts: { allowReturnOutsideFunction: sourceType === "script" },
    presets: [["babel-preset-njs"]],
    compact: false,
    comments: false,
  });
  return lowered.code;
}

/**
 * The lazy bundle as one function declaration, lowered on its own so that babel's helpers are inside
 * it too: its built-in imports go to the module's top level (imports cannot sit in a function), its
 * default export becomes the function's result.
 */
async function asLazyFunction(code, entry, name, eagerCode, importedAs) {
  // A built-in module imported under several names (esbuild gives each importing file its own): one
  // import at the top level, the other names aliases inside the function. Each import costs the njs
  // engine's every request a module lookup and copy (docs/NOTES.md, issue 14, branch njstax).
  const aliases = [];
  const imports = [];
  for (const line of code.match(BUILTIN_IMPORT) || []) {
    const [, local, module] = line.match(/^import ([A-Za-z0-9_$]+) from "([a-z]+)"/);
    const known = importedAs[module];
    if (known === undefined) {
      importedAs[module] = local;
      imports.push(line);
    } else if (known !== local) aliases.push(`var ${local} = ${known};\n`);
  }
  const match = code.match(/\nexport default ([A-Za-z0-9_$]+);\n$/);
  if (!match) throw new Error(`${entry}: expected a single default export in the bundle`);
  const body = await lower(code.slice(0, match.index).replace(BUILTIN_IMPORT, "") + `\nreturn ${match[1]};\n`, "script");
  // The lazy part's references to the host's globals must reach them, not a name of the eager part.
  const eagerNames = [...eagerCode.matchAll(/^(?:function|var|let|const|class) ([A-Za-z0-9_$]+)/gm)].map((m) => m[1]);
  const shadowed = eagerNames.filter((declared) => HOST_GLOBALS.includes(declared));
  if (shadowed.length) throw new Error(`${entry}: the eager part declares ${shadowed.join(", ")}, a global of the host`);
  // The hoisted imports' names join the eager part's top level: none may clash with its own.
  for (const line of imports) {
    const name = line.match(/^import ([A-Za-z0-9_$]+)/)[1];
    const declared = new RegExp(`(?:function|var|let|const|class|import)\\s+${name.replace(/\$/g, "\\$")}\\b`);
    if (declared.test(eagerCode) && !eagerCode.includes(line)) throw new Error(`${entry}: the built-in import ${name} clashes with a name of the eager part`);
  }
  return { imports: imports, declaration: `function ${name}(${LAZY_PARAMETER}) {\n${aliases.join("")}${body}\n}\n` };
}

/**
 * The top-level statements of a lazy part's function, as babel parses them: each with its source
 * text, the name it declares (a function, or a single variable) and the names it refers to.
 */
function partStatements(declaration) {
  const program = parseSync(declaration, { babelrc: false, configFile: false, sourceType: "script" }).program;
  const body = program.body[0].body.body;
  const topLevel = new Set();
  for (const node of body) {
    if (node.type === "FunctionDeclaration") topLevel.add(node.id.name);
    else if (node.type === "VariableDeclaration") for (const declarator of node.declarations) collectIdentifiers(declarator.id, topLevel);
  }
  const statements = [];
  for (const node of body) {
    let name = null;
    if (node.type === "FunctionDeclaration") name = node.id.name;
    else if (node.type === "VariableDeclaration" && node.declarations.length === 1 && node.declarations[0].id.type === "Identifier") name = node.declarations[0].id.name;
    const identifiers = [];
    collectRenamable(node, identifiers, null, null);
    const names = new Set(identifiers.map((identifier) => identifier.name));
    // A variable holds state unless it is a number, string or boolean no code assigns again.
    const init = node.type === "VariableDeclaration" && node.declarations.length === 1 ? node.declarations[0].init : null;
    const literal = init !== null && (init.type === "NumericLiteral" || init.type === "StringLiteral" || init.type === "BooleanLiteral");
    statements.push({ start: node.start, end: node.end, text: comparableText(declaration, node, topLevel), name: name, state: node.type === "VariableDeclaration" && !literal, names: names });
  }
  const assigned = new Set();
  collectAssigned(body, assigned);
  for (const statement of statements) if (statement.name && assigned.has(statement.name)) statement.state = true;
  return statements;
}

/** The names assigned (`=`, `+=`, `++`) anywhere under `node`. */
function collectAssigned(node, assigned) {
  if (Array.isArray(node)) {
    for (const item of node) collectAssigned(item, assigned);
    return;
  }
  if (!node || typeof node.type !== "string") return;
  const target = node.type === "AssignmentExpression" ? node.left : node.type === "UpdateExpression" ? node.argument : null;
  if (target && target.type === "Identifier") assigned.add(target.name);
  for (const key of Object.keys(node)) {
    if (key === "loc" || key === "extra" || key === "leadingComments" || key === "trailingComments") continue;
    const value = node[key];
    if (value && typeof value === "object") collectAssigned(value, assigned);
  }
}

/**
 * A declaration's text with the names bound inside it numbered in order of appearance: esbuild renames
 * a local (`bytes` → `bytes2`) where its bundle has a top-level name of that spelling, so the same
 * function of the same file reads differently in two parts. Names the part declares at its top level
 * stay as they are (a local of that name is left unnumbered, and then only the same text matches).
 */
function comparableText(source, node, topLevel) {
  const bound = new Set();
  collectBindings(node, bound, true);
  for (const name of topLevel) bound.delete(name);
  const identifiers = [];
  collectRenamable(node, identifiers, null, null);
  const numbers = new Map();
  let text = "";
  let at = node.start;
  for (const identifier of identifiers.sort((a, b) => a.start - b.start)) {
    if (!bound.has(identifier.name) || identifier.start < at) continue;
    if (!numbers.has(identifier.name)) numbers.set(identifier.name, "$" + numbers.size);
    text += source.slice(at, identifier.start) + numbers.get(identifier.name);
    at = identifier.end;
  }
  return text + source.slice(at, node.end);
}

/** The names a declaration binds inside itself: parameters, variables, inner functions, catch clauses. */
function collectBindings(node, bound, outermost) {
  if (Array.isArray(node)) {
    for (const item of node) collectBindings(item, bound, false);
    return;
  }
  if (!node || typeof node.type !== "string") return;
  const patterns = [];
  if (node.type === "VariableDeclarator" && !outermost) patterns.push(node.id);
  if (node.type === "FunctionDeclaration" || node.type === "FunctionExpression" || node.type === "ArrowFunctionExpression") {
    patterns.push(...node.params);
    if (node.id && !outermost) patterns.push(node.id);
  }
  if (node.type === "CatchClause" && node.param) patterns.push(node.param);
  for (const pattern of patterns) {
    const names = new Set();
    collectIdentifiers(pattern, names);
    for (const name of names) bound.add(name);
  }
  for (const key of Object.keys(node)) {
    if (key === "loc" || key === "extra" || key === "leadingComments" || key === "trailingComments") continue;
    const value = node[key];
    if (value && typeof value === "object") collectBindings(value, bound, false);
  }
}

/** The identifiers that name a binding (not a property name: `a.name`, `{ name: a }`). */
function collectRenamable(node, identifiers, parent, key) {
  if (Array.isArray(node)) {
    for (const item of node) collectRenamable(item, identifiers, parent, key);
    return;
  }
  if (!node || typeof node.type !== "string") return;
  if (node.type === "Identifier") {
    const propertyName =
      parent && !parent.computed && ((parent.type === "MemberExpression" && key === "property") || ((parent.type === "ObjectProperty" || parent.type === "ObjectMethod") && key === "key" && !parent.shorthand));
    if (!propertyName) identifiers.push(node);
    return;
  }
  for (const name of Object.keys(node)) {
    if (name === "loc" || name === "extra" || name === "leadingComments" || name === "trailingComments") continue;
    const value = node[name];
    if (value && typeof value === "object") collectRenamable(value, identifiers, node, name);
  }
}

/** Every identifier's name under `node` (property names too: more than it refers to, never fewer). */
function collectIdentifiers(node, names) {
  if (Array.isArray(node)) {
    for (const item of node) collectIdentifiers(item, names);
    return;
  }
  if (!node || typeof node.type !== "string") return;
  if (node.type === "Identifier") names.add(node.name);
  for (const key of Object.keys(node)) {
    if (key === "loc" || key === "start" || key === "end" || key === "extra" || key === "leadingComments" || key === "trailingComments") continue;
    const value = node[key];
    if (value && typeof value === "object") collectIdentifiers(value, names);
  }
}

/**
 * A part declared within another (`within`) without the declarations the enclosing parts already
 * make: its function is nested in theirs, so it sees them. Each bundle compiles the files it
 * imports on its own, and under the njs engine each function a part declares costs every load of the
 * part (docs/NOTES.md, issue 14, branch njswarm3): the cold part repeated ~50 of the warm part's.
 * `enclosing`: the enclosing parts' declarations, innermost first; a name the inner part refers to
 * reaches the innermost one's declaration of it. A declaration goes only when its text is that
 * declaration's, and so is every declaration of the inner part that it names (so that what remains
 * of the inner part and what it now reaches in the enclosing ones are the same code, with the same
 * bindings).
 */
function withoutEnclosingDeclarations(inner, enclosing) {
  const outer = new Map();
  const outerState = new Map();
  // Outermost first, so that an inner part's declaration of a name replaces an outer one's.
  for (const declaration of [...enclosing].reverse()) {
    for (const statement of partStatements(declaration)) {
      if (!statement.name) continue;
      (statement.state ? outerState : outer).set(statement.name, statement.text);
      (statement.state ? outer : outerState).delete(statement.name);
    }
  }
  const statements = partStatements(inner);
  const declared = new Set(statements.filter((statement) => statement.name).map((statement) => statement.name));
  let shared = statements.filter((statement) => statement.name && (statement.state ? outerState : outer).get(statement.name) === statement.text);
  for (;;) {
    const names = new Set(shared.map((statement) => statement.name));
    // A variable that holds state stays where any statement that stays uses it: the inner part's state
    // is not to be split between its own functions and the enclosing part's.
    const usedByKept = new Set();
    for (const statement of statements) if (!names.has(statement.name)) for (const name of statement.names) if (name !== statement.name) usedByKept.add(name);
    const kept = shared.filter(
      (statement) =>
        [...statement.names].every((name) => name === statement.name || !declared.has(name) || names.has(name)) &&
        !(statement.state && usedByKept.has(statement.name)),
    );
    if (kept.length === shared.length) break;
    shared = kept;
  }
  let text = inner;
  for (const statement of shared.sort((a, b) => b.start - a.start)) {
    const end = text[statement.end] === "\n" ? statement.end + 1 : statement.end;
    text = text.slice(0, statement.start) + text.slice(end);
  }
  return text;
}

/** Imports of the given source files (from the entry's directory) kept as imports of built modules. */
function builtModulesPlugin(imports) {
  return {
    name: "built-modules",
    setup(esbuild) {
      esbuild.onResolve({ filter: /^\./ }, (args) => {
        for (const [file, built] of Object.entries(imports)) {
          const target = resolve(args.resolveDir, args.path);
          if (target === resolve(root, file) || `${target}.ts` === resolve(root, file)) return { path: built, external: true };
        }
        return undefined;
      });
    },
  };
}

/**
 * A part is called by its function's name (`declare function njsSessionCold()` in the TypeScript), and
 * a check that calls one that no part declares only throws at run time, where the warm check's catch
 * turns it into "run the full check": the layout's mistake would cost every request, silently. Said
 * here instead.
 */
function refuseUndeclaredParts(code, entry) {
  const declared = new Set([...code.matchAll(/\bfunction (njsSession[A-Za-z0-9_$]*)\(/g)].map((m) => m[1]));
  for (const call of code.matchAll(/(?<!function )\b(njsSession[A-Za-z0-9_$]*)\(/g)) {
    if (!declared.has(call[1])) throw new Error(`${entry}: ${call[1]}() is called, and no lazy part of build/build.mjs is that function`);
  }
}

/**
 * The part `name` (its function's `declaration`) with the parts declared within it (`nested`, by
 * enclosing part) inside its function, each with the parts within it in turn, placed the same way
 * first, and without what this part or a part around it (`enclosing`, innermost first) declares
 * already.
 */
function withNestedParts(name, declaration, nested, enclosing) {
  const around = [declaration, ...enclosing];
  const inside = (nested[name] || []).map((part) => withoutEnclosingDeclarations(withNestedParts(part.name, part.declaration, nested, around), around));
  delete nested[name];
  return inside.length ? declaration.replace(/^(function [A-Za-z0-9_$]+\([A-Za-z0-9_$]*\) \{\n)/, `$1${inside.join("")}`) : declaration;
}

async function buildEntry({ entry, lazy, output, imports: builtImports }) {
  const code = await bundle(entry, builtImports ? [builtModulesPlugin(builtImports)] : []);
  let lowered = await lower(code, "module");
  const imports = code.match(BUILTIN_IMPORT) || [];
  const importedAs = {};
  for (const line of imports) {
    const [, local, module] = line.match(/^import ([A-Za-z0-9_$]+) from "([a-z]+)"/);
    importedAs[module] = local;
  }
  /** Parts declared within another part's function (`within`), by that part's name. */
  const nested = {};
  for (const part of lazy || []) {
    const source = part.shared ? await bundle(null, [], part.shared) : await bundle(part.entry, [sharedModulesPlugin()]);
    const lazyPart = await asLazyFunction(source, part.entry || part.shared, part.name, code, importedAs);
    for (const line of lazyPart.imports) {
      const name = line.match(/^import ([A-Za-z0-9_$]+)/)[1];
      const other = imports.find((known) => known !== line && known.match(/^import ([A-Za-z0-9_$]+)/)[1] === name);
      if (other) throw new Error(`${part.entry}: "${line.trim()}" clashes with "${other.trim()}" of another part`);
      if (!imports.includes(line)) {
        imports.push(line);
        lowered = line + lowered;
      }
    }
    if (part.within) {
      // Declared inside the other part's function: its load, not the module's top level, pays for the
      // declaration. No parameter of its own: it sees the enclosing part's shared modules.
      (nested[part.within] = nested[part.within] || []).push({ name: part.name, declaration: lazyPart.declaration.replace(`function ${part.name}(${LAZY_PARAMETER}) {`, `function ${part.name}() {`) });
      continue;
    }
    lowered = lowered + "\n" + withNestedParts(part.name, lazyPart.declaration, nested, []);
  }
  refuseUndeclaredParts(lowered, entry);
  const unplaced = Object.keys(nested);
  if (unplaced.length) throw new Error(`${entry}: parts declared within ${unplaced.join(", ")}, which is no later lazy part nor a part within one`);
  const refused = awaitInCallArguments(lowered);
  if (refused) throw new Error(`${output}: await in a call's arguments, which njs 0.8.9 refuses; await on a line of its own:\n${refused}`);
  const target = resolve(root, output);
  await mkdir(dirname(target), { recursive: true });
  // Written aside and renamed: an nginx starting meanwhile (a demo, a test run beside this build)
  // reads the old module or the new one, never half of one.
  const partial = `${target}.${process.pid}.partial`;
  await writeFile(partial, `// Generated by build/build.mjs from ${entry}${(lazy || []).map((part) => ", " + (part.entry || part.shared)).join("")}; do not edit.\n${hoistBuiltinImports(lowered)}\n`);
  await rename(partial, target);
  console.log(`built ${output} (${lowered.length} bytes)`);
}

for (const item of ENTRIES) await buildEntry(item);

/**
 * The Node package (src/node/): one ES module per entry point ("njs-session", "njs-session/express",
 * "njs-session/fastify"), the core bundled in, for Node (no babel: Node runs modern JavaScript). The
 * frameworks are only types to these modules, never bundled.
 */
const NODE_ENTRIES = ["index", "express", "fastify"];

async function buildNodePackage() {
  for (const name of NODE_ENTRIES) {
    const output = `dist/node/${name}.js`;
    await build({
      entryPoints: [resolve(root, `src/node/${name}.ts`)],
      bundle: true,
      outfile: resolve(root, output),
      format: "esm",
      platform: "node",
      target: "node20",
      external: ["express", "fastify"],
      legalComments: "none",
      charset: "utf8",
      banner: { js: `// Generated by build/build.mjs from src/node/${name}.ts; do not edit.` },
    });
    console.log(`built ${output}`);
  }
  rmSync(resolve(root, "dist/types"), { recursive: true, force: true });
  execFileSync(process.execPath, [resolve(root, "node_modules/typescript/bin/tsc"), "-p", resolve(root, "tsconfig.node.json")], { stdio: "inherit" });
  addDeclarationExtensions(resolve(root, "dist/types"));
  console.log("built dist/types/ (declarations)");
}

/**
 * Relative imports in the declarations with the file they mean (`"./sessions"` → `"./sessions.js"`,
 * `"../storage"` → `"../storage/index.js"`): the package is ESM, and a consumer type-checking with
 * Node's resolution ("module": "nodenext") resolves a relative import only with its extension.
 */
function addDeclarationExtensions(directory) {
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = resolve(directory, entry.name);
    if (entry.isDirectory()) {
      addDeclarationExtensions(path);
      continue;
    }
    if (!entry.name.endsWith(".d.ts")) continue;
    const text = readFileSync(path, "utf8").replace(/(from |import\()"(\.{1,2}\/[^"]*)"/g, (whole, keyword, specifier) => {
      const target = resolve(directory, specifier);
      if (existsSync(target + ".d.ts")) return `${keyword}"${specifier}.js"`;
      if (existsSync(resolve(target, "index.d.ts"))) return `${keyword}"${specifier}/index.js"`;
      throw new Error(`${path}: cannot tell which declaration file "${specifier}" means`);
    });
    writeFileSync(path, text);
  }
}

if (!process.env.NJS_SESSION_BUILD_ONLY) await buildNodePackage();

// The command-line tool, dist/cli.js (the package's bin): a Node bundle of its own (build/build-cli.mjs).
if (!process.env.NJS_SESSION_BUILD_ONLY) {
  await buildCli();
  console.log(`built ${CLI_OUTPUT}`);
}
