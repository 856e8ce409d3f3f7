/**
 * The store bridge's request head (src/bridge/request.ts): what ngx.fetch() sends it, in proxy mode
 * (absolute-form request line, js_fetch_proxy) and direct mode (origin-form, the store in Host), and
 * the operator's allow list ($njs_session_store_allow).
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { INCOMPLETE, MALFORMED } from "../../src/storage/protocol/lines";
import { isAllowedTarget, isTarget, lastHead, MAX_BODY, MAX_HEAD, parseRequestHead, type BridgeRequest } from "../../src/bridge/request";

/** One byte per char: heads are ASCII. */
function bytesOf(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0) & 0xff);
}

/** A request head as ngx.fetch writes it: the request line, headers, the empty line. */
function headText(requestLine: string, headers: string[]): string {
  return requestLine + "\r\n" + headers.map((header) => header + "\r\n").join("") + "\r\n";
}

function parse(text: string): BridgeRequest | number {
  return parseRequestHead(bytesOf(text), text.length);
}

/** Direct mode: origin-form, the store in Host. */
function direct(query: string, headers: string[] = ["Host: 10.0.0.5:6379", "Content-Length: 14"], path = "/redis"): string {
  return headText("POST " + path + "?" + query + " HTTP/1.1", headers);
}

