import type { FastifyInstance, FastifyRequest, HTTPMethods } from 'fastify';
import { ApiError } from '../errors.js';
import type { Surface } from './context.js';

const ALL_METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * Answers the methods a path does not support with 405 and an Allow header. A GET implies HEAD,
 * unless `head` is false (a GET with effects, registered with exposeHeadRoute: false).
 */
export function methodNotAllowed(app: FastifyInstance, url: string, allowed: HTTPMethods[], surface: Surface, head = true): void {
  const permitted = new Set<HTTPMethods>(allowed.includes('GET') && head ? [...allowed, 'HEAD'] : allowed);
  const others = ALL_METHODS.filter((method) => !permitted.has(method));
  app.route({
    method: others,
    url,
    config: { surface },
    handler: async () => {
      throw new ApiError('METHOD_NOT_ALLOWED', 'Method not allowed on this path', [], { allow: [...permitted].join(', ') });
    },
  });
}

/** If-Match: W/"3" or "3" or 3 → 3. A malformed value is a bad request. */
export function parseIfMatch(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  return header === undefined ? undefined : parseVersionTag(String(header));
}

/** An If-Match value (header or Bundle entry.request.ifMatch) → the version number it names. */
export function parseVersionTag(value: string): number {
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(value.trim());
  if (!match) throw new ApiError('INVALID_REQUEST', 'If-Match must be a version id such as W/"3"');
  return Number(match[1]);
}
