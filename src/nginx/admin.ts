/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * admin (js_content): the session registry as JSON. GET ?subject=S[&audience=A] lists (with
 * &created=T, also whether the session created at T is listed and whether it is revoked: the CLI's
 * `inspect --url` asks, as revocation is not in the cookie); DELETE ?subject=S&id=I revokes one
 * session, DELETE ?subject=S revokes all of them. Protect the location
 * (allow/deny) and/or set nginx.admin_token. Bodies are ASCII-only JSON (publishable.ts).
 */

import { constantTimeEqual, utf8Encode } from "../core/bytes";
import { configError } from "../core/errors";
import { asciiJson } from "../core/publishable";
import type { RegistryEntry } from "../core/registry";
import { errorText } from "../core/session";
import { EntryEnvironment, headerValue } from "./entry-context";
import { matchesWhole } from "../core/whole-text";

export function createAdminHandler(env: EntryEnvironment) {
  const platform = env.platform;
  const library = env.library;
  const requestContext = env.requestContext;
  const reference = env.reference;
  const failClosed = env.failClosed;

  // -----------------------------------------------------------------------------------------------
  // The admin API: GET ?subject=S[&audience=A] lists; DELETE ?subject=S&id=I revokes one session,
  // DELETE ?subject=S revokes all of them. Protect the location (allow/deny) and/or set nginx.admin_token.

  function adminReply(r: NginxHTTPRequest, status: number, body: unknown): void {
    r.headersOut["Content-Type"] = "application/json";
    r.headersOut["Cache-Control"] = "no-store";
    // The subject is the caller's, the user agents are the clients': ASCII-only JSON (publishable.ts).
    r.return(status, asciiJson(body) + "\n");
  }

  function publicEntry(entry: RegistryEntry): { [name: string]: unknown } {
    const out: { [name: string]: unknown } = {
      id: String(entry.created),
      created: entry.created,
      last_seen: entry.lastSeen,
      expires: entry.expires,
      remember: entry.remember === true,
    };
    if (entry.userAgent !== undefined) out.user_agent = entry.userAgent;
    if (entry.ip !== undefined) out.ip = entry.ip;
    return out;
  }

  function queryArgument(r: NginxHTTPRequest, name: string): string | undefined {
    const value = (r.args as { [name: string]: unknown })[name];
    if (value === undefined || value === null) return undefined;
    const text = Array.isArray(value) ? String(value[0]) : String(value);
    return text === "" ? undefined : text;
  }

  function bearerMatches(r: NginxHTTPRequest, token: string): boolean {
    const header = headerValue(r.headersIn["Authorization"]);
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    return match !== null && constantTimeEqual(platform.sha256(utf8Encode(match[1])), platform.sha256(utf8Encode(token)));
  }

  async function admin(r: NginxHTTPRequest): Promise<void> {
    try {
      const context = requestContext(r);
      const settings = library.settings(context.options);
      const registry = settings.registry;
      if (!registry) {
        throw configError("the admin API needs the session registry: store_metadata with shm or redis storage, or registry_zone");
      }
      if (context.entry.admin_token && !bearerMatches(r, context.entry.admin_token)) {
        r.headersOut["WWW-Authenticate"] = 'Bearer realm="session admin"';
        return adminReply(r, 401, { error: "a valid bearer token is required" });
      }
      const subject = queryArgument(r, "subject");
      if (subject === undefined) return adminReply(r, 400, { error: "the subject query argument is required" });
      const audience = queryArgument(r, "audience") || settings.audience;
      const now = platform.now();
      if (r.method === "GET" || r.method === "HEAD") {
        const created = queryArgument(r, "created");
        if (created !== undefined && !matchesWhole(/^[0-9]{1,15}$/, created)) return adminReply(r, 400, { error: "created must be a session's creation time (unix seconds)" });
        const entries = await registry.list(audience, subject, now);
        const body: { [name: string]: unknown } = { audience: audience, subject: subject, sessions: entries.map(publicEntry) };
        if (created !== undefined) {
          const time = Number(created);
          const listed = entries.some(function (entry) {
            return entry.created === time || entry.rememberCreated === time;
          });
          body.session = { created: time, listed: listed, revoked: await registry.isRevoked(audience, subject, time, now) };
        }
        return adminReply(r, 200, body);
      }
      if (r.method !== "DELETE") {
        r.headersOut["Allow"] = "GET, HEAD, DELETE";
        return adminReply(r, 405, { error: "use GET to list and DELETE to revoke" });
      }
      const id = queryArgument(r, "id");
      let revoked: RegistryEntry[];
      if (id !== undefined) {
        if (!matchesWhole(/^[0-9]{1,15}$/, id)) return adminReply(r, 400, { error: "id must be a session id from the list" });
        revoked = await registry.revokeOne(audience, subject, Number(id), now);
        if (!revoked.length) return adminReply(r, 404, { error: "no such session" });
      } else {
        revoked = await registry.revokeAll(audience, subject, now);
      }
      // The revocation already holds (the registry is checked wherever a record is read); deleting the
      // records frees their memory at once. The store registry deleted them itself (and took them off
      // lua-resty-session's metadata, so that the peer's nodes refuse them too).
      const storage = registry.deletesRecords ? null : settings.storage;
      for (let i = 0; i < revoked.length; i++) {
        const entry = revoked[i];
        if (!storage || entry.name === undefined || entry.key === undefined) continue;
        try {
          await storage.delete(entry.name, entry.key, now);
        } catch (e) {
          platform.log("warn", "[session] admin: revoked, but unable to delete a session record (" + errorText(e) + ")");
        }
      }
      platform.log(
        "info",
        "[session] admin: revoked " + (id === undefined ? "all sessions (" + revoked.length + " listed)" : revoked.length + " session(s)") +
          " of subject " + registry.encodeSubject(subject) + " in audience " + registry.encodeAudience(audience) +
          " (request " + reference(r) + ")",
      );
      return adminReply(r, 200, { audience: audience, subject: subject, all: id === undefined, revoked: revoked.map(publicEntry) });
    } catch (e) {
      failClosed(r, e);
    }
  }

  return admin;
}
