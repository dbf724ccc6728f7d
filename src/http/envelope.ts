import type { FastifyReply, FastifyRequest } from 'fastify';

export interface Meta {
  requestId: string;
  timestamp: string;
  status: number;
  rateLimitTotal?: number;
  rateLimitRemaining?: number;
  rateLimitReset?: number;
}

/** The body meta; the same values go out as X-Request-Id, X-Timestamp and X-RateLimit-* headers. */
export function buildMeta(request: FastifyRequest, reply: FastifyReply, status: number): Meta {
  const timestamp = new Date().toISOString();
  reply.header('x-timestamp', timestamp);
  const meta: Meta = { requestId: request.id, timestamp, status };
  const limit = request.rateLimit;
  if (limit && limit.limit !== null) {
    meta.rateLimitTotal = limit.limit;
    meta.rateLimitRemaining = limit.remaining;
    meta.rateLimitReset = limit.resetSeconds;
  }
  return meta;
}

/** Sends `{data, meta}` with the given status. */
export function sendData(request: FastifyRequest, reply: FastifyReply, status: number, data: unknown): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ data, meta: buildMeta(request, reply, status) });
}

export function sendNoContent(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  buildMeta(request, reply, 204);
  return reply.code(204).send();
}