describe("parseRequestHead", () => {
  describe("well-formed requests", () => {
    it("origin-form (direct mode): the store is Host, the counts and timeout come from the query", () => {
      const head = direct("n=3&p=1&t=3000");
      const body = "*1\r\n$4\r\nPING\r\n";
      const bytes = bytesOf(head + body);
      const request = parseRequestHead(bytes, bytes.length);
      assert.deepEqual(request, {
        headEnd: head.length,
        bodySize: 14,
        protocol: "redis",
        target: "10.0.0.5:6379",
        absolute: false,
        commands: 3,
        prelude: 1,
        timeout: 3000,
      });
      assert.equal(Buffer.from(bytes.subarray((request as BridgeRequest).headEnd)).toString("utf8"), body, "headEnd is where the body starts");
    });

    it("reads the same from a Buffer (the stream filter's data), a view into a larger buffer, and a prefix of one (end)", () => {
      const head = direct("n=1&p=0&t=3000");
      const text = head + "*1\r\n$4\r\nPING\r\n";
      const expected = parse(text);
      assert.equal(typeof expected, "object");
      assert.deepEqual(parseRequestHead(Buffer.from(bytesOf(text)), text.length), expected);
      const padded = bytesOf("garbage" + text + "trailing bytes");
      assert.deepEqual(parseRequestHead(padded.subarray(7, 7 + text.length), text.length), expected);
      assert.deepEqual(parseRequestHead(Buffer.from(bytesOf("garbage" + text)).subarray(7), text.length), expected);
      assert.equal(parseRequestHead(Buffer.from(bytesOf(text)), head.length - 2), INCOMPLETE, "the blank line lies beyond end");
    });

    it("absolute-form (proxy mode): the store is the URL's, whatever Host says", () => {
      const head = headText("POST http://10.0.0.6:11211/memcached?n=2&p=0&t=100 HTTP/1.1", ["Host: 10.0.0.99:1", "Content-Length: 0"]);
      assert.deepEqual(parse(head), {
        headEnd: head.length,
        bodySize: 0,
        protocol: "memcached",
        target: "10.0.0.6:11211",
        absolute: true,
        commands: 2,
        prelude: 0,
        timeout: 100,
      });
    });

    it("a missing p means no prelude; query parameters in any order", () => {
      const request = parse(direct("t=250&n=4")) as BridgeRequest;
      assert.equal(request.prelude, 0);
      assert.equal(request.commands, 4);
      assert.equal(request.timeout, 250);
    });

    it("header names are case-insensitive; values are trimmed; other headers are ignored", () => {
      const request = parse(direct("n=1&t=10", ["HOST:   cache.internal:11211  ", "content-LENGTH: 7", "Connection: keep-alive", "User-Agent: njs"])) as BridgeRequest;
      assert.equal(request.target, "cache.internal:11211");
      assert.equal(request.bodySize, 7);
    });

    it("no port means port 80, as ngx.fetch leaves the default port out (host names, IPv4, [IPv6])", () => {
      const target = (text: string) => (parse(text) as BridgeRequest).target;
      assert.equal(target(direct("n=1&t=10", ["Host: cache.internal", "Content-Length: 0"])), "cache.internal:80");
      assert.equal(target(direct("n=1&t=10", ["Host: [::1]", "Content-Length: 0"])), "[::1]:80");
      assert.equal(target(headText("POST http://10.0.0.5/redis?n=1&t=10 HTTP/1.1", ["Content-Length: 0"])), "10.0.0.5:80");
      assert.equal(target(headText("POST http://[fd00::5]:6379/redis?n=1&t=10 HTTP/1.1", ["Content-Length: 0"])), "[fd00::5]:6379");
      assert.equal(target(direct("n=1&t=10", ["Host: [::1]:6379", "Content-Length: 0"])), "[::1]:6379");
    });

    it("the largest accepted body is MAX_BODY", () => {
      assert.equal((parse(direct("n=1&t=10", ["Host: h:1", "Content-Length: " + MAX_BODY])) as BridgeRequest).bodySize, MAX_BODY);
    });

    it("p may be anything below n; memcached with p=0", () => {
      assert.equal((parse(direct("n=5&p=4&t=10")) as BridgeRequest).prelude, 4);
      assert.equal((parse(direct("n=1&p=0&t=10", undefined, "/memcached")) as BridgeRequest).protocol, "memcached");
    });
  });

  describe("refused (MALFORMED)", () => {
    const cases: Array<[string, string]> = [
      ["n missing", direct("p=0&t=10")],
      ["n = 0", direct("n=0&t=10")],
      ["n not a number", direct("n=two&t=10")],
      ["n negative", direct("n=-1&t=10")],
      ["n empty", direct("n=&t=10")],
      ["n absurdly large", direct("n=1000000&t=10")],
      ["t missing", direct("n=1")],
      ["t = 0", direct("n=1&t=0")],
      ["t not a number", direct("n=1&t=1s")],
      ["t absurdly large", direct("n=1&t=999999999")],
      ["p = n", direct("n=2&p=2&t=10")],
      ["p > n", direct("n=2&p=3&t=10")],
      ["memcached with a prelude", direct("n=2&p=1&t=10", undefined, "/memcached")],
      ["an unknown protocol path", direct("n=1&t=10", undefined, "/mysql")],
      ["a protocol path with a trailing slash", direct("n=1&t=10", undefined, "/redis/")],
      ["a GET", headText("GET /redis?n=1&t=10 HTTP/1.1", ["Host: h:1", "Content-Length: 0"])],
      ["HTTP/1.0", headText("POST /redis?n=1&t=10 HTTP/1.0", ["Host: h:1", "Content-Length: 0"])],
      ["an absolute-form URL without a path", headText("POST http://10.0.0.5:6379 HTTP/1.1", ["Content-Length: 0"])],
      ["https", headText("POST https://10.0.0.5:6379/redis?n=1&t=10 HTTP/1.1", ["Content-Length: 0"])],
      ["Transfer-Encoding: chunked", direct("n=1&t=10", ["Host: h:1", "Transfer-Encoding: chunked"])],
      ["Transfer-Encoding even beside Content-Length", direct("n=1&t=10", ["Host: h:1", "Content-Length: 5", "transfer-encoding: identity"])],
      ["no Content-Length", direct("n=1&t=10", ["Host: h:1"])],
      ["a Content-Length that is not a number", direct("n=1&t=10", ["Host: h:1", "Content-Length: 12abc"])],
      ["a negative Content-Length", direct("n=1&t=10", ["Host: h:1", "Content-Length: -1"])],
      ["a body over MAX_BODY", direct("n=1&t=10", ["Host: h:1", "Content-Length: " + (MAX_BODY + 1)])],
      ["no Host in origin-form", direct("n=1&t=10", ["Content-Length: 0"])],
      ["port 0", direct("n=1&t=10", ["Host: 10.0.0.5:0", "Content-Length: 0"])],
      ["port 65536", direct("n=1&t=10", ["Host: 10.0.0.5:65536", "Content-Length: 0"])],
      ["a host with a space", direct("n=1&t=10", ["Host: evil host:6379", "Content-Length: 0"])],
      ["userinfo in the target", headText("POST http://user@10.0.0.5:6379/redis?n=1&t=10 HTTP/1.1", ["Content-Length: 0"])],
      ["an unbracketed IPv6 target", direct("n=1&t=10", ["Host: ::1:6379", "Content-Length: 0"])],
      ["a header line without a colon", direct("n=1&t=10", ["Host: h:1", "Content-Length: 0", "garbage"])],
      ["a header line starting with a colon", direct("n=1&t=10", ["Host: h:1", ": x", "Content-Length: 0"])],
      ["a bare CR", "POST /redis?n=1&t=10 HTTP/1.1\r\nHost: h:1\rX\r\nContent-Length: 0\r\n\r\n"],
      ["an empty head", "\r\n"],
      ["not HTTP at all", "*1\r\n$4\r\nPING\r\n\r\n"],
    ];
    for (const [what, text] of cases) {
      it(what, () => assert.equal(parse(text), MALFORMED));
    }

    // ngx.fetch only ever writes digits here (src/platform/njs.ts fetchFromStore), but the parser is the
    // bridge's gate and refuses n and t unless they are digits; p is read as 0 when it is not.
    it('a p that is not a count (not a number, negative, empty) is refused like a bad n or t, not read as "no prelude"', () => {
      assert.equal(parse(direct("n=2&p=one&t=10")), MALFORMED, "p=one");
      assert.equal(parse(direct("n=2&p=-1&t=10")), MALFORMED, "p=-1");
      assert.equal(parse(direct("n=2&p=&t=10")), MALFORMED, "p=");
    });

    it("a head longer than MAX_HEAD, complete or not, is refused rather than waited for", () => {
      const pad = Array.from({ length: 4 }, (_, i) => "X-Pad-" + i + ": " + "p".repeat(2500));
      const complete = direct("n=1&t=10", ["Host: h:1", "Content-Length: 0", ...pad]);
      assert.ok(complete.length > MAX_HEAD);
      assert.equal(parse(complete), MALFORMED);
      const unfinished = complete.substring(0, complete.length - 4);
      assert.equal(parseRequestHead(bytesOf(unfinished), unfinished.length), MALFORMED);
      const noEnd = "POST /redis?n=1&t=10 HTTP/1.1\r\n" + "X-Pad: " + "p".repeat(3000) + "\r\n" + "X-Pad: " + "p".repeat(3000) + "\r\n" + "X-Pad: " + "p".repeat(3000);
      assert.equal(parseRequestHead(bytesOf(noEnd), noEnd.length), MALFORMED);
    });

    it("a large head below MAX_HEAD is fine", () => {
      const pad = ["X-Pad-1: " + "p".repeat(3000), "X-Pad-2: " + "p".repeat(3000)];
      const head = direct("n=1&t=10", ["Host: h:1", "Content-Length: 0", ...pad]);
      assert.ok(head.length < MAX_HEAD);
      assert.equal((parse(head) as BridgeRequest).headEnd, head.length);
    });
  });

  describe("incomplete heads", () => {
    it("every proper prefix of a head is INCOMPLETE (on the whole buffer with a shorter end, and truncated)", () => {
      for (const head of [direct("n=3&p=1&t=3000"), headText("POST http://10.0.0.6:11211/memcached?n=2&t=100 HTTP/1.1", ["Host: 10.0.0.6:11211", "Content-Length: 9"])]) {
        const bytes = bytesOf(head + "body byte");
        for (let length = 0; length < head.length; length++) {
          assert.equal(parseRequestHead(bytes, length), INCOMPLETE, `the first ${length} bytes as end`);
          assert.equal(parseRequestHead(bytes.slice(0, length), length), INCOMPLETE, `a ${length}-byte buffer`);
        }
        assert.equal((parseRequestHead(bytes, head.length) as BridgeRequest).headEnd, head.length);
        assert.equal((parseRequestHead(bytes, bytes.length) as BridgeRequest).headEnd, head.length);
      }
    });
  });
});

