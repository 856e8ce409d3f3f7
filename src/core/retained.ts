/**
 * Everything that outlives a request, in one place and under one bounding policy: location contexts,
 * the settings resolved for per-location overrides (api.ts), storage instances, derived keys, verified
 * caches, store incidents and topology, QuickJS's known answers. No other module keeps state across
 * requests that requests or configuration made (a constant built on first use, such as a RegExp, is
 * not such state; nor are the built lazy parts, which src/nginx/index.ts keeps because this module is
 * one of them).
 *
 * How long "outlives a request" is depends on where the code runs:
 *   - nginx, QuickJS: module scope lives per JS context, and nginx reuses a context for many requests
 *     of one worker (js_context_reuse); never across workers.
 *   - nginx, njs engine: the module's top level runs again for every request (ngx_njs_clone →
 *     njs_vm_start), so all of this lives for one request. What must outlive a request there goes to
 *     a shared dict zone (njs_session_cache) instead.
 *   - Node: the process.
 * Hence nothing here may hold one request's identity for another request to read, unless the value is
 * a function of what that other request hands in itself (a cookie value verified before, a config text).
 *
 * The bounding policy: every table is a BoundedTable made by retainedTable(); it holds at most its
 * bound of entries (and, where requests make keys or values as large as they like, of characters),
 * and when full the oldest entries go. Bounds guard against input-made keys (per-request overrides,
 * many cookies); the keys that configuration makes are few.
 *
 * Tables are made on first use. In nginx this module is itself a lazy part of session.js
 * (njsSessionRetained(), build/build.mjs): under the njs engine its top level is paid only by a request
 * that builds one of the other lazy parts.
 */

export interface BoundedTable<V> {
  get(key: string): V | undefined;
  /**
   * Adds or replaces (undefined is no value); when the table is full, its oldest entries are dropped
   * first. In a table bounded in characters too, `size` is the value's (the key's own are counted
   * with it), and an entry larger than that whole bound is not kept.
   */
  set(key: string, value: V, size?: number): void;
  /** Removes the entry, if there is one. */
  delete(key: string): void;
  /** Removes every entry. */
  clear(): void;
}

interface TableState<V> {
  values: { [key: string]: V };
  /** Insertion order, for dropping the oldest. */
  order: string[];
  bound: number;
  /** A bound on the characters of every key and value together (0: none), what they hold now, and each entry's. */
  chars: number;
  held: number;
  sizes: { [key: string]: number };
}

/** `dropped` is told of every entry that leaves the table. */
function makeTable<V>(bound: number, chars: number, dropped: () => void): BoundedTable<V> {
  // Objects without a prototype, not Maps (the njs engine has none): a key such as "constructor" or
  // "__proto__" is just a key (keys may come from requests).
  const state: TableState<V> = { values: Object.create(null), order: [], bound: bound, chars: chars, held: 0, sizes: Object.create(null) };
  function remove(key: string): void {
    delete state.values[key];
    if (state.chars) {
      state.held -= state.sizes[key];
      delete state.sizes[key];
    }
    dropped();
  }
  return {
    get: function (key: string): V | undefined {
      return state.values[key];
    },
    set: function (key: string, value: V, size?: number): void {
      if (state.chars) {
        const needed = key.length + (size || 0);
        if (state.values[key] !== undefined) {
          remove(key);
          state.order.splice(state.order.indexOf(key), 1);
        }
        if (needed > state.chars) return;
        while (state.order.length && (state.order.length >= state.bound || state.held + needed > state.chars)) remove(state.order.shift() as string);
        state.sizes[key] = needed;
        state.held += needed;
        state.order.push(key);
      } else if (state.values[key] === undefined) {
        if (state.order.length >= state.bound) remove(state.order.shift() as string);
        state.order.push(key);
      }
      state.values[key] = value;
    },
    delete: function (key: string): void {
      if (state.values[key] === undefined) return;
      remove(key);
      state.order.splice(state.order.indexOf(key), 1);
    },
    clear: function (): void {
      if (!state.order.length) return;
      state.values = Object.create(null);
      state.sizes = Object.create(null);
      state.order = [];
      state.held = 0;
      dropped();
    },
  };
}

interface Retained {
  table: BoundedTable<unknown>;
  /**
   * What retainedGet found last in this table, returned again without the lookups: most requests of
   * a worker ask for the location context or settings the request before asked for. Forgotten when
   * an entry leaves the table, so that nothing is handed out that the bound has dropped.
   */
  lastKey: string | undefined;
  lastOwner: object | undefined;
  lastValue: unknown;
}

const tables: { [name: string]: Retained } = {};

function retained(name: string, bound: number, chars: number): Retained {
  let found = tables[name];
  if (!found) {
    const made: Retained = { table: null as unknown as BoundedTable<unknown>, lastKey: undefined, lastOwner: undefined, lastValue: undefined };
    made.table = makeTable<unknown>(bound, chars, () => forgetLastFound(made));
    tables[name] = found = made;
  }
  return found;
}

function forgetLastFound(found: Retained): void {
  found.lastKey = found.lastOwner = found.lastValue = undefined;
}

/**
 * The table of this name, made with these bounds on first use (the same name must keep its bounds):
 * at most `bound` entries and, when `chars` is given, at most that many characters of keys and
 * values together (for tables whose keys or values are as large as requests make them).
 */
export function retainedTable<V>(name: string, bound: number, chars?: number): BoundedTable<V> {
  return retained(name, bound, chars || 0).table as BoundedTable<V>;
}

interface Owned<V> {
  owner: object;
  value: V;
}

/**
 * Tables of values per owner object under a string key: several owners (platforms, configurations)
 * live side by side in one Node process, and init() makes a new configuration in nginx. Bounded like
 * any table by key, and by `bound` owners per key.
 */
export function retainedGet<V>(name: string, key: string, owner: object): V | undefined {
  const found = tables[name];
  if (!found) return undefined;
  if (found.lastKey === key && found.lastOwner === owner) return found.lastValue as V;
  const owned = (found.table as BoundedTable<Array<Owned<V>>>).get(key);
  if (!owned) return undefined;
  for (let i = 0; i < owned.length; i++) {
    if (owned[i].owner === owner) {
      found.lastKey = key;
      found.lastOwner = owner;
      return (found.lastValue = owned[i].value);
    }
  }
  return undefined;
}

export function retainedSet<V>(name: string, bound: number, key: string, owner: object, value: V): V {
  const found = retained(name, bound, 0);
  const table = found.table as BoundedTable<Array<Owned<V>>>;
  let owned = table.get(key);
  if (!owned) {
    owned = [];
    table.set(key, owned);
  }
  if (owned.length >= bound) {
    owned.shift();
    forgetLastFound(found);
  }
  owned.push({ owner: owner, value: value });
  return value;
}
