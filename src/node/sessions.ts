/**
 * The resty.session surface on Node: createSessions(options) validates the options once (the same
 * options, defaults, checks and error texts as nginx: core/options.ts) and returns open / start / new /
 * logout / destroy over Node's request and response. Sessions it saves are the ones nginx reads, and
 * the other way round, for every storage both sides reach: cookie, file, redis, memcached.
 */

import type { IncomingMessage } from "node:http";
import { createSessionLibrary, DestroyResult, LogoutResult, OpenResult, StartResult } from "../core/api";
import { configError } from "../core/errors";
import type { SessionOptions } from "../core/options";
import type { Exchange, LogLevel } from "../core/platform";
import type { Session } from "../core/session";
import { createHttpExchange, ResponseHeaders } from "./exchange";
import { createNodeRuntime, nginxZoneOptions } from "./runtime";

export interface NodeSessionOptions extends SessionOptions {
  /** Where the library's log lines go (default: stderr). Lines never hold a secret or a whole session id. */
  log?: (level: LogLevel, message: string) => void;
}

/** The operations of Sessions over one exchange the caller made (a framework adapter's). */
export interface ExchangeSessions {
  "new": (options?: SessionOptions) => Session;
  open(options?: SessionOptions): Promise<OpenResult>;
  start(options?: SessionOptions): Promise<StartResult>;
  logout(options?: SessionOptions): Promise<LogoutResult>;
  destroy(options?: SessionOptions): Promise<DestroyResult>;
}

export interface Sessions {
  /** A new, empty session: set its subject and data, then save() to log in. */
  "new": (request: IncomingMessage, response: ResponseHeaders, options?: SessionOptions) => Session;
  /** Opens the request's session without refreshing it. */
  open(request: IncomingMessage, response: ResponseHeaders, options?: SessionOptions): Promise<OpenResult>;
  /** Opens the session and refreshes it (touch or renewal), re-issuing its cookie when due. */
  start(request: IncomingMessage, response: ResponseHeaders, options?: SessionOptions): Promise<StartResult>;
  /** Logs out of this audience; the last audience destroys the session. */
  logout(request: IncomingMessage, response: ResponseHeaders, options?: SessionOptions): Promise<LogoutResult>;
  /** Destroys the session, every audience. */
  destroy(request: IncomingMessage, response: ResponseHeaders, options?: SessionOptions): Promise<DestroyResult>;
  /** The same operations over an Exchange of the caller's (core/platform.ts), e.g. for another framework. */
  over(exchange: Exchange): ExchangeSessions;
  /** Closes idle store connections. */
  close(): void;
}

/**
 * Options naming nginx's shared memory (runtime.ts), refused here, at start, rather than at the first
 * request that would need the zone (a verified_cache_zone the core already refuses at init: no zone by
 * that name).
 */
function refuseNginxZones(options: SessionOptions): void {
  const why = "is nginx's shared memory, which a Node process cannot reach";
  const found = nginxZoneOptions(options);
  if (found.indexOf("storage") >= 0) throw configError('storage "shm" ' + why + ": use cookie, file, redis or memcached storage");
  if (found.indexOf("registry_zone") >= 0) throw configError("registry_zone " + why + " (the session registry and revocation are nginx's)");
  if (found.indexOf("verified_cache_zone") >= 0) throw configError("verified_cache_zone " + why + " (set it to false: the verified cache is in memory on Node)");
}

/** Throws a ConfigError, with nginx's message, for options nginx would refuse. */
export function createSessions(options: NodeSessionOptions): Sessions {
  const runtime = createNodeRuntime({ log: options.log });
  const library = createSessionLibrary(runtime.platform);
  const sessionOptions: { [name: string]: unknown } = {};
  for (const name of Object.keys(options)) if (name !== "log") sessionOptions[name] = (options as { [name: string]: unknown })[name];
  library.init(sessionOptions as SessionOptions);
  refuseNginxZones(sessionOptions as SessionOptions);

  function over(exchange: Exchange): ExchangeSessions {
    return {
      new: (callOptions) => library.new(exchange, callOptions),
      open: (callOptions) => library.open(exchange, callOptions),
      start: (callOptions) => library.start(exchange, callOptions),
      logout: (callOptions) => library.logout(exchange, callOptions),
      destroy: (callOptions) => library.destroy(exchange, callOptions),
    };
  }
  const http = (request: IncomingMessage, response: ResponseHeaders) => over(createHttpExchange(request, response));

  return {
    new: (request, response, callOptions) => http(request, response).new(callOptions),
    open: (request, response, callOptions) => http(request, response).open(callOptions),
    start: (request, response, callOptions) => http(request, response).start(callOptions),
    logout: (request, response, callOptions) => http(request, response).logout(callOptions),
    destroy: (request, response, callOptions) => http(request, response).destroy(callOptions),
    over: over,
    close: runtime.close,
  };
}