describe("parseRequestHead with the connection's last head", () => {
  const first = headText("POST http://10.0.0.5:6379/redis?n=1&p=0&t=3000 HTTP/1.1", ["Host: 10.0.0.5:6379", "Content-Length: 14"]);
  const body = "*1\r\n$4\r\nPING\r\n";

  it("the same head again: the same verdict, without parsing it again", () => {
    const last = lastHead();
    const once = parseRequestHead(bytesOf(first + body), first.length + body.length, last);
    assert.equal(typeof once, "object");
    assert.equal(parseRequestHead(bytesOf(first + body), first.length + body.length, last), once, "the remembered request");
    assert.deepEqual(once, parseRequestHead(bytesOf(first + body), first.length + body.length), "what a fresh parse says");
  });

  it("a head that differs in any byte is parsed afresh, and a malformed one is never remembered", () => {
    const last = lastHead();
    parseRequestHead(bytesOf(first + body), first.length + body.length, last);
    const other = first.replace("t=3000", "t=2000");
    assert.equal((parseRequestHead(bytesOf(other + body), other.length + body.length, last) as BridgeRequest).timeout, 2000);
    const broken = first.replace("Host:", "Host :");
    assert.equal(parseRequestHead(bytesOf(broken + body), broken.length + body.length, last), MALFORMED);
    assert.equal((parseRequestHead(bytesOf(other + body), other.length + body.length, last) as BridgeRequest).timeout, 2000, "the last good head stays");
    assert.equal(parseRequestHead(bytesOf(broken + body), broken.length + body.length, last), MALFORMED, "still malformed");
  });
});

