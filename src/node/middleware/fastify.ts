/**
 * A Fastify plugin (hooks and decorators as Fastify 4 and 5 have them): starts each request's session
 * in an onRequest hook and puts it on the request. Registered without encapsulation (skip-override),
 * so it covers the routes of the instance it is registered on.
 *
 *   await app.register(fastifySessions(sessions));
 *   app.get("/me", async (request) => ({ subject: request.session.getSubject() }));
 *
 * Cookies go through the reply's own headers (reply.header), so they survive Fastify's writeHead and
 * sit beside cookies the application sets. Scheme and client address are Fastify's (request.protocol,
 * request.ip, which honour `trustProxy`). Fails closed: the hook throws an error whose statusCode is
 * 503 (store unavailable) or 500 (configuration); the route never runs as if there were no session.
 */

import type { FastifyPluginCallback, FastifyReply } from "fastify";
import type { SessionOptions } from "../../core/options";
import type { Session } from "../../core/session";
import { createHttpExchange, ResponseHeaders } from "../exchange";
import type { Sessions } from "../sessions";
import { sessionFailure } from "./failure";

declare module "fastify" {
  interface FastifyRequest {
    /** The request's session, or a new empty one when it brought none (sessionExists false). */
    session: Session;
    sessionExists: boolean;
  }
}

function replyHeaders(reply: FastifyReply): ResponseHeaders {
  return {
    getHeader: (name) => reply.getHeader(name) as string | string[] | undefined,
    setHeader: (name, value) => {
      // reply.header appends to an existing set-cookie list: replace it instead.
      reply.removeHeader(name);
      reply.header(name, value);
    },
    removeHeader: (name) => reply.removeHeader(name),
    get headersSent() {
      return reply.sent || reply.raw.headersSent;
    },
  };
}

export function fastifySessions(sessions: Sessions, options?: SessionOptions): FastifyPluginCallback {
  const plugin: FastifyPluginCallback = function (fastify, _pluginOptions, done) {
    // null, not an object: Fastify shares a decoration's default between requests.
    fastify.decorateRequest("session", null as unknown as Session);
    fastify.decorateRequest("sessionExists", false);
    fastify.addHook("onRequest", async function (request, reply) {
      let started;
      try {
        const exchange = createHttpExchange(request.raw, replyHeaders(reply), { scheme: request.protocol, remoteAddress: request.ip });
        started = await sessions.over(exchange).start(options);
      } catch (e) {
        throw sessionFailure(e);
      }
      request.session = started.session;
      request.sessionExists = started.exists;
    });
    done();
  };
  // Fastify's documented way to let a plugin's hooks apply outside its own encapsulation context.
  (plugin as unknown as { [key: symbol]: unknown })[Symbol.for("skip-override")] = true;
  return plugin;
}
