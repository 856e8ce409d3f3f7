/**
 * The one rule for everything the module hands to nginx: what may become a header or a variable.
 *
 * nginx copies a variable into a header byte for byte: a CR or LF splits the header (a second header,
 * or a second request on the upstream connection), QuickJS cuts a js_set value at NUL, and nginx
 * refuses other control characters in a header it sets (an error on every request of that session).
 * So nothing that came from a user — a subject, session data — reaches nginx as it is unless it is
 * known to be harmless. Two kinds of value, two treatments:
 *
 *   - Identity (subject, audience) is published exactly as it is, or not at all: an upstream reading
 *     X-User must see the very subject the session holds, never a repaired or cut one. A subject that
 *     is not "publishable text" is refused when a session is given it (setSubject, the login verdict),
 *     and a session minted elsewhere (lua-resty-session, an older njs-session) that holds one is "no
 *     session". Publishable text: 1 to MAX_IDENTITY_BYTES UTF-8 bytes of well-formed Unicode, with no
 *     control character (C0, DEL, C1), no line or paragraph separator (U+2028, U+2029), no U+FFFD, and
 *     no space at either end (header parsers strip it: " admin" would reach the upstream as "admin").
 *     U+FFFD is what decoding leaves where bytes were not UTF-8 (a payload minted elsewhere) and what
 *     the njs engine's JSON.parse makes of an unpaired surrogate escape (QuickJS keeps the surrogate):
 *     refusing it keeps "a\xffb" and "a\xfeb" from becoming one identity, the same under both engines.
 *   - Data values are published encoded, reversibly: printable ASCII other than "%" as it is, every
 *     other character as %XX of its UTF-8 bytes, a space at either end too (decodeURIComponent in any
 *     language gives the value back). Values that are not strings are published as their JSON text,
 *     encoded the same way.
 */

/** The longest subject or audience that is published, in UTF-8 bytes (OpenID Connect caps `sub` at 255). */
export const MAX_IDENTITY_BYTES = 1024;

/**
 * Any character an identity may not hold: C0 controls, DEL and C1 controls, U+2028/U+2029, U+FFFD,
 * and a surrogate that is not one half of a pair. Built on first use: under the njs engine the module's top
 * level runs on every request.
 */
let unpublishable: RegExp | null = null;

/**
 * Any of those characters, or any surrogate: most identities have none. One class searched over the
 * text costs QuickJS less than `unpublishable`'s three alternatives tried at every position, which
 * then run only for text this finds something in (a surrogate pair, or a character `unpublishable`
 * finds). A search, not `^[^...]*$`: the njs engine's `$` also matches before a final line feed, so
 * an anchored "none of these" passed "alice\n" there.
 */
let suspect: RegExp | null = null;

/** Why `text` cannot be published as a subject or an audience, or null when it can. */
export function identityProblem(text: string): string | null {
  if (text === "") return "is empty";
  if (!suspect) suspect = /[\x00-\x1f\x7f-\x9f\u2028\u2029\ufffd\ud800-\udfff]/;
  if (suspect.test(text)) {
    if (!unpublishable) {
      unpublishable = /[\x00-\x1f\x7f-\x9f\u2028\u2029\ufffd]|[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/;
    }
    if (unpublishable.test(text)) return "contains a control character, a line separator, U+FFFD or an unpaired surrogate";
  }
  if (text.charAt(0) === " " || text.charAt(text.length - 1) === " ") return "begins or ends with a space";
  // Four UTF-8 bytes per character at the most: only a long text needs counting.
  if (text.length * 4 > MAX_IDENTITY_BYTES && utf8Length(text) > MAX_IDENTITY_BYTES) {
    return "is longer than " + MAX_IDENTITY_BYTES + " bytes";
  }
  return null;
}

/** Throws a clear error for a subject or audience that cannot be published (see identityProblem). */
export function checkIdentity(what: "subject" | "audience", text: string): void {
  const problem = identityProblem(text);
  if (problem !== null) throw new Error("invalid " + what + ": it " + problem + " (docs/security.md: what the module publishes)");
}

/**
 * UTF-8 bytes of a string. QuickJS and Node index strings by UTF-16 unit, the njs engine by code point
 * (charCodeAt gives up to 0x10FFFF there): both are counted right.
 */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit > 0xffff) bytes += 4;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      // A pair (unpaired halves are refused before this is asked) is one four-byte character.
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Characters a data value keeps as they are: printable ASCII except "%". Built on first use. */
let needsEncoding: RegExp | null = null;

/** A data value as a header or variable carries it (see the header comment). */
export function publishedData(value: unknown): string {
  if (value === undefined || value === null) return "";
  let text: string | undefined;
  try {
    text = typeof value === "string" ? value : JSON.stringify(value);
  } catch (e) {
    // Nested past the engine's stack (QuickJS) or otherwise unwritable: published empty, not a 500.
    return "";
  }
  if (text === undefined) return "";
  if (!needsEncoding) needsEncoding = /[^\x20-\x24\x26-\x7e]|^ | $/;
  // Most values (ids, e-mail addresses, role names) need nothing: one test, no copy.
  if (!needsEncoding.test(text)) return text;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const edge = unit === 0x20 && (i === 0 || i === text.length - 1);
    if (unit >= 0x20 && unit <= 0x7e && unit !== 0x25 && !edge) {
      out += text.charAt(i);
      continue;
    }
    let codePoint = unit;
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        codePoint = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    // An unpaired surrogate has no UTF-8 form: it is published as U+FFFD, the one lossy case.
    if (codePoint >= 0xd800 && codePoint <= 0xdfff) codePoint = 0xfffd;
    out += percentUtf8(codePoint);
  }
  return out;
}

function percentUtf8(codePoint: number): string {
  if (codePoint < 0x80) return percent(codePoint);
  if (codePoint < 0x800) return percent(0xc0 | (codePoint >> 6)) + percent(0x80 | (codePoint & 0x3f));
  if (codePoint < 0x10000) {
    return percent(0xe0 | (codePoint >> 12)) + percent(0x80 | ((codePoint >> 6) & 0x3f)) + percent(0x80 | (codePoint & 0x3f));
  }
  return (
    percent(0xf0 | (codePoint >> 18)) +
    percent(0x80 | ((codePoint >> 12) & 0x3f)) +
    percent(0x80 | ((codePoint >> 6) & 0x3f)) +
    percent(0x80 | (codePoint & 0x3f))
  );
}

const HEX = "0123456789ABCDEF";

function percent(byte: number): string {
  return "%" + HEX.charAt(byte >> 4) + HEX.charAt(byte & 15);
}

/** Characters outside ASCII (DEL included). Built on first use. */
let nonAscii: RegExp | null = null;

/**
 * JSON text with every character past ASCII escaped as \uXXXX (JSON.stringify already escapes the C0
 * controls): the admin API's bodies are the same bytes whatever reads them, and carry no raw line
 * separator or unpaired surrogate.
 */
export function asciiJson(value: unknown): string {
  if (!nonAscii) nonAscii = /[^\x00-\x7e]/g;
  return JSON.stringify(value).replace(nonAscii, function (character) {
    const codePoint = character.charCodeAt(0);
    // The njs engine hands a character past U+FFFF as one code point; JSON writes it as a pair.
    if (codePoint > 0xffff) return jsonEscape(0xd800 + ((codePoint - 0x10000) >> 10)) + jsonEscape(0xdc00 + ((codePoint - 0x10000) & 0x3ff));
    return jsonEscape(codePoint);
  });
}

function jsonEscape(unit: number): string {
  return "\\u" + ("000" + unit.toString(16)).slice(-4);
}
