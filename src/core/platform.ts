/**
 * What the core needs from its host, and nothing more. The njs adapter (src/platform/njs.ts) and the
 * Node adapter (src/platform/node.ts) implement these; the core never touches `ngx`, `r` or Node APIs.
 */

import type { SharedDict } from "./shared-dict";

export type LogLevel = "debug" | "info" | "warn" | "error";

/** A hash under way (the host's Hash object), opaque to the core: only the platform reads it. */
export type Sha256State = object;

/** An imported AES-GCM key (WebCrypto's CryptoKey), opaque to the core: only the platform reads it. */
export type AesGcmKey = object;

export interface Platform {
  /** Current time in whole unix seconds; tests and tools can open a session "as of" another time. */
  now(): number;
  randomBytes(size: number): Uint8Array;
  /**
   * Synchronous on purpose: key derivation and the MAC check stay off the async path. The digests may
   * be Buffers (njs), whose slice() is a view, not a copy: the core reads them, or copies with set().
   */
  sha256(data: Uint8Array): Uint8Array;
  /**
   * SHA-256 as unpadded base64url text (43 characters), encoded by the host itself: text wanted from
   * a digest (the loggable id) then needs no digest bytes and no encoder call of ours.
   */
  sha256Base64Url(data: Uint8Array): string;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /**
   * HMAC-SHA256 over first ‖ second ‖ third ‖ fourth, the parts handed to the host's HMAC one by one:
   * HKDF's inputs (a block, the info's prefix, the session id, the block's counter) without an array
   * built and filled first.
   */
  hmacSha256Parts(key: Uint8Array, first: Uint8Array, second: Uint8Array, third?: Uint8Array, fourth?: Uint8Array): Uint8Array;
  /**
   * A SHA-256 that has taken `prefix` and can be continued any number of times (sha256Continued): for
   * HMAC with a key fixed per configured key (keys.ts), whose padded blocks are then hashed once per
   * key, not once per HMAC. Absent where module state lasts one request (the njs engine): there the
   * states would be made again on every request, which costs more than the HMACs they spare.
   */
  sha256Started?(prefix: Uint8Array): Sha256State;
  /**
   * SHA-256 of the state's prefix ‖ first ‖ second ‖ third ‖ fourth, the parts handed to the host's
   * hash one by one; the state is left as it was. Given with sha256Started.
   */
  sha256Continued?(state: Sha256State, first: Uint8Array, second?: Uint8Array, third?: Uint8Array, fourth?: Uint8Array): Uint8Array;
  /** PBKDF2-HMAC-SHA256, only for remember cookies (deliberately slow). */
  pbkdf2Sha256(password: Uint8Array, salt: Uint8Array, iterations: number, size: number): Promise<Uint8Array>;
  /**
   * AES-256-GCM encryption in two calls the caller awaits itself: the key's import, then the
   * encryption with the imported key. Not one async function that awaits both: each async step more
   * between the caller and the ciphertext costs QuickJS a job and a promise on every save.
   */
  aesGcmEncryptionKey(key: Uint8Array): Promise<AesGcmKey>;
  /** The ciphertext followed by its 16-byte tag (cookie-sealing.ts splits them). */
  aesGcmEncrypt(key: AesGcmKey, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<ArrayBuffer>;
  /** Resolves to null when authentication fails; never throws for a bad tag. */
  aesGcmDecrypt(
    key: Uint8Array,
    iv: Uint8Array,
    ciphertext: Uint8Array,
    aad: Uint8Array,
    tag: Uint8Array,
  ): Promise<Uint8Array | null>;
  /** Raw deflate (no zlib or gzip header), as lua-resty-session writes. */
  deflateRaw(data: Uint8Array): Uint8Array;
  /** Raw inflate; returns null on corrupt input or when the output would exceed `maxSize`. */
  inflateRaw(data: Uint8Array, maxSize: number): Uint8Array | null;
  log(level: LogLevel, message: string): void;
  /** A shared dictionary zone by name (njs: ngx.shared), for shm storage and the session registry. */
  sharedDict?(zone: string): SharedDict | undefined;
  /** The file system, for file storage. */
  files?: FileSystem;
  /**
   * One round trip to a network store (Redis/Valkey, memcached): sends the commands, and resolves to
   * what `reader.read` makes of the raw bytes of exactly their replies, read in the step they arrive (a
   * step of the caller's own would cost QuickJS another promise job on every store read). When the
   * store cannot answer, `reader.failed` is handed the reason: the promise resolves to what it returns
   * or rejects with what it throws; what `read` throws is rejected with as it is. `asking` is handed to
   * both as it is. In nginx this goes through the store bridge (src/bridge); absent where no transport
   * exists.
   */
  storeExchange?<A, T>(request: StoreRequest, reader: StoreReader<A, T>, asking: A): Promise<T>;
  /**
   * The connection options of the network storages that this platform's store transport honours
   * itself. Node's transport makes its own connections, so it takes TLS and unix sockets; in nginx the
   * store bridge makes them, these are nginx.conf directives, and this is absent: remote.ts refuses
   * every option not listed here, naming where nginx sets it. The one place where what the JSON may
   * say differs between the platforms.
   */
  storeConnectionOptions?: ReadonlyArray<StoreConnectionOption>;
  /**
   * A memcached `get` of one key through an nginx location of the request `host` (njs: `r`) that
   * memcached_passes it (memcached.read_locations), in two calls so that the caller reads the answer
   * in its own promise step: locationGet sends it (rejects when it cannot), locationValue reads it:
   * the value, or null when memcached has none (404); it throws with the reason on any other answer
   * (the server unreachable: 502, 504). Absent where nginx does not run the request.
   */
  locationGet?(host: unknown, location: string, key: string): Promise<unknown>;
  locationValue?(answer: unknown): string | null;
  /**
   * Whether module-level state outlives a request: true on Node and on njs's QuickJS engine (per
   * context), false on the njs engine, which clones the module for every request. The in-memory
   * verified cache is only worth filling where it is true.
   */
  keepsModuleState?: boolean;
}

/**
 * What a store round trip's outcome is handed to (Platform.storeExchange), in the step it arrives: one
 * object for every round trip of a kind, each round trip's own state handed beside it (`asking`), as a
 * closure per round trip costs QuickJS more than the reading of a short reply.
 */
export interface StoreReader<A, T> {
  /** What the raw bytes of exactly the replies make. */
  read(replies: Uint8Array, asking: A): T;
  /** Why the store could not answer (unreachable, timed out, the bridge's error answer). */
  failed(reason: unknown, asking: A): T;
}

/**
 * lua-resty-session's own names (ssl, ssl_verify, server_name, socket), and ssl_trusted_certificate,
 * ours, named after nginx's proxy_ssl_trusted_certificate (the peer trusts lua_ssl_trusted_certificate).
 */
export type StoreConnectionOption = "ssl" | "ssl_verify" | "server_name" | "ssl_trusted_certificate" | "socket";

/** TLS to a store server (only where the platform takes `ssl`). */
export interface StoreTls {
  /** Check the certificate's chain and name (ssl_verify). */
  verify: boolean;
  /** Sent as SNI and checked in the certificate (server_name); by default the server's host name. */
  serverName?: string;
  /** PEM of the CAs to trust instead of the system's (ssl_trusted_certificate's file, read once). */
  trustedCertificates?: string;
}

/**
 * What the njs engine's warm check (src/nginx/warm.ts) and the stores its view names use of a
 * platform: the functions they call take only these, so that its platform (platform/njs.ts
 * createNjsWarmPlatform, made only for a view that names a store) is four members, not the whole one
 * (its crypto, file system and store objects).
 */
export type WarmPlatform = Pick<Platform, "now" | "sha256" | "log" | "sharedDict">;

/** The same with the store transport: the njs engine's warm record read (src/nginx/store-reads.ts). */
export type StoreReadPlatform = WarmPlatform & Required<Pick<Platform, "storeExchange">>;

/** A batch of commands for one store server, in its own protocol. */
export interface StoreRequest {
  protocol: "redis" | "memcached";
  /** host:port of the server, or unix:/path of its socket (only where the platform takes `socket`). */
  target: string;
  /** TLS to the server: the same object for every request of a storage (transports may key on it). */
  tls?: StoreTls;
  /** The commands, as text whose UTF-8 encoding is the bytes to send. */
  payload: string;
  commands: number;
  /** How many of the commands, first, set up the connection (AUTH, SELECT): run once per connection. */
  prelude: number;
  /** Milliseconds the whole round trip may take. */
  timeout: number;
  /** The bridge's own URL ("http://127.0.0.1:7379") when ngx.fetch has no js_fetch_proxy to reach it. */
  bridge?: string;
}

/** The few file operations file storage needs; every path is absolute. */
export interface FileSystem {
  /** The file's content, or null when it does not exist. */
  read(path: string): string | null;
  /** Writes to a temporary file beside `path`, then renames it over `path`: readers never see half a file. */
  writeAtomic(path: string, data: string, mode: number): void;
  /** Removes the file; no error when it is already gone. */
  remove(path: string): void;
  /** File names in a directory (not paths). */
  list(directory: string): string[];
  /** Last modification time in unix seconds, or null when the file does not exist. */
  modifiedAt(path: string): number | null;
}

/**
 * One HTTP exchange as the session sees it: the request's cookies and bound attributes, and the
 * response's Set-Cookie list. Adapters map this onto njs's `r` or onto Node's req/res.
 */
export interface Exchange {
  /** The raw Cookie request header (several headers joined by "; "), or undefined. */
  cookieHeader(): string | undefined;
  /** Replaces the Cookie header sent on (to an upstream); null removes it. */
  setRequestCookieHeader(value: string | null): void;
  setRequestHeader(name: string, value: string): void;
  setResponseHeader(name: string, value: string): void;
  /** Set-Cookie values of the response so far, in order. */
  getResponseCookies(): string[];
  setResponseCookies(cookies: string[]): void;
  remoteAddress(): string | undefined;
  scheme(): string | undefined;
  userAgent(): string | undefined;
}