describe("parseRequestHead with the connection's last head: partial heads", () => {
  const first = headText("POST http://10.0.0.5:6379/redis?n=1&p=0&t=3000 HTTP/1.1", ["Host: 10.0.0.5:6379", "Content-Length: 14"]);
  const body = "*1\r\n$4\r\nPING\r\n";

  it("the start of the same head, up to and short of its blank line, is INCOMPLETE, not the remembered request", () => {
    const last = lastHead();
    const once = parseRequestHead(Buffer.from(bytesOf(first + body)), first.length + body.length, last);
    assert.equal(typeof once, "object");
    for (const cut of [first.length - 1, first.length - 2, first.length - 4, 10]) {
      assert.equal(parseRequestHead(Buffer.from(bytesOf(first.substring(0, cut))), cut, last), INCOMPLETE, `the first ${cut} bytes`);
      assert.equal(parseRequestHead(Buffer.from(bytesOf(first + body)), cut, last), INCOMPLETE, `end at ${cut}`);
    }
    assert.equal(parseRequestHead(Buffer.from(bytesOf(first)), first.length, last), once, "the head alone, body still to come");
  });
});

describe("isTarget", () => {
  it("host:port with a host name, IPv4 or [IPv6], and a port 1-65535", () => {
    for (const target of ["10.0.0.5:6379", "cache-1.internal:11211", "[::1]:6379", "[fd00::5]:1", "h:65535"]) assert.equal(isTarget(target), true, target);
    for (const target of ["10.0.0.5", "10.0.0.5:0", "10.0.0.5:65536", "::1:6379", "[::1]", "a b:1", "h:123456", "h:-1", ":6379", "h:6379/x"]) {
      assert.equal(isTarget(target), false, target);
    }
  });
});

