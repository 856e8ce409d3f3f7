/**
 * The fuzz cases of `npm run fuzz` (test/fuzz/run.ts sends them): hostile Cookie headers built from
 * real sessions, and hostile login verdicts. Pure and deterministic: case `n` of a run is a function of
 * the run's seed and `n` alone, so a finding is reproduced by its seed and case number (FUZZ_CASE).
 *
 * Cookie cases start from a valid session (a "seed": its cookies as a browser would send them) and
 *   - flip bits in one field of the decoded header (type, flags, session id, creation time, rolling
 *     offset, data size, tag, idling offset, MAC; offsets from src/core/format.ts) or in the payload,
 *     or set a field to an edge value (zero, all ones, ±1);
 *   - vary the chunks of a large session: one missing, an extra one, values swapped between names,
 *     a chunk twice (the tampered copy first or last);
 *   - tamper with a remember cookie, with or without the session cookie beside it;
 *   - break the text: invalid base64url characters, truncation, a length no base64 text has;
 *   - vary the names: case variants (refused: names are exact), whitespace around them (the same name),
 *     the session cookie twice, one Cookie header line per cookie;
 *   - grow the header: thousands of unrelated cookies, a header beyond nginx's buffers;
 *   - or replace everything with random text shaped like a session cookie.
 * Each case says whether the request still carries a session the server may accept (`intact`): the
 * seed's cookies, unchanged, under their exact names, or an unchanged remember cookie. A case that is
 * not intact and still opens a session is tampering accepted, the one thing the MAC must prevent.
 *
 * Verdict cases are the header a login backend answers with (X-Session-Login), carrying hostile values
 * in every member of {subject, data, remember, redirect}: CR, LF, CRLF + header, CRLF CRLF + request,
 * NUL, each C0 control, DEL, U+2028/2029, lone surrogates (as \uXXXX escapes), 8 KiB values, non-string
 * types, deep nesting, huge JSON, invalid JSON, and raw bytes nginx's upstream parser lets through.
 */

import {
  COOKIE_TYPE_SIZE,
  CREATION_TIME_OFFSET,
  CREATION_TIME_SIZE,
  DATA_SIZE_OFFSET,
  DATA_SIZE_SIZE,
  FLAGS_OFFSET,
  FLAGS_SIZE,
  HEADER_ENCODED_SIZE,
  HEADER_SIZE,
  IDLING_OFFSET_OFFSET,
  IDLING_OFFSET_SIZE,
  MAC_OFFSET,
  MAC_SIZE,
  ROLLING_OFFSET_OFFSET,
  ROLLING_OFFSET_SIZE,
  SID_OFFSET,
  SID_SIZE,
  TAG_OFFSET,
  TAG_SIZE,
} from "../../src/core/format";

// -------------------------------------------------------------------------------------------------
// Randomness: a small seeded generator (mulberry32), one stream per case.

export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A uniform 32-bit integer. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 1 ? 0 : this.next() % n;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
  chance(p: number): boolean {
    return this.next() / 4294967296 < p;
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.below(256);
    return out;
  }
}

