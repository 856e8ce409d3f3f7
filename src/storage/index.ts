/** The storages this build ships, registered under the names resty.session uses. */

import { registerStorage } from "./factories";
import { createFileStorage } from "./file";
import { createMemcachedStorage } from "./memcached";
import { createRedisStorage } from "./redis";
import { createShmStorage } from "./shm";

export function registerBuiltinStorages(): void {
  registerStorage("shm", createShmStorage);
  registerStorage("file", createFileStorage);
  registerStorage("redis", createRedisStorage);
  registerStorage("memcached", createMemcachedStorage);
}
