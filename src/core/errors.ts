/**
 * Errors as the whole project treats them. Configuration errors are plain Errors named "ConfigError"
 * (no Error subclass: the njs engine has no classes); entry points turn them into one [error] line and
 * a 500, never into "no session".
 */

export function configError(message: string): Error {
  const error = new Error("invalid session configuration: " + message);
  error.name = "ConfigError";
  return error;
}

export function isConfigError(error: unknown): boolean {
  return error instanceof Error && error.name === "ConfigError";
}

/** An error's message, whatever was thrown. */
export function errorText(e: unknown): string {
  return e && typeof e === "object" && "message" in e ? String((e as Error).message) : String(e);
}

/** A system error's code ("ENOENT", ...), from njs's fs or Node's. */
export function errorCode(e: unknown): string | undefined {
  return e && typeof e === "object" && "code" in e ? String((e as { code: unknown }).code) : undefined;
}

/**
 * A server-side store (Redis, memcached) that cannot answer: down, slow, refusing. Not "no session":
 * the session may well exist, so entry points fail closed with nginx.store_unavailable_status instead
 * of sending the user to log in again, and the incident is logged once (src/storage/remote.ts).
 */
export function storeUnavailableError(store: string, reason: string): Error {
  const error = new Error(store + " unavailable: " + reason);
  error.name = "StoreUnavailable";
  return error;
}

export function isStoreUnavailable(error: unknown): boolean {
  return error instanceof Error && error.name === "StoreUnavailable";
}

/** Errors no cookie can cause (configuration, an unavailable store): they fail closed, never "no session". */
export function isOperatorError(error: unknown): boolean {
  return isConfigError(error) || isStoreUnavailable(error);
}
