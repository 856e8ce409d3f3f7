/**
 * The store transport on Node (src/platform/node-store.ts) against small fake servers on ephemeral
 * ports: what it sends, that it waits for exactly the replies asked for however they are split, that
 * the prelude goes once per connection, and that a connection that timed out or answered more than was
 * asked for is never used again.
 */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { AddressInfo, createServer, Server, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createServer as createTlsServer } from "node:tls";
import type { StoreRequest, StoreTls } from "../../src/core/platform";
import { createNodeStoreTransport } from "../../src/platform/node-store";
import { encodeCommand } from "../../src/storage/protocol/resp";

interface Fake {
  server: Server;
  target: string;
  /** Everything each connection received, in connection order. */
  received: string[];
}

/** A server whose answer to each chunk received is `answer(text, connection index, socket)`. */
function fake(answer: (text: string, connection: number, socket: Socket) => void): Promise<Fake> {
  const received: string[] = [];
  const server = createServer((socket) => {
    const index = received.length;
    received.push("");
    socket.on("data", (chunk) => {
      received[index] += chunk.toString("utf8");
      answer(chunk.toString("utf8"), index, socket);
    });
    socket.on("error", () => {});
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, target: "127.0.0.1:" + (server.address() as AddressInfo).port, received })),
  );
}

function redisRequest(target: string, commands: Array<Array<string | number>>, prelude: Array<Array<string | number>> = [], timeout = 1000): StoreRequest {
  return {
    protocol: "redis",
    target,
    payload: [...prelude, ...commands].map(encodeCommand).join(""),
    commands: prelude.length + commands.length,
    prelude: prelude.length,
    timeout,
  };
}

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");
const servers: Server[] = [];
const transport = createNodeStoreTransport();
after(() => {
  transport.close();
  for (const server of servers) server.close();
});

describe("the Node store transport", () => {
  it("resolves to exactly the replies, split across packets", async () => {
    const store = await fake((_, __, socket) => {
      socket.write("+OK\r\n$5\r\nhe");
      setTimeout(() => socket.write("llo\r\n"), 20);
    });
    servers.push(store.server);
    const replies = await transport.exchange(redisRequest(store.target, [["SET", "k", "hello"], ["GET", "k"]]));
    assert.equal(text(replies), "+OK\r\n$5\r\nhello\r\n");
    assert.equal(store.received[0], encodeCommand(["SET", "k", "hello"]) + encodeCommand(["GET", "k"]));
  });

  it("sends the prelude once per connection and returns only the commands' replies", async () => {
    const store = await fake((chunk, _, socket) => {
      const commands = chunk.split("*").length - 1;
      socket.write("+OK\r\n".repeat(commands));
    });
    servers.push(store.server);
    const prelude = [["AUTH", "user", "pass"], ["SELECT", 2]];
    assert.equal(text(await transport.exchange(redisRequest(store.target, [["PING"]], prelude))), "+OK\r\n");
    assert.equal(text(await transport.exchange(redisRequest(store.target, [["PING"]], prelude))), "+OK\r\n");
    assert.equal(store.received.length, 1, "one connection, reused");
    assert.equal(store.received[0], [...prelude, ["PING"], ["PING"]].map(encodeCommand).join(""));
  });

  it("refuses a connection whose prelude the store refused, naming no secret", async () => {
    const store = await fake((_, __, socket) => socket.write("-WRONGPASS invalid username-password pair\r\n+PONG\r\n"));
    servers.push(store.server);
    await assert.rejects(
      transport.exchange(redisRequest(store.target, [["PING"]], [["AUTH", "secret-password-1"]])),
      (e: Error) => /connection set-up refused: WRONGPASS/.test(e.message) && !e.message.includes("secret-password-1"),
    );
  });

  it("times out on a silent store, and never reuses that connection", async () => {
    let answered = false;
    const store = await fake((_, connection, socket) => {
      if (connection === 0) return; // silent
      answered = true;
      socket.write("+PONG\r\n");
    });
    servers.push(store.server);
    await assert.rejects(transport.exchange(redisRequest(store.target, [["PING"]], [], 100)), /timed out after 100 ms/);
    assert.equal(text(await transport.exchange(redisRequest(store.target, [["PING"]]))), "+PONG\r\n");
    assert.ok(answered, "the second request went on a new connection");
  });

  it("refuses more replies than commands, and a reply that is not the protocol", async () => {
    const extra = await fake((_, __, socket) => socket.write("+OK\r\n+OK\r\n"));
    const garbage = await fake((_, __, socket) => socket.write("HTTP/1.1 200 OK\r\n\r\n"));
    servers.push(extra.server, garbage.server);
    await assert.rejects(transport.exchange(redisRequest(extra.target, [["PING"]])), /more replies than commands/);
    await assert.rejects(transport.exchange(redisRequest(garbage.target, [["PING"]])), /malformed reply/);
  });

  it("frames memcached's meta replies, a value's data block included", async () => {
    const store = await fake((_, __, socket) => socket.write("VA 5 t10\r\nhello\r\nHD\r\n"));
    servers.push(store.server);
    const request: StoreRequest = { protocol: "memcached", target: store.target, payload: "mg k v t\r\nmn\r\n", commands: 2, prelude: 0, timeout: 1000 };
    assert.equal(text(await transport.exchange(request)), "VA 5 t10\r\nhello\r\nHD\r\n");
  });

  it("a kept connection the store closed meanwhile: the request goes on a new one", async () => {
    const store = await fake((_, connection, socket) => {
      socket.write("+PONG\r\n");
      if (connection === 0) setTimeout(() => socket.destroy(), 10); // the store's idle timeout
    });
    servers.push(store.server);
    assert.equal(text(await transport.exchange(redisRequest(store.target, [["PING"]]))), "+PONG\r\n");
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(text(await transport.exchange(redisRequest(store.target, [["PING"]]))), "+PONG\r\n");
    assert.equal(store.received.length, 2);
  });

  it("rejects when nothing listens", async () => {
    const closed = await fake(() => {});
    const target = closed.target;
    await new Promise((resolve) => closed.server.close(resolve));
    await assert.rejects(transport.exchange(redisRequest(target, [["PING"]])), /ECONNREFUSED/);
  });
});

