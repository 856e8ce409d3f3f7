/**
 * File storage (src/storage/file.ts) over the Node file system adapter in a temporary directory: file
 * names and contents as written on disk, expiry judged by the caller's clock, stale_ttl, option
 * validation, the cleanup sweep, and a whole session life (login, refresh, stale cookie, logout)
 * through the library with `storage: "file"`. What is on disk is read with node:fs directly, and the
 * storage keys are computed here with node:crypto, not with src/.
 */

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isConfigError } from "../../src/core/errors";
import { type SessionOptions, type StorageOptions } from "../../src/core/options";
import type { Platform } from "../../src/core/platform";
import { createNodePlatform } from "../../src/platform/node";
import { registerBuiltinStorages } from "../../src/storage";
import { createFileStorage, DEFAULT_FILE_MODE, type FileStorage } from "../../src/storage/file";
import { createEnv, isExpiredLine, mint, nextCookie, setCookieLine, setCookieValue, T0, type TestEnv } from "../support/session-env";

registerBuiltinStorages();

const platform = createNodePlatform({ now: () => T0 });
let root: string;
let directoryCount = 0;

before(() => {
  root = mkdtempSync(join(tmpdir(), "njs-session-file-"));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A fresh, empty directory for one test. */
function freshDirectory(): string {
  const directory = join(root, "d" + ++directoryCount);
  mkdirSync(directory);
  return directory;
}

/** A storage key as the session makes one: 43 base64url characters (32 random bytes). */
function randomKey(): string {
  return randomBytes(32).toString("base64url");
}

function storageIn(directory: string, extra: StorageOptions = {}): FileStorage {
  return createFileStorage({ path: directory, ...extra }, platform);
}

function contentOf(path: string): string {
  return readFileSync(path, "utf8");
}

/** The process's umask (njs-types declare a `process` global without umask(): read Node's). */
function umask(): number {
  return (globalThis as unknown as { process: { umask(): number } }).process.umask();
}

function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

/** Runs `fn`, expects a ConfigError whose message matches `pattern`. */
function assertConfigError(fn: () => unknown, pattern: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown, "expected a ConfigError, nothing was thrown");
  assert.equal(isConfigError(thrown), true, "a ConfigError: " + String(thrown));
  assert.match((thrown as Error).message, pattern);
}

describe("file storage: set / get / delete", () => {
  it("set writes <expiry>;<value> to name_key, mode 0600, through a temporary file that does not stay", () => {
    const directory = freshDirectory();
    const storage = storageIn(directory);
    const key = randomKey();
    storage.set("session", key, '["ciphertext"]', 3600, T0);
    assert.deepEqual(readdirSync(directory), ["session_" + key]);
    assert.equal(contentOf(join(directory, "session_" + key)), T0 + 3600 + ';["ciphertext"]');
    assert.equal(DEFAULT_FILE_MODE, 0o600);
    assert.equal(modeOf(join(directory, "session_" + key)), 0o600);
    assert.equal(storage.get("session", key, T0 + 1), '["ciphertext"]');
  });

  it("a trailing slash on the path changes nothing", () => {
    const directory = freshDirectory();
    const key = randomKey();
    storageIn(directory + "/").set("session", key, "v", 10, T0);
    assert.deepEqual(readdirSync(directory), ["session_" + key]);
  });

  it("set over an existing record replaces it whole", () => {
    const directory = freshDirectory();
    const storage = storageIn(directory);
    const key = randomKey();
    storage.set("session", key, "first value, rather long", 100, T0);
    storage.set("session", key, "second", 200, T0 + 5);
    assert.equal(contentOf(join(directory, "session_" + key)), T0 + 205 + ";second");
    assert.deepEqual(readdirSync(directory), ["session_" + key]);
  });

  it("values keep every character, ';' included", () => {
    const directory = freshDirectory();
    const storage = storageIn(directory);
    const key = randomKey();
    const value = 'a;b;;c "ü" \n end';
    storage.set("session", key, value, 10, T0);
    assert.equal(storage.get("session", key, T0), value);
  });

  it("get of a record never stored: null; delete removes the file; delete of a missing file is no error", () => {
    const directory = freshDirectory();
    const storage = storageIn(directory);
    const key = randomKey();
    assert.equal(storage.get("session", key, T0), null);
    storage.set("session", key, "v", 100, T0);
    storage.delete("session", key, T0);
    assert.deepEqual(readdirSync(directory), []);
    assert.equal(storage.get("session", key, T0), null);
    storage.delete("session", key, T0);
    storage.delete("session", randomKey(), T0);
  });

  it("cookie names keep records apart: session_<key> and remember_<key> are two files", () => {
    const directory = freshDirectory();
    const storage = storageIn(directory);
    const key = randomKey();
    storage.set("session", key, "s", 100, T0);
    storage.set("remember", key, "r", 100, T0);
    assert.deepEqual(readdirSync(directory).sort(), ["remember_" + key, "session_" + key]);
    assert.equal(storage.get("session", key, T0), "s");
    assert.equal(storage.get("remember", key, T0), "r");
    storage.delete("session", key, T0);
    assert.equal(storage.get("remember", key, T0), "r", "deleting one leaves the other");
  });

  it("prefix, suffix and mode: [prefix_]name_key[.suffix] with the given permissions", () => {
    const directory = freshDirectory();
    const storage = storageIn(directory, { prefix: "px", suffix: "sess", mode: 0o640 });
    const key = randomKey();
    storage.set("session", key, "v", 100, T0);
    assert.deepEqual(readdirSync(directory), ["px_session_" + key + ".sess"]);
    assert.equal(modeOf(join(directory, "px_session_" + key + ".sess")), 0o640 & ~umask());
    assert.equal(storage.get("session", key, T0), "v");
    assert.equal(storageIn(directory).get("session", key, T0), null, "without the prefix and suffix: another file");
    storage.delete("session", key, T0);
    assert.deepEqual(readdirSync(directory), []);
  });

  it("expiry is judged with the caller's now: readable before, refused at and after the expiry", () => {
    const directory = freshDirectory();
    const storage = storageIn(directory);
    const key = randomKey();
    storage.set("session", key, "v", 100, T0);
    assert.equal(storage.get("session", key, T0 - 1000), "v");
    assert.equal(storage.get("session", key, T0 + 99), "v");
    assert.equal(storage.get("session", key, T0 + 100), null, "expiry <= now: expired");
    assert.equal(storage.get("session", key, T0 + 5000), null);
  });

  it("an expiry written by hand is what counts; records that do not parse are no session", () => {
    const directory = freshDirectory();
    const storage = storageIn(directory);
    const key = randomKey();
    const path = join(directory, "session_" + key);
    writeFileSync(path, T0 + 1 + ";hand");
    assert.equal(storage.get("session", key, T0), "hand");
    writeFileSync(path, T0 + ";hand");
    assert.equal(storage.get("session", key, T0), null);
    for (const raw of ["", "garbage", ";value", "x;value", "-5;value"]) {
      writeFileSync(path, raw);
      assert.equal(storage.get("session", key, T0), null, JSON.stringify(raw));
    }
  });
});

describe("file storage: stale_ttl (a save with a new id)", () => {
  it("the previous record is rewritten to expire in stale_ttl, value unchanged", () => {
    const directory = freshDirectory();
    const storage = storageIn(directory);
    const oldKey = randomKey();
    const newKey = randomKey();
    storage.set("session", oldKey, "old", 3600, T0);
    storage.set("session", newKey, "new", 3600, T0 + 5, oldKey, 10);
    assert.equal(contentOf(join(directory, "session_" + oldKey)), T0 + 15 + ";old");
    assert.equal(contentOf(join(directory, "session_" + newKey)), T0 + 3605 + ";new");
    assert.equal(modeOf(join(directory, "session_" + oldKey)), 0o600, "the rewritten file keeps the mode");
    assert.equal(storage.get("session", oldKey, T0 + 14), "old");
    assert.equal(storage.get("session", oldKey, T0 + 15), null);
    assert.deepEqual(readdirSync(directory).filter((name) => name.includes(".tmp-")), []);
  });

  it("never extends: a previous record closer to its end than stale_ttl is left as it is", () => {
    const directory = freshDirectory();
    const storage = storageIn(directory);
    const oldKey = randomKey();
    storage.set("session", oldKey, "old", 5, T0);
    storage.set("session", randomKey(), "new", 3600, T0 + 1, oldKey, 10);
    assert.equal(contentOf(join(directory, "session_" + oldKey)), T0 + 5 + ";old");
    assert.equal(storage.get("session", oldKey, T0 + 5), null);
  });

  it("an expired previous record is not brought back, and a missing one is not created", () => {
    const directory = freshDirectory();
    const storage = storageIn(directory);
    const expiredKey = randomKey();
    storage.set("session", expiredKey, "old", 5, T0);
    storage.set("session", randomKey(), "new", 3600, T0 + 10, expiredKey, 10);
    assert.equal(storage.get("session", expiredKey, T0 + 11), null);
    assert.equal(contentOf(join(directory, "session_" + expiredKey)), T0 + 5 + ";old");

    const neverStored = randomKey();
    storage.set("session", randomKey(), "new", 3600, T0 + 10, neverStored, 10);
    assert.equal(existsSync(join(directory, "session_" + neverStored)), false);
  });

  it("stale_ttl 0 (or none): the previous record is removed at once", () => {
    const directory = freshDirectory();
    const storage = storageIn(directory);
    const oldKey = randomKey();
    const newKey = randomKey();
    storage.set("session", oldKey, "old", 3600, T0);
    storage.set("session", newKey, "new", 3600, T0 + 1, oldKey, 0);
    assert.deepEqual(readdirSync(directory), ["session_" + newKey]);
    const otherOld = newKey;
    const third = randomKey();
    storage.set("session", third, "third", 3600, T0 + 2, otherOld);
    assert.deepEqual(readdirSync(directory), ["session_" + third]);
  });
});

describe("file storage: options", () => {
  it("path is required and absolute", () => {
    assertConfigError(() => createFileStorage(undefined, platform), /file\.path is required/);
    assertConfigError(() => createFileStorage({}, platform), /file\.path is required/);
    assertConfigError(() => createFileStorage({ path: "" }, platform), /file\.path must be a non-empty string/);
    assertConfigError(() => createFileStorage({ path: "sessions" }, platform), /file\.path must be an absolute path/);
    assertConfigError(() => createFileStorage({ path: "./sessions" }, platform), /absolute path/);
    assertConfigError(() => createFileStorage({ path: 42 }, platform), /file\.path must be a non-empty string/);
  });

  it("unknown options are refused by name", () => {
    assertConfigError(() => createFileStorage({ path: "/tmp", zone: "x" }, platform), /unknown option file\.zone/);
    assertConfigError(() => createFileStorage({ path: "/tmp", pool_size: 4 }, platform), /unknown option file\.pool_size/);
  });

  it("mode: a whole number, at most 0777", () => {
    assertConfigError(() => createFileStorage({ path: "/tmp", mode: "0600" }, platform), /file\.mode must be a whole number/);
    assertConfigError(() => createFileStorage({ path: "/tmp", mode: -1 }, platform), /file\.mode must be a whole number/);
    assertConfigError(() => createFileStorage({ path: "/tmp", mode: 1.5 }, platform), /file\.mode must be a whole number/);
    assertConfigError(() => createFileStorage({ path: "/tmp", mode: 0o1000 }, platform), /file\.mode must be a permission mode/);
    assertConfigError(() => createFileStorage({ path: "/tmp", mode: 0o4755 }, platform), /file\.mode must be a permission mode/);
    createFileStorage({ path: "/tmp", mode: 0o777 }, platform);
    createFileStorage({ path: "/tmp", mode: 0 }, platform);
  });

  it("prefix and suffix: non-empty strings without '/' (no escaping the directory)", () => {
    assertConfigError(() => createFileStorage({ path: "/tmp", prefix: "../x" }, platform), /must not contain \//);
    assertConfigError(() => createFileStorage({ path: "/tmp", suffix: "a/b" }, platform), /must not contain \//);
    assertConfigError(() => createFileStorage({ path: "/tmp", prefix: "" }, platform), /file\.prefix must be a non-empty string/);
    assertConfigError(() => createFileStorage({ path: "/tmp", suffix: 1 }, platform), /file\.suffix must be a non-empty string/);
  });

  it("the options must be an object, and the platform must have a file system", () => {
    assertConfigError(() => createFileStorage("/tmp" as unknown as StorageOptions, platform), /file must be an object/);
    assertConfigError(() => createFileStorage(["/tmp"] as unknown as StorageOptions, platform), /file must be an object/);
    const withoutFiles: Platform = { ...platform, files: undefined };
    assertConfigError(() => createFileStorage({ path: "/tmp" }, withoutFiles), /file storage needs a file system/);
  });

  it("through the library: the same errors, named in the settings", () => {
    const env = createEnv();
    assertConfigError(() => env.library.settings({ secret: "s", storage: "file", file: { path: "relative" } } as SessionOptions), /absolute path/);
    assertConfigError(() => env.library.settings({ secret: "s", storage: "file" }), /file\.path is required/);
  });
});

describe("file storage: a directory it cannot use", () => {
  it("a missing directory: set is a ConfigError naming the directory (the operator's to fix)", () => {
    const missing = join(root, "missing-" + randomBytes(4).toString("hex"));
    const storage = storageIn(missing);
    assertConfigError(() => storage.set("session", randomKey(), "v", 10, T0), new RegExp("file storage cannot write in " + missing + "/ \\(ENOENT\\)"));
    assertConfigError(() => storage.cleanup(T0), /file storage cannot list files in .* \(ENOENT\)/);
    assert.equal(existsSync(missing), false, "nothing is created");
  });

  it("a missing directory: get is a ConfigError too, not 'no session' (every user would be logged out silently)", () => {
    const missing = join(root, "missing-" + randomBytes(4).toString("hex"));
    assertConfigError(() => storageIn(missing).get("session", randomKey(), T0), /file storage cannot read in .* \(ENOENT\)/);
  });

  it("a path that is a file: set, get and delete are ConfigErrors (ENOTDIR)", () => {
    const file = join(freshDirectory(), "not-a-directory");
    writeFileSync(file, "x");
    const storage = storageIn(file);
    const key = randomKey();
    assertConfigError(() => storage.set("session", key, "v", 10, T0), /file storage cannot write in .* \(ENOTDIR\)/);
    assertConfigError(() => storage.get("session", key, T0), /file storage cannot read in .* \(ENOTDIR\)/);
    assertConfigError(() => storage.delete("session", key, T0), /file storage cannot delete in .* \(ENOTDIR\)/);
  });

  it("a directory in place of a session file: get fails, but not as a configuration error", () => {
    const directory = freshDirectory();
    const key = randomKey();
    mkdirSync(join(directory, "session_" + key));
    let thrown: unknown;
    try {
      storageIn(directory).get("session", key, T0);
    } catch (e) {
      thrown = e;
    }
    assert.ok(thrown instanceof Error, "an error (EISDIR)");
    assert.equal(isConfigError(thrown), false);
  });
});

describe("file storage: cleanup(now)", () => {
  /** Sets a file's modification time `age` seconds before the real clock. */
  function age(path: string, seconds: number): void {
    const when = Date.now() / 1000 - seconds;
    utimesSync(path, when, when);
  }

  it("removes expired and unreadable session files and abandoned temporary files; keeps the rest", () => {
    // Temporary files are aged by their mtime: this sweep runs at the real clock.
    const now = Math.floor(Date.now() / 1000);
    const directory = freshDirectory();
    const storage = storageIn(directory);
    const live = randomKey();
    const expired = randomKey();
    const expiringNow = randomKey();
    const corrupt = randomKey();
    const remembered = randomKey();
    storage.set("session", live, "live", 100, now);
    storage.set("session", expired, "expired", 10, now - 100);
    storage.set("session", expiringNow, "edge", 100, now - 100);
    storage.set("remember", remembered, "remembered", 1000, now);
    writeFileSync(join(directory, "session_" + corrupt), "no expiry here");
    // Abandoned writes of a session file: old (removed) and recent (a write may be under way: kept).
    const oldTemporary = "session_" + randomKey() + ".tmp-0123456789ab";
    const youngTemporary = "session_" + randomKey() + ".tmp-ba9876543210";
    writeFileSync(join(directory, oldTemporary), "1;x");
    writeFileSync(join(directory, youngTemporary), "1;x");
    age(join(directory, oldTemporary), 120);
    age(join(directory, youngTemporary), 10);
    // Not ours: whatever their content or age.
    // The "_extra" name's key has no "-" or "_": with a "_" sixth, its last 43 characters would read
    // as a key (one run in 64 did).
    const foreign = ["README", "session_short", "notes.tmp-0123", "session_" + randomKey().replace(/[-_]/g, "x") + "_extra", "a b_" + randomKey(), "1;x.tmp-1"];
    for (const name of foreign) {
      writeFileSync(join(directory, name), "0;looks expired");
      age(join(directory, name), 3600);
    }
    mkdirSync(join(directory, "session_" + randomKey()));

    const removed = storage.cleanup(now);
    assert.equal(removed, 4, "expired, expiring now, corrupt, the old temporary file");
    const left = readdirSync(directory).sort();
    assert.ok(left.includes("session_" + live));
    assert.ok(left.includes("remember_" + remembered));
    assert.ok(left.includes(youngTemporary));
    for (const name of foreign) assert.ok(left.includes(name), "kept: " + name);
    for (const gone of ["session_" + expired, "session_" + expiringNow, "session_" + corrupt, oldTemporary]) {
      assert.ok(!left.includes(gone), "removed: " + gone);
    }
    assert.equal(left.length, 3 + foreign.length + 1, "nothing else removed (the directory entry stays)");
    assert.equal(storage.get("session", live, now), "live");
    assert.equal(storage.cleanup(now), 0, "a second sweep finds nothing");
  });

  it("the sweep's now decides: the same file is live at T0 and removed later", () => {
    const directory = freshDirectory();
    const storage = storageIn(directory);
    const key = randomKey();
    storage.set("session", key, "v", 100, T0);
    assert.equal(storage.cleanup(T0 + 99), 0);
    assert.equal(storage.cleanup(T0 + 100), 1);
    assert.deepEqual(readdirSync(directory), []);
  });

  it("with a prefix and suffix, only files carrying both are session files", () => {
    const directory = freshDirectory();
    const storage = storageIn(directory, { prefix: "px", suffix: "sess" });
    const ours = "px_session_" + randomKey() + ".sess";
    const others = ["session_" + randomKey(), "px_session_" + randomKey(), "session_" + randomKey() + ".sess", "qx_session_" + randomKey() + ".sess"];
    for (const name of [ours, ...others]) writeFileSync(join(directory, name), T0 - 1 + ";expired");
    assert.equal(storage.cleanup(T0), 1);
    assert.deepEqual(readdirSync(directory).sort(), others.slice().sort());
  });
});

describe("file storage: a session's life through the library (storage: \"file\")", () => {
  const SECRET = "file-storage-unit-secret";

  function sidKey(cookieHeader: string, name = "session"): string {
    const value = cookieHeader.split(/;\s*/).find((part) => part.startsWith(name + "="))!.substring(name.length + 1);
    const header = Buffer.from(value, "base64url");
    return header.subarray(3, 35).toString("base64url");
  }

  async function openAt(env: TestEnv, now: number, cookie: string, options: SessionOptions) {
    env.clock.now = now;
    const exchange = env.request(cookie);
    return { ...(await env.library.open(exchange, options)), exchange };
  }

  it("login, open, refresh with a new id (stale_ttl), logout: the files follow", async () => {
    const directory = freshDirectory();
    const options: SessionOptions = { secret: SECRET, storage: "file", file: { path: directory }, idling_timeout: 0, stale_ttl: 10 };
    const env = createEnv();
    const { cookie, exchange } = await mint(env, options, { role: "admin" }, { subject: "alice" });
    assert.equal(setCookieValue(exchange.responseCookies, "session")!.length, 110, "the cookie is the header alone");
    const key1 = sidKey(cookie);
    assert.deepEqual(readdirSync(directory), ["session_" + key1]);
    const raw = contentOf(join(directory, "session_" + key1));
    const [, expiry, json] = /^(\d+);(.*)$/s.exec(raw)!;
    assert.equal(Number(expiry), T0 + 3600, "stored for the rolling timeout");
    const record = JSON.parse(json);
    assert.ok(Array.isArray(record) && record.length === 1 && /^[A-Za-z0-9_-]+$/.test(record[0]), "[ciphertext]");
    assert.doesNotMatch(raw, /admin|alice/, "nothing readable on disk");

    const opened = await openAt(env, T0 + 100, cookie, options);
    assert.equal(opened.error, undefined);
    assert.deepEqual(opened.session.getData(), { role: "admin" });
    assert.equal(opened.session.getSubject(), "alice");

    // Past 3/4 of the rolling window: start() saves with a new id.
    env.clock.now = T0 + 2701;
    const startExchange = env.request(cookie);
    const started = await env.library.start(startExchange, options);
    assert.equal(started.refreshed, true);
    const cookie2 = nextCookie(startExchange, cookie);
    const key2 = sidKey(cookie2);
    assert.notEqual(key2, key1);
    assert.deepEqual(readdirSync(directory).sort(), ["session_" + key1, "session_" + key2].sort());
    assert.match(contentOf(join(directory, "session_" + key1)), new RegExp("^" + (T0 + 2711) + ";"), "old file: now + stale_ttl");
    assert.match(contentOf(join(directory, "session_" + key2)), new RegExp("^" + (T0 + 2701 + 3600) + ";"));

    assert.equal((await openAt(env, T0 + 2710, cookie, options)).exists, true, "the old cookie within stale_ttl");
    assert.equal((await openAt(env, T0 + 2711, cookie, options)).error, "unable to load session", "and not after");
    assert.equal((await openAt(env, T0 + 2711, cookie2, options)).exists, true);

    env.clock.now = T0 + 2720;
    const logoutExchange = env.request(cookie2);
    const loggedOut = await env.library.logout(logoutExchange, options);
    assert.equal(loggedOut.ok, true);
    assert.ok(isExpiredLine(setCookieLine(logoutExchange.responseCookies, "session")));
    assert.equal(existsSync(join(directory, "session_" + key2)), false, "logout deletes the file");
    assert.equal((await openAt(env, T0 + 2721, cookie2, options)).error, "unable to load session");
  });

  it("absolute_timeout caps the record's lifetime", async () => {
    const directory = freshDirectory();
    const options: SessionOptions = { secret: SECRET, storage: "file", file: { path: directory }, absolute_timeout: 100 };
    const env = createEnv();
    const { cookie } = await mint(env, options);
    assert.match(contentOf(join(directory, "session_" + sidKey(cookie))), new RegExp("^" + (T0 + 100) + ";"));
  });

  it("hash_storage_key with prefix and suffix: the file is named by SHA-256 of the id, never the id", async () => {
    const directory = freshDirectory();
    const options: SessionOptions = {
      secret: SECRET,
      storage: "file",
      file: { path: directory, prefix: "px", suffix: "sess" },
      hash_storage_key: true,
    };
    const env = createEnv();
    const { cookie } = await mint(env, options);
    const value = cookie.split("=")[1];
    const sid = Buffer.from(value, "base64url").subarray(3, 35);
    const hashed = createHash("sha256").update(sid).digest("base64url");
    assert.deepEqual(readdirSync(directory), ["px_session_" + hashed + ".sess"]);
    assert.ok(!readdirSync(directory)[0].includes(sid.toString("base64url")));
    assert.equal((await openAt(env, T0 + 1, cookie, options)).exists, true);
  });

  it("a session whose file was removed, or expired by hand, does not open", async () => {
    const directory = freshDirectory();
    const options: SessionOptions = { secret: SECRET, storage: "file", file: { path: directory } };
    const env = createEnv();
    const { cookie } = await mint(env, options);
    const path = join(directory, "session_" + sidKey(cookie));
    const json = contentOf(path).replace(/^\d+;/, "");
    writeFileSync(path, T0 + 5 + ";" + json);
    assert.equal((await openAt(env, T0 + 4, cookie, options)).exists, true);
    assert.equal((await openAt(env, T0 + 5, cookie, options)).error, "unable to load session");
    writeFileSync(path, T0 + 3600 + ";not json");
    assert.equal((await openAt(env, T0 + 6, cookie, options)).error, "unable to json decode session");
    rmSync(path);
    assert.equal((await openAt(env, T0 + 7, cookie, options)).error, "unable to load session");
  });

  it("saving into a missing directory fails closed with a ConfigError", async () => {
    const options: SessionOptions = { secret: SECRET, storage: "file", file: { path: join(root, "nowhere") } };
    const env = createEnv();
    const session = env.library.new(env.request(), options);
    session.setData({ a: 1 });
    await assert.rejects(session.save(), (e: unknown) => isConfigError(e) && /file storage cannot write in/.test((e as Error).message));
  });
});
