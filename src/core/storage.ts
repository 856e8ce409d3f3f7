/**
 * The storage interface: lua-resty-session's four verbs. Cookie storage is the absence of a storage
 * (the payload travels in the cookie); every server-side storage implements this. Methods may return
 * a value or a Promise of it, so synchronous stores (a shared dict) pay no await.
 */

import type { MaybePromise } from "./maybe";
import type { StoreTls } from "./platform";
import type { RegistryStore } from "./store-registry";

/** Who a session belongs to, for the per-user session registry (store_metadata). */
export interface StoreMetadata {
  /** base64url of each audience. */
  audiences: string[];
  /** base64url of each subject, or its truncated SHA-256 when hash_subject is on. */
  subjects: string[];
}

export interface Storage {
  /**
   * True when get, set and delete always return plain values, never promises (shm, file): the fast
   * check (fast-check.ts) then reads the record without leaving the synchronous path.
   */
  readonly synchronous?: boolean;
  /**
   * The option by which this storage's transport writes storage keys into a log (memcached.read_locations:
   * nginx's memcached module logs a key it did not find at info), if any. Without hash_storage_key a
   * storage key holds the session id, so settings.ts refuses that combination: no session id in a log.
   */
  readonly keysLoggedBy?: string;
  /**
   * Stores `value` under `key` for `ttl` seconds. When `oldKey` is given (the session was re-saved with
   * a new id), the old record is kept for `staleTtl` seconds so concurrent requests still carrying the
   * previous cookie succeed. Throws or rejects with a short reason on failure.
   */
  set(
    name: string,
    key: string,
    value: string,
    ttl: number,
    now: number,
    oldKey?: string,
    staleTtl?: number,
    metadata?: StoreMetadata,
    remember?: boolean,
  ): MaybePromise<void>;
  /**
   * The stored value, or null/undefined when there is none (expired, deleted, never stored). `host`:
   * the host's handle on the request being checked (njs: `r`), for a storage that can read through it
   * (memcached.read_locations); without it, the storage's own transport.
   */
  get(name: string, key: string, now: number, host?: unknown): MaybePromise<string | null | undefined>;
  /**
   * get, its outcome handed to `asking.answer` in the step the store's reply arrives rather than in a
   * promise step of the caller's own (that step costs QuickJS about what the reading of the reply
   * does); resolves to what the answer returns. Every failure goes to answer.failed, so the promise
   * rejects only when the answer itself throws. A storage without it is read by get (askAnswered).
   */
  ask?<T>(name: string, key: string, now: number, host: unknown, asking: StoreAsking<T>): Promise<T>;
  delete(name: string, key: string, now: number, metadata?: StoreMetadata): MaybePromise<void>;
  /** Sessions of a subject in an audience (only with store_metadata). */
  readMetadata?(name: string, audience: string, subject: string, now: number): MaybePromise<unknown>;
  /** Frees what expired sessions left behind, for storages that do not expire records themselves. */
  cleanup?(now: number): MaybePromise<number>;
  /**
   * A network storage that can hold the session registry and the revocations (store-registry.ts), for
   * sessions under cookie `name` with remember cookie `rememberName`: then every node shares them.
   */
  registryStore?(name: string, rememberName: string): RegistryStore;
  /**
   * A session record's read as data, where every read goes to one server by the bridge (one redis
   * server; one memcached server without read_locations): storage/read-route.ts makes the request and
   * reads the reply, for this storage and for the njs engine's warm check (check-view.ts keeps the
   * route in the location's view, so that check asks the store without building the storage).
   */
  readonly readRoute?: StoreReadRoute;
}

/** What a record read needs beyond the record's name (read-route.ts): see Storage.readRoute. */
export interface StoreReadRoute {
  protocol: "redis" | "memcached";
  /** host:port of the one server. */
  target: string;
  /** The store as the incident log names it ("redis 10.0.0.5:6379"; remote.ts). */
  store: string;
  /** Milliseconds the round trip may take. */
  timeout: number;
  /** The bridge's own URL in direct mode (no js_fetch_proxy), or undefined. */
  bridge: string | undefined;
  /** TLS to the server, where the platform's transport takes it (Node; never in a check view). */
  tls?: StoreTls;
  /** The connection prelude (redis: AUTH, SELECT) as the bytes' text, and how many commands it holds. */
  prelude: string;
  preludeCommands: number;
  /** The storage's key naming (names.ts): prefix and suffix around the cookie name and key. */
  prefix: string | undefined;
  suffix: string | undefined;
}

/**
 * Where the outcome of a store read (Storage.ask) goes: one object for every read of a kind; each read's
 * own state is the asking it is handed with.
 */
export interface StoreAnswer<T> {
  /** The stored value, or null/undefined when there is none. */
  stored(asking: StoreAsking<T>, value: string | null | undefined): T;
  /** The read failed: a StoreUnavailable error when the store could not answer. */
  failed(asking: StoreAsking<T>, error: unknown): T;
}

/** One store read under way: where its outcome goes, and whatever its asker keeps with it. */
export interface StoreAsking<T> {
  readonly answer: StoreAnswer<T>;
}

/** `value`'s outcome handed to `asking.answer`, in a promise step of its own (a storage without ask). */
export function askAnswered<T>(value: MaybePromise<string | null | undefined>, asking: StoreAsking<T>): Promise<T> {
  return Promise.resolve(value).then(
    function (stored) {
      return asking.answer.stored(asking, stored);
    },
    function (e) {
      return asking.answer.failed(asking, e);
    },
  );
}