/**
 * TLS and the pool: a connection is kept for the TLS settings it was made with. The server is node:tls
 * with a certificate for "localhost" made by openssl at test time, signed by a throwaway CA; the real
 * stores over TLS are test/interop/node-store-tls.test.ts's.
 */
describe("the Node store transport over TLS", () => {
  const directory = mkdtempSync(join(tmpdir(), "njs-session-tls-"));
  after(() => rmSync(directory, { recursive: true, force: true }));
  const file = (name: string) => join(directory, name);
  function openssl(...args: string[]): void {
    execFileSync("openssl", args, { stdio: "ignore" });
  }

  it("keeps a connection per TLS settings: an unverified one never serves a request that verifies", async () => {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl("req", "-x509", ...ec, "-days", "1", "-subj", "/CN=test-ca", "-keyout", file("ca.key"), "-out", file("ca.crt"));
    openssl("req", "-x509", ...ec, "-days", "1", "-subj", "/CN=other-ca", "-keyout", file("other.key"), "-out", file("other.crt"));
    openssl("req", ...ec, "-subj", "/CN=localhost", "-keyout", file("server.key"), "-out", file("server.csr"));
    writeFileSync(file("ext"), "subjectAltName=DNS:localhost\n");
    openssl("x509", "-req", "-in", file("server.csr"), "-CA", file("ca.crt"), "-CAkey", file("ca.key"), "-CAcreateserial", "-days", "1", "-extfile", file("ext"), "-out", file("server.crt"));
    let connections = 0;
    const server = createTlsServer({ key: readFileSync(file("server.key")), cert: readFileSync(file("server.crt")) }, (socket) => {
      connections++;
      socket.on("data", () => socket.write("+PONG\r\n"));
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
    const target = "127.0.0.1:" + (server.address() as AddressInfo).port;
    const ping = (tls: StoreTls) => transport.exchange({ ...redisRequest(target, [["PING"]]), tls });

    const unverified: StoreTls = { verify: false };
    assert.equal(text(await ping(unverified)), "+PONG\r\n");
    assert.equal(text(await ping(unverified)), "+PONG\r\n");
    assert.equal(connections, 1, "one connection, kept and reused for the same settings");
    await assert.rejects(ping({ verify: true, serverName: "localhost", trustedCertificates: readFileSync(file("other.crt"), "utf8") }), /SELF_SIGNED|UNABLE_TO_VERIFY|unable to verify/i);
    await assert.rejects(ping({ verify: true, serverName: "store.example", trustedCertificates: readFileSync(file("ca.crt"), "utf8") }), /ALTNAME|Hostname/i);
    assert.equal(text(await ping({ verify: true, serverName: "localhost", trustedCertificates: readFileSync(file("ca.crt"), "utf8") })), "+PONG\r\n");
    // The refused ones never completed a handshake (the server counts completed ones).
    assert.equal(connections, 2, "the verified request made a connection of its own");
  });
});
