/// <reference path="../../node_modules/njs-types/ngx_stream_js_module.d.ts" />
/**
 * The store bridge: an ngx_stream_js_module module that lets the http side, which has ngx.fetch() but
 * no sockets, talk to Redis/Valkey and memcached. nginx/store-bridge.conf runs it as two stream servers:
 *
 *   http side ─ HTTP/1.1 (ngx.fetch, keepalive) ─▶ front ─▶ relay ─ RESP / meta protocol ─▶ store
 *
 *   front   js_filter `filter`: client → store, strips each HTTP request down to its body (the
 *           commands, already in the store's protocol) and sends it on; store → client, counts the
 *           replies (RESP values or meta replies, split across packets or not) and wraps exactly the
 *           request's replies in one HTTP response. Requests on a connection are answered strictly in
 *           order, each with its own replies: the store answers pipelined commands in order, and a
 *           request is only answered once all of its replies are there.
 *   relay   js_preread `relayPreread` reads the store's address from the first line the front sends
 *           and names it in $njs_session_store_target for `proxy_pass`; js_filter `relayFilter` drops
 *           that line. One store connection per front connection, for its whole life: keepalive on the
 *           http side is keepalive to the store.
 *
 * A body must hold exactly the commands its request announces, each answered by one reply (Redis: arrays
 * of bulk strings; memcached: the commands of metaCommandsEnd), or it is a 400. Anything that could
 * leave a reply unaccounted for (a store timeout, a malformed or too deeply nested reply, a reply by
 * which the store says it lost track of the commands, the store closing or refusing the connection, a
 * failed write to either side) answers the request with an error and "Connection: close", and the
 * connection serves nothing more: a late reply can never be read as the answer to another request.
 *
 * The connection prelude (AUTH, SELECT), sent first in every Redis request, goes to the store only
 * when this connection has not already run exactly that prelude successfully; its replies are
 * checked here and never returned.
 */

import { INCOMPLETE, MALFORMED } from "../storage/protocol/lines";
import { metaRepliesEnd, metaReplyEnd } from "../storage/protocol/memcached";
import { respValueEnd, respValuesEnd } from "../storage/protocol/resp";
import { checkedBody, commandsHeld } from "./commands";
import { BridgeRequest, isAllowedTarget, isTarget, lastHead, parseRequestHead, StoreProtocol } from "./request";

/** What this module uses of the stream session, beyond njs-types' declarations. */
interface BridgeSession {
  variables: { [name: string]: string | undefined };
  on(event: "upstream" | "downstream", callback: (data: Buffer, flags: { last: boolean }) => void): void;
  off(event: "upstream" | "downstream"): void;
  done(): void;
  deny(): void;
  send(data: Buffer | string, options?: { flush?: boolean; last?: boolean }): void;
  sendUpstream(data: Buffer | string, options?: { flush?: boolean; last?: boolean }): void;
  sendDownstream(data: Buffer | string, options?: { flush?: boolean; last?: boolean }): void;
  log(message: string): void;
  warn(message: string): void;
}

const TARGET_VARIABLE = "njs_session_store_target";
const ALLOW_VARIABLE = "njs_session_store_allow";

const REASONS: { [status: number]: string } = {
  200: "OK",
  400: "Bad Request",
  403: "Forbidden",
  421: "Misdirected Request",
  502: "Bad Gateway",
  504: "Gateway Timeout",
};

/** The usual answer's head up to its length, one constant: each string concatenation costs QuickJS an allocation. */
const OK_HEAD_START = "HTTP/1.1 200 OK\r\nContent-Length: ";
/** The largest 200 answer a connection keeps for the next one (respondOk): sessions are kilobytes. */
const KEPT_ANSWER_MAX = 64 * 1024;

const EMPTY = Buffer.alloc(0);
/** Shared send options: an object literal per send is an allocation per request. */
const FLUSH = { flush: true };
const LAST = { last: true };

/**
 * What is still to read, with the data that came. The filter's buffers are EMPTY or hold bytes, never
 * an empty view (data of no length is not appended; a view of what is left is made only when something
 * is): so EMPTY tells "nothing left" without asking a Buffer its length, a native call under QuickJS.
 */
function append(buffer: Buffer, data: Buffer): Buffer {
  return buffer === EMPTY ? data : Buffer.concat([buffer, data]);
}

