/**
 * Express middleware (the request-handler interface Express 4 and 5 share): starts the request's
 * session and puts it on the request.
 *
 *   app.use(expressSessions(sessions));
 *   app.get("/me", (req, res) => res.json({ subject: req.session.getSubject() }));
 *
 * Scheme and client address are Express's own (req.protocol, req.ip), which honour `trust proxy`.
 * Fails closed: a store that cannot answer reaches Express's error handling as a 503 error
 * (`err.status`), a configuration error as a 500; the route never runs as if there were no session.
 */

import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { SessionOptions } from "../../core/options";
import type { Session } from "../../core/session";
import { createHttpExchange } from "../exchange";
import type { Sessions } from "../sessions";
import { sessionFailure } from "./failure";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The request's session, or a new empty one when it brought none (sessionExists false). */
      session: Session;
      sessionExists: boolean;
    }
  }
}

export function expressSessions(sessions: Sessions, options?: SessionOptions): RequestHandler {
  return function (request: Request, response: Response, next: NextFunction): void {
    let exchange;
    try {
      exchange = createHttpExchange(request, response, { scheme: request.protocol, remoteAddress: request.ip });
    } catch (e) {
      return next(sessionFailure(e));
    }
    sessions
      .over(exchange)
      .start(options)
      .then(
        function (started) {
          request.session = started.session;
          request.sessionExists = started.exists;
          next();
        },
        function (e) {
          next(sessionFailure(e));
        },
      );
  };
}
