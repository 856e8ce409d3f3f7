/**
 * `sessions list|revoke` and `inspect --url` against an admin API that is not nginx's: a fake server in
 * this process answering what a hostile or broken server could (control characters, bidi overrides,
 * the token echoed back, HTML, errors). The CLI must print none of it raw, never the token, and exit
 * with the admin status (8). What nginx's own admin API answers is tested in test/cli/nginx.test.ts.
 */

import assert from "node:assert/strict";
import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { buildCli, runCliAsync } from "../support/cli";

const TOKEN = "admin-client-test-token-6d2f0b91";
/** Characters that would move the cursor, retitle the terminal, clear it, or reorder the text on screen. */
const HOSTILE = "\u001b[2J\u001b]0;pwned\u0007\r\u202eevil\u0000\u009b\u2028";
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/;

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

let server: Server;
let url: string;
let handler: Handler = () => undefined;

before(async () => {
  buildCli();
  server = createServer((request, response) => handler(request, response));
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  url = "http://127.0.0.1:" + (server.address() as AddressInfo).port + "/admin";
});

after(() => new Promise<void>((done) => server.close(() => done())));

function answer(status: number, body: string, type = "application/json"): Handler {
  return (_request, response) => {
    response.writeHead(status, { "Content-Type": type });
    response.end(body);
  };
}

const hostileSession = { id: "1" + HOSTILE, created: 1, last_seen: 1, expires: 2, remember: false, user_agent: "UA" + HOSTILE, ip: "10.0.0.1" + HOSTILE };
const env = { NJS_SESSION_ADMIN_TOKEN: TOKEN };

function assertClean(output: string, what: string): void {
  assert.doesNotMatch(output, RAW, what + ": no control or bidi character raw");
  assert.ok(!output.includes(TOKEN), what + ": the token is never printed");
}

describe("sessions list|revoke against a hostile admin API", () => {
  it("list: every value the server sent escaped, in the table and in --json", async () => {
    handler = answer(200, JSON.stringify({ audience: "a" + HOSTILE, subject: "s" + HOSTILE, sessions: [hostileSession] }));
    const human = await runCliAsync(["sessions", "list", "--url", url, "--subject", "alice"], { env });
    assert.equal(human.status, 0, human.stderr);
    assertClean(human.stdout + human.stderr, "table");
    assert.ok(human.stdout.includes("UA\\x1b[2J"), "the user agent shown, escaped");
    const json = await runCliAsync(["sessions", "list", "--url", url, "--subject", "alice", "--json"], { env });
    assert.equal(json.status, 0, json.stderr);
    assertClean(json.stdout, "--json");
    assert.deepEqual(JSON.parse(json.stdout).sessions[0], hostileSession, "and decodes to what the server sent");
  });

  it("revoke: the revoked sessions escaped", async () => {
    handler = answer(200, JSON.stringify({ audience: "a", subject: "s" + HOSTILE, all: true, revoked: [hostileSession] }));
    const result = await runCliAsync(["sessions", "revoke", "--url", url, "--subject", "alice", "--all"], { env });
    assert.equal(result.status, 0, result.stderr);
    assertClean(result.stdout + result.stderr, "revoke");
  });

  it("the bearer token is sent, and never printed even when the server echoes it back: status 8", async () => {
    let authorization: string | undefined;
    handler = (request, response) => {
      authorization = request.headers.authorization;
      response.writeHead(403, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ error: "token " + request.headers.authorization + " refused" + HOSTILE }));
    };
    const result = await runCliAsync(["sessions", "list", "--url", url, "--subject", "alice"], { env });
    assert.equal(authorization, "Bearer " + TOKEN);
    assert.equal(result.status, 8);
    assert.equal(result.stdout, "");
    assert.equal(result.stderr.split("\n").length, 2, "one line: " + result.stderr);
    assertClean(result.stderr, "the error");
  });

  it("not the admin API (an HTML page, a 500 with a body): status 8, one line, the body not printed", async () => {
    for (const [status, body] of [[200, "<html>" + HOSTILE + "</html>"], [500, "oops" + HOSTILE], [200, JSON.stringify({ sessions: "no" })]] as Array<[number, string]>) {
      handler = answer(status, body, "text/html");
      const result = await runCliAsync(["sessions", "list", "--url", url, "--subject", "alice"], { env });
      assert.equal(result.status, 8, body);
      assert.equal(result.stderr.split("\n").length, 2, "one line: " + result.stderr);
      assert.ok(!result.stderr.includes("oops") && !result.stderr.includes("<html>"), result.stderr);
      assertClean(result.stderr, "the error");
    }
  });

  it("inspect --url without a key: not asked (the subject is sealed), and the note says why", async () => {
    let asked = 0;
    handler = (request, response) => {
      asked++;
      answer(200, "{}")(request, response);
    };
    const secret = "admin-client-test-secret-0a7e";
    const minted = await runCliAsync(["mint", "--secret", secret, "--subject", "alice"]);
    const result = await runCliAsync(["inspect", minted.stdout.trim(), "--url", url, "--json"], { env });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(asked, 0, "the admin API is not asked");
    const report = JSON.parse(result.stdout);
    assert.equal(report.revocation, null);
    assert.match(report.note, /--url needs the key/);
  });

  it("inspect --url, against a server that does not answer revocation: status 8 (not a verdict)", async () => {
    handler = answer(200, JSON.stringify({ audience: "default", subject: "alice", sessions: [] }));
    const secret = "admin-client-test-secret-0a7e";
    const minted = await runCliAsync(["mint", "--secret", secret, "--subject", "alice"]);
    assert.equal(minted.status, 0, minted.stderr);
    const result = await runCliAsync(["inspect", minted.stdout.trim(), "--secret", secret, "--url", url], { env });
    assert.equal(result.status, 8, result.stderr);
    assert.match(result.stderr, /does not say whether a session is revoked/);
    assertClean(result.stdout + result.stderr, "inspect");
  });
});