function repliesEnd(protocol: StoreProtocol, bytes: Buffer, start: number, end: number, count: number): number {
  return protocol === "redis" ? respValuesEnd(bytes, start, end, count) : metaRepliesEnd(bytes, start, end, count);
}

/**
 * The reply at `start` (complete) when it says that the store lost track of the commands, or null:
 * Redis answers "-ERR Protocol error: ..." and closes; memcached answers ERROR or CLIENT_ERROR to a
 * line it did not read as the front did, and may read what follows differently. The replies after it
 * could then belong to no command or to the wrong one.
 */
function protocolError(protocol: StoreProtocol, bytes: Buffer, start: number, end: number): string | null {
  const first = bytes[start];
  if (protocol === "redis" ? first !== 0x2d : first !== 0x45 && first !== 0x43) return null;
  const line = bytes.subarray(start, Math.min(end, start + 200)).toString().split("\r\n")[0];
  if (protocol === "redis") return line.substring(0, 19) === "-ERR Protocol error" ? line.substring(1) : null;
  return line === "ERROR" || line.substring(0, 13) === "CLIENT_ERROR " ? line : null;
}

/** The first RESP error among `count` replies from `start` (they are complete), or null. */
function firstRespError(bytes: Buffer, start: number, count: number): string | null {
  let at = start;
  for (let i = 0; i < count; i++) {
    const end = respValuesEnd(bytes, at, bytes.length, 1);
    if (bytes[at] === 0x2d) return bytes.subarray(at + 1, end - 2).toString();
    at = end;
  }
  return null;
}

/** The line the front sends the relay first: which store to connect to ("-": none, hang up). */
const RELAY_PREFIX = "NJS-SESSION-STORE ";
const RELAY_CLOSE = "-";

/** The relay's first line, when complete: the target, or "" when it is not one; null when incomplete. */
function relayTarget(bytes: Buffer): { target: string; end: number } | null | "" {
  const lineEnd = bytes.indexOf("\r\n");
  if (lineEnd < 0) return bytes.length > 300 ? "" : null;
  const line = bytes.subarray(0, lineEnd).toString();
  if (line.substring(0, RELAY_PREFIX.length) !== RELAY_PREFIX) return "";
  const target = line.substring(RELAY_PREFIX.length);
  return isTarget(target) ? { target: target, end: lineEnd + 2 } : "";
}

/**
 * The relay's js_preread: names the store before its stream proxy connects. A second hop because
 * preread only peeks: had the front itself connected to the store, a store that refuses the connection
 * would have the front close with the request unread, a reset that ngx.fetch logs as an error on every
 * request. Behind the relay, the front sees the relay close, and answers 502 cleanly.
 */
function relayPreread(session: NginxStreamRequest): void {
  const s = session as unknown as BridgeSession;
  onFirstLine(s, function (found, head) {
    if (found === "" && head.toString().substring(0, RELAY_PREFIX.length + RELAY_CLOSE.length + 2) === RELAY_PREFIX + RELAY_CLOSE + "\r\n") {
      // The front answered an error before it needed a store.
      s.deny();
      return;
    }
    if (!found || !isAllowedTarget(found.target, s.variables[ALLOW_VARIABLE] || "")) {
      s.warn("[session-bridge] relay: not a request for an allowed store; closing");
      s.deny();
      return;
    }
    s.variables[TARGET_VARIABLE] = found.target;
    s.done();
  });
}

/** The relay's js_filter: drops the first line, then steps aside (no JavaScript per packet after it). */
function relayFilter(session: NginxStreamRequest): void {
  const s = session as unknown as BridgeSession;
  onFirstLine(s, function (found, head, flags) {
    try {
      s.send(found ? head.subarray(found.end) : EMPTY, flags);
    } catch (e) {
      // The store reset the connection: nginx reads its end and closes both sides, and the front,
      // seeing the relay close, answers 502. Thrown on, this would only add an error line to the log.
    }
  });
}

/** Gathers the client's bytes until the relay's first line is complete (or the client ends), then stops listening. */
function onFirstLine(
  s: BridgeSession,
  then: (found: { target: string; end: number } | "", head: Buffer, flags: { last: boolean }) => void,
): void {
  let head: Buffer = EMPTY;
  s.on("upstream", function (data, flags) {
    head = append(head, data);
    const found = relayTarget(head);
    if (found === null && !flags.last) return;
    s.off("upstream");
    then(found === null ? "" : found, head, flags);
  });
}

