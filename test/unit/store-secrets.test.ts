/**
 * The configuration file's store passwords: like the session secret, redis.password and
 * redis.sentinel_password may name an environment variable or a file instead of holding the text.
 */

import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fromJson } from "../../src/nginx/configuration";

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
