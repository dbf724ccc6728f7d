import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * One log line per request: the request id, the route pattern (never the URL, whose query can
 * hold names, emails and birth dates), the status and the latency. Bodies, headers and API keys
 * are never logged.
 */
export function registerRequestLogging(app: FastifyInstance): void {
  app.addHook('onResponse', (request, reply, done) => {
    logRequest(request, reply);
    done();
  });
}

/** The request line; also written directly for router errors, which run no hooks. */
export function logRequest(request: FastifyRequest, reply: FastifyReply): void {
  request.log.info(
    {
      method: request.method,
      route: request.routeOptions?.url ?? 'unmatched',
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
      tenant: request.auth?.organisationId,
    },
    'request',
  );
}

export function loggerOptions(level: string) {
  return {
    level,
    // Fastify's default serializers would log the full URL; these keep only what is safe.
    serializers: {
      req: (req: { method?: string }) => ({ method: req.method }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
  };
}