/** A request waiting for its replies, or an error to answer in its turn (after the requests before it). */
interface Pending {
  /** Prelude replies to check and drop before the request's own. */
  preludeReplies: number;
  preludeKey: string;
  replies: number;
  timeout: number;
  /** When the store must have answered it (Date.now() milliseconds); set once it is the oldest. */
  deadline: number;
  /** Set for an error answer queued behind earlier requests. */
  failure?: { status: number; reason: string };
}

/** What makes a store hang up: the connection then closes from its end, cleanly. */
const QUIT: { [protocol: string]: string } = { redis: "*1\r\n$4\r\nQUIT\r\n", memcached: "quit\r\n" };

/** js_filter: the translation both ways, for the connection's life. */
function filter(session: NginxStreamRequest): void {
  const s = session as unknown as BridgeSession;
  /** The store and protocol of the connection, from its first request. */
  let target = "";
  let protocol: StoreProtocol = "redis";
  let fromClient: Buffer = EMPTY;
  let fromStore: Buffer = EMPTY;
  const pending: Pending[] = [];
  /** The prelude this store connection ran successfully (its bytes, base64), or "". */
  let preparedPrelude = "";
  /** Set once the connection serves no more requests (an error, or direct mode's one request). */
  let closing = false;
  let closeAfterEach = false;
  /** One timer for the connection, armed while a request waits: see startTimer. */
  let timer: ReturnType<typeof setTimeout> | null = null;
  let timerAt = 0;
  const previousHead = lastHead();
  const previousBody = checkedBody();
  /** Set once a write to the store (the relay) or to the client failed: that side takes nothing more. */
  let storeGone = false;
  let clientGone = false;

  /**
   * s.sendUpstream and s.sendDownstream throw when nginx fails to write ("ngx_stream_js_next_filter()
   * failed": the store reset the connection, the client went away). Out of the filter, that exception
   * would end the session at once, the client's answer unsent. Here a failed write is a value.
   */
  function toStore(data: Buffer | string, options?: { flush?: boolean; last?: boolean }): boolean {
    if (storeGone) return false;
    try {
      s.sendUpstream(data, options);
      return true;
    } catch (e) {
      storeGone = true;
      return false;
    }
  }

  function toClient(data: Buffer | string, options?: { flush?: boolean; last?: boolean }): boolean {
    if (clientGone) return false;
    try {
      s.sendDownstream(data, options);
      return true;
    } catch (e) {
      clientGone = true;
      return false;
    }
  }

  function respond(status: number, body: Buffer | string, close: boolean): void {
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    const headStart = status === 200 ? OK_HEAD_START : "HTTP/1.1 " + status + " " + REASONS[status] + "\r\nContent-Length: ";
    const head = headStart + bytes.length + (close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n");
    // One write: each send is a trip through nginx's filter chain.
    if (!toClient(Buffer.concat([Buffer.from(head), bytes]), FLUSH)) hangUp();
  }

  /**
   * The last 200 answer, whole (head and replies), on a keepalive connection: the next one whose replies
   * are as long has the same head, so its replies are copied over the last ones in C: no string, no head
   * Buffer and no concatenation (each an allocation under QuickJS). Every session check's read answers
   * as many bytes. Reusing it is safe: a send copies what it is given into nginx's buffers.
   */
  let okAnswer: Buffer = EMPTY;
  let okHeadSize = 0;
  let okRepliesSize = -1;

  /** The 200 answer to a request whose replies are bytes[start, end). */
  function respondOk(bytes: Buffer, start: number, end: number): void {
    const size = end - start;
    if (size === okRepliesSize) {
      bytes.copy(okAnswer, okHeadSize, start, end);
    } else {
      const replies = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
      if (closeAfterEach || size > KEPT_ANSWER_MAX) return respond(200, replies, closeAfterEach);
      const head = Buffer.from(OK_HEAD_START + size + "\r\n\r\n");
      okHeadSize = head.length;
      okAnswer = Buffer.concat([head, replies]);
      okRepliesSize = size;
    }
    if (!toClient(okAnswer, FLUSH)) hangUp();
  }

  /**
   * Ends the connection after its last answer. A stream filter cannot close the client connection
   * itself; the store (or the relay, before it has one) can: asked to hang up, it closes, and nginx
   * then closes the client side once everything written has gone out. A store that is not reading
   * (stopped) hangs up when it reads again; ngx.fetch closes on "Connection: close" in any case.
   * A store connection that failed a write needs no asking: nginx reads its end, and closes.
   */
  function hangUp(): void {
    if (closing) return;
    closing = true;
    stopTimer();
    while (pending.length > 0) pending.shift();
    toStore(target ? QUIT[protocol] : RELAY_PREFIX + RELAY_CLOSE + "\r\n", { flush: true });
  }

  /** An error answer, the connection's last. */
  function answerFailure(status: number, reason: string): void {
    if (closing) return;
    respond(status, reason + "\n", true);
    hangUp();
  }

  /** The error answer to the request at hand, in its turn: after the answers of the requests before it. */
  function fail(status: number, reason: string): void {
    if (closing) return;
    if (pending.length === 0) return answerFailure(status, reason);
    pending.push({ preludeReplies: 0, preludeKey: "", replies: 0, timeout: 0, deadline: 0, failure: { status: status, reason: reason } });
  }

  /** The error answer to the oldest waiting request (the store failed it); nothing after it is answered. */
  function failWaiting(status: number, reason: string): void {
    while (pending.length > 0) pending.shift();
    answerFailure(status, reason);
  }

  /** Answers a queued error if it is next. */
  function answerQueuedFailure(): boolean {
    const next = pending[0];
    if (!next || !next.failure) return false;
    pending.shift();
    answerFailure(next.failure.status, next.failure.reason);
    return true;
  }

  function stopTimer(): void {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  }

  /**
   * The oldest waiting request's deadline starts now (the store answers in order: a request's time
   * begins once the one before it is answered). One timer per connection, not one per request: it is
   * armed when none is, and when it fires it fails the oldest request if that one's deadline has passed,
   * else sleeps again until that deadline. A timer set and cleared per request costs more than the
   * rest of forwarding the request.
   */
  function startTimer(): void {
    const oldest = pending[0];
    if (!oldest || oldest.failure) return;
    oldest.deadline = Date.now() + oldest.timeout;
    if (timer !== null && timerAt <= oldest.deadline) return;
    stopTimer();
    armTimer(oldest.timeout);
  }

  function armTimer(delay: number): void {
    timerAt = Date.now() + delay;
    timer = setTimeout(onTimer, delay);
  }

  function onTimer(): void {
    timer = null;
    const oldest = pending[0];
    if (closing || !oldest || oldest.failure) return;
    const left = oldest.deadline - Date.now();
    if (left > 0) return armTimer(left);
    failWaiting(504, "store did not answer within " + oldest.timeout + " ms");
  }

  /** The request whose body is bytes[start, end): checked there, in place (a view costs QuickJS a Buffer construction). */
  function accept(request: BridgeRequest, bytes: Buffer, start: number, end: number): void {
    let relayLine = "";
    if (!target) {
      if (!isAllowedTarget(request.target, s.variables[ALLOW_VARIABLE] || "")) {
        s.warn("[session-bridge] store " + request.target + " is not in $" + ALLOW_VARIABLE);
        return fail(403, "store " + request.target + " is not in $" + ALLOW_VARIABLE + " of the store bridge");
      }
      target = request.target;
      protocol = request.protocol;
      closeAfterEach = !request.absolute;
      relayLine = RELAY_PREFIX + target + "\r\n";
    }
    if (request.target !== target || request.protocol !== protocol) return fail(421, "this connection is bound to another store");
    if (!commandsHeld(previousBody, protocol, bytes, start, end, request.commands, request.prelude)) return fail(400, "the body is not " + request.commands + " commands");
    let sendStart = start;
    let preludeReplies = 0;
    const preludeKey = previousBody.preludeKey;
    if (request.prelude > 0) {
      if (preludeKey === preparedPrelude) sendStart = start + previousBody.preludeSize;
      else preludeReplies = request.prelude;
    }
    pending.push({
      preludeReplies: preludeReplies,
      preludeKey: preludeKey,
      replies: request.commands - request.prelude,
      timeout: request.timeout,
      deadline: 0,
    });
    if (pending.length === 1) startTimer();
    if ((relayLine && !toStore(relayLine)) || !toStore(bytes.subarray(sendStart, end), FLUSH)) failWaiting(502, "sending to the store failed");
  }

  function readRequests(): void {
    while (fromClient !== EMPTY && !closing) {
      // Direct mode: one request per connection.
      if (closeAfterEach && target) return fail(400, "one request per connection without js_fetch_proxy");
      const size = fromClient.length;
      const request = parseRequestHead(fromClient, size, previousHead);
      if (request === INCOMPLETE) return;
      if (typeof request === "number") {
        fromClient = EMPTY;
        return fail(400, "not a store bridge request");
      }
      const requestEnd = request.headEnd + request.bodySize;
      if (size < requestEnd) return;
      const bytes = fromClient;
      // A view costs QuickJS a Buffer construction: none for what is usually nothing left.
      fromClient = requestEnd === size ? EMPTY : fromClient.subarray(requestEnd);
      accept(request, bytes, request.headEnd, requestEnd);
    }
  }

  function readReplies(): void {
    while (fromStore !== EMPTY && pending.length > 0 && !closing) {
      const request = pending[0];
      // Calls are asked only where there is something to do: each costs QuickJS more than its test.
      if (request.failure) {
        answerQueuedFailure();
        return;
      }
      const size = fromStore.length;
      // No call for the usual none: a call costs QuickJS more than the work of a short reply.
      const preludeEnd = request.preludeReplies > 0 ? repliesEnd(protocol, fromStore, 0, size, request.preludeReplies) : 0;
      // Reply by reply: each one is looked at for a protocol error as it is found.
      let end = preludeEnd;
      for (let i = 0; i < request.replies && end >= 0; i++) {
        const replyStart = end;
        end = protocol === "redis" ? respValueEnd(fromStore, replyStart, size) : metaReplyEnd(fromStore, replyStart, size);
        // Only a reply led by what an error reply starts with is looked at (no call for the usual value).
        const first = fromStore[replyStart];
        if (end >= 0 && (first === 0x2d || first === 0x45 || first === 0x43)) {
          const error = protocolError(protocol, fromStore, replyStart, end);
          if (error !== null) return failWaiting(502, "the store reported a protocol error: " + error);
        }
      }
      if (end === INCOMPLETE) return;
      if (end === MALFORMED) return failWaiting(502, "malformed reply from the store");
      if (request.preludeReplies > 0) {
        const error = firstRespError(fromStore, 0, request.preludeReplies);
        if (error !== null) return failWaiting(502, "store refused the connection set-up: " + error);
        preparedPrelude = request.preludeKey;
      }
      const replies = fromStore;
      fromStore = end === size ? EMPTY : fromStore.subarray(end);
      pending.shift();
      if (pending.length > 0) startTimer();
      respondOk(replies, preludeEnd, end);
      if (closeAfterEach) hangUp();
    }
    // An error queued behind the requests just answered.
    if (!closing && pending.length > 0 && pending[0].failure) answerQueuedFailure();
  }

  /**
   * A bug of ours in the translation must still end like any other error: an answer and a closed
   * connection, not a filter that throws and leaves ngx.fetch waiting for a reply that never comes.
   * (The try is in each callback itself: a call around it costs QuickJS as much as a short reply.)
   */
  function unexpected(e: unknown): void {
    s.warn("[session-bridge] unexpected error: " + String(e));
    if (!closing) failWaiting(502, "store bridge error");
  }

  s.on("upstream", function (data, flags) {
    if (data.length > 0 && !closing) {
      fromClient = append(fromClient, data);
      try {
        readRequests();
      } catch (e) {
        unexpected(e);
      }
    }
    if (flags.last) {
      stopTimer();
      toStore("", LAST);
    }
  });

  s.on("downstream", function (data, flags) {
    if (data.length > 0 && !closing) {
      fromStore = append(fromStore, data);
      try {
        readReplies();
      } catch (e) {
        unexpected(e);
      }
    }
    if (flags.last) {
      if (pending.length > 0) failWaiting(502, "the store closed the connection");
      stopTimer();
      toClient("", LAST);
    }
  });
}

export default { filter: filter, relayPreread: relayPreread, relayFilter: relayFilter };
