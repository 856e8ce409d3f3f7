/**
 * The CLI against a real nginx (the provisioned rootfs, nginx/in-rootfs.sh), under both engines:
 *   - a cookie minted by `njs-session mint` opens in nginx (and one minted with another key, or
 *     expired, does not: the CLI's verdict and nginx's agree);
 *   - a cookie nginx's login made is read by `njs-session inspect`, and which key sealed a cookie
 *     (the current one, or a fallback during a rotation) is what nginx's re-sealing says;
 *   - `sessions list` and `sessions revoke` drive the admin API (session.admin): listing, refusing a
 *     missing or wrong token, revoking one session and all of them, after which nginx refuses them.
 *
 *   NJS_SESSION_ROOTFS=... npm run test:cli
 *
 * nginx listens on the host's loopback (a port the kernel picks), where the CLI runs: no private
 * network namespace. Its files live in .cache/ (in-rootfs.sh mounts only the repository).
 */

import assert from "node:assert/strict";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { buildCli, REPO, runCli, runCliJson } from "../support/cli";
import { freePort, isListening } from "../e2e/demo-server";

const nodeProcess = (globalThis as unknown as { process: NodeJS.Process }).process;
const SECRET = "cli-nginx-secret-3d9e1f07b2";
const TOKEN = "cli-nginx-admin-token-8c4a61f0";
/** The key before a rotation: nginx still accepts it (secret_fallbacks) and re-seals with the current one. */
const OLD_SECRET = "cli-nginx-old-secret-51a0c7e2";
const AGENT = "cli-test-agent/1.0";
const START_TIMEOUT_MS = 20000;
/** The CLI's environment: the variables session.json names, as nginx has them. */
const CLI_ENV = { NJS_SESSION_CLI_TEST_SECRET: SECRET, NJS_SESSION_CLI_TEST_TOKEN: TOKEN };

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

before(() => {
  execFileSync(nodeProcess.execPath, [join(REPO, "build/build.mjs")], { cwd: REPO, stdio: "ignore" });
  buildCli();
});

interface Nginx {
  url: string;
  dir: string;
  stop(): Promise<void>;
}

async function startNginx(engine: string): Promise<Nginx> {
  const dir = join(REPO, ".cache", "cli-test-" + engine + "-" + nodeProcess.pid);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "www", "app"), { recursive: true });
  mkdirSync(join(dir, "tmp"), { recursive: true });
  writeFileSync(join(dir, "www", "app", "index.html"), "protected\n");
  writeFileSync(
    join(dir, "session.json"),
    JSON.stringify({
      secret: { env: "NJS_SESSION_CLI_TEST_SECRET" },
      secret_fallbacks: [OLD_SECRET],
      registry_zone: "sessions",
      store_metadata: true,
      nginx: { admin_token: { env: "NJS_SESSION_CLI_TEST_TOKEN" } },
    }),
  );
  const port = await freePort();
  const root = nodeProcess.getuid && nodeProcess.getuid() === 0;
  writeFileSync(
    join(dir, "nginx.conf"),
    `load_module /usr/lib/nginx/modules/ngx_http_js_module.so;
${root ? "user root;" : ""}
worker_processes 2;
error_log ${dir}/error.log info;
pid ${dir}/nginx.pid;
env NJS_SESSION_CONFIG=${dir}/session.json;
env NJS_SESSION_CLI_TEST_SECRET;
env NJS_SESSION_CLI_TEST_TOKEN;
events {}
http {
    access_log off;
    client_body_temp_path ${dir}/tmp/body;
    proxy_temp_path ${dir}/tmp/proxy;
    fastcgi_temp_path ${dir}/tmp/fastcgi;
    uwsgi_temp_path ${dir}/tmp/uwsgi;
    scgi_temp_path ${dir}/tmp/scgi;
    js_engine ${engine};
    js_path ${REPO}/dist/;
    variables_hash_max_size 2048;
    include ${REPO}/nginx/njs-session.conf;
    js_shared_dict_zone zone=sessions:1m timeout=1d;
    server {
        listen 127.0.0.1:${port};
        root ${dir}/www;
        location /app/ {
            js_access session.access;
            add_header X-Subject $session_subject always;
        }
        location = /login { js_content session.login; }
        # The login backend's verdict, from a proxied response as a real backend's would be
        # (an add_header on the subrequest's own return did not reach session.login here).
        location = /_session_login_backend {
            internal;
            proxy_pass http://127.0.0.1:${port}/backend;
        }
        location = /backend {
            add_header X-Session-Login '{"subject": "alice"}';
            return 204;
        }
        location = /admin { js_content session.admin; }
    }
}
`,
  );
  const env: { [name: string]: string | undefined } = { ...nodeProcess.env, ...CLI_ENV };
  delete env.NJS_SESSION_NETNS;
  const args = [join(REPO, "nginx", "in-rootfs.sh"), "nginx", "-p", dir, "-e", join(dir, "error.log"), "-c", join(dir, "nginx.conf"), "-g", "daemon off;"];
  const child: ChildProcess = spawn("bash", args, { cwd: REPO, env: env, stdio: ["ignore", "ignore", "pipe"], detached: true });
  let output = "";
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await isListening(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error("nginx did not start: " + output + readLog(dir));
    }
    await sleep(100);
  }
  return {
    url: "http://127.0.0.1:" + port,
    dir: dir,
    stop: async () => {
      try {
        nodeProcess.kill(-child.pid!, "SIGTERM");
      } catch (e) {
        // gone already
      }
      const timer = setTimeout(() => {
        try {
          nodeProcess.kill(-child.pid!, "SIGKILL");
        } catch (e) {
          // gone already
        }
      }, 5000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, "error.log"), "utf8");
  } catch (e) {
    return "";
  }
}

