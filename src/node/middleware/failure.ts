/**
 * What every middleware does when a session cannot be established for a reason that is not the
 * client's: fail closed. A store that cannot answer is a 503 (the session may well exist: the user is
 * not sent to log in again), a configuration error a 500; the request never reaches the handler as if
 * it had no session. A cookie that does not open is not a failure: it is "no session".
 */

import { isStoreUnavailable } from "../../core/errors";

export interface SessionFailure extends Error {
  /** 503 for an unavailable store, 500 otherwise; Express and Fastify read either name. */
  status: number;
  statusCode: number;
  /** The middleware's own failures are safe to show: they name no secret and no session id. */
  expose: boolean;
}

export function sessionFailure(cause: unknown): SessionFailure {
  const status = isStoreUnavailable(cause) ? 503 : 500;
  const failure = new Error(status === 503 ? "session store unavailable" : "session configuration error") as SessionFailure;
  failure.name = "SessionFailure";
  failure.status = status;
  failure.statusCode = status;
  failure.expose = false;
  (failure as { cause?: unknown }).cause = cause;
  return failure;
}