describe("isAllowedTarget", () => {
  it("an exact host:port allows that store only", () => {
    assert.equal(isAllowedTarget("10.0.0.5:6379", "10.0.0.5:6379"), true);
    assert.equal(isAllowedTarget("10.0.0.5:6380", "10.0.0.5:6379"), false);
    assert.equal(isAllowedTarget("10.0.0.50:6379", "10.0.0.5:6379"), false);
    assert.equal(isAllowedTarget("10.0.0.6:6379", "10.0.0.5:6379"), false);
  });

  it('"*" alone allows everything', () => {
    assert.equal(isAllowedTarget("10.9.8.7:1", "*"), true);
    assert.equal(isAllowedTarget("[::1]:11211", "  * "), true);
  });

  it("several entries, separated by any whitespace", () => {
    const list = "10.0.0.5:6379\t10.0.0.6:11211\n  [::1]:6379 ";
    assert.equal(isAllowedTarget("10.0.0.5:6379", list), true);
    assert.equal(isAllowedTarget("10.0.0.6:11211", list), true);
    assert.equal(isAllowedTarget("[::1]:6379", list), true);
    assert.equal(isAllowedTarget("10.0.0.6:6379", list), false);
  });

  it('host "*": any host on that port', () => {
    assert.equal(isAllowedTarget("10.1.2.3:6379", "*:6379"), true);
    assert.equal(isAllowedTarget("cache.internal:6379", "*:6379"), true);
    assert.equal(isAllowedTarget("10.1.2.3:6380", "*:6379"), false);
    assert.equal(isAllowedTarget("10.1.2.3:63790", "*:6379"), false);
  });

  it('port "*": any port of that host, and of no other host', () => {
    assert.equal(isAllowedTarget("127.0.0.1:6379", "127.0.0.1:*"), true);
    assert.equal(isAllowedTarget("127.0.0.1:11211", "127.0.0.1:*"), true);
    assert.equal(isAllowedTarget("127.0.0.10:6379", "127.0.0.1:*"), false);
    assert.equal(isAllowedTarget("127.0.0.1.evil:6379", "127.0.0.1:*"), false);
  });

  it('"10.0.*": an address prefix, whole octets only', () => {
    assert.equal(isAllowedTarget("10.0.3.4:6379", "10.0.*:6379"), true);
    assert.equal(isAllowedTarget("10.0.255.255:6379", "10.0.*:6379"), true);
    assert.equal(isAllowedTarget("10.0.3.4:6380", "10.0.*:6379"), false);
    assert.equal(isAllowedTarget("10.1.0.1:6379", "10.0.*:6379"), false);
    assert.equal(isAllowedTarget("10.00.1.1:6379", "10.0.*:6379"), false);
    assert.equal(isAllowedTarget("110.0.0.1:6379", "10.0.*:6379"), false);
    assert.equal(isAllowedTarget("10.0.3.4:11211", "10.0.*:*"), true);
  });

  it('near misses: "10.0.1*" is no prefix pattern; ".*" alone is none either', () => {
    assert.equal(isAllowedTarget("10.0.15.1:6379", "10.0.1*:6379"), false);
    assert.equal(isAllowedTarget("10.0.1.1:6379", "10.0.1*:6379"), false);
    assert.equal(isAllowedTarget("10.0.0.1:6379", ".*:6379"), false);
  });

  it("IPv6 in brackets: the port is after the last colon", () => {
    assert.equal(isAllowedTarget("[::1]:6379", "[::1]:6379"), true);
    assert.equal(isAllowedTarget("[::1]:6380", "[::1]:6379"), false);
    assert.equal(isAllowedTarget("[::1]:6380", "[::1]:*"), true);
    assert.equal(isAllowedTarget("127.0.0.1:6379", "[::1]:6379"), false);
    assert.equal(isAllowedTarget("[::1]:6379", "127.0.0.1:6379"), false);
    assert.equal(isAllowedTarget("[::1]:6379", "*:6379"), true);
  });

  it("entries without a port, an empty list, and blank lists allow nothing", () => {
    assert.equal(isAllowedTarget("10.0.0.5:6379", "10.0.0.5"), false);
    assert.equal(isAllowedTarget("10.0.0.5:6379", "10.0.*"), false);
    assert.equal(isAllowedTarget("10.0.0.5:6379", ""), false);
    assert.equal(isAllowedTarget("10.0.0.5:6379", "   \t "), false);
    assert.equal(isAllowedTarget("10.0.0.5:6379", ":6379"), false);
  });

  it('an address prefix ("10.0.*") does not let in a host name that merely starts with it', () => {
    assert.equal(isAllowedTarget("10.0.evil.example:6379", "10.0.*:6379"), false);
    assert.equal(isAllowedTarget("10.0.1.2:6379", "10.0.*:6379"), true);
  });
});
