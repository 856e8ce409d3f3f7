/// <reference path="../../node_modules/njs-types/ngx_http_js_module.d.ts" />
/**
 * The request side of CSRF protection (the token itself: src/core/csrf.ts). Used by the access check
 * of both modes when the location has `csrf` on, and by the logout handler:
 *
 *   - safe methods (GET, HEAD, OPTIONS, TRACE) pass untouched: nothing is computed for them;
 *   - with csrf_origin_check, a request the browser marks as foreign (Sec-Fetch-Site: cross-site, or
 *     an Origin that is not this Host) is refused before any token is looked at;
 *   - the token comes from the `csrf_header` request header, or, where the body may be read (js_access
 *     and js_content: r.readRequestForm(), njs 0.9.9+), from the `csrf_field` field of a form body.
 *     An auth_request subrequest has no body: header only there.
 *
 * A refusal is a 403 with a short body and one info line naming the reason and the request id, never
 * the token, the cookie or the Origin (all request data).
 */

import type { Settings } from "../core/settings";
import { CsrfBinding, csrfToken, foreignOrigin, verifyCsrfToken } from "../core/csrf";
import { guard, MaybePromise, then } from "../core/maybe";
import type { Platform } from "../core/platform";
import type { EntryOptions } from "./configuration";
import { headerValue } from "./entry-context";
import type { Publication } from "./publication";
import type { PublishedState } from "./state";

/** r.readRequestForm() of njs 0.9.9+, which the njs-types typings predate. */
interface RequestForm {
  get(name: string): unknown;
}
interface FormReadingRequest {
  readRequestForm?: (options: { maxKeys: number }) => MaybePromise<RequestForm>;
}

/**
 * Fields parsed at most: njs's default (128) would refuse a long but honest form. The token does not
 * need the rest, but readRequestForm() parses the whole body or nothing.
 */
const FORM_MAX_KEYS = 1024;

/**
 * The form body a content type names: "application/x-www-form-urlencoded", "multipart/form-data"
 * (the two readRequestForm() parses), or "" for any other body (JSON from fetch), which must carry the
 * header. The RegExp is built on first use: under the njs engine the module's top level runs on every
 * request.
 */
let formContentType: RegExp | null = null;

function formKind(contentType: string | undefined): string {
  if (contentType === undefined) return "";
  if (!formContentType) formContentType = /^\s*(application\/x-www-form-urlencoded|multipart\/form-data)\s*(?:;|$)/i;
  const match = formContentType.exec(contentType);
  return match ? match[1].toLowerCase() : "";
}

/** The first value of `name` in an urlencoded body; undefined when absent or not decodable. */
export function urlencodedField(body: string, name: string): string | undefined {
  const pairs = body.split("&");
  for (let i = 0; i < pairs.length; i++) {
    const equals = pairs[i].indexOf("=");
    const key = equals < 0 ? pairs[i] : pairs[i].substring(0, equals);
    try {
      if (decodeURIComponent(key.split("+").join(" ")) !== name) continue;
      return equals < 0 ? "" : decodeURIComponent(pairs[i].substring(equals + 1).split("+").join(" "));
    } catch (e) {
      return undefined;
    }
  }
  return undefined;
}

function headerText(r: NginxHTTPRequest, name: string): string | undefined {
  return headerValue(r.headersIn[name]);
}

/** What a published state binds a token to; null when it has no creation time (no session). */
export function stateBinding(state: PublishedState | null): CsrfBinding | null {
  if (!state || typeof state.c !== "number") return null;
  return { creationTime: state.c, audience: state.a, subject: state.s };
}

/** What the session a check is publishing binds a token to. */
export function publicationBinding(publication: Publication): CsrfBinding {
  return { creationTime: publication.creationTime, audience: publication.audience, subject: publication.subject };
}

export interface CsrfChecks {
  /**
   * Whether an unsafe request of this session may go on: true, or false once it has answered 403.
   * Never rejects: a body that cannot be read is a refusal, not a failure of the check.
   */
  check(r: NginxHTTPRequest, method: string, entry: EntryOptions, settings: Settings, binding: CsrfBinding, readForm: boolean): MaybePromise<boolean>;
  /** The session's token under the current key. */
  token(settings: Settings, binding: CsrfBinding): string;
}

export function createCsrfChecks(platform: Platform, reference: (r: NginxHTTPRequest) => string): CsrfChecks {
  function refuse(r: NginxHTTPRequest, method: string, reason: string): false {
    platform.log("info", "[session] csrf: refused " + method + ": " + reason + " (request " + reference(r) + ")");
    r.headersOut["Content-Type"] = "text/plain";
    r.return(403, "request refused: " + reason + "\n");
    return false;
  }

  function verify(r: NginxHTTPRequest, method: string, settings: Settings, binding: CsrfBinding, token: string): boolean {
    const keys = [settings.ikm].concat(settings.ikmFallbacks);
    return verifyCsrfToken(platform, keys, binding, token) || refuse(r, method, "invalid CSRF token");
  }

  function check(
    r: NginxHTTPRequest,
    method: string,
    entry: EntryOptions,
    settings: Settings,
    binding: CsrfBinding,
    readForm: boolean,
  ): MaybePromise<boolean> {
    if (entry.csrf_origin_check) {
      const foreign = foreignOrigin(headerText(r, "Sec-Fetch-Site"), headerText(r, "Origin"), headerText(r, "Host"));
      if (foreign !== null) return refuse(r, method, foreign);
    }
    // A header decides alone: a wrong one is not rescued by a form field.
    const fromHeader = headerText(r, entry.csrf_header);
    if (fromHeader !== undefined) return verify(r, method, settings, binding, fromHeader);
    const form = formKind(headerText(r, "Content-Type"));
    const reader = (r as unknown as FormReadingRequest).readRequestForm;
    if (readForm && typeof reader !== "function" && form === "application/x-www-form-urlencoded") {
      // njs < 0.9.9 has no readRequestForm(); js_content (the logout handler) still has the body read.
      const body = (r as unknown as { requestText?: unknown }).requestText;
      const value = typeof body === "string" ? urlencodedField(body, entry.csrf_field) : undefined;
      return value === undefined ? refuse(r, method, "missing CSRF token") : verify(r, method, settings, binding, value);
    }
    if (!readForm || typeof reader !== "function" || form === "") {
      return refuse(r, method, "missing CSRF token");
    }
    // A promise while the body is still to be read (js_access); the form itself, or a synchronous
    // throw, when it was read already (js_content reads it before the handler runs).
    return guard(
      function () {
        return then(reader.call(r, { maxKeys: FORM_MAX_KEYS }), function (form: RequestForm): boolean {
          const value = form.get(entry.csrf_field);
          if (typeof value !== "string") return refuse(r, method, "missing CSRF token");
          return verify(r, method, settings, binding, value);
        });
      },
      function (): boolean {
        // Malformed percent escapes, too many fields, a broken multipart body: nothing to trust.
        return refuse(r, method, "unreadable form body");
      },
    );
  }

  return {
    check: check,
    token: function (settings: Settings, binding: CsrfBinding): string {
      return csrfToken(platform, settings.ikm, binding);
    },
  };
}
