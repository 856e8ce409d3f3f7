/**
 * The few members of njs's global `ngx` that src/platform/njs.ts reads when it loads (its log
 * levels), so that a unit test can run njs-side code on Node. Import it before anything that
 * imports src/platform/njs.ts.
 */

const holder = globalThis as unknown as { ngx?: unknown };
if (holder.ngx === undefined) holder.ngx = { INFO: 6, WARN: 5, ERR: 4 };
