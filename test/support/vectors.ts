/** Reads the lua-resty-session 4.1.5 interoperability vectors from test/vectors (a verbatim copy, see test/vectors/README.md). */

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { SessionOptions } from "../../src/core/options";

export const VECTORS_PATH = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../vectors/lua-resty-session-4.1.5.json",
);

export interface VectorOpen {
  config: VectorConfig;
  now?: number;
  use_cookies?: string[];
  expect: "accept" | "reject";
  expected?: { data: unknown; audience: string; subject?: string };
  peer_result: { exists: boolean; err: string | null };
  note?: string;
}

export interface VectorConfig {
  [name: string]: unknown;
  ikm_b64url?: string;
  ikm_fallbacks_b64url?: string[];
}

export interface Vector {
  id: string;
  kind: "positive" | "negative";
  description: string;
  config: VectorConfig;
  created_at: number;
  set_cookie?: string[];
  cookies: { [name: string]: string };
  header?: { [field: string]: unknown };
  plaintext_json?: string;
  store?: { key: string; value: string; ttl: number };
  opens: VectorOpen[];
}

export function loadVectors(): Vector[] {
  return JSON.parse(readFileSync(VECTORS_PATH, "utf8")).vectors;
}

/** The vector's config as our options: base64url key material decoded to bytes. */
export function vectorOptions(config: VectorConfig): SessionOptions {
  const options: { [name: string]: unknown } = {};
  for (const name of Object.keys(config)) {
    if (name === "ikm_b64url") options.ikm = new Uint8Array(Buffer.from(config[name] as string, "base64url"));
    else if (name === "ikm_fallbacks_b64url") {
      options.ikm_fallbacks = (config[name] as string[]).map((k) => new Uint8Array(Buffer.from(k, "base64url")));
    } else options[name] = config[name];
  }
  return options as SessionOptions;
}

/** The Cookie header a browser sends for this open attempt. */
export function vectorCookieHeader(vector: Vector, open: VectorOpen): string {
  const names = open.use_cookies || Object.keys(vector.cookies);
  return names.map((name) => name + "=" + vector.cookies[name]).join("; ");
}
