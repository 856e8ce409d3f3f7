/**
 * The storage factories by name: each storage module registers one (storage/index.ts), and settings
 * resolution (core/settings.ts) makes a storage from the `storage` option's name through it.
 */

import type { StorageOptions } from "../core/options";
import type { Platform } from "../core/platform";
import type { Storage } from "../core/storage";

export type StorageFactory = (options: StorageOptions | undefined, platform: Platform) => Storage;
const STORAGE_FACTORIES: { [name: string]: StorageFactory } = {};

export function registerStorage(name: string, factory: StorageFactory): void {
  STORAGE_FACTORIES[name] = factory;
}

/** The factory registered under `name`, if any. */
export function storageFactory(name: string): StorageFactory | undefined {
  return Object.prototype.hasOwnProperty.call(STORAGE_FACTORIES, name) ? STORAGE_FACTORIES[name] : undefined;
}
