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
}