/** The generator of case `index` of the run seeded `seed`: independent of every other case. */
export function caseRandom(seed: number, index: number): Random {
  const mixed = new Random((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  mixed.next();
  return new Random(mixed.next() ^ index);
}

// -------------------------------------------------------------------------------------------------
// Seeds and cookie cases

/** A valid session as the browser sends it back: name/value pairs, session chunks first. */
export interface Seed {
  /** What it was made for, e.g. "cookie/chunked"; shown in findings. */
  label: string;
  subject: string;
  /** The session cookie's chunks, in order: ["session", v1], ["session2", v2], ... */
  chunks: Array<[string, string]>;
  /** The remember cookie's chunks, when the session has one: ["remember", v1], ["remember2", v2], ... */
  remember?: Array<[string, string]>;
}

export interface CookieCase {
  /** The mutation family and detail, e.g. "flip:sid", "chunks:missing". */
  family: string;
  /** Cookie header lines to send (usually one; none: no Cookie header). Latin-1 text, byte for byte. */
  cookieLines: string[];
  /** The request still carries the seed's session (or its remember cookie) unchanged: it may open. */
  intact: boolean;
}

/** A header field: where it lies in the decoded header. */
interface Field {
  name: string;
  offset: number;
  size: number;
}

/** Every field of the lua-resty-session header, from the format table. */
export const HEADER_FIELDS: readonly Field[] = [
  { name: "type", offset: 0, size: COOKIE_TYPE_SIZE },
  { name: "flags", offset: FLAGS_OFFSET, size: FLAGS_SIZE },
  { name: "sid", offset: SID_OFFSET, size: SID_SIZE },
  { name: "creation-time", offset: CREATION_TIME_OFFSET, size: CREATION_TIME_SIZE },
  { name: "rolling-offset", offset: ROLLING_OFFSET_OFFSET, size: ROLLING_OFFSET_SIZE },
  { name: "data-size", offset: DATA_SIZE_OFFSET, size: DATA_SIZE_SIZE },
  { name: "tag", offset: TAG_OFFSET, size: TAG_SIZE },
  { name: "idling-offset", offset: IDLING_OFFSET_OFFSET, size: IDLING_OFFSET_SIZE },
  { name: "mac", offset: MAC_OFFSET, size: MAC_SIZE },
];

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Decoded bytes of base64url text, or null when it is not base64url (the strict reading). */
export function strictBase64Url(text: string): Buffer | null {
  if (text.length % 4 === 1 || !BASE64URL.test(text)) return null;
  return Buffer.from(text, "base64url");
}

/** The whole value of a session (or of its remember cookie): header + payload text, chunks joined. */
function joined(seed: Seed, chunks: Array<[string, string]> = seed.chunks): string {
  return chunks.map((chunk) => chunk[1]).join("");
}

/** Splits a value back into chunks of the same names and sizes (the last one takes what is left). */
function split(seed: Seed, value: string, chunks: Array<[string, string]> = seed.chunks): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let at = 0;
  for (let i = 0; i < chunks.length; i++) {
    const size = i === chunks.length - 1 ? value.length - at : chunks[i][1].length;
    out.push([chunks[i][0], value.substring(at, at + size)]);
    at += size;
  }
  return out;
}

function header(pairs: Array<[string, string]>): string {
  return pairs.map((pair) => pair[0] + "=" + pair[1]).join("; ");
}

/** The value with the decoded header changed by `change`, re-encoded canonically. */
function withHeaderBytes(value: string, change: (bytes: Buffer) => void): string {
  const bytes = Buffer.from(value.substring(0, HEADER_ENCODED_SIZE), "base64url");
  if (bytes.length !== HEADER_SIZE) throw new Error("seed header does not decode to " + HEADER_SIZE + " bytes");
  change(bytes);
  return bytes.toString("base64url") + value.substring(HEADER_ENCODED_SIZE);
}

/** Flips 1 to 3 distinct bits (two flips of one bit would leave the field as it was). */
function flipBits(random: Random, bytes: Buffer, offset: number, size: number): void {
  const flips = Math.min(1 + random.below(3), size * 8);
  const done = new Set<number>();
  while (done.size < flips) {
    const bit = random.below(size * 8);
    if (done.has(bit)) continue;
    done.add(bit);
    bytes[offset + (bit >> 3)] ^= 1 << (bit & 7);
  }
}

/** An edge value for a field: zero, all ones, or ±1 on its little-endian integer. */
function edgeValue(random: Random, bytes: Buffer, field: Field): string {
  const kind = random.pick(["zero", "ones", "plus1", "minus1"] as const);
  const slice = bytes.subarray(field.offset, field.offset + field.size);
  const before = Buffer.from(slice);
  if (kind === "zero") slice.fill(0);
  else if (kind === "ones") slice.fill(0xff);
  else {
    const step = kind === "plus1" ? 1 : -1;
    for (let i = 0; i < slice.length; i++) {
      const next = slice[i] + step;
      slice[i] = next & 0xff;
      if (next >= 0 && next <= 0xff) break;
    }
  }
  // A field that already held the edge value is unchanged: change it some other way.
  if (slice.equals(before)) slice[0] ^= 0x01;
  return kind;
}

/** Flips bits in the payload's decoded bytes (4-character groups, so the rest stays aligned). */
function flipPayload(random: Random, value: string): string {
  const payload = value.substring(HEADER_ENCODED_SIZE);
  const groups = Math.floor(payload.length / 4);
  if (groups === 0) return value;
  const group = random.below(groups);
  const bytes = Buffer.from(payload.substring(group * 4, group * 4 + 4), "base64url");
  flipBits(random, bytes, 0, bytes.length);
  return value.substring(0, HEADER_ENCODED_SIZE) + payload.substring(0, group * 4) + bytes.toString("base64url") + payload.substring(group * 4 + 4);
}

const B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** Characters no base64url text holds, some of which the standard alphabet or a cookie parser likes. */
const FOREIGN = ["+", "/", "=", "%", ".", "~", " ", "\t", "\"", ",", "\\", "\x7f", "\x80", "\xff", "\x01", "%3D", "==="];

function randomText(random: Random, length: number, alphabet: string = B64_CHARS): string {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[random.below(alphabet.length)];
  return out;
}

function caseVariant(random: Random, name: string): string {
  for (;;) {
    let out = "";
    for (const ch of name) out += random.chance(0.5) ? ch.toUpperCase() : ch.toLowerCase();
    if (out !== name) return out;
  }
}

/** The session pairs with the remember cookie after them, when there is one. */
function allPairs(seed: Seed, chunks: Array<[string, string]> = seed.chunks, remember = seed.remember): Array<[string, string]> {
  return remember ? [...chunks, ...remember] : [...chunks];
}

/** A session whose every MAC-covered or sealed byte may have changed: intact only via the remember cookie. */
function tampered(seed: Seed, family: string, value: string): CookieCase {
  const chunks = split(seed, value);
  const changed = value !== joined(seed);
  return { family, cookieLines: [header(allPairs(seed, chunks))], intact: !changed || seed.remember !== undefined };
}

type Mutator = (random: Random, seed: Seed) => CookieCase;

/** Each family with its weight (how often it is drawn). */
const COOKIE_FAMILIES: Array<[number, string, Mutator]> = [
  [40, "flip", (random, seed) => {
    const field = random.pick(HEADER_FIELDS);
    const value = withHeaderBytes(joined(seed), (bytes) => flipBits(random, bytes, field.offset, field.size));
    return tampered(seed, "flip:" + field.name, value);
  }],
  [10, "edge", (random, seed) => {
    const field = random.pick(HEADER_FIELDS);
    let kind = "";
    const value = withHeaderBytes(joined(seed), (bytes) => {
      kind = edgeValue(random, bytes, field);
    });
    return tampered(seed, "edge:" + field.name + ":" + kind, value);
  }],
  [12, "payload", (random, seed) => tampered(seed, "flip:payload", flipPayload(random, joined(seed)))],
  [8, "text", (random, seed) => {
    const value = joined(seed);
    const kind = random.pick(["foreign", "truncate", "length%4=1", "append", "swap-case", "delete-char"] as const);
    let out = value;
    const at = random.below(value.length);
    if (kind === "foreign") out = value.substring(0, at) + random.pick(FOREIGN) + value.substring(at + 1);
    else if (kind === "truncate") out = value.substring(0, random.below(value.length));
    else if (kind === "length%4=1") {
      // No base64 text is 4k+1 characters long.
      let length = value.length - ((value.length - 1) % 4);
      if (length === value.length) length -= 4;
      out = value.substring(0, length);
    }
    else if (kind === "append") out = value + randomText(random, 1 + random.below(8));
    else if (kind === "swap-case") out = value.substring(0, at) + swapCase(value[at]) + value.substring(at + 1);
    else out = value.substring(0, at) + value.substring(at + 1);
    // Text that still decodes to the very same bytes (e.g. unused trailing bits) is not tampering.
    const same = sameBytes(seed, out);
    const cookie = tampered(seed, "text:" + kind, out);
    if (same) cookie.intact = true;
    if (kind !== "foreign" && kind !== "swap-case") {
      // Length changes do not split at the seed's boundaries: send it as one session cookie.
      cookie.cookieLines = [header(allPairs(seed, [[seed.chunks[0][0], out]]))];
      cookie.intact = seed.remember !== undefined || (seed.chunks.length === 1 && same);
    }
    return cookie;
  }],
  [8, "chunks", (random, seed) => chunkVariant(random, seed)],
  [6, "remember", (random, seed) => rememberVariant(random, seed)],
  [6, "names", (random, seed) => nameVariant(random, seed)],
  [3, "big", (random, seed) => bigVariant(random, seed)],
  [5, "random", (random, seed) => randomCookie(random, seed)],
  [2, "control", (_random, seed) => ({ family: "control:intact", cookieLines: [header(allPairs(seed))], intact: true })],
];

function swapCase(ch: string): string {
  const up = ch.toUpperCase();
  return up !== ch ? up : ch.toLowerCase();
}

function sameBytes(seed: Seed, value: string): boolean {
  const original = strictBase64Url(joined(seed).substring(HEADER_ENCODED_SIZE));
  const head = strictBase64Url(value.substring(0, HEADER_ENCODED_SIZE));
  const rest = strictBase64Url(value.substring(HEADER_ENCODED_SIZE));
  const seedHead = strictBase64Url(joined(seed).substring(0, HEADER_ENCODED_SIZE));
  return !!(head && rest && original && seedHead && head.equals(seedHead) && rest.equals(original) && value.length === joined(seed).length);
}

function chunkVariant(random: Random, seed: Seed): CookieCase {
  const chunks = seed.chunks;
  const name = chunks[0][0];
  const kinds = chunks.length > 1 ? (["missing", "extra", "reordered", "swapped", "duplicate-first", "duplicate-last", "truncated-last"] as const) : (["extra", "duplicate-first", "duplicate-last"] as const);
  const kind = random.pick(kinds as readonly string[]);
  const remember = seed.remember;
  switch (kind) {
    case "missing": {
      const drop = random.below(chunks.length);
      return { family: "chunks:missing", cookieLines: [header(allPairs(seed, chunks.filter((_, i) => i !== drop)))], intact: !!remember };
    }
    case "extra": {
      // A chunk beyond the count the header announces: ignored, the session is still whole.
      const extra: [string, string] = [name + (chunks.length + 1), randomText(random, 50 + random.below(4000))];
      return { family: "chunks:extra", cookieLines: [header(allPairs(seed, [...chunks, extra]))], intact: true };
    }
    case "reordered": {
      // The same name=value pairs in another order: still the same session.
      const shuffled = [...chunks];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = random.below(i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
      }
      return { family: "chunks:reordered", cookieLines: [header(allPairs(seed, shuffled))], intact: true };
    }
    case "swapped": {
      // Values moved between names: the payload is reassembled in another order.
      const a = random.below(chunks.length);
      let b = random.below(chunks.length - 1);
      if (b >= a) b++;
      const moved = chunks.map((pair) => [pair[0], pair[1]] as [string, string]);
      [moved[a][1], moved[b][1]] = [moved[b][1], moved[a][1]];
      return { family: "chunks:swapped", cookieLines: [header(allPairs(seed, moved))], intact: !!remember };
    }
    case "truncated-last": {
      const last = chunks[chunks.length - 1];
      const cut: [string, string] = [last[0], last[1].substring(0, random.below(last[1].length))];
      return { family: "chunks:truncated-last", cookieLines: [header(allPairs(seed, [...chunks.slice(0, -1), cut]))], intact: !!remember };
    }
    default: {
      // One chunk twice, one copy tampered. The first copy is the one a cookie reader takes.
      const which = random.below(chunks.length);
      const bad: [string, string] = [chunks[which][0], flipText(random, chunks[which][1])];
      const pairs = kind === "duplicate-first" ? [bad, ...chunks] : [...chunks, bad];
      return { family: "chunks:" + kind, cookieLines: [header(allPairs(seed, pairs))], intact: true };
    }
  }
}

/** One character of base64url text replaced by another base64url character. */
function flipText(random: Random, text: string): string {
  if (text.length === 0) return "A";
  const at = random.below(text.length);
  let ch = random.pick(B64_CHARS.split(""));
  if (ch === text[at]) ch = ch === "A" ? "B" : "A";
  return text.substring(0, at) + ch + text.substring(at + 1);
}

function rememberVariant(random: Random, seed: Seed): CookieCase {
  if (!seed.remember) {
    // A remember cookie made from the session cookie (same format, other keys): must not open.
    return { family: "remember:from-session", cookieLines: [header([[ "remember", joined(seed) ]])], intact: false };
  }
  const remember = seed.remember;
  const value = joined(seed, remember);
  const kind = random.pick(["flip-alone", "flip-beside", "payload-alone", "alone", "session-as-remember", "remember-as-session"] as const);
  if (kind === "alone") return { family: "remember:alone", cookieLines: [header(remember)], intact: true };
  if (kind === "session-as-remember") {
    // The session cookie's chunks under the remember cookie's names (other keys): must not open.
    const renamed = seed.chunks.map((pair, i) => [remember[0][0] + (i ? String(i + 1) : ""), pair[1]] as [string, string]);
    return { family: "remember:session-value", cookieLines: [header(renamed)], intact: false };
  }
  if (kind === "remember-as-session") {
    const renamed = remember.map((pair, i) => [seed.chunks[0][0] + (i ? String(i + 1) : ""), pair[1]] as [string, string]);
    return { family: "remember:as-session", cookieLines: [header(renamed)], intact: false };
  }
  if (kind === "payload-alone") {
    return { family: "remember:flip:payload", cookieLines: [header(split(seed, flipPayload(random, value), remember))], intact: value.length === HEADER_ENCODED_SIZE };
  }
  const field = random.pick(HEADER_FIELDS);
  const bad = split(seed, withHeaderBytes(value, (bytes) => flipBits(random, bytes, field.offset, field.size)), remember);
  if (kind === "flip-alone") return { family: "remember:flip:" + field.name, cookieLines: [header(bad)], intact: false };
  // Beside an intact session cookie: the session opens from the session cookie.
  return { family: "remember:flip-beside:" + field.name, cookieLines: [header([...seed.chunks, ...bad])], intact: true };
}

function nameVariant(random: Random, seed: Seed): CookieCase {
  const kind = random.pick(["case", "case-beside-tampered", "spaces", "twice-tampered-first", "twice-tampered-last", "lines", "prefix-name", "quoted"] as const);
  const first = seed.chunks[0];
  switch (kind) {
    case "case": {
      // Cookie names are exact: "SESSION" is not "session" (nginx's $cookie_ matches either).
      const pairs = seed.chunks.map((pair) => [caseVariant(random, pair[0]), pair[1]] as [string, string]);
      return { family: "names:case", cookieLines: [header(pairs)], intact: false };
    }
    case "case-beside-tampered": {
      const bad = withHeaderBytes(joined(seed), (bytes) => flipBits(random, bytes, MAC_OFFSET, MAC_SIZE));
      const pairs: Array<[string, string]> = [...seed.chunks.map((pair) => [caseVariant(random, pair[0]), pair[1]] as [string, string]), ...split(seed, bad)];
      return { family: "names:case-beside-tampered", cookieLines: [header(pairs)], intact: false };
    }
    case "spaces":
      // Whitespace around names and values is not part of them: the same session.
      return { family: "names:spaces", cookieLines: [allPairs(seed).map((pair) => "  " + pair[0] + " = " + pair[1] + " ").join(";")], intact: true };
    case "twice-tampered-first":
    case "twice-tampered-last": {
      const bad = split(seed, withHeaderBytes(joined(seed), (bytes) => flipBits(random, bytes, random.pick(HEADER_FIELDS).offset, 1)));
      const pairs = kind === "twice-tampered-first" ? [...bad, ...allPairs(seed)] : [...allPairs(seed), ...bad];
      return { family: "names:" + kind, cookieLines: [header(pairs)], intact: true };
    }
    case "lines":
      // One Cookie header line per cookie (HTTP/2 style, sent over HTTP/1.1).
      return { family: "names:lines", cookieLines: allPairs(seed).map((pair) => pair[0] + "=" + pair[1]), intact: true };
    case "prefix-name":
      // The session cookie's name inside another cookie's name or value must not be taken for it.
      return {
        family: "names:prefix",
        cookieLines: [random.pick(["x", "__Host-", "my"]) + first[0] + "=" + first[1] + "; other=" + first[0] + "=" + first[1]],
        intact: false,
      };
    default:
      // A quoted value is not the value (values are taken verbatim).
      return { family: "names:quoted", cookieLines: [header(allPairs(seed, seed.chunks.map((pair) => [pair[0], "\"" + pair[1] + "\""] as [string, string])))], intact: !!seed.remember };
  }
}

function bigVariant(random: Random, seed: Seed): CookieCase {
  const kind = random.pick(["many-cookies", "oversized", "long-value"] as const);
  if (kind === "many-cookies") {
    const pairs: Array<[string, string]> = [];
    for (let i = 0, n = 200 + random.below(2000); i < n; i++) pairs.push(["c" + i, randomText(random, 1 + random.below(20))]);
    pairs.splice(random.below(pairs.length), 0, ...allPairs(seed));
    // Within nginx's 64k buffers (large_client_header_buffers) the session is there and may open.
    const line = header(pairs);
    return { family: "big:many-cookies", cookieLines: [line], intact: line.length < 60000 };
  }
  if (kind === "oversized") {
    // Beyond large_client_header_buffers: nginx answers 400 itself.
    return { family: "big:oversized", cookieLines: [header(allPairs(seed)) + "; pad=" + "x".repeat(70000 + random.below(100000))], intact: false };
  }
  return { family: "big:long-value", cookieLines: [header([[seed.chunks[0][0], joined(seed) + randomText(random, 10000 + random.below(30000))]])], intact: false };
}

function randomCookie(random: Random, seed: Seed): CookieCase {
  const name = seed.chunks[0][0];
  const kind = random.pick(["b64", "header-shaped", "bytes", "empty", "chunked-random"] as const);
  if (kind === "b64") return { family: "random:b64", cookieLines: [name + "=" + randomText(random, random.below(5000))], intact: false };
  if (kind === "empty") return { family: "random:empty", cookieLines: [random.pick([name + "=", name, name + "=;", ";;;" + name + "=="])], intact: false };
  if (kind === "bytes") {
    let text = "";
    for (let i = 0, n = random.below(400); i < n; i++) {
      // Any byte but the ones that end a header line (CR, LF) and NUL, which nginx refuses itself.
      let b = random.below(256);
      if (b === 0 || b === 10 || b === 13) b = 0x41;
      text += String.fromCharCode(b);
    }
    return { family: "random:bytes", cookieLines: [name + "=" + text], intact: false };
  }
  // A header that parses: the right type, flags the format knows, a random rest and payload.
  const bytes = random.bytes(HEADER_SIZE);
  bytes[0] = 1;
  bytes.writeUInt16LE(random.pick([0, 0x0001, 0x0010, 0x0100]), FLAGS_OFFSET);
  bytes.writeUIntLE(Math.floor(Date.now() / 1000) - random.below(100), CREATION_TIME_OFFSET, CREATION_TIME_SIZE);
  const payloadSize = random.below(kind === "chunked-random" ? 20000 : 300);
  bytes.writeUIntLE(payloadSize, DATA_SIZE_OFFSET, DATA_SIZE_SIZE);
  const value = bytes.toString("base64url") + randomText(random, payloadSize);
  if (kind === "header-shaped") return { family: "random:header-shaped", cookieLines: [name + "=" + value], intact: false };
  const pseudo: Seed = { label: "random", subject: "", chunks: [[name, value.substring(0, 4000)]] };
  for (let i = 4000, n = 2; i < value.length; i += 4000, n++) pseudo.chunks.push([name + n, value.substring(i, i + 4000)]);
  return { family: "random:chunked", cookieLines: [header(pseudo.chunks)], intact: false };
}

const COOKIE_WEIGHT = COOKIE_FAMILIES.reduce((sum, family) => sum + family[0], 0);

/** The cookie case drawn by `random` for `seed`. */
export function cookieCase(random: Random, seed: Seed): CookieCase {
  let draw = random.below(COOKIE_WEIGHT);
  for (const [weight, , mutate] of COOKIE_FAMILIES) {
    if (draw < weight) return mutate(random, seed);
    draw -= weight;
  }
  throw new Error("unreachable");
}

// -------------------------------------------------------------------------------------------------
// Verdicts

export interface VerdictCase {
  family: string;
  /** The X-Session-Login header line(s) without CRLF; Latin-1 text sent byte for byte. */
  lines: string[];
  /** The subject a session made from this verdict carries, when the verdict is valid JSON with one. */
  subject?: string;
}

/**
 * JSON in ASCII: every character beyond it (and DEL) as a \uXXXX escape, lone surrogates included,
 * so the header carries the hostile character only in its escaped form (raw bytes: "raw-bytes").
 */
function json(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (ch) => "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0"));
}

