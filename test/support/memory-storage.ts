/** A storage held in a plain object, keyed "<cookie name>:<key>" like lua-resty-session's shm storage. */

import type { Storage } from "../../src/core/storage";

export interface MemoryStorage extends Storage {
  records: { [key: string]: { value: string; expires: number } };
}

export function createMemoryStorage(initial: { [key: string]: string } = {}): MemoryStorage {
  const records: MemoryStorage["records"] = {};
  for (const key of Object.keys(initial)) records[key] = { value: initial[key], expires: Infinity };
  return {
    records,
    set(name, key, value, ttl, now, oldKey, staleTtl) {
      records[name + ":" + key] = { value, expires: now + ttl };
      if (oldKey && records[name + ":" + oldKey]) records[name + ":" + oldKey].expires = now + (staleTtl || 0);
    },
    get(name, key, now) {
      const record = records[name + ":" + key];
      return record && record.expires > now ? record.value : null;
    },
    delete(name, key) {
      delete records[name + ":" + key];
    },
  };
}
