/**
 * The store bridge's request format: the HTTP/1.1 request ngx.fetch() sends, read off the bytes.
 *
 *   POST http://<host>:<port>/<protocol>?n=<commands>&p=<prelude>&t=<timeout ms> HTTP/1.1
 *   Host: <host>:<port>
 *   Content-Length: <size>
 *
 *   <the commands, in the store's own protocol>
 *
 * The absolute form is what ngx.fetch() writes when `js_fetch_proxy` names the bridge ("proxy mode"):
 * the store's address is the URL's, so ngx.fetch's keepalive cache, keyed by that address, never hands
 * a connection bound to one store to a request for another. Without js_fetch_proxy (njs < 0.9.4) the
 * URL is the bridge's and the store's address travels in Host ("direct mode"); every connection then
 * serves one request.
 */

import { INCOMPLETE, MALFORMED } from "../storage/protocol/lines";

export type StoreProtocol = "redis" | "memcached";

export interface BridgeRequest {
  /** Where the head ends: the body starts here. */
  headEnd: number;
  bodySize: number;
  protocol: StoreProtocol;
  /** host:port of the store. */
  target: string;
  /** The request line named the store (proxy mode). */
  absolute: boolean;
  /** Commands in the body, and how many of them (first) are the connection prelude (AUTH, SELECT). */
  commands: number;
  prelude: number;
  /** How long the store may take to answer them all, in milliseconds. */
  timeout: number;
}

/** A head longer than this is not one of ours. */
export const MAX_HEAD = 8192;
/** The largest body (commands) accepted: sessions are kilobytes. */
export const MAX_BODY = 1024 * 1024;
const MAX_COMMANDS = 1000;
const MAX_TIMEOUT = 600000;

/** host:port with a literal IPv4 or [IPv6] address or a host name, and a port. */
const TARGET = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;

export function isTarget(text: string): boolean {
  const match = TARGET.exec(text);
  return match !== null && Number(match[2]) > 0 && Number(match[2]) < 65536;
}

/** A query argument's count: undefined when absent, null when present but not a count. */
function queryNumber(query: string, name: string): number | null | undefined {
  const parts = query.split("&");
  for (let i = 0; i < parts.length; i++) {
    if (parts[i].substring(0, name.length + 1) !== name + "=") continue;
    const text = parts[i].substring(name.length + 1);
    return /^[0-9]{1,9}$/.test(text) ? Number(text) : null;
  }
  return undefined;
}

interface NativeView {
  length: number;
  indexOf(text: string): number;
  toString(encoding: "utf8", start: number, end: number): string;
  /** Buffer.prototype.compare: 0 when this[sourceStart, sourceEnd) equals target[targetStart, targetEnd). */
  compare(target: NativeView, targetStart: number, targetEnd: number, sourceStart: number, sourceEnd: number): number;
  subarray(start: number, end: number): Uint8Array;
}
interface NativeBytes {
  from(bytes: Uint8Array): NativeView;
  isBuffer(value: unknown): boolean;
}
/** Buffer's own indexOf and toString (njs and Node): a byte loop costs QuickJS ~30 instructions a byte. */
const NATIVE = Buffer as unknown as NativeBytes;

/**
 * The first `length` bytes as a Buffer. The stream filter's data already is one (a view, no copy);
 * never Buffer.from(arrayBuffer, offset, length): QuickJS's Buffer.from tries a typed array first and
 * builds (and drops) a TypeError, stack trace included, for an ArrayBuffer: more than the rest of the
 * head's reading.
 */
function bufferView(bytes: Uint8Array, length: number): NativeView {
  const view = bytes.length === length ? bytes : bytes.subarray(0, length);
  return NATIVE.isBuffer(view) ? (view as unknown as NativeView) : NATIVE.from(view);
}

const REQUEST_LINE = /^POST (\S+) HTTP\/1\.1$/;
/** Header lines, each "name: value" (an RFC 9110 token, no CR or LF in the value), each followed by CRLF. */
const HEADER_LINES = /^(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n]*\r\n)*$/;
const HOST_HEADER = /\r\nhost:[ \t]*([^\r\n]*?)[ \t]*\r\n/i;
const CONTENT_LENGTH_HEADER = /\r\ncontent-length:[ \t]*([^\r\n]*?)[ \t]*\r\n/i;
const TRANSFER_ENCODING_HEADER = /\r\ntransfer-encoding:/i;
const USUAL_QUERY = /^n=([0-9]{1,9})&p=([0-9]{1,9})&t=([0-9]{1,9})$/;

/**
 * The last head a connection read, and what it said. ngx.fetch sends the same head, byte for byte, for
 * every request of one kind on a connection (same store, same command counts, same body size: every
 * session check's read); the same bytes say the same thing, so its checks are not run again.
 */
export interface LastHead {
  /** A copy of the head's bytes, its blank line included (request.headEnd of them). */
  bytes: NativeView | null;
  request: BridgeRequest | null;
}

export function lastHead(): LastHead {
  return { bytes: null, request: null };
}

/**
 * The head at the start of `bytes` (up to `end`, at most its length): a request, INCOMPLETE, or MALFORMED. Whole-head
 * regular expressions over the natively decoded text: QuickJS runs them in C, where splitting the head
 * into lines and looking at each cost 20 µs a request. With `last`, a head identical to the previous
 * one is answered from it, and a new well-formed head is remembered there. The request returned is
 * shared with later identical heads: read only.
 */