/** Hostile strings, each whole and inside a name. */
export const HOSTILE_VALUES: ReadonlyArray<[string, string]> = [
  ["CR", "\r"],
  ["LF", "\n"],
  ["CRLF+header", "\r\nX-Injected: 1"],
  ["CRLFCRLF+request", "\r\nContent-Length: 0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\nX-Injected: 1\r\n\r\n"],
  ["LF+header", "\nX-Injected: 1"],
  ["NUL", "\u0000"],
  ...Array.from({ length: 32 }, (_, i): [string, string] => ["C0-" + i.toString(16).padStart(2, "0"), String.fromCharCode(i)]),
  ["DEL", "\u007f"],
  ["U+2028", "\u2028"],
  ["U+2029", "\u2029"],
  ["U+0085", "\u0085"],
  ["lone-high", "\ud800"],
  ["lone-low", "\udc00"],
  ["reversed-pair", "\udc00\ud800"],
  ["pair", "\ud83d\ude00"],
  ["%0d%0a", "%0d%0aX-Injected:%201"],
  ["leading-space", " "],
  ["8KiB", "A".repeat(8192)],
  ["quote", "\"';<>"],
  ["backslash", "\\"],
  ["non-ascii", "J\u00f6rg \u4e2d"],
];

function hostileText(random: Random): [string, string] {
  const [name, value] = random.pick(HOSTILE_VALUES);
  const where = random.pick(["whole", "inside", "end"] as const);
  if (where === "whole") return [name, value];
  if (where === "inside") return [name + "@inside", "alice" + value + "bob"];
  return [name + "@end", "alice" + value];
}

