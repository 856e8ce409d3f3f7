/**
 * The store transport on Node (Platform.storeExchange): what the store bridge (src/bridge) is to nginx,
 * over node:net. redis storage (with its Sentinel and Cluster routers) and memcached storage run on Node
 * unchanged above it, so key layout, values, metadata and routing stay one implementation, shared with
 * nginx; this file only moves bytes. Replies are framed by the same protocol scanners as the bridge's.
 *
 * Connections are kept per server, TLS settings and prelude (AUTH, SELECT), at most IDLE_PER_TARGET idle
 * each, and do not keep the process alive. Unlike the bridge, it makes its connections itself, so it
 * takes the storages' TLS and unix socket options (STORE_CONNECTION_OPTIONS): a failed TLS handshake,
 * a certificate that does not verify, is a connection that failed, as an unreachable server is. A
 * request runs on a connection of its own until its replies are all in: a connection that timed out, failed, or sent more than was asked for is closed, never reused, so
 * a late reply is never read as the answer to another request (the bridge's rule too).
 */

import { connect, isIP, Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import type { Platform, StoreConnectionOption, StoreRequest, StoreTls } from "../core/platform";
import { INCOMPLETE } from "../storage/protocol/lines";
import { metaRepliesEnd } from "../storage/protocol/memcached";
import { isRespError, parseReplies, respCommandsEnd, respValuesEnd } from "../storage/protocol/resp";

const IDLE_PER_TARGET = 8;

/** The connection options this transport honours (the platform declares them: Platform.storeConnectionOptions). */
export const STORE_CONNECTION_OPTIONS: ReadonlyArray<StoreConnectionOption> = ["ssl", "ssl_verify", "server_name", "ssl_trusted_certificate", "socket"];

type Target = { path: string } | { host: string; port: number };

/** "host:port", "[v6]:port", or "unix:/path". */
function parseTarget(target: string): Target {
  if (target.substring(0, 5) === "unix:") return { path: target.substring(5) };
  const colon = target.lastIndexOf(":");
  const host = target.substring(0, colon);
  return { host: host.charAt(0) === "[" ? host.substring(1, host.length - 1) : host, port: Number(target.substring(colon + 1)) };
}

/**
 * What of the TLS settings a pooled connection was made with: a connection made without verification,
 * or for another name or CA, must never serve a request that asks for them. A storage hands the same
 * settings object with each request, so this is worked out once per storage.
 */
const tlsKeys = new WeakMap<StoreTls, string>();
function tlsKey(tls: StoreTls | undefined): string {
  if (!tls) return "plain";
  let key = tlsKeys.get(tls);
  if (key === undefined) {
    key = "tls " + JSON.stringify([tls.verify, tls.serverName || "", tls.trustedCertificates || ""]);
    tlsKeys.set(tls, key);
  }
  return key;
}

/** Where `count` replies end in `bytes`, INCOMPLETE, or MALFORMED, in the request's protocol. */
function repliesEnd(protocol: StoreRequest["protocol"], bytes: Uint8Array, count: number): number {
  return protocol === "redis" ? respValuesEnd(bytes, 0, bytes.length, count) : metaRepliesEnd(bytes, 0, bytes.length, count);
}

export interface NodeStoreTransport {
  exchange(request: StoreRequest): Promise<Uint8Array>;
  /** Closes the idle connections (tests, a graceful shutdown). */
  close(): void;
}

/** Platform.storeExchange over this transport: its replies read, its failures handed to the reader's `failed`. */
export function storeExchangeOf(transport: NodeStoreTransport): NonNullable<Platform["storeExchange"]> {
  return function (request, reader, asking) {
    return transport.exchange(request).then(
      function (replies) {
        return reader.read(replies, asking);
      },
      function (e) {
        return reader.failed(e, asking);
      },
    );
  };
}

export function createNodeStoreTransport(): NodeStoreTransport {
  const idle = new Map<string, Socket[]>();

  function takeIdle(key: string): Socket | undefined {
    const sockets = idle.get(key);
    while (sockets && sockets.length) {
      const socket = sockets.pop() as Socket;
      if (!socket.destroyed) return socket;
    }
    return undefined;
  }

  function release(key: string, socket: Socket): void {
    const sockets = idle.get(key) || [];
    if (sockets.length >= IDLE_PER_TARGET) {
      socket.destroy();
      return;
    }
    socket.unref();
    sockets.push(socket);
    idle.set(key, sockets);
  }

  function exchange(request: StoreRequest): Promise<Uint8Array> {
    const payload = Buffer.from(request.payload, "utf8");
    // The prelude goes only on a new connection: the bytes after it otherwise.
    const preludeEnd = request.prelude > 0 ? respCommandsEnd(payload, 0, payload.length, request.prelude) : 0;
    if (preludeEnd < 0) return Promise.reject(new Error("malformed prelude"));
    const key = request.protocol + " " + request.target + " " + tlsKey(request.tls) + " " + payload.subarray(0, preludeEnd).toString("base64");
    return attempt(request, payload, preludeEnd, key, true);
  }

  /**
   * One try on one connection. An idle connection the store closed meanwhile (its idle timeout) fails
   * before any reply: that try is made again once, on a new connection; nothing else is retried.
   */
  function attempt(request: StoreRequest, payload: Buffer, preludeEnd: number, key: string, mayReuse: boolean): Promise<Uint8Array> {
    const reused = mayReuse ? takeIdle(key) : undefined;
    const socket = reused || newSocket(request.target, request.tls);
    const withPrelude = !reused && request.prelude > 0;
    const expected = withPrelude ? request.commands : request.commands - request.prelude;

    return new Promise<Uint8Array>(function (resolve, reject) {
      let received: Buffer = Buffer.alloc(0);
      let settled = false;
      const timer = setTimeout(function () {
        fail("timed out after " + request.timeout + " ms");
      }, request.timeout);

      function finish(): void {
        settled = true;
        clearTimeout(timer);
        socket.off("data", onData);
        socket.off("error", onError);
        socket.off("close", onClose);
      }
      function fail(reason: string): void {
        if (settled) return;
        finish();
        socket.destroy();
        reject(new Error(reason));
      }
      function lost(reason: string): void {
        if (settled) return;
        if (reused && received.length === 0) {
          finish();
          socket.destroy();
          resolve(attempt(request, payload, preludeEnd, key, false));
          return;
        }
        fail(reason);
      }
      function onError(e: Error): void {
        lost((e as { code?: string }).code || e.message);
      }
      function onClose(): void {
        lost("connection closed");
      }
      function onData(chunk: Buffer): void {
        received = received.length ? Buffer.concat([received, chunk]) : chunk;
        const end = repliesEnd(request.protocol, received, expected);
        if (end === INCOMPLETE) return;
        if (end < 0) return fail("malformed reply");
        if (end !== received.length) return fail("more replies than commands");
        let replies: Uint8Array = received;
        if (withPrelude) {
          const setUpEnd = respValuesEnd(received, 0, received.length, request.prelude);
          const setUp = parseReplies(received.subarray(0, setUpEnd), request.prelude);
          for (let i = 0; i < setUp.length; i++) {
            const reply = setUp[i];
            // The store's own words (WRONGPASS, ...) name no secret.
            if (isRespError(reply)) return fail("connection set-up refused: " + reply.error);
          }
          replies = received.subarray(setUpEnd);
        }
        finish();
        release(key, socket);
        resolve(new Uint8Array(replies));
      }

      socket.on("data", onData);
      socket.on("error", onError);
      socket.on("close", onClose);
      socket.ref();
      socket.write(withPrelude || preludeEnd === 0 ? payload : payload.subarray(preludeEnd));
    });
  }

  function newSocket(target: string, tls: StoreTls | undefined): Socket {
    const address = parseTarget(target);
    let socket: Socket;
    if (tls && "host" in address) {
      socket = connectTls({
        host: address.host,
        port: address.port,
        // SNI and the name checked: server_name, else the host when it is a name (SNI carries no address).
        servername: tls.serverName || (isIP(address.host) ? undefined : address.host),
        rejectUnauthorized: tls.verify,
        ca: tls.trustedCertificates,
      });
    } else socket = connect(address);
    if ("host" in address) socket.setNoDelay(true);
    // An idle connection the server closes is dropped from the pool when next taken.
    socket.on("error", function () {});
    return socket;
  }

  return {
    exchange: exchange,
    close: function () {
      for (const sockets of idle.values()) for (const socket of sockets) socket.destroy();
      idle.clear();
    },
  };
}
