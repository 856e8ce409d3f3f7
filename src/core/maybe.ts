/**
 * Values that are there now or later. The session check runs on every request of a protected location,
 * and a verified cookie that is already cached needs nothing awaited: composing steps with these
 * helpers keeps that path synchronous (the njs engine charges ~14 µs for a promise-returning access
 * handler), while a step that must wait (decryption, an async storage) turns the rest into a promise.
 * One code path serves both; a caller that wants a promise wraps the result in an async function.
 */

export type MaybePromise<T> = T | Promise<T>;

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return value !== null && typeof value === "object" && typeof (value as { then?: unknown }).then === "function";
}

/** `next(value)` now if the value is there, else once it is. */
export function then<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return isPromise(value) ? value.then(next) : next(value);
}

/** Runs `run`, sending what it throws (now or later) to `recover`, which may return a value or rethrow. */
export function guard<T>(run: () => MaybePromise<T>, recover: (error: unknown) => MaybePromise<T>): MaybePromise<T> {
  let result: MaybePromise<T>;
  try {
    result = run();
  } catch (e) {
    return recover(e);
  }
  return isPromise(result) ? result.then(undefined, recover) : result;
}
