/**
 * file storage: one file per session under a directory, as lua-resty-session names them
 * (`[prefix_]name_key[.suffix]`).
 *
 *   { "storage": "file", "file": { "path": "/var/lib/nginx/sessions" } }
 *   js_periodic session.cleanupFiles interval=60s;   # frees the files of expired sessions
 *
 * A file holds `<expiry>;<value>`. The peer keeps the expiry in the file's mtime, which njs cannot
 * set (its fs has no utimes), so files are not interchangeable with the peer's; a read refuses an
 * expired file whether or not the cleanup has run. Writes go to a temporary file and are renamed into
 * place (a reader sees the old or the new session, never half of one), with mode 0600 by default: the
 * values are encrypted, but nobody else has any business with them.
 */

import { configError, errorCode, errorText, isConfigError } from "../core/errors";
import type { FileSystem, Platform } from "../core/platform";
import type { Storage } from "../core/storage";
import type { StorageOptions } from "../core/options";
import { readStorageOptions } from "./names";
import { parseRecord } from "./shm";

export const DEFAULT_FILE_MODE = 0o600;
/** A temporary file older than this was left by a write that died; the cleanup removes it. */
const ABANDONED_TEMPORARY_SECONDS = 60;


export interface FileStorage extends Storage {
  /** Removes the files of expired sessions (and abandoned temporary files); returns how many. */
  cleanup(now: number): number;
}

export function createFileStorage(options: StorageOptions | undefined, platform: Platform): FileStorage {
  const read = readStorageOptions("file", options, { path: "string", prefix: "string", suffix: "string", mode: "number" });
  const files: FileSystem | undefined = platform.files;
  if (!files) throw configError("file storage needs a file system");
  const fileSystem = files;
  if (!read.path) throw configError("file.path is required: the directory for session files");
  let directory = read.path as string;
  if (directory.charAt(0) !== "/") throw configError("file.path must be an absolute path");
  if (directory.charAt(directory.length - 1) !== "/") directory += "/";
  const prefix = read.prefix as string | undefined;
  const suffix = read.suffix as string | undefined;
  if ((prefix && /[\/\x00]/.test(prefix)) || (suffix && /[\/\x00]/.test(suffix))) throw configError("file.prefix and file.suffix must not contain /");
  const mode = read.mode === undefined ? DEFAULT_FILE_MODE : (read.mode as number);
  if (mode > 0o777) throw configError("file.mode must be a permission mode such as 384 (0600)");

  function fileName(name: string, key: string): string {
    return (prefix ? prefix + "_" : "") + name + "_" + key + (suffix ? "." + suffix : "");
  }

  /** Our session files: this prefix and suffix, a cookie name, "_", and a 43-character key. */
  function isSessionFile(file: string): boolean {
    let rest = file;
    if (prefix) {
      if (rest.indexOf(prefix + "_") !== 0) return false;
      rest = rest.substring(prefix.length + 1);
    }
    if (suffix) {
      const end = "." + suffix;
      if (rest.length <= end.length || rest.substring(rest.length - end.length) !== end) return false;
      rest = rest.substring(0, rest.length - end.length);
    }
    return /^[!#$%&'*+\-.^`|~0-9A-Za-z_]+_[A-Za-z0-9_-]{43}$/.test(rest);
  }

  /** Missing or unwritable directories are the operator's to fix: configuration errors, fail closed. */
  function fileError(e: unknown, what: string): Error {
    if (isConfigError(e)) return e as Error;
    const code = errorCode(e);
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EACCES" || code === "EPERM" || code === "EROFS") {
      return configError("file storage cannot " + what + " in " + directory + " (" + code + ")");
    }
    return new Error(errorText(e));
  }

  /** ENOENT alone cannot tell a missing session file from a missing directory: look at the directory. */
  function checkDirectory(what: string): void {
    if (fileSystem.modifiedAt(directory) === null) throw configError("file storage cannot " + what + " in " + directory + " (ENOENT)");
  }

  function readValid(path: string, now: number): { expires: number; value: string } | null {
    const raw = fileSystem.read(path);
    if (raw === null) {
      checkDirectory("read");
      return null;
    }
    const record = parseRecord(raw);
    return record && record.expires > now ? record : null;
  }

  return {
    synchronous: true,
    set: function (name, key, value, ttl, now, oldKey, staleTtl) {
      try {
        fileSystem.writeAtomic(directory + fileName(name, key), String(now + ttl) + ";" + value, mode);
        if (oldKey !== undefined) {
          const oldPath = directory + fileName(name, oldKey);
          const old = readValid(oldPath, now);
          const stale = staleTtl || 0;
          if (old && old.expires - now > stale) {
            if (stale > 0) fileSystem.writeAtomic(oldPath, String(now + stale) + ";" + old.value, mode);
            else fileSystem.remove(oldPath);
          }
        }
      } catch (e) {
        throw fileError(e, "write");
      }
    },
    get: function (name, key, now) {
      try {
        const record = readValid(directory + fileName(name, key), now);
        return record ? record.value : null;
      } catch (e) {
        throw fileError(e, "read");
      }
    },
    delete: function (name, key) {
      try {
        fileSystem.remove(directory + fileName(name, key));
        checkDirectory("delete");
      } catch (e) {
        throw fileError(e, "delete");
      }
    },
    cleanup: function (now) {
      let removed = 0;
      let names: string[];
      try {
        names = fileSystem.list(directory);
      } catch (e) {
        throw fileError(e, "list files");
      }
      for (let i = 0; i < names.length; i++) {
        const file = names[i];
        const path = directory + file;
        try {
          const temporary = file.indexOf(".tmp-");
          if (temporary > 0 && isSessionFile(file.substring(0, temporary))) {
            const modified = fileSystem.modifiedAt(path);
            if (modified !== null && now - modified > ABANDONED_TEMPORARY_SECONDS) {
              fileSystem.remove(path);
              removed++;
            }
            continue;
          }
          if (!isSessionFile(file)) continue;
          const raw = fileSystem.read(path);
          const record = raw === null ? null : parseRecord(raw);
          // Unreadable records are as good as expired: no session can be opened from them.
          if (raw !== null && (!record || record.expires <= now)) {
            fileSystem.remove(path);
            removed++;
          }
        } catch (e) {
          // One file that vanished or cannot be read must not stop the sweep.
        }
      }
      return removed;
    },
  };
}
