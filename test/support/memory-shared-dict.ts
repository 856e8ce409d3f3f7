/**
 * An in-memory `ngx.shared.<zone>` (js_shared_dict_zone) that behaves as nginx/njs implements it in
 * nginx/ngx_js_shared_dict.c, so shm storage and the registry can be tested on Node:
 *
 *   set/add/replace   value type checked first ("string value is expected" / "number value is expected"),
 *                     then the timeout argument ("timeout is not a number", "shared dict must be
 *                     declared with timeout", "timeout must be greater than or equal to 1"); no timeout
 *                     argument means the zone's own timeout
 *   add               false while the key exists and has not expired; an expired key is overwritten
 *   replace           false when the key is absent; a key that expired but was not freed yet is
 *                     updated (the C code does not look at its expiry)
 *   get / has         undefined / false once expired (now >= expiry)
 *   delete            true when the key is in the tree, expired or not
 *   memory            a new key frees the expired keys first (ngx_js_dict_expire); an update allocates
 *                     the new value before freeing the old one; when an allocation does not fit, a zone
 *                     without `evict` throws SharedMemoryError (empty message), a zone with `evict`
 *                     frees 16 keys at a time nearest to expiry first (never the key being updated)
 *
 * Sizes are counted, not measured: NODE_SIZE bytes per key (the C node struct) plus the key's and a
 * string value's UTF-8 bytes. Slab rounding and page overhead are left out, so `capacity` is the
 * usable bytes, not the `:10m` of the directive. The clock is injectable and in milliseconds, like
 * ngx_timeofday() in the C code.
 *
 * `engine: "qjs"` converts an explicit timeout as the QuickJS binding does (JS_ToUint32: modulo 2^32
 * milliseconds, about 49.7 days); the njs engine casts the double to the 64-bit ngx_msec_t.
 */

/** sizeof(ngx_js_dict_node_t) on 64-bit: ngx_str_node_t (56) + expire ngx_rbtree_node_t (40) + value (16). */
export const NODE_SIZE = 112;
/** How many keys one round of ngx_js_dict_evict() frees when an allocation does not fit. */
export const EVICT_BATCH = 16;
/** The default count of keys() (max_count in the C code). */
const KEYS_DEFAULT_MAX = 1024;

export interface MemorySharedDictOptions {
  /** The zone name (js_shared_dict_zone zone=NAME:size). */
  name?: string;
  /** type=string (default) or type=number. */
  type?: "string" | "number";
  /** timeout= of the zone in milliseconds; 0 or absent: the zone has none (and per-key timeouts throw). */
  timeout?: number;
  /** Usable bytes; Infinity when absent. */
  capacity?: number;
  /** The `evict` flag of the directive (nginx refuses it without timeout=, so does this). */
  evict?: boolean;
  /** Milliseconds since the epoch; Date.now when absent. */
  clock?: () => number;
  /** How an explicit timeout argument is converted: "njs" (default) or "qjs" (JS_ToUint32). */
  engine?: "njs" | "qjs";
}

interface Node {
  value: string | number;
  /** Milliseconds; only meaningful when the zone has a timeout. */
  expire: number;
  /** Whether the node is in the expire tree (an update takes it out while it allocates). */
  inExpireTree: boolean;
  /** Tie-breaker among equal expiry times: insertion order in the expire tree. */
  sequence: number;
}

export interface MemorySharedDict {
  readonly name: string;
  readonly type: "string" | "number";
  readonly capacity: number;
  get(key: string): string | number | undefined;
  has(key: string): boolean;
  set(key: string, value: string | number, timeout?: number): MemorySharedDict;
  add(key: string, value: string | number, timeout?: number): boolean;
  replace(key: string, value: string | number, timeout?: number): boolean;
  delete(key: string): boolean;
  pop(key: string): string | number | undefined;
  /** Milliseconds left, or undefined for a missing or expired key; throws without a zone timeout. */
  ttl(key: string): number | undefined;
  keys(maxCount?: number): string[];
  items(maxCount?: number): Array<[string, string | number]>;
  size(): number;
  clear(): void;
  freeSpace(): number;
  /** Test-only: every key still held in memory (expired or not), with its value and expiry in ms. */
  inspect(): Array<{ key: string; value: string | number; expire: number | undefined }>;
  /** Test-only: bytes the zone's keys take (NODE_SIZE + key + string value each). */
  usedBytes(): number;
}

