/**
 * The package's Node entry point, `import { createSessions } from "njs-session"`: re-exports only.
 * Express and Fastify middleware have entry points of their own ("njs-session/express",
 * "njs-session/fastify"), so that neither framework's types are needed to use this one.
 */

export { createSessions } from "./sessions";
export type { ExchangeSessions, NodeSessionOptions, Sessions } from "./sessions";
export { createHttpExchange } from "./exchange";
export type { ExchangeOverrides, ResponseHeaders } from "./exchange";
export { withSessions } from "./middleware/http";
export type { SessionListener, SessionRequest } from "./middleware/http";
export type { SessionFailure } from "./middleware/failure";
export type { DestroyResult, LogoutResult, OpenResult, StartResult } from "../core/api";
export type { SessionOptions, StorageOptions } from "../core/options";
export type { Exchange, LogLevel } from "../core/platform";
export type { Session } from "../core/session";
export type { Storage, StoreMetadata } from "../core/storage";
export { isConfigError, isStoreUnavailable } from "../core/errors";
