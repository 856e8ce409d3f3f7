/** The storages this build ships, registered under the names resty.session uses. */

import { registerStorage } from "../core/config";
import { createFileStorage } from "./file";
import { createShmStorage } from "./shm";

export function registerBuiltinStorages(): void {
  registerStorage("shm", createShmStorage);
  registerStorage("file", createFileStorage);
}
