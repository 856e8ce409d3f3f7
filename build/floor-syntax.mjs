// What njs 0.8.9, the oldest njs we support, refuses to load although newer njs and esbuild accept it.
// The build checks its njs bundles with this, so that a bundle the floor would refuse fails at build
// time rather than only in the floor's test run.

import { parseSync, traverse } from "@babel/core";

/**
 * The first line holding an `await` inside a call's or a `new`'s arguments, or null. njs 0.8.9 (the
 * floor) refuses such a module at load ("await in arguments not supported"), however deep the await
 * sits in the argument, and only the floor's test run would say so: said here, at build time. An await
 * in a function passed as an argument, in a condition or in an array or object literal is accepted.
 */
export function awaitInCallArguments(code) {
  let line = null;
  traverse(parseSync(code, { babelrc: false, configFile: false, sourceType: "module" }), {
    AwaitExpression(path) {
      for (let child = path; child.parentPath && !child.isFunction() && line === null; child = child.parentPath) {
        const parent = child.parentPath;
        if ((parent.isCallExpression() || parent.isNewExpression()) && child.listKey === "arguments") line = code.split("\n")[path.node.loc.start.line - 1].trim();
      }
      if (line !== null) path.stop();
    },
  });
  return line;
}
