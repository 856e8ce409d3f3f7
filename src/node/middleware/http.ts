/**
 * For plain node:http: wraps a request listener so that it runs with the request's session started
 * (opened, refreshed, its cookie re-issued when due) and on the request as `request.session`.
 *
 *   http.createServer(withSessions(sessions, (request, response) => { ... request.session ... }))
 *
 * Fails closed: when the session cannot be established for a reason that is not the client's (store
 * unavailable, configuration), the listener is not called and the answer is 503 or 500.
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import type { SessionOptions } from "../../core/options";
import type { Session } from "../../core/session";
import type { Sessions } from "../sessions";
import { sessionFailure } from "./failure";

export interface SessionRequest extends IncomingMessage {
  /** The request's session, or a new empty one when it brought none (sessionExists false). */
  session: Session;
  sessionExists: boolean;
}

export type SessionListener = (request: SessionRequest, response: ServerResponse) => unknown;

export function withSessions(sessions: Sessions, listener: SessionListener, options?: SessionOptions): (request: IncomingMessage, response: ServerResponse) => void {
  return function (request, response) {
    sessions.start(request, response, options).then(
      function (started) {
        const withSession = request as SessionRequest;
        withSession.session = started.session;
        withSession.sessionExists = started.exists;
        return listener(withSession, response);
      },
      function (e) {
        const failure = sessionFailure(e);
        if (response.headersSent) {
          response.destroy();
          return;
        }
        response.statusCode = failure.status;
        response.setHeader("Content-Type", "text/plain; charset=utf-8");
        response.end(failure.message + "\n");
      },
    );
  };
}
