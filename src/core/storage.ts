/**
 * The storage interface: lua-resty-session's four verbs. Cookie storage is the absence of a storage
 * (the payload travels in the cookie); every server-side storage implements this. Methods may return
 * a value or a Promise of it, so synchronous stores (a shared dict) pay no await.
 */

import type { MaybePromise } from "./maybe";
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
}