function deep(depth: number, leaf: unknown, array: boolean): unknown {
  let out = leaf;
  for (let i = 0; i < depth; i++) out = array ? [out] : { a: out };
  return out;
}

function deepText(depth: number, array: boolean): string {
  return array ? "[".repeat(depth) + "1" + "]".repeat(depth) : "{\"a\":".repeat(depth) + "1" + "}".repeat(depth);
}

const NON_STRINGS: ReadonlyArray<[string, unknown]> = [
  ["number", 1], ["zero", 0], ["true", true], ["false", false], ["null", null], ["array", ["alice"]],
  ["object", { subject: "alice" }], ["empty-string", ""], ["float", 1e308], ["negative", -1],
];

type VerdictMaker = (random: Random) => VerdictCase;

function verdictLine(text: string): string[] {
  return ["X-Session-Login: " + text];
}

const VERDICT_FAMILIES: Array<[number, string, VerdictMaker]> = [
  [30, "subject", (random) => {
    const [name, subject] = hostileText(random);
    return { family: "subject:" + name, lines: verdictLine(json({ subject })), subject };
  }],
  [15, "data", (random) => {
    const [name, value] = hostileText(random);
    const key = random.pick(["name", "role", value]);
    return { family: "data:" + (key === value ? "key:" : "") + name, lines: verdictLine(json({ subject: "alice", data: { [key]: value } })), subject: "alice" };
  }],
  [8, "redirect", (random) => {
    const [name, value] = hostileText(random);
    const redirect = random.pick(["/", "//evil.example/", "/\\evil", "/ok?x=", "https://evil.example/"]) + value;
    return { family: "redirect:" + name, lines: verdictLine(json({ subject: "alice", redirect })), subject: "alice" };
  }],
  [8, "types", (random) => {
    const member = random.pick(["subject", "data", "remember", "redirect"] as const);
    const [name, value] = random.pick(NON_STRINGS);
    const verdict: { [key: string]: unknown } = { subject: "alice" };
    verdict[member] = value;
    const subject = typeof verdict.subject === "string" && verdict.subject !== "" ? verdict.subject : undefined;
    return { family: "types:" + member + ":" + name, lines: verdictLine(json(verdict)), subject };
  }],
  [6, "nesting", (random) => {
    const depth = random.pick([10, 100, 1000, 5000, 20000]);
    const array = random.chance(0.5);
    const where = random.pick(["data", "top", "subject"] as const);
    if (where === "top") return { family: "nesting:top:" + depth, lines: verdictLine(deepText(depth, array)) };
    if (where === "subject") return { family: "nesting:subject:" + depth, lines: verdictLine("{\"subject\":" + deepText(depth, array) + "}") };
    // Deep data within the cookie's room: the session is made, saved and published.
    const data = depth <= 1000 ? json({ subject: "alice", data: { name: deep(depth, "x", array) } }) : "{\"subject\":\"alice\",\"data\":{\"name\":" + deepText(depth, array) + "}}";
    return { family: "nesting:data:" + depth, lines: verdictLine(data), subject: "alice" };
  }],
  [5, "huge", (random) => {
    const kind = random.pick(["ignored-member", "many-keys", "big-subject", "big-data", "whitespace"] as const);
    const size = random.pick([8192, 30000, 100000]);
    if (kind === "ignored-member") return { family: "huge:ignored-member:" + size, lines: verdictLine(json({ subject: "alice", padding: "p".repeat(size) })), subject: "alice" };
    if (kind === "many-keys") {
      const data: { [key: string]: number } = {};
      for (let i = 0; i < size / 10; i++) data["k" + i] = i;
      return { family: "huge:many-keys:" + size, lines: verdictLine(json({ subject: "alice", data })), subject: "alice" };
    }
    if (kind === "big-subject") return { family: "huge:subject:" + size, lines: verdictLine(json({ subject: "s".repeat(size) })), subject: "s".repeat(size) };
    if (kind === "whitespace") return { family: "huge:whitespace:" + size, lines: verdictLine(" ".repeat(size) + json({ subject: "alice" })), subject: "alice" };
    // Random, so that deflate cannot shrink it below nine cookies.
    return { family: "huge:data:" + size, lines: verdictLine(json({ subject: "alice", data: { name: randomText(random, size) } })), subject: "alice" };
  }],
  [8, "invalid", (random) => {
    const text = random.pick([
      "", "{", "}", "null", "[]", "\"alice\"", "{\"subject\":}", "{\"subject\":\"alice\"", "{\"subject\":\"a\\x41\"}",
      "{\"subject\":\"a\\u12\"}", "{\"subject\":\"alice\",}", "{'subject':'alice'}", "{\"subject\":\"alice\"}garbage",
      "{\"subject\":\"alice\",\"subject\":\"admin\"}", "{\"__proto__\":{\"subject\":\"admin\"}}",
      "{\"subject\":\"alice\",\"data\":{\"__proto__\":{\"x\":1}}}", "{\"subject\":\"alice\",\"constructor\":{\"prototype\":{\"x\":1}}}",
    ]);
    const duplicate = text === "{\"subject\":\"alice\",\"subject\":\"admin\"}" ? "admin" : undefined;
    const valid = text === "{\"subject\":\"alice\",\"data\":{\"__proto__\":{\"x\":1}}}" || text === "{\"subject\":\"alice\",\"constructor\":{\"prototype\":{\"x\":1}}}" ? "alice" : duplicate;
    return { family: "invalid:" + (text.length > 20 ? text.substring(0, 20) : text || "empty"), lines: verdictLine(text), subject: valid };
  }],
  [10, "raw-bytes", (random) => {
    // Bytes nginx's upstream parser passes into a header value (not CR, LF, NUL), unescaped in JSON.
    const byte = random.pick([0x01, 0x08, 0x09, 0x0b, 0x0c, 0x1b, 0x1f, 0x7f, 0x80, 0xc0, 0xff]);
    const kind = random.pick(["byte", "u2028-utf8", "surrogate-utf8", "overlong-utf8"] as const);
    const raw = kind === "byte" ? String.fromCharCode(byte) : kind === "u2028-utf8" ? "\xe2\x80\xa8" : kind === "surrogate-utf8" ? "\xed\xa0\x80" : "\xc0\xaf";
    const family = "raw:" + (kind === "byte" ? byte.toString(16).padStart(2, "0") : kind);
    // JSON refuses raw C0 controls in strings. Other bytes are text: UTF-8, ill-formed sequences read
    // as U+FFFD each (WHATWG decoding, as Node's): the subject the session then holds.
    const subject = kind === "byte" && byte < 0x20 ? undefined : Buffer.from("alice" + raw, "latin1" as unknown as BufferEncoding).toString("utf8");
    return { family, lines: verdictLine("{\"subject\":\"alice" + raw + "\"}"), subject };
  }],
  [5, "repeated", (random) => {
    const [name, subject] = hostileText(random);
    // Two verdict lines: the first one counts (handlers.ts headerValue).
    return { family: "repeated:" + name, lines: [...verdictLine(json({ subject: "alice" })), ...verdictLine(json({ subject }))], subject: "alice" };
  }],
  [5, "good", (random) => ({ family: "good", lines: verdictLine(json({ subject: "user" + random.below(1000), remember: random.chance(0.5), data: { name: "N" } })), subject: undefined })],
];

const VERDICT_WEIGHT = VERDICT_FAMILIES.reduce((sum, family) => sum + family[0], 0);

export function verdictCase(random: Random): VerdictCase {
  let draw = random.below(VERDICT_WEIGHT);
  for (const [weight, , make] of VERDICT_FAMILIES) {
    if (draw < weight) {
      const made = make(random);
      // "good" verdicts carry their subject in the JSON; read it back rather than repeat it.
      if (made.family === "good") made.subject = JSON.parse(made.lines[0].substring("X-Session-Login: ".length)).subject;
      return made;
    }
    draw -= weight;
  }
  throw new Error("unreachable");
}
