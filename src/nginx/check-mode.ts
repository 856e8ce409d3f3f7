/**
 * Which entry point runs a check: how it denies and where it publishes. A file of its own, without
 * imports: index.ts, the module's eager part, names the modes, and under the njs engine every
 * statement of that part runs on every request (a const enum leaves none).
 */
export const enum CheckMode {
  /** js_access: deny with a status or a login redirect, publish in $session_state. */
  Access,
  /** js_content behind auth_request: 401/403 or 204 with X-Session-* headers. */
  AuthRequest,
  /**
   * js_access in front of auth_request and the check server (`session.accessKnown`): publishes in
   * $session_state the answer a check left for this worker (known-answers.ts), and leaves every other
   * request to auth_request, without deciding.
   */
  Known,
}