export function sharedMemoryError(): Error {
  const error = new Error("");
  error.name = "SharedMemoryError";
  return error;
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** ECMAScript ToUint32, as JS_ToUint32 applies it. */
function toUint32(value: number): number {
  if (!isFinite(value)) return 0;
  const truncated = Math.trunc(value);
  return ((truncated % 2 ** 32) + 2 ** 32) % 2 ** 32;
}

const FLAG_MUST_EXIST = 1;
const FLAG_MUST_NOT_EXIST = 2;

export function createMemorySharedDict(options: MemorySharedDictOptions = {}): MemorySharedDict {
  const name = options.name || "sessions";
  const type = options.type || "string";
  const zoneTimeout = options.timeout || 0;
  const capacity = options.capacity === undefined ? Infinity : options.capacity;
  const evict = !!options.evict;
  const clock = options.clock || Date.now;
  const engine = options.engine || "njs";
  if (evict && !zoneTimeout) throw new Error('js_shared_dict_zone "' + name + '": evict requires timeout=');

  const nodes = new Map<string, Node>();
  let used = 0;
  let sequence = 0;

  function nodeBytes(key: string, value: string | number): number {
    return NODE_SIZE + byteLength(key) + (typeof value === "string" ? byteLength(value) : 0);
  }

  function valueBytes(value: string | number): number {
    return typeof value === "string" ? byteLength(value) : 0;
  }

  /** The expire tree in order: nearest expiry first. */
  function expireOrder(): Array<[string, Node]> {
    const inTree: Array<[string, Node]> = [];
    nodes.forEach((node, key) => {
      if (node.inExpireTree) inTree.push([key, node]);
    });
    inTree.sort((a, b) => a[1].expire - b[1].expire || a[1].sequence - b[1].sequence);
    return inTree;
  }

  function free(key: string): void {
    const node = nodes.get(key);
    if (!node) return;
    used -= nodeBytes(key, node.value);
    nodes.delete(key);
  }

  /** ngx_js_dict_expire(): frees every key whose expiry has come. */
  function expire(now: number): void {
    for (const [key, node] of expireOrder()) {
      if (node.expire > now) return;
      free(key);
    }
  }

  /** ngx_js_dict_evict(dict, count): frees up to `count` keys nearest to expiry, expired or not. */
  function evictSome(count: number): number {
    let evicted = 0;
    for (const [key] of expireOrder()) {
      if (evicted === count) break;
      free(key);
      evicted++;
    }
    return evicted;
  }

  /** ngx_js_dict_alloc(): whether `bytes` more fit, evicting first when the zone may. */
  function allocate(bytes: number): boolean {
    if (used + bytes <= capacity) return true;
    if (!evict) return false;
    while (used + bytes > capacity) {
      if (evictSome(EVICT_BATCH) === 0) return false;
    }
    return true;
  }

  function checkArguments(value: unknown, timeout: unknown): number {
    if (type === "string") {
      if (typeof value !== "string") throw new TypeError("string value is expected");
    } else if (typeof value !== "number") {
      throw new TypeError("number value is expected");
    }
    if (timeout === undefined) return zoneTimeout;
    if (typeof timeout !== "number") throw new TypeError("timeout is not a number");
    if (!zoneTimeout) throw new TypeError("shared dict must be declared with timeout");
    const converted = engine === "qjs" ? toUint32(timeout) : isFinite(timeout) ? Math.trunc(timeout) : 0;
    if (converted < 1) throw new TypeError("timeout must be greater than or equal to 1");
    return converted;
  }

  /** ngx_js_dict_set(): "ok", "declined" (add/replace refused), or throws SharedMemoryError. */
  function store(key: string, value: string | number, timeout: number, flags: number): boolean {
    const now = clock();
    const node = nodes.get(key);
    if (!node) {
      if (flags & FLAG_MUST_EXIST) return false;
      if (zoneTimeout) expire(now);
      // The node (with its key) and the string value are two allocations, as in ngx_js_dict_add_value().
      if (!allocate(NODE_SIZE + byteLength(key))) throw sharedMemoryError();
      used += NODE_SIZE + byteLength(key);
      if (!allocate(valueBytes(value))) {
        used -= NODE_SIZE + byteLength(key);
        throw sharedMemoryError();
      }
      used += valueBytes(value);
      nodes.set(key, { value, expire: now + timeout, inExpireTree: !!zoneTimeout, sequence: sequence++ });
      return true;
    }
    if (flags & FLAG_MUST_NOT_EXIST && (!zoneTimeout || now < node.expire)) return false;
    // ngx_js_dict_update(): out of the expire tree while allocating, so eviction cannot free it.
    node.inExpireTree = false;
    if (!allocate(valueBytes(value))) {
      node.inExpireTree = !!zoneTimeout;
      throw sharedMemoryError();
    }
    used += valueBytes(value) - valueBytes(node.value);
    node.value = value;
    node.expire = now + timeout;
    node.inExpireTree = !!zoneTimeout;
    node.sequence = sequence++;
    return true;
  }

  function live(node: Node | undefined): node is Node {
    return node !== undefined && (!zoneTimeout || clock() < node.expire);
  }

  const dict: MemorySharedDict = {
    get name() {
      return name;
    },
    get type() {
      return type;
    },
    get capacity() {
      return capacity;
    },
    get(key) {
      const node = nodes.get(String(key));
      return live(node) ? node.value : undefined;
    },
    has(key) {
      return live(nodes.get(String(key)));
    },
    set(key, value, timeout) {
      store(String(key), value, checkArguments(value, timeout), 0);
      return dict;
    },
    add(key, value, timeout) {
      return store(String(key), value, checkArguments(value, timeout), FLAG_MUST_NOT_EXIST);
    },
    replace(key, value, timeout) {
      return store(String(key), value, checkArguments(value, timeout), FLAG_MUST_EXIST);
    },
    delete(key) {
      if (!nodes.has(String(key))) return false;
      free(String(key));
      return true;
    },
    pop(key) {
      const node = nodes.get(String(key));
      if (!node) return undefined;
      const value = live(node) ? node.value : undefined;
      free(String(key));
      return value;
    },
    ttl(key) {
      if (!zoneTimeout) throw new TypeError("shared dict must be declared with timeout");
      const node = nodes.get(String(key));
      if (!node) return undefined;
      const now = clock();
      return now < node.expire ? node.expire - now : undefined;
    },
    keys(maxCount = KEYS_DEFAULT_MAX) {
      return dict.items(maxCount).map((item) => item[0]);
    },
    items(maxCount = KEYS_DEFAULT_MAX) {
      const out: Array<[string, string | number]> = [];
      // The C code walks the red-black tree by CRC32 of the key; the order carries no meaning.
      for (const [key, node] of nodes) {
        if (!live(node)) continue;
        if (out.length === maxCount) break;
        out.push([key, node.value]);
      }
      return out;
    },
    size() {
      let count = 0;
      nodes.forEach((node) => {
        if (live(node)) count++;
      });
      return count;
    },
    clear() {
      // With a timeout the C code evicts everything through the expire tree; without, it frees all nodes.
      for (const key of Array.from(nodes.keys())) free(key);
    },
    freeSpace() {
      return capacity - used;
    },
    inspect() {
      return Array.from(nodes.entries()).map(([key, node]) => ({
        key,
        value: node.value,
        expire: zoneTimeout ? node.expire : undefined,
      }));
    },
    usedBytes() {
      return used;
    },
  };
  return dict;
}
