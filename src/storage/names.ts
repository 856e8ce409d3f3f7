/**
 * Key names shared by the server-side storages, as lua-resty-session builds them (utils.get_name):
 * `[prefix:]name:key[:suffix]` for a session and `[prefix:]name:audience:subject[:suffix]` for its
 * metadata, so an operator reading a store sees the same layout as under OpenResty.
 */

import { configError } from "../core/errors";
import type { StorageOptions } from "../core/options";
import type { StoreMetadata } from "../core/storage";

export interface KeyNaming {
  prefix?: string;
  suffix?: string;
}

export function storageName(naming: KeyNaming, name: string, key: string, subject?: string): string {
  let out = naming.prefix ? naming.prefix + ":" + name + ":" + key : name + ":" + key;
  if (subject !== undefined) out += ":" + subject;
  return naming.suffix ? out + ":" + naming.suffix : out;
}

/** The metadata keys of a session's audiences and subjects (store_metadata), one per audience. */
export function metadataNames(naming: KeyNaming, name: string, metadata: StoreMetadata): string[] {
  const names: string[] = [];
  for (let i = 0; i < metadata.audiences.length; i++) names.push(storageName(naming, name, metadata.audiences[i], metadata.subjects[i]));
  return names;
}

/** Checks a storage's options table: only `allowed` names, each of its kind; unknown names are errors. */
export function readStorageOptions(
  storage: string,
  options: StorageOptions | undefined,
  allowed: { [name: string]: "string" | "number" | "boolean" | "list" | "object" },
): { [name: string]: string | number | boolean | unknown[] | object | undefined } {
  const out: { [name: string]: string | number | boolean | unknown[] | object | undefined } = {};
  if (options === undefined || options === null) return out;
  if (typeof options !== "object" || Array.isArray(options)) throw configError(storage + " must be an object");
  const names = Object.keys(options);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const kind = allowed[name];
    const value = options[name];
    if (!kind) throw configError("unknown option " + storage + "." + name);
    if (value === undefined || value === null) continue;
    if (kind === "string" && (typeof value !== "string" || value === "")) throw configError(storage + "." + name + " must be a non-empty string");
    if (kind === "number" && (typeof value !== "number" || !(value >= 0) || Math.floor(value) !== value)) {
      throw configError(storage + "." + name + " must be a whole number ≥ 0");
    }
    if (kind === "boolean" && typeof value !== "boolean") throw configError(storage + "." + name + " must be true or false");
    if (kind === "list" && !Array.isArray(value)) throw configError(storage + "." + name + " must be a list");
    if (kind === "object" && (typeof value !== "object" || Array.isArray(value))) throw configError(storage + "." + name + " must be an object");
    out[name] = value as string | number | boolean | unknown[] | object;
  }
  return out;
}
