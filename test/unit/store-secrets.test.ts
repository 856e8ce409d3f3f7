/**
 * The configuration file's store passwords: like the session secret, redis.password and
 * redis.sentinel_password may name an environment variable or a file instead of holding the text.
 */

import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cannotRead, fromJson, processUser, readConfigurationFile } from "../../src/nginx/configuration";

/** Node's process.env (the njs typings configuration.ts pulls in declare it read-only). */
const env = process.env as unknown as { [name: string]: string | undefined };

describe("store passwords in the configuration file", () => {
  it("redis.password from the environment and redis.sentinel_password from a file", () => {
    env.STORE_SECRETS_TEST_PASSWORD = "from-the-environment";
    const dir = mkdtempSync(join(tmpdir(), "store-secrets-"));
    writeFileSync(join(dir, "sentinel"), "from-a-file\n");
    const { options } = fromJson({
      secret: "s",
      storage: "redis",
      redis: {
        master: "m",
        sentinels: ["127.0.0.1:26379"],
        password: { env: "STORE_SECRETS_TEST_PASSWORD" },
        sentinel_password: { file: join(dir, "sentinel") },
        prefix: "p",
      },
    });
    const redis = (options as { redis: { [name: string]: unknown } }).redis;
    assert.equal(redis.password, "from-the-environment");
    assert.equal(redis.sentinel_password, "from-a-file");
    assert.equal(redis.prefix, "p", "other options pass through");
  });

  it("an empty environment variable is a configuration error naming the option", () => {
    delete env.STORE_SECRETS_TEST_MISSING;
    assert.throws(
      () => fromJson({ secret: "s", storage: "redis", redis: { password: { env: "STORE_SECRETS_TEST_MISSING" } } }),
      /redis\.password: environment variable STORE_SECRETS_TEST_MISSING/,
    );
  });
});

describe("a {\"file\": PATH} secret that cannot be read says why", () => {
  const dir = mkdtempSync(join(tmpdir(), "secret-files-"));

  it("a missing file: no such file", () => {
    const path = join(dir, "missing");
    assert.throws(() => fromJson({ secret: { file: path } }), (e: Error) => e.message.includes("secret: cannot read " + path + ": no such file"));
  });

  it("a directory: it is a directory", () => {
    assert.throws(() => fromJson({ secret: { file: dir } }), (e: Error) => e.message.includes("secret: cannot read " + dir + ": it is a directory"));
  });

  it("a file below a file: a part of the path is not a directory", () => {
    writeFileSync(join(dir, "plain"), "x");
    const path = join(dir, "plain", "secret");
    assert.throws(() => fromJson({ secret: { file: path } }), (e: Error) => e.message.includes(path + ": a part of the path is not a directory"));
  });

  // Root reads a 0000 file, so a real EACCES needs another uid: tested when the suite runs as one,
  // and the mapping itself always (njs and Node both put the errno name in `code`).
  it("permission denied names the user the read ran as, and the fix", () => {
    const message = cannotRead("/run/secrets/session", Object.assign(new Error("Permission denied"), { code: "EACCES" }), () => "nobody (uid 65534)");
    assert.equal(message, "cannot read /run/secrets/session: permission denied for user nobody (uid 65534) (nginx's worker processes read it; make it readable by their user, `user` in nginx.conf)");
    assert.equal(cannotRead("/x", { code: "EPERM" }, () => null), "cannot read /x: permission denied (nginx's worker processes read it; make it readable by their user, `user` in nginx.conf)");
    assert.equal(cannotRead("/x", { code: "EIO" }), "cannot read /x: EIO");
    assert.equal(cannotRead("/x", "weird"), "cannot read /x");
  });

  it("the user comes from /proc/self/status (effective uid) and /etc/passwd", () => {
    const files: { [path: string]: string } = {
      "/proc/self/status": "Name:\tnginx\nUid:\t0\t65534\t65534\t65534\nGid:\t0\t0\t0\t0\n",
      "/etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    };
    const read = (path: string) => {
      if (!(path in files)) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
      return files[path];
    };
    assert.equal(processUser(read), "nobody (uid 65534)");
    delete files["/etc/passwd"];
    assert.equal(processUser(read), "uid 65534");
    delete files["/proc/self/status"];
    assert.equal(processUser(read), null);
    assert.match(processUser() ?? "", /^(\S+ \(uid \d+\)|uid \d+)$/, "this process, for real");
  });

  it("a real unreadable file, when not running as root", { skip: (process as unknown as { getuid?: () => number }).getuid?.() === 0 && "root reads any file" }, () => {
    const path = join(dir, "unreadable");
    writeFileSync(path, "top-secret-value", { mode: 0o000 });
    chmodSync(path, 0o000);
    assert.throws(() => fromJson({ secret: { file: path } }), (e: Error) => /: permission denied/.test(e.message) && !e.message.includes("top-secret-value"));
  });

  it("the configuration file itself: the same reasons", () => {
    assert.throws(() => readConfigurationFile(join(dir, "nope.json")), /cannot read .*nope\.json: no such file/);
  });
});
