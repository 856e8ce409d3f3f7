/**
 * The CLI's exit statuses and its one kind of expected failure. Every expected failure is a
 * CliFailure: main.ts prints its message on one line and exits with its status, never a stack trace.
 * The statuses are part of the interface (docs/cli.md lists them): scripts branch on them.
 */

export const EXIT = {
  OK: 0,
  /** Something the CLI did not expect: a bug. The message says what, still on one line. */
  INTERNAL: 1,
  /** Wrong arguments: unknown option, missing value, missing argument. */
  USAGE: 2,
  /** Input that cannot be decoded: not a session cookie, data that is not JSON, a bad time. */
  MALFORMED: 3,
  /** A well-formed cookie that does not verify: wrong key, altered, bound to other values. */
  REJECTED: 4,
  /** A cookie past one of its timeouts (as of --now). */
  EXPIRED: 5,
  /** An invalid configuration (check-config, or the configuration given to inspect or mint). */
  CONFIG: 6,
  /** A file named on the command line (secret, token, configuration) that cannot be read. */
  UNREADABLE: 7,
  /** The admin API could not be reached, or refused the request. */
  ADMIN: 8,
  /** The session store of the configuration (redis, memcached) could not be reached or did not answer. */
  STORE: 9,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

export interface CliFailure extends Error {
  status: ExitStatus;
}

export function cliFailure(status: ExitStatus, message: string): CliFailure {
  const failure = new Error(message) as CliFailure;
  failure.name = "CliFailure";
  failure.status = status;
  return failure;
}

export function isCliFailure(error: unknown): error is CliFailure {
  return error instanceof Error && error.name === "CliFailure";
}

export function usage(message: string): CliFailure {
  return cliFailure(EXIT.USAGE, message);
}
