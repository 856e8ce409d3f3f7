/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The values an entry point's answer is built from: a Location header's path, a header's one value,
 * the request's reference. A file of their own, which the entry environment (entry-context.ts)
 * re-exports, so that the njs engine's login part (login-steps.ts) loads these three functions
 * without the entry environment's imports: those build the location settings' tables
 * (configuration.ts) at their top level, which that engine runs again on every login.
 */

/**
 * A path on this site, fit for a Location header: "/..." but not "//host" or "/\host", and printable
 * ASCII only (a URL's other characters travel percent-encoded). No "$" anchor: the njs engine's `$`
 * also matches before a final line feed, which let "/\n" through into a header (a 500).
 */
export function isLocalPath(value: string): boolean {
  if (value.charAt(0) !== "/") return false;
  const second = value.charAt(1);
  if (second === "/" || second === "\\") return false;
  return !/[^\x21-\x7e]/.test(value);
}

export function headerValue(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return Array.isArray(value) ? String(value[0]) : String(value);
}

/** A reference a user can quote and an operator can grep: the request id. */
export function requestReference(r: NginxHTTPRequest): string {
  const id = r.variables.request_id;
  return id ? String(id) : "-";
}