async function get(nginx: Nginx, cookie: string): Promise<{ status: number; subject: string | null }> {
  const response = await fetch(nginx.url + "/app/", { headers: { Cookie: cookie }, redirect: "manual" });
  await response.text();
  return { status: response.status, subject: response.headers.get("x-subject") };
}

/** POST /login through the login backend (subject alice); the Cookie header a browser sends next. */
async function login(nginx: Nginx): Promise<string> {
  const response = await fetch(nginx.url + "/login", { method: "POST", headers: { "User-Agent": AGENT }, redirect: "manual" });
  await response.text();
  const cookies = response.headers.getSetCookie().map((line) => line.split(";")[0]);
  assert.ok(cookies.length > 0, "login set a cookie (status " + response.status + ")");
  return cookies.join("; ");
}

for (const engine of ["njs", "qjs"]) {
  describe("the CLI and nginx, js_engine " + engine, () => {
    let nginx: Nginx;
    let config: string;
    let tokenFile: string;
    before(async () => {
      nginx = await startNginx(engine);
      config = join(nginx.dir, "session.json");
      tokenFile = join(nginx.dir, "token");
      writeFileSync(tokenFile, TOKEN + "\n");
    });
    after(async () => {
      if (nginx) await nginx.stop();
    });

    const admin = (verb: string, ...args: string[]) => ["sessions", verb, "--url", nginx.url + "/admin", "--subject", "alice", ...args];

    it("a cookie minted by the CLI opens in nginx; one minted with another key or expired does not", async () => {
      const minted = runCli(["mint", "--config", config, "--subject", "alice", "--data", '{"plan":"gold"}'], { env: CLI_ENV });
      assert.equal(minted.status, 0, minted.stderr);
      assert.deepEqual(await get(nginx, minted.stdout.trim()), { status: 200, subject: "alice" });
      const otherKey = runCli(["mint", "--secret", "another-secret-entirely", "--subject", "alice"]);
      assert.equal((await get(nginx, otherKey.stdout.trim())).status, 401);
      const old = Math.floor(Date.now() / 1000) - 1000;
      const expired = runCli(["mint", "--config", config, "--subject", "alice", "--now", String(old)], { env: CLI_ENV }).stdout.trim();
      assert.equal((await get(nginx, expired)).status, 401, "idle for 1000 s of 900");
      assert.equal(runCli(["inspect", expired, "--config", config], { env: CLI_ENV }).status, 5, "the CLI says expired too");
    });

    it("key rotation: a cookie sealed by the old key opens in nginx, inspect names fallback 1, nginx's re-sealed one the current key", async () => {
      const old = runCli(["mint", "--secret", OLD_SECRET, "--subject", "alice"]).stdout.trim();
      assert.equal(runCliJson(["inspect", old, "--config", config], { env: CLI_ENV }).json.key.name, "fallback 1");
      const response = await fetch(nginx.url + "/app/", { headers: { Cookie: old }, redirect: "manual" });
      await response.text();
      assert.equal(response.status, 200);
      const resealed = response.headers.getSetCookie().map((line) => line.split(";")[0]).join("; ");
      assert.match(resealed, /^session=/, "nginx re-seals a session opened with a fallback key");
      assert.equal(runCliJson(["inspect", resealed, "--config", config], { env: CLI_ENV }).json.key.name, "current");
    });

    it("a cookie nginx's login made is read by inspect: subject, key, times", async () => {
      const before = Math.floor(Date.now() / 1000);
      const cookie = await login(nginx);
      const { status, json } = runCliJson(["inspect", cookie, "--config", config], { env: CLI_ENV });
      assert.equal(status, 0);
      assert.equal(json.verified, true);
      assert.equal(json.key.name, "current");
      assert.equal(json.entries[0].subject, "alice");
      assert.ok(json.header.creation_time >= before - 100 && json.header.creation_time <= before + 5);
    });

    it("sessions list: the login's session with its device; refused without the token or with a wrong one", async () => {
      const cookie = await login(nginx);
      assert.equal((await get(nginx, cookie)).status, 200);
      const listed = runCliJson(admin("list"), { env: { NJS_SESSION_ADMIN_TOKEN: TOKEN } });
      assert.equal(listed.status, 0, listed.stderr);
      assert.equal(listed.json.subject, "alice");
      assert.ok(listed.json.sessions.length >= 1);
      // The login's session, by its device (the rotation test's re-sealed session is listed too).
      assert.ok(listed.json.sessions.some((s: { user_agent?: string }) => s.user_agent === AGENT), JSON.stringify(listed.json));
      const human = runCli(admin("list", "--token-file", tokenFile));
      assert.equal(human.status, 0, human.stderr);
      assert.match(human.stdout, /^subject "alice", audience "default": \d+ sessions?\nID +CREATED +LAST SEEN +EXPIRES +REMEMBER +IP +USER AGENT\n/);
      assert.ok(human.stdout.includes(AGENT));

      const missing = runCli(admin("list"));
      assert.equal(missing.status, 8);
      assert.match(missing.stderr, /wants a token \(HTTP 401\)/);
      const wrongFile = join(nginx.dir, "wrong-token");
      writeFileSync(wrongFile, "not-the-admin-token-at-all\n");
      const wrong = runCli(admin("list", "--token-file", wrongFile));
      assert.equal(wrong.status, 8);
      assert.match(wrong.stderr, /HTTP 401: a valid bearer token is required/);
      for (const result of [listed.json, human, missing, wrong]) assert.ok(!JSON.stringify(result).includes(TOKEN), "the token is never printed");
    });

    it("sessions revoke --id: that session is refused by nginx at once, the others not", async () => {
      const first = await login(nginx);
      await sleep(1100);
      const second = await login(nginx);
      const firstId = String(runCliJson(["inspect", first, "--config", config], { env: CLI_ENV }).json.header.creation_time);
      const asked = (cookie: string) => runCliJson(["inspect", cookie, "--config", config, "--url", nginx.url + "/admin"], { env: { ...CLI_ENV, NJS_SESSION_ADMIN_TOKEN: TOKEN } });
      const before = asked(first);
      assert.equal(before.status, 0, before.stderr);
      assert.deepEqual(before.json.revocation, [{ audience: "default", subject: "alice", listed: true, revoked: false }]);
      const revoked = runCliJson(admin("revoke", "--id", firstId), { env: { NJS_SESSION_ADMIN_TOKEN: TOKEN } });
      assert.equal(revoked.status, 0, revoked.stderr);
      assert.deepEqual(revoked.json.revoked.map((s: { id: string }) => s.id), [firstId]);
      assert.equal((await get(nginx, first)).status, 401);
      assert.equal((await get(nginx, second)).status, 200);
      const after = asked(first);
      assert.equal(after.status, 4, "inspect --url: refused, as nginx refuses it");
      assert.deepEqual(after.json.revocation, [{ audience: "default", subject: "alice", listed: false, revoked: true }]);
      assert.equal(asked(second).json.revocation[0].revoked, false, "the other session is not revoked");
      const human = runCli(["inspect", first, "--config", config, "--url", nginx.url + "/admin", "--token-file", tokenFile], { env: CLI_ENV });
      assert.equal(human.status, 4);
      assert.match(human.stdout, /\nrevoked: +YES in audience "default": nginx refuses it\n/);
      assert.ok(!(human.stdout + human.stderr).includes(TOKEN), "the token is never printed");
      const again = runCli(admin("revoke", "--id", firstId), { env: { NJS_SESSION_ADMIN_TOKEN: TOKEN } });
      assert.equal(again.status, 8);
      assert.match(again.stderr, /HTTP 404: no such session/);
    });

    it("sessions revoke --all: every session of the subject refused, minted ones too; the list is empty", async () => {
      const cookie = await login(nginx);
      const minted = runCli(["mint", "--config", config, "--subject", "alice"], { env: CLI_ENV }).stdout.trim();
      assert.equal((await get(nginx, minted)).status, 200);
      await sleep(1100);
      const result = runCli(admin("revoke", "--all", "--token-file", tokenFile));
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /^revoked every session of subject "alice"/);
      assert.equal((await get(nginx, cookie)).status, 401);
      assert.equal((await get(nginx, minted)).status, 401);
      assert.deepEqual(runCliJson(admin("list"), { env: { NJS_SESSION_ADMIN_TOKEN: TOKEN } }).json.sessions, []);
      const inspected = runCliJson(["inspect", minted, "--config", config, "--url", nginx.url + "/admin"], { env: { ...CLI_ENV, NJS_SESSION_ADMIN_TOKEN: TOKEN } });
      assert.equal(inspected.status, 4, "a minted session, never listed, is revoked all the same");
      assert.equal(inspected.json.revocation[0].revoked, true);
    });

    it("usage errors and an unreachable admin API: statuses 2 and 8, one line", async () => {
      assert.equal(runCli(admin("revoke")).status, 2, "--id or --all");
      assert.equal(runCli(["sessions", "list", "--subject", "alice"]).status, 2, "--url");
      const port = await freePort();
      const unreachable = runCli(["sessions", "list", "--url", "http://127.0.0.1:" + port + "/admin", "--subject", "alice"]);
      assert.equal(unreachable.status, 8);
      assert.match(unreachable.stderr, /^njs-session: cannot reach the admin API at http:\/\/127\.0\.0\.1:\d+\/admin: ECONNREFUSED\n$/);
    });
  });
}