export function parseRequestHead(bytes: Uint8Array, end: number, last?: LastHead): BridgeRequest | number {
  // The same bytes as the last head, compared in C: they end with the blank line and hold no other,
  // so the head ends where the last one did. Neither searched nor decoded again. Compared on the
  // filter's Buffer itself (`end` is never past its length): no view, no length asked of it.
  if (last && last.request && end >= last.request.headEnd) {
    const size = last.request.headEnd;
    const source = NATIVE.isBuffer(bytes) ? (bytes as unknown as NativeView) : NATIVE.from(bytes);
    if (source.compare(last.bytes as NativeView, 0, size, 0, size) === 0) return last.request;
  }
  const view = bufferView(bytes, Math.min(end, bytes.length, MAX_HEAD));
  const blank = view.indexOf("\r\n\r\n");
  if (blank < 0) {
    // Not one of ours as soon as the request line is: no need to wait for the rest.
    const lineEnd = view.indexOf("\r\n");
    if (lineEnd >= 0 && !REQUEST_LINE.test(view.toString("utf8", 0, lineEnd))) return MALFORMED;
    return end >= MAX_HEAD ? MALFORMED : INCOMPLETE;
  }
  const headEnd = blank + 4;
  // The head is ASCII; anything else fails the checks below. `head` ends with the CRLF of its last line.
  const head = view.toString("utf8", 0, blank + 2);
  const request = readHead(head, headEnd);
  if (last && typeof request !== "number") {
    // A copy: the filter's data may be a view into nginx's buffers.
    last.bytes = NATIVE.from(view.subarray(0, headEnd));
    last.request = request;
  }
  return request;
}

/** The request a complete head (`head`: up to its last CRLF; the body starts at `headEnd`) makes. */
function readHead(head: string, headEnd: number): BridgeRequest | number {
  const lineEnd = head.indexOf("\r\n");
  const requestLine = REQUEST_LINE.exec(head.substring(0, lineEnd));
  if (!requestLine) return MALFORMED;
  const headers = head.substring(lineEnd + 2);
  const afterLine = head.substring(lineEnd);
  if (!HEADER_LINES.test(headers) || TRANSFER_ENCODING_HEADER.test(afterLine)) return MALFORMED;
  const hostHeader = HOST_HEADER.exec(afterLine);
  let host = hostHeader ? hostHeader[1] : "";
  const lengthHeader = CONTENT_LENGTH_HEADER.exec(afterLine);
  const bodySize = lengthHeader && /^[0-9]{1,8}$/.test(lengthHeader[1]) ? Number(lengthHeader[1]) : -1;
  let uri = requestLine[1];
  let absolute = false;
  if (uri.substring(0, 7) === "http://") {
    const slash = uri.indexOf("/", 7);
    if (slash < 0) return MALFORMED;
    host = uri.substring(7, slash);
    uri = uri.substring(slash);
    absolute = true;
  }
  // ngx.fetch leaves out the default port.
  const target = host.indexOf(":") < 0 || (host.charAt(0) === "[" && host.charAt(host.length - 1) === "]") ? host + ":80" : host;
  const question = uri.indexOf("?");
  const path = question < 0 ? uri : uri.substring(0, question);
  const query = question < 0 ? "" : uri.substring(question + 1);
  if (path !== "/redis" && path !== "/memcached") return MALFORMED;
  // The query as session.js writes it, in one match; any other order or spelling the long way.
  const usual = USUAL_QUERY.exec(query);
  const commands = usual ? Number(usual[1]) : queryNumber(query, "n");
  const preludeArgument = usual ? Number(usual[2]) : queryNumber(query, "p");
  const prelude = preludeArgument === undefined ? 0 : preludeArgument;
  const timeout = usual ? Number(usual[3]) : queryNumber(query, "t");
  if (!isTarget(target) || bodySize < 0 || bodySize > MAX_BODY) return MALFORMED;
  if (commands == null || prelude === null || commands < 1 || commands > MAX_COMMANDS || prelude >= commands) return MALFORMED;
  if (timeout == null || timeout < 1 || timeout > MAX_TIMEOUT) return MALFORMED;
  if (path === "/memcached" && prelude !== 0) return MALFORMED;
  return {
    headEnd: headEnd,
    bodySize: bodySize,
    protocol: path === "/redis" ? "redis" : "memcached",
    target: target,
    absolute: absolute,
    commands: commands,
    prelude: prelude,
    timeout: timeout,
  };
}

/**
 * Whether the operator's allow list ($njs_session_store_allow: space-separated entries) lets the
 * bridge connect to `target`. An entry is host:port, where host may be "*" or end in ".*" (an address
 * prefix, "10.0.*") and port may be "*"; "*" alone allows everything.
 */
export function isAllowedTarget(target: string, allowList: string): boolean {
  const colon = target.lastIndexOf(":");
  const host = target.substring(0, colon);
  const port = target.substring(colon + 1);
  const entries = allowList.split(/\s+/);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    if (entry === "") continue;
    if (entry === "*") return true;
    const split = entry.lastIndexOf(":");
    if (split <= 0) continue;
    const hostPattern = entry.substring(0, split);
    const portPattern = entry.substring(split + 1);
    if (portPattern !== "*" && portPattern !== port) continue;
    if (hostPattern === "*" || hostPattern === host) return true;
    // An address prefix matches addresses only: "10.0.*" must not let in "10.0.evil.example".
    if (hostPattern.length > 2 && hostPattern.substring(hostPattern.length - 2) === ".*" && /^[0-9.]+$/.test(host)) {
      const prefix = hostPattern.substring(0, hostPattern.length - 1);
      if (host.substring(0, prefix.length) === prefix) return true;
    }
  }
  return false;
}
